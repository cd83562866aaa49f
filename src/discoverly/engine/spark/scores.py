"""The three relatedness scores on Spark, with the exact expectation ``E_XY`` — the definitions of
:mod:`discoverly.recommend.relatedness`, term for term and in the same floating-point order:

- ``cosine``: ``N_XY · (1/√N_X) · (1/√N_Y)``;
- ``naive``: ``N_XY / N_X − N_Y / customers``;
- ``corrected``: ``(N_XY − E_XY) / √E_XY`` with
  ``E_XY = Σ_n h_X(n) · (1 − (1 − P_Y)^n)``, summed exactly over the groups of ``X``'s buyers by
  their number ``n`` of other purchases (``h_X(n)`` buyers of ``X`` have ``n``), in ascending ``n``,
  with ``(1 − P_Y)^n`` as ``exp(−n · u_Y)``, ``u_Y = −log(1 − P_Y)``.

Everything runs inside the JVM (Spark SQL expressions and a higher-order ``aggregate`` over each
item's histogram), no Python UDF. The histogram join is salted (see
:mod:`~discoverly.engine.spark.salting`) so that a hot item's pairs spread over several tasks.
"""

from __future__ import annotations

from typing import Any

__all__ = ["buyer_histograms", "item_table", "pair_scores"]


def item_table(buyers: Any, *, customers: int, purchases: int) -> Any:
    """Per item ``i``: ``buyers`` (``N``), ``inv_sqrt`` = 1/√N, ``base_rate`` = N / customers and
    ``u`` = −log(1 − P) with ``P`` = N / purchases (capped below 1 as the local path caps it)."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    n = F.col("buyers").cast("double")
    share = n / F.lit(float(max(purchases, 1)))
    return buyers.select(
        "i", "buyers",
        (F.lit(1.0) / F.sqrt(F.greatest(n, F.lit(1.0)))).alias("inv_sqrt"),
        (n / F.lit(float(max(customers, 1)))).alias("base_rate"),
        (-F.log1p(-F.least(share, F.lit(1.0 - 1e-16)))).alias("u"),
    )


def buyer_histograms(pairs: Any) -> Any:
    """``(x, groups)``: each item's buyers grouped by their number of other purchases ``n_other``,
    as an array of ``(n, h)`` sorted by ``n`` (``n = 0`` left out: it adds nothing to ``E_XY``)."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    return (pairs.filter(F.col("n_other") > 0)
            .groupBy("i", "n_other").agg(F.count(F.lit(1)).alias("h"))
            .groupBy(F.col("i").alias("x"))
            .agg(F.sort_array(F.collect_list(F.struct(F.col("n_other").cast("double").alias("n"),
                                                       F.col("h").cast("double").alias("h")))).alias("groups")))


def pair_scores(cooc: Any, items: Any, score: str, *, histograms: Any = None, salt_buckets: int = 1) -> Any:
    """``(x, y, n_xy, score)`` — ``score`` in float64 — for the co-occurring pairs ``cooc``.

    ``histograms`` (from :func:`buyer_histograms`) is needed for ``corrected``; ``salt_buckets``
    spreads each item's pairs over that many tasks in the histogram join.
    """
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    from discoverly.engine.spark.salting import replicate, salt
    from discoverly.errors import ConfigError

    x_side = F.broadcast(items.select(F.col("i").alias("x"), F.col("buyers").alias("n_x"),
                                      F.col("inv_sqrt").alias("inv_x")))
    y_side = F.broadcast(items.select(F.col("i").alias("y"), F.col("buyers").alias("n_y"),
                                      F.col("inv_sqrt").alias("inv_y"), F.col("base_rate").alias("rate_y"),
                                      F.col("u").alias("u_y")))
    p = cooc.join(x_side, "x").join(y_side, "y")
    n = F.col("n_xy").cast("double")
    if score == "cosine":
        s = n * F.col("inv_x") * F.col("inv_y")
    elif score == "naive":
        s = n / F.col("n_x").cast("double") - F.col("rate_y")
    elif score == "corrected":
        if histograms is None:
            raise ConfigError("the corrected score needs the buyer histograms (buyer_histograms(pairs))")
        p = salt(p, "y", salt_buckets).join(replicate(histograms, salt_buckets), ["x", "salt"]).drop("salt")
        e = F.aggregate("groups", F.lit(0.0),
                        lambda acc, g: acc + g["h"] * -F.expm1(-g["n"] * F.col("u_y")))
        p = p.withColumn("e_xy", e)
        s = (n - F.col("e_xy")) / F.sqrt(F.col("e_xy"))
    else:
        raise ConfigError(f"unknown relatedness score {score!r}; expected one of cosine, naive, corrected")
    cols = ["x", "y", "n_xy", s.alias("score")]
    if score == "corrected":
        cols.insert(3, "e_xy")
    return p.select(*cols)
