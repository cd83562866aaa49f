"""The PostgreSQL fixtures of the service tests, unit and integration (each serve/conftest.py imports
them, so the two kinds of tests start and share the one test server the same way)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["postgres_server", "postgres_url"]

SERVICES = Path(__file__).resolve().parents[1] / "scripts" / "services.sh"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of the test PostgreSQL server, started by scripts/services.sh (and stopped at the end
    when this session started it). Skipped when it cannot be started, except in CI (CI=true)."""
    url = os.environ.get("DISCOVERLY_TEST_POSTGRES")
    if url:
        yield url
        return
    script = str(SERVICES)
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
    """A fresh database for one test (dropped afterwards)."""
    import psycopg

    name = f"discoverly_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
