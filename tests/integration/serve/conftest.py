"""Fixtures of the service integration tests: artifacts, servers, PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_it_helpers import ROOT, Server, make_artifacts


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of the test PostgreSQL server, started by scripts/services.sh (and stopped at the end
    when this session started it). Skipped when it cannot be started, except in CI (CI=true)."""
    url = os.environ.get("DISCOVERLY_TEST_POSTGRES")
    if url:
        yield url
        return
    script = str(ROOT / "scripts" / "services.sh")
    was_running = subprocess.run(["bash", "-c", "pg_isready -q -h 127.0.0.1 -p ${DISCOVERLY_PG_PORT:-54329}"],
                                 capture_output=True).returncode == 0
    try:
        out = subprocess.run(["bash", script, "postgres"], capture_output=True, text=True, timeout=600, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        if os.environ.get("CI") == "true":
            pytest.fail(f"scripts/services.sh could not start PostgreSQL: {detail}")
        pytest.skip(f"PostgreSQL unavailable (scripts/services.sh failed: {str(detail).strip()[-300:]})")
    yield out.stdout.strip().splitlines()[-1]
    if not was_running:
        subprocess.run(["bash", script, "stop-postgres"], capture_output=True, timeout=120)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    import psycopg

    name = f"discoverly_it_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
