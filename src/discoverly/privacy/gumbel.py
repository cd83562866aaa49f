"""The density-aware truncated Gumbel mechanism, with a calibration that has a proof.

For an input word w (vector x = φ(w)) and every vocabulary word c, let d(x, c) be their distance and
d_k(x) the distance from x to its k-th nearest vocabulary word (d_0 = 0: the word itself).

1. Draw k ~ Poisson(λ) truncated to {0, …, K} (K = ``max_k`` stored neighbours, at most n − 1).
2. Truncate the distances from below at the k-th neighbour: the word itself and its k nearest
   neighbours get ``d̃ = (1 − α)·d + α·d_k`` (α = ``flatten``; α = 1 puts all k + 1 at exactly
   d_k), every other word keeps ``d̃ = d``. In one formula: ``d̃ = max(d, (1 − α)·d + α·d_k(x))``.
3. Add Gumbel noise of scale b = 2/ε to every truncated distance (``d̃_c − b·G_c``, G standard
   Gumbel) and output the argmin.

**Privacy (the calibration b = 2/ε).** Step 3 is the Gumbel-max form of the exponential mechanism:
``P(c | x, k) ∝ exp(−ε·d̃(x, c)/2)``. For fixed c and k, d(·, c) is 1-Lipschitz in x, so is the
k-th order statistic d_k(·) of 1-Lipschitz functions, and so are their convex combination and
maximum: |d̃(x, c) − d̃(x', c)| ≤ ‖x − x'‖. The numerator of P(c | x, k) therefore changes by at
most exp(ε‖x − x'‖/2) and so does the normaliser, giving
``P(c | w, k) ≤ exp(ε · d(w, w')) · P(c | w', k)`` for every k. The mixture over k uses the same,
data-independent weights for every input, so the bound holds for P(c | w) as well. This is the same
guarantee, on the same distance, as multivariate Laplace at the same ε — the two are compared at
equal ε on equal terms. The bound does not depend on λ, α, K or the vocabulary's Δ_min, Δ_max: those
only decide *where* the probability goes (utility and the empirical statistics N_w, S_w).

**Why the noise is not truncated, and why every word stays a candidate.** Truncating the noise
breaks the Gumbel-max identity, and restricting the candidates to the k nearest neighbours makes
the support of the output depend on the input: a word among w's 5 nearest neighbours but w''s 500th
is (almost) impossible from w', so the privacy loss between two close words is bounded only through
the Poisson tail and the vocabulary's smallest distance — which is what forces the public
calibration to ε ≥ 2(1 + ln n)/Δ_min (see :mod:`discoverly.privacy.public_gumbel`). Here the
truncation acts on the distances, and the words beyond the K stored neighbours stay candidates: by
the max-stability of the Gumbel distribution they act as one candidate with Gumbel location
log Σ exp(−ε·d/2) over them, and, when it wins, a word is drawn from them ∝ exp(−ε·d/2) — exactly.

**Density awareness.** The k nearest neighbours (k ≈ λ) become (nearly) equally likely however far
they are: in a dense region the flattened ball is small, in a sparse one large, but it always holds
about λ + 1 words, so a word in a sparse region is not left almost unperturbed as it would be under a
fixed noise level. α < 1 keeps a little of the distance order inside the ball, so that as ε grows
the mechanism tends to the identity (N_w → 1) and ε remains a usable dial over the whole range.

**Speed.** Given ε, every word's output distribution over its K neighbours and the tail is computed
in closed form once (O(n·K) with prefix sums over k, plus one pass over all pairwise distances for
the tail masses), so a token costs one uniform draw and a binary search: O(log K).
``method="gumbel"`` runs the literal steps 1–3 instead (O(K) per token) and gives the same
distribution; the tests check both against each other and against :meth:`output_distribution`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from discoverly.artifacts import read_artifact, write_artifact
from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.privacy.mechanism import RngLike, WordMechanism, as_generator, check_epsilon
from discoverly.privacy.nearest import Neighbours, distance_blocks, neighbours
from discoverly.privacy.progress import ticker
from discoverly.privacy.tail import TailSampler
from discoverly.privacy.vocabulary import WordEmbeddings

__all__ = ["TruncatedGumbel"]

log = logging.getLogger(__name__)

METHODS = ("table", "gumbel")


@dataclass
class _Table:
    """Everything a token needs at one ε: the CDF over its word's ranks 0..K and the tail."""

    epsilon: float
    cdf: np.ndarray  # (n, K + 2) float64; column K + 1 is the tail (words beyond the list)
    log_tail_mass: np.ndarray  # (n,) log Σ_{c beyond K} exp(−ε d(w, c)/2); -inf without a tail
    log_band_mass: np.ndarray  # (n,) the same sum over ranks K+1 … K₂ only
    flat: np.ndarray  # (n·(K + 2),) cdf + row number, one sorted array for a single searchsorted
    log_tail_factor: np.ndarray  # (n,) log Σ_k π_k / Z_k(w): P(c | w) = exp(−ε d/2 + this) in the tail
    seconds: float


class TruncatedGumbel(WordMechanism):
    """Density-aware truncated Gumbel mechanism with the provable calibration b = 2/ε.

    ``mean_k`` (λ, default ln(n − 1)) is the Poisson mean of the number of neighbours flattened,
    ``flatten`` (α) how much, ``max_k`` (K) how many neighbours per word are stored.
    """

    name: ClassVar[str] = "truncated-gumbel"

    def __init__(self, embeddings: WordEmbeddings, *, mean_k: float | None = None, flatten: float = 0.98,
                 max_k: int = 256, band_k: int = 1024, method: str = "table", neighbour_lists: Neighbours | None = None,
                 cache: Any = True, progress: bool = False, max_tables: int = 4, **kwargs: Any) -> None:
        super().__init__(embeddings, **kwargs)
        n = len(embeddings)
        lam = math.log(n - 1) if mean_k is None else float(mean_k)
        if not math.isfinite(lam) or lam < 0:
            raise ConfigError(f"mean_k (the Poisson mean of k) must be a number >= 0, got {mean_k}")
        if not 0.0 <= flatten <= 1.0:
            raise ConfigError(f"flatten (α) must be in [0, 1], got {flatten}")
        if method not in METHODS:
            raise ConfigError(f"unknown method {method!r}; use 'table' (fast) or 'gumbel' (literal)")
        max_k = min(int(max_k), n - 1)
        if max_k < 1:
            raise ConfigError(f"max_k must be at least 1, got {max_k}")
        self.mean_k = lam
        self.flatten = float(flatten)
        self.max_k = max_k
        self.method = method
        self.progress = progress
        self.cache = cache
        self.max_tables = max(1, int(max_tables))
        band_k = max(max_k, min(int(band_k), n - 1))
        t0 = time.perf_counter()
        if neighbour_lists is None:
            neighbour_lists = neighbours(embeddings, band_k, cache=cache, progress=progress)
        elif neighbour_lists.fingerprint != embeddings.fingerprint():
            raise ConfigError("neighbour_lists were computed for another vocabulary")
        band_k = min(band_k, neighbour_lists.k)
        if band_k < max_k:
            raise ConfigError(f"neighbour_lists hold {neighbour_lists.k} neighbours per word, max_k={max_k} needs more")
        self.band_k = band_k
        self.neighbour_lists = neighbour_lists.head(max_k)
        self.timings: dict[str, float] = {"neighbours": time.perf_counter() - t0}
        self._nn = self.neighbour_lists.indices.astype(np.int64)
        self._dist = self.neighbour_lists.distances.astype(np.float64)
        lists = neighbour_lists.head(band_k)
        self._tail = TailSampler(embeddings.vectors, lists.indices.astype(np.int64), lists.distances, max_k)
        self._log_pi = self._k_log_pmf()
        self._tables: dict[float, _Table] = {}

    def _params(self) -> dict[str, Any]:
        return {"mean_k": self.mean_k, "flatten": self.flatten, "max_k": self.max_k, "band_k": self.band_k,
                "method": self.method, "gumbel_scale": "2/epsilon"}

    # ------------------------------------------------------------------ k
    def _k_log_pmf(self) -> np.ndarray:
        ks = np.arange(self.max_k + 1)
        if self.mean_k == 0:
            out = np.full(ks.shape, -np.inf)
            out[0] = 0.0
            return out
        logp = stats.poisson.logpmf(ks, self.mean_k)
        return np.asarray(logp - stats.poisson.logcdf(self.max_k, self.mean_k), dtype=np.float64)

    def k_distribution(self) -> np.ndarray:
        """P(k = 0..K): the Poisson(λ) distribution truncated to {0, …, K} (renormalised)."""
        return np.exp(self._log_pi)

    def draw_k(self, size: int, rng: RngLike = None) -> np.ndarray:
        """``size`` draws of k: Poisson(λ) conditioned on k ≤ K (rejection, so exactly truncated)."""
        gen = as_generator(rng)
        out = gen.poisson(self.mean_k, size=size)
        bad = out > self.max_k
        while bad.any():
            out[bad] = gen.poisson(self.mean_k, size=int(bad.sum()))
            bad = out > self.max_k
        return out.astype(np.int64)

    # ------------------------------------------------------------------ per-ε tables
    def prepare(self, epsilon: float | Sequence[float]) -> None:
        """Compute the tables for one ε or several (several share one pass over the distances)."""
        eps_list = [check_epsilon(e) for e in (epsilon if isinstance(epsilon, Sequence) else [epsilon])]
        if self._nn.shape[1] < len(self.embeddings):
            self._tail_log_mass([e for e in eps_list if e not in self._tables])
        for e in eps_list:
            self._table(e)

    def _table(self, eps: float) -> _Table:
        table = self._tables.get(eps)
        if table is not None:
            return table
        n, kk = self._dist.shape
        has_tail = kk < n
        if has_tail:
            masses = self._tail_log_mass([eps])
            log_t, log_band = masses[0][0], masses[1][0]
        else:
            log_t = log_band = np.full(n, -np.inf)
        t0 = time.perf_counter()
        cdf = np.empty((n, kk + 1), dtype=np.float64)
        factor = np.empty(n, dtype=np.float64)
        for a in range(0, n, 2048):
            logp, lf = self._log_probabilities(self._dist[a: a + 2048], log_t[a: a + 2048], eps)
            p = np.exp(logp)
            np.cumsum(p, axis=1, out=cdf[a: a + 2048])
            cdf[a: a + 2048] /= cdf[a: a + 2048, -1:]
            factor[a: a + 2048] = lf
        cdf[:, -1] = 1.0
        flat = (cdf + np.arange(n, dtype=np.float64)[:, None]).reshape(-1)
        table = _Table(eps, cdf, log_t, log_band, flat, factor, time.perf_counter() - t0)
        if len(self._tables) >= self.max_tables:
            self._tables.pop(next(iter(self._tables)))
        self._tables[eps] = table
        self.timings[f"table eps={eps:g}"] = table.seconds
        log.info("truncated-gumbel tables at eps=%g for %d words in %.2fs", eps, n, table.seconds)
        return table

    def _log_probabilities(self, dist: np.ndarray, log_t: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
        """log P(rank j | w) for j = 0..K and the tail (last column), for rows of neighbour distances.

        With a_j = −ε(1−α)d_j/2, e_j = −εd_j/2 and c_k = −εα d_k/2, given k the weights are
        exp(a_j + c_k) for j < k, exp(e_j) for j ≥ k and exp(T) for the tail, so
        Z_k = exp(c_k)·A_k + B_k + exp(T) with A_k = Σ_{j<k} exp(a_j), B_k = Σ_{j≥k} exp(e_j), and
        P(j) = exp(a_j)·Σ_{k>j} π_k exp(c_k)/Z_k + exp(e_j)·Σ_{k≤j} π_k/Z_k — prefix sums over k.
        """
        alpha = self.flatten
        half = eps / 2.0
        a = -half * (1.0 - alpha) * dist
        e = -half * dist
        c = -half * alpha * dist
        m, _kk = dist.shape
        neg = np.full((m, 1), -np.inf)
        with np.errstate(invalid="ignore"):
            log_a = np.concatenate([neg, np.logaddexp.accumulate(a, axis=1)[:, :-1]], axis=1)
            log_b = np.logaddexp.accumulate(e[:, ::-1], axis=1)[:, ::-1]
            log_z = np.logaddexp(np.logaddexp(c + log_a, log_b), log_t[:, None])
            f = self._log_pi[None, :] + c - log_z
            r1 = np.concatenate([np.logaddexp.accumulate(f[:, ::-1], axis=1)[:, ::-1][:, 1:], neg], axis=1)
            g = self._log_pi[None, :] - log_z
            r2 = np.logaddexp.accumulate(g, axis=1)
            logp = np.logaddexp(a + r1, e + r2)
        tail = log_t + r2[:, -1]
        out = np.concatenate([logp, tail[:, None]], axis=1)
        norm = np.logaddexp.reduce(out, axis=1)  # 0 up to rounding; renormalise to be exact
        out -= norm[:, None]
        return out, r2[:, -1] - norm

    def _tail_log_mass(self, epsilons: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """``(log T, log band mass)`` per ε and word: the tail's total weight Σ exp(−ε d(w, c)/2) over
        the words beyond w's K listed neighbours, and the part of it in ranks K+1 … K₂. One pass over
        all pairwise distances (BLAS blocks) for all ε at once, read from / added to the disk cache."""
        n = len(self.embeddings)
        known = self._tail_cache_read()
        todo = [e for e in epsilons if e not in known]
        if todo:
            t0 = time.perf_counter()
            with ticker("tail masses", n, enabled=self.progress, unit="words") as bar:
                log_t, log_band = self._tail.log_masses(todo, progress_advance=bar.advance)
            self.timings["tail masses"] = self.timings.get("tail masses", 0.0) + time.perf_counter() - t0
            for i, e in enumerate(todo):
                known[e] = (log_t[i], log_band[i])
            self._tail_cache_write(known)
        if not epsilons:
            return np.empty((0, n)), np.empty((0, n))
        return np.stack([known[e][0] for e in epsilons]), np.stack([known[e][1] for e in epsilons])

    def _tail_cache_path(self) -> Any:
        from discoverly.privacy.nearest import cache_dir

        if self.cache is False:
            return None
        folder = cache_dir() if self.cache is True else Path(self.cache)
        return folder / f"tails-{self.embeddings.fingerprint()}-{self.max_k}-{self.band_k}"

    def _tail_cache_read(self) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        path = self._tail_cache_path()
        if path is None or not path.exists():
            return {}
        try:
            art = read_artifact(path, kind="privacy-tail-masses")
            eps, mass, band = art.arrays["epsilons"], art.arrays["log_mass"], art.arrays["log_band_mass"]
            if mass.shape[1] != len(self.embeddings):
                return {}
            return {float(e): (mass[i].astype(np.float64), band[i].astype(np.float64)) for i, e in enumerate(eps)}
        except (ArtifactError, KeyError, IndexError) as exc:
            log.warning("ignoring a broken tail-mass cache %s: %s", path, exc)
            return {}

    def _tail_cache_write(self, known: dict[float, tuple[np.ndarray, np.ndarray]]) -> None:
        path = self._tail_cache_path()
        if path is None:
            return
        keys = sorted(known)[-64:]
        try:
            write_artifact(path, {"kind": "privacy-tail-masses", "fingerprint": self.embeddings.fingerprint(),
                                  "max_k": self.max_k, "band_k": self.band_k},
                           {"epsilons": np.asarray(keys), "log_mass": np.stack([known[e][0] for e in keys]),
                            "log_band_mass": np.stack([known[e][1] for e in keys])})
        except OSError as exc:
            log.warning("could not cache tail masses in %s: %s", path, exc)

    # ------------------------------------------------------------------ exact distributions
    def output_distribution(self, word: int | str, epsilon: float) -> np.ndarray:
        """P(y | word) for every vocabulary word y (float64, sums to 1), in closed form."""
        return np.exp(self.log_output_distribution(word, epsilon))

    def log_output_distribution(self, word: int | str, epsilon: float) -> np.ndarray:
        """log P(y | word) for every vocabulary word y, computed in log space (no underflow: this is
        what privacy-loss checks ``max_y |log P(y|w) − log P(y|w')|`` should use)."""
        eps = check_epsilon(epsilon)
        w = self.embeddings.index(word) if isinstance(word, str) else int(word)
        if not 0 <= w < len(self.embeddings):
            raise DataError(f"{word!r} is not a vocabulary word or row")
        n = len(self.embeddings)
        has_tail = self._nn.shape[1] < n
        if has_tail:
            table = self._table(eps)
            log_t = table.log_tail_mass[w: w + 1]
        else:
            log_t = np.full(1, -np.inf)
        logp, factor = self._log_probabilities(self._dist[w: w + 1], log_t, eps)
        out = np.empty(n, dtype=np.float64)
        out[self._nn[w]] = logp[0, :-1]
        if has_tail:
            _, d = next(distance_blocks(self.embeddings.vectors, np.array([w])))
            tail = np.ones(n, dtype=bool)
            tail[self._nn[w]] = False
            out[tail] = -(eps / 2.0) * d[0, tail].astype(np.float64) + factor[0]
        return out

    def unchanged_probability(self, epsilon: float) -> np.ndarray:
        """P(w | w) for every word: the expected N_w (fraction of draws that return the word)."""
        return self._table(check_epsilon(epsilon)).cdf[:, 0].copy()

    def unchanged_curve(self, epsilons: Sequence[float], rows: np.ndarray | None = None) -> np.ndarray:
        """P(w | w) at every ε (rows of the result) for the words ``rows`` (default: all), without
        building or keeping full tables: one shared pass for the tail masses, then only those rows."""
        eps_list = [check_epsilon(e) for e in epsilons]
        idx = np.arange(len(self.embeddings)) if rows is None else np.asarray(rows, dtype=np.int64)
        if self._nn.shape[1] < len(self.embeddings):
            log_t = self._tail_log_mass(eps_list)[0][:, idx]
        else:
            log_t = np.full((len(eps_list), len(idx)), -np.inf)
        out = np.empty((len(eps_list), len(idx)))
        for i, e in enumerate(eps_list):
            for a in range(0, len(idx), 2048):
                logp, _ = self._log_probabilities(self._dist[idx[a: a + 2048]], log_t[i, a: a + 2048], e)
                out[i, a: a + 2048] = np.exp(logp[:, 0])
        return out

    # ------------------------------------------------------------------ sampling
    def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        table = self._table(epsilon)
        if self.method == "table":
            ranks = _row_search(table.cdf, indices, rng.random(len(indices)), table.flat)
        else:
            ranks = self._gumbel_ranks(indices, epsilon, table, rng)
        kk = self._nn.shape[1]
        out = np.empty(len(indices), dtype=np.int64)
        listed = ranks < kk
        out[listed] = self._nn[indices[listed], ranks[listed]]
        if not listed.all():
            miss = np.flatnonzero(~listed)
            out[miss] = self._tail.sample(indices[miss], epsilon, table.log_tail_mass, table.log_band_mass, rng)
        return out

    def _gumbel_ranks(self, indices: np.ndarray, eps: float, table: _Table, rng: np.random.Generator) -> np.ndarray:
        """Steps 1–3 literally: draw k, truncate the distances, add Gumbel noise, take the argmin."""
        kk = self._nn.shape[1]
        b = 2.0 / eps
        ranks = np.empty(len(indices), dtype=np.int64)
        cols = np.arange(kk)
        for a in range(0, len(indices), 2048):
            w = indices[a: a + 2048]
            m = len(w)
            k = self.draw_k(m, rng)
            d = self._dist[w]
            dk = d[np.arange(m), k][:, None]
            trunc = np.where(cols[None, :] < k[:, None], (1.0 - self.flatten) * d + self.flatten * dk, d)
            noisy = trunc - b * rng.gumbel(size=(m, kk))
            # the words beyond the list, as one candidate: min_c (d_c − b G_c) ~ −b (T + G)
            tail = -b * (table.log_tail_mass[w] + rng.gumbel(size=m))
            best = noisy.argmin(axis=1)
            ranks[a: a + m] = np.where(tail < noisy[np.arange(m), best], kk, best)
        return ranks


def _row_search(cdf: np.ndarray, rows: np.ndarray, u: np.ndarray, flat: np.ndarray | None = None) -> np.ndarray:
    """For each token, the first column j with ``cdf[row, j] > u``.

    One C-level ``searchsorted`` on ``flat`` (every row's CDF shifted by its row number, so the whole
    table is one sorted array) finds the column up to the rounding of that shift; the result is then
    made exact against the row's own float64 CDF by stepping left or right where needed.
    """
    width = cdf.shape[1]
    if flat is None:
        flat = (cdf + np.arange(cdf.shape[0], dtype=np.float64)[:, None]).reshape(-1)
    keys = rows + u
    order = np.argsort(keys, kind="stable")  # sorted keys let searchsorted narrow from the last hit
    pos = np.empty(len(keys), dtype=np.int64)
    pos[order] = np.searchsorted(flat, keys[order], side="right")
    j = np.clip(pos - rows * width, 0, width - 1)
    base = rows * width
    raw = cdf.reshape(-1)
    for _ in range(width):
        left = (j > 0) & (raw[base + np.maximum(j - 1, 0)] > u)
        right = (j < width - 1) & (raw[base + j] <= u)
        if not (left.any() or right.any()):
            break
        j = j - left + right
    return j
