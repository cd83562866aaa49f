"""Exact nearest-neighbour lists of every vocabulary word, computed once and cached as an artifact.

The truncated Gumbel mechanism spends O(k) per token because it reads each word's neighbours from
these lists instead of searching. They are exact: blocked matrix products on BLAS (``‖a‖² + ‖b‖² −
2 a·b`` in float32, one block of rows at a time so memory stays at ``block × n`` floats), or faiss'
exact ``IndexFlatL2``. The same pass records the smallest and largest distance between two different
words (Δ_min, Δ_max), which the public truncated-Gumbel calibration needs.

Column 0 of every list is the word itself (distance 0), so ``indices[w, j]`` is ``w``'s j-th nearest
neighbour. The lists are cached under ``$DISCOVERLY_CACHE_DIR/privacy`` (default
``~/.cache/discoverly/privacy``), keyed by the vocabulary's content fingerprint::

    nb = neighbours(emb, k=256)          # computed once (≈ 9 s for 14,296 × 300 on one core), then loaded
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discoverly.artifacts import read_artifact, write_artifact
from discoverly.dependencies import require
from discoverly.errors import ArtifactError, ConfigError
from discoverly.privacy.progress import ticker
from discoverly.privacy.vocabulary import WordEmbeddings

__all__ = ["Neighbours", "exact_neighbours", "neighbours", "distance_blocks", "cache_dir"]

log = logging.getLogger(__name__)

KIND = "privacy-neighbours"


@dataclass(frozen=True)
class Neighbours:
    """Each word's ``k`` nearest other words, nearest first, with the word itself in column 0."""

    indices: np.ndarray  # (n, k + 1) int32
    distances: np.ndarray  # (n, k + 1) float32, ascending per row, column 0 is 0
    min_distance: float  # Δ_min: the smallest distance between two different words
    max_distance: float  # Δ_max: the largest distance between two words
    fingerprint: str
    seconds: float = 0.0  # how long the computation took

    @property
    def k(self) -> int:
        return int(self.indices.shape[1] - 1)

    def head(self, k: int) -> Neighbours:
        """The first ``k`` neighbours of every word (``k`` at most :attr:`k`)."""
        if k > self.k:
            raise ConfigError(f"these lists hold {self.k} neighbours per word, {k} were asked for")
        if k == self.k:
            return self
        return Neighbours(self.indices[:, : k + 1], self.distances[:, : k + 1], self.min_distance,
                          self.max_distance, self.fingerprint, self.seconds)

    def save(self, path: str | os.PathLike[str]) -> Path:
        manifest = {"kind": KIND, "k": self.k, "fingerprint": self.fingerprint,
                    "min_distance": self.min_distance, "max_distance": self.max_distance, "seconds": self.seconds}
        return write_artifact(path, manifest, {"indices": self.indices, "distances": self.distances})

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, embeddings: WordEmbeddings | None = None) -> Neighbours:
        art = read_artifact(path, kind=KIND)
        m = art.manifest
        if embeddings is not None and m.get("fingerprint") != embeddings.fingerprint():
            raise ArtifactError(f"the neighbour lists in {str(path)!r} belong to another vocabulary (fingerprint "
                                f"{m.get('fingerprint')}, expected {embeddings.fingerprint()}); recompute them")
        try:
            idx, dist = art.arrays["indices"], art.arrays["distances"]
        except KeyError as exc:
            raise ArtifactError(f"{str(path)!r} lacks the array {exc}") from exc
        if embeddings is not None and idx.shape[0] != len(embeddings):
            raise ArtifactError(f"{str(path)!r} has lists for {idx.shape[0]} words, the vocabulary has "
                                f"{len(embeddings)}")
        return cls(idx.astype(np.int32, copy=False), dist.astype(np.float32, copy=False),
                   float(m["min_distance"]), float(m["max_distance"]), str(m["fingerprint"]),
                   float(m.get("seconds", 0.0)))


def distance_blocks(vectors: np.ndarray, rows: np.ndarray, *, block: int = 512,
                    squared: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(row_indices, distances)`` with the Euclidean distances of ``vectors[rows]`` to every
    vector, ``block`` rows at a time (float32, shape ``(len(block rows), n)``).

    One augmented matrix product ``[q, 1, ‖q‖²] · [−2v, ‖v‖², 1]ᵀ`` gives the squared distances
    directly, so the only other passes over the block are the clamp at 0 and the square root.
    """
    sq = np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64).astype(np.float32)
    n, d = vectors.shape
    right = np.empty((d + 2, n), dtype=np.float32)
    right[:d] = -2.0 * vectors.T
    right[d] = sq
    right[d + 1] = 1.0
    left = np.empty((min(block, len(rows)), d + 2), dtype=np.float32)
    for a in range(0, len(rows), block):
        r = rows[a: a + block]
        q = left[: len(r)]
        q[:, :d] = vectors[r]
        q[:, d] = 1.0
        q[:, d + 1] = sq[r]
        d2 = q @ right
        np.maximum(d2, 0.0, out=d2)
        d2[np.arange(len(r)), r] = 0.0  # exact zero to itself despite rounding
        if not squared:
            np.sqrt(d2, out=d2)
        yield r, d2


def exact_neighbours(embeddings: WordEmbeddings, k: int, *, backend: str = "numpy", block: int = 1024,
                     progress: bool = False) -> Neighbours:
    """Exact ``k`` nearest neighbours of every word by brute force (numpy on BLAS, or faiss)."""
    n = len(embeddings)
    if not 1 <= k <= n - 1:
        raise ConfigError(f"k must be between 1 and {n - 1} (the vocabulary size - 1), got {k}")
    if backend not in ("numpy", "faiss"):
        raise ConfigError(f"unknown nearest-neighbour backend {backend!r}; use 'numpy' or 'faiss'")
    t0 = time.perf_counter()
    vectors = embeddings.vectors
    indices = np.empty((n, k + 1), dtype=np.int32)
    distances = np.empty((n, k + 1), dtype=np.float32)
    dmin, dmax = np.inf, 0.0
    if backend == "faiss":
        faiss = require("faiss", extra="privacy", purpose="exact nearest neighbours with faiss")
        index = faiss.IndexFlatL2(embeddings.dim)
        index.add(vectors)
    with ticker("nearest neighbours", n, enabled=progress, unit="words") as bar:
        for rows, d2 in distance_blocks(vectors, np.arange(n), block=block, squared=True):
            m = len(rows)
            dmax = max(dmax, float(d2.max()))
            d2[np.arange(m), rows] = np.inf
            dmin = min(dmin, float(d2.min()))
            if backend == "faiss":
                dd, ii = index.search(vectors[rows], k + 1)
                # faiss may return a duplicate vector before the word itself: put the word first
                _self_first(rows, ii, dd)
                indices[rows] = ii
                distances[rows] = np.sqrt(np.maximum(dd, 0.0))
                distances[rows, 0] = 0.0
            else:
                part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < n - 1 else np.argsort(d2, axis=1)[:, :k]
                pd2 = np.take_along_axis(d2, part, axis=1)
                # by distance, ties by index (of words tied at the k-th distance, argpartition picks
                # which make the list: deterministic, but not always the lower rows)
                order = np.lexsort((part, pd2), axis=1)
                indices[rows, 0] = rows
                indices[rows, 1:] = np.take_along_axis(part, order, axis=1)
                distances[rows, 0] = 0.0
                distances[rows, 1:] = np.sqrt(np.take_along_axis(pd2, order, axis=1))
            bar.advance(m)
    seconds = time.perf_counter() - t0
    log.info("exact %d-NN lists of %d words in %.1fs", k, n, seconds)
    return Neighbours(indices, distances, float(np.sqrt(dmin)), float(np.sqrt(dmax)), embeddings.fingerprint(),
                      seconds)


def _self_first(rows: np.ndarray, ii: np.ndarray, dd: np.ndarray) -> None:
    for r in range(len(rows)):
        hit = np.flatnonzero(ii[r] == rows[r])
        pos = int(hit[0]) if hit.size else ii.shape[1] - 1
        if pos != 0:
            ii[r, 1: pos + 1] = ii[r, :pos].copy()
            dd[r, 1: pos + 1] = dd[r, :pos].copy()
            ii[r, 0], dd[r, 0] = rows[r], 0.0


def cache_dir() -> Path:
    """Where neighbour lists are cached: ``$DISCOVERLY_CACHE_DIR/privacy`` or ``~/.cache/discoverly/privacy``."""
    root = os.environ.get("DISCOVERLY_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "discoverly"
    return base / "privacy"


def neighbours(embeddings: WordEmbeddings, k: int, *, cache: bool | str | os.PathLike[str] = True,
               progress: bool = False) -> Neighbours:
    """The exact ``k``-NN lists of ``embeddings``, read from the cache when present, else computed and
    cached (``cache=False`` never touches disk; a path caches there instead of :func:`cache_dir`)."""
    k = min(k, len(embeddings) - 1)
    if cache is False:
        return exact_neighbours(embeddings, k, progress=progress)
    folder = cache_dir() if cache is True else Path(cache)
    fp = embeddings.fingerprint()
    candidates = []
    if folder.is_dir():
        for p in folder.glob(f"neighbours-{fp}-*"):
            try:
                candidates.append((int(p.name.rsplit("-", 1)[1]), p))
            except ValueError:
                continue
    for have, path in sorted(candidates):
        if have >= k:
            try:
                return Neighbours.load(path, embeddings=embeddings).head(k)
            except ArtifactError as exc:
                log.warning("ignoring a broken neighbour cache %s: %s", path, exc)
    result = exact_neighbours(embeddings, k, progress=progress)
    try:
        result.save(folder / f"neighbours-{fp}-{k}")
    except OSError as exc:  # a read-only home must not stop the mechanism
        log.warning("could not cache neighbour lists in %s: %s", folder, exc)
    return result
