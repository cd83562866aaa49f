"""SQLiteStore: the embedded event store (WAL mode; events committed with synchronous=FULL).

One connection per thread (and per process: several uvicorn workers share the file; SQLite's WAL
lets readers run while one writer commits). Writers take the lock up front (``BEGIN IMMEDIATE``)
so the duplicate check and the insert of a batch see the same state.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import polars as pl

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

__all__ = ["SQLiteStore"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    user TEXT NOT NULL,
    item TEXT NOT NULL,
    type TEXT NOT NULL,
    ts INTEGER NOT NULL,
    quantity REAL NOT NULL,
    value REAL,
    received INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user_ts ON events (user, ts);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS exposures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment TEXT NOT NULL,
    arm TEXT NOT NULL,
    user TEXT NOT NULL,
    version TEXT NOT NULL,
    ts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS exposures_experiment ON exposures (experiment, user);
CREATE TABLE IF NOT EXISTS exposure_items (
    exposure_id INTEGER NOT NULL REFERENCES exposures (id),
    rank INTEGER NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (exposure_id, rank)
);
"""

_EVENT_COLS = "key, user, item, type, ts, quantity, value"


class SQLiteStore(EventStore):
    """Events and exposures in one SQLite file (created when missing, unless ``create=False``)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 30_000, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise StoreUnavailableError(f"there is no SQLite event store at {str(self.path)!r}; check the path "
                                        "(--store, --artifacts or the config's store), or start the service once "
                                        "to create it")
        self.url = f"sqlite:///{self.path}"
        self._timeout = busy_timeout_ms
        self._cons = ThreadConnections(_close)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._con()
            with self._lock:
                con.executescript(_SCHEMA)
        except StoreUnavailableError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"cannot open the SQLite event store {str(self.path)!r}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- connections --------------------------------------------------------------------------
    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = self._cons.get()
        if con is None:
            try:
                con = sqlite3.connect(self.path, isolation_level=None, timeout=self._timeout / 1000,
                                      check_same_thread=False)
                con.execute(f"PRAGMA busy_timeout = {int(self._timeout)}")
                mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                con.execute("PRAGMA synchronous = FULL")
                con.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as exc:
                raise StoreUnavailableError(f"cannot open the SQLite event store {str(self.path)!r}: {exc}") from exc
            if str(mode).lower() != "wal":
                raise StoreUnavailableError(f"{str(self.path)!r} cannot use WAL mode (got {mode!r}); "
                                            "put the event store on a local file system")
            self._cons.put(con)
        return con

    @contextmanager
    def _write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        con = self._con()
        con.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"the SQLite event store is busy or unavailable: {exc}") from exc
        try:
            yield con
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(con)
            raise StoreUnavailableError(f"the SQLite event store failed to write (nothing was stored): {exc}") from exc
        except BaseException:
            _rollback(con)
            raise

    # -- events -------------------------------------------------------------------------------
    def add(self, events: Sequence[Event], *, received: int) -> IngestResult:
        unique, repeats = check_batch(events)
        if not unique:
            return IngestResult(0, repeats)
        with self._write() as con:
            stored: dict[str, Event] = {}
            keys = [e.key for e in unique]
            for a in range(0, len(keys), 500):
                part = keys[a:a + 500]
                rows = con.execute(f"SELECT {_EVENT_COLS} FROM events WHERE key IN ({','.join('?' * len(part))})",
                                   part).fetchall()
                stored.update((e.key, e) for e in rows_to_events(rows))
            new = []
            for e in unique:
                old = stored.get(e.key)
                if old is None:
                    new.append(e)
                elif not old.same_as(e):
                    raise conflict(e.key, old)
            con.executemany(
                "INSERT INTO events (key, user, item, type, ts, quantity, value, received) VALUES (?,?,?,?,?,?,?,?)",
                [(e.key, e.user, e.item, e.type, e.timestamp, e.quantity, e.value, received) for e in new])
        return IngestResult(len(new), repeats + len(unique) - len(new))

    def user_events(self, user: str, *, types: Sequence[str] | None = None, since: int | None = None,
                    limit: int = 10_000) -> list[Event]:
        sql = f"SELECT {_EVENT_COLS} FROM events WHERE user = ?"
        args: list[object] = [user]
        if since is not None:
            sql += " AND ts >= ?"
            args.append(int(since))
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            args.extend(types)
        sql += " ORDER BY ts DESC, seq DESC LIMIT ?"
        args.append(int(limit))
        rows = self._read(sql, args)
        return rows_to_events(rows[::-1])

    def events(self, *, types: Sequence[str] | None = None, since: int | None = None,
               until: int | None = None) -> pl.DataFrame:
        sql = f"SELECT {_EVENT_COLS} FROM events WHERE 1 = 1"
        args: list[object] = []
        if since is not None:
            sql += " AND ts >= ?"
            args.append(int(since))
        if until is not None:
            sql += " AND ts < ?"
            args.append(int(until))
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            args.extend(types)
        return events_frame(self._read(sql + " ORDER BY ts, seq", args))

    def count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM events", [])[0][0])  # type: ignore[call-overload]

    # -- experiments --------------------------------------------------------------------------
    def add_exposure(self, exposure: Exposure) -> None:
        # exposures are analytics: WAL with synchronous=NORMAL survives a killed process (not a power cut)
        with self._write(durable=False) as con:
            cur = con.execute("INSERT INTO exposures (experiment, arm, user, version, ts) VALUES (?,?,?,?,?)",
                              (exposure.experiment, exposure.arm, exposure.user, exposure.version,
                               exposure.timestamp))
            xid = cur.lastrowid
            con.executemany("INSERT INTO exposure_items (exposure_id, rank, item) VALUES (?,?,?)",
                            [(xid, r + 1, it) for r, it in enumerate(exposure.items)])

    def exposures(self, experiment: str, *, items: bool = True) -> pl.DataFrame:
        if not items:
            return pl.DataFrame(
                self._read("SELECT id, arm, user, version, ts FROM exposures WHERE experiment = ? ORDER BY id",
                           [experiment]),
                schema={"id": pl.Int64, "arm": pl.String, "user": pl.String, "version": pl.String,
                        "timestamp": pl.Int64}, orient="row")
        rows = self._read(
            "SELECT x.id, x.arm, x.user, x.version, x.ts, xi.item FROM exposures x "
            "LEFT JOIN exposure_items xi ON xi.exposure_id = x.id WHERE x.experiment = ? ORDER BY x.id, xi.rank",
            [experiment])
        flat = pl.DataFrame(rows, schema={"id": pl.Int64, "arm": pl.String, "user": pl.String,
                                          "version": pl.String, "timestamp": pl.Int64, "item": pl.String},
                            orient="row")
        return (flat.group_by("id", maintain_order=True)
                .agg(pl.col("arm").first(), pl.col("user").first(), pl.col("version").first(),
                     pl.col("timestamp").first(), pl.col("item").drop_nulls().alias("items")))

    def outcomes(self, experiment: str, *, window_seconds: int,
                 types: Sequence[str] = ("purchase", "click")) -> pl.DataFrame:
        rows = self._read(
            "SELECT x.id, x.arm, x.user, e.key, e.item, e.type, e.ts, e.quantity, e.value FROM exposures x "
            "JOIN exposure_items xi ON xi.exposure_id = x.id "
            "JOIN events e ON e.user = x.user AND e.item = xi.item AND e.ts >= x.ts AND e.ts < x.ts + ? "
            f"WHERE x.experiment = ? AND e.type IN ({','.join('?' * len(types))}) ORDER BY x.id, e.ts",
            [int(window_seconds), experiment, *types])
        return outcomes_frame(rows)

    def experiments(self) -> list[str]:
        return [str(r[0]) for r in self._read("SELECT DISTINCT experiment FROM exposures ORDER BY experiment", [])]

    # -- lifecycle ----------------------------------------------------------------------------
    def _read(self, sql: str, args: Sequence[object]) -> list[tuple[object, ...]]:
        try:
            return self._con().execute(sql, list(args)).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"the SQLite event store could not answer: {exc}") from exc

    def ping(self) -> None:
        self._read("SELECT 1", [])

    def close(self) -> None:
        self._cons.close_all()


def _close(con: sqlite3.Connection) -> None:
    try:
        con.close()
    except sqlite3.ProgrammingError:  # closed from another thread's view
        log.debug("connection already closed")


def _rollback(con: sqlite3.Connection) -> None:
    if con.in_transaction:
        con.execute("ROLLBACK")
