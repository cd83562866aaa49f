"""Reading frames and time columns, pinned to hand-worked values: each CSV id column judged on its
own, the float-id limit of 2**53, the epoch-unit and year-range boundaries, one-row slash dates, and
every time and column error in full (mutation testing: these survived)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from discoverly.data import read_interactions
from discoverly.data.frames import parse_time_column, to_polars
from discoverly.errors import DataError

LOG = "the interaction log"


def _error(frame: pl.DataFrame, **columns: str) -> str:
    with pytest.raises(DataError) as err:
        read_interactions(frame, **columns)
    return str(err.value)


def _times(values: list[object]) -> list[int]:
    return parse_time_column(pl.Series("t", values), what="w").to_list()


# -- ids read from a CSV file ------------------------------------------------------------------------

def test_a_csv_with_a_misnamed_column_says_which(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("customer,item,timestamp\nc1,10,2024-01-01\n")
    with pytest.raises(DataError, match=r"the user column 'user' is missing \(did you mean 'customer'\?\)"):
        read_interactions(path)


def test_each_csv_id_column_is_judged_on_its_own(tmp_path: Path) -> None:
    # users with leading zeros (or text) stay text; the item column of plain numbers still becomes integers
    path = tmp_path / "log.csv"
    for users in (("001", "002"), ("u1", "u2")):
        path.write_text(f"user,item,timestamp\n{users[0]},20,2024-01-01\n{users[1]},10,2024-01-02\n")
        log = read_interactions(path)
        assert list(log.users) == list(users) and list(log.items) == [10, 20]


def test_float_ids_at_two_to_the_53_stay_text(tmp_path: Path) -> None:
    # 2**53 + 1 has no float64 of its own: read as floats, 9007199254740992.0 and ...993.0 would be one id
    path = tmp_path / "log.csv"
    path.write_text("user,item,timestamp\n9007199254740992.0,a,2024-01-01\n9007199254740993.0,a,2024-01-02\n")
    assert list(read_interactions(path).users) == ["9007199254740992.0", "9007199254740993.0"]
    path.write_text("user,item,timestamp\n9007199254740991.0,a,2024-01-01\n5.0,a,2024-01-02\n")
    assert list(read_interactions(path).users) == [5, 9007199254740991]  # 2**53 - 1: still exact


def test_a_one_column_csv_keeps_its_commas_default(tmp_path: Path) -> None:
    # no separator in the header: the default (a comma) is kept, so a value holding ';' stays one value
    path = tmp_path / "items.csv"
    path.write_text("item\nA;B\nC;D\n")
    assert to_polars(path).to_dict(as_series=False) == {"item": ["A;B", "C;D"]}


def test_missing_columns_message_in_full() -> None:
    frame = pl.DataFrame({"users": [1], "user1": [1], "usr": [1], "item": [1], "when": [1], "quantity": [1]})
    assert _error(frame, quantity="qty") == (
        f"{LOG}: the user column 'user' is missing (did you mean 'users' or 'user1'?); "
        "the time column 'timestamp' is missing; "
        "the quantity column 'qty' is missing (did you mean 'quantity'?). "  # a ratio of 6/11: cutoff 0.5 finds it
        "Columns present: users, user1, usr, item, when, quantity. "
        "Name the columns with user=, item=, time= (CLI: --user, --item, --time).")


# -- slash dates ---------------------------------------------------------------------------------------

def _slash(values: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"user": list(range(len(values))), "item": [1] * len(values), "timestamp": values})


def test_one_slash_date_is_read_by_its_numbers() -> None:
    log = read_interactions(_slash(["12/13/2010 08:26"]))  # 13 can only be a day: month first
    assert f"{log.start:%Y-%m-%d %H:%M}" == "2010-12-13 08:26"


def test_slash_date_errors_in_full() -> None:
    assert _error(_slash(["12/1/2010 8:26", "1/2/2011 10:00"])) == (
        f"{LOG}: the time column 'timestamp' holds dates such as '12/1/2010 8:26' where no day is above 12, so "
        "DD/MM/YYYY and MM/DD/YYYY cannot be told apart; convert it to ISO dates (YYYY-MM-DD) first")
    assert _error(_slash(["1/13/2011", "13/1/2011"])) == (
        f"{LOG}: the time column 'timestamp' mixes day-first (DD/MM/YYYY) and month-first (MM/DD/YYYY) dates, "
        "e.g. '13/1/2011' and '1/13/2011'; convert it to ISO dates (YYYY-MM-DD) first")
    # a value with two numbers above 12 is no date in either order: it was called a mix of the two
    assert _error(_slash(["1/2/2011", "13/13/2011", "14/1/2011"])) == (
        f"{LOG}: the time column 'timestamp' holds '13/13/2011', which is a date neither as DD/MM/YYYY nor as "
        "MM/DD/YYYY; fix or remove it")


# -- epoch numbers ---------------------------------------------------------------------------------------

def test_epoch_unit_boundaries() -> None:
    # a largest value of exactly 1e11 is seconds (the year 5138); exactly 1e14 milliseconds; 1e17 microseconds
    assert _times([100_000_000_000, 0]) == [100_000_000_000, 0]
    assert _times([100_000_000_000_000, 0]) == [100_000_000_000, 0]
    assert _times([100_000_000_000_000_000, 0]) == [100_000_000_000, 0]


def test_integer_epoch_sub_seconds_are_cut_exactly() -> None:
    """Integer milli/micro/nanoseconds were divided as float64: the last nanosecond, microsecond or
    millisecond of a second rounded up into the next one (1_300_000_000_999_999_999 ns gave 1_300_000_001)."""
    second = 1_300_000_000  # 2011-03-13 07:06:40 UTC
    for per_second in (10**9, 10**6, 10**3):  # the largest magnitude makes the unit: 1e18, 1e15, 1e12 is above it
        last = (second + 1) * per_second - 1
        assert _times([last, 1000 * per_second * 10**6]) == [second, 10**9]
    assert _times(["1300000000999999999", "1000000000000000000"]) == [second, 10**9]  # the same numbers as text
    assert parse_time_column(pl.Series("t", [2**64 - 1, 10**18], dtype=pl.UInt64), what="w").to_list() == [
        18_446_744_073, 10**9]  # an unsigned 64-bit column


def test_epoch_times_before_1970_round_down_as_datetimes_do() -> None:
    """-1.5 s is 1969-12-31 23:59:58.5, which a datetime or an ISO string reads as -2: epoch numbers
    were cut toward zero (-1)."""
    import datetime as dt

    datetimes = [dt.datetime(1969, 12, 31, 23, 59, 58, 500_000), dt.datetime(1969, 12, 31, 23, 59, 59, 999_000),
                 dt.datetime(1970, 1, 1, 0, 0, 0, 500_000)]
    expected = [-2, -1, 0]  # whole seconds rounded down
    assert _times(datetimes) == expected
    assert _times(["1969-12-31 23:59:58.5", "1969-12-31T23:59:59.999", "1970-01-01 00:00:00.5"]) == expected
    assert _times([-1.5, -0.001, 0.5]) == expected  # seconds
    assert _times(["-1.5", "-0.001", "0.5"]) == expected  # seconds as text
    assert _times([-1_500, -1, 500, 10**12]) == [*expected, 10**9]  # integer milliseconds
    assert _times([-1_500_000_000, -1_000_000, 500_000_000, 10**18]) == [*expected, 10**9]  # integer nanoseconds
    assert _times([-1_500.0, -1.0, 500.0, 1e12]) == [*expected, 10**9]  # float milliseconds


def test_the_first_and_last_second_of_the_year_range_are_times() -> None:
    first, last = -62_135_596_800, 253_402_300_799  # 0001-01-01 00:00:00 and 9999-12-31 23:59:59 UTC
    assert _times([first, 0]) == [first, 0]
    assert _times([last * 10**9, 10**18]) == [last, 10**9]  # as nanoseconds
    with pytest.raises(DataError, match="not times between the years 1 and 9999"):
        _times([(last + 1) * 10**9, 10**18])
    with pytest.raises(DataError, match="not times between the years 1 and 9999"):
        _times([first - 1, 0])


def test_out_of_range_numbers_message_in_full() -> None:
    # the largest magnitude (7.5e13) makes the column milliseconds: -7e10 s and beyond are before the year 1
    values = [-7.0e13, -7.1e13, 1.0, -7.2e13, -7.3e13, -7.4e13, -7.5e13]
    assert _error(pl.DataFrame({"user": [1] * 7, "item": [1] * 7, "timestamp": values})) == (
        f"{LOG}: 6 value(s) of the time column 'timestamp' are not times between the years 1 and 9999 "
        "(rows 0, 1, 3, 4, 5: -70000000000000.0, -71000000000000.0, -72000000000000.0). "
        "Numbers are read as seconds, milliseconds, microseconds or nanoseconds since 1970")


def test_epoch_text_out_of_range_names_the_log() -> None:
    frame = pl.DataFrame({"user": [1, 2], "item": [1, 1], "timestamp": ["-70000000000000", "1"]})
    assert _error(frame).startswith(f"{LOG}: 1 value(s) of the time column 'timestamp' are not times between")


# -- unreadable, missing and mistyped times --------------------------------------------------------------

def test_unreadable_times_message_in_full() -> None:
    six = ["2011-11-01", "a", "b", "c", "d", "e", "f"]
    frame = pl.DataFrame({"user": [1] * 7, "item": [1] * 7, "timestamp": six})
    assert _error(frame) == (
        f"{LOG}: 6 value(s) of the time column 'timestamp' cannot be read as times (rows 1, 2, 3, 4, 5…: "
        "'a', 'b', 'c'). Expected ISO strings such as '2011-11-01 08:26:00' or epoch seconds.")
    five = frame.head(6)  # exactly five bad values: all their rows shown, no ellipsis
    assert "(rows 1, 2, 3, 4, 5: 'a', 'b', 'c')" in _error(five)


def test_missing_and_mistyped_times_messages_in_full() -> None:
    times = [None, None, "2011-11-01", None, None, None, None]
    frame = pl.DataFrame({"user": [1] * 7, "item": [1] * 7, "timestamp": times})
    assert _error(frame) == (f"{LOG}: the time column 'timestamp' has 6 missing value(s) (rows 0, 1, 3, 4, 5); "
                             "drop those rows or fill them in")
    flags = pl.DataFrame({"user": [1], "item": [1], "timestamp": [True]})
    assert _error(flags) == (f"{LOG}: the time column 'timestamp' has type Boolean; expected datetimes, ISO strings "
                             "or epoch seconds")


def test_dates_are_midnight_utc_before_and_after_1970() -> None:
    import datetime as dt

    assert _times([dt.date(1969, 12, 31), dt.date(1970, 1, 2), dt.date(1, 1, 1)]) == [-86_400, 86_400, -62_135_596_800]


def test_non_finite_and_all_missing_numbers() -> None:
    """NaN is a missing time and infinity a time out of range, in a float column read as seconds or
    thousandths alike (not a polars cast error); a column of nothing but nulls is missing times."""
    def message(values: list[float | None]) -> str:
        with pytest.raises(DataError) as err:
            _times(values)
        return str(err.value)

    assert message([1.0, float("nan"), 2e12]) == ("w: the time column 't' has 1 missing value(s) (rows 1); drop those "
                                                  "rows or fill them in")
    assert message([1.0, float("inf"), -float("inf")]) == (
        "w: 2 value(s) of the time column 't' are not times between the years 1 and 9999 (rows 1, 2: inf, -inf). "
        "Numbers are read as seconds, milliseconds, microseconds or nanoseconds since 1970")
    with pytest.raises(DataError) as err:
        parse_time_column(pl.Series("t", [None, None], dtype=pl.Float64), what="w")
    assert str(err.value) == ("w: the time column 't' has 2 missing value(s) (rows 0, 1); drop those rows or fill "
                              "them in")


def test_a_text_column_of_times_and_numbers_names_the_values_of_the_lesser_reading() -> None:
    """The values named are those that fit neither reading, against the reading that fits more of the
    column; on a tie, the datetime reading."""
    expected = ("w: 1 value(s) of the time column 't' cannot be read as times (rows {}: {!r}). Expected ISO strings "
                "such as '2011-11-01 08:26:00' or epoch seconds.")
    with pytest.raises(DataError) as err:
        _times(["1700000000", "1700000001", "2011-01-01"])  # two numbers, one date: the date is named
    assert str(err.value) == expected.format(2, "2011-01-01")
    with pytest.raises(DataError) as err:
        _times(["2011-01-01", "1700000000"])  # one of each: the number is named
    assert str(err.value) == expected.format(1, "1700000000")


@pytest.mark.parametrize(("values", "fmt", "reading", "pattern"), [
    # 20110101 s = 232 days + 18:08:21 after 1970-01-01
    ([20110101, 20111231], "YYYYMMDD", "20110101 is 1970-08-21 18:08:21", "%Y%m%d"),
    # above 1e11, so milliseconds: 20110101120 s = 232,756 days + 19:12:00 after 1970-01-01
    ([20110101120000, 20110102000000], "YYYYMMDDhhmmss", "20110101120000 is 2607-04-07 19:12:00", "%Y%m%d%H%M%S"),
])
def test_dates_written_as_digits_are_read_as_epoch_numbers_with_a_warning(
        values: list[int], fmt: str, reading: str, pattern: str, caplog: pytest.LogCaptureFixture) -> None:
    """They are read as epoch numbers as before, but no longer silently: the log of a whole year written as
    YYYYMMDD spanned three hours of August 1970."""
    import logging

    with caplog.at_level(logging.WARNING, logger="discoverly.data.frames"):
        out = parse_time_column(pl.Series("day", values, dtype=pl.Int64), what="the log")
    unit = 1000 if values[0] > 10**11 else 1
    assert out.to_list() == [v // unit for v in values]
    assert caplog.messages == [
        f"the log: every value of the time column 'day' looks like a date written as {fmt} digits (e.g. {values[0]}), "
        f"but integers are read as epoch numbers: {reading} UTC. If they are dates, convert the column first, e.g. "
        f"pl.col('day').cast(pl.String).str.to_datetime('{pattern}')"]


def test_integers_that_are_not_all_digit_dates_are_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.WARNING, logger="discoverly.data.frames"):
        for values in ([20110101, 20111301],  # month 13
                       [20110100],  # day 0
                       [20110132],  # day 32
                       [20110101250000],  # hour 25
                       [20110101126000],  # minute 60
                       [18991231, 20110101],  # before 1900
                       [21010101],  # after 2100
                       [1_300_000_000, 1_300_000_100]):  # epoch seconds
            parse_time_column(pl.Series("t", values), what="the log")
        parse_time_column(pl.Series("t", [20110101.0, 20110102.0]), what="the log")  # floats: not integers
    assert caplog.messages == []
