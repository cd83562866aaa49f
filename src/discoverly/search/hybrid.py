"""Hybrid retrieval: weighted reciprocal-rank fusion of ranked lists (lexical, dense, ...).

An item's fused score is ``sum_r w_r / (k0 + rank_r)`` over the lists it appears in (rank 1 =
best). Fusion needs no score calibration between BM25 and cosine similarity, which live on
different scales; the weights and ``k0`` are chosen on validation queries::

    items, scores = reciprocal_rank_fusion([lexical_items, dense_items], weights=[1.0, 0.5])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from discoverly.errors import ConfigError
from discoverly.search.lexical import top_positions

__all__ = ["reciprocal_rank_fusion", "rrf_scores"]


def rrf_scores(lists: Sequence[np.ndarray], *, weights: Sequence[float] | None = None,
               k0: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """The distinct items of ``lists`` (in first-seen order) and their fused scores."""
    if k0 < 0:
        raise ConfigError(f"k0 must be non-negative, got {k0}")
    w = [1.0] * len(lists) if weights is None else list(weights)
    if len(w) != len(lists):
        raise ConfigError(f"{len(lists)} ranked lists but {len(w)} weights")
    arrays = [np.asarray(a, dtype=np.int64) for a in lists]
    if not arrays or all(a.size == 0 for a in arrays):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    flat = np.concatenate(arrays)
    uniq, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    weights_flat = np.concatenate([wr / (k0 + np.arange(1, a.size + 1)) for a, wr in zip(arrays, w, strict=True)])
    summed = np.bincount(inverse.ravel(), weights=weights_flat, minlength=uniq.size)
    order = np.argsort(first, kind="stable")  # first-seen order
    items, scores = uniq[order], summed[order]
    return items, scores


def reciprocal_rank_fusion(lists: Sequence[np.ndarray], *, weights: Sequence[float] | None = None,
                           k0: float = 60.0, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fused ranking of ``lists`` (best first; ties keep the first-seen order), cut at ``k``."""
    items, scores = rrf_scores(lists, weights=weights, k0=k0)
    if items.size == 0:
        return items, scores
    top = top_positions(scores, items.size if k is None else min(k, items.size))
    return items[top], scores[top]
