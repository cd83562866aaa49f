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
so it is evaluated in vectorised numpy on the Python workers, with exactly the operations and
summation order of the local reference
(:func:`discoverly.recommend.relatedness.expected_cooccurrence`): ``h · −expm1(−n · u_Y)`` summed
in ascending ``n`` by ``numpy.bincount``. The pairs are cogrouped with the histograms by
``(x, salt)`` (``applyInArrow``), so a histogram is shipped to Python once per group rather than
once per pair (an earlier version joined it onto every pair row and streamed the rows through
``mapInArrow``; Spark SQL's higher-order ``aggregate`` gives the same sum but is interpreted, and
was 10× slower still). Executors therefore need numpy and pyarrow, which PySpark's Arrow support
needs anyway. The salt (``y mod salt_buckets``) spreads a hot item's pairs over several groups
(see :mod:`~discoverly.engine.spark.salting`).
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


#: largest (pairs × groups) block of terms evaluated at once inside one item's group (bounds memory)
_TERMS = 1 << 22


def expected_cooccurrence(pairs: Any, histograms: Any, *, salt_buckets: int = 1) -> Any:
    """``pairs`` ``(x, y, ...)`` — with ``u_y`` — plus ``e_xy``, the exact grouped sum over
    ``X``'s histogram (``histograms``, from :func:`buyer_histograms`), computed in numpy.

    The pairs are cogrouped with the histograms by ``(x, salt)`` (salt = ``y mod salt_buckets``, the
    histogram replicated once per salt): each of ``X``'s histograms crosses from the JVM to Python
    once per salt, not once per pair, and a hot item's pairs are spread over ``salt_buckets`` groups.
    Inside a group the terms ``h · −expm1(−n · u_Y)`` are summed per pair in ascending ``n`` by
    ``numpy.bincount`` — the operations and order of the local reference.
    """
    from pyspark.sql import types as T  # noqa: N812 (the PySpark convention)

    from discoverly.engine.spark.salting import replicate, salt

    keep = [f for f in pairs.schema.fields if f.name not in ("groups", "salt")]
    schema = T.StructType([*keep, T.StructField("e_xy", T.DoubleType(), False)])
    names = [f.name for f in keep]
    terms_cap = _TERMS

    def expectation(left: Any, right: Any) -> Any:  # runs on the executors: numpy and pyarrow only
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        u = left.column("u_y").to_numpy().astype(np.float64, copy=False)
        if right.num_rows:
            values = pc.list_flatten(right.column("groups"))
            n = pc.struct_field(values, "n").to_numpy()
            h = pc.struct_field(values, "h").to_numpy()
        else:  # no buyer of X has another purchase (cannot happen for a co-bought pair): E = 0
            n = h = np.zeros(0)
        e = np.zeros(len(u), dtype=np.float64)
        if len(n):
            step = max(1, terms_cap // len(n))
            for a in range(0, len(u), step):
                part = u[a:a + step]
                terms = h * -np.expm1(-n * part[:, None])  # one row per pair, groups in ascending n
                owner = np.repeat(np.arange(len(part)), len(n))
                e[a:a + len(part)] = np.bincount(owner, weights=terms.ravel(), minlength=len(part))
        return pa.Table.from_arrays([left.column(c) for c in names] + [pa.array(e, pa.float64())],
                                    names=[*names, "e_xy"])

    buckets = max(1, int(salt_buckets))
    left = salt(pairs.drop("salt") if "salt" in pairs.columns else pairs, "y", buckets)
    right = replicate(histograms, buckets)
    return left.groupBy("x", "salt").cogroup(right.groupBy("x", "salt")).applyInArrow(expectation, schema)


def pair_scores(cooc: Any, items: Any, score: str, *, histograms: Any = None, salt_buckets: int = 1) -> Any:
    """``(x, y, n_xy, score)`` — ``score`` in float64 — for the co-occurring pairs ``cooc``.

    ``histograms`` (from :func:`buyer_histograms`) is needed for ``corrected``; ``salt_buckets``
    spreads each item's pairs over that many tasks in the histogram join.
    """
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

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
        p = expected_cooccurrence(p.select("x", "y", "n_xy", "u_y"), histograms, salt_buckets=salt_buckets)
        s = (n - F.col("e_xy")) / F.sqrt(F.col("e_xy"))
    else:
        raise ConfigError(f"unknown relatedness score {score!r}; expected one of cosine, naive, corrected")
    cols = ["x", "y", "n_xy", s.alias("score")]
    if score == "corrected":
        cols.insert(3, "e_xy")
    return p.select(*cols)
