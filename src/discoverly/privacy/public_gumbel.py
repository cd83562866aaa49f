"""The public truncated-Gumbel calibration, reproduced so it can be measured against ours.

One public implementation (the reference of the density-aware truncated Gumbel mechanism) does:
k ~ Poisson(ln(n − 1)) truncated to n − 1; the candidates are the k nearest words *including the
word itself* (k = 0 returns the word unchanged); Gumbel(0, b) noise conditioned on |noise| ≤ Δ_max
is added to their distances; the argmin is the output, with

    a = (ε − 2(1 + ln n)/Δ_min) / 3,   b = 2Δ_max / min(W(2aΔ_max), ln(aΔ_min))

(W the Lambert W function; when ln(aΔ_min) ≤ 0 only the W term is used, as that code does when
aΔ_min ≤ 0). The calibration exists only when a > 0, i.e. ε > 2(1 + ln n)/Δ_min — about 4.5 on
the raw default vocabulary, where Δ_min ≈ 4.7. Because b is of the order of Δ_max, the noise swamps
the distance differences between the ~10 candidates, so the output is close to uniform over them
and N_w stays near E[1/k] ≈ 0.1–0.17 whatever ε is: ε is not a privacy dial here, and the support
of the output depends on the input (only the k nearest can come out), so the bound has to lean on
the Poisson tail and Δ_min. :class:`~discoverly.privacy.gumbel.TruncatedGumbel` is the calibrated
replacement; this class exists for the comparison in the benchmark and the docs.

Δ_min and Δ_max are the exact smallest and largest distances between two different vocabulary words
(the public code estimates them from one random word's distances).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from scipy import special

from discoverly.errors import ConfigError, DataError
from discoverly.privacy.mechanism import RngLike, WordMechanism, as_generator, check_epsilon
from discoverly.privacy.nearest import Neighbours, neighbours
from discoverly.privacy.vocabulary import WordEmbeddings

__all__ = ["PublicTruncatedGumbel", "public_calibration"]


def public_calibration(epsilon: float, n: int, min_distance: float, max_distance: float) -> tuple[float, float]:
    """``(a, b)`` of the public calibration, or a :class:`ConfigError` when it does not exist at ε."""
    eps = check_epsilon(epsilon)
    if min_distance <= 0:
        raise DataError("two vocabulary words share a vector (Δ_min = 0): the public calibration divides by Δ_min")
    floor = 2.0 * (1.0 + math.log(n)) / min_distance
    a = (eps - floor) / 3.0
    if a <= 0:
        raise ConfigError(f"the public truncated-Gumbel calibration needs epsilon > 2(1 + ln n)/Δ_min = {floor:.3f} "
                          f"on this vocabulary (n = {n}, Δ_min = {min_distance:.3f}), got {eps:g}")
    w = float(np.real(special.lambertw(2.0 * a * max_distance)))
    terms = [w]
    if a * min_distance > 1.0:
        terms.append(math.log(a * min_distance))
    return a, 2.0 * max_distance / min(terms)


class PublicTruncatedGumbel(WordMechanism):
    """The public calibration of the truncated Gumbel mechanism (for comparison; not a privacy dial)."""

    name: ClassVar[str] = "truncated-gumbel-public"

    def __init__(self, embeddings: WordEmbeddings, *, max_k: int = 256, neighbour_lists: Neighbours | None = None,
                 cache: Any = True, **kwargs: Any) -> None:
        super().__init__(embeddings, **kwargs)
        n = len(embeddings)
        self.max_k = min(int(max_k), n - 1)
        if neighbour_lists is None:
            neighbour_lists = neighbours(embeddings, self.max_k, cache=cache)
        self.neighbour_lists = neighbour_lists.head(self.max_k)
        self.mean_k = math.log(n - 1)
        self._nn = self.neighbour_lists.indices.astype(np.int64)
        self._dist = self.neighbour_lists.distances.astype(np.float64)

    def _params(self) -> dict[str, Any]:
        return {"mean_k": self.mean_k, "max_k": self.max_k, "calibration": "public",
                "min_distance": self.neighbour_lists.min_distance, "max_distance": self.neighbour_lists.max_distance}

    def calibration(self, epsilon: float) -> tuple[float, float]:
        nb = self.neighbour_lists
        return public_calibration(epsilon, len(self.embeddings), nb.min_distance, nb.max_distance)

    def guarantee(self, epsilon: float) -> str:
        self.calibration(epsilon)
        return (f"the public calibration's claim: metric DP at epsilon={epsilon:g} per unit distance on the "
                f"{self.embeddings.scale!r} scale (not re-derived here; see docs/privacy.md)")

    def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        _, b = self.calibration(epsilon)
        bound = self.neighbour_lists.max_distance
        kk = self._nn.shape[1]
        out = np.empty(len(indices), dtype=np.int64)
        for a in range(0, len(indices), 4096):
            w = indices[a: a + 4096]
            m = len(w)
            k = np.minimum(_truncated_poisson(self.mean_k, len(self.embeddings) - 1, m, rng), kk)
            noise = _truncated_gumbel(b, bound, (m, kk), rng)
            score = np.where(np.arange(kk)[None, :] < k[:, None], self._dist[w] + noise, np.inf)
            rank = score.argmin(axis=1)
            chosen = self._nn[w, rank]
            out[a: a + m] = np.where(k == 0, w, chosen)
        return out


def _truncated_poisson(mean: float, top: int, size: int, rng: RngLike) -> np.ndarray:
    gen = as_generator(rng)
    out = gen.poisson(mean, size=size)
    bad = out > top
    while bad.any():
        out[bad] = gen.poisson(mean, size=int(bad.sum()))
        bad = out > top
    return out


def _truncated_gumbel(scale: float, bound: float, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Gumbel(0, scale) conditioned on |x| ≤ bound, by inverting the CDF on the allowed interval."""
    lo = math.exp(-math.exp(bound / scale))  # F(−bound)
    hi = math.exp(-math.exp(-bound / scale))  # F(bound)
    u = np.maximum(lo + (hi - lo) * rng.random(shape), np.finfo(np.float64).tiny)
    return -scale * np.log(-np.log(u))
