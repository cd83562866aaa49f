"""Helpers shared by the service tests (a unique module name, so imports never pick another conftest)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from discoverly.data import Interactions, Vocabulary
from discoverly.serve.store import Event

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_700_000_000
DAY = 86_400


class Clock:
    """A settable server clock (epoch seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def shop_log(n_users: int = 60, n_items: int = 30, n_events: int = 1500, seed: int = 0) -> Interactions:
    """A small log with string ids ('u0'.., 'i0'..), skewed popularity and complements (i2k, i2k+1)."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n_events)
    items = np.minimum(rng.zipf(1.6, n_events) - 1, n_items - 1)
    pair = rng.random(n_events) < 0.4  # buy the complement too
    users = np.concatenate([users, users[pair]])
    items = np.concatenate([items, items[pair] ^ 1])
    times = np.concatenate([T0 + np.sort(rng.integers(0, 40 * DAY, n_events)), np.zeros(int(pair.sum()), np.int64)])
    times[n_events:] = times[:n_events][pair] + 60
    uv = Vocabulary([f"u{i}" for i in range(n_users)], name="user")
    iv = Vocabulary([f"i{i}" for i in range(n_items)], name="item")
    return Interactions(uv, iv, users, items, times)


def fit_model(kind: str, log: Interactions) -> Any:
    from discoverly.recommend.registry import create

    if kind != "bestsellers":
        pytest.importorskip("discoverly.recommend.item_to_item", reason="ItemToItem has not landed yet")
    return create(kind).fit(log)


ADMIN = {"Authorization": "Bearer s3cret"}


def event(user: str = "u1", item: str = "i3", key: str | None = None, t: int = T0 + 50 * DAY,
          type: str = "purchase", **extra: Any) -> dict[str, Any]:
    return {"user": user, "item": item, "type": type, "timestamp": t,
            "idempotency_key": key or uuid.uuid4().hex, **extra}


def ev(key: str, user: str = "u1", item: str = "i1", t: int = 100, type: str = "purchase",
       quantity: float = 1.0, value: float | None = None) -> Event:
    """A store event with short defaults (the store tests)."""
    return Event(key, user, item, type, t, quantity, value)
