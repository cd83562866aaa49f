"""The data quality profile, on logs small enough to work out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverly.data import Interactions, read_catalog
from discoverly.data.quality import CountSummary, gini, lorenz_curve, profile, top_share
from discoverly.data.synthetic import synthetic_store
from discoverly.errors import DataError

DAY = 86_400


def test_tiny_log_by_hand(tiny_log: Interactions) -> None:
    p = profile(tiny_log)
    assert (p.n_events, p.n_users, p.n_items) == (10, 4, 5)
    # events per customer 3, 2, 4, 1; per item 3, 3, 2, 1, 1
    assert p.per_customer.median == 2.5 and p.per_customer.max == 4 and p.per_customer.mean == 2.5
    # Gini of [1, 1, 2, 3, 3]: 2 * (1 + 2 + 6 + 12 + 15) / (5 * 10) - 6 / 5 = 0.24
    assert p.per_item.gini == pytest.approx(0.24)
    assert p.per_item.top10_share == pytest.approx(0.3)  # the top item (of 5) holds 3 of 10 events
    assert p.items_for_50pct_events == pytest.approx(0.4) and p.items_for_80pct_events == pytest.approx(0.6)
    assert p.single_buyer_items == pytest.approx(0.4)
    assert p.density == pytest.approx(10 / 20)
    assert p.repeat_event_share == 0.0 and p.repeat_pair_share == 0.0
    assert p.span_days == pytest.approx(9.0) and p.active_days == 10
    assert p.quantity is None and p.catalog is None
    assert p.daily["events"].to_list() == [1] * 10


def test_repeats_by_hand() -> None:
    t0 = 1_700_006_400 - 1_700_006_400 % DAY
    # user 0 buys item 0 twice on day 0 and again on day 2; user 1 buys item 1 on day 1
    log = Interactions.from_indices([0, 0, 0, 1], [0, 0, 0, 1], np.array([t0, t0 + 60, t0 + 2 * DAY, t0 + DAY]))
    p = profile(log)
    assert p.repeat_event_share == pytest.approx(1 / 4)  # only the day-2 event repeats an earlier day
    assert p.repeat_pair_share == pytest.approx(1 / 2)
    assert p.customers_with_repeats == pytest.approx(1 / 2)


def test_gini_top_share_and_lorenz() -> None:
    assert gini(np.array([5, 5, 5])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 10])) == pytest.approx(0.75)  # (n - 1) / n when one holds everything
    assert gini(np.array([])) == 0.0
    assert top_share(np.array([1, 1, 8]), 0.01) == pytest.approx(0.8)
    x, y = lorenz_curve(np.array([1, 3]))
    assert x.tolist() == [0.0, 0.5, 1.0] and y.tolist() == [0.0, 0.25, 1.0]


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=200))
def test_concentration_measures_are_within_bounds(counts: list[int]) -> None:
    arr = np.array(counts)
    g = gini(arr)
    assert -1e-9 <= g <= 1.0
    assert 0.0 <= top_share(arr, 0.01) <= top_share(arr, 0.1) <= 1.0 + 1e-12
    x, y = lorenz_curve(arr)
    assert np.all(np.diff(y) >= -1e-12) and np.all(y <= x + 1e-9)


def test_count_summary_of_nothing() -> None:
    assert CountSummary.of(np.array([])).n == 0


def test_profile_of_a_dataset_uses_its_catalogue_and_notes() -> None:
    ds = synthetic_store(n_customers=60, n_items=40, days=60, rng=2)
    p = profile(ds)
    assert p.name == "synthetic-store" and p.synthetic
    assert p.catalog is not None and p.catalog["log_items_without_catalog_row"] == 0
    assert p.quantity is not None and p.quantity.min >= 1
    out = p.to_dict()
    assert "daily" not in out and "item_counts" not in out
    json.dumps(out)  # JSON-ready
    assert out["per_item"]["gini"] == p.per_item.gini


def test_catalogue_coverage(tiny_log: Interactions) -> None:
    cat = read_catalog(pl.DataFrame({"item": [0, 1, 9], "title": ["zero", None, "nine"]}))
    facts = profile(tiny_log, cat).catalog
    assert facts is not None
    assert facts["log_items_in_catalog"] == 2 and facts["log_items_without_catalog_row"] == 3
    assert facts["log_items_without_title"] == 4 and facts["catalog_items_never_in_log"] == 1
    assert facts["missing_values"] == {"title": 1}


def test_missing_values_are_reported_as_given(tiny_log: Interactions) -> None:
    assert profile(tiny_log, missing_values={"customer": 7}).missing_values == {"customer": 7}


def test_bad_input() -> None:
    with pytest.raises(DataError, match="empty"):
        profile(Interactions.from_indices([], [], np.array([], dtype=np.int64), n_users=1, n_items=1))
    with pytest.raises(DataError, match="takes Interactions or a Dataset"):
        profile("events.csv")  # type: ignore[arg-type]


def test_html_report_tables_read_as_counts_and_shares(tiny_log: Interactions, tmp_path: Path) -> None:
    """The distributions table printed whole counts with 3 decimals (max 12,694.000) and shares as
    fractions; the cleaning table printed 1067370."""
    from discoverly.data.quality_report import _distribution_table, quality_report

    p = profile(tiny_log)
    row = next(r for r in _distribution_table(p) if r["distribution"] == "events per customer")
    # events per customer 3, 2, 4, 1: median 2.5, max 4
    assert (row["median"], row["max"], row["mean"]) == ("2.50", "4", "2.50")
    assert row["top 10% share"].endswith("%") and row["Gini"] == f"{p.per_customer.gini:.3f}"
    import dataclasses

    cleaned = dataclasses.replace(p, cleaning={"rows_read": 1_067_370, "dropped": {"cancelled": 19_494}})
    text = quality_report(cleaned, tmp_path / "r.html").read_text()
    assert "1,067,370" in text and "19,494" in text and "1067370" not in text
