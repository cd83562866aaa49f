"""Reading a purchase log into Spark: a Parquet file or folder (or a Spark DataFrame) with a column
mapping -> events ``(user, item, t, q)`` with ``t`` in epoch seconds, checked the way
:func:`discoverly.data.read_interactions` checks a local log (same rules, same messages)."""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# the local reader's slash dates (12/1/2010 8:26), epoch units and time range: one definition for both
from discoverly.data.frames import DIGIT_DATES, EPOCH_UNITS, MAX_EPOCH, MIN_EPOCH, SLASH_DATE, digit_dates_warning
from discoverly.errors import DataError

__all__ = ["check_path", "read_events"]

log = logging.getLogger(__name__)

_WHAT = "the interaction log"


def _unreadable(text: str, exc: Exception) -> DataError:
    """Spark's failure to read ``text`` as Parquet, said in one line (its own message is a JVM stack)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    causes = [line.split(": ", 2)[-1] for line in lines if line.startswith("Caused by:")]  # the JVM's root cause
    reason = causes[-1] if causes else lines[0] if lines else type(exc).__name__
    if "TIMESTAMP(NANOS" in reason:
        return DataError(f"{_WHAT} {text!r} has nanosecond timestamps (pandas writes them), which Spark reads only "
                         "with spark.sql.legacy.parquet.nanosAsLong=true (spark_session sets it): set it on your "
                         "session, or write microseconds, e.g. df.to_parquet(path, coerce_timestamps='us')")
    return DataError(f"cannot read {_WHAT} {text!r} as Parquet ({reason[:300]}). The Spark engine reads a Parquet "
                     "file or a folder of Parquet files; convert other formats first, e.g. polars: "
                     "pl.read_csv(path).write_parquet('log.parquet')")


def _col(name: str) -> Any:
    """The column ``name`` as it is written (a dot, a space or a backtick in it is part of the name)."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    return F.col("`" + name.replace("`", "``") + "`")


def check_path(source: str | os.PathLike[str]) -> None:
    """A local path that does not exist, is not Parquet or is an empty folder raises a
    :class:`~discoverly.errors.DataError` (no Spark needed, so before a JVM starts); URLs pass."""
    text = str(source)
    if "://" in text:
        return
    path = Path(text)
    pattern = any(ch in text for ch in "*?[")
    if not path.exists() and not pattern:
        raise DataError(f"{_WHAT} {text!r} does not exist; give a Parquet file or a folder of Parquet files")
    if pattern and not path.exists() and not glob.glob(text):
        raise DataError(f"no file matches {_WHAT} pattern {text!r}; give a Parquet file, a folder of Parquet "
                        "files or a pattern that matches some")
    if path.is_file() and path.suffix.lower() not in (".parquet", ".pq"):
        raise DataError(f"the Spark engine reads Parquet; {text!r} is not a .parquet file. Convert it first, "
                        "e.g. polars: pl.read_csv(path).write_parquet('log.parquet')")
    if path.is_dir() and not any(p.is_file() and not p.name.startswith(("_", ".")) for p in path.rglob("*")):
        raise DataError(f"{_WHAT} {text!r} is a folder without data files; give a Parquet file or a folder "
                        "of Parquet files")


def _frame(spark: Any, source: Any) -> Any:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException
    from pyspark.sql import DataFrame

    if isinstance(source, DataFrame):
        return source
    if isinstance(source, (str, os.PathLike)):
        text = str(source)
        check_path(text)  # a local path: check it exists and is Parquet, for a clear message
        try:
            return spark.read.parquet(text)
        except (PySparkException, Py4JJavaError) as exc:
            raise _unreadable(text, exc) from None
    raise DataError(f"{_WHAT}: expected a Parquet path or a Spark DataFrame, got {type(source).__name__}")




def _slash_dates_as_iso(df: Any, time: str) -> Any:
    """The time column as a Column of ISO text when every value is a slash date (``12/1/2010 8:26``),
    day-first or month-first told apart as the local reader does (an error when they cannot be);
    else the column unchanged. Costs one row's look unless the first value is a slash date."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    col = _col(time)
    head = df.select(_col(time)).where(col.isNotNull()).limit(1).collect()
    if not head or not re.match(SLASH_DATE, str(head[0][0])):
        return col
    slash = col.rlike(SLASH_DATE)
    first, second = (F.regexp_extract(col, SLASH_DATE, k).try_cast("int") for k in (1, 2))
    facts = df.where(col.isNotNull()).agg(
        F.sum((~slash).cast("long")).alias("other"), F.max(F.when(slash, first > 12)).alias("day_first"),
        F.max(F.when(slash, second > 12)).alias("month_first"), F.min(F.when(slash, first == second)).alias("same"),
    ).first()
    if facts["other"]:
        return col
    example = repr(head[0][0])
    if facts["day_first"] and facts["month_first"]:
        raise DataError(f"{_WHAT}: the time column {time!r} mixes day-first (DD/MM/YYYY) and month-first "
                        f"(MM/DD/YYYY) dates, e.g. {example}; convert it to ISO dates (YYYY-MM-DD) first")
    if not facts["day_first"] and not facts["month_first"] and not facts["same"]:
        raise DataError(f"{_WHAT}: the time column {time!r} holds dates such as {example} where no day is "
                        "above 12, so DD/MM/YYYY and MM/DD/YYYY cannot be told apart; convert it to ISO dates "
                        "(YYYY-MM-DD) first")
    day, month = (first, second) if facts["day_first"] or not facts["month_first"] else (second, first)
    return F.concat(F.regexp_extract(col, SLASH_DATE, 3), F.lit("-"), F.lpad(month.cast("string"), 2, "0"),
                    F.lit("-"), F.lpad(day.cast("string"), 2, "0"), F.regexp_extract(col, SLASH_DATE, 4))


@contextmanager
def _utc(spark: Any) -> Iterator[None]:
    """The session's time zone set to UTC while a query is built: Spark binds it into the query's
    time conversions then, so times without a zone read as UTC, as the local reader reads them,
    whatever time zone the session has (a cluster's local one, say)."""
    key = "spark.sql.session.timeZone"
    zone = spark.conf.get(key)
    spark.conf.set(key, "UTC")
    try:
        yield
    finally:
        spark.conf.set(key, zone)


def _warn_digit_dates(out: Any, time: str, low: int, high: int) -> None:
    """The local reader's warning when every integer time (column ``ti``) reads as a date written as digits."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    for fmt, pattern, lowest, highest, places in DIGIT_DATES:
        if lowest <= low and high <= highest:
            valid = F.lit(True)
            for place, lo, hi in places:
                valid = valid & F.expr(f"ti div {place} % 100").between(lo, hi)
            if not out.where(F.col("ti").isNotNull() & ~valid).limit(1).count():
                log.warning(digit_dates_warning(_WHAT, time, int(out.where(F.col("ti").isNotNull()).first()["ti"]),
                                                fmt, pattern))
            return


def read_events(spark: Any, source: Any, *, user: str = "user", item: str = "item", time: str = "timestamp",
                quantity: str | None = None, negative: str = "error") -> Any:
    """The events of ``source`` as a DataFrame ``(user, item, t: long epoch seconds, q: double)``.

    Times may be timestamps, dates, ISO strings, slash dates (``12/1/2010 8:26``) or epoch
    seconds (or milli-, micro-, nanoseconds); times without a zone are UTC, whatever the session's
    time zone. Missing ids or times, non-id types, times outside the years 1–9999, and negative or
    infinite quantities raise :class:`~discoverly.errors.DataError` (with ``negative="drop"``
    negative rows are skipped instead), as for a local log.
    """
    with _utc(spark):
        return _read_events(spark, source, user=user, item=item, time=time, quantity=quantity, negative=negative)


def _read_events(spark: Any, source: Any, *, user: str, item: str, time: str, quantity: str | None,
                 negative: str) -> Any:
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)
    from pyspark.sql import types as T  # noqa: N812 (the PySpark convention)

    from discoverly.data.frames import require_columns

    if negative not in ("error", "drop"):
        raise DataError(f"negative must be 'error' or 'drop', got {negative!r}")
    df = _frame(spark, source)
    roles = {"user": user, "item": item, "time": time, "quantity": quantity}
    require_columns(df, roles, what=_WHAT)
    types = {f.name: f.dataType for f in df.schema.fields}
    ids = {}
    floats = (T.FloatType, T.DoubleType)
    for role, col in (("user", user), ("item", item)):
        kind = types[col]
        if isinstance(kind, (T.StringType, T.IntegerType, T.LongType, T.ShortType, T.ByteType)):
            ids[role] = _col(col).cast(T.LongType()) if not isinstance(kind, T.StringType) else _col(col)
        elif isinstance(kind, floats):  # integral floats are accepted below, like the local reader does
            ids[role] = F.when(~F.isnan(_col(col)), _col(col))  # NaN is a missing id
        elif isinstance(kind, T.DecimalType):
            ids[role] = _col(col)
        else:
            raise DataError(f"{_WHAT}: the {role} column {col!r} has type {kind.simpleString()}; "
                            "ids must be strings or integers")
    t_kind = types[time]
    seconds, number = F.lit(None).cast(T.LongType()), F.lit(None).cast(T.DoubleType())
    whole = F.lit(None).cast(T.LongType())  # integer epoch numbers, converted exactly (not through a double)
    if isinstance(t_kind, (T.TimestampType, T.TimestampNTZType)):
        seconds = F.unix_seconds(_col(time).cast(T.TimestampType()))
    elif isinstance(t_kind, T.DateType):
        seconds = F.unix_date(_col(time)).cast(T.LongType()) * 86_400
    elif isinstance(t_kind, T.NumericType):
        number = _col(time).cast(T.DoubleType())
        if isinstance(t_kind, (T.LongType, T.IntegerType, T.ShortType, T.ByteType)):
            whole = _col(time).cast(T.LongType())
    elif isinstance(t_kind, T.StringType):
        # whole numbers are epoch numbers, as locally (Spark's own reading of '2011' or '-1500' is a year)
        integer = F.trim(_col(time)).rlike(r"^[+-]?[0-9]+$")
        seconds = F.when(~integer, F.unix_seconds(F.try_to_timestamp(F.trim(_slash_dates_as_iso(df, time)))))
        number = F.trim(_col(time)).try_cast(T.DoubleType())
        whole = F.when(integer, F.trim(_col(time)).try_cast(T.LongType()))
    else:
        raise DataError(f"{_WHAT}: the time column {time!r} has type {t_kind.simpleString()}; expected "
                        "timestamps, ISO strings or epoch seconds")
    number = F.when(seconds.isNull() & ~F.isnan(number), number)  # NaN is a missing time
    whole = F.when(number.isNotNull(), whole)
    q = F.lit(1.0) if quantity is None else _col(quantity).try_cast(T.DoubleType())
    out = df.select(ids["user"].alias("user"), ids["item"].alias("item"), seconds.alias("ts"), number.alias("tn"),
                    whole.alias("ti"), q.alias("q"), _col(time).isNull().alias("no_time"))
    checks = [
        F.sum(F.col("user").isNull().cast("long")).alias("user_nulls"),
        F.sum(F.col("item").isNull().cast("long")).alias("item_nulls"),
        F.sum(F.col("no_time").cast("long")).alias("time_missing"),
        F.sum((F.col("ts").isNull() & F.col("tn").isNull()).cast("long")).alias("time_nulls"),
        F.sum((F.col("q").isNull() | F.isnan("q")).cast("long")).alias("q_nulls"),
        F.sum(F.col("q").isin(float("inf"), float("-inf")).cast("long")).alias("q_infinite"),
        F.sum((F.col("q") < 0).cast("long")).alias("negative"),
        F.max(F.abs("tn")).alias("t_big"), F.min("tn").alias("t_min"), F.max("tn").alias("t_max"),
        F.count("ts").alias("t_read"), F.count("tn").alias("t_numbers"),
        F.sum((F.col("tn").isNotNull() & F.col("ti").isNull()).cast("long")).alias("t_inexact"),
        F.min("ti").alias("ti_min"), F.max("ti").alias("ti_max"),
        F.count(F.lit(1)).alias("rows"),
    ]
    for role in ("user", "item"):
        if isinstance(types[roles[role]], (*floats, T.DecimalType)):
            # x % 1, not x != round(x): Spark compares decimal(38,1) 17850.5 with round()'s 17851 as equal
            checks.append(F.sum((F.col(role) % 1 != 0).cast("long")).alias(f"{role}_fraction"))
            # beyond a 64-bit integer: the cast below would be a CAST_OVERFLOW error from the JVM
            wide = (F.col(role) > F.lit(2**63 - 1)) | (F.col(role) < F.lit(-(2**63)))
            checks.append(F.sum(wide.cast("long")).alias(f"{role}_wide"))
    try:
        facts = out.agg(*checks).first().asDict()
    except Exception as exc:  # Spark reads the files here: a corrupt part shows now, not at spark.read
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        if isinstance(exc, (PySparkException, Py4JJavaError)) and isinstance(source, (str, os.PathLike)):
            raise _unreadable(str(source), exc) from None
        raise
    if not facts["rows"]:
        raise DataError(f"{_WHAT} is empty: it has no rows")
    for role in ("user", "item"):
        if facts[f"{role}_nulls"]:
            raise DataError(f"{_WHAT}: the {role} column {roles[role]!r} has {facts[f'{role}_nulls']:,} missing "
                            "value(s); drop those rows first")
        if facts.get(f"{role}_fraction"):
            raise DataError(f"{_WHAT}: the {role} column {roles[role]!r} has type {types[roles[role]].simpleString()} "
                            "with fractional values; ids must be strings or integers")
        if facts.get(f"{role}_wide"):
            raise DataError(f"{_WHAT}: the {role} column {roles[role]!r} has ids beyond the 64-bit integer range; "
                            "cast them to strings first")
        if f"{role}_fraction" in facts:
            out = out.withColumn(role, F.col(role).cast(T.LongType()))
    missing = facts["time_nulls"] if isinstance(t_kind, T.NumericType) else facts["time_missing"]  # NaN is missing
    if missing:
        raise DataError(f"{_WHAT}: the time column {time!r} has {missing:,} missing value(s); drop those rows or "
                        "fill them in")
    if facts["time_nulls"]:
        bad = (df.where(_col(time).isNotNull() & seconds.isNull() & number.isNull()).select(_col(time))
               .limit(3).collect())
        examples = ", ".join(repr(row[0]) for row in bad)
        raise DataError(f"{_WHAT}: {facts['time_nulls']:,} value(s) of the time column {time!r} cannot be read as "
                        f"times (e.g. {examples}). Expected ISO strings such as '2011-11-01 08:26:00' or epoch seconds")
    if isinstance(t_kind, T.StringType) and facts["t_read"] and facts["t_numbers"]:
        # text that mixes times and epoch numbers, which the local reader refuses: the values of the reading that
        # fits less of the column are named (on a tie, the numbers)
        dates = facts["t_numbers"] > facts["t_read"]
        bad = df.where(seconds.isNotNull() if dates else number.isNotNull()).select(_col(time)).limit(3).collect()
        examples = ", ".join(repr(row[0]) for row in bad)
        raise DataError(f"{_WHAT}: {min(facts['t_read'], facts['t_numbers']):,} value(s) of the time column {time!r} "
                        f"cannot be read as times (e.g. {examples}): the column mixes times and epoch numbers. "
                        "Expected ISO strings such as '2011-11-01 08:26:00' or epoch seconds")
    if quantity is not None and facts["q_nulls"]:
        raise DataError(f"{_WHAT}: the quantity column {quantity!r} has {facts['q_nulls']:,} missing or non-numeric "
                        "value(s); drop those rows or fill them in")
    if facts["q_infinite"]:
        raise DataError(f"{_WHAT}: the quantity column {quantity!r} has {facts['q_infinite']:,} infinite value(s); "
                        "drop those rows or fix them")
    if not facts["t_inexact"] and facts["ti_min"] is not None:  # integers only: dates written as digits?
        _warn_digit_dates(out, time, facts["ti_min"], facts["ti_max"])
    scale = next((unit for limit, unit in EPOCH_UNITS if (facts["t_big"] or 0) > limit), 1.0)
    # whole seconds rounded down, as the local reader and unix_seconds of a timestamp before 1970 do (-1.5 s is
    # -2 s); a column of integers exactly (a double would round 1_300_000_000_999_999_999 ns up a second)
    if facts["t_inexact"]:
        column, epoch = "tn", F.floor(F.col("tn") / scale)
        low, high = facts["t_min"], facts["t_max"]  # floor(x) < MIN iff x < MIN; floor(x) > MAX iff x >= MAX + 1
        beyond = low is not None and (low / scale < MIN_EPOCH or high / scale >= MAX_EPOCH + 1)
    else:
        column, unit = "ti", int(scale)
        epoch = F.expr(f"ti div {unit} - cast(ti % {unit} < 0 as bigint)")  # div truncates toward zero
        low, high = facts["ti_min"], facts["ti_max"]
        beyond = low is not None and (low // unit < MIN_EPOCH or high // unit > MAX_EPOCH)
    if beyond:
        outside = (epoch < MIN_EPOCH) | (epoch > MAX_EPOCH)
        n_out = out.where(outside).count()
        examples = ", ".join(repr(row[0]) for row in out.where(outside).select(column).limit(3).collect())
        raise DataError(f"{_WHAT}: {n_out:,} value(s) of the time column {time!r} are not times between the years 1 "
                        f"and 9999 (e.g. {examples}). Numbers are read as seconds, milliseconds, microseconds or "
                        "nanoseconds since 1970")
    out = out.select("user", "item", F.coalesce("ts", epoch).alias("t"), "q")
    if facts["negative"]:
        if negative == "error":
            raise DataError(f"{_WHAT}: {facts['negative']:,} row(s) have a negative {quantity!r}, e.g. returns or "
                            "cancellations. Remove them, or pass negative='drop' (CLI: --drop-negative) to skip them")
        out = out.filter(F.col("q") >= 0)
        if facts["negative"] == facts["rows"]:
            raise DataError(f"{_WHAT}: no rows are left after dropping negative quantities")
    return out
