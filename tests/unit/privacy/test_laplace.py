"""Multivariate Laplace: the noise distribution, exact and approximate search, and the guarantee."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from discoverly.errors import ConfigError
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


def _sigma_lambda(vectors: np.ndarray, lam: float) -> np.ndarray:
    """Σ_λ = λ Σ / mean(diag Σ) + (1 − λ) I, from the vocabulary's sample covariance (the module docstring)."""
    cov = np.cov(vectors.astype(np.float64).T)
    return lam * cov / np.trace(cov) * len(cov) + (1 - lam) * np.eye(len(cov))


@pytest.mark.parametrize(("shape", "lam"), [("spherical", 0.0), ("mahalanobis", 0.6), ("mahalanobis", 1.0)])
def test_noisy_vectors_are_centred_with_the_calibrated_covariance(toy: WordEmbeddings, shape: str,
                                                                  lam: float) -> None:
    # z = φ(w) + r · Σ_λ^{1/2} u, r ~ Gamma(d, 1/ε), u uniform on the sphere: E z = φ(w) and
    # Cov z = E[r²]/d · Σ_λ = (d + 1)/ε² · Σ_λ (Σ_λ = I for the spherical shape)
    eps, draws, w = 2.5, 200_000, 7
    mech = MultivariateLaplace(toy, shape=shape, lam=lam)
    z = mech.noisy_vectors(np.full(draws, w), eps, np.random.default_rng(3)).astype(np.float64)
    noise = z - toy.vectors[w]
    sigma = _sigma_lambda(toy.vectors, lam) if shape == "mahalanobis" else np.eye(toy.dim)
    expected = (toy.dim + 1) / eps**2 * sigma
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    np.testing.assert_allclose(noise.mean(axis=0) / np.sqrt(np.diag(expected)), 0.0, atol=0.01)
    np.testing.assert_allclose(np.cov(noise.T) / scale, expected / scale, atol=0.02)
    # the guarantee's distance: ‖Σ_λ^{-1/2} noise‖ has exactly the spherical radius law Gamma(d, 1/ε)
    w_eig, v_eig = np.linalg.eigh(sigma)
    r = np.linalg.norm(noise @ (v_eig / np.sqrt(w_eig)), axis=1)
    assert stats.kstest(r[:20_000], stats.gamma(a=toy.dim, scale=1 / eps).cdf).pvalue > 0.01


def test_guarantee_and_description_name_the_settings(toy: WordEmbeddings) -> None:
    spherical = MultivariateLaplace(toy)
    assert spherical.guarantee(1.5).startswith("metric DP: P(y|w) <= exp(1.5 * d(w, w'))")
    assert "lam" not in spherical.describe() and spherical.describe()["search"] == "exact"
    maha = MultivariateLaplace(toy, shape="mahalanobis", lam=0.25)
    assert maha.guarantee(3.0).startswith("metric DP: P(y|w) <= exp(3 * ||S^(-1/2)(w - w')||)")
    assert "S = 0.25 * normalised covariance + 0.75 * I" in maha.guarantee(3.0)
    assert {"shape": "mahalanobis", "lam": 0.25}.items() <= maha.describe().items()
    hnsw = MultivariateLaplace(toy, search="hnsw", hnsw_m=12, ef_search=30).describe()
    assert (hnsw["search"], hnsw["hnsw_m"], hnsw["ef_search"]) == ("hnsw", 12, 30)
    ivf = MultivariateLaplace(toy, search="ivf", ivf_probe=3).describe()
    assert (ivf["ivf_lists"], ivf["ivf_probe"]) == (25, 3)  # default max(16, int(4·√40)) = int(25.3)
    assert MultivariateLaplace(make_embeddings(n=9), search="ivf").describe()["ivf_lists"] == 16
    assert MultivariateLaplace(toy, search="ivf", ivf_lists=5).describe()["ivf_lists"] == 5


def test_settings_are_checked_at_their_boundaries(toy: WordEmbeddings) -> None:
    for lam in (0.0, 1.0):
        MultivariateLaplace(toy, shape="mahalanobis", lam=lam)
    MultivariateLaplace(toy, batch_size=1, vocab_block=1)
    bad: list[dict[str, object]] = [{"search": "brute"}, {"shape": "elliptic"}, {"lam": -0.01}, {"lam": 1.01},
                                    {"batch_size": 0}, {"vocab_block": 0}]
    for kwargs in bad:
        with pytest.raises(ConfigError, match=str(next(iter(kwargs)))):
            MultivariateLaplace(toy, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("search", ["exact", "hnsw"])
def test_every_batch_is_perturbed_and_searched(toy: WordEmbeddings, search: str) -> None:
    # at a huge ε the noise is negligible, so every token must come back as itself, whatever batch it was in
    if search != "exact":
        pytest.importorskip("faiss")
    idx = np.arange(len(toy)).repeat(110)  # 4,400 tokens: more than one exact batch and one faiss batch
    mech = MultivariateLaplace(toy, search=search, batch_size=7, vocab_block=9)
    np.testing.assert_array_equal(mech.privatize_indices(idx, 1e7, rng=0), idx)


def test_agreement_of_the_exact_search_with_itself(toy: WordEmbeddings) -> None:
    result = agreement(MultivariateLaplace(toy), epsilon=1.0, n=500)
    assert result == {"agreement": 1.0, "distance_ratio": pytest.approx(1.0), "n": 500}
    assert agreement(MultivariateLaplace(toy), epsilon=1.0)["n"] == 20_000


def test_a_seed_reproduces_the_noise_and_the_words(toy: WordEmbeddings) -> None:
    first = laplace_noise(50, 4, 1.0, rng=8)
    assert first.dtype == np.float32 and first.shape == (50, 4)  # as documented
    np.testing.assert_array_equal(laplace_noise(50, 4, 1.0, rng=8), first)
    mech = MultivariateLaplace(toy, batch_size=16)
    idx = np.arange(len(toy)).repeat(5)
    out = mech.privatize_indices(idx, 0.5, rng=4)
    np.testing.assert_array_equal(mech.privatize_indices(idx, 0.5, rng=4), out)
    assert (out != idx).any()  # at ε = 0.5 the words do move, so equal outputs mean the seed was used
    assert mech.noisy_vectors(idx, 0.5, np.random.default_rng(0)).dtype == np.float32


def test_word_mechanism_settings_reach_the_base_class(toy: WordEmbeddings) -> None:
    mech = MultivariateLaplace(toy, oov="mask", mask_token="[X]")
    assert (mech.describe()["oov"], mech.mask_token) == ("mask", "[X]")
