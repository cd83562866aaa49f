"""The tail sampler of truncated Gumbel against the module docstring, computed independently.

For a word w with neighbour list ``listed[w]`` (rank 0 = w, up to K₂) the tail beyond rank K has
mass T(w) = Σ_{c not in ranks 0..K} exp(−ε d(w, c)/2), the band the same sum over ranks K+1..K₂,
and a tail draw is c with probability ∝ exp(−ε d(w, c)/2) over the tail (or the far tail, or the
band, for the parts). Here the lists are built by hand (float64 distances, ties ordered as chosen),
so each part is checked against a plain computation, never against the sampler's own numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from discoverly.privacy.tail import TailSampler


def _lists(vectors: np.ndarray, k2: int, *, ties_high_first: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour lists up to rank K₂ (rank 0 = the word) and the full float64 distance matrix."""
    v = vectors.astype(np.float64)
    d = np.linalg.norm(v[:, None] - v[None], axis=2)
    n = len(v)
    tiebreak = -np.arange(n) if ties_high_first else np.arange(n)
    idx = np.stack([np.lexsort((tiebreak, d[w]))[: k2 + 1] for w in range(n)])
    assert (idx[:, 0] == np.arange(n)).all()
    return idx, np.take_along_axis(d, idx, axis=1).astype(np.float32), d


def _cloud(n: int = 300, seed: int = 4) -> np.ndarray:
    """``n`` words around the origin and one far away (its tail weights are all below e^-745 at ε = 2)."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 4))
    v[-1] = [1000.0, 0.0, 0.0, 0.0]
    return v.astype(np.float32)


def _tie_vocab(scale: float = 1 / 64) -> np.ndarray:
    """Word 6 at the origin; words 0..5 at ±e_i·scale, all exactly ``scale`` from it; farther words behind.

    Powers of two keep every distance exact in float32, so six words tie exactly with the K₂-th one."""
    unit = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.float64)
    far = np.array([[2, 0, 0], [0, 3, 0], [0, 0, -4], [2, 2, 0], [-3, 0, 1]], dtype=np.float64)
    return (np.vstack([unit, [[0, 0, 0]], far]) * scale).astype(np.float32)


def _chi2(got: np.ndarray, p: np.ndarray) -> None:
    counts = np.bincount(got, minlength=len(p))
    assert counts[p == 0].sum() == 0, np.flatnonzero((p == 0) & (counts > 0))
    ok = p > 0
    assert stats.chisquare(counts[ok], p[ok] / p[ok].sum() * len(got)).pvalue > 1e-3


def _weights(d_row: np.ndarray, eps: float, allowed: np.ndarray) -> np.ndarray:
    p = np.zeros(len(d_row))
    p[allowed] = np.exp(-(eps / 2.0) * (d_row[allowed] - d_row[allowed].min()))
    return p / p.sum()


def test_log_masses_are_the_tail_and_band_sums() -> None:
    vectors = _cloud()
    k, k2 = 5, 12
    idx, dist, d = _lists(vectors, k2)
    sampler = TailSampler(vectors, idx, dist, k)
    seen: list[int] = []
    eps = [0.5, 2.0]
    log_t, log_band = sampler.log_masses(eps, progress_advance=seen.append)
    assert seen == [256, 44]  # one call per block of 256 rows, with the rows it did
    n = len(vectors)
    for i, e in enumerate(eps):
        for w in range(n):
            tail = np.setdiff1d(np.arange(n), idx[w, : k + 1])
            band = idx[w, k + 1:]
            assert log_t[i, w] == pytest.approx(logsumexp(-(e / 2) * d[w, tail]), rel=1e-5, abs=1e-4)
            assert log_band[i, w] == pytest.approx(logsumexp(-(e / 2) * d[w, band]), rel=1e-5, abs=1e-4)
    assert log_t[1, -1] < -990  # the far word's tail mass, not -inf


def test_without_a_band_the_band_mass_is_empty_and_draws_come_from_the_far_tail() -> None:
    vectors = _cloud(n=60, seed=1)
    k = 4
    idx, dist, d = _lists(vectors, k)  # K₂ = K: no band
    sampler = TailSampler(vectors, idx, dist, k)
    log_t, log_band = sampler.log_masses([1.0])
    assert np.isneginf(log_band).all()
    tail0 = np.setdiff1d(np.arange(60), idx[0])
    assert log_t[0, 0] == pytest.approx(logsumexp(-0.5 * d[0, tail0]), rel=1e-5)
    got = sampler.sample(np.full(20_000, 0), 1.0, log_t[0], log_band[0], np.random.default_rng(3))
    assert got.dtype == np.int64
    _chi2(got, _weights(d[0], 1.0, tail0))


def test_exact_draws_are_inverse_cdf_draws_of_each_word_s_own_row() -> None:
    """Many distinct words (three blocks of 128) and a word whose weights all underflow unless each row
    is normalised by its own largest weight; each draw is the inverse CDF of its own word's tail at
    the generator's uniform."""
    vectors = _cloud()
    k, k2, eps = 5, 12, 2.0
    idx, dist, d = _lists(vectors, k2)
    sampler = TailSampler(vectors, idx, dist, k)
    rng = np.random.default_rng(11)
    words = rng.permutation(np.repeat(np.arange(len(vectors)), 2))
    seed = 5
    for lo, hi in ((k2 + 1, None), (k + 1, k2 + 1)):
        got = sampler._exact(words, eps, np.random.default_rng(seed), lo=lo, hi=hi)
        assert got.dtype == np.int64
        u = np.random.default_rng(seed).random(len(words))
        for j, w in enumerate(words):
            allowed = idx[w, lo:hi] if hi is not None else np.setdiff1d(np.arange(len(vectors)), idx[w, :lo])
            cdf = np.cumsum(_weights(d[w], eps, allowed))
            # the word whose CDF step holds u (allowing float32 rounding at a step's edge)
            below = np.concatenate([[0.0], cdf[:-1]])
            ok = np.flatnonzero((below - 1e-4 <= u[j]) & (u[j] <= cdf + 1e-4) & (cdf > below))
            assert got[j] in ok, (j, w, got[j], ok)


@pytest.mark.parametrize("scale", [1 / 64, 4.0])
def test_far_tail_draws_with_ties_at_the_list_s_last_distance(scale: float) -> None:
    """Words as far as the K₂-th neighbour but not in the list belong to the far tail; those in the
    list do not (the list is cut inside a group of six words at exactly ``scale``; a small and a
    large distance, as deciding "as far as" needs both a relative and an absolute tolerance)."""
    vectors = _tie_vocab(scale)
    k, k2, w, eps = 1, 3, 6, 0.625 / scale
    idx, dist, d = _lists(vectors, k2, ties_high_first=True)
    assert idx[w].tolist() == [6, 5, 4, 3]  # words 0, 1, 2 tie with word 3 and are not listed
    sampler = TailSampler(vectors, idx, dist, k)
    far = np.setdiff1d(np.arange(len(vectors)), idx[w])
    p = _weights(d[w], eps, far)
    got = sampler._far(np.full(20_000, w), eps, np.random.default_rng(0), rounds=10_000)
    _chi2(got, p)
    assert np.isin([0, 1, 2], got).all()
    # no rounds: every draw from the exact fallback, still the far tail only
    fallback = sampler._far(np.full(20_000, w), eps, np.random.default_rng(1), rounds=0)
    _chi2(fallback, p)


def test_a_whole_tail_draw_by_rejection_only() -> None:
    """Small ε, few tokens per call: the sampler chooses rejection for every token (no exact rows);
    the band/far split and both rejection samplers together give the tail distribution."""
    vectors = _tie_vocab()
    k, k2, w, eps = 1, 3, 6, 0.1
    idx, dist, d = _lists(vectors, k2, ties_high_first=True)
    sampler = TailSampler(vectors, idx, dist, k)
    log_t, log_band = sampler.log_masses([eps])
    rng = np.random.default_rng(2)
    got = np.concatenate([sampler.sample(np.full(200, w), eps, log_t[0], log_band[0], rng) for _ in range(100)])
    tail = np.setdiff1d(np.arange(len(vectors)), idx[w, : k + 1])
    _chi2(got, _weights(d[w], eps, tail))
