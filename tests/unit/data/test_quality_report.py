"""The HTML data report: its tables and the data behind its plots, worked out by hand on tiny logs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.data import Interactions, read_catalog
from discoverly.data.quality import profile
from discoverly.data.quality_report import (
    _count,
    _distribution_table,
    _events_over_time,
    _fmt,
    _log_histogram,
    _lorenz,
    _popularity_curve,
    quality_report,
    summary_rows,
)

pytest.importorskip("matplotlib")

_DAY = 86_400
_T0 = 1_700_006_400 - 1_700_006_400 % _DAY  # 2023-11-15 00:00 UTC, a Wednesday


def _log(days: list[int], users: list[int] | None = None) -> Interactions:
    users = users if users is not None else [0] * len(days)
    return Interactions.from_indices(users, list(range(len(days))), np.array([_T0 + d * _DAY + 3600 for d in days]),
                                     n_users=max(users) + 1, n_items=len(days))


def _lines(fig: object) -> dict[str, tuple[list[object], list[float]]]:
    return {line.get_label(): (list(line.get_xdata()), [float(y) for y in line.get_ydata()])
            for ax in fig.axes for line in ax.lines}  # type: ignore[attr-defined]


def test_events_per_day_count_closed_days_as_zero() -> None:
    # two events a day on days 0-9 but for days 3 and 4 (closed): the plot has ten days, two of them 0,
    # and every 7-day mean holds both closed days: 10 / 7, not 2
    days = [d for d in range(10) if d not in (3, 4) for _ in range(2)]
    lines = _lines(_events_over_time(profile(_log(days))))
    dates, events = lines["events per day"]
    assert dates == [dt.date(2023, 11, 15) + dt.timedelta(days=d) for d in range(10)]
    assert events == [2, 2, 2, 0, 0, 2, 2, 2, 2, 2]
    mean_dates, mean = lines["7-day mean"]
    assert mean_dates == dates[3:7]
    assert mean == pytest.approx([10 / 7] * 4)
    assert lines["active customers"][1] == [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]


def test_a_short_log_has_no_rolling_mean() -> None:
    lines = _lines(_events_over_time(profile(_log([0, 0, 5], users=[0, 1, 1]))))
    assert "7-day mean" not in lines
    assert lines["events per day"][1] == [2, 0, 0, 0, 0, 1] and lines["active customers"][1] == [2, 0, 0, 0, 0, 1]


def test_the_heavy_buyer_histogram_is_a_density_over_log_bins() -> None:
    counts = np.array([1, 1, 1, 2, 3, 10, 0])
    (x, y), = _lines(_log_histogram(counts, "events per customer", "customers")).values()
    # bins are the rounded log-spaced edges from 1 to 10 x 1.05 + 1; a bin's height = customers / its width
    edges = np.unique(np.logspace(0, np.log10(10 * 1.05 + 1), 40).round())
    hist, _ = np.histogram([1, 1, 1, 2, 3, 10], bins=edges)
    widths = np.diff(edges)
    assert x == list(edges[:-1][hist > 0]) and y == list(hist[hist > 0] / widths[hist > 0])
    assert x[0] == 1 and y[0] == 3.0 and sum(h for h in hist) == 6  # the zero count is left out
    fig = _log_histogram(counts, "events per customer", "customers")
    assert fig.axes[0].get_ylabel() == "customers per unit of events"
    (x1, y1), = _lines(_log_histogram(np.array([1, 1]), "events per item", "items")).values()
    assert x1 == [1.0] and y1 == [2.0]


def test_the_popularity_curve_and_the_lorenz_curves() -> None:
    (rank, events), = _lines(_popularity_curve(np.array([3, 10, 1, 5]))).values()
    assert rank == [1, 2, 3, 4] and events == [10, 5, 3, 1]
    p = profile(_log([0, 0, 0, 1, 2, 3], users=[0, 0, 0, 0, 1, 2]))
    lines = _lines(_lorenz(p))
    assert set(lines) == {f"items (Gini {p.per_item.gini:.2f})", f"customers (Gini {p.per_customer.gini:.2f})",
                          "equal"}
    _, customers = lines[f"customers (Gini {p.per_customer.gini:.2f})"]
    assert customers == pytest.approx([0, 1 / 6, 2 / 6, 1])  # 1, 1, 4 events, least active first
    assert lines["equal"] == ([0, 1], [0, 1])


@pytest.mark.parametrize("value,text", [
    (1_067_370, "1,067,370"), (0, "0"), (0.123456, "0.1235"), (12_345.678, "1.235e+04"), (2_500_000.4, "2,500,000"),
    (-3_000_000.0, "-3,000,000"), ("2024-01-01", "2024-01-01"), (None, "None"),
])
def test_figures_are_formatted_for_reading(value: object, text: str) -> None:
    assert _fmt(value) == text


def test_counts_print_whole_numbers_without_decimals() -> None:
    assert (_count(12_694.0), _count(2.5), _count(1_234.567), _count(np.float64(3.0))) == (
        "12,694", "2.50", "1,234.57", "3")


def test_summary_rows_by_hand(tiny_log: Interactions) -> None:
    # tiny_log: 10 events, customers 0-3 with 3, 2, 4, 1 events, items 0-4 with 3, 3, 2, 1, 1; one a day
    rows = {r["figure"]: r["value"] for r in summary_rows(profile(tiny_log))}
    assert rows["events"] == "10" and rows["customers"] == "4" and rows["items"] == "5"
    assert rows["first event"] == "2023-11-14 22:13" and rows["last event"] == "2023-11-23 22:13"
    assert rows["time span (days)"] == "9" and rows["days with events"] == "10"
    assert rows["density (customer-item pairs)"] == "50.000%"  # 10 pairs of 4 x 5
    # a median between two counts keeps its half, as in the distribution table (2.5 was shown as 2, 1.5 as 2)
    assert rows["events per customer: median / mean / p99 / max"] == "2.50 / 2.5 / 4 / 4"
    assert rows["events per item: median / mean / max"] == "2 / 2.0 / 3"
    assert rows["repeat events (item bought again on a later day)"] == "0.0%"
    assert list(rows)[:3] == ["events", "customers", "items"] and len(rows) == 20
    empty_times = dataclasses.replace(profile(tiny_log), start=None, end=None)
    assert {r["figure"]: r["value"] for r in summary_rows(empty_times)}["first event"] == "-"


def test_the_distribution_table_rows(tiny_log: Interactions) -> None:
    p = profile(tiny_log)
    table = _distribution_table(p)
    assert [r["distribution"] for r in table] == ["events per customer", "distinct items per customer",
                                                  "events per item", "distinct buyers per item"]  # quantities all 1
    items = next(r for r in table if r["distribution"] == "events per item")
    assert (items["mean"], items["median"], items["max"], items["p25"], items["p75"]) == ("2", "2", "3", "1", "3")
    assert list(items) == ["distribution", "mean", "p25", "median", "p75", "p90", "p99", "max", "top 1% share",
                           "top 10% share", "Gini"]
    weighted = Interactions.from_indices([0, 0, 1], [0, 1, 1], np.array([_T0, _T0 + 1, _T0 + 2]), n_users=2,
                                         n_items=2, quantity=np.array([1.0, 2.0, 6.0]))
    quantity = next(r for r in _distribution_table(profile(weighted)) if r["distribution"] == "quantity per event")
    assert (quantity["mean"], quantity["median"], quantity["max"]) == ("3", "2", "6")


def test_the_report_sections(tiny_log: Interactions, tmp_path: Path) -> None:
    p = dataclasses.replace(profile(tiny_log), name="shop", synthetic=True,
                            cleaning={"rows_read": 12, "dropped": {"missing_customer": 2}, "files": ["a.parquet"]},
                            missing_values={"customer": 2})
    text = quality_report(p, tmp_path / "r.html").read_text()
    assert "Data report: shop" in text and "10 events by 4 customers on 5 items" in text
    assert "SYNTHETIC" in text and "Source files: a.parquet" in text
    assert text.index("rows read") < text.index("dropped: missing customer") < text.index("events kept")
    assert "No missing-value counts" not in text and text.count("<img") + text.count("<svg") >= 4
    plain = dataclasses.replace(profile(tiny_log), cleaning={}, missing_values={})
    plain_text = quality_report(plain, tmp_path / "p.html").read_text()
    assert "SYNTHETIC" not in plain_text and "Cleaning" not in plain_text
    assert "No missing-value counts were recorded for this source." in plain_text
    catalog = read_catalog(pl.DataFrame({"item": [0, 1, 9], "title": ["a", None, "c"]}), item="item")
    with_catalog = quality_report(profile(tiny_log, catalog=catalog), tmp_path / "c.html").read_text()
    assert "Columns: item, title" in with_catalog and "log items without catalog row" in with_catalog
    assert "catalogue column" in with_catalog  # the missing titles
    assert "log items without title" in with_catalog
    untitled = read_catalog(pl.DataFrame({"item": [0, 1, 9], "kind": ["a", "b", "c"]}), item="item")
    no_titles = quality_report(profile(tiny_log, catalog=untitled), tmp_path / "u.html").read_text()
    # a catalogue without a title column has no such figure: the row was "log items without title | None"
    assert "log items without catalog row" in no_titles and "without title" not in no_titles
    assert ">None<" not in no_titles
