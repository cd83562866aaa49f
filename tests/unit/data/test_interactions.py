"""Interactions: slicing, matrices (binary, count, quantity, days, first/last time), fingerprint."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverly.data import Interactions, read_interactions, to_epoch_seconds
from discoverly.errors import DataError

DAY = 86_400
T0 = 1_700_000_000


def test_repr_and_basic_facts(tiny_log: Interactions) -> None:
    assert len(tiny_log) == 10
    assert (tiny_log.n_users, tiny_log.n_items) == (4, 5)
    assert tiny_log.start == dt.datetime(2023, 11, 14, 22, 13, 20)
    assert "10 events" in repr(tiny_log)


def test_before_between_for_users_where(tiny_log: Interactions) -> None:
    before = tiny_log.before(T0 + 3 * DAY)
    assert len(before) == 3 and before.user_index.tolist() == [0, 0, 0]
    window = tiny_log.between(T0 + 3 * DAY, T0 + 5 * DAY)
    assert window.user_index.tolist() == [1, 1]
    assert len(tiny_log.between(T0 + 5 * DAY, T0)) == 0
    assert tiny_log.for_users(np.array([2])).item_index.tolist() == [1, 2, 3, 4]
    assert len(tiny_log.where(tiny_log.item_index == 0)) == 3
    # slices keep the vocabularies, so indices mean the same thing everywhere
    assert before.items is tiny_log.items and before.n_items == 5
    assert tiny_log.active_users().tolist() == [0, 1, 2, 3]
    assert before.active_users().tolist() == [0]


def test_before_accepts_iso_strings_dates_and_datetimes(tiny_log: Interactions) -> None:
    t = T0 + 3 * DAY
    as_dt = dt.datetime.fromtimestamp(t, tz=dt.UTC)
    assert len(tiny_log.before(as_dt)) == len(tiny_log.before(t)) == len(tiny_log.before(as_dt.isoformat())) == 3
    assert to_epoch_seconds(dt.date(2011, 11, 1)) == to_epoch_seconds("2011-11-01") == 1_320_105_600
    with pytest.raises(DataError, match="cannot read the time"):
        tiny_log.before("next tuesday")
    with pytest.raises(DataError):
        to_epoch_seconds(True)


def test_events_are_sorted_by_time_and_read_only() -> None:
    log = Interactions.from_indices([0, 1, 2], [0, 1, 0], np.array([30, 10, 20]))
    assert log.timestamp.tolist() == [10, 20, 30]
    assert log.user_index.tolist() == [1, 2, 0]
    with pytest.raises(ValueError):
        log.user_index[0] = 5


def test_out_of_range_indices_and_ragged_arrays_are_rejected() -> None:
    from discoverly.data import Vocabulary

    users, items = Vocabulary([0, 1]), Vocabulary([0])
    with pytest.raises(DataError, match="same length"):
        Interactions(users, items, np.array([0, 1]), np.array([0]), np.array([1, 2]))
    with pytest.raises(DataError, match="user indices"):
        Interactions(users, items, np.array([0, 2]), np.array([0, 0]), np.array([1, 2]))
    with pytest.raises(DataError, match="item indices"):
        Interactions(users, items, np.array([0, 1]), np.array([0, 1]), np.array([1, 2]))


@pytest.fixture
def repeat_log() -> Interactions:
    # user 0 buys item 0 twice on day 0 (quantities 2 and 3) and again on day 2; item 1 once on day 1
    times = np.array([T0, T0 + 3600, T0 + DAY, T0 + 2 * DAY])
    return Interactions.from_indices([0, 0, 0, 1], [0, 0, 1, 0], times, quantity=[2.0, 3.0, 1.0, 4.0])


def test_matrices_by_hand(repeat_log: Interactions) -> None:
    # events in time order: (u0,i0,t0,q2), (u0,i0,t0+1h,q3), (u0,i1,day1,q1), (u1,i0,day2,q4)
    assert repeat_log.matrix("binary").toarray().tolist() == [[1, 1], [1, 0]]
    assert repeat_log.matrix("count").toarray().tolist() == [[2, 1], [1, 0]]
    assert repeat_log.matrix("quantity").toarray().tolist() == [[5, 1], [4, 0]]
    assert repeat_log.matrix("days").toarray().tolist() == [[1, 1], [1, 0]]
    first = repeat_log.matrix("first_time").toarray()
    last = repeat_log.matrix("last_time").toarray()
    assert first[0, 0] == T0 and last[0, 0] == T0 + 3600
    assert first[1, 0] == last[1, 0] == T0 + 2 * DAY


def test_days_counts_distinct_days() -> None:
    times = np.array([0, 3600, DAY + 5, 5 * DAY, 5 * DAY + 10]) + T0 - T0 % DAY
    log = Interactions.from_indices([0] * 5, [0] * 5, times)
    assert log.matrix("days")[0, 0] == 3
    assert log.matrix("count")[0, 0] == 5


def test_matrix_is_cached_and_unknown_kind_rejected(tiny_log: Interactions) -> None:
    assert tiny_log.matrix("binary") is tiny_log.matrix("binary")
    with pytest.raises(DataError, match="unknown matrix value"):
        tiny_log.matrix("weird")  # type: ignore[arg-type]


def test_item_counts(tiny_log: Interactions) -> None:
    assert tiny_log.item_counts().tolist() == [3, 3, 2, 1, 1]
    assert tiny_log.item_counts(distinct_users=False).tolist() == [3, 3, 2, 1, 1]


def test_fingerprint_is_stable_and_sensitive(tiny_log: Interactions) -> None:
    same = Interactions.from_indices(tiny_log.user_index, tiny_log.item_index, np.asarray(tiny_log.timestamp),
                                     n_users=4, n_items=5)
    assert same.fingerprint() == tiny_log.fingerprint()
    moved = np.asarray(tiny_log.timestamp).copy()
    moved[-1] += 1
    other = Interactions.from_indices(tiny_log.user_index, tiny_log.item_index, moved, n_users=4, n_items=5)
    assert other.fingerprint() != tiny_log.fingerprint()
    assert tiny_log.before(T0 + DAY).fingerprint() != tiny_log.fingerprint()



def test_fingerprint_of_the_same_events_in_another_row_order() -> None:
    """Events of equal times keep their file order, and the fingerprint hashed the rows in that order:
    the same log shuffled was recorded in its model as other data."""
    frame = pl.DataFrame({"user": ["a", "b", "c", "a", "b", "c"], "item": ["x", "y", "x", "z", "z", "y"],
                          "timestamp": [1, 1, 1, 2, 2, 2], "quantity": [1.0, 2.0, 1.0, 1.0, 3.0, 1.0]})
    a = read_interactions(frame, quantity="quantity")
    b = read_interactions(frame.reverse(), quantity="quantity")
    assert a.user_index.tolist() != b.user_index.tolist()  # the ties really are in another order
    assert a.fingerprint() == b.fingerprint()
    changed = frame.with_columns(pl.Series("quantity", [1.0, 2.0, 1.0, 1.0, 3.0, 2.0]))
    duplicated = pl.concat([frame, frame.head(1)])
    assert read_interactions(changed, quantity="quantity").fingerprint() != a.fingerprint()
    assert read_interactions(duplicated, quantity="quantity").fingerprint() != a.fingerprint()


def test_to_polars_round_trips_through_read_interactions(tiny_log: Interactions) -> None:
    frame = tiny_log.to_polars()
    assert frame.columns == ["user", "item", "timestamp", "quantity"]
    back = read_interactions(frame, quantity="quantity")
    assert back.fingerprint() == tiny_log.fingerprint()
    assert tiny_log.to_pandas().shape == (10, 4)


events = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6), st.integers(0, 30 * DAY)), min_size=1,
                  max_size=60)


@settings(max_examples=60, deadline=None)
@given(events, st.integers(0, 30 * DAY))
def test_matrix_and_slicing_invariants(rows: list[tuple[int, int, int]], cut: int) -> None:
    u, i, t = (np.array(c) for c in zip(*rows, strict=True))
    log = Interactions.from_indices(u, i, t + T0, n_users=6, n_items=7)
    assert log.matrix("count").sum() == len(log)
    assert log.matrix("binary").nnz == len(set(zip(u.tolist(), i.tolist(), strict=True)))
    days, count = log.matrix("days").toarray(), log.matrix("count").toarray()
    assert np.all(days <= count) and np.all((days > 0) == (count > 0))
    first, last = log.matrix("first_time").toarray(), log.matrix("last_time").toarray()
    assert np.all(first <= last)
    # before(t) and between(t, end) partition the log
    head, tail = log.before(T0 + cut), log.between(T0 + cut, T0 + 31 * DAY)
    assert len(head) + len(tail) == len(log)
    assert np.all(head.timestamp < T0 + cut) and np.all(tail.timestamp >= T0 + cut)
    assert np.all(np.diff(log.timestamp) >= 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 5), st.integers(-3 * DAY, 6 * DAY)), max_size=60))
def test_days_first_last_equal_a_per_pair_reference(rows: list[tuple[int, int, int]]) -> None:
    # the three history matrices come from one sort by pair; pin them to the plain definition, including
    # pairs whose first day equals the previous pair's last day and times before 1970
    u, i, t = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True)) if rows else (np.zeros(0, int),) * 3
    log = Interactions.from_indices(u, i, t, n_users=5, n_items=6)
    pairs: dict[tuple[int, int], list[int]] = {}
    for uu, ii, tt in rows:
        pairs.setdefault((uu, ii), []).append(tt)
    days, first, last = (np.zeros((5, 6)) for _ in range(3))
    for (uu, ii), times in pairs.items():
        days[uu, ii] = len({x // DAY for x in times})
        first[uu, ii], last[uu, ii] = min(times), max(times)
    for value, want in (("days", days), ("first_time", first), ("last_time", last)):
        m = log.matrix(value)
        assert m.dtype == np.float64 and m.has_sorted_indices and m.nnz == len(pairs)
        assert np.array_equal(m.toarray(), want), value
