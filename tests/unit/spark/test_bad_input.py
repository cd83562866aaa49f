"""Bad and unusual input through the Spark engine: the same DiscoverlyError class (and an equally
helpful message) as the local reader, never a Spark exception (AnalysisException, Py4JJavaError);
and, on logs with duplicate rows and ties, the same answers as the local path (local[2])."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.data import read_interactions
from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.recommend.base import BaseRecommender
from discoverly.recommend.registry import create

pytestmark = [pytest.mark.spark,
              # py4j drops local result sockets without closing them (a ResourceWarning in __del__)
              pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")]

IDS = {"user": ["a", "a", "b", "b"], "item": ["x", "y", "x", "y"]}


def _times(spark: Any, path: Path, **columns: Any) -> list[int]:
    from discoverly.engine.spark.events import read_events

    rows = read_events(spark, str(path), **columns).collect()
    return sorted(r["t"] for r in rows)


@pytest.mark.parametrize("times", [
    [1_700_000_000_000_000 + k for k in range(4)],              # epoch microseconds
    [1_700_000_000_000_000_000 + 10**9 * k for k in range(4)],  # epoch nanoseconds
    ["12/1/2010 8:26", "13/1/2010 8:26", "12/2/2010 8:26", "1/3/2010 9:00"],  # day-first slash dates
    ["12/1/2010 8:26", "12/13/2010 8:26", "1/2/2010", "3/3/2010"],            # month-first slash dates
    ["1700000000", "1700000100", " 1700000200 ", "1700000300"],               # epoch seconds as text
], ids=["us", "ns", "day-first", "month-first", "epoch-text"])
def test_times_read_as_the_local_reader_reads_them(spark: Any, tmp_path: Path, times: list[Any]) -> None:
    """Epoch micro/nanoseconds were divided by 1000 only (events in the year 55,000); slash dates,
    which the local reader reads (Online Retail's CSV has them), were refused."""
    path = tmp_path / "log.parquet"
    pl.DataFrame({**IDS, "timestamp": times}).write_parquet(path)
    assert _times(spark, path) == sorted(read_interactions(path).timestamp.tolist())


def test_epoch_numbers_are_whole_seconds_rounded_down_exactly(spark: Any, tmp_path: Path) -> None:
    """Integer nanoseconds went through a double (1_300_000_000_999_999_999 ns was 1_300_000_001 s) and
    numbers before 1970 were cut toward zero (-1.5 s was -1, while 1969-12-31 23:59:58.5 is -2), and the
    text '-1500' was the year -1500 (Spark reads four digits as a year): each reading of the same
    instants gives the local reader's whole seconds, rounded down."""
    import datetime as dt

    expected = [-2, -1, 0, 1_300_000_000]  # worked by hand: floor(t), t in seconds
    path = tmp_path / "log.parquet"
    pl.DataFrame({**IDS,
                  "ns": [-1_500_000_000, -1_000, 500_000_000, 1_300_000_000_999_999_999],
                  "ms_text": ["-1500", "-1", "500", "1300000000999"],
                  "s": [-1.5, -0.001, 0.5, 1_300_000_000.5],
                  "at": [dt.datetime(1969, 12, 31, 23, 59, 58, 500_000), dt.datetime(1969, 12, 31, 23, 59, 59, 999_999),
                         dt.datetime(1970, 1, 1, 0, 0, 0, 500_000), dt.datetime(2011, 3, 13, 7, 6, 40, 999_999)],
                  }).write_parquet(path)
    for column in ("ns", "ms_text", "s", "at"):
        assert _times(spark, path, time=column) == expected, column
        assert sorted(read_interactions(path, time=column).timestamp.tolist()) == expected, column


def test_nanosecond_timestamps_as_pandas_writes_them(spark: Any, tmp_path: Path) -> None:
    """pandas' df.to_parquet keeps nanoseconds, a Parquet type Spark refused (PARQUET_TYPE_ILLEGAL,
    an AnalysisException); the local reader reads it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from discoverly.engine.spark.events import read_events

    path = tmp_path / "log.parquet"
    nanos = [1_704_103_200_123_456_789, 1_704_153_600 * 10**9, 1_704_240_000 * 10**9, 1_704_326_400 * 10**9]
    pq.write_table(pa.table({**IDS, "timestamp": pa.array(nanos, pa.timestamp("ns"))}), path, version="2.6")
    assert _times(spark, path) == read_interactions(path).timestamp.tolist()
    key = "spark.sql.legacy.parquet.nanosAsLong"
    spark.conf.set(key, "false")  # a session not started by spark_session
    try:
        with pytest.raises(DataError, match=r"nanosecond timestamps .*coerce_timestamps='us'"):
            read_events(spark, str(path))
    finally:
        spark.conf.set(key, "true")


def test_times_without_a_zone_are_utc_whatever_the_session_zone(spark: Any, tmp_path: Path) -> None:
    """In a session with another time zone (a cluster's, a notebook's) naive datetimes and ISO
    strings were read in that zone: every event an hour or two off the local path's."""
    import datetime as dt

    path = tmp_path / "log.parquet"
    pl.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "at": [dt.datetime(2024, 1, 1, 12), dt.datetime(2024, 6, 1)],
                  "iso": ["2024-01-01 12:00:00", "2024-06-01"]}).write_parquet(path)
    key = "spark.sql.session.timeZone"
    zone = spark.conf.get(key)
    spark.conf.set(key, "Europe/Paris")
    try:
        for column in ("at", "iso"):
            assert _times(spark, path, time=column) == read_interactions(path, time=column).timestamp.tolist()
        assert spark.conf.get(key) == "Europe/Paris"  # the session's own setting is left as it was
    finally:
        spark.conf.set(key, zone)


@pytest.mark.parametrize(("frame", "match"), [
    ({**IDS, "timestamp": [1.7e9, float("nan"), 1.7e9, 1.7e9]}, "time column 'timestamp' has 1 missing"),
    ({**IDS, "timestamp": [1.7e9, None, 1.7e9, 1.7e9]}, "time column 'timestamp' has 1 missing"),
    ({**IDS, "timestamp": [1e25, 1.7e9, 1.7e9, 1.7e9]}, "not times between the years 1 and 9999"),
    ({**IDS, "timestamp": ["2024-01-01", "yesterday", "2024-01-02", "2024-01-03"]},
     r"cannot be read as times.*'yesterday'"),
    ({**IDS, "timestamp": ["13/1/2010", "1/13/2010", "1/1/2010", "2/2/2010"]}, "mixes day-first"),
    ({**IDS, "timestamp": ["12/1/2010", "1/12/2010", "1/1/2010", "2/2/2010"]}, "cannot be told apart"),
    ({**IDS, "timestamp": ["2024-01-01", "1700000000", "2024-01-02", "2024-01-03"]},
     r"1 value\(s\) of the time column 'timestamp' cannot be read as times \(.*'1700000000'"),
    ({**IDS, "timestamp": ["1700000000", "1700000001", "2024-01-02 10:00", "1700000003"]},
     r"1 value\(s\) of the time column 'timestamp' cannot be read as times \(.*'2024-01-02 10:00'"),
    ({**IDS, "timestamp": [1.7e9] * 4, "q": [1.0, float("inf"), 1.0, 1.0]}, "'q' has .*infinite"),
    ({**IDS, "timestamp": [1.7e9] * 4, "n": [1.0, 2.0, 3.0, 4.0]},
     r"the user column 'usr' is missing \(did you mean 'user'\?\)"),
], ids=["nan-time", "null-time", "year-3e17", "text", "mixed-slash", "ambiguous-slash", "dates-and-a-number",
        "numbers-and-a-date", "inf-quantity", "column-name"])
def test_bad_logs_raise_what_the_local_reader_raises(spark: Any, tmp_path: Path, frame: dict[str, Any],
                                                     match: str) -> None:
    """NaN and out-of-range times were Spark ArithmeticExceptions (CAST_OVERFLOW); an infinite
    quantity was accepted; a wrong column name got no suggestion; text mixing dates and epoch
    numbers was read (each row its own way) where the local reader refuses it."""
    from discoverly.engine.spark.events import read_events

    path = tmp_path / "log.parquet"
    pl.DataFrame(frame).write_parquet(path)
    columns = {"quantity": "q" if "q" in frame else None, "user": "usr" if "n" in frame else "user"}
    with pytest.raises(DataError, match=match):
        read_interactions(path, **columns)
    with pytest.raises(DataError, match=match):
        read_events(spark, str(path), **columns)


def test_column_names_with_dots_spaces_and_backticks(spark: Any, tmp_path: Path) -> None:
    """Spark read 'customer.id' as a field of a struct and refused 'ts`x' (AnalysisException)."""
    from discoverly.engine.spark.events import read_events

    path = tmp_path / "log.parquet"
    columns = {"user": "customer.id", "item": "Stock Code", "time": "ts`x"}
    pl.DataFrame({"customer.id": ["a", "a", "b"], "Stock Code": ["x", "y", "x"],
                  "ts`x": ["12/1/2010 8:26", "13/1/2010", "14/1/2010"]}).write_parquet(path)
    rows = sorted((r["user"], r["item"], r["t"]) for r in read_events(spark, str(path), **columns).collect())
    log = read_interactions(path, **columns)
    assert rows == sorted(zip(log.users.ids[log.user_index].tolist(), log.items.ids[log.item_index].tolist(),
                              log.timestamp.tolist(), strict=True))


def test_a_nan_id_is_a_missing_id(spark: Any, tmp_path: Path) -> None:
    """It was cast to a number (a Spark CAST_OVERFLOW error)."""
    from discoverly.engine.spark.events import read_events

    path = tmp_path / "log.parquet"
    pl.DataFrame({"user": [1.0, float("nan"), 2.0, 2.0], "item": IDS["item"], "timestamp": [1.7e9] * 4}
                 ).write_parquet(path)
    with pytest.raises(DataError, match="user column 'user' has 1 missing"):
        read_events(spark, str(path))


@pytest.mark.parametrize(("users", "scale", "match"), [
    (["17850", "13047", "17850", "1"], 0, None),
    (["17850.5", "13047", "17850", "1"], 1, "ids must be strings or integers"),
    (["99999999999999999999", "13047", "17850", "1"], 0, "beyond the 64-bit integer range"),
    ([1e20, 13047.0, 17850.0, 1.0], None, "beyond the 64-bit integer range"),
    ([float("inf"), 13047.0, 17850.0, 1.0], None, "ids must be strings or integers"),
], ids=["whole", "fraction", "wide", "wide-float", "inf-float"])
def test_number_ids_as_the_local_reader_takes_them(spark: Any, tmp_path: Path, users: list[Any], scale: int | None,
                                                   match: str | None) -> None:
    """The local reader refused decimal(38,0) ids that Spark took; Spark took decimal(38,1) 17850.5 as
    17850 (it compares it with round()'s 17851 as equal); an id past the 64-bit range was a
    CAST_OVERFLOW error from the JVM (locally, a polars InvalidOperationError)."""
    from decimal import Decimal

    from discoverly.engine.spark.events import read_events

    path = tmp_path / "log.parquet"
    ids = pl.Series(users) if scale is None else pl.Series([Decimal(u) for u in users], dtype=pl.Decimal(38, scale))
    pl.DataFrame({"user": ids, "item": IDS["item"], "timestamp": [1.7e9] * 4}).write_parquet(path)
    if match is None:
        log = read_interactions(path)
        assert sorted(r["user"] for r in read_events(spark, str(path)).collect()) == sorted(
            log.users.ids[log.user_index].tolist())
        return
    with pytest.raises(DataError, match=match):
        read_interactions(path)
    with pytest.raises(DataError, match=match):
        read_events(spark, str(path))


def test_what_is_not_a_parquet_log_is_named(spark: Any, tmp_path: Path) -> None:
    """An empty folder, a folder of CSV files, a CSV named .parquet, a pattern matching nothing, a
    corrupt part among good ones: a DataError each (they were AnalysisException / Py4JJavaError)."""
    from discoverly.engine.spark.events import read_events

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="folder without data files"):
        read_events(spark, str(tmp_path / "empty"))
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_text("user,item,timestamp\na,x,2024-01-01\n")
    with pytest.raises(DataError, match=r"as Parquet \(.*not a Parquet file.*convert other formats"):
        read_events(spark, str(tmp_path / "csv"))
    (tmp_path / "fake.parquet").write_text("user,item,timestamp\na,x,2024-01-01\n")
    with pytest.raises(DataError, match=r"'.*fake\.parquet' as Parquet \(.*not a Parquet file"):
        read_events(spark, str(tmp_path / "fake.parquet"))
    with pytest.raises(DataError, match="no file matches"):
        read_events(spark, str(tmp_path / "nothing-*.parquet"))
    parts = tmp_path / "parts"
    parts.mkdir()
    pl.DataFrame({**IDS, "timestamp": [1.7e9] * 4}).write_parquet(parts / "part-0.parquet")
    (parts / "part-1.parquet").write_bytes((parts / "part-0.parquet").read_bytes()[:-20])  # truncated
    with pytest.raises(DataError, match="as Parquet"):
        read_events(spark, str(parts))


def test_fit_spark_refuses_before_the_job(spark: Any, tmp_path: Path) -> None:
    """An --out that is a file was found only after the whole job; a wrongly typed setting was
    reported as a setting the model does not accept; an --until before the log named no date."""
    from discoverly.engine.spark import fit_spark

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ArtifactError, match="it is a file"):  # checked before the (missing) log is read
        fit_spark("cosine", str(tmp_path / "missing.parquet"), out=tmp_path / "notes.txt", spark=spark)
    with pytest.raises(ConfigError, match=r"wrong type \(neighbours='ten'"):
        fit_spark("cosine", str(tmp_path / "missing.parquet"), params={"neighbours": "ten"}, spark=spark)
    path = tmp_path / "log.parquet"
    pl.DataFrame({**IDS, "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]}).write_parquet(path)
    with pytest.raises(DataError, match=r"before --until 20240101 \(1970-08-23 .*the log starts 2024-01-01"):
        fit_spark("cosine", str(path), until=20240101, spark=spark)


def test_until_takes_what_interactions_before_takes(spark: Any, tmp_path: Path) -> None:
    """fit_spark(until="2024-01-03") raised a bare ValueError (int() of the string)."""
    import datetime as dt

    from discoverly.engine.spark import fit_spark

    path = tmp_path / "log.parquet"
    pl.DataFrame({**IDS, "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]}).write_parquet(path)
    for until in ("2024-01-03", dt.date(2024, 1, 3), 1_704_240_000):
        result = fit_spark("popularity", str(path), spark=spark, until=until)
        assert result.counts["events"] == 2
    with pytest.raises(DataError, match="cannot read the time 'soon'"):
        fit_spark("popularity", str(path), spark=spark, until="soon")


def test_params_with_a_model_object_are_refused() -> None:
    """They were silently ignored: the model was fitted with its own settings."""
    from discoverly.engine.spark import fit_spark

    with pytest.raises(ConfigError, match=r"params \['neighbours'\] go with a model name"):
        fit_spark(create("cosine"), "log.parquet", params={"neighbours": 5})


def test_a_missing_or_csv_log_is_named_before_spark_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check came after the JVM's start (10-30 s and its log lines for a typo in the path)."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    import discoverly.engine.spark.session as session
    from discoverly.engine.spark import fit_spark

    def no_jvm(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a Spark session was started")

    monkeypatch.setattr(SparkSession, "getActiveSession", staticmethod(lambda: None))
    monkeypatch.setattr(session, "spark_session", no_jvm)
    with pytest.raises(DataError, match="does not exist"):
        fit_spark("cosine", tmp_path / "typo.parquet")
    with pytest.raises(ConfigError, match="salt_buckets"):  # was found after reading the log and its purchases
        fit_spark("cosine", tmp_path / "typo.parquet", salt_buckets=0)
    with pytest.raises(ConfigError, match="salt_buckets"):  # True was taken as 1
        fit_spark("cosine", tmp_path / "typo.parquet", salt_buckets=True)
    with pytest.raises(DataError, match="negative must be"):
        fit_spark("cosine", tmp_path / "typo.parquet", negative="skip")
    (tmp_path / "log.csv").write_text("user,item,timestamp\na,x,2024-01-01\n")
    with pytest.raises(DataError, match="reads Parquet"):
        fit_spark("cosine", str(tmp_path / "log.csv"))


def test_a_failed_job_releases_what_it_cached(spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that stops half-way (an error, Ctrl-C in a notebook) left its purchases and co-buyer
    counts cached in the caller's session, which lives on."""
    import discoverly.engine.spark.relatedness as relatedness
    from discoverly.engine.spark import fit_spark

    path = tmp_path / "log.parquet"
    pl.DataFrame({**IDS, "timestamp": [1.7e9] * 4}).write_parquet(path)

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    frame_type = type(spark.range(1))
    persisted: list[Any] = []
    persist = frame_type.persist

    def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
        persisted.append(self)
        return persist(self, *args, **kwargs)

    monkeypatch.setattr(frame_type, "persist", recorded)
    monkeypatch.setattr(relatedness, "collect_relatedness", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit_spark("cosine", str(path), spark=spark, params={"min_count": 1})
    assert len(persisted) >= 4  # the purchases; the capped purchases, buyers and co-buyer counts
    assert not any(frame.is_cached for frame in persisted)


@pytest.fixture(scope="module")
def ties(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Path]:
    """Six customers, five items, every row written three times (exact duplicates) and many ties:
    a, b and c have three buyers each, and a's co-buyers b and c are tied, as are d's."""
    rows = [("u0", "a"), ("u0", "b"), ("u1", "a"), ("u1", "c"), ("u2", "b"), ("u2", "d"), ("u3", "c"),
            ("u3", "d"), ("u4", "a"), ("u4", "b"), ("u4", "c"), ("u5", "d"), ("u5", "e")]
    frame = pl.DataFrame({"customer": [u for u, _ in rows] * 3, "sku": [i for _, i in rows] * 3,
                          "ts": [1_700_000_000 + 3_600 * k for k in range(len(rows))] * 3})
    path = tmp_path_factory.mktemp("ties") / "log.parquet"
    frame.write_parquet(path)
    return frame, path


@pytest.mark.parametrize("model", ["cosine", "naive", "corrected", "popularity", "bestsellers"])
def test_duplicates_and_ties_give_the_local_answers(spark: Any, ties: tuple[pl.DataFrame, Path], tmp_path: Path,
                                                    model: str) -> None:
    from discoverly.engine.spark import fit_spark

    frame, path = ties
    params = {"min_count": 1} if model in ("cosine", "naive", "corrected") else {}
    fit_spark(model, str(path), out=tmp_path / "m", spark=spark, user="customer", item="sku", time_column="ts",
              params=params)
    got = BaseRecommender.load(tmp_path / "m")
    want = create(model, **params).fit(read_interactions(frame, user="customer", item="sku", time="ts"))
    users, items = ["u0", "u1", "u2", "u3", "u4", "u5", "stranger"], ["a", "b", "c", "d", "e"]
    assert got.recommend(users, 4).to_polars().equals(want.recommend(users, 4).to_polars())
    assert np.array_equal(got._fallback, want._fallback)
    if model in ("cosine", "naive", "corrected"):
        related = got.related(items, 4).to_polars()
        assert related.equals(want.related(items, 4).to_polars())
        assert related.filter(pl.col("item") == "a")["related_item"].to_list()[:2] == ["b", "c"]  # tie: lower index


def test_dates_written_as_digits_are_warned_about_as_the_local_reader_does(
        spark: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """20110101 (a date written as YYYYMMDD) is read as epoch seconds, 1970-08-21, by both engines; neither said
    so. Both now log the same warning, and only when every value reads as such a date."""
    import logging

    path = tmp_path / "log.parquet"
    pl.DataFrame({**IDS, "ymd": [20110101, 20110615, 20111231, 20110102],
                  "ymd_text": ["20110101", "20110615", "20111231", "20110102"],
                  "stamp": [20110101120000, 20110615000000, 20111231235959, 20110102083000],
                  "month_13": [20110101, 20111301, 20111231, 20110102],
                  "epoch": [1_300_000_000, 1_300_000_100, 1_300_000_200, 1_300_000_300]}).write_parquet(path)
    for column, fmt in (("ymd", "YYYYMMDD"), ("ymd_text", "YYYYMMDD"), ("stamp", "YYYYMMDDhhmmss"),
                        ("month_13", None), ("epoch", None)):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            spark_times = _times(spark, path, time=column)
            local_times = sorted(read_interactions(path, time=column).timestamp.tolist())
        assert spark_times == local_times, column
        warned = [(r.name, r.getMessage()) for r in caplog.records if "written as" in r.getMessage()]
        if fmt is None:
            assert warned == [], column
            continue
        assert [name for name, _ in warned] == ["discoverly.engine.spark.events", "discoverly.data.frames"], column
        assert warned[0][1] == warned[1][1], column
        assert f"looks like a date written as {fmt} digits" in warned[0][1], column
