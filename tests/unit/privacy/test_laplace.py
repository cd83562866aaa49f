"""Multivariate Laplace: the noise distribution, exact and approximate search, and the guarantee."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from discoverly.privacy.laplace import MultivariateLaplace, agreement, laplace_noise
from discoverly.privacy.vocabulary import WordEmbeddings

from .conftest import make_embeddings


def test_magnitude_is_gamma_d_one_over_epsilon() -> None:
    dim, eps = 5, 2.0
    z = laplace_noise(40_000, dim, eps, rng=11)
    r = np.linalg.norm(z.astype(np.float64), axis=1)
    assert stats.kstest(r, stats.gamma(a=dim, scale=1 / eps).cdf).pvalue > 0.01
    # the test has power: a rate/scale mix-up would be caught
    assert stats.kstest(r, stats.gamma(a=dim, scale=eps).cdf).pvalue < 1e-6
    assert stats.kstest(r, stats.gamma(a=dim + 1, scale=1 / eps).cdf).pvalue < 1e-6


def test_direction_is_uniform_on_the_sphere() -> None:
    z = laplace_noise(40_000, 3, 1.0, rng=5).astype(np.float64)
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    assert np.abs(u.mean(axis=0)).max() < 0.02
    # on S^2 each coordinate is uniform on [-1, 1] (Archimedes)
    assert stats.kstest(u[:, 0], stats.uniform(loc=-1, scale=2).cdf).pvalue > 0.01


def test_exact_search_matches_brute_force(toy: WordEmbeddings) -> None:
    rng = np.random.default_rng(0)
    q = rng.normal(size=(500, toy.dim)).astype(np.float32) * 3
    brute = np.linalg.norm(q[:, None, :] - toy.vectors[None], axis=2).argmin(axis=1)
    one_block = MultivariateLaplace(toy)
    many_blocks = MultivariateLaplace(toy, vocab_block=7)
    np.testing.assert_array_equal(one_block.nearest(q), brute)
    np.testing.assert_array_equal(many_blocks.nearest(q), brute)


@pytest.mark.parametrize("search", ["hnsw", "ivf"])
def test_approximate_search_agrees_with_exact(search: str) -> None:
    pytest.importorskip("faiss")
    emb = make_embeddings(n=300, dim=8, seed=4)
    approx = MultivariateLaplace(emb, search=search, ivf_lists=16, ivf_probe=16)
    result = agreement(approx, epsilon=5.0, n=2000, rng=1)
    assert result["agreement"] > 0.97
    assert result["distance_ratio"] >= 1.0


def _ratio_check(out_a: np.ndarray, out_b: np.ndarray, bound: float) -> float:
    """Largest empirical P(y|a)/P(y|b) over well-sampled outputs, asserting the bound within error."""
    ca, cb = np.bincount(out_a, minlength=64), np.bincount(out_b, minlength=64)
    worst = 0.0
    for y in np.flatnonzero((ca >= 400) & (cb >= 400)):
        ratio = (ca[y] / len(out_a)) / (cb[y] / len(out_b))
        sigma = np.sqrt(1 / ca[y] + 1 / cb[y])
        assert ratio <= bound * np.exp(4.5 * sigma), (y, ratio, bound)
        worst = max(worst, ratio)
    return worst


def test_empirical_probability_ratio_is_bounded_by_exp_eps_d() -> None:
    # five words on a line, 1 apart: the guarantee is P(y|w) <= exp(eps * d(w, w')) P(y|w')
    vectors = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0], [4, 0]], dtype=np.float32)
    emb = WordEmbeddings([f"v{i}" for i in range(5)], vectors)
    mech = MultivariateLaplace(emb)
    eps, draws = 1.2, 120_000
    a = mech.privatize_indices(np.full(draws, 1), eps, rng=1)
    b = mech.privatize_indices(np.full(draws, 2), eps, rng=2)
    bound = np.exp(eps * 1.0)
    worst = max(_ratio_check(a, b, bound), _ratio_check(b, a, bound))
    assert worst > 1.3  # the check is informative: the two words' output distributions do differ


def test_mahalanobis_variant(toy: WordEmbeddings) -> None:
    mech = MultivariateLaplace(toy, shape="mahalanobis", lam=0.5)
    out = mech.privatize_indices(np.arange(len(toy)), 3.0, rng=0)
    assert ((out >= 0) & (out < len(toy))).all()
    assert "covariance" in mech.guarantee(3.0)
    assert mech.describe()["lam"] == 0.5
