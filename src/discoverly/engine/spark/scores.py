"""The three relatedness scores on Spark, with the exact expectation ``E_XY`` — the definitions of
:mod:`discoverly.recommend.relatedness`, term for term and in the same floating-point order:

- ``cosine``: ``N_XY · (1/√N_X) · (1/√N_Y)``;
- ``naive``: ``N_XY / N_X − N_Y / customers``;
- ``corrected``: ``(N_XY − E_XY) / √E_XY`` with
  ``E_XY = Σ_n h_X(n) · (1 − (1 − P_Y)^n)``, summed exactly over the groups of ``X``'s buyers by
  their number ``n`` of other purchases (``h_X(n)`` buyers of ``X`` have ``n``), in ascending ``n``,
  with ``(1 − P_Y)^n`` as ``exp(−n · u_Y)``, ``u_Y = −log(1 − P_Y)``.

The counts, joins and the cosine and naive scores are Spark SQL expressions (inside the JVM).
``E_XY`` costs one term per group of ``X``'s buyers for every pair — hundreds of terms per pair —
so it is evaluated in vectorised numpy over Arrow batches (``mapInArrow``), with exactly the
operations and summation order of the local reference
(:func:`discoverly.recommend.relatedness.expected_cooccurrence`): ``h · −expm1(−n · u_Y)`` summed
in ascending ``n`` by ``numpy.bincount``. (Spark SQL's higher-order ``aggregate`` gives the same
sum but is interpreted, and was 10× slower on Online Retail.) Executors therefore need numpy and
pyarrow, which PySpark's Arrow support needs anyway. The histogram join is salted (see
:mod:`~discoverly.engine.spark.salting`) so that a hot item's pairs spread over several tasks.
"""

from __future__ import annotations

from typing import Any

__all__ = ["buyer_histograms", "expected_cooccurrence", "item_table", "pair_scores"]


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


def expected_cooccurrence(pairs: Any) -> Any:
    """``pairs`` (with the columns ``groups`` — ``X``'s histogram — and ``u_y``) plus ``e_xy``, the
    exact grouped sum, computed batch by batch in numpy; ``groups`` is dropped."""
    from pyspark.sql import types as T  # noqa: N812 (the PySpark convention)

    keep = [f for f in pairs.schema.fields if f.name != "groups"]
    schema = T.StructType([*keep, T.StructField("e_xy", T.DoubleType(), False)])
    names = [f.name for f in keep]

    def expectation(batches: Any) -> Any:  # runs on the executors: numpy and pyarrow only
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        for batch in batches:
            groups = batch.column("groups")
            sizes = pc.list_value_length(groups).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
            values = pc.list_flatten(groups)
            n = values.field("n").to_numpy(zero_copy_only=False)
            h = values.field("h").to_numpy(zero_copy_only=False)
            u = batch.column("u_y").to_numpy(zero_copy_only=False)
            owner = np.repeat(np.arange(len(u)), sizes)
            terms = h * -np.expm1(-n * u[owner])
            e = np.bincount(owner, weights=terms, minlength=len(u))
            yield pa.RecordBatch.from_arrays([batch.column(c) for c in names] + [pa.array(e, pa.float64())],
                                             names=[*names, "e_xy"])

    return pairs.mapInArrow(expectation, schema)


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
        p = expected_cooccurrence(p.select("x", "y", "n_xy", "u_y", "groups"))
        s = (n - F.col("e_xy")) / F.sqrt(F.col("e_xy"))
    else:
        raise ConfigError(f"unknown relatedness score {score!r}; expected one of cosine, naive, corrected")
    cols = ["x", "y", "n_xy", s.alias("score")]
    if score == "corrected":
        cols.insert(3, "e_xy")
    return p.select(*cols)
