"""What a user's history says about time: values aligned to the items seen, and recency weights."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from discoverly.recommend.base import DAY
from discoverly.recommend.history import History

__all__ = ["aligned_values", "recent_item_weights"]


def recent_item_weights(history: History, recent_items: int | None, half_life_days: float | None) -> sp.csr_matrix:
    """Users × items weights of each user's ``recent_items`` most recent items (by last event),
    ``0.5 ** (age_days / half_life_days)`` (1.0 without a half-life). Ties in time go to the lower
    item index."""
    last = sp.csr_matrix(history.days, copy=True)
    last.data = aligned_values(history.days, history.last)
    n = last.shape[0]
    rows = np.repeat(np.arange(n), np.diff(last.indptr))
    keep = np.ones(last.nnz, dtype=bool)
    if recent_items is not None and last.nnz:
        order = np.lexsort((last.indices, -last.data, rows))
        rank = np.empty(last.nnz, dtype=np.int64)
        rank[order] = np.arange(last.nnz) - np.repeat(last.indptr[:-1], np.diff(last.indptr))
        keep = rank < recent_items
    age_days = np.maximum(history.now - last.data, 0.0) / DAY
    weights = np.ones(last.nnz) if half_life_days is None else np.exp2(-age_days / half_life_days)
    out = sp.csr_matrix((weights[keep], (rows[keep], last.indices[keep])), shape=last.shape)
    out.sort_indices()
    return out


def aligned_values(pattern: sp.csr_matrix, values: sp.csr_matrix) -> np.ndarray:
    """``values`` at the nonzero positions of ``pattern`` (0 where ``values`` has none)."""
    if (values.nnz == pattern.nnz and np.array_equal(values.indptr, pattern.indptr)
            and np.array_equal(values.indices, pattern.indices)):
        return np.asarray(values.data, dtype=np.float64)
    ncol = pattern.shape[1]
    pk = np.repeat(np.arange(pattern.shape[0], dtype=np.int64), np.diff(pattern.indptr)) * ncol + pattern.indices
    v = sp.csr_matrix(values)
    v.sort_indices()
    vk = np.repeat(np.arange(v.shape[0], dtype=np.int64), np.diff(v.indptr)) * ncol + v.indices
    pos = np.clip(np.searchsorted(vk, pk), 0, max(len(vk) - 1, 0))
    found = (vk[pos] == pk) if len(vk) else np.zeros(len(pk), dtype=bool)
    return np.where(found, v.data[pos] if len(vk) else 0.0, 0.0).astype(np.float64)
