"""Fresh histories: a customer's stored events merged with what the model saw at training time.

This is how a customer's new events change their recommendations at once, without a retrain:
the model scores a :class:`~discoverly.recommend.History` built from its training-time history
plus the events stored since the model's training data ended (``trained_until``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from discoverly.recommend.base import BaseRecommender
from discoverly.recommend.history import History
from discoverly.serve.store.base import Event

__all__ = ["fresh_history", "training_history"]

DAY = 86_400


def fresh_history(model: BaseRecommender, user: str, events: Sequence[Event]) -> tuple[History, int]:
    """The history of one ``user`` (one row) and how many stored events it added.

    Only events at or after the model's ``trained_until`` are added (earlier ones are part of the
    training data); events on items the model does not know are skipped. Distinct days are
    merged so that a day already counted at training time is not counted twice. ``now`` is the
    later of the end of training and the newest event (a data clock, so replays of old logs work).
    """
    assert model.users is not None and model.items is not None and model.trained_until is not None
    base = training_history(model, user)
    new = [e for e in events if e.timestamp >= model.trained_until]
    if not new:
        return base, 0
    items = model.items.indices([e.item for e in new], missing=-1)
    known = items >= 0
    if not known.any():
        return base, 0
    items = items[known]
    times = np.array([e.timestamp for e, k in zip(new, known, strict=True) if k], dtype=np.int64)
    days = base.days.toarray().ravel()
    first = base.first.toarray().ravel()
    last = base.last.toarray().ravel()
    for item in np.unique(items):
        ts = times[items == item]
        new_days = set((ts // DAY).tolist())
        if last[item] > 0:
            new_days.discard(int(last[item]) // DAY)
        days[item] += len(new_days)
        first[item] = first[item] if first[item] > 0 else float(ts.min())
        last[item] = max(last[item], float(ts.max()))
    now = max(int(model.trained_until), int(times.max()) + 1)
    return History(_row(days), _row(first), _row(last), now), int(known.sum())


def training_history(model: BaseRecommender, user: str) -> History:
    """One user's history as the model saw it at training time (empty for an unknown user)."""
    assert model.users is not None and model.items is not None and model.trained_until is not None
    uidx = int(model.users.indices([user], missing=-1)[0])
    if uidx < 0:
        return History.empty(1, len(model.items), now=model.trained_until)
    return model.history(np.array([uidx]))


def _row(values: np.ndarray) -> sp.csr_matrix:
    m = sp.csr_matrix(values.reshape(1, -1))
    m.sort_indices()
    return m
