"""The event store interface: durable, idempotent event ingestion plus experiment exposures.

Two implementations share this interface and one test suite: :class:`SQLiteStore` (embedded, the
default) and :class:`PostgresStore` (production). An :meth:`EventStore.add` call is atomic (all of
a batch or nothing) and idempotent (an event whose key is already stored is counted as a duplicate
and not stored again; the same key with different content is refused). When ``add`` returns, the
events are on disk: an acknowledged event survives a SIGKILL of the server right after it.
"""

from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from discoverly.errors import ArtifactError, DataError

__all__ = ["Event", "Exposure", "IngestResult", "EventStore", "IdempotencyConflictError",
           "StoreUnavailableError", "EVENT_COLUMNS", "ThreadConnections"]

log = logging.getLogger(__name__)

#: columns of the frames :meth:`EventStore.events` returns
EVENT_COLUMNS = ("key", "user", "item", "type", "timestamp", "quantity", "value")


class IdempotencyConflictError(DataError):
    """An idempotency key is already stored with different content (HTTP 409)."""


class StoreUnavailableError(ArtifactError):
    """The event store cannot be reached or opened (HTTP 503)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event: ``key`` is the client's idempotency key; ``timestamp`` is epoch seconds."""

    key: str
    user: str
    item: str
    type: str
    timestamp: int
    quantity: float = 1.0
    value: float | None = None

    def same_as(self, other: Event) -> bool:
        """Same content (what a retry of the same event carries)."""
        return (self.user, self.item, self.type, self.timestamp, float(self.quantity)) == (
            other.user, other.item, other.type, other.timestamp, float(other.quantity)) and (
            (self.value is None and other.value is None)
            or (self.value is not None and other.value is not None and abs(self.value - other.value) < 1e-9))


@dataclass(frozen=True, slots=True)
class Exposure:
    """What one customer was shown by one arm of an experiment, and when."""

    experiment: str
    arm: str
    user: str
    version: str
    timestamp: int
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int


class ThreadConnections:
    """A store's connections, one per thread, each closed once its thread has ended.

    The service's requests run on a thread pool whose threads come and go (anyio ends a thread after
    10 s without work and starts new ones for the next burst of requests). Kept until the store closed,
    every ended thread's connection stayed open: two file descriptors per SQLite connection, a server
    process per PostgreSQL one, more after every lull, without bound. Opening a connection now closes
    those of ended threads (and the one it replaces in its own thread), so a store holds about one per
    live thread however long the service runs.
    """

    def __init__(self, close: Callable[[Any], None]) -> None:
        self._close = close
        self._local = threading.local()
        self._open: dict[threading.Thread, Any] = {}
        self._lock = threading.Lock()

    def get(self) -> Any:
        """This thread's connection, or None."""
        return getattr(self._local, "con", None)

    def put(self, con: Any) -> None:
        """Make ``con`` this thread's connection; close the ones nobody can use any more."""
        me = threading.current_thread()
        with self._lock:
            stale = [c for c in [self._open.pop(me, None)] if c is not None and c is not con]
            for thread in [t for t in self._open if not t.is_alive()]:
                stale.append(self._open.pop(thread))
            self._open[me] = con
        self._local.con = con
        for c in stale:
            try:
                self._close(c)
            except Exception as exc:  # an old connection that will not close must not fail this request
                log.warning("could not close an unused event-store connection: %s", exc)

    def forget(self) -> None:
        """This thread opens a new connection next time (its current one is broken)."""
        self._local.con = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def close_all(self) -> None:
        with self._lock:
            cons = list(self._open.values())
            self._open.clear()
        for c in cons:
            self._close(c)
        self._local = threading.local()


def check_batch(events: Sequence[Event]) -> tuple[list[Event], int]:
    """Drop repeats of a key inside one batch (counted as duplicates); refuse conflicting repeats."""
    seen: dict[str, Event] = {}
    unique: list[Event] = []
    repeats = 0
    for e in events:
        prev = seen.get(e.key)
        if prev is None:
            seen[e.key] = e
            unique.append(e)
        elif prev.same_as(e):
            repeats += 1
        else:
            raise IdempotencyConflictError(
                f"the idempotency key {e.key!r} appears twice in this batch with different content; "
                "each distinct event needs its own key")
    return unique, repeats


def conflict(key: str, stored: Event) -> IdempotencyConflictError:
    return IdempotencyConflictError(
        f"the idempotency key {key!r} is already stored for a different event (user {stored.user!r}, "
        f"item {stored.item!r}, type {stored.type!r}, time {stored.timestamp}); nothing of this batch was stored. "
        "Retries must resend the same event; new events need new keys")


class EventStore(abc.ABC):
    """Where the service keeps events and experiment exposures (see the module docstring)."""

    url: str

    @abc.abstractmethod
    def add(self, events: Sequence[Event], *, received: int) -> IngestResult:
        """Store a batch atomically and idempotently; durable when it returns."""

    @abc.abstractmethod
    def user_events(self, user: str, *, types: Sequence[str] | None = None, since: int | None = None,
                    limit: int = 10_000) -> list[Event]:
        """One customer's events (oldest first), optionally only some types and from ``since`` on."""

    @abc.abstractmethod
    def events(self, *, types: Sequence[str] | None = None, since: int | None = None,
               until: int | None = None) -> pl.DataFrame:
        """All events (columns :data:`EVENT_COLUMNS`, timestamp as epoch seconds), oldest first."""

    @abc.abstractmethod
    def count(self) -> int:
        """Number of stored events."""

    @abc.abstractmethod
    def add_exposure(self, exposure: Exposure) -> None:
        """Record what an experiment arm showed a customer."""

    @abc.abstractmethod
    def exposures(self, experiment: str, *, items: bool = True) -> pl.DataFrame:
        """An experiment's exposures, oldest first: columns ``id, arm, user, version, timestamp, items``
        (list). ``items=False`` leaves out ``items`` (the analysis needs only who saw which arm; SQLite
        reads one row per shown item for them, 10 times the rows of a list of 10)."""

    @abc.abstractmethod
    def outcomes(self, experiment: str, *, window_seconds: int,
                 types: Sequence[str] = ("purchase", "click")) -> pl.DataFrame:
        """Events of exposed customers on a shown item within ``window_seconds`` after the exposure:
        columns ``exposure_id, arm, user, key, item, type, timestamp, quantity, value`` (one row per
        event and exposure it follows; ``key`` the event's idempotency key)."""

    @abc.abstractmethod
    def experiments(self) -> list[str]:
        """Names of experiments with recorded exposures."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise :class:`StoreUnavailableError` when the store cannot answer."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rows_to_events(rows: Sequence[Sequence[object]]) -> list[Event]:
    return [Event(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]),  # type: ignore[call-overload]
                  float(r[5]), None if r[6] is None else float(r[6])) for r in rows]  # type: ignore[arg-type]


def events_frame(rows: Sequence[Sequence[object]]) -> pl.DataFrame:
    schema = {"key": pl.String, "user": pl.String, "item": pl.String, "type": pl.String,
              "timestamp": pl.Int64, "quantity": pl.Float64, "value": pl.Float64}
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def outcomes_frame(rows: Sequence[Sequence[object]]) -> pl.DataFrame:
    """The frame :meth:`EventStore.outcomes` returns, from its rows in column order."""
    schema = {"exposure_id": pl.Int64, "arm": pl.String, "user": pl.String, "key": pl.String, "item": pl.String,
              "type": pl.String, "timestamp": pl.Int64, "quantity": pl.Float64, "value": pl.Float64}
    return pl.DataFrame(list(rows), schema=schema, orient="row")
