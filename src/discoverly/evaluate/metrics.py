"""Ranking metrics per user, vectorised over users: HitRate@k, Recall@k, NDCG@k, and coverage.

Inputs are the same everywhere:

* ``top`` — an ``(n_users, K)`` integer array of recommended item indices, best first, padded
  with ``-1`` where a list is shorter than ``K`` (what ``recommend_indices`` returns);
* ``targets`` — an ``(n_users, n_items)`` sparse matrix whose non-zero entries are the items each
  user actually consumed in the evaluation window (values are ignored).

Definitions (``T_u`` = the user's target set, ``hit_j`` = 1 when the item at rank ``j`` is in
``T_u``):

* ``HitRate@k`` = 1 if any of the top ``k`` is in ``T_u`` else 0 — the share of users with at
  least one correct item, the headline number of the protocol;
* ``Recall@k`` = ``Σ_{j<k} hit_j / |T_u|`` (the classical recall; a user with 40 targets can reach
  at most ``k/40``);
* ``NDCG@k`` = ``Σ_{j<k} hit_j / log2(j + 2)`` divided by the same sum for an ideal list, which
  places ``min(k, |T_u|)`` targets first;
* ``Coverage@k`` = the share of the recommendable items (by default all items) that appear in at
  least one user's top ``k``; a property of the whole set of lists, not a per-user mean.

Users with an empty target set get ``nan`` for every per-user metric; the protocol never creates
such users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from discoverly.errors import ConfigError

__all__ = [
    "METRICS",
    "CoverageEstimate",
    "coverage",
    "coverage_bootstrap",
    "hit_rate",
    "hits",
    "ndcg",
    "per_user_metrics",
    "recall",
]

#: the per-user metric families, in the order they are reported
METRICS = ("HitRate", "Recall", "NDCG")


def _check(top: np.ndarray, targets: sp.spmatrix | sp.sparray) -> tuple[np.ndarray, sp.csr_matrix]:
    top = np.asarray(top)
    if top.ndim != 2:
        raise ConfigError(f"top must be a 2-d (users × k) array of item indices, got shape {top.shape}")
    t = sp.csr_matrix(targets)
    if t.shape[0] != top.shape[0]:
        raise ConfigError(f"top has {top.shape[0]} rows (users) but targets has {t.shape[0]}; "
                          "they must describe the same users in the same order")
    if top.size and top.max() >= t.shape[1]:
        raise ConfigError(f"top holds item index {int(top.max())} but targets has only {t.shape[1]} items")
    return top.astype(np.int64, copy=False), t


def hits(top: np.ndarray, targets: sp.spmatrix | sp.sparray) -> np.ndarray:
    """Boolean ``(n_users, K)``: whether the item at each rank is one of the user's targets.

    Padding (``-1``) is never a hit. Vectorised: every (user, item) pair is encoded as one integer
    and looked up in the sorted codes of the targets.
    """
    top, t = _check(top, targets)
    n, k = top.shape
    if n == 0 or k == 0 or t.nnz == 0:
        return np.zeros((n, k), dtype=bool)
    t = t.copy()
    t.sum_duplicates()
    t.sort_indices()
    n_items = np.int64(t.shape[1])
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(t.indptr))
    codes = rows * n_items + t.indices.astype(np.int64)  # sorted: rows ascending, then indices
    query = np.arange(n, dtype=np.int64)[:, None] * n_items + top
    pos = np.searchsorted(codes, query)
    found = np.zeros_like(query, dtype=bool)
    inside = pos < len(codes)
    found[inside] = codes[pos[inside]] == query[inside]
    return found & (top >= 0)


def _target_sizes(targets: sp.csr_matrix) -> np.ndarray:
    t = targets.copy()
    t.sum_duplicates()
    return np.diff(t.indptr).astype(np.float64)


def _check_k(k: int, width: int) -> None:
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    if k > width:
        raise ConfigError(f"k={k} but the lists hold only {width} items; recommend at least k items")


def hit_rate(top: np.ndarray, targets: sp.spmatrix | sp.sparray, k: int) -> np.ndarray:
    """Per user: 1.0 if any of the top ``k`` is a target, else 0.0 (``nan`` without targets)."""
    h = hits(top, targets)
    _check_k(k, h.shape[1])
    out: np.ndarray = np.asarray(h[:, :k].any(axis=1), dtype=np.float64)
    out[_target_sizes(sp.csr_matrix(targets)) == 0] = np.nan
    return out


def recall(top: np.ndarray, targets: sp.spmatrix | sp.sparray, k: int) -> np.ndarray:
    """Per user: targets found in the top ``k`` divided by the number of targets."""
    h = hits(top, targets)
    _check_k(k, h.shape[1])
    size = _target_sizes(sp.csr_matrix(targets))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, h[:, :k].sum(axis=1) / size, np.nan)


def _ndcg_from_hits(h: np.ndarray, size: np.ndarray, k: int) -> np.ndarray:
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (h[:, :k] * discount).sum(axis=1)
    ideal_cum = np.concatenate([[0.0], np.cumsum(discount)])
    idcg = ideal_cum[np.minimum(size, k).astype(np.int64)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, dcg / idcg, np.nan)


def ndcg(top: np.ndarray, targets: sp.spmatrix | sp.sparray, k: int) -> np.ndarray:
    """Per user: normalised discounted cumulative gain of the top ``k`` (binary relevance)."""
    h = hits(top, targets)
    _check_k(k, h.shape[1])
    return _ndcg_from_hits(h, _target_sizes(sp.csr_matrix(targets)), k)


def per_user_metrics(top: np.ndarray, targets: sp.spmatrix | sp.sparray,
                     ks: tuple[int, ...] | list[int]) -> dict[str, np.ndarray]:
    """All per-user metrics for every ``k`` in one pass: ``{"HitRate@6": array, "Recall@6": …}``."""
    h = hits(top, targets)
    size = _target_sizes(sp.csr_matrix(targets))
    out: dict[str, np.ndarray] = {}
    for k in ks:
        _check_k(k, h.shape[1])
        found = h[:, :k].sum(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"HitRate@{k}"] = np.where(size > 0, (found > 0).astype(np.float64), np.nan)
            out[f"Recall@{k}"] = np.where(size > 0, found / size, np.nan)
        out[f"NDCG@{k}"] = _ndcg_from_hits(h, size, k)
    return out


def coverage(top: np.ndarray, k: int, n_items: int, *, recommendable: np.ndarray | None = None) -> float:
    """Share of the recommendable items that appear in at least one user's top ``k``.

    ``recommendable`` is a boolean mask over items (default: all ``n_items``); recommended items
    outside it still count in the numerator only if they are inside the mask.
    """
    top = np.asarray(top)
    _check_k(k, top.shape[1])
    mask = np.ones(n_items, dtype=bool) if recommendable is None else np.asarray(recommendable, dtype=bool)
    if mask.shape != (n_items,):
        raise ConfigError(f"recommendable must be a mask of {n_items} items, got shape {mask.shape}")
    denom = int(mask.sum())
    if denom == 0:
        return float("nan")
    shown = np.zeros(n_items, dtype=bool)
    sel = top[:, :k]
    shown[sel[sel >= 0]] = True
    return float((shown & mask).sum() / denom)


@dataclass(frozen=True)
class CoverageEstimate:
    """Coverage with a bootstrap interval over users (resampled with replacement)."""

    value: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "ci": [self.low, self.high], "n": self.n}


def coverage_bootstrap(top: np.ndarray, k: int, n_items: int, *, recommendable: np.ndarray | None = None,
                       level: float = 0.95, n_boot: int = 200,
                       rng: int | np.random.Generator | None = 0) -> CoverageEstimate:
    """:func:`coverage` with a bootstrap interval over users.

    Coverage is not a mean over users, so :func:`~discoverly.evaluate.stats.bootstrap_ci` does not
    apply; instead each replicate resamples the users with replacement and recounts the distinct
    items shown. A resample holds only about 63% distinct users, so its coverage is biased low;
    the interval is therefore the bootstrap distribution *re-centred on the point value* (its
    2.5% and 97.5% quantiles shifted by ``value − mean``), clipped to [0, 1]. Read it as "how much
    coverage moves with which users happen to be tested".
    """
    top = np.asarray(top)
    _check_k(k, top.shape[1])
    value = coverage(top, k, n_items, recommendable=recommendable)
    n = top.shape[0]
    if n == 0 or not np.isfinite(value):
        return CoverageEstimate(value, float("nan"), float("nan"), n)
    mask = np.ones(n_items, dtype=bool) if recommendable is None else np.asarray(recommendable, dtype=bool)
    sel = top[:, :k]
    rows, cols = np.nonzero(sel >= 0)
    # users × items indicator of what each user was shown (restricted to the mask)
    items = sel[rows, cols]
    keep = mask[items]
    shown = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], items[keep])),
                          shape=(n, n_items))
    shown.sum_duplicates()
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    denom = int(mask.sum())
    values = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(1, n))
    for a in range(0, n_boot, chunk):
        b = min(n_boot, a + chunk)
        draws = gen.integers(0, n, size=(b - a, n))
        counts = sp.csr_matrix((np.ones(draws.size, dtype=np.float32),
                                (np.repeat(np.arange(b - a), n), draws.ravel())), shape=(b - a, n))
        covered = counts @ shown
        covered.sum_duplicates()
        values[a:b] = np.diff(covered.indptr) / denom
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha]) + (value - values.mean())
    return CoverageEstimate(value, float(max(0.0, low)), float(min(1.0, high)), n)
