"""Multivariate Laplace: move the word's vector by calibrated noise, output the nearest vocabulary word.

The noise has density ∝ exp(−ε‖z‖) in R^d: its direction is uniform on the unit sphere (a normalised
standard normal) and its length is Gamma(shape d, scale 1/ε). For two words w, w' the noisy vectors'
densities differ by at most exp(ε‖φ(w) − φ(w')‖) everywhere, so every function of the noisy vector
that does not look at the input again — here the nearest vocabulary word — satisfies
``P(y | w) ≤ exp(ε · d(w, w')) · P(y | w')`` (post-processing). That is also why the *approximate*
search is safe: an index built from the public vocabulary only (HNSW graph, IVF clusters) is a
data-independent function of the noisy vector, so a wrong neighbour costs utility, never privacy.

Two search modes:

- ``search="exact"`` — batched brute force on BLAS. The squared distance ``‖z − v‖²`` ranks like
  ``−(z·v − ‖v‖²/2)``, so one augmented matrix product ``[z, 1] · [v, −‖v‖²/2]ᵀ`` scores a whole
  block of tokens against a block of words, and an argmax finishes it: ≈ 2(d+1)·n FLOP per token
  (8.6 MFLOP on the 14,296 × 300 vocabulary), nearly all of it in sgemm. Blocks of 1,024 tokens
  (``batch_size``) ran at 86% of this machine's sgemm rate, 256 at 74–80% (benchmarks/privacy.md).
- ``search="hnsw"`` or ``"ivf"`` — faiss approximate search (built once per mechanism), much
  faster; :func:`agreement` measures how often it returns the exact answer.

``shape="mahalanobis"`` (Xu et al., 2020) stretches the noise along the vocabulary's covariance:
``z = φ(w) + r · Σ_λ^{1/2} u`` with ``Σ_λ = λ Σ / mean(diag Σ) + (1 − λ) I``; its guarantee is
stated on the Mahalanobis-type distance ``‖Σ_λ^{-1/2}(φ(w) − φ(w'))‖``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import numpy as np

from discoverly.dependencies import require
from discoverly.errors import ConfigError
from discoverly.privacy.mechanism import RngLike, WordMechanism, as_generator, check_epsilon
from discoverly.privacy.vocabulary import WordEmbeddings

__all__ = ["MultivariateLaplace", "laplace_noise", "agreement"]

log = logging.getLogger(__name__)

SEARCHES = ("exact", "hnsw", "ivf")


def laplace_noise(size: int, dim: int, epsilon: float, rng: RngLike = None) -> np.ndarray:
    """``size`` draws of d-dimensional noise with density ∝ exp(−ε‖z‖) (float32, shape (size, dim))."""
    eps = check_epsilon(epsilon)
    gen = as_generator(rng)
    direction = gen.standard_normal((size, dim), dtype=np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", direction, direction))
    norms[norms == 0] = 1.0  # probability 0; keeps the division defined
    magnitude = gen.gamma(shape=dim, scale=1.0 / eps, size=size).astype(np.float32)
    direction *= (magnitude / norms)[:, None]
    return direction


class MultivariateLaplace(WordMechanism):
    """Calibrated multivariate Laplace noise + nearest vocabulary word (exact or faiss search)."""

    name: ClassVar[str] = "multivariate-laplace"

    def __init__(self, embeddings: WordEmbeddings, *, search: str = "exact", shape: str = "spherical",
                 lam: float = 0.2, batch_size: int = 1024, vocab_block: int = 4096, hnsw_m: int = 32,
                 ef_search: int = 64, ivf_lists: int | None = None, ivf_probe: int = 8,
                 threads: int | None = None, **kwargs: Any) -> None:
        super().__init__(embeddings, **kwargs)
        if search not in SEARCHES:
            raise ConfigError(f"unknown search {search!r}; use one of {', '.join(SEARCHES)}")
        if shape not in ("spherical", "mahalanobis"):
            raise ConfigError(f"unknown noise shape {shape!r}; use 'spherical' or 'mahalanobis'")
        if not 0.0 <= lam <= 1.0:
            raise ConfigError(f"lam (the Mahalanobis mixing weight) must be in [0, 1], got {lam}")
        if batch_size < 1 or vocab_block < 1:
            raise ConfigError("batch_size and vocab_block must be at least 1")
        self.search = search
        self.shape = shape
        self.lam = float(lam)
        self.batch_size = int(batch_size)
        self.vocab_block = int(vocab_block)
        self.hnsw_m = int(hnsw_m)
        self.ef_search = int(ef_search)
        self.ivf_lists = ivf_lists
        self.ivf_probe = int(ivf_probe)
        self.threads = threads
        vec = embeddings.vectors
        # augmented vocabulary for the one-GEMM nearest-neighbour score, split in cache-sized column blocks
        aug = np.concatenate([vec, -0.5 * np.einsum("ij,ij->i", vec, vec)[:, None]], axis=1).astype(np.float32)
        self._blocks = [np.ascontiguousarray(aug[a: a + self.vocab_block].T)
                        for a in range(0, len(embeddings), self.vocab_block)]
        self._index: Any = None
        self._quantizer: Any = None
        self.index_seconds = 0.0
        self._sqrt_cov: np.ndarray | None = None
        if shape == "mahalanobis":
            cov = np.cov(vec.astype(np.float64), rowvar=False)
            cov /= np.mean(np.diag(cov))
            sigma = self.lam * cov + (1.0 - self.lam) * np.eye(embeddings.dim)
            w, v = np.linalg.eigh(sigma)
            self._sqrt_cov = ((v * np.sqrt(np.clip(w, 0.0, None))) @ v.T).astype(np.float32)

    def _params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"search": self.search, "shape": self.shape}
        if self.shape == "mahalanobis":
            out["lam"] = self.lam
        if self.search == "hnsw":
            out.update(hnsw_m=self.hnsw_m, ef_search=self.ef_search)
        elif self.search == "ivf":
            out.update(ivf_lists=self._n_lists(), ivf_probe=self.ivf_probe)
        return out

    def guarantee(self, epsilon: float) -> str:
        if self.shape == "spherical":
            return super().guarantee(epsilon)
        eps = check_epsilon(epsilon)
        return (f"metric DP: P(y|w) <= exp({eps:g} * ||S^(-1/2)(w - w')||) * P(y|w') with S = {self.lam:g} * "
                f"normalised covariance + {1 - self.lam:g} * I, on the {self.embeddings.scale!r} scale")

    # ------------------------------------------------------------------ noise and search
    def noisy_vectors(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        """The perturbed vectors ``φ(w) + noise`` for vocabulary rows ``indices`` (float32)."""
        noise = laplace_noise(len(indices), self.embeddings.dim, epsilon, rng)
        if self._sqrt_cov is not None:
            noise = noise @ self._sqrt_cov
        noise += self.embeddings.vectors[indices]
        return noise

    def nearest(self, vectors: np.ndarray) -> np.ndarray:
        """The nearest vocabulary row of every vector, with this mechanism's search."""
        if self.search == "exact":
            return self._nearest_exact(vectors)
        index = self._faiss_index()
        _, ii = index.search(np.ascontiguousarray(vectors, dtype=np.float32), 1)
        out = ii[:, 0].astype(np.int64)
        if (out < 0).any():  # an approximate search that found nothing falls back to the exact answer
            miss = out < 0
            out[miss] = self._nearest_exact(vectors[miss])
        return out

    def _nearest_exact(self, vectors: np.ndarray) -> np.ndarray:
        m = len(vectors)
        q = np.empty((m, self.embeddings.dim + 1), dtype=np.float32)
        q[:, :-1] = vectors
        q[:, -1] = 1.0
        if len(self._blocks) == 1:
            return np.asarray((q @ self._blocks[0]).argmax(axis=1), dtype=np.int64)
        best = np.full(m, -np.inf, dtype=np.float32)
        arg = np.zeros(m, dtype=np.int64)
        rows = np.arange(m)
        start = 0
        buf = np.empty((m, self.vocab_block), dtype=np.float32)
        for block in self._blocks:
            width = block.shape[1]
            scores = buf[:, :width]
            np.matmul(q, block, out=scores)
            j = scores.argmax(axis=1)
            s = scores[rows, j]
            better = s > best
            best[better] = s[better]
            arg[better] = j[better] + start
            start += width
        return arg

    def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        out = np.empty(len(indices), dtype=np.int64)
        step = self.batch_size if self.search == "exact" else max(self.batch_size, 4096)
        for a in range(0, len(indices), step):
            chunk = indices[a: a + step]
            out[a: a + step] = self.nearest(self.noisy_vectors(chunk, epsilon, rng))
        return out

    # ------------------------------------------------------------------ faiss
    def _n_lists(self) -> int:
        return self.ivf_lists or max(16, int(4 * np.sqrt(len(self.embeddings))))

    def _faiss_index(self) -> Any:
        if self._index is None:
            faiss = require("faiss", extra="privacy", purpose="approximate nearest-neighbour search")
            if self.threads:
                faiss.omp_set_num_threads(int(self.threads))
            t0 = time.perf_counter()
            vec = np.ascontiguousarray(self.embeddings.vectors, dtype=np.float32)
            d = self.embeddings.dim
            if self.search == "hnsw":
                index = faiss.IndexHNSWFlat(d, self.hnsw_m)
                index.hnsw.efConstruction = max(40, 2 * self.hnsw_m)
                index.add(vec)
                index.hnsw.efSearch = self.ef_search
            else:
                quantizer = faiss.IndexFlatL2(d)
                index = faiss.IndexIVFFlat(quantizer, d, self._n_lists())
                # k-means on the public vocabulary only; seeded so the index is reproducible
                index.cp.seed = 1234
                index.train(vec)
                index.add(vec)
                index.nprobe = self.ivf_probe
                self._quantizer = quantizer  # the index does not own it: keep it alive
            self.index_seconds = time.perf_counter() - t0
            log.info("built a faiss %s index over %d words in %.2fs", self.search, len(vec), self.index_seconds)
            self._index = index
        return self._index


def agreement(approximate: MultivariateLaplace, *, epsilon: float, n: int = 20_000, rng: RngLike = 0,
              indices: np.ndarray | None = None) -> dict[str, float]:
    """How often ``approximate``'s search returns the exact nearest word for the same noisy vectors.

    Also reports the mean ratio of the returned word's distance to the exact nearest distance
    (1.0 = always exact). ``indices`` defaults to ``n`` words drawn by their Zipf frequency when
    the vocabulary has one (so frequent words count as much as they do in text), else uniformly.
    """
    gen = as_generator(rng)
    emb = approximate.embeddings
    if indices is None:
        if emb.zipf is not None:
            p = np.power(10.0, emb.zipf.astype(np.float64))
            indices = gen.choice(len(emb), size=n, p=p / p.sum())
        else:
            indices = gen.integers(0, len(emb), size=n)
    z = approximate.noisy_vectors(np.asarray(indices), epsilon, gen)
    exact = approximate._nearest_exact(z)
    approx = approximate.nearest(z)
    vec = emb.vectors
    d_exact = np.linalg.norm(z - vec[exact], axis=1)
    d_approx = np.linalg.norm(z - vec[approx], axis=1)
    return {"agreement": float((exact == approx).mean()),
            "distance_ratio": float(np.mean(d_approx / np.maximum(d_exact, 1e-12))),
            "n": len(z)}
