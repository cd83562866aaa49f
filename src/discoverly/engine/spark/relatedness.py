"""The relatedness job on Spark: purchases -> co-buyers -> scores -> the ``N`` best per item.

:func:`related_pairs` is the whole pipeline as a Spark DataFrame (nothing is collected);
:func:`collect_relatedness` brings it to the driver as the same
:class:`~discoverly.recommend.relatedness.Relatedness` the local path returns, so the two can be
compared entry by entry and saved by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from discoverly.errors import ConfigError

__all__ = ["CoBuyers", "SparkRelatedness", "co_buyers", "collect_relatedness", "related_pairs"]

SCORES = ("cosine", "naive", "corrected")


@dataclass
class SparkRelatedness:
    """The job's result: ``pairs`` ``(x, y, n_xy, score, score32[, e_xy])`` (a DataFrame) and the
    counts the local path records in ``Relatedness.params``."""

    pairs: Any
    buyers: Any
    params: dict[str, Any]


@dataclass
class CoBuyers:
    """What every score needs, computed once: the capped purchases ``(u, i, n_other)``, buyers per
    item, the per-item table of :func:`~discoverly.engine.spark.scores.item_table`, and the
    co-buyer counts ``(x, y, n_xy)`` — persisted, so several scores can share them."""

    kept: Any
    buyers: Any
    items: Any
    cooc: Any
    params: dict[str, Any]

    def unpersist(self) -> None:
        for frame in (self.kept, self.buyers, self.cooc):
            frame.unpersist()


def co_buyers(purchase_pairs: Any, *, min_count: int = 2, max_history: int | None = None) -> CoBuyers:
    """Apply the history cap and count co-buyers of the distinct purchases ``(u, i, ...)``."""
    from pyspark import StorageLevel

    from discoverly.engine.spark.cooccurrence import cooccurrence
    from discoverly.engine.spark.purchases import purchase_counts
    from discoverly.engine.spark.scores import item_table

    if max_history is not None and max_history < 1:
        raise ConfigError(f"max_history must be a positive number of items or None, got {max_history}")
    counts = purchase_counts(purchase_pairs, max_history=max_history)
    kept = counts.pairs.persist(StorageLevel.MEMORY_AND_DISK)
    buyers = counts.buyers.persist(StorageLevel.MEMORY_AND_DISK)
    items = item_table(buyers, customers=counts.customers, purchases=counts.purchases)
    cooc = cooccurrence(kept, buyers, min_count=min_count).persist(StorageLevel.MEMORY_AND_DISK)
    params = {"min_count": min_count, "max_history": max_history, "customers": counts.customers,
              "purchases": counts.purchases, "dropped_customers": counts.dropped_customers}
    return CoBuyers(kept, buyers, items, cooc, params)


def related_pairs(purchase_pairs: Any, score: str = "corrected", *, min_count: int = 2, neighbours: int = 100,
                  max_history: int | None = None, salt_buckets: int = 4, prepared: CoBuyers | None = None
                  ) -> SparkRelatedness:
    """The ``neighbours`` best related items of every item from distinct purchases ``(u, i, ...)``.

    Same definitions and parameters as :func:`discoverly.recommend.relatedness.related_items`;
    ``salt_buckets`` spreads hot items over several tasks (1 = off; results never change).
    ``prepared`` reuses the co-buyer counts of :func:`co_buyers` (then ``purchase_pairs``,
    ``min_count`` and ``max_history`` are taken from it).
    """
    from discoverly.engine.spark.scores import buyer_histograms, pair_scores
    from discoverly.engine.spark.topn import top_related

    if score not in SCORES:
        raise ConfigError(f"unknown relatedness score {score!r}; expected one of {', '.join(SCORES)}")
    if neighbours < 1:
        raise ConfigError(f"neighbours must be at least 1, got {neighbours}")
    if salt_buckets < 1:
        raise ConfigError(f"salt_buckets must be at least 1, got {salt_buckets}")
    base = prepared or co_buyers(purchase_pairs, min_count=min_count, max_history=max_history)
    hist = buyer_histograms(base.kept) if score == "corrected" else None
    scored = pair_scores(base.cooc, base.items, score, histograms=hist, salt_buckets=salt_buckets)
    top = top_related(scored, neighbours, salt_buckets=salt_buckets)
    params = {"score": score, **base.params, "neighbours": neighbours, "engine": "spark", "salt_buckets": salt_buckets}
    return SparkRelatedness(top, base.buyers, params)


def collect_relatedness(result: SparkRelatedness, n_items: int) -> tuple[Any, np.ndarray]:
    """The result on the driver: a :class:`~discoverly.recommend.relatedness.Relatedness` (float32
    scores, counts, ``N_X``, params) and the float64 scores of the same entries (CSR order)."""
    from discoverly.recommend.relatedness import Relatedness

    table = result.pairs.select("x", "y", "n_xy", "score", "score32").toArrow()
    x = table.column("x").to_numpy().astype(np.int64)
    y = table.column("y").to_numpy().astype(np.int64)
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    s32 = table.column("score32").to_numpy()[order].astype(np.float32)
    s64 = table.column("score").to_numpy()[order].astype(np.float64)
    n = table.column("n_xy").to_numpy()[order].astype(np.float32)
    buyers_t = result.buyers.toArrow()
    buyers = np.zeros(n_items, dtype=np.int64)
    buyers[buyers_t.column("i").to_numpy()] = buyers_t.column("buyers").to_numpy()
    indptr = np.zeros(n_items + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(x, minlength=n_items))
    scores = sp.csr_matrix((s32, y.astype(np.int32), indptr), shape=(n_items, n_items))
    counts = sp.csr_matrix((n, y.astype(np.int32), indptr.copy()), shape=(n_items, n_items))
    return Relatedness(scores, counts, buyers, dict(result.params)), s64
