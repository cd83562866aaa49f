"""EASE: the closed-form item-item regression of Steck (2019), "Embarrassingly Shallow Autoencoders".

With ``X`` the binary users × items matrix, ``G = XᵀX + λI`` and ``P = G⁻¹``, the item-item weights
are ``B = I − P · diag(1 / diag(P))`` (so ``B_ij = −P_ij / P_jj`` and ``diag(B) = 0``), and a
user's scores are ``x · B``. The inverse is dense and cubic in the number of items, so the model
is restricted to the ``max_items`` most frequent items when the catalogue is larger (logged, and
reported by :attr:`EASE.restricted_`); other items get no score and lists are completed with recent
bestsellers.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl
import scipy.linalg

from discoverly.data.interactions import Interactions
from discoverly.errors import ConfigError, ResourceLimitError
from discoverly.recommend.base import BaseRecommender
from discoverly.recommend.history import History
from discoverly.recommend.setting_checks import check_columns, check_shapes, number, whole

__all__ = ["EASE", "ease_weights"]

log = logging.getLogger(__name__)


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """``B = I − P diag(1/diag(P))`` with ``P = (gram + l2·I)⁻¹`` (float64 in, float64 out)."""
    g = np.array(gram, dtype=np.float64, order="F", copy=True)
    g[np.diag_indices_from(g)] += l2
    # G is symmetric positive definite for l2 > 0: invert in place through its Cholesky factor
    # (LAPACK potrf + potri), which needs one n × n buffer instead of three
    c, info = scipy.linalg.lapack.dpotrf(g, lower=False, overwrite_a=True, clean=True)
    if info != 0:
        raise ConfigError(f"the Gram matrix plus l2={l2} is not positive definite (LAPACK info {info}); "
                          "increase l2")
    p, info = scipy.linalg.lapack.dpotri(c, lower=False, overwrite_c=True)
    if info != 0:
        raise ConfigError(f"inverting the Gram matrix failed (LAPACK info {info}); increase l2")
    _mirror_upper(p)
    p = p.T  # symmetric now: the C-ordered view of the same matrix (scoring multiplies by rows)
    p /= -np.diag(p)[None, :]
    p[np.diag_indices_from(p)] = 0.0
    return p


def _mirror_upper(p: np.ndarray, block: int = 512) -> None:
    """Copy the upper triangle of the square ``p`` onto its lower one, in place and by blocks of
    columns (whole-matrix ``triu`` copies took three more n × n buffers and 4.5 s at n = 10,000)."""
    n = p.shape[0]
    for a in range(0, n, block):
        b = min(n, a + block)
        p[b:, a:b] = p[a:b, b:].T
        square = p[a:b, a:b]
        square[...] = np.triu(square) + np.triu(square, 1).T


#: peak bytes per entry of the items × items matrices: the Gram matrix and its Cholesky copy in
#: float64, then ``B`` in float32
BYTES_PER_ENTRY = 20


def _check_memory(n: int, max_items: int | None) -> None:
    """Refuse, before allocating, an inverse that does not fit in the memory this machine has
    (``max_items=None`` on a catalogue of 68,000 items wanted ~90 GB: the process was killed)."""
    from discoverly.engine.memory import available_memory

    need = BYTES_PER_ENTRY * n * n
    free = available_memory()
    if free is not None and need > free:
        raise ResourceLimitError(
            f"EASE over {n:,} items (max_items={max_items}) needs about {need / 2**30:.1f} GiB for its dense "
            f"{n:,} x {n:,} inverse, more than the {free / 2**30:.1f} GiB this machine has available. Nothing was "
            f"allocated. Restrict it to the most frequent items with max_items (10,000 items take "
            f"{BYTES_PER_ENTRY * 10_000**2 / 2**30:.1f} GiB), or run it on a larger machine")


class EASE(BaseRecommender):
    """EASE with L2 regularisation ``l2`` (λ) over at most ``max_items`` items (``None``: all).

    ``max_items`` bounds the dense ``n × n`` inverse: 10,000 items take 0.8 GB in float64 and about
    a minute on two cores; larger catalogues are restricted to their most frequent items.
    """

    name = "ease"

    def __init__(self, l2: float = 500.0, max_items: int | None = 10_000) -> None:
        super().__init__()
        number("l2", l2)  # a number, and finite (l2=inf gave B = NaN: every list silently the bestsellers)
        if not l2 > 0:
            raise ConfigError(f"l2 must be positive (it makes the Gram matrix invertible), got {l2}")
        whole("max_items", max_items, optional=True)
        self.l2 = float(l2)
        self.max_items = None if max_items is None else int(max_items)
        self.cols_: np.ndarray | None = None
        self.B_: np.ndarray | None = None
        self.restricted_ = False

    def config(self) -> dict[str, Any]:
        return {"l2": self.l2, "max_items": self.max_items}

    def _fit(self, interactions: Interactions) -> None:
        counts = interactions.item_counts()
        cols = np.nonzero(counts > 0)[0]
        if self.max_items is not None and len(cols) > self.max_items:
            order = np.lexsort((cols, -counts[cols]))[: self.max_items]
            cols = np.sort(cols[order])
            self.restricted_ = True
            share = counts[cols].sum() / counts.sum()
            log.warning("EASE: %d items with events exceed max_items=%d; restricted to the %d most frequent "
                        "(%.1f%% of user-item pairs); other items get no score", int((counts > 0).sum()),
                        self.max_items, len(cols), 100 * share)
        _check_memory(len(cols), self.max_items)
        x = interactions.matrix("binary")[:, cols]
        gram = (x.T @ x).toarray()
        self.cols_ = cols.astype(np.int64)
        self.B_ = ease_weights(gram, self.l2).astype(np.float32)

    def _score(self, history: History) -> np.ndarray:
        assert self.cols_ is not None and self.B_ is not None
        x = history.seen()[:, self.cols_].astype(np.float32)
        out = np.full((len(history), history.n_items), -np.inf, dtype=np.float32)
        out[:, self.cols_] = np.asarray(x @ self.B_)
        # no history among the model's items (none, or only items max_items left out): x·B is all
        # zeros, which would rank the items in catalogue order; the base class answers with bestsellers
        out[np.diff(x.indptr) == 0] = -np.inf
        return out

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        assert self.cols_ is not None and self.B_ is not None
        return {"cols": self.cols_, "B": self.B_, "restricted": np.array(self.restricted_)}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], tables: dict[str, pl.DataFrame]) -> None:
        n = len(arrays["cols"])
        check_shapes("EASE", {"B": (arrays["B"], (n, n))})
        if self.items is not None:
            check_columns("EASE", arrays["cols"], len(self.items))
        self.cols_ = arrays["cols"].astype(np.int64)
        self.B_ = arrays["B"]
        self.restricted_ = bool(arrays.get("restricted", False))
