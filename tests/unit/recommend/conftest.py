"""A small synthetic shop log for the recommender tests: structure enough for every model to learn."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from discoverly.data import Interactions

DAY = 86_400
T0 = 1_600_000_000


def damage_saved_array(path: Path, name: str, cut: Callable[[np.ndarray], np.ndarray]) -> None:
    """Rewrite one array of a saved model's ``arrays.npz`` (e.g. cut short): a damaged artifact."""
    arrays = dict(np.load(path / "arrays.npz"))
    arrays[name] = cut(arrays[name])
    np.savez(path / "arrays.npz", **arrays)


def shop_log(rng: int = 0, n_users: int = 60, n_items: int = 40, days: int = 90) -> Interactions:
    """Users buy from one of four item groups (complements), with popularity skew, a few heavy
    buyers and weekly repeat purchases of a staple; string ids like a real shop."""
    gen = np.random.default_rng(rng)
    groups = np.array_split(np.arange(n_items), 4)
    users, items, times = [], [], []
    for u in range(n_users):
        group = groups[u % 4]
        n_events = int(gen.integers(3, 12)) * (5 if u < 3 else 1)
        weights = 1.0 / np.arange(1, len(group) + 1)
        picks = gen.choice(group, size=n_events, p=weights / weights.sum())
        when = np.sort(gen.integers(0, days * DAY, size=n_events))
        users += [u] * n_events
        items += picks.tolist()
        times += (T0 + when).tolist()
        if u % 3 == 0:  # a staple bought every week
            for week in range(0, days, 7):
                users.append(u)
                items.append(n_items - 1)
                times.append(T0 + week * DAY + 3600)
    log = Interactions.from_indices(users, items, np.array(times), n_users=n_users, n_items=n_items)
    return log


@pytest.fixture(scope="session")
def shop() -> Interactions:
    return shop_log()
