"""Buy it again: a customer's own past items, ranked by recency, frequency and how due they are.

For every item ``i`` a user ``u`` bought before ``now``, with ``d`` distinct purchase days, the last
one ``age`` days ago::

    score(u, i) = d ** frequency_weight · 0.5 ** (age / half_life_days) · (1 + due_weight · due)

``due`` (between 0 and 1) says how close the item is to its next purchase. The repurchase cycle
is the user's own mean interval between purchase days of the item (``(last − first) / (d − 1)``,
at least one day) when they bought it on two or more days, else the item's typical cycle: the
median of its buyers' own cycles, when at least ``min_repeaters`` buyers repeated it. With no
cycle, ``due`` is 0. With a cycle ``c``, ``due = exp(−log2(age / c)² / 2)``: 1 when exactly one
cycle has passed, about 0.6 at half or double a cycle, near 0 right after a purchase or long after
it was due. Items the user never bought score ``-inf``; the base class fills such lists with the
recent bestsellers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly.data.interactions import Interactions
from discoverly.errors import ConfigError
from discoverly.recommend.base import DAY, BaseRecommender
from discoverly.recommend.history import History
from discoverly.recommend.recency import aligned_values

__all__ = ["BuyAgain", "repurchase_cycles"]


def repurchase_cycles(days: sp.csr_matrix, first: sp.csr_matrix, last: sp.csr_matrix) -> sp.csr_matrix:
    """Users × items mean days between purchase days, for pairs bought on two or more days.

    ``days``, ``first`` and ``last`` are the history matrices (distinct days, first and last event
    time in epoch seconds). The cycle is at least one day.
    """
    d = np.asarray(days.data, dtype=np.float64)
    span = (aligned_values(days, last) - aligned_values(days, first)) / DAY
    repeat = d >= 2
    cycle = np.maximum(span[repeat] / (d[repeat] - 1.0), 1.0)
    rows = np.repeat(np.arange(days.shape[0]), np.diff(days.indptr))[repeat]
    out = sp.csr_matrix((cycle, (rows, days.indices[repeat])), shape=days.shape)
    out.sort_indices()
    return out


class BuyAgain(BaseRecommender):
    """Recommends what a customer bought before (see the module docs for the score)."""

    name = "buy-again"

    def __init__(self, *, half_life_days: float = 120.0, frequency_weight: float = 1.0, due_weight: float = 1.0,
                 min_repeaters: int = 3) -> None:
        super().__init__()
        if half_life_days <= 0:
            raise ConfigError(f"half_life_days must be positive, got {half_life_days}")
        if frequency_weight < 0 or due_weight < 0:
            raise ConfigError(f"frequency_weight and due_weight must be non-negative, got "
                              f"{frequency_weight} and {due_weight}")
        if min_repeaters < 1:
            raise ConfigError(f"min_repeaters must be at least 1, got {min_repeaters}")
        self.half_life_days = float(half_life_days)
        self.frequency_weight = float(frequency_weight)
        self.due_weight = float(due_weight)
        self.min_repeaters = int(min_repeaters)
        self.item_cycle_: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"half_life_days": self.half_life_days, "frequency_weight": self.frequency_weight,
                "due_weight": self.due_weight, "min_repeaters": self.min_repeaters}

    def _fit(self, interactions: Interactions) -> None:
        cycles = sp.csc_matrix(repurchase_cycles(interactions.matrix("days"), interactions.matrix("first_time"),
                                                 interactions.matrix("last_time")))
        typical = np.full(interactions.n_items, np.nan)
        counts = np.diff(cycles.indptr)
        for i in np.nonzero(counts >= self.min_repeaters)[0]:
            typical[i] = np.median(cycles.data[cycles.indptr[i]:cycles.indptr[i + 1]])
        self.item_cycle_ = typical

    def _score(self, history: History) -> np.ndarray:
        assert self.item_cycle_ is not None
        days = history.days
        d = np.asarray(days.data, dtype=np.float64)
        last = aligned_values(days, history.last)
        age = np.maximum(history.now - last, 0.0) / DAY
        own = aligned_values(days, repurchase_cycles(days, history.first, history.last))
        cycle = np.where(own > 0, own, self.item_cycle_[days.indices])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log2(np.maximum(age, 1e-3) / cycle)
            due = np.where(np.isfinite(ratio), np.exp(-0.5 * ratio**2), 0.0)
        score = d**self.frequency_weight * np.exp2(-age / self.half_life_days) * (1.0 + self.due_weight * due)
        out = np.full(days.shape, -np.inf, dtype=np.float32)
        rows = np.repeat(np.arange(days.shape[0]), np.diff(days.indptr))
        out[rows, days.indices] = np.maximum(score, np.finfo(np.float32).tiny)
        return out

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        assert self.item_cycle_ is not None
        return {"item_cycle": self.item_cycle_}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], tables: dict[str, pl.DataFrame]) -> None:
        self.item_cycle_ = arrays["item_cycle"]
