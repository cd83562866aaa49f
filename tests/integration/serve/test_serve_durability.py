"""SIGKILL right after answering: every acknowledged event survives, none is stored twice, and
retrying the unacknowledged ones with their keys leaves exactly the sent events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from serve_it_helpers import Server

from discoverly.serve.faults import kill_cycle
from discoverly.serve.store import open_store

pytestmark = pytest.mark.slow


def _keys(url: str) -> Callable[[], list[str]]:
    def read() -> list[str]:
        with open_store(url) as st:
            return st.events()["key"].to_list()
    return read


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_acknowledged_events_survive_sigkill(backend: str, artifacts: Path, request: pytest.FixtureRequest) -> None:
    url = (f"sqlite:///{artifacts / 'events.db'}" if backend == "sqlite"
           else request.getfixturevalue("postgres_url"))
    servers: list[Server] = []

    def start() -> str:
        s = Server(artifacts, store=url).start()
        servers.append(s)
        return s.url

    try:
        first = start()
        for cycle in range(2):
            current = servers[-1]
            res = kill_cycle(current.url if cycle else first, current.kill, _keys(url), restart=start,
                             kill_after=150, prefix=f"c{cycle}")
            assert len(res.acknowledged) >= 150
            assert not res.lost, f"cycle {cycle}: {len(res.lost)} acknowledged events lost"
            assert not res.phantom and res.duplicates_after_kill == 0
            assert res.stored_after_retry == res.sent and res.duplicates_after_retry == 0
    finally:
        for s in servers:
            s.stop()
