"""Event stores: SQLite (embedded default) and PostgreSQL (production), one interface."""

from __future__ import annotations

from pathlib import Path

from discoverly.errors import ConfigError
from discoverly.serve.store.base import (
    Event,
    EventStore,
    Exposure,
    IdempotencyConflictError,
    IngestResult,
    StoreUnavailableError,
)

__all__ = ["Event", "EventStore", "Exposure", "IdempotencyConflictError", "IngestResult",
           "StoreUnavailableError", "open_store"]


def open_store(url: str | Path, *, create: bool = True) -> EventStore:
    """An event store by URL: ``sqlite:///path.db`` (or a plain file path) or ``postgresql://…``.

    ``create=False`` (for commands that only read) refuses an SQLite file that does not exist yet,
    rather than creating an empty store at a mistyped path."""
    text = str(url).strip()
    if text.startswith(("postgresql://", "postgres://")):
        from discoverly.serve.store.postgres import PostgresStore

        return PostgresStore(text)
    if text.startswith("sqlite://"):
        path = text[len("sqlite://"):]
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel.db, sqlite:////abs/path.db
        if not path:
            raise ConfigError("the sqlite store URL has no path; use sqlite:///relative.db or sqlite:////abs/path.db")
        from discoverly.serve.store.sqlite import SQLiteStore

        return SQLiteStore(path, create=create)
    if "://" in text:
        raise ConfigError(f"unknown event store URL {text!r}; expected sqlite:///path.db or postgresql://user@host/db")
    if not text:
        raise ConfigError("the event store URL is empty")
    from discoverly.serve.store.sqlite import SQLiteStore

    return SQLiteStore(text, create=create)
