"""Dense retrieval: sentence embeddings of the catalogue text in a faiss inner-product index.

Catalogues repeat their descriptive text a lot (92k Complete Journey products have 21k distinct
texts), so only distinct texts are embedded and searched; every item points at its text. The
vectors are kept in the index artifact, and an :class:`EmbeddingCache` lets a rebuilt index reuse
the vectors of texts that did not change (embedding is by far the slowest step of indexing). By default
queries are embedded through onnxruntime when it is installed (3x less CPU than torch, same
vectors; :class:`~discoverly.text_embedding.TextEncoder` ``backend="auto"``), torch otherwise::

    dense = DenseRetriever(TextEncoder()).fit(item_texts, progress=True)
    items, sims = dense.search(dense.encode_query("whole milk"), k=100)
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly.artifacts import read_artifact, write_artifact
from discoverly.dependencies import require
from discoverly.errors import ArtifactError, ConfigError, NotFittedError
from discoverly.text_embedding import TextEncoder

__all__ = ["DenseRetriever", "EmbeddingCache"]

log = logging.getLogger(__name__)


class EmbeddingCache:
    """Text -> vector for one encoder, saved as an artifact (``kind = "text-embeddings"``)."""

    def __init__(self, model: str, texts: Sequence[str] = (), vectors: np.ndarray | None = None) -> None:
        self.model = model
        self.texts = list(texts)
        self.vectors = np.zeros((0, 0), dtype=np.float32) if vectors is None else np.asarray(vectors, np.float32)
        if len(self.texts) != len(self.vectors) and len(self.texts):
            raise ConfigError(f"{len(self.texts)} texts but {len(self.vectors)} vectors")
        self._row = {t: i for i, t in enumerate(self.texts)}

    def __len__(self) -> int:
        return len(self.texts)

    def lookup(self, texts: Sequence[str]) -> np.ndarray:
        """Row of each text in :attr:`vectors`, ``-1`` when the cache does not hold it."""
        return np.array([self._row.get(t, -1) for t in texts], dtype=np.int64)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the cache as an artifact directory; refuses a file or a folder that is not an artifact."""
        return write_artifact(path, {"kind": "text-embeddings", "model": self.model, "n": len(self)},
                              arrays={"vectors": self.vectors}, tables={"texts": pl.DataFrame({"text": self.texts})})

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, model: str | None = None) -> EmbeddingCache:
        art = read_artifact(path, kind="text-embeddings")
        if model is not None and art.manifest.get("model") != model:
            raise ArtifactError(f"{str(path)!r} holds embeddings of {art.manifest.get('model')!r}, not of {model!r}; "
                                "embed again or pass the cache of the same model")
        return cls(art.manifest["model"], art.tables["texts"]["text"].to_list(), art.arrays["vectors"])


class DenseRetriever:
    """Cosine similarity between a query embedding and the items' text embeddings (faiss, exact)."""

    def __init__(self, encoder: TextEncoder | None = None, *, query_cache_size: int = 1024,
                 threads: int = 1) -> None:
        self.encoder = encoder or TextEncoder(backend="auto")
        self.threads = threads
        self.texts: list[str] = []
        self.doc_text = np.zeros(0, dtype=np.int32)
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.stats: dict[str, float] = {}
        self._faiss_index: Any = None
        self._text_docs: tuple[np.ndarray, np.ndarray] | None = None
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache_size = query_cache_size

    @property
    def n_docs(self) -> int:
        return len(self.doc_text)

    def fit(self, doc_texts: Sequence[str], *, cache: EmbeddingCache | None = None,
            progress: bool = False) -> DenseRetriever:
        """Embed the distinct texts among ``doc_texts`` (one per item), reusing ``cache`` hits
        (:class:`ArtifactError` when the cache holds another model's vectors)."""
        if cache is not None and len(cache) and cache.model != self.encoder.name:
            # its vectors would be mixed with this encoder's: every similarity silently wrong
            raise ArtifactError(f"the embedding cache holds vectors of {cache.model!r}, but the encoder is "
                                f"{self.encoder.name!r}; pass a cache made with the same model, or none")
        texts = pl.Series("t", [t or "" for t in doc_texts], dtype=pl.String)
        uniq, inverse = np.unique(texts.to_numpy().astype(str), return_inverse=True)
        self.texts = uniq.tolist()
        self.doc_text = inverse.astype(np.int32).ravel()
        found = cache.lookup(self.texts) if cache is not None and len(cache) else np.full(len(self.texts), -1)
        todo = np.flatnonzero(found < 0)
        t0 = time.perf_counter()
        fresh = self.encoder.encode([self.texts[i] for i in todo], progress=progress) if todo.size else None
        seconds = time.perf_counter() - t0
        dim = fresh.shape[1] if fresh is not None else cache.vectors.shape[1]  # type: ignore[union-attr]
        self.vectors = np.zeros((len(self.texts), dim), dtype=np.float32)
        if fresh is not None:
            self.vectors[todo] = fresh
        hits = np.flatnonzero(found >= 0)
        if hits.size:
            self.vectors[hits] = cache.vectors[found[hits]]  # type: ignore[union-attr]
        self.stats = {"texts": float(len(self.texts)), "embedded": float(todo.size), "cached": float(hits.size),
                      "embed_seconds": seconds,
                      "texts_per_second": float(todo.size / seconds) if todo.size and seconds > 0 else float("nan")}
        log.info("embedded %d texts (%d from cache) in %.1f s", todo.size, hits.size, seconds)
        self._faiss_index = None
        self._text_docs = None
        return self

    def cache(self) -> EmbeddingCache:
        """The vectors of this index as a reusable :class:`EmbeddingCache`."""
        return EmbeddingCache(self.encoder.name, self.texts, self.vectors)

    def _check(self) -> None:
        if not self.texts:
            raise NotFittedError("the dense index is empty: call fit() or load an index first")

    def _index(self) -> Any:
        if self._faiss_index is None:
            faiss = require("faiss", purpose="dense retrieval")
            faiss.omp_set_num_threads(self.threads)
            index = faiss.IndexFlatIP(self.vectors.shape[1])
            index.add(np.ascontiguousarray(self.vectors))
            self._faiss_index = index
            order = np.argsort(self.doc_text, kind="stable")
            indptr = np.concatenate([[0], np.cumsum(np.bincount(self.doc_text, minlength=len(self.texts)))])
            self._text_docs = (indptr, order.astype(np.int64))
        return self._faiss_index

    # -- queries -------------------------------------------------------------------------------
    def encode_query(self, text: str) -> np.ndarray:
        """The query's unit vector (an LRU cache keeps the ``query_cache_size`` most recent
        queries; 0 turns it off)."""
        got = self._query_cache.get(text)
        if got is not None:
            self._query_cache.move_to_end(text)
            return got
        vec = self.encoder.encode([text])[0]
        if self._query_cache_size <= 0:
            return vec
        self._query_cache[text] = vec
        if len(self._query_cache) > self._query_cache_size:
            self._query_cache.popitem(last=False)
        return vec

    def similarity(self, query: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query vector to the given items."""
        self._check()
        return self.vectors[self.doc_text[docs]] @ np.asarray(query, dtype=np.float32)

    def search(self, query: np.ndarray, k: int = 100, *,
               prior: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar items (indices, similarities); items sharing a text are ordered
        by ``prior`` (higher first), then by index."""
        self._check()
        if k <= 0 or not np.any(query):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        index = self._index()
        assert self._text_docs is not None
        sims, rows = index.search(np.asarray(query, dtype=np.float32)[None, :], min(k, len(self.texts)))
        indptr, docs_of = self._text_docs
        out_docs: list[np.ndarray] = []
        out_sims: list[np.ndarray] = []
        n = 0
        for r, s in zip(rows[0], sims[0], strict=True):
            if r < 0:
                break
            docs = docs_of[indptr[r]:indptr[r + 1]]
            if prior is not None and docs.size > 1:
                docs = docs[np.argsort(-prior[docs], kind="stable")]
            out_docs.append(docs)
            out_sims.append(np.full(docs.size, s, dtype=np.float32))
            n += docs.size
            if n >= k:
                break
        if not out_docs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(out_docs)[:k], np.concatenate(out_sims)[:k]

    # -- persistence ---------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray], list[str]]:
        self._check()
        return ({"model": self.encoder.name, "stats": self.stats},
                {"dense.vectors": self.vectors, "dense.doc_text": self.doc_text}, self.texts)

    @classmethod
    def from_arrays(cls, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray], texts: Sequence[str],
                    *, encoder: TextEncoder | None = None, threads: int = 1) -> DenseRetriever:
        if encoder is not None and encoder.name != manifest.get("model"):
            raise ArtifactError(f"the index was embedded with {manifest.get('model')!r} but the encoder given is "
                                f"{encoder.name!r}; queries must be embedded with the same model")
        obj = cls(encoder or TextEncoder(None if manifest.get("model") in (None, "all-MiniLM-L6-v2")
                                         else str(manifest["model"]), backend="auto"), threads=threads)
        obj.vectors = np.asarray(arrays["dense.vectors"], dtype=np.float32)
        obj.doc_text = np.asarray(arrays["dense.doc_text"], dtype=np.int32)
        obj.texts = list(texts)
        obj.stats = dict(manifest.get("stats", {}))
        return obj
