"""Peers: implicit's item-item nearest-neighbour models behind discoverly's recommender interface.

``ImplicitNeighbours(kind="cosine")`` wraps ``implicit.nearest_neighbours.CosineRecommender`` and
``kind="bm25"`` wraps ``BM25Recommender``, so they run in the same evaluation harness as
discoverly's own models. They are fitted on the users × items matrix of distinct purchase days
(the same counts a user's history holds at recommendation time), and a user's scores are
``history.days @ similarity`` — what implicit's own ``recommend`` computes.

Needs the optional extra ``peers`` (``pip install 'discoverly[peers]'``). implicit's
nearest-neighbour code runs its own threads (``num_threads``; 0 = all cores) and does not use
BLAS, so the OpenBLAS thread warning implicit gives for its ALS model does not apply here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly.data.interactions import Interactions
from discoverly.dependencies import require
from discoverly.errors import ConfigError
from discoverly.recommend.base import BaseRecommender
from discoverly.recommend.history import History

__all__ = ["ImplicitNeighbours"]

_KINDS = {"cosine": "CosineRecommender", "bm25": "BM25Recommender"}


class ImplicitNeighbours(BaseRecommender):
    """implicit's ``CosineRecommender`` (``kind="cosine"``) or ``BM25Recommender`` (``kind="bm25"``),
    keeping ``K`` neighbours per item; ``K1`` and ``B`` are BM25's parameters."""

    name = "implicit-neighbours"

    def __init__(self, kind: str = "cosine", *, K: int = 100, K1: float = 1.2, B: float = 0.75,
                 num_threads: int = 0) -> None:
        super().__init__()
        if kind not in _KINDS:
            raise ConfigError(f"unknown implicit neighbour model {kind!r}; expected one of {', '.join(_KINDS)}")
        if K < 1:
            raise ConfigError(f"K must be at least 1, got {K}")
        if num_threads < 0:
            raise ConfigError(f"num_threads must be 0 (all cores) or more, got {num_threads}")
        self.kind = kind
        self.K = int(K)
        self.K1 = float(K1)
        self.B = float(B)
        self.num_threads = int(num_threads)
        self.similarity_: sp.csr_matrix | None = None

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "K": self.K, "K1": self.K1, "B": self.B, "num_threads": self.num_threads}

    def _fit(self, interactions: Interactions) -> None:
        nn = require("implicit.nearest_neighbours", extra="peers", purpose=f"the implicit {self.kind} peer model")
        utils = require("implicit.utils", extra="peers")
        if self.kind == "cosine":
            model = nn.CosineRecommender(K=self.K, num_threads=self.num_threads)
        else:
            model = nn.BM25Recommender(K=self.K, K1=self.K1, B=self.B, num_threads=self.num_threads)
        counts = sp.csr_matrix(interactions.matrix("days"), dtype=np.float32)
        with warnings.catch_warnings():
            # implicit converts its own intermediate COO matrix to CSR and warns about it
            warnings.filterwarnings("ignore", message="Method expects CSR input", category=utils.ParameterWarning)
            model.fit(counts, show_progress=False)
        sim = sp.csr_matrix(model.similarity, dtype=np.float32)
        sim.sort_indices()
        self.similarity_ = sim

    def _score(self, history: History) -> np.ndarray:
        assert self.similarity_ is not None
        agg = sp.csr_matrix(sp.csr_matrix(history.days, dtype=np.float32) @ self.similarity_)
        out = np.full(agg.shape, -np.inf, dtype=np.float32)
        rows = np.repeat(np.arange(agg.shape[0]), np.diff(agg.indptr))
        pos = agg.data > 0
        out[rows[pos], agg.indices[pos]] = agg.data[pos]
        return out

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        assert self.similarity_ is not None
        s = self.similarity_
        return {"similarity_data": s.data, "similarity_indices": s.indices, "similarity_indptr": s.indptr}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], tables: dict[str, pl.DataFrame]) -> None:
        n = len(arrays["similarity_indptr"]) - 1
        self.similarity_ = sp.csr_matrix((arrays["similarity_data"], arrays["similarity_indices"],
                                          arrays["similarity_indptr"]), shape=(n, n))
