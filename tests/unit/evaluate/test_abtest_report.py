"""The A/B experiment report (``discoverly experiment analyze NAME --report``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from discoverly.evaluate.abtest import analyze_ab
from discoverly.evaluate.abtest_report import write_report


def test_the_report_plots_the_differences_and_reads_like_prose(tmp_path: Path) -> None:
    """The differences against the control had intervals only in a table, and the sample-ratio line
    printed Python dicts ({'control': 80, ...})."""
    rng = np.random.default_rng(1)
    conv = {a: (rng.random(n) < p).astype(float) for a, n, p in (("control", 80, 0.25), ("treatment", 70, 0.3))}
    rev = {a: v * 20.0 for a, v in conv.items()}
    result = analyze_ab(conv, rev, shares={"control": 0.5, "treatment": 0.5}, experiment="e<1>", n_boot=50)
    text = write_report(result, tmp_path / "ab.html").read_text(encoding="utf-8")
    assert "<title>Experiment e&lt;1&gt;</title>" in text
    assert text.count("data:image/png;base64,") == 3  # conversion, revenue, the differences
    assert "each arm minus the control with its 95% interval" in text
    assert "customers per arm control 80, treatment 70; expected shares control 50%, treatment 50%" in text
    assert "{'" not in text
