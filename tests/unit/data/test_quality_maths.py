"""The data profile on a log worked out by hand: every figure of every distribution, the repeat
shares, the time facts, the daily table, the catalogue coverage and the concentration measures at
their boundaries (mutation testing: these survived)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest

from discoverly.data import Interactions, read_catalog
from discoverly.data.datasets.dataset import Dataset
from discoverly.data.quality import CountSummary, _share_needed, gini, lorenz_curve, profile, top_share
from discoverly.errors import DataError

DAY, HOUR = 86_400, 3_600
M = 19_676 * DAY  # 2023-11-15 00:00:00 UTC

# (user, item, time, quantity): user 4 and items 4, 5 have no events
EVENTS = [
    (0, 0, M + 1 * HOUR, 1.0),
    (0, 0, M + 5 * HOUR, 2.0),       # the same pair the same day: not a repeat
    (0, 0, M + 2 * DAY, 1.0),        # the same pair on a later day: a repeat
    (0, 1, M + 2 * DAY, 3.0),
    (1, 0, M + 1 * DAY, 1.0),
    (1, 2, M + 1 * DAY, 1.0),
    (1, 2, M + 3 * DAY, 1.0),        # a repeat
    (2, 3, M + 3 * DAY, 4.0),
    (3, 0, M + 4 * DAY + 12 * HOUR, 1.0),
]


@pytest.fixture
def log() -> Interactions:
    u, i, t, q = (list(c) for c in zip(*EVENTS, strict=True))
    return Interactions.from_indices(u, i, np.array(t), quantity=q, n_users=5, n_items=6)


def _summary(**fields: float) -> object:
    """The fields of a CountSummary, to compare with ``asdict(summary)`` within float rounding."""
    assert set(fields) == {f.name for f in dataclasses.fields(CountSummary)}
    return pytest.approx(fields)


def test_counts_time_and_density(log: Interactions) -> None:
    p = profile(log)
    assert (p.name, p.n_events, p.n_users, p.n_items) == ("interactions", 9, 4, 4)  # active ones only
    assert p.start == dt.datetime(2023, 11, 15, 1) and p.end == dt.datetime(2023, 11, 19, 12)
    assert p.span_days == round(4.5 - 1 / 24, 3) == 4.458 and p.active_days == 5
    assert p.events_per_day == pytest.approx(9 / (4.5 - 1 / 24))
    assert p.events_per_week == pytest.approx(7 * 9 / 7)  # a span under a week counts as one week
    assert p.density == pytest.approx(6 / (4 * 4))  # 6 distinct pairs among 4 active users x 4 active items


def test_every_distribution_by_hand(log: Interactions) -> None:
    p = profile(log)
    # events per customer [4, 3, 1, 1]; sorted [1, 1, 3, 4]: linear quantiles at positions 0.75, 1.5, 2.25, 2.7, 2.97
    # Gini: 2 * (1*1 + 2*1 + 3*3 + 4*4) / (4 * 9) - 5/4 = 11/36; the top 1% and 10% are one customer (4 of 9)
    assert dataclasses.asdict(p.per_customer) == _summary(
        n=4, total=9.0, mean=2.25, min=1.0, p25=1.0, median=2.0, p75=3.25, p90=3.7, p99=3.97, max=4.0,
        top1_share=4 / 9, top10_share=4 / 9, gini=11 / 36)
    # distinct items per customer [2, 2, 1, 1]: Gini 2 * (1 + 2 + 6 + 8) / (4 * 6) - 5/4 = 1/6
    assert dataclasses.asdict(p.items_per_customer) == _summary(
        n=4, total=6.0, mean=1.5, min=1.0, p25=1.0, median=1.5, p75=2.0, p90=2.0, p99=2.0, max=2.0,
        top1_share=2 / 6, top10_share=2 / 6, gini=1 / 6)
    # events per item [5, 1, 2, 1]; sorted [1, 1, 2, 5]: Gini 2 * (1 + 2 + 6 + 20) / (4 * 9) - 5/4 = 13/36
    assert dataclasses.asdict(p.per_item) == _summary(
        n=4, total=9.0, mean=2.25, min=1.0, p25=1.0, median=1.5, p75=2.75, p90=4.1, p99=4.91, max=5.0,
        top1_share=5 / 9, top10_share=5 / 9, gini=13 / 36)
    # buyers per item [3, 1, 1, 1]: Gini 2 * (1 + 2 + 3 + 12) / (4 * 6) - 5/4 = 1/4
    assert dataclasses.asdict(p.buyers_per_item) == _summary(
        n=4, total=6.0, mean=1.5, min=1.0, p25=1.0, median=1.0, p75=1.5, p90=2.4, p99=2.94, max=3.0,
        top1_share=3 / 6, top10_share=3 / 6, gini=1 / 4)
    # quantities [1, 2, 1, 3, 1, 1, 1, 4, 1]; sorted [1 x 6, 2, 3, 4]: positions 2, 4, 6, 7.2, 7.92
    # Gini: 2 * (21 + 14 + 24 + 36) / (9 * 15) - 10/9 = 8/27; the top 1% and 10% are one event (4 of 15)
    assert p.quantity is not None and dataclasses.asdict(p.quantity) == _summary(
        n=9, total=15.0, mean=15 / 9, min=1.0, p25=1.0, median=1.0, p75=2.0, p90=3.2, p99=3.92, max=4.0,
        top1_share=4 / 15, top10_share=4 / 15, gini=8 / 27)


def test_popularity_shares_and_repeats(log: Interactions) -> None:
    p = profile(log)
    # events per item, largest first [5, 2, 1, 1] of 9: one item holds 56% (>= 50%), three hold 89% (>= 80%)
    assert p.items_for_50pct_events == 0.25 and p.items_for_80pct_events == 0.75
    assert p.single_buyer_items == 0.75  # items 1, 2, 3 have one buyer each; item 0 has three
    assert p.repeat_event_share == pytest.approx(2 / 9)  # the two later-day events of (0, 0) and (1, 2)
    assert p.repeat_pair_share == pytest.approx(2 / 6)  # (0, 0) and (1, 2) of six pairs
    assert p.customers_with_repeats == pytest.approx(2 / 4)  # customers 0 and 1 of four active


def test_daily_table(log: Interactions) -> None:
    daily = profile(log).daily
    assert daily.columns == ["date", "events", "users"]
    assert daily["date"].to_list() == [dt.date(2023, 11, 15) + dt.timedelta(days=d) for d in range(5)]
    assert daily["events"].to_list() == [2, 2, 2, 2, 1]
    assert daily["users"].to_list() == [1, 1, 1, 2, 1]  # day 3: customers 1 and 2


def test_a_single_event(log: Interactions) -> None:
    p = profile(log.before(M + 2 * HOUR))
    assert p.span_days == 0.042 and p.active_days == 1  # at least an hour: 1/24 of a day
    assert p.events_per_day == 1.0 and p.events_per_week == 1.0
    assert (p.repeat_event_share, p.repeat_pair_share, p.customers_with_repeats) == (0.0, 0.0, 0.0)
    assert p.quantity is None  # every quantity is 1
    assert p.density == 1.0


def test_to_dict_and_given_name_and_cleaning(log: Interactions) -> None:
    p = profile(log, name="shop", cleaning={"rows_read": 12, "dropped": {"returns": 3}})
    out = p.to_dict()
    assert out["name"] == "shop" and out["start"] == "2023-11-15 01:00:00" and out["end"] == "2023-11-19 12:00:00"
    assert out["cleaning"] == {"rows_read": 12, "dropped": {"returns": 3}} and out["synthetic"] is False
    assert out["per_item"]["p90"] == pytest.approx(4.1) and out["missing_values"] == {}
    assert {"daily", "customer_counts", "item_counts"}.isdisjoint(out)
    assert p.customer_counts.tolist() == [4, 3, 1, 1] and p.item_counts.tolist() == [5, 1, 2, 1]


def test_a_dataset_brings_its_notes_and_an_explicit_catalogue_wins(log: Interactions) -> None:
    own = read_catalog(pl.DataFrame({"item": [0, 1], "title": ["a", "b"]}))
    other = read_catalog(pl.DataFrame({"item": [0, 1, 2, 3, 9]}))
    notes = {"rows_read": 20, "missing_values": {"user": 2}, "synthetic": True}
    ds = Dataset("shop", log, own, notes)
    p = profile(ds)
    assert p.name == "shop" and p.synthetic and p.missing_values == {"user": 2}
    assert p.cleaning == {"rows_read": 20, "synthetic": True}  # everything but the missing values
    assert p.catalog is not None and p.catalog["catalog_items"] == 2
    q = profile(ds, other, name="renamed", missing_values={"item": 1}, cleaning={})
    assert q.name == "renamed" and q.missing_values == {"item": 1} and q.cleaning == {}
    assert q.catalog is not None and q.catalog["catalog_items"] == 5


def test_catalogue_facts_by_hand(log: Interactions) -> None:
    # log items 0..3 (4, 5 never bought); catalogue: 0, 2 (title missing), 3, 7, 8, and no title column at all
    titled = read_catalog(pl.DataFrame({"item": [0, 2, 3, 7, 8], "title": ["a", None, "c", "d", "e"],
                                        "brand": ["x", "y", None, None, "z"]}))
    assert profile(log, titled).catalog == {
        "catalog_items": 5, "columns": ["item", "title", "brand"], "log_items_in_catalog": 3,
        "log_items_without_catalog_row": 1, "log_items_without_title": 2, "catalog_items_never_in_log": 2,
        "missing_values": {"title": 1, "brand": 2}}
    untitled = profile(log, read_catalog(pl.DataFrame({"item": [0, 1]}))).catalog
    assert untitled is not None and untitled["log_items_without_title"] is None
    assert untitled["log_items_in_catalog"] == 2 and untitled["missing_values"] == {}
    # a catalogue whose ids are text digits matches a log of integer ids
    text_ids = profile(log, read_catalog(pl.DataFrame({"item": ["0", "1", "x"]}))).catalog
    assert text_ids is not None and text_ids["log_items_in_catalog"] == 2


def test_concentration_at_its_boundaries() -> None:
    ranks = np.arange(1, 151, dtype=float)  # 1..150, total 11325
    assert top_share(ranks, 0.01) == pytest.approx((150 + 149) / 11325)  # ceil(1.5) = 2 entries
    assert top_share(ranks, 0.10) == pytest.approx(sum(range(136, 151)) / 11325)  # 15 entries
    assert top_share(np.array([7.0]), 0.01) == 1.0
    # 80% exactly reached by the largest entry: one entry of two is enough
    assert _share_needed(np.array([1.0, 4.0]), 0.8) == 0.5
    assert _share_needed(np.array([1.0, 1.0]), 0.5) == 0.5
    assert _share_needed(np.array([3.0]), 0.8) == 1.0
    for zeros in (np.zeros(3), np.array([])):
        assert gini(zeros) == 0.0 and top_share(zeros, 0.1) == 0.0 and _share_needed(zeros, 0.5) == 0.0
        x, y = lorenz_curve(zeros)
        assert x.tolist() == [0.0, 1.0] and y.tolist() == [0.0, 1.0]
    # Gini of [0, 0, 1, 3]: 2 * (3*1 + 4*3) / (4 * 4) - 5/4 = 5/8
    assert gini(np.array([3, 0, 1, 0])) == pytest.approx(5 / 8)
    x, y = lorenz_curve(np.array([3, 0, 1]))
    assert x.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1]) and y.tolist() == [0.0, 0.0, 0.25, 1.0]


def test_count_summary_of_nothing_is_all_zeros() -> None:
    assert dataclasses.asdict(CountSummary.of(np.array([]))) == _summary(
        n=0, total=0.0, mean=0.0, min=0.0, p25=0.0, median=0.0, p75=0.0, p90=0.0, p99=0.0, max=0.0,
        top1_share=0.0, top10_share=0.0, gini=0.0)


def test_repeats_count_days_not_events_and_customers_not_pairs() -> None:
    # customer 0 buys item 0 on days 0 and 1 and item 1 on days 0 and 2 (two repeated pairs, one customer);
    # customer 1 buys item 2 twice on day 0 only (not a repeat); customer 2 buys item 0 once
    rows = [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 2), (1, 2, 0), (1, 2, 0), (2, 0, 1)]
    u, i, d = (list(c) for c in zip(*rows, strict=True))
    for shift in (M, -DAY, -400 * DAY):  # logs across and before 1970 (negative epoch days) count the same
        log = Interactions.from_indices(u, i, np.array(d) * DAY + 3 * HOUR + shift)
        p = profile(log)
        assert p.repeat_event_share == pytest.approx(2 / 7), shift  # (0, 0) on day 1, (0, 1) on day 2
        assert p.repeat_pair_share == pytest.approx(2 / 4), shift
        assert p.customers_with_repeats == pytest.approx(1 / 3), shift


def test_profile_errors_in_full() -> None:
    empty = Interactions.from_indices([], [], n_users=1, n_items=1)
    with pytest.raises(DataError) as err:
        profile(empty)
    assert str(err.value) == "cannot profile an empty interaction log: it has no events"
    with pytest.raises(DataError) as err:
        profile("events.csv")  # type: ignore[arg-type]
    assert str(err.value) == "profile() takes Interactions or a Dataset, got str"


def test_gini_and_shares_of_counts_summing_to_one_or_less() -> None:
    # quantities may be fractions: the formulas hold for any positive total
    assert gini(np.array([0.0, 1.0])) == pytest.approx(0.5)  # (n - 1) / n: one holds everything
    assert gini(np.array([0.25, 0.25])) == pytest.approx(0.0)
    assert top_share(np.array([0.0, 1.0]), 0.01) == 1.0
    assert _share_needed(np.array([0.5, 0.0]), 0.5) == 0.5
    x, y = lorenz_curve(np.array([0.0, 1.0]))
    assert x.tolist() == [0.0, 0.5, 1.0] and y.tolist() == [0.0, 0.0, 1.0]


def test_daily_dates_far_from_1970() -> None:
    # day numbers of 1 January 9000 and 1 January 1900: the daily table's dates come from them exactly
    days = [(dt.date(9000, 1, 1) - dt.date(1970, 1, 1)).days, (dt.date(1900, 1, 1) - dt.date(1970, 1, 1)).days]
    for day in days:
        log = Interactions.from_indices([0, 0], [0, 1], np.array([day * DAY, day * DAY + DAY - 1]))
        daily = profile(log).daily
        assert daily["date"].to_list() == [dt.date(1970, 1, 1) + dt.timedelta(days=day)]
        assert daily["events"].to_list() == [2]
