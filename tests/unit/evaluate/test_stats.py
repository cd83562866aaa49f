"""Bootstrap intervals and paired tests: sanity of coverage, known p-values, clusters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from discoverly.errors import ConfigError
from discoverly.evaluate.stats import bootstrap_ci, check_n_boot, paired_test


def test_bootstrap_ci_of_a_constant_is_a_point() -> None:
    est = bootstrap_ci(np.ones(50))
    assert (est.value, est.low, est.high, est.n) == (1.0, 1.0, 1.0, 50)


def test_bootstrap_ci_is_reproducible_with_a_seed() -> None:
    v = np.random.default_rng(3).random(200)
    assert bootstrap_ci(v, rng=7) == bootstrap_ci(v, rng=7)
    assert bootstrap_ci(v, rng=7).ci != bootstrap_ci(v, rng=8).ci


def test_bootstrap_ci_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    # 300 samples of 150 Bernoulli(0.3) users; a 95% interval should contain 0.3 in ~95% of them
    gen = np.random.default_rng(0)
    covered = 0
    reps = 300
    for _ in range(reps):
        est = bootstrap_ci(gen.random(150) < 0.3, n_boot=400, rng=gen)
        covered += est.low <= 0.3 <= est.high
    assert 0.89 <= covered / reps <= 0.99


def test_empty_values_give_nan() -> None:
    est = bootstrap_ci(np.array([]))
    assert est.n == 0 and np.isnan(est.value)


def test_bad_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        bootstrap_ci(np.ones(3), level=1.5)
    for n_boot in (0, -1):
        with pytest.raises(ConfigError, match="n_boot"):
            bootstrap_ci(np.ones(3), n_boot=n_boot)
        with pytest.raises(ConfigError, match="n_boot"):
            paired_test(np.ones(3), np.zeros(3), n_boot=n_boot)


def test_cluster_bootstrap_is_wider_when_values_repeat_within_clusters() -> None:
    gen = np.random.default_rng(1)
    base = (gen.random(200) < 0.4).astype(float)
    values = np.repeat(base, 3)  # every user counted three times, identically
    groups = np.repeat(np.arange(200), 3)
    naive = bootstrap_ci(values, rng=0)
    clustered = bootstrap_ci(values, groups=groups, rng=0)
    assert naive.value == clustered.value
    assert (clustered.high - clustered.low) > 1.4 * (naive.high - naive.low)
    # and clustered on repeated values equals the plain interval of one copy (same n of clusters)
    single = bootstrap_ci(base, rng=0)
    assert clustered.high - clustered.low == pytest.approx(single.high - single.low, rel=0.15)
    with pytest.raises(ConfigError):
        bootstrap_ci(values, groups=groups[:-1])


def test_paired_test_of_identical_inputs_has_p_one() -> None:
    x = np.random.default_rng(0).random(500)
    t = paired_test(x, x)
    assert t.p_value == 1.0
    assert t.difference.value == 0.0


def test_paired_test_detects_a_clear_difference() -> None:
    gen = np.random.default_rng(0)
    a = (gen.random(800) < 0.40).astype(float)
    b = np.where(gen.random(800) < 0.5, 0.0, a)  # b loses half of a's hits
    t = paired_test(a, b)
    assert t.p_value < 0.001
    assert t.difference.low > 0


def test_paired_test_no_difference_is_not_significant() -> None:
    gen = np.random.default_rng(5)
    a = (gen.random(600) < 0.3).astype(float)
    b = (gen.random(600) < 0.3).astype(float)
    assert paired_test(a, b).p_value > 0.01


def test_paired_test_exact_for_few_discordant_units() -> None:
    # three discordant users, all in favour of a: exact two-sided p = 2 / 2^3
    a = np.array([1, 1, 1, 0, 0, 1.0])
    b = np.array([0, 0, 0, 0, 0, 1.0])
    t = paired_test(a, b)
    assert t.p_value == pytest.approx(0.25)
    assert "exact" in t.method


def test_paired_test_with_groups_flips_whole_clusters() -> None:
    a = np.array([1, 1, 1, 1, 0, 0.0])
    b = np.array([0, 0, 0, 0, 0, 0.0])
    groups = np.array([0, 0, 1, 1, 2, 2])  # two clusters differ (by 2 each): exact p = 2 / 4
    assert paired_test(a, b, groups=groups).p_value == pytest.approx(0.5)
    with pytest.raises(ConfigError):
        paired_test(a, b[:-1])


# --- checks against independent references (closing mutation-testing gaps) ---------------------


def test_n_boot_must_be_a_whole_number_of_at_least_1() -> None:
    assert check_n_boot(1) == 1 and check_n_boot(np.int64(5)) == 5
    for bad in (True, 2.5, "2000", None):
        with pytest.raises(ConfigError, match=r"n_boot \(CLI: --n-boot\) .* got "):
            check_n_boot(bad)
    # one resample is allowed: the interval collapses onto that resample's mean
    assert bootstrap_ci(np.ones(5), n_boot=1).ci == (1.0, 1.0)
    assert bootstrap_ci(np.ones(6), n_boot=1, groups=np.arange(6) // 2).ci == (1.0, 1.0)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5])
def test_level_outside_the_open_unit_interval_is_a_config_error(level: float) -> None:
    with pytest.raises(ConfigError, match=r"level must be in \(0, 1\)"):
        bootstrap_ci(np.ones(3), level=level)


def test_empty_values_keep_the_level_and_are_nan_throughout() -> None:
    est = bootstrap_ci(np.array([]), level=0.9)
    assert est.n == 0 and est.level == 0.9
    assert all(np.isnan(x) for x in (est.value, est.low, est.high))


@pytest.mark.parametrize("level", [0.5, 0.9])
def test_bootstrap_ci_width_matches_normal_theory(level: float) -> None:
    # 400 Bernoulli values: the bootstrap distribution of the mean is close to normal with
    # sd = population sd / sqrt(n), so the percentile interval is mean ± z_{(1+level)/2} · sd
    v = (np.random.default_rng(11).random(400) < 0.5).astype(float)
    half = stats.norm.ppf((1 + level) / 2) * v.std() / np.sqrt(v.size)
    est = bootstrap_ci(v, level=level)
    assert est.level == level and est.n == 400 and est.value == pytest.approx(v.mean())
    assert (est.high - est.low) / 2 == pytest.approx(half, rel=0.06)
    assert (est.low + est.high) / 2 == pytest.approx(v.mean(), abs=0.1 * half)
    g = np.arange(400)  # one value per group: the cluster bootstrap is the plain one
    clustered = bootstrap_ci(v, level=level, groups=g)
    assert clustered.level == level and clustered.n == 400
    assert (clustered.high - clustered.low) / 2 == pytest.approx(half, rel=0.06)


def test_bootstrap_resamples_every_unit_including_the_first() -> None:
    # only the first of five units is non-zero; a resample misses it with probability (4/5)^5 = 33%
    v = np.array([1.0, 0, 0, 0, 0])
    est = bootstrap_ci(v)
    assert est.low == 0.0 and est.high >= 0.6
    assert bootstrap_ci(v, groups=np.arange(5)).high >= 0.6


def test_bootstrap_ci_defaults_are_2000_resamples_seed_0() -> None:
    v = np.random.default_rng(2).random(50)
    assert bootstrap_ci(v) == bootstrap_ci(v, level=0.95, n_boot=2000, rng=0)
    a, b = v, np.random.default_rng(4).random(50)
    assert paired_test(a, b) == paired_test(a, b, level=0.95, n_boot=2000, rng=0)


def test_bootstrap_in_several_chunks() -> None:
    # more than 1,000 units (or groups): resamples are drawn in chunks of 2,000,000 // n
    assert bootstrap_ci(np.ones(1001)).ci == (1.0, 1.0)
    assert bootstrap_ci(np.ones(2002), groups=np.arange(2002) // 2).ci == (1.0, 1.0)


def test_estimate_and_paired_test_json_fields() -> None:
    est = bootstrap_ci(np.ones(4))
    assert est.to_dict() == {"value": 1.0, "ci": [1.0, 1.0], "n": 4}
    assert str(est) == "1.0000 [1.0000, 1.0000]"
    t = paired_test(np.ones(4), np.ones(4))
    assert t.to_dict() == {"difference": {"value": 0.0, "ci": [0.0, 0.0], "n": 4}, "p_value": 1.0,
                           "method": "sign-flip permutation"}


def test_paired_test_interval_is_the_bootstrap_of_the_differences() -> None:
    gen = np.random.default_rng(8)
    a, b = gen.random(60), gen.random(60)
    groups = np.arange(60) // 3
    t = paired_test(a, b, level=0.8, n_boot=300, rng=3, groups=groups)
    assert t.difference == bootstrap_ci(a - b, level=0.8, n_boot=300, rng=3, groups=groups)
    # the exact path returns the same interval
    few = paired_test(np.array([1, 1, 1, 0, 0, 1.0]), np.array([0, 0, 0, 0, 0, 1.0]), level=0.8)
    assert few.difference == bootstrap_ci(np.array([1, 1, 1, 0, 0, 0.0]), level=0.8)
    assert few.difference.value == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="same length, got 6 and 5"):
        paired_test(np.ones(6), np.ones(5))
    with pytest.raises(ConfigError, match="one label per value: got 5 labels for 6 values"):
        paired_test(np.ones(6), np.zeros(6), groups=np.arange(5))


def binary_sign_flip_p(wins: int, losses: int) -> float:
    """Sign-flip p-value for ±1 differences: the sum of m random signs is 2·Binomial(m, ½) − m, so
    the two-sided p-value is the exact binomial test's."""
    return float(stats.binomtest(wins, wins + losses, 0.5).pvalue)


@pytest.mark.parametrize(("wins", "losses"), [(12, 4), (5, 11), (13, 4), (14, 6), (265, 235)])
def test_paired_test_p_value_equals_the_binomial_test(wins: int, losses: int) -> None:
    m = wins + losses
    a = np.r_[np.ones(wins), np.zeros(losses), np.ones(7)]  # 7 ties never matter
    b = np.r_[np.zeros(wins), np.ones(losses), np.ones(7)]
    t = paired_test(a, b)
    expected = binary_sign_flip_p(wins, losses)
    if m <= 16:  # the docs: exact when at most 16 users differ, 10,000 random flips otherwise
        assert t.method == "sign-flip permutation (exact)"
        assert t.p_value == pytest.approx(expected, rel=1e-12)
    else:
        assert t.method == "sign-flip permutation"
        assert t.p_value == pytest.approx(expected, abs=0.012)  # ~3 Monte Carlo standard errors
        assert paired_test(a, b, rng=5).p_value == paired_test(a, b, rng=5).p_value


def test_monte_carlo_p_value_is_never_below_one_over_10001() -> None:
    # 40 users all in favour of a: the exact p-value is 2 / 2^40, but 10,000 random flips can only
    # say it is below 1 / 10,001 (the observed pattern itself counts as one)
    t = paired_test(np.ones(40), np.zeros(40))
    assert t.method == "sign-flip permutation" and t.p_value == 1 / 10_001


def test_exact_p_value_counts_the_observed_pattern_despite_rounding() -> None:
    # revenue-sized differences, all positive: only the all-plus and all-minus sign patterns reach
    # the observed sum, so p = 2 / 2^14, even though summing in another order rounds differently
    d = np.array([388921.4239791038, 135096.5050224112, 721488.3401940817, 525354.3224757259,
                  310241.87555895565, 485835.35883178905, 889487.8343490002, 934043.5159562497,
                  357795.19670907024, 571529.8307297609, 321869.39107594214, 594300.0301996968,
                  337911.22550713323, 391619.00052816124])
    assert paired_test(d, np.zeros(14)).p_value == 2 / 2**14
