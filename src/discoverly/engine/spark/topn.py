"""The ``N`` best related items of every item on Spark, ranked exactly as the local path ranks them:
scores rounded to float32, only positive ones kept, best first, ties broken by the lower item
index. Two stages — per ``(X, salt)``, then per ``X`` — so a hot item's ranking is spread over
``salt_buckets`` tasks (see :mod:`~discoverly.engine.spark.salting`)."""

from __future__ import annotations

from typing import Any

__all__ = ["top_related"]


def top_related(scored: Any, neighbours: int, *, salt_buckets: int = 1) -> Any:
    """``(x, y, n_xy, score, score32)`` of each item's ``neighbours`` best pairs (``score32 > 0``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    from discoverly.engine.spark.salting import salt
    from discoverly.errors import ConfigError

    if neighbours < 1:
        raise ConfigError(f"neighbours must be at least 1, got {neighbours}")
    ranked = scored.withColumn("score32", F.col("score").cast("float")).filter(F.col("score32") > 0)
    order = [F.col("score32").desc(), F.col("y").asc()]
    if salt_buckets > 1:
        ranked = salt(ranked, "y", salt_buckets)
        first = Window.partitionBy("x", "salt").orderBy(*order)
        ranked = (ranked.withColumn("r", F.row_number().over(first)).filter(F.col("r") <= neighbours)
                  .drop("r", "salt"))
    final = Window.partitionBy("x").orderBy(*order)
    return ranked.withColumn("r", F.row_number().over(final)).filter(F.col("r") <= neighbours).drop("r")
