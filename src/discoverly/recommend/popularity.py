"""Popularity baselines: all-time popularity and recent bestsellers."""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np
import polars as pl

from discoverly.data.interactions import Interactions
from discoverly.errors import ConfigError
from discoverly.recommend.base import BaseRecommender, recent_bestsellers
from discoverly.recommend.history import History

__all__ = ["Popularity", "RecentBestsellers"]


class Popularity(BaseRecommender):
    """Everyone gets the items with the most distinct buyers of all time."""

    name = "popularity"

    def _fit(self, interactions: Interactions) -> None:
        self.item_scores_ = interactions.item_counts().astype(np.float32)

    def _score(self, history: History) -> np.ndarray:
        row = np.where(self.item_scores_ > 0, self.item_scores_, -np.inf).astype(np.float32)
        return np.broadcast_to(row, (len(history), len(row))).copy()

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        return {"item_scores": self.item_scores_}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], tables: dict[str, pl.DataFrame]) -> None:
        self.item_scores_ = arrays["item_scores"]


class RecentBestsellers(Popularity):
    """Everyone gets the items with the most distinct buyers in the ``window_days`` before the
    end of training (ties by all-time popularity)."""

    name = "bestsellers"

    def __init__(self, window_days: float = 14.0) -> None:
        super().__init__()
        if not 0 < window_days < math.inf:  # NaN too (it compares false)
            raise ConfigError(f"window_days must be a positive number of days, got {window_days}")
        self.window_days = float(window_days)

    def config(self) -> dict[str, Any]:
        return {"window_days": self.window_days}

    def _fit(self, interactions: Interactions) -> None:
        order, buyers = recent_bestsellers(interactions, window_days=self.window_days)
        scores = np.full(interactions.n_items, -np.inf, dtype=np.float32)
        # rank-based score keeps the tie-break by all-time popularity: best item scores highest
        scores[order] = (len(order) - np.arange(len(order))).astype(np.float32)
        self.item_scores_ = scores
        self.window_buyers_ = buyers
        self._own_order = order

    def fit(self, interactions: Interactions) -> Self:
        super().fit(interactions)
        # users without history get this model's own list (its window), not the default 14 days
        self._fallback = self._own_order[: self.fallback_size]
        return self
