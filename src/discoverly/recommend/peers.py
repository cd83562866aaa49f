"""Peers: implicit's item-item nearest-neighbour models behind discoverly's recommender interface.

``ImplicitNeighbours(kind="cosine")`` wraps ``implicit.nearest_neighbours.CosineRecommender`` and
``kind="bm25"`` wraps ``BM25Recommender``, so they run in the same evaluation harness as
discoverly's own models. They are fitted on the users × items matrix of distinct purchase days
(the same counts a user's history holds at recommendation time), and a user's scores are
``history.days @ similarity`` — what implicit's own ``recommend`` computes.

``ImplicitALS`` wraps ``implicit``'s alternating least squares (Hu, Koren & Volinsky 2008). Users
are folded in at recommend time by the exact least-squares step ALS itself uses, so any history
(a training user, new events, a test user at a later cutoff) is scored from the item factors alone:
``x_u = (YᵀY + λI + Σ_{i∈u} (c_ui − 1) y_i y_iᵀ)⁻¹ Σ_{i∈u} c_ui y_i`` with ``c_ui = α · r_ui`` —
what implicit's ``recalculate_user`` computes (tested as an oracle); a saved model loads with numpy
only.

Needs the optional extra ``peers`` (``pip install 'discoverly[peers]'``). implicit's
nearest-neighbour code runs its own threads (``num_threads``; 0 = all cores) and does not use
BLAS, so the OpenBLAS thread warning implicit gives for its ALS model does not apply here.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly._checks import is_whole
from discoverly.data.interactions import Interactions
from discoverly.dependencies import require
from discoverly.errors import ConfigError
from discoverly.recommend.base import BaseRecommender
from discoverly.recommend.history import History
from discoverly.recommend.setting_checks import check_shapes, number, whole

__all__ = ["ImplicitALS", "ImplicitNeighbours", "fold_in"]

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
        whole("K", K)
        whole("num_threads (0: all cores)", num_threads, minimum=0)
        number("K1", K1, at_least=0)  # BM25's term-frequency saturation
        number("B", B, at_least=0)  # BM25's length normalisation, a share
        if B > 1:
            raise ConfigError(f"B (BM25's length normalisation) must be between 0 and 1, got {B}")
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
        if self.items is not None:
            check_shapes("implicit neighbours", {"similarity_indptr": (arrays["similarity_indptr"],
                                                                       (len(self.items) + 1,))})
        self.similarity_ = sp.csr_matrix((arrays["similarity_data"], arrays["similarity_indices"],
                                          arrays["similarity_indptr"]), shape=(n, n))


def fold_in(values: sp.csr_matrix, item_factors: np.ndarray, regularization: float,
            gram: np.ndarray | None = None) -> np.ndarray:
    """User factors for rows of confidences ``values`` (``c_ui``, already scaled by α) given the
    item factors; rows without items get zero factors. ``gram`` is ``YᵀY + λI`` when the caller
    keeps it (it costs a pass over all items)."""
    y = np.asarray(item_factors, dtype=np.float64)
    f = y.shape[1]
    base = y.T @ y + regularization * np.eye(f) if gram is None else gram
    n = values.shape[0]
    out = np.zeros((n, f), dtype=np.float64)
    lengths = np.diff(values.indptr)
    rows = np.nonzero(lengths > 0)[0]
    if len(rows) == 0:
        return out.astype(np.float32)
    a = np.broadcast_to(base, (len(rows), f, f)).copy()
    b = np.zeros((len(rows), f))
    for j, r in enumerate(rows.tolist()):
        sl = slice(values.indptr[r], values.indptr[r + 1])
        yi = y[values.indices[sl]]
        c = values.data[sl].astype(np.float64)
        a[j] += (yi * (c - 1.0)[:, None]).T @ yi
        b[j] = c @ yi
    out[rows] = np.linalg.solve(a, b[:, :, None])[:, :, 0]
    return out.astype(np.float32)


class ImplicitALS(BaseRecommender):
    """``implicit.als.AlternatingLeastSquares`` in discoverly's harness.

    ``factors``, ``regularization`` (λ), ``alpha`` (α, the weight of observed pairs),
    ``iterations``; ``confidence`` is ``"binary"`` (``r_ui = 1``) or ``"log-days"``
    (``r_ui = 1 + log(distinct days with the item)``); ``rng`` seeds the initial factors;
    ``n_threads`` for implicit's solver (BLAS is held at one thread while fitting, as implicit
    asks).
    """

    name = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0, iterations: int = 15,
                 confidence: Literal["binary", "log-days"] = "binary", rng: int | None = 0,
                 n_threads: int = 2) -> None:
        super().__init__()
        for label, value in (("factors", factors), ("iterations", iterations), ("n_threads", n_threads)):
            whole(label, value)
        number("regularization", regularization)  # finite: NaN or inf made implicit fail with NaN factors
        number("alpha", alpha)
        if regularization < 0 or not alpha > 0:
            raise ConfigError(f"regularization must be >= 0 and alpha > 0, got {regularization} and {alpha}")
        if confidence not in ("binary", "log-days"):
            raise ConfigError(f"confidence must be 'binary' or 'log-days', got {confidence!r}")
        if rng is not None and not is_whole(rng):
            raise ConfigError(f"rng must be an integer seed, got {type(rng).__name__}")
        if rng is not None and rng < 0:  # implicit (numpy) refuses a negative seed
            raise ConfigError(f"rng must be a seed of 0 or more, got {rng}")
        self.factors = int(factors)
        self.regularization = float(regularization)
        self.alpha = float(alpha)
        self.iterations = int(iterations)
        self.confidence = confidence
        self.rng = 0 if rng is None else int(rng)
        self.n_threads = int(n_threads)
        self.item_factors_: np.ndarray | None = None
        self.known_: np.ndarray | None = None
        self._gram: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"factors": self.factors, "regularization": self.regularization, "alpha": self.alpha,
                "iterations": self.iterations, "confidence": self.confidence, "rng": self.rng,
                "n_threads": self.n_threads}

    def _values(self, days: sp.csr_matrix) -> sp.csr_matrix:
        v = days.astype(np.float32, copy=True).tocsr()
        v.data = (1.0 + np.log(np.maximum(v.data, 1.0)) if self.confidence == "log-days"
                  else np.ones_like(v.data)).astype(np.float32)
        return v

    def _fit(self, interactions: Interactions) -> None:
        als = require("implicit.cpu.als", extra="peers", purpose="the ALS peer model")
        threadpoolctl = require("threadpoolctl", extra="peers", purpose="the ALS peer model")
        values = self._values(interactions.matrix("days"))
        with threadpoolctl.threadpool_limits(1, "blas"):
            model = als.AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.rng, num_threads=self.n_threads,
                calculate_training_loss=False)
            model.fit(values, show_progress=False)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self.known_ = interactions.item_counts() > 0
        self._gram = None

    def _score(self, history: History) -> np.ndarray:
        assert self.item_factors_ is not None and self.known_ is not None
        if self._gram is None:
            y = self.item_factors_.astype(np.float64)
            self._gram = y.T @ y + self.regularization * np.eye(y.shape[1])
        users = fold_in(self._values(history.days) * self.alpha, self.item_factors_, self.regularization,
                        gram=self._gram)
        scores = users @ self.item_factors_.T
        scores[:, ~self.known_] = -np.inf  # items without training events have no factors to speak of
        # no history among the items with factors (none, or only items without training events): the
        # user's factors are zero and every score 0, which would rank the items in catalogue order;
        # the base class answers with bestsellers
        scores[history.seen() @ self.known_.astype(np.float32) == 0] = -np.inf
        return scores.astype(np.float32)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        assert self.item_factors_ is not None and self.known_ is not None
        return {"item_factors": self.item_factors_, "known": self.known_}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], tables: dict[str, pl.DataFrame]) -> None:
        if self.items is not None:
            n = len(self.items)
            check_shapes("ALS", {"item_factors": (arrays["item_factors"], (n, self.factors)),
                                 "known": (arrays["known"], (n,))})
        self.item_factors_ = arrays["item_factors"]
        self.known_ = arrays["known"].astype(bool)
        self._gram = None
