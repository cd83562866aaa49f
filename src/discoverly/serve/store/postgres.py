"""PostgresStore: the production event store (psycopg 3; ``--store postgresql://…``).

A batch is one transaction: ``INSERT … ON CONFLICT (key) DO NOTHING RETURNING key`` finds the new
keys, the rest are compared with what is stored (a different event under a known key rolls the
whole batch back). PostgreSQL's default ``synchronous_commit = on`` makes a returned ``add``
durable. One connection per thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import polars as pl

from discoverly.dependencies import require
from discoverly.serve.store.base import (
    Event,
    EventStore,
    Exposure,
    IngestResult,
    StoreUnavailableError,
    ThreadConnections,
    check_batch,
    conflict,
    events_frame,
    outcomes_frame,
    rows_to_events,
)

__all__ = ["PostgresStore"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS discoverly_events (
    seq BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts BIGINT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    value DOUBLE PRECISION,
    received BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS discoverly_events_user_ts ON discoverly_events (user_id, ts);
CREATE INDEX IF NOT EXISTS discoverly_events_ts ON discoverly_events (ts);
CREATE TABLE IF NOT EXISTS discoverly_exposures (
    id BIGSERIAL PRIMARY KEY,
    experiment TEXT NOT NULL,
    arm TEXT NOT NULL,
    user_id TEXT NOT NULL,
    version TEXT NOT NULL,
    ts BIGINT NOT NULL,
    items TEXT[] NOT NULL
);
CREATE INDEX IF NOT EXISTS discoverly_exposures_experiment ON discoverly_exposures (experiment, user_id);
"""

_EVENT_COLS = "key, user_id, item_id, type, ts, quantity, value"


class PostgresStore(EventStore):
    """Events and exposures in a PostgreSQL database (tables created when missing)."""

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        self.psycopg: Any = require("psycopg", extra="postgres", purpose="the PostgreSQL event store")
        self.url = url
        self._timeout = connect_timeout
        self._cons = ThreadConnections(lambda con: con.close())
        self._lock = threading.Lock()
        con = self._con()
        with self._lock, con.transaction():
            # serialise schema creation between workers starting at the same moment
            con.execute("SELECT pg_advisory_xact_lock(4242001)")
            con.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"PostgresStore({_redact(self.url)!r})"

    def _con(self) -> Any:
        con = self._cons.get()
        if con is None or con.closed:
            try:
                con = self.psycopg.connect(self.url, autocommit=True, connect_timeout=self._timeout)
            except self.psycopg.Error as exc:
                raise StoreUnavailableError(
                    f"cannot connect to the PostgreSQL event store {_redact(self.url)}: {exc}".strip()) from exc
            self._cons.put(con)
        return con

    def _run(self, fn: Any) -> Any:
        try:
            return fn(self._con())
        except self.psycopg.OperationalError as exc:
            self._cons.forget()
            raise StoreUnavailableError(f"the PostgreSQL event store could not answer: {exc}") from exc

    # -- events -------------------------------------------------------------------------------
    def add(self, events: Sequence[Event], *, received: int) -> IngestResult:
        unique, repeats = check_batch(events)
        if not unique:
            return IngestResult(0, repeats)

        def work(con: Any) -> IngestResult:
            with con.transaction():
                cur = con.execute(
                    "INSERT INTO discoverly_events (key, user_id, item_id, type, ts, quantity, value, received) "
                    "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], "
                    "%s::float8[], %s::float8[], %s::bigint[]) ON CONFLICT (key) DO NOTHING RETURNING key",
                    ([e.key for e in unique], [e.user for e in unique], [e.item for e in unique],
                     [e.type for e in unique], [e.timestamp for e in unique], [e.quantity for e in unique],
                     [e.value for e in unique], [received] * len(unique)))
                inserted = {r[0] for r in cur.fetchall()}
                rest = [e for e in unique if e.key not in inserted]
                if rest:
                    rows = con.execute(f"SELECT {_EVENT_COLS} FROM discoverly_events WHERE key = ANY(%s)",
                                       ([e.key for e in rest],)).fetchall()
                    stored = {e.key: e for e in rows_to_events(rows)}
                    for e in rest:
                        if not stored[e.key].same_as(e):
                            raise conflict(e.key, stored[e.key])
                return IngestResult(len(inserted), repeats + len(rest))

        return self._run(work)  # type: ignore[no-any-return]

    def user_events(self, user: str, *, types: Sequence[str] | None = None, since: int | None = None,
                    limit: int = 10_000) -> list[Event]:
        sql = f"SELECT {_EVENT_COLS} FROM discoverly_events WHERE user_id = %s"
        args: list[object] = [user]
        if since is not None:
            sql += " AND ts >= %s"
            args.append(int(since))
        if types:
            sql += " AND type = ANY(%s)"
            args.append(list(types))
        sql += " ORDER BY ts DESC, seq DESC LIMIT %s"
        args.append(int(limit))
        rows = self._run(lambda con: con.execute(sql, args).fetchall())
        return rows_to_events(rows[::-1])

    def events(self, *, types: Sequence[str] | None = None, since: int | None = None,
               until: int | None = None) -> pl.DataFrame:
        sql = f"SELECT {_EVENT_COLS} FROM discoverly_events WHERE TRUE"
        args: list[object] = []
        if since is not None:
            sql += " AND ts >= %s"
            args.append(int(since))
        if until is not None:
            sql += " AND ts < %s"
            args.append(int(until))
        if types:
            sql += " AND type = ANY(%s)"
            args.append(list(types))
        return events_frame(self._run(lambda con: con.execute(sql + " ORDER BY ts, seq", args).fetchall()))

    def count(self) -> int:
        return int(self._run(lambda con: con.execute("SELECT COUNT(*) FROM discoverly_events").fetchone()[0]))

    # -- experiments --------------------------------------------------------------------------
    def add_exposure(self, exposure: Exposure) -> None:
        self._run(lambda con: con.execute(
            "INSERT INTO discoverly_exposures (experiment, arm, user_id, version, ts, items) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (exposure.experiment, exposure.arm, exposure.user, exposure.version, exposure.timestamp,
             list(exposure.items))))

    def exposures(self, experiment: str, *, items: bool = True) -> pl.DataFrame:
        cols = "id, arm, user_id, version, ts" + (", items" if items else "")
        rows = self._run(lambda con: con.execute(
            f"SELECT {cols} FROM discoverly_exposures WHERE experiment = %s ORDER BY id", (experiment,)).fetchall())
        schema: dict[str, Any] = {"id": pl.Int64, "arm": pl.String, "user": pl.String, "version": pl.String,
                                  "timestamp": pl.Int64}
        if items:
            schema["items"] = pl.List(pl.String)
        return pl.DataFrame(rows, schema=schema, orient="row")

    def outcomes(self, experiment: str, *, window_seconds: int,
                 types: Sequence[str] = ("purchase", "click")) -> pl.DataFrame:
        rows = self._run(lambda con: con.execute(
            "SELECT x.id, x.arm, x.user_id, e.key, e.item_id, e.type, e.ts, e.quantity, e.value "
            "FROM discoverly_exposures x JOIN discoverly_events e ON e.user_id = x.user_id "
            "AND e.item_id = ANY(x.items) AND e.ts >= x.ts AND e.ts < x.ts + %s "
            "WHERE x.experiment = %s AND e.type = ANY(%s) ORDER BY x.id, e.ts",
            (int(window_seconds), experiment, list(types))).fetchall())
        return outcomes_frame(rows)

    def experiments(self) -> list[str]:
        rows = self._run(lambda con: con.execute(
            "SELECT DISTINCT experiment FROM discoverly_exposures ORDER BY experiment").fetchall())
        return [r[0] for r in rows]

    # -- lifecycle ----------------------------------------------------------------------------
    def ping(self) -> None:
        self._run(lambda con: con.execute("SELECT 1").fetchone())

    def drop_all(self) -> None:
        """Remove discoverly's tables (tests and ``--reset`` only)."""
        self._run(lambda con: con.execute("DROP TABLE IF EXISTS discoverly_events, discoverly_exposures"))

    def close(self) -> None:
        self._cons.close_all()


def _redact(url: str) -> str:
    """The URL without its password."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    cred, host = rest.rsplit("@", 1)
    user = cred.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in cred else url
