"""A/B analysis: Welch and two-proportion intervals and p-values, SRM, planning formulas, and the experiment join."""

from __future__ import annotations

import json
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
    not_ready,
    rate_ci,
    rate_difference,
    sample_ratio_check,
    sample_size,
    welch_test,
)
from discoverly.evaluate.stats import bootstrap_ci


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


# --- closing mutation-testing gaps: every number against an independent reference -----------------


def wilson(hits: int, n: int, level: float) -> tuple[float, float]:
    """Wilson's score interval written out (Wilson 1927): centre (p + z²/2n) / (1 + z²/n)."""
    z = sps.norm.ppf(0.5 + level / 2)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("level", [0.95, 0.8])
def test_welch_interval_matches_scipy(level: float) -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(1, 2, 40), rng.normal(2, 1, 25)
    _, low, high, _ = welch_test(a, b, level=level)
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert (low, high) == pytest.approx(tuple(ref.confidence_interval(level)), rel=1e-9)
    # one arm without variance: Welch's test is the one-sample t-test of the other arm (df = n - 1)
    const = np.full(30, 2.0)
    one = sps.ttest_1samp(b, 2.0)
    ci = one.confidence_interval(level)
    _, lo, hi, pv = welch_test(const, b, level=level)
    assert (lo, hi, pv) == pytest.approx((ci.low - 2.0, ci.high - 2.0, one.pvalue), rel=1e-9)
    _, lo, hi, pv = welch_test(b, const, level=level)
    assert (lo, hi, pv) == pytest.approx((2.0 - ci.high, 2.0 - ci.low, one.pvalue), rel=1e-9)


@pytest.mark.parametrize(("hits", "n", "level"), [(7, 40, 0.95), (7, 40, 0.8), (39, 40, 0.9)])
def test_rate_ci_is_wilson_by_hand(hits: int, n: int, level: float) -> None:
    est = rate_ci(np.r_[np.ones(hits), np.zeros(n - hits)], level=level)
    assert est.value == hits / n and est.n == n and est.level == level
    assert est.ci == pytest.approx(wilson(hits, n, level), rel=1e-12)


def test_rate_ci_of_counts_is_the_bootstrap_with_the_given_settings() -> None:
    counts = np.array([0.0, 2.0, 1.0, 3.0, 0.0, 1.0])
    assert rate_ci(counts) == bootstrap_ci(counts, level=0.95, n_boot=2000, rng=0)
    assert rate_ci(counts, level=0.8, n_boot=300, rng=4) == bootstrap_ci(counts, level=0.8, n_boot=300, rng=4)


def newcombe(h1: int, n1: int, h2: int, n2: int, level: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p2 - p1 from the two Wilson intervals (method 10)."""
    p1, p2 = h1 / n1, h2 / n2
    (l1, u1), (l2, u2) = wilson(h1, n1, level), wilson(h2, n2, level)
    d = p2 - p1
    return d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)


def ones(h: int, n: int) -> np.ndarray:
    return np.r_[np.ones(h), np.zeros(n - h)]


@pytest.mark.parametrize(("h1", "n1", "h2", "n2", "test"), [
    (4, 20, 6, 20, "z"),         # expected count 20 · 0.25 = 5: just enough for the normal approximation
    (3, 20, 6, 20, "fisher"),    # 20 · 0.225 = 4.5 conversions expected: Fisher
    (15, 20, 16, 20, "fisher"),  # 20 · 0.225 = 4.5 non-conversions expected: Fisher too
    (2, 9, 7, 30, "fisher"),
    (30, 100, 45, 100, "z"),
])
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_rate_difference_against_references(h1: int, n1: int, h2: int, n2: int, test: str, level: float) -> None:
    diff, low, high, p = rate_difference(ones(h1, n1), ones(h2, n2), level=level)
    assert diff == pytest.approx(h2 / n2 - h1 / n1)
    assert (low, high) == pytest.approx(newcombe(h1, n1, h2, n2, level), rel=1e-12)
    if test == "fisher":
        expected = sps.fisher_exact([[h2, n2 - h2], [h1, n1 - h1]]).pvalue
    else:
        pooled = (h1 + h2) / (n1 + n2)
        expected = 2 * sps.norm.sf(abs(diff) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)))
    assert p == pytest.approx(expected, rel=1e-12)


def test_rate_difference_needs_two_customers_in_each_arm() -> None:
    for a, b in ((np.ones(1), np.ones(5)), (np.ones(5), np.ones(1))):
        with pytest.raises(DataError, match=r"each arm needs at least 2 customers to compare, got \d and \d"):
            rate_difference(a, b)


def test_sample_ratio_check_is_scipys_chi_square_with_normalised_shares() -> None:
    observed = {"A": 480, "B": 300, "C": 220}
    shares = {"A": 2, "B": 1.5, "C": 1}  # weights need not sum to 1
    res = sample_ratio_check(observed, shares)
    total = sum(shares.values())
    ref = sps.chisquare([480, 300, 220], [1000 * shares[a] / total for a in "ABC"])
    assert (res.chi2, res.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    assert res.observed == observed and res.expected_shares == {"A": 2.0, "B": 1.5, "C": 1.0}
    assert res.to_dict() == {"observed": observed, "expected_shares": {"A": 2.0, "B": 1.5, "C": 1.0},
                             "chi2": res.chi2, "p_value": res.p_value, "mismatch": False}
    # a configured arm nobody was exposed to counts as 0 (and is a mismatch)
    empty_arm = sample_ratio_check({"A": 100, "B": 100}, {"A": 1, "B": 1, "C": 1})
    ref = sps.chisquare([100, 100, 0])
    assert (empty_arm.chi2, empty_arm.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    assert empty_arm.observed == {"A": 100, "B": 100, "C": 0} and empty_arm.mismatch
    # nobody yet, or one arm only: nothing to test
    none = sample_ratio_check({}, {"A": 0.5, "B": 0.5}, threshold=0.01)
    assert (none.observed, none.expected_shares, none.chi2, none.p_value, none.threshold) == (
        {}, {"A": 0.5, "B": 0.5}, 0.0, 1.0, 0.01)
    one = sample_ratio_check({"A": 1}, {"A": 1.0})
    assert (one.chi2, one.p_value, one.mismatch) == (0.0, 1.0, False)
    assert sample_ratio_check({"A": 500, "B": 560}, {"A": 1, "B": 1}, threshold=0.1).threshold == 0.1
    for bad in ({"A": 0.0, "B": 1.0}, {"A": float("inf"), "B": 1.0}, {"A": -1.0, "B": 2.0}):
        with pytest.raises(ConfigError, match=r"the expected shares must be positive numbers, got \{'A'"):
            sample_ratio_check({"A": 1, "B": 1}, bad)


def test_analyze_ab_uses_the_configured_shares_level_and_bootstrap_settings() -> None:
    a, b = ones(90, 900), ones(12, 100)
    ra, rb = a * np.linspace(1, 3, 900), b * 4.0
    res = analyze_ab({"A": a, "B": b}, {"A": ra, "B": rb}, shares={"A": 0.9, "B": 0.1}, level=0.9, n_boot=300,
                     rng=5, experiment="exp")
    assert not res.srm.mismatch and res.srm.expected_shares == {"A": 0.9, "B": 0.1}  # 900 / 100 is as configured
    assert res.experiment == "exp" and res.notes == []
    assert res.arms[0].conversion.ci == pytest.approx(wilson(90, 900, 0.9), rel=1e-12)
    assert res.arms[1].conversion.level == 0.9 and res.arms[1].revenue.level == 0.9
    gen = np.random.default_rng(5)  # one generator for the arms in order: conversion is Wilson, revenue the bootstrap
    assert res.arms[0].revenue == bootstrap_ci(ra, level=0.9, n_boot=300, rng=gen)
    assert res.arms[1].revenue == bootstrap_ci(rb, level=0.9, n_boot=300, rng=gen)
    conv, rev = res.comparisons
    assert (conv.arm, conv.control, rev.arm, rev.control) == ("B", "A", "B", "A")
    assert (conv.low, conv.high) == pytest.approx(newcombe(90, 900, 12, 100, 0.9), rel=1e-12)
    assert (rev.low, rev.high) == pytest.approx(welch_test(ra, rb, level=0.9)[1:3], rel=1e-12)
    # without shares: equal shares, and the defaults are 2000 resamples from seed 0
    plain = analyze_ab({"A": a, "B": b}, {"A": ra, "B": rb})
    assert plain.srm.mismatch and plain.srm.expected_shares == {"A": 0.5, "B": 0.5}
    assert plain.to_dict() == analyze_ab({"A": a, "B": b}, {"A": ra, "B": rb}, level=0.95, n_boot=2000,
                                         rng=0).to_dict()
    with pytest.raises(DataError, match=r"at least two arms with exposed customers, got \['A'\]"):
        analyze_ab({"A": a}, {"A": ra})
    with pytest.raises(ConfigError, match=r"the control arm 'C' is not among the arms \['A', 'B'\]"):
        analyze_ab({"A": a, "B": b}, {"A": ra, "B": rb}, control="C")


def test_analyze_experiment_without_mixed_customers_has_no_notes() -> None:
    exposures = pl.DataFrame({"user": ["u1", "u2", "u3", "u4", "u1"], "arm": ["A", "A", "B", "B", "A"]})
    outcomes = pl.DataFrame({"user": ["u1"], "key": ["k1"], "value": [3.0]})
    res = analyze_experiment(exposures, outcomes, n_boot=50)
    assert res.notes == [] and res.experiment == ""
    assert [a.name for a in res.arms] == ["A", "B"] and res.srm.expected_shares == {"A": 0.5, "B": 0.5}


@pytest.mark.parametrize("ratio", [1.0, 2.0, 0.5])
def test_sample_size_is_the_smallest_control_arm_with_the_power(ratio: float) -> None:
    # normal-approximation power of a two-sided test with n in control and ratio · n in treatment
    def power(n: int, var1: float, var2: float, effect: float) -> float:
        return float(sps.norm.cdf(abs(effect) / math.sqrt(var1 / n + var2 / (ratio * n)) - sps.norm.ppf(0.975)))

    n = sample_size(0.03, baseline=0.10, ratio=ratio)
    var1, var2 = 0.10 * 0.90, 0.13 * 0.87
    assert power(n, var1, var2, 0.03) >= 0.8 > power(n - 1, var1, var2, 0.03)
    n = sample_size(-4.0, std=20.0, ratio=ratio, alpha=0.05, power=0.8)
    assert power(n, 400, 400, 4.0) >= 0.8 > power(n - 1, 400, 400, 4.0)
    # the minimum detectable effect at that size is the effect asked for (continuous metric: exact inverse)
    mde = minimum_detectable_effect(n, std=20.0, ratio=ratio)
    assert power(n, 400, 400, mde) == pytest.approx(0.8, abs=1e-9) and mde <= 4.0


def test_planning_inputs_are_checked() -> None:
    assert minimum_detectable_effect(2, std=1.0) > 0  # two customers an arm is the least
    for kwargs, message in [
        ({"n_per_arm": 1, "std": 1.0}, "n_per_arm must be at least 2, got 1"),
        ({"n_per_arm": 100, "std": 1.0, "alpha": 0.0}, r"alpha and power must be in \(0, 1\), got 0.0 and 0.8"),
        ({"n_per_arm": 100, "std": 1.0, "alpha": 1.0}, "alpha and power must be in"),
        ({"n_per_arm": 100, "std": 1.0, "power": 0.0}, "alpha and power must be in"),
        ({"n_per_arm": 100, "std": 1.0, "power": 1.0}, "alpha and power must be in"),
        ({"n_per_arm": 100, "std": 1.0, "ratio": 0.0}, r"ratio \(treatment size / control size\) must be a number > 0"),
        ({"n_per_arm": 100, "std": 1.0, "ratio": float("inf")}, "ratio"),
        ({"n_per_arm": 100, "std": 0.0}, "std must be a positive number, got 0.0"),
        ({"n_per_arm": 100, "baseline": 1.0}, r"baseline must be a rate in \(0, 1\), got 1.0"),
    ]:
        with pytest.raises(ConfigError, match=message):
            minimum_detectable_effect(**kwargs)  # type: ignore[arg-type]
    assert sample_size(0.9, baseline=0.1) >= 1 and sample_size(-0.1, baseline=0.1) >= 1  # p2 = 1.0 and 0.0 are rates
    with pytest.raises(ConfigError, match=r"baseline 0.1 \+ effect -0.2 is not a rate in"):
        sample_size(-0.2, baseline=0.1)


def test_the_json_shape_users_script_against() -> None:
    """The fields of `experiment analyze --json` and GET /experiments/{name}: renaming one breaks
    dashboards and scripts (mutation testing: no key of the A/B results was pinned)."""
    a = np.r_[np.ones(10), np.zeros(90)]
    b = np.r_[np.ones(15), np.zeros(85)]
    out = json.loads(json.dumps(analyze_ab({"A": a, "B": b}, {"A": a * 10, "B": b * 10}, rng=0).to_dict()))
    assert list(out) == ["experiment", "arms", "comparisons", "sample_ratio", "notes", "ready"]
    assert [list(arm) for arm in out["arms"]] == [["arm", "users", "conversions", "conversion", "revenue"]] * 2
    assert [list(out["arms"][0][m]) for m in ("conversion", "revenue")] == [["value", "ci", "n"]] * 2
    assert [(c["metric"], list(c)) for c in out["comparisons"]] == [
        (metric, ["metric", "arm", "control", "difference", "ci", "p_value", "relative"])
        for metric in ("conversion", "revenue")]
    assert list(out["sample_ratio"]) == ["observed", "expected_shares", "chi2", "p_value", "mismatch"]
    assert [out["arms"][1]["arm"], out["arms"][1]["users"], out["arms"][1]["conversions"]] == ["B", 100, 15]


def test_exposures_of_an_arm_the_configuration_no_longer_has_are_named() -> None:
    """An arm removed from the configuration while its exposures stay in the store: its customers were
    dropped without a word, and with one configured arm left the service said only "not enough data"."""
    users = [f"u{i}" for i in range(30)]
    exposures = pl.DataFrame({"user": users, "arm": ["A"] * 10 + ["B"] * 10 + ["C"] * 10})
    outcomes = pl.DataFrame({"user": ["u0", "u10", "u20"], "key": ["k0", "k1", "k2"], "value": [1.0, 2.0, 3.0]})
    res = analyze_experiment(exposures, outcomes, experiment="e", shares={"A": 0.5, "B": 0.5}, n_boot=50)
    assert [a.name for a in res.arms] == ["A", "B"] and [a.users for a in res.arms] == [10, 10]
    assert res.notes == ["10 customer(s) were exposed in arm(s) ['C'], which the configuration does not have "
                         "(was an arm removed or renamed?); they are left out"]
    with pytest.raises(DataError, match=r"^experiment 'e' has exposed customers in \['A'\] of its configured arms "
                                        r"\['A', 'D'\]; 20 customer\(s\) were exposed in arm\(s\) \['B', 'C'\], which"):
        analyze_experiment(exposures, outcomes, experiment="e", shares={"A": 0.5, "D": 0.5}, n_boot=50)


def test_a_ready_analysis_and_a_not_ready_one_have_the_same_keys() -> None:
    exposures = pl.DataFrame({"user": ["a", "b", "c", "d"], "arm": ["A", "A", "B", "B"]})
    outcomes = pl.DataFrame({"user": ["a"], "key": ["k"], "value": [1.0]})
    ready = analyze_experiment(exposures, outcomes, experiment="e", n_boot=50).to_dict()
    waiting = not_ready("e", "no recorded exposures yet")
    assert ready["ready"] is True and waiting["ready"] is False
    assert list(ready) == list(waiting)
    assert waiting["notes"] == ["not enough data to analyse yet: no recorded exposures yet"]
