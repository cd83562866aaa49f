"""Interactions pinned to hand-worked values: time conversion on a machine away from UTC, dtypes,
tie order, slices keeping quantities, every matrix kind asked first, day boundaries, and the
fingerprint recomputed from its documented recipe (mutation testing: these survived)."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import sys
import time
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest

from discoverly.data import Interactions, Vocabulary, read_interactions, to_epoch_seconds
from discoverly.errors import DataError, MissingDependencyError, UnknownIdError

DAY = 86_400
#: 2011-11-01 08:26:00 UTC, worked out by hand: 15279 days * 86400 + 8 h 26 min
T = 15_279 * DAY + 8 * 3600 + 26 * 60
MIDNIGHT = 19_676 * DAY  # 2023-11-15 00:00:00 UTC


@pytest.fixture
def away_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone set to UTC+5:30 (a POSIX TZ string: no tz database needed)."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_do_not_depend_on_the_machines_time_zone(away_from_utc: None) -> None:
    assert time.localtime(0).tm_hour == 5  # the fixture really moved the local zone
    assert T == 1_320_135_960
    assert to_epoch_seconds(dt.datetime(2011, 11, 1, 8, 26)) == T  # naive means UTC
    assert to_epoch_seconds("2011-11-01 08:26:00") == T
    assert to_epoch_seconds(dt.date(2011, 11, 1)) == to_epoch_seconds("2011-11-01") == T - (8 * 3600 + 26 * 60)
    log = Interactions.from_indices([0, 0], [0, 0], np.array([T, T + 2 * DAY]))
    assert log.start == dt.datetime(2011, 11, 1, 8, 26) and log.end == dt.datetime(2011, 11, 3, 8, 26)
    assert repr(log) == "Interactions(2 events, 1 users, 1 items, 2011-11-01..2011-11-03)"


def test_aware_times_keep_their_offset() -> None:
    assert to_epoch_seconds("2011-11-01T10:26:00+02:00") == T
    assert to_epoch_seconds("2011-11-01T08:26:00Z") == T
    assert to_epoch_seconds(dt.datetime(2011, 11, 1, 3, 26, tzinfo=dt.timezone(dt.timedelta(hours=-5)))) == T


def test_numbers_and_numpy_times() -> None:
    assert to_epoch_seconds(float(T)) == T and to_epoch_seconds(np.float64(T) + 0.75) == T
    assert to_epoch_seconds(np.int64(T)) == T
    assert to_epoch_seconds(np.datetime64("2011-11-01T08:26")) == T
    assert to_epoch_seconds(np.datetime64("2011-11-01T08:26:00.750")) == T  # milliseconds cut to the second
    assert to_epoch_seconds(np.datetime64("2011-11-01")) == T - (8 * 3600 + 26 * 60)


def test_a_cutoff_is_whole_seconds_rounded_down_as_event_times_are() -> None:
    # the readers keep 1969-12-31 23:59:58.5 (and the number -1.5) as -2; a cutoff written the same way
    # was -1 (int() cuts toward zero), so an event at that instant fell on the other side of it
    half = dt.datetime(1969, 12, 31, 23, 59, 58, 500_000)
    assert to_epoch_seconds(half) == to_epoch_seconds("1969-12-31T23:59:58.5") == -2
    assert to_epoch_seconds(-1.5) == to_epoch_seconds(np.float64(-1.5)) == -2
    assert to_epoch_seconds(np.datetime64("1969-12-31T23:59:58.500")) == -2
    read = read_interactions(pl.DataFrame({"u": ["a"], "i": ["x"], "t": [half]}), user="u", item="i", time="t")
    assert read.timestamp.tolist() == [-2] and len(read.before(half)) == 0 and len(read.before(-1)) == 1
    # exact far from 1970 too: a microsecond before a second is that second minus one
    assert to_epoch_seconds("9999-12-31T23:59:59.999999") == 253_402_300_799
    assert to_epoch_seconds(dt.datetime(1, 1, 1, 0, 0, 0, 1)) == -62_135_596_800


def test_time_errors_name_what_they_got() -> None:
    with pytest.raises(DataError, match="got the boolean True"):
        to_epoch_seconds(True)
    with pytest.raises(DataError, match=r"expected a time \(datetime, date, ISO string or epoch seconds\), got list"):
        to_epoch_seconds([T])  # type: ignore[arg-type]


def test_construction_errors_say_exactly_what_is_wrong() -> None:
    users, items = Vocabulary([0, 1]), Vocabulary([0])
    cases = [
        ((np.array([0, 1]), np.array([0]), np.array([1, 2])),
         "user, item, timestamp and quantity arrays must have the same length"),
        ((np.array([0, 2]), np.array([0, 0]), np.array([1, 2])), "user indices out of the vocabulary's range"),
        ((np.array([0, 1]), np.array([0, 1]), np.array([1, 2])), "item indices out of the vocabulary's range"),
    ]
    for args, message in cases:
        with pytest.raises(DataError) as err:
            Interactions(users, items, *args)
        assert str(err.value) == message


def test_arrays_have_the_documented_dtypes() -> None:
    # int32 indices, int64 epoch seconds, float32 quantities, whatever the caller passed
    log = Interactions(Vocabulary([0, 1]), Vocabulary([0, 1]), [0, 1], [1, 0], np.array([T + 0.0, T + 60.0]))
    assert (log.user_index.dtype, log.item_index.dtype, log.timestamp.dtype) == (np.int32, np.int32, np.int64)
    assert log.quantity.dtype == np.float32 and log.quantity.tolist() == [1.0, 1.0]
    assert log.timestamp.tolist() == [T, T + 60]
    weighted = Interactions(Vocabulary([0]), Vocabulary([0]), [0, 0], [0, 0], [T, T], np.array([2.5, 0.5]))
    assert weighted.quantity.dtype == np.float32 and weighted.quantity.tolist() == [2.5, 0.5]


def test_events_of_equal_times_keep_their_input_order() -> None:
    # 300 events in three shuffled time values: a stable sort keeps each time's events in input order
    rng = np.random.default_rng(3)
    times = rng.integers(0, 3, size=300)
    log = Interactions.from_indices(np.arange(300), np.zeros(300, dtype=int), times + T)
    for t in range(3):
        users = log.user_index[log.timestamp == T + t]
        assert users.tolist() == np.flatnonzero(times == t).tolist()


def test_two_events_out_of_order_are_sorted() -> None:
    log = Interactions.from_indices([0, 1], [1, 0], np.array([T + 60, T]))
    assert log.timestamp.tolist() == [T, T + 60] and log.user_index.tolist() == [1, 0]


def test_from_indices_reads_numpy_datetimes_of_any_unit() -> None:
    """An array of datetime64 (a pandas column's ``.values``) was cast to its raw integers: days gave
    events in January 1970, nanoseconds times past the year 9999 and an OSError from repr()."""
    for unit in ("D", "s", "ms", "ns"):
        times = np.array(["2011-11-01", "2011-11-01T08:26"], dtype=f"datetime64[{unit}]")
        log = Interactions.from_indices([0, 1], [0, 0], times)
        want = [T - (8 * 3600 + 26 * 60), T] if unit != "D" else [T - (8 * 3600 + 26 * 60)] * 2
        assert log.timestamp.tolist() == want, unit
    assert repr(log) == "Interactions(2 events, 2 users, 1 items, 2011-11-01..2011-11-01)"


def test_from_indices_without_times_with_text_times_and_empty() -> None:
    log = Interactions.from_indices([0, 1], [1, 0])
    assert log.timestamp.tolist() == [0, 0] and (log.n_users, log.n_items) == (2, 2)
    assert (log.users.name, log.items.name) == ("user", "item")
    text = Interactions.from_indices([0, 0], [0, 0], ["2011-11-01", "2011-11-01T08:26:00"])
    assert text.timestamp.tolist() == [T - (8 * 3600 + 26 * 60), T]
    empty = Interactions.from_indices([], [])
    assert (len(empty), empty.n_users, empty.n_items) == (0, 0, 0)
    assert repr(empty) == "Interactions(0 events, 0 users, 0 items)"
    assert empty.start is None and empty.end is None


@pytest.fixture
def weighted_log() -> Interactions:
    # events in time order: (u0,i0,q2), (u1,i1,q3), (u0,i1,q5), (u2,i0,q7), one a day from MIDNIGHT
    return Interactions.from_indices([0, 1, 0, 2], [0, 1, 1, 0], np.array([MIDNIGHT + d * DAY for d in range(4)]),
                                     quantity=[2.0, 3.0, 5.0, 7.0], n_users=3, n_items=3)


def test_every_slice_keeps_the_quantities(weighted_log: Interactions) -> None:
    assert weighted_log.before(MIDNIGHT + 2 * DAY).quantity.tolist() == [2.0, 3.0]
    assert weighted_log.between(MIDNIGHT + DAY, MIDNIGHT + 3 * DAY).quantity.tolist() == [3.0, 5.0]
    assert weighted_log.for_users(np.array([0, 2])).quantity.tolist() == [2.0, 5.0, 7.0]
    assert weighted_log.where(weighted_log.item_index == 1).quantity.tolist() == [3.0, 5.0]
    assert weighted_log.before(MIDNIGHT + 3 * DAY).matrix("quantity").toarray().tolist() == [
        [2, 5, 0], [0, 3, 0], [0, 0, 0]]


def test_for_users_of_nobody_and_a_mask_of_zeros_and_ones(weighted_log: Interactions) -> None:
    assert len(weighted_log.for_users([])) == 0  # type: ignore[arg-type]
    picked = weighted_log.where(np.array([1, 0, 1, 0]))  # 0/1 integers are a mask, not positions
    assert picked.quantity.tolist() == [2.0, 5.0]


@pytest.mark.parametrize("first", ["binary", "count", "quantity", "days", "first_time", "last_time"])
def test_each_matrix_kind_asked_for_first(weighted_log: Interactions, first: str) -> None:
    want = {"binary": [[1, 1, 0], [0, 1, 0], [1, 0, 0]], "count": [[1, 1, 0], [0, 1, 0], [1, 0, 0]],
            "quantity": [[2, 5, 0], [0, 3, 0], [7, 0, 0]], "days": [[1, 1, 0], [0, 1, 0], [1, 0, 0]],
            "first_time": [[MIDNIGHT, MIDNIGHT + 2 * DAY, 0], [0, MIDNIGHT + DAY, 0], [MIDNIGHT + 3 * DAY, 0, 0]]}
    want["last_time"] = want["first_time"]
    assert weighted_log.matrix(first).toarray().tolist() == want[first]  # type: ignore[arg-type]
    assert weighted_log.matrix().toarray().tolist() == want["binary"]  # the default kind


def test_unknown_matrix_kind_names_every_kind(weighted_log: Interactions) -> None:
    with pytest.raises(DataError) as err:
        weighted_log.matrix("day")  # type: ignore[arg-type]
    assert str(err.value) == ("unknown matrix value 'day'; expected binary, count, quantity, days, first_time "
                              "or last_time")


def test_days_split_at_utc_midnight() -> None:
    # pair (0, 0): 00:00:00 and 23:59:59 of one day -> 1 day; pair (0, 1): 23:59:59 and the next 00:00:00 -> 2
    times = np.array([MIDNIGHT, MIDNIGHT + DAY - 1, MIDNIGHT + DAY - 1, MIDNIGHT + DAY])
    log = Interactions.from_indices([0, 0, 0, 0], [0, 0, 1, 1], times)
    assert log.matrix("days").toarray().tolist() == [[1, 2]]
    assert log.matrix("first_time").toarray().tolist() == [[MIDNIGHT, MIDNIGHT + DAY - 1]]
    assert log.matrix("last_time").toarray().tolist() == [[MIDNIGHT + DAY - 1, MIDNIGHT + DAY]]


def test_item_counts_of_repeat_buyers_and_unbought_items() -> None:
    # item 0: user 0 twice and user 1 once; item 1: user 0 once; item 2: nobody
    log = Interactions.from_indices([0, 0, 1, 0], [0, 0, 0, 1], np.arange(4), n_users=2, n_items=3)
    assert log.item_counts().tolist() == [2, 1, 0]
    assert log.item_counts(distinct_users=False).tolist() == [3, 1, 0]


_M64 = (1 << 64) - 1


def _splitmix64_finaliser(x: int) -> int:
    """SplitMix64's output function (Steele, Lea and Flood 2014), in plain Python integers."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _reference_fingerprint(rows: list[tuple[int, int, int, float]], n_users: int, n_items: int) -> str:
    """The documented recipe: each event's (user, item, time, quantity as float64 bits) folded with the
    finaliser, summed modulo 2**64 (a multiset hash), then blake2b-96 of 'events:sum:users:items'."""
    total = 0
    for u, i, t, q in rows:
        h = _splitmix64_finaliser(u)
        for column in (i, t, struct.unpack("<Q", struct.pack("<d", q + 0.0))[0]):
            h = _splitmix64_finaliser(h ^ column)
        total = (total + h) & _M64
    return hashlib.blake2b(f"{len(rows)}:{total}:{n_users}:{n_items}".encode(), digest_size=12).hexdigest()


def test_fingerprint_equals_the_documented_recipe() -> None:
    rows = [(0, 2, T, 1.0), (3, 0, T + 60, 2.5), (1, 1, T + DAY, 0.5), (3, 2, T + DAY, 4.0), (0, 2, T, 1.0)]
    u, i, t, q = (list(c) for c in zip(*rows, strict=True))
    log = Interactions.from_indices(u, i, np.array(t), quantity=q, n_users=5, n_items=4)
    assert len(log.fingerprint()) == 24
    assert log.fingerprint() == _reference_fingerprint(rows, 5, 4)
    assert log.fingerprint() is log.fingerprint()  # computed once


def test_fingerprint_of_minus_zero_is_that_of_zero() -> None:
    def fp(q: float) -> str:
        return Interactions.from_indices([0], [0], np.array([T]), quantity=[q]).fingerprint()

    assert fp(-0.0) == fp(0.0) != fp(1.0)


def test_to_pandas_without_pandas_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    log = Interactions.from_indices([0], [0], np.array([T]))
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"'pandas' is needed for to_pandas\(\) but is not installed"):
        log.to_pandas()


@pytest.mark.parametrize("missing", [float("nan"), np.float32("nan"), np.datetime64("NaT"), float("inf"), -np.inf])
def test_a_missing_or_infinite_time_is_a_data_error(missing: object) -> None:
    # nan was a raw ValueError from int(), NaT a time 292 billion years before 1970
    with pytest.raises(DataError, match=r"^expected a time, got "):
        to_epoch_seconds(missing)  # type: ignore[arg-type]


def test_pandas_nat_is_a_data_error() -> None:
    pd = pytest.importorskip("pandas")
    with pytest.raises(DataError, match=r"^expected a time, got a missing value \(NaT\)$"):
        to_epoch_seconds(pd.NaT)


def test_for_users_refuses_indices_outside_the_log() -> None:
    log = Interactions.from_indices([0, 1, 2], [0, 0, 1], [1, 2, 3])
    assert log.for_users(np.array([2])).user_index.tolist() == [2]
    assert len(log.for_users(np.array([], dtype=np.int64))) == 0
    with pytest.raises(UnknownIdError, match=r"^user indices must be from 0 to 2; got \[-1\]$"):
        log.for_users(np.array([0, -1]))  # was the last user, silently
    with pytest.raises(UnknownIdError, match=r"^user indices must be from 0 to 2; got \[3\]$"):
        log.for_users(np.array([3]))  # was a raw IndexError
