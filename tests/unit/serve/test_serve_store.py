"""One contract suite for every event store: SQLite always, PostgreSQL when its server runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_helpers import ev

from discoverly.errors import ConfigError
from discoverly.serve.store import EventStore, Exposure, IdempotencyConflictError, open_store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'events.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = open_store(url)
    yield s
    s.close()


def test_add_and_read_back(store: EventStore) -> None:
    res = store.add([ev("a", t=10), ev("b", item="i2", t=20, value=3.5), ev("c", user="u2", t=15)], received=1)
    assert (res.accepted, res.duplicates) == (3, 0)
    assert store.count() == 3
    mine = store.user_events("u1")
    assert [e.key for e in mine] == ["a", "b"]  # oldest first
    assert mine[1].value == 3.5 and mine[0].value is None
    assert [e.key for e in store.user_events("u1", since=15)] == ["b"]
    assert [e.key for e in store.user_events("u1", types=["view"])] == []
    frame = store.events()
    assert frame["key"].to_list() == ["a", "c", "b"]  # by time
    assert frame.columns == ["key", "user", "item", "type", "timestamp", "quantity", "value"]
    assert store.events(since=12, until=20)["key"].to_list() == ["c"]


def test_retries_are_not_double_counted(store: EventStore) -> None:
    store.add([ev("a"), ev("b")], received=1)
    res = store.add([ev("a"), ev("b"), ev("c")], received=2)
    assert (res.accepted, res.duplicates) == (1, 2)
    res = store.add([ev("d"), ev("d")], received=3)  # repeated inside one batch
    assert (res.accepted, res.duplicates) == (1, 1)
    assert store.count() == 4


def test_conflicting_key_rejects_the_whole_batch(store: EventStore) -> None:
    store.add([ev("a", item="i1")], received=1)
    with pytest.raises(IdempotencyConflictError, match="'a'"):
        store.add([ev("new1"), ev("a", item="OTHER"), ev("new2")], received=2)
    assert store.count() == 1  # no partial write
    with pytest.raises(IdempotencyConflictError):
        store.add([ev("x", item="i1"), ev("x", item="i2")], received=3)
    assert store.count() == 1


def test_exposures_and_outcomes(store: EventStore) -> None:
    store.add_exposure(Exposure("exp", "A", "u1", "v1", 1000, ("i1", "i2")))
    store.add_exposure(Exposure("exp", "B", "u2", "v2", 1000, ("i3",)))
    store.add_exposure(Exposure("other", "A", "u1", "v1", 1000, ("i9",)))
    store.add([ev("k1", "u1", "i2", t=1500, value=7.0),  # shown, in window: outcome
               ev("k2", "u1", "i5", t=1500),  # not shown
               ev("k3", "u2", "i3", t=999),  # before the exposure
               ev("k4", "u2", "i3", t=1000 + 5000),  # after the window
               ev("k5", "u1", "i1", t=1200, type="view")],  # a view is no outcome
              received=2000)
    x = store.exposures("exp")
    assert sorted(x["user"].to_list()) == ["u1", "u2"]
    assert x.filter(x["user"] == "u1")["items"].to_list() == [["i1", "i2"]]
    # what the service's analysis reads: the same exposures without the shown items (SQLite read a row per item)
    assert store.exposures("exp", items=False).equals(x.drop("items"))
    out = store.outcomes("exp", window_seconds=3600)
    assert out["key"].to_list() == ["k1"] and out["arm"].to_list() == ["A"] and out["value"].to_list() == [7.0]
    assert store.experiments() == ["exp", "other"]


def test_concurrent_writers_lose_nothing(store: EventStore) -> None:
    def work(w: int) -> None:
        for b in range(10):
            store.add([ev(f"w{w}-{b}-{i}", user=f"u{w}") for i in range(5)], received=1)
            store.add([ev(f"w{w}-{b}-0", user=f"u{w}")], received=1)  # a retry

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 4 * 10 * 5
    assert store.events()["key"].n_unique() == 200


def test_ping(store: EventStore) -> None:
    store.ping()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_connections_of_ended_threads_are_closed(store: EventStore) -> None:
    """The service's thread pool ends idle threads and starts new ones for the next burst: each ended
    thread's connection stayed open (2 files per SQLite connection, a socket and a server process per
    PostgreSQL one), so a service left running ran out of files or of PostgreSQL connections."""
    def burst() -> None:
        threads = [threading.Thread(target=store.ping) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    burst()
    open_files = len(list(Path("/proc/self/fd").iterdir()))
    for _ in range(10):
        burst()
    # the last burst's connections close when the next thread opens one: at most those 8 stay open
    # (2 files each); before, every burst added its 8 (+160 files with SQLite, +80 with PostgreSQL)
    assert len(list(Path("/proc/self/fd").iterdir())) <= open_files + 16
    store.ping()  # the store still answers, on a new connection and the old ones'
    burst()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from(["i1", "i2"])), min_size=1, max_size=12))
def test_idempotency_property(tmp_path_factory: pytest.TempPathFactory,
                              batch: list[tuple[str, str]]) -> None:
    """Whatever the batch, the store ends with each distinct key once, or refuses the batch whole."""
    s = open_store(tmp_path_factory.mktemp("prop") / "e.db")
    try:
        events = [ev(k, item=i) for k, i in batch]
        first: dict[str, str] = {}
        consistent = all(first.setdefault(k, i) == i for k, i in batch)
        if consistent:
            res = s.add(events, received=1)
            assert res.accepted == len(first) and res.accepted + res.duplicates == len(batch)
            again = s.add(events, received=2)
            assert (again.accepted, again.duplicates) == (0, len(batch))
            assert s.count() == len(first)
        else:
            with pytest.raises(IdempotencyConflictError):
                s.add(events, received=1)
            assert s.count() == 0
    finally:
        s.close()


def test_open_store_urls(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path}/a.db", str(tmp_path / "b.db")):
        with open_store(url) as s:
            assert s.count() == 0
    with pytest.raises(ConfigError, match="unknown event store URL"):
        open_store("mysql://x")
    with pytest.raises(ConfigError):
        open_store("sqlite://")


def test_reading_never_creates_a_store_at_a_mistyped_path(tmp_path: Path) -> None:
    from discoverly.serve.store import StoreUnavailableError

    with pytest.raises(StoreUnavailableError, match="no SQLite event store"):
        open_store(f"sqlite:///{tmp_path}/typo/events.db", create=False)
    assert not (tmp_path / "typo").exists()
    not_sqlite = tmp_path / "orders.csv"
    not_sqlite.write_text("user,item\n1,2\n")
    with pytest.raises(StoreUnavailableError) as info:
        open_store(not_sqlite, create=False)
    assert str(info.value).count("cannot open") == 1  # the reason is not repeated


def test_unreachable_postgres_is_a_clear_503_error() -> None:
    pytest.importorskip("psycopg")
    from discoverly.serve.store import StoreUnavailableError

    with pytest.raises(StoreUnavailableError, match="cannot connect"):
        open_store("postgresql://nobody:secret@127.0.0.1:1/none")
