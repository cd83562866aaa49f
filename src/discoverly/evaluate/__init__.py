"""Offline evaluation: metrics, the time-based protocol, confidence intervals, tests, reports.

The usual entry point is :func:`evaluate`::

    from discoverly.evaluate import evaluate
    ev = evaluate(log, ["bestsellers", "corrected"], cutoffs=["2011-11-01"])
    ev.leaderboard(); ev.paired("corrected", "bestsellers"); write_report(ev, "report.html")

``discoverly.evaluate`` names both this package and the function (``import discoverly as dv;
dv.evaluate(log, [...])``); once the package is imported Python binds the name to the package, so
the package itself is callable and calls :func:`evaluate`.
"""

import inspect
import sys
import types
from typing import Any

from discoverly.evaluate.buckets import BucketResult, Buckets, activity_buckets, bucket_hit_rates, popularity_buckets
from discoverly.evaluate.evaluation import Cell, Evaluation, PairedResult
from discoverly.evaluate.html import write_report
from discoverly.evaluate.metrics import (
    CoverageEstimate,
    coverage,
    coverage_bootstrap,
    hit_rate,
    hits,
    ndcg,
    per_user_metrics,
    recall,
)
from discoverly.evaluate.protocol import VARIANTS, Split, Variant, split
from discoverly.evaluate.runner import evaluate, recommend_top
from discoverly.evaluate.stats import Estimate, PairedTest, bootstrap_ci, paired_test

__all__ = [
    "VARIANTS",
    "BucketResult",
    "Buckets",
    "Cell",
    "CoverageEstimate",
    "Estimate",
    "Evaluation",
    "PairedResult",
    "PairedTest",
    "Split",
    "Variant",
    "activity_buckets",
    "bootstrap_ci",
    "bucket_hit_rates",
    "coverage",
    "coverage_bootstrap",
    "evaluate",
    "hit_rate",
    "hits",
    "ndcg",
    "paired_test",
    "per_user_metrics",
    "popularity_buckets",
    "recall",
    "recommend_top",
    "split",
    "write_report",
]


class _CallablePackage(types.ModuleType):
    """This package, callable as :func:`evaluate` (so ``discoverly.evaluate(...)`` always works)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Evaluation:
        return evaluate(*args, **kwargs)


_signature = inspect.signature(evaluate)  # for help() and editors: the package called is evaluate()
_CallablePackage.__call__.__signature__ = _signature.replace(  # type: ignore[attr-defined]
    parameters=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY), *_signature.parameters.values()])
sys.modules[__name__].__class__ = _CallablePackage
