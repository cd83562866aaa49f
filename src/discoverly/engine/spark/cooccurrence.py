"""Co-buyer counts ``N_XY`` on Spark: every pair of items bought by at least ``min_count`` common
customers, in both directions (``X → Y`` and ``Y → X``), ``X != Y``.

Only what can reach ``min_count`` is joined: items with fewer buyers are dropped first
(``N_XY <= min(N_X, N_Y)``), then customers left with a single item. The self-join on the
customer emits each unordered pair once (``x < y``), so a customer with ``k`` items costs
``k (k − 1) / 2`` rows — the history cap bounds that for heavy customers. The aggregation by pair
is partial (map-side) before its shuffle, so hot items add no skew there.
"""

from __future__ import annotations

from typing import Any

__all__ = ["cooccurrence"]


def cooccurrence(pairs: Any, buyers: Any, *, min_count: int) -> Any:
    """``(x, y, n_xy)`` for ``x != y`` with ``n_xy >= min_count``, from the purchases ``(u, i)``
    and the buyers per item ``(i, buyers)``."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    from discoverly.errors import ConfigError

    if min_count < 1:
        raise ConfigError(f"min_count must be at least 1, got {min_count}")
    active = buyers.filter(F.col("buyers") >= min_count).select("i")
    p = pairs.select("u", "i").join(F.broadcast(active), "i")
    several = p.groupBy("u").agg(F.count(F.lit(1)).alias("k")).filter(F.col("k") >= 2).select("u")
    p = p.join(several, "u")
    a, b = p.alias("a"), p.alias("b")
    upper = (a.join(b, (F.col("a.u") == F.col("b.u")) & (F.col("a.i") < F.col("b.i")))
             .groupBy(F.col("a.i").alias("x"), F.col("b.i").alias("y"))
             .agg(F.count(F.lit(1)).alias("n_xy"))
             .filter(F.col("n_xy") >= min_count))
    return upper.unionByName(upper.select(F.col("y").alias("x"), F.col("x").alias("y"), "n_xy"))
