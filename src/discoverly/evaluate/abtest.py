"""A/B test analysis and planning: conversion and revenue per arm, differences, SRM, power.

The unit is the customer: a customer converted when they bought or clicked an item they were
shown within the window after an exposure; their revenue is the summed ``value`` of those events.
Per-arm conversion rates carry 95% Wilson score intervals, which stay honest for small arms and
for rates of 0 or 1 (a bootstrap of 0 conversions would say [0, 0]); revenue per customer carries
a 95% bootstrap interval (:func:`~discoverly.evaluate.stats.bootstrap_ci`).
Each arm is compared with the control by Welch's t-test on the per-customer values, whose
interval and p-value agree with each other (for 0/1 conversions it is the unpooled two-proportion
z-test). A sample-ratio mismatch (observed arm sizes against the configured shares, chi-square
test, flagged below p = 0.001) means the split or the logging is broken and the results are not
to be trusted. For planning, :func:`minimum_detectable_effect` and :func:`sample_size` give the
usual normal-approximation answers for a two-sided test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as sps

from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.stats import Estimate, bootstrap_ci

__all__ = ["ArmResult", "Comparison", "SampleRatioCheck", "ABTestResult", "EXPERIMENT_N_BOOT", "analyze_ab",
           "analyze_experiment", "welch_test", "rate_difference", "rate_ci", "sample_ratio_check",
           "minimum_detectable_effect", "sample_size", "not_ready"]

METRICS = ("conversion", "revenue")

#: bootstrap resamples of an experiment's analysis: ``discoverly experiment analyze`` and the service's
#: ``GET /experiments/{name}`` both use this, so that they report the same intervals for the same store
EXPERIMENT_N_BOOT = 1000


@dataclass(frozen=True)
class ArmResult:
    name: str
    users: int
    conversions: int
    conversion: Estimate
    revenue: Estimate

    def to_dict(self) -> dict[str, Any]:
        return {"arm": self.name, "users": self.users, "conversions": self.conversions,
                "conversion": self.conversion.to_dict(), "revenue": self.revenue.to_dict()}


@dataclass(frozen=True)
class Comparison:
    """``arm`` minus ``control`` on one metric."""

    metric: str
    arm: str
    control: str
    difference: float
    low: float
    high: float
    p_value: float
    relative: float | None

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "arm": self.arm, "control": self.control, "difference": self.difference,
                "ci": [self.low, self.high], "p_value": self.p_value, "relative": self.relative}


@dataclass(frozen=True)
class SampleRatioCheck:
    observed: dict[str, int]
    expected_shares: dict[str, float]
    chi2: float
    p_value: float
    threshold: float = 0.001

    @property
    def mismatch(self) -> bool:
        return self.p_value < self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {"observed": self.observed, "expected_shares": self.expected_shares, "chi2": self.chi2,
                "p_value": self.p_value, "mismatch": self.mismatch}


def not_ready(experiment: str, reason: str) -> dict[str, Any]:
    """:meth:`ABTestResult.to_dict`'s shape for an experiment that cannot be analysed yet (no
    exposures, an arm with fewer than two customers): ``ready: false``, no arms, and why in ``notes``."""
    return {"experiment": experiment, "arms": [], "comparisons": [], "sample_ratio": None,
            "notes": [f"not enough data to analyse yet: {reason}"], "ready": False}


@dataclass(frozen=True)
class ABTestResult:
    experiment: str
    arms: list[ArmResult]
    comparisons: list[Comparison]
    srm: SampleRatioCheck
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The analysis as JSON (``experiment analyze --json`` and ``GET /experiments/{name}``), with
        ``ready: true``; :func:`not_ready` is the same shape for an experiment without enough data."""
        return {"experiment": self.experiment, "arms": [a.to_dict() for a in self.arms],
                "comparisons": [c.to_dict() for c in self.comparisons], "sample_ratio": self.srm.to_dict(),
                "notes": self.notes, "ready": True}

    def to_text(self) -> str:
        lines = [f"experiment {self.experiment}"]
        lines.append(f"{'arm':<16}{'users':>8}{'conv.':>8}  {'conversion [95% CI]':<28}{'revenue/user [95% CI]':<30}")
        for a in self.arms:
            lines.append(f"{a.name:<16}{a.users:>8}{a.conversions:>8}  {_est(a.conversion, 4):<28}"
                         f"{_est(a.revenue, 2):<30}")
        for c in self.comparisons:
            rel = f" ({c.relative:+.1%})" if c.relative is not None else ""
            lines.append(f"{c.metric}: {c.arm} - {c.control} = {c.difference:+.4f}{rel} "
                         f"[{c.low:+.4f}, {c.high:+.4f}], p = {c.p_value:.4g}"
                         f"{'  (significant at 5%)' if c.significant else ''}")
        s = self.srm
        lines.append(f"sample ratio: {s.observed} vs shares {s.expected_shares}: chi2 = {s.chi2:.2f}, "
                     f"p = {s.p_value:.4g}" + ("  ** SAMPLE RATIO MISMATCH: do not trust these results **"
                                               if s.mismatch else "  (ok)"))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _est(e: Estimate, digits: int) -> str:
    return f"{e.value:.{digits}f} [{e.low:.{digits}f}, {e.high:.{digits}f}]"


def welch_test(a: np.ndarray, b: np.ndarray, *, level: float = 0.95) -> tuple[float, float, float, float]:
    """``mean(b) - mean(a)``, its ``level`` interval and the two-sided p-value (Welch's t-test)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.size < 2 or y.size < 2:
        raise DataError(f"each arm needs at least 2 customers to compare, got {x.size} and {y.size}")
    diff = float(y.mean() - x.mean())
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff, 1.0 if diff == 0 else 0.0
    df = (va + vb) ** 2 / ((va**2 / (x.size - 1) if va else 0.0) + (vb**2 / (y.size - 1) if vb else 0.0))
    t = diff / se
    p = float(2 * sps.t.sf(abs(t), df))
    q = float(sps.t.ppf(0.5 + level / 2, df))
    return diff, diff - q * se, diff + q * se, p


def sample_ratio_check(observed: Mapping[str, int], shares: Mapping[str, float], *,
                       threshold: float = 0.001) -> SampleRatioCheck:
    """Chi-square goodness of fit of the arm sizes against the configured shares."""
    arms = list(shares)
    total_share = sum(shares.values())
    if not all(math.isfinite(v) and v > 0 for v in shares.values()):
        raise ConfigError(f"the expected shares must be positive numbers, got {dict(shares)}")
    counts = np.array([observed.get(a, 0) for a in arms], dtype=np.float64)
    n = counts.sum()
    extra = set(observed) - set(shares)
    if extra:
        raise DataError(f"exposures name arms {sorted(extra)} that the experiment does not configure")
    if n == 0:
        return SampleRatioCheck(dict(observed), dict(shares), 0.0, 1.0, threshold)
    expected = np.array([shares[a] / total_share for a in arms]) * n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    p = float(sps.chi2.sf(chi2, len(arms) - 1)) if len(arms) > 1 else 1.0
    return SampleRatioCheck({a: int(c) for a, c in zip(arms, counts, strict=True)},
                            {a: float(shares[a]) for a in arms}, chi2, p, threshold)


def _binary(values: np.ndarray) -> bool:
    return bool(values.size) and bool(np.isin(values, (0.0, 1.0)).all())


def rate_ci(values: np.ndarray, *, level: float = 0.95, n_boot: int = 2000,
            rng: int | np.random.Generator | None = 0) -> Estimate:
    """The mean of per-customer conversions with its Wilson score interval when they are 0/1 (the
    bootstrap otherwise, e.g. for counts)."""
    values = np.asarray(values, dtype=np.float64)
    if not _binary(values):
        return bootstrap_ci(values, level=level, n_boot=n_boot, rng=rng)
    hits = int(values.sum())
    low, high = sps.binomtest(hits, values.size).proportion_ci(confidence_level=level, method="wilson")
    return Estimate(hits / values.size, float(low), float(high), int(values.size), level)


def rate_difference(a: np.ndarray, b: np.ndarray, *, level: float = 0.95) -> tuple[float, float, float, float]:
    """``rate(b) - rate(a)`` of two 0/1 arrays, its ``level`` interval and the two-sided p-value.

    The interval is Newcombe's hybrid score interval, built from the arms' Wilson intervals: it stays
    within [-1, 1] and has an honest width when an arm has no (or only) conversions, where Welch's t
    gives a zero-width interval and p = 0 (0 of 2 against 2 of 2). The p-value is the pooled
    two-proportion z-test, or Fisher's exact test when an expected count of the 2x2 table is below 5
    (the normal approximation's usual limit)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.size < 2 or y.size < 2:
        raise DataError(f"each arm needs at least 2 customers to compare, got {x.size} and {y.size}")
    n1, n2 = int(x.size), int(y.size)
    h1, h2 = int(x.sum()), int(y.sum())
    p1, p2 = h1 / n1, h2 / n2
    l1, u1 = sps.binomtest(h1, n1).proportion_ci(confidence_level=level, method="wilson")
    l2, u2 = sps.binomtest(h2, n2).proportion_ci(confidence_level=level, method="wilson")
    diff = p2 - p1
    low = diff - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = diff + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    pooled = (h1 + h2) / (n1 + n2)
    if pooled in (0.0, 1.0):  # every customer alike: no evidence of a difference
        return diff, max(low, -1.0), min(high, 1.0), 1.0
    if min(n1, n2) * min(pooled, 1 - pooled) < 5:
        p = float(sps.fisher_exact([[h2, n2 - h2], [h1, n1 - h1]]).pvalue)
    else:
        z = diff / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        p = float(2 * sps.norm.sf(abs(z)))
    return diff, max(low, -1.0), min(high, 1.0), min(p, 1.0)


def analyze_ab(conversion: Mapping[str, np.ndarray], revenue: Mapping[str, np.ndarray], *,
               shares: Mapping[str, float] | None = None, control: str | None = None, experiment: str = "",
               level: float = 0.95, n_boot: int = 2000, rng: int | np.random.Generator | None = 0,
               notes: Sequence[str] = ()) -> ABTestResult:
    """Analyse per-customer values by arm (0/1 conversions and revenue; arms in the given order)."""
    arms = list(conversion)
    if len(arms) < 2:
        raise DataError(f"an A/B analysis needs at least two arms with exposed customers, got {arms}")
    control = control or arms[0]
    if control not in conversion:
        raise ConfigError(f"the control arm {control!r} is not among the arms {arms}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    results = []
    for a in arms:
        conv = np.asarray(conversion[a], dtype=np.float64)
        rev = np.asarray(revenue[a], dtype=np.float64)
        results.append(ArmResult(a, int(conv.size), int(conv.sum()), rate_ci(conv, level=level, n_boot=n_boot, rng=gen),
                                 bootstrap_ci(rev, level=level, n_boot=n_boot, rng=gen)))
    comparisons = []
    for metric, values in (("conversion", conversion), ("revenue", revenue)):
        base = np.asarray(values[control], dtype=np.float64)
        for a in arms:
            if a == control:
                continue
            other = np.asarray(values[a], dtype=np.float64)
            # conversion is a rate; revenue is a mean even when every value happens to be 0 or 1
            rate = metric == "conversion" and _binary(base) and _binary(other)
            diff, low, high, p = (rate_difference if rate else welch_test)(base, other, level=level)
            rel = diff / base.mean() if base.size and base.mean() != 0 else None
            comparisons.append(Comparison(metric, a, control, diff, low, high, p, rel))
    expected = dict(shares) if shares is not None else {a: 1.0 / len(arms) for a in arms}
    srm = sample_ratio_check({r.name: r.users for r in results}, expected)
    return ABTestResult(experiment, results, comparisons, srm, list(notes))


def analyze_experiment(exposures: pl.DataFrame, outcomes: pl.DataFrame, *, experiment: str = "",
                       shares: Mapping[str, float] | None = None, control: str | None = None,
                       level: float = 0.95, n_boot: int = EXPERIMENT_N_BOOT,
                       rng: int | np.random.Generator | None = 0) -> ABTestResult:
    """Analyse an experiment from the event store's exposures (``user, arm``) and outcomes
    (``user, key, value``: events on shown items within the window). The defaults are those of the
    command line and the service (:data:`EXPERIMENT_N_BOOT` resamples, seed 0)."""
    if exposures.height == 0:
        raise DataError(f"experiment {experiment!r} has no recorded exposures yet")
    notes = []
    per_user = exposures.group_by("user").agg(pl.col("arm").n_unique().alias("n_arms"), pl.col("arm").first())
    mixed = per_user.filter(pl.col("n_arms") > 1)
    if mixed.height:
        notes.append(f"{mixed.height} customer(s) were exposed in more than one arm (was the split changed?) "
                     "and are left out")
        per_user = per_user.filter(pl.col("n_arms") == 1)
    events = (outcomes.sort("user", "key", "value", nulls_last=True)
              .unique(subset=["user", "key"], keep="first", maintain_order=True)
              .group_by("user", maintain_order=True).agg(pl.col("value").fill_null(0.0).sum().alias("revenue")))
    # sorted by customer: the bootstrap resamples each arm's array by position, so the same data must give
    # the same arrays (group_by's order changes from run to run, and so did the intervals)
    units = per_user.join(events, on="user", how="left").sort("user").with_columns(
        pl.col("revenue").is_not_null().cast(pl.Float64).alias("converted"), pl.col("revenue").fill_null(0.0))
    order = list(shares) if shares is not None else sorted(units["arm"].unique().to_list())
    present = set(units["arm"].to_list())
    conv = {a: units.filter(pl.col("arm") == a)["converted"].to_numpy() for a in order if a in present}
    rev = {a: units.filter(pl.col("arm") == a)["revenue"].to_numpy() for a in order if a in present}
    missing = [a for a in order if a not in present]
    if missing:
        notes.append(f"arm(s) {missing} have no exposed customers")
    extra = sorted(present - set(order))
    if extra:  # e.g. an arm removed from the configuration while its customers' exposures stay in the store
        n_extra = units.filter(pl.col("arm").is_in(extra)).height
        left_out = (f"{n_extra} customer(s) were exposed in arm(s) {extra}, which the configuration does not have "
                    f"(was an arm removed or renamed?)")
        if len(conv) < 2:
            raise DataError(f"experiment {experiment!r} has exposed customers in {sorted(conv)} of its configured "
                            f"arms {order}; {left_out}")
        notes.append(f"{left_out}; they are left out")
    return analyze_ab(conv, rev, shares=shares, control=control, experiment=experiment, level=level,
                      n_boot=n_boot, rng=rng, notes=notes)


def _z(alpha: float, power: float, ratio: float) -> float:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ConfigError(f"alpha and power must be in (0, 1), got {alpha} and {power}")
    if not (math.isfinite(ratio) and ratio > 0):
        raise ConfigError(f"ratio (treatment size / control size) must be a number > 0, got {ratio}")
    return float(sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power))


def minimum_detectable_effect(n_per_arm: int, *, baseline: float | None = None, std: float | None = None,
                              alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0) -> float:
    """The smallest absolute difference a two-sided test detects with ``power``.

    For a conversion rate give ``baseline`` (the control's rate); for a continuous metric such as
    revenue per customer give its ``std``. ``n_per_arm`` is the control's size; the treatment has
    ``ratio`` times as many customers.
    """
    if n_per_arm < 2:
        raise ConfigError(f"n_per_arm must be at least 2, got {n_per_arm}")
    sd = _sd(baseline, std)
    z = _z(alpha, power, ratio)
    return z * sd * math.sqrt(1 / n_per_arm + 1 / (ratio * n_per_arm))


def sample_size(effect: float, *, baseline: float | None = None, std: float | None = None, alpha: float = 0.05,
                power: float = 0.8, ratio: float = 1.0) -> int:
    """Customers needed in the control arm (the treatment needs ``ratio`` times as many) to
    detect an absolute difference ``effect`` with a two-sided test."""
    if effect == 0 or not math.isfinite(effect):
        raise ConfigError(f"the effect to detect must be a non-zero number, got {effect}")
    z = _z(alpha, power, ratio)
    if baseline is not None:
        p2 = baseline + effect
        if not 0 <= p2 <= 1:
            raise ConfigError(f"baseline {baseline} + effect {effect} is not a rate in [0, 1]")
        var = baseline * (1 - baseline) + p2 * (1 - p2) / ratio
    else:
        var = _sd(None, std) ** 2 * (1 + 1 / ratio)
    return math.ceil(z**2 * var / effect**2)


def _sd(baseline: float | None, std: float | None) -> float:
    if (baseline is None) == (std is None):
        raise ConfigError("give exactly one of baseline (a conversion rate) or std (a continuous metric)")
    if baseline is not None:
        if not 0 < baseline < 1:
            raise ConfigError(f"baseline must be a rate in (0, 1), got {baseline}")
        return math.sqrt(baseline * (1 - baseline))
    assert std is not None
    if not (math.isfinite(std) and std > 0):
        raise ConfigError(f"std must be a positive number, got {std}")
    return std
