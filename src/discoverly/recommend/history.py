"""History: what a batch of users did before the moment we recommend for them.

Every recommender scores a :class:`History`, not a user id, so the same model answers for users
from its training log, for users whose new events arrived after training (the service), and for
test users in an offline evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from discoverly.data.interactions import Interactions

__all__ = ["History"]


@dataclass(frozen=True)
class History:
    """Per user (rows) and item (columns): distinct ``days`` with an event, and the epoch seconds
    of the ``first`` and ``last`` event; ``now`` is the reference time (epoch seconds)."""

    days: sp.csr_matrix
    first: sp.csr_matrix
    last: sp.csr_matrix
    now: int

    @classmethod
    def of(cls, interactions: Interactions, user_index: np.ndarray, now: int | None = None) -> History:
        """The histories of the given users (by index) in ``interactions``; ``now`` defaults to
        the log's last event time (plus one second)."""
        idx = np.asarray(user_index, dtype=np.int64)
        if now is None:
            now = int(interactions.timestamp[-1]) + 1 if len(interactions) else 0
        return cls(interactions.matrix("days")[idx], interactions.matrix("first_time")[idx],
                   interactions.matrix("last_time")[idx], int(now))

    @classmethod
    def empty(cls, n_users: int, n_items: int, now: int = 0) -> History:
        z = sp.csr_matrix((n_users, n_items), dtype=np.float64)
        return cls(z, z, z, now)

    def __len__(self) -> int:
        return self.days.shape[0]

    @property
    def n_items(self) -> int:
        return self.days.shape[1]

    def rows(self, sel: slice | np.ndarray) -> History:
        return History(self.days[sel], self.first[sel], self.last[sel], self.now)

    def lengths(self) -> np.ndarray:
        """Number of distinct items per user."""
        return np.diff(self.days.indptr)

    def seen(self) -> sp.csr_matrix:
        """Binary users × items matrix of items with any event."""
        m = self.days.copy()
        m.data = np.ones_like(m.data)
        return m
