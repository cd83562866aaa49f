"""External ids -> contiguous indices in Spark, in the order the local path uses (sorted ids), so
that index ``i`` means the same item in a Spark artifact and in a local one.

The sort is distributed (a range-partitioned ``orderBy``); each row's index is its partition's
offset plus its position inside the partition, read from ``monotonically_increasing_id`` — no
single-partition window and no Python round trip, so it scales to hundreds of millions of ids.
"""

from __future__ import annotations

from typing import Any

__all__ = ["index_ids"]


def index_ids(events: Any, column: str) -> tuple[Any, int]:
    """The distinct values of ``column`` sorted ascending, as ``(id, index)`` with ``index`` 0..n-1;
    returns the DataFrame and ``n``.

    The sorted ids and their row ids are checkpointed (``localCheckpoint``) before the offsets are
    counted, so a recomputation can never number the rows differently from the counts.
    """
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    sorted_ids = (events.select(F.col(column).alias("id")).distinct().orderBy("id")
                  .withColumn("_m", F.monotonically_increasing_id())).localCheckpoint(eager=True)
    parts = (sorted_ids.groupBy(F.shiftright("_m", 33).alias("p"))
             .agg(F.count(F.lit(1)).alias("n")).orderBy("p").collect())
    offsets: list[tuple[int, int]] = []
    total = 0
    for row in parts:
        offsets.append((int(row["p"]), total))
        total += int(row["n"])
    spark = events.sparkSession
    table = spark.createDataFrame(offsets or [(0, 0)], "p long, offset long")
    indexed = (sorted_ids.withColumn("p", F.shiftright("_m", 33))
               .join(F.broadcast(table), "p")
               .select("id", (F.col("offset") + F.col("_m").bitwiseAND((1 << 33) - 1)).cast("int").alias("index")))
    return indexed, total
