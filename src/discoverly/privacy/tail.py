"""Exact draws from the words beyond a word's stored neighbour list, ∝ exp(−ε·d/2).

The truncated Gumbel mechanism keeps every vocabulary word a candidate. Its table covers each
word's K nearest neighbours; the rest (the *tail*) has total weight T(w) = Σ exp(−ε d(w, c)/2), and
when the tail wins, a tail word must be drawn with probability ∝ exp(−ε d(w, c)/2). Doing that by
computing all n distances for every such token would cost O(n·d). Instead the tail is split in two:

- the *band*: ranks K+1 … K₂ of the (cached) neighbour list, whose indices are stored. A band word
  is proposed uniformly and accepted with probability exp(−ε (d − d_K)/2) ≤ 1 (every band word is
  at least d_K away) — rejection sampling, exact, O(d) per proposal;
- the *far tail*: words beyond rank K₂. A word is proposed uniformly among all words, rejected if it
  is in the list, and accepted with probability exp(−ε (d − d_K₂)/2). Tokens still unaccepted after
  a few rounds (their word's far tail is heavy-tailed in distance, so acceptance is low) are drawn
  exactly from the full distance row of their word (one BLAS row per distinct word).

The band/far split uses the exact masses, computed in the same pass over all pairwise distances as
T(w) and cached with it, so the draw is exactly the mechanism's distribution (up to float32 rounding
of distances, a relative error of ~1e-6 in probabilities).
"""

from __future__ import annotations

import numpy as np

from discoverly.privacy.nearest import distance_blocks

__all__ = ["TailSampler"]


class TailSampler:
    """Draws tail words for tokens whose truncated-Gumbel draw fell beyond the K listed neighbours."""

    def __init__(self, vectors: np.ndarray, indices: np.ndarray, distances: np.ndarray, k: int) -> None:
        """``indices``/``distances``: the neighbour lists up to K₂ (column 0 = the word itself);
        ``k``: the K of the mechanism's table (band = columns K+1 … K₂)."""
        self.vectors = vectors
        self.n = vectors.shape[0]
        self.k = k
        self.k2 = indices.shape[1] - 1
        self.listed = indices  # (n, K₂ + 1)
        self.d_k = distances[:, k].astype(np.float64)
        self.d_k2 = distances[:, self.k2].astype(np.float64)
        self.band_width = self.k2 - k

    # ------------------------------------------------------------------ masses (one pass, all ε)
    def log_masses(self, epsilons: list[float], *, progress_advance: object = None) -> tuple[np.ndarray, np.ndarray]:
        """``(log T, log band mass)`` of every word for every ε: arrays of shape (len(ε), n)."""
        n = self.n
        log_t = np.empty((len(epsilons), n))
        log_band = np.full((len(epsilons), n), -np.inf)
        band_cols = self.listed[:, self.k + 1:]
        head = self.listed[:, : self.k + 1]
        for r, d in distance_blocks(self.vectors, np.arange(n), block=256):
            band_d = np.take_along_axis(d, band_cols[r], axis=1) if self.band_width else None
            np.put_along_axis(d, head[r], np.inf, axis=1)
            dmin = d.min(axis=1, keepdims=True)
            d -= dmin  # ≥ 0: every exp below lies in (0, 1]
            work = np.empty_like(d)
            for i, eps in enumerate(epsilons):
                np.multiply(d, np.float32(-eps / 2.0), out=work)
                np.exp(work, out=work)
                shift = (eps / 2.0) * dmin[:, 0].astype(np.float64)
                log_t[i, r] = np.log(work.sum(axis=1, dtype=np.float64)) - shift
                if band_d is not None:
                    b = np.exp(-(eps / 2.0) * (band_d.astype(np.float64) - dmin))
                    log_band[i, r] = np.log(b.sum(axis=1)) - shift
            if callable(progress_advance):
                progress_advance(len(r))
        return log_t, log_band

    # ------------------------------------------------------------------ draws
    def sample(self, words: np.ndarray, eps: float, log_t: np.ndarray, log_band: np.ndarray,
               rng: np.random.Generator, *, rounds: int = 48) -> np.ndarray:
        """One tail word per entry of ``words`` (their rows' tail masses in ``log_t``/``log_band``)."""
        out = np.full(len(words), -1, dtype=np.int64)
        p_band = np.exp(np.minimum(log_band[words] - log_t[words], 0.0)) if self.band_width else np.zeros(len(words))
        in_band = rng.random(len(words)) < p_band
        if in_band.any():
            pos = np.flatnonzero(in_band)
            out[pos] = self._band(words[pos], eps, rng, rounds * 4)
        far = np.flatnonzero(~in_band)
        if far.size:
            w = words[far]
            # rejection costs ~1/acceptance distance evaluations per token, the exact draw one distance
            # row per distinct word: pick the cheaper per word (acceptance is known from the masses)
            log_far = log_t[w] + np.log1p(-np.minimum(p_band[far], 1.0 - 1e-12))
            log_env = np.log(max(self.n - self.k2 - 1, 1)) - (eps / 2.0) * self.d_k2[w]
            proposals = np.exp(np.clip(log_env - log_far, 0.0, 50.0))
            uniq, inverse = np.unique(w, return_inverse=True)
            per_word = np.zeros(len(uniq))
            np.add.at(per_word, inverse, proposals)
            # a distance row costs about as much as ~1,000 gathered distance evaluations (BLAS vs gathers)
            exact = (per_word > 1000.0)[inverse] | (proposals > rounds / 2) if rounds > 0 else np.ones(len(w), bool)
            if exact.any():
                out[far[exact]] = self._exact(w[exact], eps, rng, lo=self.k2 + 1, hi=None)
            if (~exact).any():
                out[far[~exact]] = self._far(w[~exact], eps, rng, rounds)
        return out

    def _distance(self, w: np.ndarray, c: np.ndarray) -> np.ndarray:
        diff = self.vectors[w] - self.vectors[c]
        return np.sqrt(np.einsum("ij,ij->i", diff, diff)).astype(np.float64)

    def _band(self, words: np.ndarray, eps: float, rng: np.random.Generator, rounds: int) -> np.ndarray:
        out = np.full(len(words), -1, dtype=np.int64)
        pending = np.arange(len(words))
        for _ in range(rounds):
            w = words[pending]
            c = self.listed[w, self.k + 1 + rng.integers(0, self.band_width, size=len(w))]
            accept = rng.random(len(w)) < np.exp(-(eps / 2.0) * np.maximum(self._distance(w, c) - self.d_k[w], 0.0))
            out[pending[accept]] = c[accept]
            pending = pending[~accept]
            if not pending.size:
                return out
        out[pending] = self._exact(words[pending], eps, rng, lo=self.k + 1, hi=self.k2 + 1)
        return out

    def _far(self, words: np.ndarray, eps: float, rng: np.random.Generator, rounds: int) -> np.ndarray:
        out = np.full(len(words), -1, dtype=np.int64)
        pending = np.arange(len(words))
        for _ in range(rounds):
            w = words[pending]
            c = rng.integers(0, self.n, size=len(w))
            d = self._distance(w, c)
            edge = self.d_k2[w]
            outside = d > edge * (1 + 1e-5) + 1e-6
            near = ~outside & (d >= edge * (1 - 1e-5) - 1e-6)
            if near.any():  # too close to the list's last distance to decide by distance: look it up
                for i in np.flatnonzero(near):
                    outside[i] = not bool((self.listed[w[i]] == c[i]).any())
            accept = outside & (rng.random(len(w)) < np.exp(-(eps / 2.0) * np.maximum(d - edge, 0.0)))
            out[pending[accept]] = c[accept]
            pending = pending[~accept]
            if not pending.size:
                return out
        out[pending] = self._exact(words[pending], eps, rng, lo=self.k2 + 1, hi=None)
        return out

    def _exact(self, words: np.ndarray, eps: float, rng: np.random.Generator, *, lo: int,
               hi: int | None) -> np.ndarray:
        """Inverse-CDF draws from one word's full distance row, restricted to ranks [lo, hi) of its
        list (``hi=None``: every word beyond rank ``lo − 1``)."""
        out = np.empty(len(words), dtype=np.int64)
        uniq, inverse = np.unique(words, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
        u = rng.random(len(words))
        pos = 0
        for rows, d in distance_blocks(self.vectors, uniq, block=128):
            logits = -(eps / 2.0) * d.astype(np.float64)
            if hi is None:
                np.put_along_axis(logits, self.listed[rows, :lo], -np.inf, axis=1)
            else:
                keep = np.full_like(logits, -np.inf)
                cols = self.listed[rows, lo:hi]
                np.put_along_axis(keep, cols, np.take_along_axis(logits, cols, axis=1), axis=1)
                logits = keep
            logits -= logits.max(axis=1, keepdims=True)
            cdf = np.cumsum(np.exp(logits), axis=1)
            for i in range(len(rows)):
                sel = order[bounds[pos + i]: bounds[pos + i + 1]]
                out[sel] = np.searchsorted(cdf[i], u[sel] * cdf[i, -1], side="right")
            pos += len(rows)
        return np.minimum(out, self.n - 1)
