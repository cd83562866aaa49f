"""The event store's counts, windows and orders at their edges, against values worked out by hand.

docs/serve.md: an outcome is a purchase or click of a shown item within ``window_days`` of the exposure;
a retry is counted as a duplicate and not stored again; a customer's history is oldest first. The
contract suite (test_serve_store.py) checks the ordinary cases; these pin the boundaries that a
changed comparison or offset would move (mutation testing: none of them was checked). SQLite only:
the same contract runs against PostgreSQL in test_serve_store.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import ev

from discoverly.serve.store import Event, EventStore, Exposure, IdempotencyConflictError, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    s = open_store(f"sqlite:///{tmp_path / 'events.db'}")
    yield s
    s.close()


def test_the_outcome_window_starts_at_the_exposure_and_ends_before_its_length(store: EventStore) -> None:
    store.add_exposure(Exposure("exp", "A", "u1", "v1", 1000, ("i1",)))
    store.add([ev("before", t=999), ev("at", t=1000), ev("last", t=1000 + 3599), ev("end", t=1000 + 3600)],
              received=0)
    # [exposure, exposure + window): 1000 and 4599 are in, 999 and 4600 are not
    assert store.outcomes("exp", window_seconds=3600)["key"].to_list() == ["at", "last"]
    assert store.outcomes("exp", window_seconds=1)["key"].to_list() == ["at"]


def test_outcomes_are_purchases_and_clicks_with_their_columns(store: EventStore) -> None:
    store.add_exposure(Exposure("exp", "B", "u2", "v2", 1000, ("i7", "i8")))
    store.add([ev("p", "u2", "i8", t=1010, quantity=3.0, value=12.5), ev("c", "u2", "i7", t=1020, type="click"),
               ev("v", "u2", "i7", t=1030, type="view"), ev("r", "u2", "i7", t=1040, type="rating", value=4.0),
               ev("other", "u3", "i7", t=1050)], received=0)  # another customer bought a shown item: no outcome
    out = store.outcomes("exp", window_seconds=100)
    assert out.columns == ["exposure_id", "arm", "user", "key", "item", "type", "timestamp", "quantity", "value"]
    assert out.rows() == [(1, "B", "u2", "p", "i8", "purchase", 1010, 3.0, 12.5),
                          (1, "B", "u2", "c", "i7", "click", 1020, 1.0, None)]
    assert store.outcomes("exp", window_seconds=100, types=("view",))["key"].to_list() == ["v"]


def test_an_event_after_two_exposures_is_one_row_per_exposure(store: EventStore) -> None:
    store.add_exposure(Exposure("exp", "A", "u1", "v1", 1000, ("i1",)))
    store.add_exposure(Exposure("exp", "A", "u1", "v1", 2000, ("i1",)))
    store.add([ev("k", t=2500)], received=0)
    out = store.outcomes("exp", window_seconds=10_000)
    assert out.select("exposure_id", "key").rows() == [(1, "k"), (2, "k")]
    # with a window of 1,000 s the first exposure (at 1000) has ended before 2500
    assert store.outcomes("exp", window_seconds=1_000)["exposure_id"].to_list() == [2]


def test_exposures_keep_the_shown_order_and_their_fields(store: EventStore) -> None:
    store.add_exposure(Exposure("exp", "A", "u1", "v1", 1000, ("i9", "i2", "i5")))
    store.add_exposure(Exposure("exp", "B", "u2", "v7", 1001, ()))  # an empty list shown is still an exposure
    x = store.exposures("exp")
    assert x.columns == ["id", "arm", "user", "version", "timestamp", "items"]
    assert x.rows() == [(1, "A", "u1", "v1", 1000, ["i9", "i2", "i5"]), (2, "B", "u2", "v7", 1001, [])]
    assert store.exposures("exp", items=False).rows() == [(1, "A", "u1", "v1", 1000), (2, "B", "u2", "v7", 1001)]
    assert store.exposures("nothing").height == 0 and store.experiments() == ["exp"]


def test_user_events_keep_the_latest_limit_oldest_first(store: EventStore) -> None:
    store.add([ev("e1", t=10), ev("e2", t=20), ev("e3", t=20), ev("e4", t=30), ev("x", user="u2", t=25)],
              received=0)
    assert [e.key for e in store.user_events("u1")] == ["e1", "e2", "e3", "e4"]
    # the limit keeps the newest: ties at t=20 are in the order stored
    assert [e.key for e in store.user_events("u1", limit=2)] == ["e3", "e4"]
    assert [e.key for e in store.user_events("u1", limit=3)] == ["e2", "e3", "e4"]
    # since is inclusive
    assert [e.key for e in store.user_events("u1", since=20)] == ["e2", "e3", "e4"]
    assert [e.key for e in store.user_events("u1", since=21)] == ["e4"]
    store.add([ev("v", t=40, type="view"), ev("c", t=50, type="click")], received=1)
    assert [e.key for e in store.user_events("u1", types=["view", "click"])] == ["v", "c"]
    assert [e.key for e in store.user_events("u1", types=["purchase", "click"], since=30)] == ["e4", "c"]


def test_events_since_is_inclusive_and_until_exclusive(store: EventStore) -> None:
    store.add([ev("a", t=10), ev("b", t=20, type="view"), ev("c", t=30), ev("d", t=30, type="click")], received=0)
    assert store.events(since=20)["key"].to_list() == ["b", "c", "d"]
    assert store.events(until=30)["key"].to_list() == ["a", "b"]
    assert store.events(since=20, until=31, types=["purchase", "click"])["key"].to_list() == ["c", "d"]
    assert store.events(types=["rating"]).height == 0 and store.count() == 4


def test_a_retry_of_a_batch_larger_than_one_lookup_is_all_duplicates(store: EventStore) -> None:
    # the stored keys are looked up 500 at a time: every one of 1,201 keys must be found again
    events = [ev(f"k{i}", t=i) for i in range(1201)]
    assert store.add(events, received=0).accepted == 1201
    again = store.add([*events[::-1], ev("new", t=5)], received=1)
    assert (again.accepted, again.duplicates) == (1, 1201)
    assert store.count() == 1202
    with pytest.raises(IdempotencyConflictError, match="'k1200'"):  # a key of the third lookup
        store.add([*events[:-1], ev("k1200", item="other")], received=2)
    assert store.count() == 1202


def test_the_same_event_is_the_same_whatever_its_number_types(store: EventStore) -> None:
    store.add([ev("a", quantity=2.0, value=0.1 + 0.2)], received=0)
    # an integer quantity and a value equal up to rounding are a retry, not a conflict
    res = store.add([Event("a", "u1", "i1", "purchase", 100, 2, 0.3)], received=1)
    assert (res.accepted, res.duplicates) == (0, 1)


@pytest.mark.parametrize("retry", [
    ev("a", value=None), ev("a", value=5.0 + 1e-6), ev("a", quantity=3.0, value=5.0), ev("a", t=101, value=5.0),
    ev("a", type="click", value=5.0), ev("a", user="u2", value=5.0), ev("a", item="i2", value=5.0)])
def test_any_other_content_under_a_stored_key_is_a_conflict(store: EventStore, retry: Event) -> None:
    store.add([ev("a", value=5.0)], received=0)
    with pytest.raises(IdempotencyConflictError, match="already stored for a different event"):
        store.add([retry], received=1)
    # and inside one batch
    with pytest.raises(IdempotencyConflictError, match="appears twice in this batch"):
        store.add([ev("b", value=5.0), Event("b", *[getattr(retry, f) for f in
                                                     ("user", "item", "type", "timestamp", "quantity", "value")])],
                  received=1)
    assert store.count() == 1


def test_a_value_against_none_is_a_conflict_either_way(store: EventStore) -> None:
    store.add([ev("a", value=None)], received=0)
    with pytest.raises(IdempotencyConflictError):
        store.add([ev("a", value=0.0)], received=1)


def test_an_empty_batch_stores_and_counts_nothing(store: EventStore) -> None:
    res = store.add([], received=0)
    assert (res.accepted, res.duplicates) == (0, 0) and store.count() == 0


def test_a_new_store_is_created_with_its_folders_and_says_where_it_is(tmp_path: Path) -> None:
    from discoverly.serve.store import StoreUnavailableError
    from discoverly.serve.store.sqlite import SQLiteStore

    path = tmp_path / "a" / "b" / "events.db"
    with SQLiteStore(path) as s:  # creating is the default
        assert s.url == f"sqlite:///{path}" and s.count() == 0
    assert path.is_file()
    missing = tmp_path / "c" / "events.db"
    with pytest.raises(StoreUnavailableError, match=f"no SQLite event store at '{missing}'; check the path"):
        SQLiteStore(missing, create=False)


def test_events_are_written_with_synchronous_full(store: EventStore) -> None:
    """docs/serve.md: the answer comes after the events are on disk (WAL with synchronous=FULL); exposures,
    analytics, are written with NORMAL (they survive a killed process, not a power cut)."""
    con = store._con()  # type: ignore[attr-defined]
    store.add_exposure(Exposure("exp", "A", "u1", "v1", 1000, ("i1",)))
    assert con.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    store.add([ev("a")], received=0)
    assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_conflict_messages_say_how_to_fix_it(store: EventStore) -> None:
    store.add([ev("a")], received=0)
    with pytest.raises(IdempotencyConflictError) as info:
        store.add([ev("a", item="i2")], received=1)
    assert str(info.value) == ("the idempotency key 'a' is already stored for a different event (user 'u1', item "
                               "'i1', type 'purchase', time 100); nothing of this batch was stored. Retries must "
                               "resend the same event; new events need new keys")
    with pytest.raises(IdempotencyConflictError) as info:
        store.add([ev("b"), ev("b", item="i2")], received=1)
    assert str(info.value) == ("the idempotency key 'b' appears twice in this batch with different content; "
                               "each distinct event needs its own key")


def test_thread_connections_close_what_no_thread_can_use(caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import threading

    from discoverly.serve.store.base import ThreadConnections

    closed: list[str] = []

    def close(con: str) -> None:
        closed.append(con)
        if con == "bad":
            raise OSError("boom")

    cons = ThreadConnections(close)
    cons.put("a")
    cons.put("a")  # the same connection again: kept
    assert cons.get() == "a" and closed == [] and len(cons) == 1
    cons.forget()  # broken: this thread opens a new one next time
    assert cons.get() is None
    cons.put("b")  # and the one it replaces is closed
    assert cons.get() == "b" and closed == ["a"] and len(cons) == 1
    worker = threading.Thread(target=cons.put, args=("bad",))
    worker.start()
    worker.join()
    assert len(cons) == 2
    with caplog.at_level(logging.WARNING, logger="discoverly.serve.store.base"):
        cons.put("c")  # the ended thread's connection is closed; one that fails to close is only logged
    assert closed == ["a", "b", "bad"] and len(cons) == 1
    assert [r.getMessage() for r in caplog.records] == ["could not close an unused event-store connection: boom"]
    cons.close_all()
    assert closed == ["a", "b", "bad", "c"] and len(cons) == 0 and cons.get() is None
    cons.put("d")  # usable again after close_all
    assert cons.get() == "d" and len(cons) == 1


def test_a_store_that_cannot_be_used_says_which_and_why(tmp_path: Path) -> None:
    from discoverly.serve.store import StoreUnavailableError
    from discoverly.serve.store.sqlite import SQLiteStore

    missing = tmp_path / "c" / "events.db"
    with pytest.raises(StoreUnavailableError) as info:
        SQLiteStore(missing, create=False)
    assert str(info.value) == (f"there is no SQLite event store at '{missing}'; check the path (--store, --artifacts "
                               "or the config's store), or start the service once to create it")
    with pytest.raises(StoreUnavailableError) as info:
        SQLiteStore(tmp_path)  # a folder
    assert str(info.value).startswith(f"cannot open the SQLite event store '{tmp_path}': ")
    under_a_file = tmp_path / "orders.csv" / "events.db"  # a folder that cannot be made
    under_a_file.parent.write_text("user,item\n")
    with pytest.raises(StoreUnavailableError) as info:
        SQLiteStore(under_a_file)
    assert str(info.value).startswith(f"cannot open the SQLite event store '{under_a_file}': ")
    with pytest.raises(StoreUnavailableError) as info:  # sqlite:///:memory: would lose every event
        SQLiteStore(":memory:")
    assert str(info.value) == ("':memory:' cannot use WAL mode (got 'memory'); put the event store on a local "
                               "file system")
    with SQLiteStore(tmp_path / "events.db") as s:
        assert repr(s) == f"SQLiteStore('{tmp_path / 'events.db'}')"
        s._con().execute("DROP TABLE exposure_items")  # type: ignore[attr-defined]
        with pytest.raises(StoreUnavailableError, match=r"^the SQLite event store could not answer: no such table"):
            s.exposures("exp")
