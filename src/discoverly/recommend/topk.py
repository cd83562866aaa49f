"""Top-k selection over dense score rows."""

from __future__ import annotations

import numpy as np

__all__ = ["top_k"]

#: entries per group whose maxima bound a row's k-th best score from below (see _top_k_candidates)
_BLOCK = 64


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` largest finite entries of each row, best first.

    Entries equal to ``-inf`` (no opinion, or excluded) are never returned: such slots are padded
    with index ``-1`` and score ``nan``. Ties are broken by the lower index, so results are
    deterministic.
    """
    scores = np.atleast_2d(scores)
    n, m = scores.shape
    kk = min(k, m)
    out_idx = np.full((n, k), -1, dtype=np.int64)
    out_sc = np.full((n, k), np.nan, dtype=np.float32)
    if n == 0 or m == 0:
        return out_idx, out_sc
    if kk < m and m >= 2 * kk * _BLOCK and np.issubdtype(scores.dtype, np.floating) and \
            _top_k_candidates(scores, kk, out_idx, out_sc):
        return out_idx, out_sc
    if kk < m:
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        # ties at the boundary: argpartition may pick any of them; fix by a stable re-selection
        part_sc = np.take_along_axis(scores, part, axis=1)
        kth = part_sc.min(axis=1, keepdims=True)
        boundary_ties = np.isfinite(kth[:, 0]) & ((scores == kth).sum(axis=1) > (part_sc == kth).sum(axis=1))
        if boundary_ties.any():
            for r in np.nonzero(boundary_ties)[0]:
                order = np.lexsort((np.arange(m), -scores[r]))[:kk]
                part[r] = order
    else:
        part = np.tile(np.arange(m), (n, 1))
    part_sc = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_sc), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    sc = np.take_along_axis(part_sc, order, axis=1)
    valid = sc > -np.inf  # -inf (no opinion) and nan are never returned
    idx = np.where(valid, idx, -1)
    sc = np.where(valid, sc, np.nan)
    out_idx[:, :kk] = idx
    out_sc[:, :kk] = sc
    return out_idx, out_sc


def _top_k_candidates(scores: np.ndarray, kk: int, out_idx: np.ndarray, out_sc: np.ndarray) -> bool:
    """:func:`top_k` for wide rows by pruning: split each row into groups of ``_BLOCK`` entries (the
    entries ``j, j + g, j + 2g, ...`` for ``g`` groups, so one pass over contiguous memory takes their
    maxima); the ``kk``-th largest group maximum is at most the row's ``kk``-th best score (``kk``
    groups hold an entry at least that large), so only entries at or above it can be chosen, and
    those few are ranked by one sort.

    Fills ``out_idx`` / ``out_sc`` and returns True, or returns False (nothing written) when a row
    has nan or too many entries survive (e.g. a row of equal scores): the caller then partitions.
    """
    n, m = scores.shape
    groups = m // _BLOCK
    full = groups * _BLOCK
    maxima = scores[:, :full].reshape(n, _BLOCK, groups).max(axis=1)
    if full < m:
        maxima = np.concatenate([maxima, scores[:, full:].max(axis=1, keepdims=True)], axis=1)
    if np.isnan(maxima).any():
        return False
    floor = np.partition(maxima, maxima.shape[1] - kk, axis=1)[:, maxima.shape[1] - kk]
    # -inf is never returned: a row with fewer than kk groups holding a score keeps its finite entries
    floor = np.maximum(floor, -np.finfo(scores.dtype).max)
    flat = np.flatnonzero(scores >= floor[:, None])
    if len(flat) > n * m // 8:
        return False
    rows, cols = flat // m, flat % m
    vals = scores[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    counts = np.bincount(rows, minlength=n)
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = rank < kk
    out_idx[rows[keep], rank[keep]] = cols[keep]
    out_sc[rows[keep], rank[keep]] = vals[keep]
    return True
