"""Bootstrap intervals and paired tests: sanity of coverage, known p-values, clusters."""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.errors import ConfigError
from discoverly.evaluate.stats import bootstrap_ci, paired_test


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
