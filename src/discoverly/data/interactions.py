"""Interactions: an immutable, columnar, time-sorted log of (user, item, time[, quantity])."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly.data.vocabulary import Vocabulary
from discoverly.errors import DataError, UnknownIdError

__all__ = ["Interactions", "TimeLike", "to_epoch_seconds"]

TimeLike = dt.datetime | dt.date | str | int | float | np.datetime64

MatrixValue = Literal["binary", "count", "quantity", "days", "first_time", "last_time"]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_epoch_seconds(t: TimeLike) -> int:
    """Seconds since the Unix epoch (UTC) for a datetime, date, ISO string or number; whole seconds rounded
    down, as the readers keep event times (``-1.5`` and ``1969-12-31T23:59:58.5`` are both ``-2``)."""
    if isinstance(t, bool):
        raise DataError(f"expected a time, got the boolean {t!r}")
    if isinstance(t, (float, np.floating, np.datetime64, dt.datetime)) and t != t:  # nan, NaT, pandas' NaT
        raise DataError(f"expected a time, got a missing value ({t!r})")
    if isinstance(t, (float, np.floating)) and not np.isfinite(t):
        raise DataError(f"expected a time, got {t!r}")
    if isinstance(t, (int, np.integer)):
        return int(t)
    if isinstance(t, (float, np.floating)):
        return math.floor(t)
    if isinstance(t, np.datetime64):
        return int(t.astype("datetime64[s]").astype(np.int64))
    if isinstance(t, str):
        try:
            t = dt.datetime.fromisoformat(t.strip())
        except ValueError:
            raise DataError(
                f"cannot read the time {t!r}: expected an ISO date such as '2011-11-01' or '2011-11-01T08:26:00'"
            ) from None
    if isinstance(t, dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.UTC)
        return (t - _EPOCH) // dt.timedelta(seconds=1)  # exact (timestamp() is a float), and rounded down
    if isinstance(t, dt.date):
        return int(dt.datetime(t.year, t.month, t.day, tzinfo=dt.UTC).timestamp())
    raise DataError(f"expected a time (datetime, date, ISO string or epoch seconds), got {type(t).__name__}")


def _as_datetime(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC).replace(tzinfo=None)


class Interactions:
    """A time-sorted log of user-item events with contiguous integer indices.

    Build one with :func:`discoverly.data.read_interactions` (files, pandas, polars) or
    :meth:`from_indices`. Slices (:meth:`before`, :meth:`between`) share the vocabularies, so
    indices mean the same items in every slice of one log.

    Arrays (read-only): ``user_index``, ``item_index`` (int32), ``timestamp`` (int64 epoch
    seconds, ascending), ``quantity`` (float32, 1.0 when the source has none).

    >>> log = Interactions.from_indices([0, 0, 1], [0, 1, 1], ["2024-01-01", "2024-01-02", "2024-01-03"])
    >>> log
    Interactions(3 events, 2 users, 2 items, 2024-01-01..2024-01-03)
    >>> len(log.before("2024-01-02")), log.matrix("binary").shape
    (1, (2, 2))
    """

    __slots__ = ("_cache", "item_index", "items", "quantity", "timestamp", "user_index", "users")

    def __init__(
        self,
        users: Vocabulary,
        items: Vocabulary,
        user_index: np.ndarray,
        item_index: np.ndarray,
        timestamp: np.ndarray,
        quantity: np.ndarray | None = None,
        *,
        _sorted: bool = False,
    ) -> None:
        n = len(user_index)
        if not (len(item_index) == n and len(timestamp) == n and (quantity is None or len(quantity) == n)):
            raise DataError("user, item, timestamp and quantity arrays must have the same length")
        user_index = np.asarray(user_index, dtype=np.int32)
        item_index = np.asarray(item_index, dtype=np.int32)
        timestamp = np.asarray(timestamp, dtype=np.int64)
        quantity = np.ones(n, dtype=np.float32) if quantity is None else np.asarray(quantity, dtype=np.float32)
        if n and (user_index.min() < 0 or user_index.max() >= len(users)):
            raise DataError("user indices out of the vocabulary's range")
        if n and (item_index.min() < 0 or item_index.max() >= len(items)):
            raise DataError("item indices out of the vocabulary's range")
        if not _sorted and n > 1 and np.any(np.diff(timestamp) < 0):
            order = np.argsort(timestamp, kind="stable")
            user_index, item_index, timestamp, quantity = (
                user_index[order], item_index[order], timestamp[order], quantity[order])
        for arr in (user_index, item_index, timestamp, quantity):
            arr.flags.writeable = False
        self.users = users
        self.items = items
        self.user_index = user_index
        self.item_index = item_index
        self.timestamp = timestamp
        self.quantity = quantity
        self._cache: dict[Any, Any] = {}

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_indices(
        cls,
        user_index: Sequence[int] | np.ndarray,
        item_index: Sequence[int] | np.ndarray,
        timestamp: Sequence[Any] | np.ndarray | None = None,
        quantity: Sequence[float] | np.ndarray | None = None,
        *,
        n_users: int | None = None,
        n_items: int | None = None,
    ) -> Interactions:
        """Interactions whose external ids are the integer indices themselves (tests, synthetic data).

        ``timestamp``: an array of epoch seconds or of datetime64 (any unit), or a sequence of
        anything :func:`to_epoch_seconds` reads; none gives every event the time 0."""
        u = np.asarray(user_index, dtype=np.int64)
        i = np.asarray(item_index, dtype=np.int64)
        if timestamp is None:
            t = np.zeros(len(u), dtype=np.int64)
        elif isinstance(timestamp, np.ndarray) and timestamp.dtype.kind == "M":  # datetime64 of any unit
            t = timestamp.astype("datetime64[s]").astype(np.int64)
        elif isinstance(timestamp, np.ndarray):
            t = np.asarray(timestamp, dtype=np.int64)
        else:
            t = np.asarray([to_epoch_seconds(x) for x in timestamp], dtype=np.int64)
        nu = int(n_users if n_users is not None else (u.max() + 1 if len(u) else 0))
        ni = int(n_items if n_items is not None else (i.max() + 1 if len(i) else 0))
        return cls(Vocabulary(np.arange(nu), name="user"), Vocabulary(np.arange(ni), name="item"), u, i, t,
                   None if quantity is None else np.asarray(quantity))

    # -- basic facts ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.user_index)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def start(self) -> dt.datetime | None:
        return _as_datetime(self.timestamp[0]) if len(self) else None

    @property
    def end(self) -> dt.datetime | None:
        return _as_datetime(self.timestamp[-1]) if len(self) else None

    def __repr__(self) -> str:
        span = f", {self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}" if len(self) else ""
        return f"Interactions({len(self):,} events, {self.n_users:,} users, {self.n_items:,} items{span})"

    # -- slicing ----------------------------------------------------------------------------
    def _take(self, sel: slice | np.ndarray) -> Interactions:
        return Interactions(self.users, self.items, self.user_index[sel], self.item_index[sel],
                            self.timestamp[sel], self.quantity[sel], _sorted=True)

    def before(self, t: TimeLike) -> Interactions:
        """Events strictly before ``t``."""
        return self._take(slice(0, int(np.searchsorted(self.timestamp, to_epoch_seconds(t), side="left"))))

    def between(self, t0: TimeLike, t1: TimeLike) -> Interactions:
        """Events with ``t0 <= time < t1``."""
        a = int(np.searchsorted(self.timestamp, to_epoch_seconds(t0), side="left"))
        b = int(np.searchsorted(self.timestamp, to_epoch_seconds(t1), side="left"))
        return self._take(slice(a, max(a, b)))

    def for_users(self, user_index: np.ndarray) -> Interactions:
        """Events of the given users (by index)."""
        rows = np.asarray(user_index, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_users):  # -1 was the last user, silently
            bad = rows[(rows < 0) | (rows >= self.n_users)]
            raise UnknownIdError(f"user indices must be from 0 to {self.n_users - 1}; got {bad[:5].tolist()}")
        mask = np.zeros(self.n_users, dtype=bool)
        mask[rows] = True
        return self._take(mask[self.user_index])

    def where(self, mask: np.ndarray) -> Interactions:
        """Events where the boolean ``mask`` (one entry per event) is true."""
        return self._take(np.asarray(mask, dtype=bool))

    def active_users(self) -> np.ndarray:
        """Indices of users with at least one event, ascending."""
        return np.unique(self.user_index)

    # -- matrices ---------------------------------------------------------------------------
    def matrix(self, value: MatrixValue = "binary") -> sp.csr_matrix:
        """Users × items CSR matrix (cached): ``binary`` (1 if any event), ``count`` (number of
        events), ``quantity`` (sum of quantities), ``days`` (distinct days with an event), or
        ``first_time`` / ``last_time`` (epoch seconds of the earliest / latest event, float64)."""
        if value in self._cache:
            return self._cache[value]
        if value in ("last_time", "first_time", "days"):
            self._pair_matrices()
            return self._cache[value]
        data = {"binary": np.ones(len(self), dtype=np.float32), "count": np.ones(len(self), dtype=np.float32),
                "quantity": self.quantity}.get(value)
        if data is None:
            raise DataError(f"unknown matrix value {value!r}; expected binary, count, quantity, days, first_time "
                            "or last_time")
        m = sp.csr_matrix((data, (self.user_index, self.item_index)), shape=(self.n_users, self.n_items),
                          dtype=np.float32)
        m.sum_duplicates()
        if value == "binary":
            m.data[:] = 1.0
        m.sort_indices()
        self._cache[value] = m
        return m

    def _pair_matrices(self) -> None:
        """Cache the ``days``, ``first_time`` and ``last_time`` matrices, built together from one
        stable sort of the events by (user, item) pair, which keeps each pair's events in time order
        (the histories of every recommender need all three)."""
        # peak memory matters at 50M events: each temporary is freed as soon as it is used
        key = self.user_index.astype(np.int64) * self.n_items + self.item_index
        order = np.argsort(key, kind="stable")
        key = key[order]
        time = self.timestamp[order]
        del order
        change = np.empty(len(key), dtype=bool)
        change[:1] = True
        np.not_equal(key[1:], key[:-1], out=change[1:])
        starts = np.flatnonzero(change)
        pairs = key[starts]
        del key
        ends = np.append(starts[1:], len(time))[: len(starts)] - 1
        day = time // 86_400
        np.not_equal(day[1:], day[:-1], out=change[1:])  # a pair's days ascend: count where they change
        del day
        change[starts] = True
        days = np.add.reduceat(change, starts, dtype=np.int64) if len(starts) else np.zeros(0, np.int64)
        del change
        rows, cols = pairs // self.n_items, pairs % self.n_items
        for value, vals in (("days", days), ("first_time", time[starts]), ("last_time", time[ends])):
            m = sp.csr_matrix((vals.astype(np.float64), (rows, cols)), shape=(self.n_users, self.n_items))
            m.sort_indices()
            self._cache.setdefault(value, m)

    def item_counts(self, distinct_users: bool = True) -> np.ndarray:
        """Per item: the number of distinct users (default) or of events."""
        if distinct_users:
            return np.asarray(self.matrix("binary").sum(axis=0)).ravel()
        return np.bincount(self.item_index, minlength=self.n_items).astype(np.float64)

    # -- identity and export ----------------------------------------------------------------
    def fingerprint(self) -> str:
        """A short content hash of the events (as a multiset: the rows of a log in any order give
        the same hash) and the vocabularies' sizes, recorded in artifacts."""
        if "fingerprint" not in self._cache:
            quantity = np.asarray(self.quantity, dtype=np.float64) + 0.0  # -0.0 is 0.0
            row = _mix(self.user_index.astype(np.uint64))
            for column in (self.item_index.astype(np.uint64), np.asarray(self.timestamp).astype(np.uint64),
                           quantity.view(np.uint64)):
                row = _mix(row ^ column)
            h = hashlib.blake2b(digest_size=12)
            h.update(f"{len(self)}:{int(row.sum(dtype=np.uint64))}:{len(self.users)}:{len(self.items)}".encode())
            self._cache["fingerprint"] = h.hexdigest()
        return self._cache["fingerprint"]

    def to_polars(self) -> pl.DataFrame:
        """The events with external ids: columns user, item, timestamp (datetime), quantity."""
        return pl.DataFrame({
            "user": self.users.ids_of(self.user_index).tolist(),
            "item": self.items.ids_of(self.item_index).tolist(),
            "timestamp": pl.Series(self.timestamp * 1_000_000).cast(pl.Datetime("us")),
            "quantity": self.quantity,
        })

    def to_pandas(self) -> Any:
        """:meth:`to_polars` as a pandas DataFrame (needs pandas and pyarrow)."""
        from discoverly.dependencies import require

        require("pandas", purpose="to_pandas()")  # else a raw ModuleNotFoundError from pyarrow
        return self.to_polars().to_pandas()


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on every element (uint64, wrapping): a well-spread hash of each value."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))
