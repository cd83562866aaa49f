"""What the A/B report shows, on a hand-made analysis: the numbers in its tables, notes and sample-ratio
line, and what each figure draws (points, interval ends, arm labels, order, axis text).

The analysis is written out by hand (no statistics are computed here): three arms, control 1,000
customers (100 converted), treatment 1,200 (150) and an arm with no conversion (40 customers). The
treatment's revenue interval [3.05, 3.75] lies above its mean 3.0 (a percentile bootstrap can do that):
the figure clamps the lower whisker at 0 rather than draw a negative one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib.colors as mcolors
import numpy as np
import pytest

from discoverly.evaluate import abtest_report
from discoverly.evaluate.abtest import ABTestResult, ArmResult, Comparison, SampleRatioCheck
from discoverly.evaluate.abtest_report import write_report
from discoverly.evaluate.stats import Estimate

from .conftest import html_tables

ARMS = [
    ArmResult("control", 1000, 100, Estimate(0.1, 0.08, 0.12, 1000), Estimate(2.5, 2.0, 3.0, 1000)),
    ArmResult("treatment", 1200, 150, Estimate(0.125, 0.105, 0.15, 1200), Estimate(3.0, 3.05, 3.75, 1200)),
    ArmResult("zero", 40, 0, Estimate(0.0, 0.0, 0.0876, 40), Estimate(0.0, 0.0, 0.0, 40)),
]
COMPARISONS = [
    Comparison("conversion", "treatment", "control", 0.025, -0.001, 0.051, 0.0625, 0.25),
    Comparison("conversion", "zero", "control", -0.1, -0.18, -0.05, 0.0042, -1.0),
    Comparison("revenue", "treatment", "control", 0.5, 0.6, 1.2, 0.011, 0.2),  # interval above the difference
    Comparison("revenue", "zero", "control", -2.5, -3.0, -2.0, 0.00012, -1.0),
]
SHARES = {"control": 0.45, "treatment": 0.5, "zero": 0.05}
OBSERVED = {"control": 1000, "treatment": 1200, "zero": 40}


def result(
    *, p_srm: float = 0.5, comparisons: list[Comparison] | None = None, notes: list[str] | None = None
) -> ABTestResult:
    srm = SampleRatioCheck(OBSERVED, SHARES, 12.3456, p_srm)
    return ABTestResult("exp-7", ARMS, COMPARISONS if comparisons is None else comparisons, srm, notes or [])


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures the report draws, in order (they stay readable after the report closes them)."""
    drawn: list[Any] = []
    new_figure = abtest_report.new_figure

    def recording(*args: float) -> tuple[Any, Any]:
        fig, ax = new_figure(*args)
        drawn.append(fig)
        return fig, ax

    monkeypatch.setattr(abtest_report, "new_figure", recording)
    return drawn


def errorbars(ax: Any) -> tuple[list[float], list[float], list[tuple[float, float]]]:
    """The points (x, y) of the axes' one errorbar plot and each point's whisker ends (left, right)."""
    (container,) = ax.containers
    line, caps, (bars,) = container.lines
    ends = [(float(seg[0][0]), float(seg[1][0])) for seg in bars.get_segments()]
    assert line.get_marker() == "o" and line.get_linestyle() == "None"  # points, not a line through the arms
    assert len(caps) == 2 and caps[0].get_markersize() == 8  # capsize 4: caps of 2 * 4 points
    return line.get_xdata().tolist(), line.get_ydata().tolist(), ends


def ticks(ax: Any) -> tuple[list[float], list[str]]:
    return ax.get_yticks().tolist(), [t.get_text() for t in ax.get_yticklabels()]


def test_the_tables_show_the_arms_and_the_differences_as_given(tmp_path: Path, figures: list[Any]) -> None:
    text = write_report(result(), tmp_path / "ab.html").read_text(encoding="utf-8")
    arms, differences = html_tables(text)
    assert arms == [
        [
            "arm",
            "customers",
            "converted",
            "conversion",
            "conv. low",
            "conv. high",
            "revenue/customer",
            "rev. low",
            "rev. high",
        ],
        ["control", "1000", "100", "0.1000", "0.0800", "0.1200", "2.5000", "2.0000", "3.0000"],
        ["treatment", "1200", "150", "0.1250", "0.1050", "0.1500", "3.0000", "3.0500", "3.7500"],
        ["zero", "40", "0", "0.0000", "0.0000", "0.0876", "0.0000", "0.0000", "0.0000"],
    ]
    assert differences == [
        ["metric", "arm", "control", "difference", "low", "high", "p-value"],
        ["conversion", "treatment", "control", "0.0250", "-0.0010", "0.0510", "0.0625"],
        ["conversion", "zero", "control", "-0.1000", "-0.1800", "-0.0500", "0.0042"],
        ["revenue", "treatment", "control", "0.5000", "0.6000", "1.2000", "0.0110"],
        ["revenue", "zero", "control", "-2.5000", "-3.0000", "-2.0000", "0.0001"],
    ]
    assert "<title>Experiment exp-7</title>" in text and "<h1>Experiment exp-7</h1>" in text
    assert "<p>A/B analysis: the unit is the customer.</p>" in text
    headings = re.findall(r"<h2>(.*?)</h2>", text)
    assert headings == ["Arms", "Differences against the control"]
    # the arms, then their two figures, then the differences (figure before table), then the sample ratio line
    order = [
        text.index(s)
        for s in (
            "<h2>Arms</h2>",
            ">customers</th>",
            "conversion per arm",
            "revenue per customer per arm",
            "<h2>Differences",
            "each arm minus the control",
            ">p-value</th>",
            "Sample ratio check",
        )
    ]
    assert order == sorted(order)
    assert '<p class="note">' not in text  # no mismatch (p = 0.5), no notes


def test_the_sample_ratio_line_reads_like_prose(tmp_path: Path, figures: list[Any]) -> None:
    text = write_report(result(p_srm=0.5), tmp_path / "ab.html").read_text(encoding="utf-8")
    assert (
        "<p>Sample ratio check: customers per arm control 1,000, treatment 1,200, zero 40; expected shares "
        "control 45%, treatment 50%, zero 5%; chi2 = 12.35, p = 0.5.</p>"
    ) in text


def test_a_sample_ratio_mismatch_and_the_notes_come_first_as_notes(tmp_path: Path, figures: list[Any]) -> None:
    notes = ["arm zero has fewer than 50 customers", "exposures after 2026-12-01 <left out>"]
    text = write_report(result(p_srm=1.234e-7, notes=notes), tmp_path / "ab.html").read_text(encoding="utf-8")
    shown = re.findall(r'<p class="note">(.*?)</p>', text)
    assert shown == [
        "Sample ratio mismatch (p = 1.23e-07): the split or the logging is broken; do not trust these results.",
        "arm zero has fewer than 50 customers",
        "exposures after 2026-12-01 &lt;left out&gt;",
    ]
    assert text.index('<p class="note">') < text.index("<h2>Arms</h2>")
    assert "chi2 = 12.35, p = 1.23e-07.</p>" in text
    # just above the threshold (0.001): no warning
    text = write_report(result(p_srm=0.0011), tmp_path / "ok.html").read_text(encoding="utf-8")
    assert "Sample ratio mismatch" not in text and "p = 0.0011." in text


def test_the_arm_figures_show_each_arm_with_its_interval_top_to_bottom(tmp_path: Path, figures: list[Any]) -> None:
    text = write_report(result(), tmp_path / "ab.html").read_text(encoding="utf-8")
    assert len(figures) == 3 and text.count("data:image/png;base64,") == 3
    conversion, revenue = figures[0], figures[1]
    for fig in (conversion, revenue):
        assert fig.get_size_inches().tolist() == pytest.approx([6.5, 0.6 + 0.5 * 3])  # half an inch an arm
        (ax,) = fig.axes
        assert ticks(ax) == ([0, 1, 2], ["control", "treatment", "zero"])
        assert ax.get_ylim() == (2.5, -0.5)  # the first arm on top, as in the table, clear of the frame
    (ax,) = conversion.axes
    xs, ys, ends = errorbars(ax)
    assert xs == [0.1, 0.125, 0.0] and ys == [0, 1, 2]
    np.testing.assert_allclose(ends, [(0.08, 0.12), (0.105, 0.15), (0.0, 0.0876)], rtol=0, atol=1e-12)
    assert ax.get_xlabel() == "conversion (95% CI)"
    (ax,) = revenue.axes
    xs, ys, ends = errorbars(ax)
    assert xs == [2.5, 3.0, 0.0] and ys == [0, 1, 2]
    # the treatment's interval lies above its mean: the lower whisker is clamped at the point (length 0)
    np.testing.assert_allclose(ends, [(2.0, 3.0), (3.0, 3.75), (0.0, 0.0)], rtol=0, atol=1e-12)
    assert ax.get_xlabel() == "revenue per customer (95% CI)"
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text)
    assert captions == [
        "conversion per arm with 95% Wilson score intervals for 0/1 conversions",
        "revenue per customer per arm with 95% bootstrap intervals",
        "each arm minus the control with its 95% interval; the dashed line is no difference",
    ]


def test_the_difference_figure_has_a_panel_a_metric_with_a_dashed_zero_line(tmp_path: Path, figures: list[Any]) -> None:
    write_report(result(), tmp_path / "ab.html")
    fig = figures[2]
    assert fig.get_size_inches().tolist() == pytest.approx([1.6 + 3.4 * 2, 0.9 + 0.5 * 2])  # 2 metrics, 2 rows
    assert len(fig.axes) == 2  # the figure's first axes were cleared away
    left, right = fig.axes
    assert left.get_shared_y_axes().joined(left, right)  # the rows line up; their labels are on the left only
    assert ticks(left) == ([0, 1], ["treatment − control", "zero − control"]) and not right.get_yticklabels()
    expected = {
        "conversion": ([0.025, -0.1], [(-0.001, 0.051), (-0.18, -0.05)]),
        # revenue's treatment interval lies above the difference: a lower whisker of length 0
        "revenue": ([0.5, -2.5], [(0.5, 1.2), (-3.0, -2.0)]),
    }
    for ax, (metric, (points, whiskers)) in zip(fig.axes, expected.items(), strict=True):
        xs, ys, ends = errorbars(ax)
        assert xs == points and ys == [0, 1]
        np.testing.assert_allclose(ends, whiskers, rtol=0, atol=1e-12)
        assert ax.get_yticks().tolist() == [0, 1] and ax.get_ylim() == (1.5, -0.5)
        assert ax.get_xlabel() == f"difference in {metric} (95% CI)"
        zero = [line for line in ax.lines if list(line.get_xdata()) == [0.0, 0.0]]
        assert len(zero) == 1
        assert zero[0].get_linestyle() == "--" and zero[0].get_linewidth() == 1
        assert mcolors.to_hex(zero[0].get_color()) == "#cc0000"
        assert np.allclose(zero[0].get_ydata(), [0, 1]) and zero[0].get_transform() is not ax.transData  # full height


def test_without_comparisons_there_is_no_difference_figure(tmp_path: Path, figures: list[Any]) -> None:
    text = write_report(result(comparisons=[]), tmp_path / "ab.html").read_text(encoding="utf-8")
    assert len(figures) == 2 and text.count("data:image/png;base64,") == 2
    assert "each arm minus the control" not in text
    assert "<h2>Differences against the control</h2><p class='meta'>No rows.</p>" in text
