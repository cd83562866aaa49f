"""Item-to-item recommendations: "customers who bought this also bought" and lists built from them.

:class:`ItemToItem` keeps, for every item, its ``neighbours`` most related items by one of the
relatedness scores of :mod:`discoverly.recommend.relatedness` (``cosine``, ``naive`` or
``corrected``) as a sparse items × items matrix. ``related(items, k)`` reads that matrix;
``recommend(users, k)`` aggregates the related lists of each user's ``recent_items`` most recent
items, each weighted by its recency (``0.5 ** (age / half_life_days)``) and by the relatedness::

    score(u, Y) = Σ_{X ∈ recent(u)} 0.5 ** (age_X / half_life_days) · w(X → Y)

where ``w`` is the relatedness, divided by the best score of ``X``'s list when ``normalize`` is
true (so that every recent item contributes on the same scale). One sparse product per batch of
users: history rows × neighbour matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly.data.interactions import Interactions
from discoverly.errors import ConfigError
from discoverly.recommend.base import BaseRecommender, check_k, query_list
from discoverly.recommend.history import History
from discoverly.recommend.recency import recent_item_weights
from discoverly.recommend.relatedness import SCORES, related_items
from discoverly.recommend.results import Recommendations

__all__ = ["ItemToItem"]


class ItemToItem(BaseRecommender):
    """Item-to-item collaborative filtering with a choice of relatedness score.

    Parameters: ``score`` (``"cosine"``, ``"naive"`` or ``"corrected"``); ``min_count``, the least
    number of co-buyers for a pair to be related; ``neighbours`` kept per item; ``max_history``,
    customers with more distinct items are left out of the relatedness (see
    :mod:`~discoverly.recommend.relatedness`); ``recent_items`` and ``half_life_days`` decide which of
    a user's items speak and how loud (see the module docs); ``normalize`` scales each item's list
    to a best score of 1 before aggregating.

    The defaults are the best of a validation search for the corrected score (Online Retail 2011,
    cutoff 2011-10-01; see docs/recommenders.md); the registry names ``cosine`` and ``naive`` carry
    the best settings found for their scores.
    """

    name = "item-to-item"

    def __init__(self, score: str = "corrected", *, min_count: int = 5, neighbours: int = 50,
                 max_history: int | None = None, recent_items: int | None = None,
                 half_life_days: float | None = None, normalize: bool = False) -> None:
        super().__init__()
        if score not in SCORES:
            raise ConfigError(f"unknown relatedness score {score!r}; expected one of {', '.join(SCORES)}")
        if min_count < 1:
            raise ConfigError(f"min_count must be at least 1, got {min_count}")
        if neighbours < 1:
            raise ConfigError(f"neighbours must be at least 1, got {neighbours}")
        if recent_items is not None and recent_items < 1:
            raise ConfigError(f"recent_items must be at least 1 or None (all items), got {recent_items}")
        if half_life_days is not None and half_life_days <= 0:
            raise ConfigError(f"half_life_days must be positive or None (no decay), got {half_life_days}")
        if max_history is not None and max_history < 1:
            raise ConfigError(f"max_history must be at least 1 or None (no cap), got {max_history}")
        self.score = score
        self.min_count = int(min_count)
        self.neighbours = int(neighbours)
        self.max_history = None if max_history is None else int(max_history)
        self.recent_items = None if recent_items is None else int(recent_items)
        self.half_life_days = None if half_life_days is None else float(half_life_days)
        self.normalize = bool(normalize)
        self.similarity_: sp.csr_matrix | None = None
        self.counts_: sp.csr_matrix | None = None

    def config(self) -> dict[str, Any]:
        return {"score": self.score, "min_count": self.min_count, "neighbours": self.neighbours,
                "max_history": self.max_history, "recent_items": self.recent_items,
                "half_life_days": self.half_life_days, "normalize": self.normalize}

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self, interactions: Interactions) -> None:
        rel = related_items(interactions.matrix("binary"), self.score, min_count=self.min_count,
                            neighbours=self.neighbours, max_history=self.max_history)
        self.similarity_ = rel.scores
        self.counts_ = rel.counts
        self._prepare()

    def _prepare(self) -> None:
        assert self.similarity_ is not None
        weights = sp.csr_matrix(self.similarity_, dtype=np.float64, copy=True)
        if self.normalize and weights.nnz:
            best = np.maximum.reduceat(weights.data, weights.indptr[:-1][np.diff(weights.indptr) > 0])
            scale = np.ones(weights.shape[0])
            scale[np.diff(weights.indptr) > 0] = best
            weights.data /= np.repeat(scale, np.diff(weights.indptr))
        self._weights = weights

    # -- scoring ----------------------------------------------------------------------------
    def _score(self, history: History) -> np.ndarray:
        w = recent_item_weights(history, self.recent_items, self.half_life_days)
        agg = sp.csr_matrix(w @ self._weights)
        out = np.full(agg.shape, -np.inf, dtype=np.float32)
        rows = np.repeat(np.arange(agg.shape[0]), np.diff(agg.indptr))
        pos = agg.data > 0
        out[rows[pos], agg.indices[pos]] = agg.data[pos]
        return out

    def related(self, items: Sequence[Any], k: int = 10, *, fill: bool = False) -> Recommendations:
        """The ``k`` most related items of each given item (external ids), best first.

        An unknown item raises :class:`~discoverly.errors.UnknownIdError`. An item without related
        items gets an empty list, or with ``fill`` the recent bestsellers (``fallback`` true).
        """
        items = query_list(items, "item")
        k = check_k(k)
        idx = self._item_indices(items)
        assert self.similarity_ is not None and self.items is not None and self._fallback is not None
        out_idx = np.full((len(idx), k), -1, dtype=np.int64)
        out_sc = np.full((len(idx), k), np.nan, dtype=np.float32)
        fallback = np.zeros(len(idx), dtype=bool)
        sim = self.similarity_
        for r, i in enumerate(idx.tolist()):
            a, b = sim.indptr[i], sim.indptr[i + 1]
            cols, sc = sim.indices[a:b], sim.data[a:b]
            order = np.lexsort((cols, -sc))[:k]
            out_idx[r, :len(order)] = cols[order]
            out_sc[r, :len(order)] = sc[order]
            if fill and len(order) < k:
                fallback[r] = len(order) == 0
                taken = set(cols[order].tolist()) | {i}
                extra = [j for j in self._fallback.tolist() if j not in taken][: k - len(order)]
                out_idx[r, len(order):len(order) + len(extra)] = extra
                out_sc[r, len(order):len(order) + len(extra)] = -1.0 - np.arange(len(extra))
        return Recommendations(list(items), out_idx, out_sc, fallback, self.items, "item", self.name)

    # -- persistence ------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        assert self.similarity_ is not None and self.counts_ is not None
        s = self.similarity_
        return {"similarity_data": s.data, "similarity_indices": s.indices, "similarity_indptr": s.indptr,
                "counts_data": self.counts_.data}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], tables: dict[str, pl.DataFrame]) -> None:
        n = len(arrays["similarity_indptr"]) - 1
        self.similarity_ = sp.csr_matrix((arrays["similarity_data"], arrays["similarity_indices"],
                                          arrays["similarity_indptr"]), shape=(n, n))
        self.counts_ = sp.csr_matrix((arrays["counts_data"], arrays["similarity_indices"],
                                      arrays["similarity_indptr"]), shape=(n, n))
        self._prepare()
