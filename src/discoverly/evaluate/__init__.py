"""Offline evaluation: metrics, the time-based protocol, confidence intervals, tests, reports."""

from discoverly.evaluate.stats import Estimate, PairedTest, bootstrap_ci, paired_test

__all__ = ["Estimate", "PairedTest", "bootstrap_ci", "paired_test"]
