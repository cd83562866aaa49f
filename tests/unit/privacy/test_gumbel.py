"""Truncated Gumbel: the closed form against an independent computation, the privacy bound, the
samplers against the closed form, k's distribution, and monotonicity in ε."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from discoverly.errors import ConfigError, DataError
from discoverly.privacy.gumbel import TruncatedGumbel
from discoverly.privacy.vocabulary import WordEmbeddings

from .conftest import make_embeddings

EPS = 2.0


def reference_distribution(emb: WordEmbeddings, eps: float, lam: float, alpha: float, k_max: int) -> np.ndarray:
    """P(y | w) straight from the definition: a mixture over k of the exponential mechanism on the
    truncated distance max(d, (1-a) d + a d_k(w)), computed on the full float64 distance matrix."""
    v = emb.vectors.astype(np.float64)
    d = np.linalg.norm(v[:, None] - v[None], axis=2)
    ks = np.arange(k_max + 1)
    pi = stats.poisson.pmf(ks, lam)
    pi /= pi.sum()
    out = np.zeros_like(d)
    for w in range(len(v)):
        ds = np.sort(d[w])
        for k in ks:
            u = -np.maximum(d[w], (1 - alpha) * d[w] + alpha * ds[k])
            logits = eps * u / 2
            p = np.exp(logits - logits.max())
            out[w] += pi[k] * p / p.sum()
    return out


@pytest.fixture
def mech(toy: WordEmbeddings) -> TruncatedGumbel:
    # K = 8 listed neighbours, band up to 16, the rest of the 40 words is the far tail
    return TruncatedGumbel(toy, mean_k=3.0, flatten=0.8, max_k=8, band_k=16)


def test_closed_form_matches_the_definition(mech: TruncatedGumbel, toy: WordEmbeddings) -> None:
    ref = reference_distribution(toy, EPS, 3.0, 0.8, 8)
    got = np.vstack([mech.output_distribution(w, EPS) for w in range(len(toy))])
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-6)  # float32 distances and exps
    np.testing.assert_allclose(got, ref, rtol=2e-4, atol=1e-12)


def test_privacy_loss_is_at_most_eps_times_distance(mech: TruncatedGumbel, toy: WordEmbeddings) -> None:
    v = toy.vectors.astype(np.float64)
    d = np.linalg.norm(v[:, None] - v[None], axis=2)
    for eps in (0.5, EPS, 6.0):
        logp = np.log(np.vstack([mech.output_distribution(w, eps) for w in range(len(toy))]))
        loss = np.abs(logp[:, None, :] - logp[None, :, :]).max(axis=2)  # max over outputs y
        off = ~np.eye(len(toy), dtype=bool)
        assert (loss[off] <= eps * d[off] * (1 + 1e-4) + 1e-6).all()
        # not vacuous: some pair uses a good part of its budget
        assert (loss[off] / (eps * d[off])).max() > 0.3


def test_empirical_ratio_for_neighbouring_words(mech: TruncatedGumbel, toy: WordEmbeddings) -> None:
    nb = mech.neighbour_lists
    w = int(np.argmin(nb.distances[:, 1]))
    w2 = int(nb.indices[w, 1])
    dist = float(nb.distances[w, 1])
    draws = 150_000
    a = np.bincount(mech.privatize_indices(np.full(draws, w), EPS, rng=3), minlength=len(toy))
    b = np.bincount(mech.privatize_indices(np.full(draws, w2), EPS, rng=4), minlength=len(toy))
    ok = (a >= 300) & (b >= 300)
    ratio = np.maximum(a[ok] / b[ok], b[ok] / a[ok])
    sigma = np.sqrt(1 / a[ok] + 1 / b[ok])
    assert (ratio <= np.exp(EPS * dist) * np.exp(4.5 * sigma)).all()


@pytest.mark.parametrize("method", ["table", "gumbel"])
@pytest.mark.parametrize("eps", [0.4, EPS])
def test_samplers_draw_the_closed_form(toy: WordEmbeddings, method: str, eps: float) -> None:
    mech = TruncatedGumbel(toy, mean_k=3.0, flatten=0.8, max_k=8, band_k=16, method=method)
    for w in (0, 21, 39):
        draws = 60_000
        counts = np.bincount(mech.privatize_indices(np.full(draws, w), eps, rng=w + 7), minlength=len(toy))
        expected = mech.output_distribution(w, eps) * draws
        big = expected >= 20
        obs = np.append(counts[big], counts[~big].sum())
        exp = np.append(expected[big], expected[~big].sum())
        keep = exp > 0
        assert stats.chisquare(obs[keep], exp[keep] * obs.sum() / exp[keep].sum()).pvalue > 1e-3


def test_k_is_a_truncated_poisson(mech: TruncatedGumbel) -> None:
    k = mech.draw_k(100_000, rng=0)
    assert k.min() >= 0 and k.max() <= mech.max_k
    pmf = mech.k_distribution()
    assert pmf.sum() == pytest.approx(1.0)
    counts = np.bincount(k, minlength=len(pmf))
    big = pmf * len(k) >= 5
    obs, exp = counts[big], pmf[big] * len(k)
    if (~big).any():
        obs, exp = np.append(obs, counts[~big].sum()), np.append(exp, pmf[~big].sum() * len(k))
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3
    assert k.mean() == pytest.approx(3.0, abs=0.05)


def test_n_w_never_decreases_with_epsilon(mech: TruncatedGumbel) -> None:
    grid = [0.1, 0.3, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0]
    n_w = np.vstack([mech.unchanged_probability(e) for e in grid])
    assert (np.diff(n_w, axis=0) >= -1e-9).all()
    assert n_w[0].mean() < 0.2 < 0.8 < n_w[-1].mean()  # a usable dial from "mostly changed" to "mostly kept"


def test_flat_zone_makes_neighbours_equally_likely() -> None:
    # flatten = 1 and a huge eps: given k, the word and its k nearest neighbours are exactly tied and
    # everything else is far less likely, so P(rank j) = sum_{k >= j} P(k) / (k + 1)
    x = np.arange(20, dtype=np.float64)
    line = WordEmbeddings([f"p{i}" for i in range(20)], np.c_[x + 0.1 * x**2, np.zeros(20)].astype(np.float32))
    mech = TruncatedGumbel(line, mean_k=2.0, flatten=1.0, max_k=8, band_k=12)
    pi = mech.k_distribution()
    expected = np.array([sum(pi[k] / (k + 1) for k in range(j, len(pi))) for j in range(len(pi))])
    for w in (0, 19):
        p = mech.output_distribution(w, 400.0)
        ranks = mech.neighbour_lists.indices[w]
        np.testing.assert_allclose(p[ranks], expected, atol=5e-3)
        assert p[w] < 0.5  # although eps is huge, the word keeps only its share of the flat zone


def test_bad_parameters(toy: WordEmbeddings) -> None:
    with pytest.raises(ConfigError):
        TruncatedGumbel(toy, flatten=1.5)
    with pytest.raises(ConfigError):
        TruncatedGumbel(toy, mean_k=-1)
    with pytest.raises(ConfigError):
        TruncatedGumbel(toy, method="magic")


def test_without_a_tail(toy: WordEmbeddings) -> None:
    small = make_embeddings(n=12, seed=2)
    mech = TruncatedGumbel(small, max_k=50)  # K = n - 1: every word is listed
    assert mech.max_k == 11
    p = mech.output_distribution(3, 1.0)
    assert p.sum() == pytest.approx(1.0)
    out = mech.privatize_indices(np.arange(12).repeat(100), 1.0, rng=0)
    assert ((out >= 0) & (out < 12)).all()


@pytest.mark.parametrize("rounds", [0, 48])
def test_tail_draws_follow_the_tail_distribution(mech: TruncatedGumbel, toy: WordEmbeddings, rounds: int) -> None:
    # rounds=0 sends every draw to the exact per-word fallback, 48 lets the sampler choose
    eps, w, draws = 0.7, 5, 40_000
    table = mech._table(eps)
    got = mech._tail.sample(np.full(draws, w), eps, table.log_tail_mass, table.log_band_mass,
                            np.random.default_rng(1), rounds=rounds)
    listed = mech.neighbour_lists.indices[w]
    assert not np.isin(got, listed).any()
    _chi2(got, mech.output_distribution(w, eps), listed, len(toy))


@pytest.mark.parametrize("part", ["band", "far"])
def test_rejection_samplers_are_exact(mech: TruncatedGumbel, toy: WordEmbeddings, part: str) -> None:
    eps, w, draws = 0.7, 11, 30_000
    tail = mech._tail
    rng = np.random.default_rng(2)
    if part == "band":
        got = tail._band(np.full(draws, w), eps, rng, rounds=10_000)
        excluded = np.concatenate([tail.listed[w, : tail.k + 1]])
        allowed = tail.listed[w, tail.k + 1:]
        assert np.isin(got, allowed).all()
    else:
        got = tail._far(np.full(draws, w), eps, rng, rounds=10_000)
        excluded = tail.listed[w]
        assert not np.isin(got, excluded).any()
    p = mech.output_distribution(w, eps)
    if part == "band":
        mask = np.ones(len(toy), dtype=bool)
        mask[allowed] = False
        p[mask] = 0
    _chi2(got, p, excluded, len(toy))


def _chi2(got: np.ndarray, p: np.ndarray, excluded: np.ndarray, n: int) -> None:
    p = p.copy()
    p[excluded] = 0
    counts = np.bincount(got, minlength=n)
    ok = p > 0
    assert stats.chisquare(counts[ok], p[ok] / p[ok].sum() * len(got)).pvalue > 1e-3


def test_unchanged_probability_and_curve_are_the_definitions_diagonal(mech: TruncatedGumbel,
                                                                     toy: WordEmbeddings) -> None:
    grid = [0.5, EPS, 5.0]
    diag = np.vstack([np.diag(reference_distribution(toy, e, 3.0, 0.8, 8)) for e in grid])
    rows = np.array([0, 5, 21, 39])
    np.testing.assert_allclose(mech.unchanged_curve(grid, rows=rows), diag[:, rows], rtol=2e-4)
    np.testing.assert_allclose(mech.unchanged_curve(grid), diag, rtol=2e-4)
    fresh = TruncatedGumbel(toy, mean_k=3.0, flatten=0.8, max_k=8, band_k=16, cache=False)
    fresh.prepare(grid)  # several ε in one pass over the distances
    for i, e in enumerate(grid):
        np.testing.assert_allclose(fresh.unchanged_probability(e), diag[i], rtol=2e-4)


def test_mean_k_zero_is_the_plain_exponential_mechanism(toy: WordEmbeddings) -> None:
    # k = 0 always: nothing is flattened, P(y | w) ∝ exp(−ε d(w, y) / 2)
    mech = TruncatedGumbel(toy, mean_k=0.0, flatten=0.8, max_k=8, band_k=16)
    expected_k = np.zeros(9)
    expected_k[0] = 1.0
    np.testing.assert_array_equal(mech.k_distribution(), expected_k)
    assert (mech.draw_k(1000, rng=0) == 0).all()
    v = toy.vectors.astype(np.float64)
    d = np.linalg.norm(v[:, None] - v[None], axis=2)
    for w in (0, 17):
        p = np.exp(-EPS * d[w] / 2)
        np.testing.assert_allclose(mech.output_distribution(toy.words[w], EPS), p / p.sum(), rtol=2e-4)


def test_flatten_zero_and_one_are_allowed_and_match_the_definition(toy: WordEmbeddings) -> None:
    for alpha in (0.0, 1.0):
        mech = TruncatedGumbel(toy, mean_k=2.0, flatten=alpha, max_k=8, band_k=16)
        ref = reference_distribution(toy, EPS, 2.0, alpha, 8)
        for w in (3, 30):
            np.testing.assert_allclose(mech.output_distribution(w, EPS), ref[w], rtol=2e-4, atol=1e-12)


def test_default_mean_k_and_description(toy: WordEmbeddings) -> None:
    mech = TruncatedGumbel(toy, max_k=8, band_k=16)
    assert mech.mean_k == pytest.approx(np.log(len(toy) - 1))
    desc = mech.describe()
    assert {"mean_k": mech.mean_k, "flatten": 0.98, "max_k": 8, "band_k": 16, "method": "table",
            "gumbel_scale": "2/epsilon"}.items() <= desc.items()
    assert TruncatedGumbel(toy, max_k=8, band_k=4).band_k == 8  # the band holds at least the listed words
    assert TruncatedGumbel(toy, max_k=8, band_k=500).band_k == len(toy) - 1


def test_more_parameter_checks(toy: WordEmbeddings) -> None:
    for kwargs in ({"flatten": -0.01}, {"flatten": 1.01}, {"mean_k": float("nan")}, {"mean_k": float("inf")},
                   {"max_k": 0}):
        with pytest.raises(ConfigError, match=str(next(iter(kwargs)))):
            TruncatedGumbel(toy, **kwargs)  # type: ignore[arg-type]
    TruncatedGumbel(toy, max_k=1, band_k=1)
    lists = TruncatedGumbel(toy, max_k=4, band_k=4).neighbour_lists
    with pytest.raises(ConfigError, match="max_k=8 needs more"):
        TruncatedGumbel(toy, max_k=8, neighbour_lists=lists)
    with pytest.raises(ConfigError, match="another vocabulary"):
        TruncatedGumbel(make_embeddings(seed=9), max_k=4, neighbour_lists=lists)
    with pytest.raises(DataError, match="not a vocabulary word or row"):
        TruncatedGumbel(toy, max_k=4).output_distribution(len(toy), EPS)


def test_only_the_latest_tables_are_kept(toy: WordEmbeddings) -> None:
    mech = TruncatedGumbel(toy, mean_k=3.0, flatten=0.8, max_k=8, band_k=16, max_tables=2)
    for e in (1.0, 2.0, 3.0):
        mech.unchanged_probability(e)
    assert list(mech._tables) == [2.0, 3.0]


def test_tail_masses_are_cached_and_a_broken_cache_is_ignored(toy: WordEmbeddings, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    ref = reference_distribution(toy, EPS, 3.0, 0.8, 8)[4]
    first = TruncatedGumbel(toy, mean_k=3.0, flatten=0.8, max_k=8, band_k=16, cache=tmp_path)
    np.testing.assert_allclose(first.output_distribution(4, EPS), ref, rtol=2e-4, atol=1e-12)
    cached = list(tmp_path.glob("tails-*-8-16"))
    assert len(cached) == 1
    again = TruncatedGumbel(toy, mean_k=3.0, flatten=0.8, max_k=8, band_k=16, cache=tmp_path)
    assert EPS in again._tail_cache_read()
    np.testing.assert_allclose(again.output_distribution(4, EPS), ref, rtol=2e-4, atol=1e-12)
    assert "tail masses" not in again.timings  # read, not recomputed
    for f in cached[0].iterdir():
        f.write_bytes(b"not an artifact")
    broken = TruncatedGumbel(toy, mean_k=3.0, flatten=0.8, max_k=8, band_k=16, cache=tmp_path)
    with caplog.at_level("WARNING"):
        np.testing.assert_allclose(broken.output_distribution(4, EPS), ref, rtol=2e-4, atol=1e-12)
    assert "ignoring a broken tail-mass cache" in caplog.text


def test_k_redraws_keep_the_poisson_mean_when_most_draws_are_rejected(toy: WordEmbeddings) -> None:
    # λ = 3 truncated to {0, 1, 2}: P(k) ∝ 3^k / k! = 1, 3, 4.5, so more than half the first draws are redrawn
    mech = TruncatedGumbel(toy, mean_k=3.0, max_k=2, band_k=16)
    pmf = np.array([1.0, 3.0, 4.5]) / 8.5
    np.testing.assert_allclose(mech.k_distribution(), pmf, rtol=1e-12)
    k = mech.draw_k(30_000, rng=1)
    assert stats.chisquare(np.bincount(k, minlength=3), pmf * len(k)).pvalue > 1e-3
    np.testing.assert_array_equal(mech.draw_k(500, rng=9), mech.draw_k(500, rng=9))  # the seed is used


@pytest.mark.parametrize("method", ["table", "gumbel"])
def test_a_seed_reproduces_the_draws(toy: WordEmbeddings, method: str) -> None:
    mech = TruncatedGumbel(toy, mean_k=3.0, flatten=0.8, max_k=8, band_k=16, method=method)
    idx = np.arange(len(toy)).repeat(20)
    out = mech.privatize_indices(idx, 1.0, rng=6)
    np.testing.assert_array_equal(mech.privatize_indices(idx, 1.0, rng=6), out)
    assert (out != idx).any()


def test_without_a_tail_the_curve_and_prepare_match_the_definition() -> None:
    small = make_embeddings(n=12, seed=2)
    mech = TruncatedGumbel(small, mean_k=2.0, flatten=0.5, max_k=50)  # K = n − 1: nothing beyond the list
    mech.prepare(1.5)  # one ε, not a list
    ref = [np.diag(reference_distribution(small, e, 2.0, 0.5, 11)) for e in (1.5, 4.0)]
    np.testing.assert_allclose(mech.unchanged_probability(1.5), ref[0], rtol=2e-4)
    np.testing.assert_allclose(mech.unchanged_curve([1.5, 4.0], rows=np.array([0, 11])),
                               np.vstack(ref)[:, [0, 11]], rtol=2e-4)


def test_word_mechanism_settings_reach_the_base_class(toy: WordEmbeddings) -> None:
    mech = TruncatedGumbel(toy, max_k=8, band_k=16, oov="keep")
    assert mech.describe()["oov"] == "keep"


def test_mean_k_one_is_a_truncated_poisson_not_a_special_case(toy: WordEmbeddings) -> None:
    pmf = np.array([1 / math.factorial(k) for k in range(4)])  # λ = 1: P(k) ∝ 1/k! on {0..3}
    mech = TruncatedGumbel(toy, mean_k=1.0, max_k=3, band_k=16)
    np.testing.assert_allclose(mech.k_distribution(), pmf / pmf.sum(), rtol=1e-12)


def test_tables_past_one_block_of_2048_words() -> None:
    big = make_embeddings(n=2100, dim=3, seed=5)
    mech = TruncatedGumbel(big, mean_k=2.0, flatten=0.8, max_k=6, band_k=12, cache=False)
    rows = np.array([0, 2047, 2048, 2099])
    v = big.vectors.astype(np.float64)
    pi = stats.poisson.pmf(np.arange(7), 2.0)
    pi /= pi.sum()
    expected = []
    for w in rows:  # P(w | w) from the definition, one row of distances at a time
        d = np.linalg.norm(v - v[w], axis=1)
        ds = np.sort(d)
        p_w = 0.0
        for k in range(7):
            logits = -EPS * np.maximum(d, 0.2 * d + 0.8 * ds[k]) / 2
            p = np.exp(logits - logits.max())
            p_w += pi[k] * p[w] / p.sum()
        expected.append(p_w)
    np.testing.assert_allclose(mech.unchanged_probability(EPS)[rows], expected, rtol=2e-4)
    np.testing.assert_allclose(mech.unchanged_curve([EPS])[0, rows], expected, rtol=2e-4)
