"""Fixtures of the service integration tests: artifacts, servers, PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_it_helpers import Server, make_artifacts

from postgres_fixtures import postgres_server, postgres_url  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def artifacts_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_artifacts(tmp_path_factory.mktemp("it-artifacts"))


@pytest.fixture
def artifacts(artifacts_template: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "artifacts"
    shutil.copytree(artifacts_template, target)
    return target


@pytest.fixture
def server(artifacts: Path) -> Iterator[Callable[..., Server]]:
    """server(**options) -> a started ``discoverly serve`` child process (stopped afterwards)."""
    started: list[Server] = []

    def start(**options: Any) -> Server:
        s = Server(artifacts, **options).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
