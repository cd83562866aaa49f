"""A/B analysis: Welch and two-proportion intervals and p-values, SRM, planning formulas, and the experiment join."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.abtest import (
    analyze_ab,
    analyze_experiment,
    minimum_detectable_effect,
    rate_ci,
    rate_difference,
    sample_ratio_check,
    sample_size,
    welch_test,
)


def test_welch_matches_scipy_and_ci_agrees_with_p() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 300), rng.normal(0.2, 1.5, 200)
    diff, low, high, p = welch_test(a, b)
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert diff == pytest.approx(b.mean() - a.mean())
    assert p == pytest.approx(ref.pvalue, rel=1e-9)
    assert (low > 0 or high < 0) == (p < 0.05)


def test_welch_degenerate_and_too_small() -> None:
    assert welch_test(np.zeros(10), np.zeros(10)) == (0.0, 0.0, 0.0, 1.0)
    with pytest.raises(DataError, match="at least 2"):
        welch_test(np.ones(1), np.ones(5))


def test_two_proportion_hand_example() -> None:
    # control 100/1000, treatment 150/1000: pooled z = 0.05 / sqrt(.125 * .875 * (1/1000 + 1/1000))
    a = np.r_[np.ones(100), np.zeros(900)]
    b = np.r_[np.ones(150), np.zeros(850)]
    res = analyze_ab({"A": a, "B": b}, {"A": a * 10, "B": b * 10}, rng=0)
    conv = next(c for c in res.comparisons if c.metric == "conversion")
    assert conv.difference == pytest.approx(0.05)
    assert conv.p_value == pytest.approx(2 * sps.norm.sf(0.05 / math.sqrt(0.125 * 0.875 * 0.002)), rel=1e-9)
    assert conv.relative == pytest.approx(0.5)
    assert res.arms[0].conversion.low < 0.1 < res.arms[0].conversion.high
    assert not res.srm.mismatch
    assert "conversion" in res.to_text() and res.to_dict()["arms"][1]["conversions"] == 150


def test_rate_difference_is_newcombes_interval() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (b): 56/70 - 48/80,
    # method 10 (hybrid score): 0.0524 to 0.3339
    a = np.r_[np.ones(48), np.zeros(32)]
    b = np.r_[np.ones(56), np.zeros(14)]
    diff, low, high, p = rate_difference(a, b)
    assert diff == pytest.approx(0.2)
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    assert p < 0.05


def test_conversion_intervals_are_wilson_intervals() -> None:
    # 0 of 19: a bootstrap says [0, 0]; Wilson's upper bound is z^2 / (n + z^2)
    none = analyze_ab({"A": np.zeros(19), "B": np.ones(19)}, {"A": np.zeros(19), "B": np.ones(19)}, rng=0)
    z2 = sps.norm.ppf(0.975) ** 2
    assert none.arms[0].conversion.ci == pytest.approx((0.0, z2 / (19 + z2)))
    assert none.arms[1].conversion.ci == pytest.approx((19 / (19 + z2), 1.0))
    assert none.arms[1].revenue.ci == (1.0, 1.0)  # revenue keeps the bootstrap
    counts = rate_ci(np.array([0.0, 2.0, 1.0, 3.0]), n_boot=200)  # not 0/1: the bootstrap
    assert counts.value == 1.5 and counts.low < 1.5 < counts.high


def test_a_difference_of_rates_stays_within_minus_one_and_one() -> None:
    a, b = np.array([0.0, 1.0, 0.0]), np.array([1.0, 1.0, 0.0])  # 3 customers an arm: Welch's t has ~4 df
    res = analyze_ab({"A": a, "B": b}, {"A": a * 50, "B": b * 50}, rng=0)
    conv = next(c for c in res.comparisons if c.metric == "conversion")
    raw = welch_test(a, b)
    assert raw[1] < -1 or raw[2] > 1  # Welch's interval reaches past what a rate difference can be
    assert -1 <= conv.low < 0 < conv.high <= 1
    rev = next(c for c in res.comparisons if c.metric == "revenue")
    assert (rev.low, rev.high) == pytest.approx((50 * raw[1], 50 * raw[2]))  # revenue is not a rate: Welch


def test_a_few_customers_alike_within_each_arm_are_not_significant() -> None:
    """0 of 2 against 2 of 2: Welch's t saw no variance and said p = 0 with a zero-width interval."""
    a, b = np.zeros(2), np.ones(2)
    assert welch_test(a, b)[1:] == (1.0, 1.0, 0.0)
    res = analyze_ab({"A": a, "B": b}, {"A": a, "B": b * 5}, rng=0)
    conv = next(c for c in res.comparisons if c.metric == "conversion")
    assert conv.difference == 1.0 and conv.p_value == pytest.approx(1 / 3)  # Fisher's exact test
    assert 0 < conv.low < 0.5 and conv.high == 1.0 and not conv.significant
    # revenue stays a mean even when every value is 0 (outcomes without a value): no interval around 0
    none = analyze_ab({"A": a, "B": a}, {"A": a, "B": a}, rng=0)
    rev = next(c for c in none.comparisons if c.metric == "revenue")
    assert (rev.difference, rev.low, rev.high, rev.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert rate_difference(np.zeros(5), np.zeros(7)) == (0.0, pytest.approx(-0.435, abs=1e-3),
                                                         pytest.approx(0.354, abs=1e-3), 1.0)


def test_sample_ratio_mismatch_is_flagged() -> None:
    assert sample_ratio_check({"A": 5000, "B": 5050}, {"A": 0.5, "B": 0.5}).mismatch is False
    bad = sample_ratio_check({"A": 5000, "B": 5600}, {"A": 0.5, "B": 0.5})
    assert bad.mismatch and bad.p_value < 1e-6
    assert not sample_ratio_check({"A": 2000, "B": 8000}, {"A": 0.2, "B": 0.8}).mismatch
    with pytest.raises(DataError, match="does not configure"):
        sample_ratio_check({"A": 1, "C": 2}, {"A": 0.5, "B": 0.5})


def test_planning_round_trip_and_reference_value() -> None:
    # the textbook case: p = 0.10 -> 0.12 needs about 3,841 per arm at alpha .05, power .8
    n = sample_size(0.02, baseline=0.10)
    assert 3_800 <= n <= 3_900
    mde = minimum_detectable_effect(n, baseline=0.10)
    assert 0.018 < mde < 0.022
    assert sample_size(5.0, std=50.0) == math.ceil((sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) ** 2 * 2 * 2500 / 25)
    with pytest.raises(ConfigError, match="exactly one"):
        minimum_detectable_effect(100, baseline=0.1, std=1.0)
    with pytest.raises(ConfigError):
        sample_size(0.0, baseline=0.1)
    with pytest.raises(ConfigError, match="not a rate"):
        sample_size(0.95, baseline=0.1)


def test_analyze_experiment_joins_exposures_and_outcomes() -> None:
    exposures = pl.DataFrame({"id": [1, 2, 3, 4, 5], "arm": ["A", "A", "B", "B", "A"],
                              "user": ["u1", "u2", "u3", "u4", "u1"]})
    outcomes = pl.DataFrame({"user": ["u1", "u1", "u3"], "key": ["k1", "k1", "k9"], "value": [5.0, 5.0, None]})
    res = analyze_experiment(exposures, outcomes, experiment="e", shares={"A": 0.5, "B": 0.5}, n_boot=200)
    arms = {a.name: a for a in res.arms}
    assert arms["A"].users == 2 and arms["A"].conversions == 1 and arms["A"].revenue.value == 2.5  # k1 once
    assert arms["B"].users == 2 and arms["B"].conversions == 1 and arms["B"].revenue.value == 0.0
    mixed = exposures.vstack(pl.DataFrame({"id": [6, 7], "arm": ["B", "A"], "user": ["u2", "u5"]}))
    res2 = analyze_experiment(mixed, outcomes, shares={"A": 0.5, "B": 0.5}, n_boot=100)
    assert any("more than one arm" in n for n in res2.notes)
    with pytest.raises(DataError, match="no recorded exposures"):
        analyze_experiment(exposures.head(0), outcomes, experiment="e")


def test_analyze_experiment_does_not_depend_on_row_order() -> None:
    """The same events in another order give the same intervals (group_by's order fed the
    bootstrap, so the service's experiment page showed new intervals on every request)."""
    rng = np.random.default_rng(3)
    users = [f"u{i}" for i in range(400)]
    exposures = pl.DataFrame({"user": users, "arm": rng.choice(["control", "new"], 400).tolist()})
    buyers = rng.choice(users, 300).tolist()
    outcomes = pl.DataFrame({"user": buyers, "key": [f"k{i}" for i in range(300)],
                             "value": rng.gamma(2.0, 10.0, 300).round(2).tolist()})
    # the same event recorded twice with different values (a corrected price): which copy counts must not vary
    outcomes = pl.concat([outcomes, outcomes.head(30).with_columns(pl.col("value") + 1.0)])
    first = analyze_experiment(exposures, outcomes, n_boot=300).to_dict()
    for seed in range(3):
        again = analyze_experiment(exposures.sample(fraction=1.0, shuffle=True, seed=seed),
                                   outcomes.sample(fraction=1.0, shuffle=True, seed=seed), n_boot=300)
        assert again.to_dict() == first
