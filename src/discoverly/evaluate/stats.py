"""Confidence intervals and paired tests over per-unit (per-user, per-query) values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from discoverly._checks import is_whole
from discoverly.errors import ConfigError

__all__ = ["Estimate", "PairedTest", "bootstrap_ci", "check_n_boot", "paired_test"]


@dataclass(frozen=True)
class Estimate:
    """A mean with its ``level`` bootstrap confidence interval and the number of units."""

    value: float
    low: float
    high: float
    n: int
    level: float = 0.95

    @property
    def ci(self) -> tuple[float, float]:
        return (self.low, self.high)

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "ci": [self.low, self.high], "n": self.n}

    def __str__(self) -> str:
        return f"{self.value:.4f} [{self.low:.4f}, {self.high:.4f}]"


def check_n_boot(n_boot: object) -> int:
    """The number of bootstrap resamples as an int; a :class:`ConfigError` unless it is at least 1."""
    if not is_whole(n_boot) or n_boot < 1:
        raise ConfigError(f"n_boot (CLI: --n-boot) is the number of bootstrap resamples and must be a whole "
                          f"number of at least 1, e.g. 2000; got {n_boot!r}")
    return int(n_boot)


def _rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def bootstrap_ci(values: np.ndarray, *, level: float = 0.95, n_boot: int = 2000,
                 rng: int | np.random.Generator | None = 0, groups: np.ndarray | None = None) -> Estimate:
    """Mean of ``values`` with a percentile bootstrap interval over units (resampled with
    replacement). Binary values (hit rates) and continuous ones (NDCG) alike.

    With ``groups`` (one label per value), whole groups are resampled instead of single values (a
    cluster bootstrap): use it when one unit contributes several values, e.g. a user evaluated at
    several cutoffs. ``n`` then counts the values, and the mean is over all values.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if not 0 < level < 1:
        raise ConfigError(f"level must be in (0, 1), got {level}")
    check_n_boot(n_boot)
    if v.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, level)
    gen = _rng(rng)
    alpha = (1 - level) / 2
    if groups is not None:
        sums, counts = _group_sums(v, groups)
        means = _cluster_means(sums, counts, n_boot, gen)
        low, high = np.quantile(means, [alpha, 1 - alpha])
        return Estimate(float(v.mean()), float(low), float(high), int(v.size), level)
    # multinomial counts are equivalent to resampling indices and need O(n_boot * n) ints at most
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(1, v.size))
    for a in range(0, n_boot, chunk):
        b = min(n_boot, a + chunk)
        idx = gen.integers(0, v.size, size=(b - a, v.size))
        means[a:b] = v[idx].mean(axis=1)
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Estimate(float(v.mean()), float(low), float(high), int(v.size), level)


def _group_sums(v: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the sum of its values and how many values it has."""
    g = np.asarray(groups).ravel()
    if g.shape != v.shape:
        raise ConfigError(f"groups must have one label per value: got {g.size} labels for {v.size} values")
    _, inverse = np.unique(g, return_inverse=True)
    return np.bincount(inverse, weights=v), np.bincount(inverse).astype(np.float64)


def _cluster_means(sums: np.ndarray, counts: np.ndarray, n_boot: int, gen: np.random.Generator) -> np.ndarray:
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(1, sums.size))
    for a in range(0, n_boot, chunk):
        b = min(n_boot, a + chunk)
        idx = gen.integers(0, sums.size, size=(b - a, sums.size))
        means[a:b] = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    return means


@dataclass(frozen=True)
class PairedTest:
    """The mean difference ``a - b`` over the same units, its interval, and a two-sided p-value."""

    difference: Estimate
    p_value: float
    method: str

    def to_dict(self) -> dict[str, object]:
        return {"difference": self.difference.to_dict(), "p_value": self.p_value, "method": self.method}


def paired_test(a: np.ndarray, b: np.ndarray, *, level: float = 0.95, n_boot: int = 2000,
                rng: int | np.random.Generator | None = 0, groups: np.ndarray | None = None) -> PairedTest:
    """Paired comparison of two models on the same units.

    The interval is a bootstrap over units of the mean difference; the p-value is a paired
    sign-flip permutation test (exact for small n, Monte Carlo otherwise), which needs no normality
    and suits binary hit indicators (it then equals McNemar's exact test in spirit).

    With ``groups`` (one label per value), the interval resamples whole groups and the signs are
    flipped per group (on each group's summed difference), for units that contribute several
    values, e.g. users evaluated at several cutoffs.
    """
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ConfigError(f"paired values must have the same length, got {x.size} and {y.size}")
    d = x - y
    est = bootstrap_ci(d, level=level, n_boot=n_boot, rng=rng, groups=groups)
    units = _group_sums(d, groups)[0] if groups is not None else d
    nz = units[units != 0]
    if nz.size == 0:
        return PairedTest(est, 1.0, "sign-flip permutation")
    observed = abs(nz.sum())
    tol = 1e-9 * max(1.0, observed)
    if nz.size <= 16:  # exact: all 2^m sign patterns
        bits = (np.arange(2 ** nz.size)[:, None] >> np.arange(nz.size)) & 1
        sums = np.abs((bits * 2 - 1) @ nz)
        return PairedTest(est, float((sums >= observed - tol).mean()), "sign-flip permutation (exact)")
    gen = _rng(rng)
    n_perm = 10_000
    hits = 0
    chunk = max(1, 4_000_000 // nz.size)
    done = 0
    while done < n_perm:
        m = min(chunk, n_perm - done)
        signs = gen.integers(0, 2, size=(m, nz.size), dtype=np.int8) * 2 - 1
        hits += int((np.abs(signs @ nz) >= observed - tol).sum())
        done += m
    p = (hits + 1) / (n_perm + 1)
    return PairedTest(est, float(p), "sign-flip permutation")
