"""Top-k selection over dense score rows."""

from __future__ import annotations

import numpy as np

__all__ = ["top_k"]


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
