"""The HTML report: one self-contained file with the leaderboard, plots and paired tests."""

from __future__ import annotations

from itertools import pairwise
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


def test_a_model_has_one_colour_in_every_figure(hand_log: Interactions) -> None:
    """The metric figure coloured models by their rank, the other figures by the order given: in one
    report buy-again was blue in one plot and green in the next (and the colours changed between variants)."""
    from matplotlib.colors import to_hex

    from discoverly.evaluate.html import _bucket_figure, _metric_figure

    ev = evaluate(hand_log, ["popularity", "bestsellers", "buy-again"], [CUTOFF], k=[1, 2], n_boot=50,
                  variants="any-item")
    assert ev.leaderboard(ev.primary_cutoff, "any-item")["model"].to_list()[0] == "buy-again"  # rank != order
    metric = _metric_figure(ev, ev.primary_cutoff, "any-item")
    ax = metric.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    in_metric = {labels[round(c.lines[0].get_ydata()[0])]: to_hex(c.lines[0].get_color()) for c in ax.containers}
    bucket = _bucket_figure(ev, ev.primary_cutoff, "any-item", "activity")
    assert bucket is not None
    in_bucket = {c.get_label(): to_hex(c.lines[0].get_color()) for c in bucket.axes[0].containers}
    assert in_metric == in_bucket and len(set(in_metric.values())) == 3
    import matplotlib.pyplot as plt

    plt.close(metric)
    plt.close(bucket)


def test_the_cutoff_figure_keeps_dates_apart_and_equal_models_visible(hand_log: Interactions) -> None:
    """With eight monthly cutoffs the dates ran into one another ('2011-04-012011-05-01...'), and two
    models with equal results were drawn on the same spot, so one of them was invisible."""
    import matplotlib.pyplot as plt

    from discoverly.evaluate.html import _cutoff_figure

    ev = evaluate(hand_log, ["popularity", "bestsellers"], [CUTOFF - i * DAY for i in range(7, -1, -1)],
                  k=[1, 2], n_boot=20, variants="any-item")
    fig = _cutoff_figure(ev, "any-item")
    fig.canvas.draw()
    ax = fig.axes[0]
    boxes = [t.get_window_extent() for t in ax.get_xticklabels()]
    assert len(boxes) == 8 and not any(a.overlaps(b) for a, b in pairwise(boxes))
    xs = [c.lines[0].get_xdata()[0] for c in ax.containers]
    assert len(xs) == 2 and xs[0] != xs[1]
    plt.close(fig)
    hour = DAY // 24  # more cutoffs than fit side by side: the labels are slanted
    ev = evaluate(hand_log, ["popularity"], [CUTOFF - i * hour for i in range(9, -1, -1)], k=[1], n_boot=20,
                  variants="any-item")
    fig = _cutoff_figure(ev, "any-item")
    assert {t.get_rotation() for t in fig.axes[0].get_xticklabels()} == {40.0}
    plt.close(fig)
