"""Reading a purchase log into Spark: a Parquet file or folder (or a Spark DataFrame) with a column
mapping -> events ``(user, item, t, q)`` with ``t`` in epoch seconds, checked the way
:func:`discoverly.data.read_interactions` checks a local log (same rules, same messages)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from discoverly.errors import DataError

__all__ = ["read_events"]

_WHAT = "the interaction log"


def _frame(spark: Any, source: Any) -> Any:
    from pyspark.sql import DataFrame

    if isinstance(source, DataFrame):
        return source
    if isinstance(source, (str, os.PathLike)):
        text = str(source)
        if "://" not in text:  # a local path: check it exists and is Parquet, for a clear message
            path = Path(text)
            if not path.exists() and not any(ch in text for ch in "*?["):
                raise DataError(f"{_WHAT} {text!r} does not exist; give a Parquet file or a folder of Parquet files")
            if path.is_file() and path.suffix.lower() not in (".parquet", ".pq"):
                raise DataError(f"the Spark engine reads Parquet; {text!r} is not a .parquet file. Convert it first, "
                                "e.g. polars: pl.read_csv(path).write_parquet('log.parquet')")
        return spark.read.parquet(text)
    raise DataError(f"{_WHAT}: expected a Parquet path or a Spark DataFrame, got {type(source).__name__}")


def read_events(spark: Any, source: Any, *, user: str = "user", item: str = "item", time: str = "timestamp",
                quantity: str | None = None, negative: str = "error") -> Any:
    """The events of ``source`` as a DataFrame ``(user, item, t: long epoch seconds, q: double)``.

    Times may be timestamps, dates, ISO strings or epoch seconds (or milliseconds). Missing ids or
    times, non-id types and negative quantities raise :class:`~discoverly.errors.DataError` (with
    ``negative="drop"`` such rows are skipped instead), as for a local log.
    """
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)
    from pyspark.sql import types as T  # noqa: N812 (the PySpark convention)

    if negative not in ("error", "drop"):
        raise DataError(f"negative must be 'error' or 'drop', got {negative!r}")
    df = _frame(spark, source)
    roles = {"user": user, "item": item, "time": time, "quantity": quantity}
    missing = {role: col for role, col in roles.items() if col is not None and col not in df.columns}
    if missing:
        named = ", ".join(f"{role} column {col!r}" for role, col in missing.items())
        raise DataError(f"{_WHAT} has no {named}; its columns are {', '.join(df.columns)}. "
                        "Name the right ones with --user/--item/--time/--quantity")
    types = {f.name: f.dataType for f in df.schema.fields}
    ids = {}
    for role, col in (("user", user), ("item", item)):
        kind = types[col]
        if isinstance(kind, (T.StringType, T.IntegerType, T.LongType, T.ShortType, T.ByteType)):
            ids[role] = F.col(col).cast(T.LongType()) if not isinstance(kind, T.StringType) else F.col(col)
        elif isinstance(kind, (T.FloatType, T.DoubleType, T.DecimalType)):
            ids[role] = F.col(col)  # integral floats are accepted below, like the local reader does
        else:
            raise DataError(f"{_WHAT}: the {role} column {col!r} has type {kind.simpleString()}; "
                            "ids must be strings or integers")
    t_kind = types[time]
    if isinstance(t_kind, (T.TimestampType, T.TimestampNTZType)):
        t = F.unix_seconds(F.col(time).cast(T.TimestampType()))
    elif isinstance(t_kind, T.DateType):
        t = F.unix_date(F.col(time)).cast(T.LongType()) * 86_400
    elif isinstance(t_kind, T.NumericType):
        t = F.col(time).cast(T.DoubleType())
    elif isinstance(t_kind, T.StringType):
        parsed = F.try_to_timestamp(F.trim(F.col(time)))
        number = F.trim(F.col(time)).try_cast(T.DoubleType())
        t = F.when(parsed.isNotNull(), F.unix_seconds(parsed).cast(T.DoubleType())).otherwise(number)
    else:
        raise DataError(f"{_WHAT}: the time column {time!r} has type {t_kind.simpleString()}; expected "
                        "timestamps, ISO strings or epoch seconds")
    q = F.lit(1.0) if quantity is None else F.col(quantity).cast(T.DoubleType())
    out = df.select(ids["user"].alias("user"), ids["item"].alias("item"), t.alias("t"), q.alias("q"))
    checks = [
        F.sum(F.col("user").isNull().cast("long")).alias("user_nulls"),
        F.sum(F.col("item").isNull().cast("long")).alias("item_nulls"),
        F.sum(F.col("t").isNull().cast("long")).alias("time_nulls"),
        F.sum((F.col("q").isNull() | F.isnan("q")).cast("long")).alias("q_nulls"),
        F.sum((F.col("q") < 0).cast("long")).alias("negative"),
        F.max(F.abs(F.col("t").cast(T.DoubleType()))).alias("t_max"),
        F.count(F.lit(1)).alias("rows"),
    ]
    for role in ("user", "item"):
        if isinstance(types[roles[role]], (T.FloatType, T.DoubleType, T.DecimalType)):
            checks.append(F.sum((F.col(role) != F.round(F.col(role))).cast("long")).alias(f"{role}_fraction"))
    facts = out.agg(*checks).first().asDict()
    if not facts["rows"]:
        raise DataError(f"{_WHAT} is empty; nothing to fit")
    for role in ("user", "item"):
        if facts[f"{role}_nulls"]:
            raise DataError(f"{_WHAT}: the {role} column {roles[role]!r} has {facts[f'{role}_nulls']:,} missing "
                            "value(s); drop those rows first")
        if facts.get(f"{role}_fraction"):
            raise DataError(f"{_WHAT}: the {role} column {roles[role]!r} has type {types[roles[role]].simpleString()} "
                            "with fractional values; ids must be strings or integers")
        if f"{role}_fraction" in facts:
            out = out.withColumn(role, F.col(role).cast(T.LongType()))
    if facts["time_nulls"]:
        raise DataError(f"{_WHAT}: {facts['time_nulls']:,} value(s) of the time column {time!r} are missing or "
                        "cannot be read as times. Expected ISO strings such as '2011-11-01 08:26:00' or epoch seconds")
    if quantity is not None and facts["q_nulls"]:
        raise DataError(f"{_WHAT}: the quantity column {quantity!r} has {facts['q_nulls']:,} missing or non-numeric "
                        "value(s); drop those rows or fill them in")
    if not isinstance(t_kind, (T.TimestampType, T.TimestampNTZType, T.DateType)):
        scale = 1000.0 if (facts["t_max"] or 0) > 1e11 else 1.0  # epoch milliseconds, as the local reader reads them
        out = out.withColumn("t", (F.col("t") / scale).cast(T.LongType()))
    if facts["negative"]:
        if negative == "error":
            raise DataError(f"{_WHAT}: {facts['negative']:,} row(s) have a negative {quantity!r}, e.g. returns or "
                            "cancellations. Remove them, or pass negative='drop' (CLI: --drop-negative) to skip them")
        out = out.filter(F.col("q") >= 0)
        if facts["negative"] == facts["rows"]:
            raise DataError(f"{_WHAT}: no rows are left after dropping negative quantities")
    return out
