"""What the Spark engine says about a log path before and after Spark reads it, without a JVM: the
checks of ``check_path`` (a missing file, a pattern matching nothing, a file that is not Parquet, a
folder without data files) and the one line ``_unreadable`` makes of a JVM stack, pinned in full
(mutation testing: only their gist was tested, through a Spark session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from discoverly.engine.spark.events import _unreadable, check_path
from discoverly.errors import DataError

LOG = "the interaction log"
CONVERT = "e.g. polars: pl.read_csv(path).write_parquet('log.parquet')"


def _message(source: str | Path) -> str:
    with pytest.raises(DataError) as err:
        check_path(source)
    return str(err.value)


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    missing = str(tmp_path / "Xmas typo.parquet")  # no wildcard character: a path, not a pattern
    assert _message(missing) == (f"{LOG} {missing!r} does not exist; give a Parquet file or a folder of "
                                 "Parquet files")
    pattern = str(tmp_path / "part-*.parquet")
    assert _message(pattern) == (f"no file matches {LOG} pattern {pattern!r}; give a Parquet file, a folder "
                                 "of Parquet files or a pattern that matches some")
    for wildcard in ("part-?.parquet", "part-[01].parquet"):
        assert _message(tmp_path / wildcard).startswith("no file matches")


def test_what_passes_the_check(tmp_path: Path) -> None:
    for url in ("hdfs:///logs/2024/", "s3a://bucket/log.parquet", "file:///nowhere/log.parquet"):
        assert check_path(url) is None  # a URL is Spark's to read
    (tmp_path / "log.parquet").write_bytes(b"PAR1")
    (tmp_path / "LOG.PQ").write_bytes(b"PAR1")
    assert check_path(tmp_path / "log.parquet") is None and check_path(str(tmp_path / "LOG.PQ")) is None
    assert check_path(str(tmp_path / "*.parquet")) is None  # a pattern that matches
    literal = tmp_path / "log[1].parquet"  # a name with a wildcard character that exists as written
    literal.write_bytes(b"PAR1")
    assert check_path(literal) is None
    table = tmp_path / "table"  # as Spark writes one: markers, checksums and part files in partitions
    (table / "day=2024-01-01").mkdir(parents=True)
    (table / "_SUCCESS").write_text("")
    (table / "day=2024-01-01" / ".part-0.parquet.crc").write_text("")
    (table / "day=2024-01-01" / "part-0.parquet").write_bytes(b"PAR1")
    assert check_path(table) is None


def test_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    for name in ("log.csv", "log.parquet.gz", "log"):
        path = tmp_path / name
        path.write_text("user,item,timestamp\na,x,2024-01-01\n")
        assert _message(path) == (f"the Spark engine reads Parquet; {str(path)!r} is not a .parquet file. Convert "
                                  f"it first, {CONVERT}")


def test_a_folder_without_data_files(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    (folder / "_SUCCESS").write_text("")  # Spark's markers and checksums are not data
    (folder / ".part-0.parquet.crc").write_text("")
    (folder / "sub" / "_metadata").write_text("")
    expected = f"{LOG} {str(folder)!r} is a folder without data files; give a Parquet file or a folder of Parquet files"
    assert _message(folder) == expected
    (folder / "sub" / "part-0.parquet").write_bytes(b"PAR1")  # one data file, however deep
    assert check_path(folder) is None


# -- Spark's failure to read, in one line -----------------------------------------------------------------

def _unreadable_message(text: str) -> str:
    return str(_unreadable("/data/log.parquet", RuntimeError(text)))


def _said(reason: str) -> str:
    return (f"cannot read {LOG} '/data/log.parquet' as Parquet ({reason}). The Spark engine reads a Parquet file "
            f"or a folder of Parquet files; convert other formats first, {CONVERT}")


def test_the_jvm_s_last_cause_is_the_reason() -> None:
    stack = ("An error occurred while calling o42.parquet.\n"
             ": org.apache.spark.SparkException: Job aborted due to stage failure: ...\n"
             "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2898)\n"
             "Caused by: org.apache.parquet.io.ParquetDecodingException: Can not read value at 0 in block -1\n"
             "\tat org.apache.parquet.hadoop.InternalParquetRecordReader.nextKeyValue(InternalParquetRecordReader)\n"
             "Caused by: java.lang.RuntimeException: file:/data/log.parquet is not a Parquet file: expected magic\n"
             "\t... 17 more\n")
    # the class name is dropped, the message kept whole (": " inside it too)
    assert _unreadable_message(stack) == _said("file:/data/log.parquet is not a Parquet file: expected magic")
    assert isinstance(_unreadable("x", RuntimeError(stack)), DataError)


def test_without_a_cause_the_first_line_or_the_exception_s_name() -> None:
    assert _unreadable_message("\n\n  [PATH_NOT_FOUND] Path does not exist: file:/data.  \nmore\n") == _said(
        "[PATH_NOT_FOUND] Path does not exist: file:/data.")
    assert _unreadable_message("") == _said("RuntimeError")
    assert _unreadable_message("x" * 400) == _said("x" * 300)  # at most 300 characters of it


def test_nanosecond_timestamps_say_how_to_read_them() -> None:
    stack = ("An error occurred while calling o7.parquet.\n"
             "Caused by: org.apache.spark.sql.AnalysisException: [PARQUET_TYPE_ILLEGAL] Illegal Parquet type: "
             "INT64 (TIMESTAMP(NANOS,false)).\n")
    assert _unreadable_message(stack) == (
        f"{LOG} '/data/log.parquet' has nanosecond timestamps (pandas writes them), which Spark reads only with "
        "spark.sql.legacy.parquet.nanosAsLong=true (spark_session sets it): set it on your session, or write "
        "microseconds, e.g. df.to_parquet(path, coerce_timestamps='us')")
    # the type named only in an earlier line is not the reason
    earlier = "TIMESTAMP(NANOS,false)\nCaused by: java.io.IOException: something else\n"
    assert _unreadable_message(earlier) == _said("something else")
