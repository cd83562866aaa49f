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
    days = history.days
    last = aligned_values(days, history.last)
    indptr = np.asarray(days.indptr, dtype=np.int64)
    indices = days.indices
    lengths = np.diff(indptr)
    if recent_items is not None and len(last) and lengths.max() > recent_items:
        rows = np.repeat(np.arange(len(lengths)), lengths)
        order = np.lexsort((indices, -last, rows))
        rank = np.empty(len(last), dtype=np.int64)
        rank[order] = np.arange(len(last)) - np.repeat(indptr[:-1], lengths)
        keep = rank < recent_items
        last, indices = last[keep], indices[keep]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=len(lengths)))])
    if half_life_days is None:
        weights = np.ones(len(last))
    else:
        weights = np.exp2(-np.maximum(history.now - last, 0.0) / (DAY * half_life_days))
    return sp.csr_matrix((weights, indices, indptr), shape=days.shape)


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
