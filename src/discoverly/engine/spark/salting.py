"""Salting, the remedy for hot items on Spark.

A hot item ``X`` (a bestseller) co-occurs with most of the catalogue, so every step keyed by ``X``
alone — joining its buyer histogram onto its pairs, ranking its related items — would put all of
its pairs in one task while the other tasks idle. Each pair ``(X, Y)`` therefore gets a salt
``pmod(Y, buckets)`` and those steps are keyed by ``(X, salt)``: the small side of a join (one row
per ``X``) is replicated once per salt, and the top-``N`` is taken per ``(X, salt)`` first, then
per ``X`` over at most ``buckets × N`` survivors. Salting never changes a result, only how the
work is spread; ``buckets = 1`` turns it off. Spark's adaptive skew-join splitting is also on (see
:func:`~discoverly.engine.spark.session.spark_session`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["salt", "replicate"]


def salt(frame: Any, column: str, buckets: int) -> Any:
    """``frame`` with a ``salt`` column: ``pmod(column, buckets)`` (deterministic)."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    return frame.withColumn("salt", F.pmod(F.col(column), F.lit(max(1, int(buckets)))).cast("int"))


def replicate(frame: Any, buckets: int) -> Any:
    """``frame`` once per salt value ``0 .. buckets-1`` (a ``salt`` column), for the other side of a
    salted join."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    return frame.withColumn("salt", F.explode(F.sequence(F.lit(0), F.lit(max(1, int(buckets)) - 1))))
