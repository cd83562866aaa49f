"""The HTML report: one self-contained file with the leaderboard, plots and paired tests."""

from __future__ import annotations

from pathlib import Path

from discoverly.data import Interactions
from discoverly.evaluate import evaluate, write_report

from .conftest import CUTOFF, DAY


def test_report_holds_every_section(hand_log: Interactions, tmp_path: Path) -> None:
    ev = evaluate(hand_log, ["popularity", "bestsellers"], [CUTOFF - DAY, CUTOFF], k=[1, 2], n_boot=50,
                  variants="any-item", dataset="hand-made", notes={"rows read": 12, "dropped": {"returns": 0}})
    path = write_report(ev, tmp_path / "sub" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    for part in ("Evaluation on hand-made", "Variant: any-item", "Leaderboard at 2020-09-22",
                 "Hit rate by customer activity", "Hit rate by the popularity", "Over cutoffs", "Paired tests",
                 "pooled over cutoffs", "rows read", "returns: 0", "Model settings"):
        assert part in text, part
    assert text.count("data:image/png;base64,") == 4  # metrics, 2 bucket plots, over cutoffs
    assert "Variant: new-items" not in text
    assert not list(path.parent.glob(".report.html.*"))  # no temp files left
