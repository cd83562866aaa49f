"""What the report's tables and figures say, on the hand-made log whose numbers are worked out by hand.

The log (conftest): at the cutoff the test users are u0 (bought 0, 1; targets 1, 2), u1 (bought 0;
target 0) and u5 (bought 2; target 4, first sold in the window); 6 events before the cutoff, the
window (14 days) ends before the log's last event. Popularity before the cutoff: item 0 (3 buyers),
1 (2), 2 (1). Top-1 of popularity is item 0 for everyone: HitRate@1 = 1/3 (u1). Buy-again's top-1 is
the customer's latest purchase: 1, 0, 2: HitRate@1 = 2/3 (u0, u1). The intervals are the bootstrap's,
read from the evaluation; the report must show them, in the right place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest

from discoverly.evaluate import evaluate, write_report
from discoverly.evaluate.evaluation import Evaluation
from discoverly.evaluate.html import _bucket_figure, _cutoff_figure, _metric_figure

from .conftest import CUTOFF, DAY, html_tables, make_hand_log

V = "any-item"




@pytest.fixture(scope="module")
def ev() -> Evaluation:
    return evaluate(make_hand_log(), ["buy-again", "popularity"], [CUTOFF - DAY, CUTOFF], k=[1, 2], n_boot=50,
                    variants=V, dataset="hand-made",
                    notes={"rows read": 12345, "share kept": 0.123456, "dropped": {"returns": 1234, "bad dates": 0},
                           "columns": ["user", "item"], "source": "log.csv",
                           "synthetic": True})


def est(ev: Evaluation, model: str, metric: str, cutoff: str | None = None) -> str:
    r = ev.leaderboard(cutoff or ev.primary_cutoff, V).filter(model=model).to_dicts()[0]
    return f"{r[metric]:.3f} [{r[metric + ' low']:.3f}, {r[metric + ' high']:.3f}]"


def test_the_tables_say_what_the_evaluation_found(ev: Evaluation, tmp_path: Path) -> None:
    splits, board, pooled, paired, paired_pooled, notes, models = html_tables(
        write_report(ev, tmp_path / "r.html").read_text(encoding="utf-8"))
    assert splits == [["cutoff", "variant", "test users", "targets", "repeat-only users", "training events",
                       "window truncated"],
                      ["2020-09-22", V, "3", "4", "0", "6", "no"], ["2020-09-23", V, "3", "4", "0", "6", "no"]]
    assert board[0] == ["model", "HitRate@1", "Recall@1", "NDCG@1", "HitRate@2", "Recall@2", "NDCG@2", "Coverage@1",
                        "Coverage@2", "fit seconds"]
    assert [r[0] for r in board[1:]] == ["buy-again", "popularity"]  # best first
    assert board[1][1].startswith("0.667 [") and board[2][1].startswith("0.333 [")  # 2/3 and 1/3
    for row in board[1:]:
        assert row[1:9] == [est(ev, row[0], m) for m in board[0][1:9]]
        assert row[9] == f"{ev.fit_seconds[(row[0], ev.primary_cutoff)]:.2f}"
    # popularity's top-2 (items 0, 1) hits u0 and u1: HitRate@2 2/3, Recall@2 (1/2 + 1 + 0) / 3, and a
    # hit at rank 2 for u0 of two targets: NDCG@2 = (1/log2(3) / (1 + 1/log2(3)) + 1) / 3; top-1 and top-2 cover
    # 1 and 2 of the 3 items sold before the cutoff, the same for every resample
    ndcg = (1 / np.log2(3) / (1 + 1 / np.log2(3)) + 1) / 3
    assert [board[2][i][:5] for i in (4, 5, 6)] == ["0.667", "0.500", f"{ndcg:.3f}"]
    assert board[2][7:9] == ["0.333 [0.333, 0.333]", "0.667 [0.667, 0.667]"]
    assert pooled[0] == [*board[0][:7], "fit seconds"]  # no coverage pooled over cutoffs
    assert [r[1:7] for r in pooled[1:]] == [[est(ev, m, c, "pooled") for c in pooled[0][1:7]]
                                            for m in ("buy-again", "popularity")]
    diff = ev.paired_table(variant=V)[0].test.difference
    assert paired == [["A", "B", "A − B (HitRate@1)", "p-value", "users"],
                      ["buy-again", "popularity", f"0.333 [{diff.low:.3f}, {diff.high:.3f}]", "1.0000", "3"]]
    # one user of three differs (u0): the exact sign-flip test has two equally likely outcomes, p = 1
    assert paired_pooled[1][:2] == ["buy-again", "popularity"] and paired_pooled[1][3:] == ["1.0000", "6"]
    assert notes == [["what", "value"], ["rows read", "12,345"], ["share kept", "0.1235"],
                     ["dropped", "returns: 1,234; bad dates: 0"], ["columns", "user, item"], ["source", "log.csv"],
                     ["synthetic", "yes"]]  # the synthetic store's flag read 'synthetic: 1' (a bool is an int)
    cfg = ev.config["models"]
    assert models == [["model", "class", "config"]] + [
        [m, cfg[m]["class"], ", ".join(f"{k}={v}" for k, v in cfg[m].get("config", {}).items())]
        for m in ("buy-again", "popularity")]
    assert models[2][1] == "Popularity"


def _points(container: Any) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """x, y of an errorbar's points and the (from, to) of its error bars along the bar direction."""
    line, _caps, (bars,) = container.lines
    segs = [tuple(s) for s in bars.get_segments()]
    return np.asarray(line.get_xdata()), np.asarray(line.get_ydata()), segs  # type: ignore[return-value]


def test_the_metric_figure_plots_each_value_with_its_interval(ev: Evaluation) -> None:
    fig = _metric_figure(ev, ev.primary_cutoff, V)
    board = {r["model"]: r for r in ev.leaderboard(ev.primary_cutoff, V).to_dicts()}
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["HitRate@1", "Recall@2", "NDCG@2", "Coverage@1"]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]  # one y axis, shared
    assert labels == ["popularity", "buy-again"]  # best on top
    for ax, name in zip(fig.axes, titles, strict=True):
        for c in ax.containers:
            x, y, segs = _points(c)
            r = board[labels[round(y[0])]]
            assert x[0] == pytest.approx(r[name])
            assert [(a[0], b[0]) for a, b in segs] == [pytest.approx((r[f"{name} low"], r[f"{name} high"]))]
            assert ax.get_yticks() == pytest.approx([0, 1])
    hit = {}
    for c in fig.axes[0].containers:
        x, y, _ = _points(c)
        hit[labels[round(y[0])]] = x[0]
    assert hit == pytest.approx({"buy-again": 2 / 3, "popularity": 1 / 3})
    plt.close(fig)


def test_the_bucket_figures_plot_the_groups_worked_out_by_hand(ev: Evaluation) -> None:
    # buy-again: activity: u1, u5 bought 1 item (u1 hit) and u0 2 (hit); popularity of the (user, target)
    # pairs: (u1, 0) 3 buyers, (u0, 1) 2 buyers, (u0, 2) 1 buyer, (u5, 4) new; top-1 hits (u1, 0), (u0, 1)
    # popularity (item 0 for all): activity 1 item: u1 hit, u5 not; 2 items: u0 not; by popularity only (u1, 0)
    want = {"activity": ({"buy-again": [0.5, 1.0], "popularity": [0.5, 0.0]},
                         ["1 items\n(n=2)", "2 items\n(n=1)"]),
            "popularity": ({"buy-again": [1.0, 1.0, 0.0, 0.0], "popularity": [1.0, 0.0, 0.0, 0.0]},
                           ["3 buyers\n(n=1)", "2 buyers\n(n=1)", "1 buyers\n(n=1)", "new (0 buyers)\n(n=1)"])}
    for kind, (values, ticks) in want.items():
        fig = _bucket_figure(ev, ev.primary_cutoff, V, kind)
        assert fig is not None
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ticks
        assert ax.get_ylabel() == "HitRate@1"
        assert ax.get_xlabel().startswith({"activity": "customers by distinct items bought",
                                           "popularity": "target items by distinct buyers"}[kind])
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["buy-again", "popularity"]
        got = {}
        for c, off in zip(ax.containers, (-0.15, 0.15), strict=True):  # models side by side, in the order given
            x, y, segs = _points(c)
            assert x == pytest.approx(np.arange(len(ticks)) + off)
            ests = ev.cells[(c.get_label(), ev.primary_cutoff, V)].buckets[kind].estimates
            bars = [v for e in ests for v in (e.low, e.high)]
            assert [v for a, b in segs for v in (a[1], b[1])] == pytest.approx(bars)
            got[c.get_label()] = list(y)
        assert got == values
        plt.close(fig)


def test_the_cutoff_figure_plots_each_cutoff(ev: Evaluation) -> None:
    fig = _cutoff_figure(ev, V)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2020-09-22", "2020-09-23"]
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("HitRate@1", "cutoff")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["buy-again", "popularity"]
    got = {}
    for c, off in zip(ax.containers, (-0.075, 0.075), strict=True):
        x, y, segs = _points(c)
        assert x == pytest.approx([0 + off, 1 + off])
        ests = [ev.metric(c.get_label(), "HitRate@1", cut, V) for cut in ev.cutoffs]
        assert [v for a, b in segs for v in (a[1], b[1])] == pytest.approx([v for e in ests for v in (e.low, e.high)])
        got[c.get_label()] = list(y)
    assert got["buy-again"] == pytest.approx([2 / 3, 2 / 3])  # nothing happens on day 9: the same at both
    assert got["popularity"] == pytest.approx([1 / 3, 1 / 3])
    plt.close(fig)


def test_format_estimate() -> None:
    from discoverly.evaluate.html import format_estimate

    assert format_estimate(0.21349, 0.1971, 0.2304) == "0.213 [0.197, 0.230]"
    assert format_estimate(2 / 3, 0.075, 1.0, digits=1) == "0.7 [0.1, 1.0]"
    assert format_estimate(None, 0.0, 0.0) == "–"  # type: ignore[arg-type]
    assert format_estimate(float("nan"), 0.0, 0.0) == format_estimate(float("inf"), 0.0, 0.0) == "–"


def test_one_cutoff_one_model_new_items(tmp_path: Path) -> None:
    """The sentences around the tables: one cutoff (singular, no over-cutoffs section), one model (no paired
    tests), no data set name, the new-items variant explained."""
    ev = evaluate(make_hand_log(), ["popularity"], [CUTOFF], k=[1, 2], n_boot=20, variants="new-items", rng=7)
    text = write_report(ev, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<title>Evaluation on an interaction log</title>" in text
    assert ("<p>Cutoff 2020-09-23; window 14 days; lists of 1, 2; 95% bootstrap intervals over users "
            "(20 resamples, seed 7).</p>") in text
    assert "HitRate@1 is the share of test users with at least one target among the top 1." in text
    assert "<h2>Variant: new-items</h2><p>new items only: targets are items the customer had not bought" in text
    for absent in ("Over cutoffs", "Paired tests", "pooled", "The data"):
        assert absent not in text, absent
    assert text.count("data:image/png;base64,") == 3  # metrics and the two bucket plots
    titled = write_report(ev, tmp_path / "t.html", title="Q3 check").read_text(encoding="utf-8")
    assert "<title>Q3 check</title>" in titled and "Evaluation on" not in titled


def test_each_variant_shows_its_own_numbers(tmp_path: Path) -> None:
    """new-items (u0 and u5 tested; u1's only target is a repeat) and any-item differ: each section
    shows its variant's leaderboard and paired test."""
    ev = evaluate(make_hand_log(), ["buy-again", "popularity"], [CUTOFF], k=[1], n_boot=20,
                  variants=["new-items", "any-item"])
    _splits, board_new, paired_new, board_any, paired_any, _models = html_tables(
        write_report(ev, tmp_path / "r.html").read_text(encoding="utf-8"))
    for variant, board, paired in (("new-items", board_new, paired_new), ("any-item", board_any, paired_any)):
        want = {r["model"]: f"{r['HitRate@1']:.3f} [{r['HitRate@1 low']:.3f}, {r['HitRate@1 high']:.3f}]"
                for r in ev.leaderboard(ev.primary_cutoff, variant).to_dicts()}
        assert {r[0]: r[1] for r in board[1:]} == want, variant
        assert paired[1][4] == {"new-items": "2", "any-item": "3"}[variant]
    assert board_new[1:] != board_any[1:]
