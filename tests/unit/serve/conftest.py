"""Fixtures of the service tests: an artifacts dir with fitted models, apps, a PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from serve_helpers import DAY, ROOT, T0, Clock, shop_log

from discoverly.data import Interactions


@pytest.fixture(scope="session")
def log() -> Interactions:
    return shop_log()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, log: Interactions) -> Path:
    """A read-only artifacts tree: models/v0001 (bestsellers), v0002 (popularity), v0003 (item-to-item,
    corrected score), CURRENT = v0001, and a catalogue."""
    from discoverly.recommend.popularity import Popularity, RecentBestsellers
    from discoverly.recommend.registry import create

    root = tmp_path_factory.mktemp("artifacts-template")
    RecentBestsellers().fit(log).save(root / "models" / "v0001")
    Popularity().fit(log).save(root / "models" / "v0002")
    create("corrected").fit(log).save(root / "models" / "v0003")
    (root / "CURRENT").write_text("v0001\n")
    pl.DataFrame({"item": [f"i{i}" for i in range(30)], "title": [f"Product {i}" for i in range(30)]}
                 ).write_parquet(root / "catalog.parquet")
    return root


@pytest.fixture
def artifacts(model_dir: Path, tmp_path: Path) -> Path:
    """A fresh copy of the artifacts tree per test (tests write events and switch versions)."""
    import shutil

    target = tmp_path / "artifacts"
    shutil.copytree(model_dir, target)
    return target


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 60 * DAY)


@pytest.fixture
def make_client(artifacts: Path, clock: Clock) -> Iterator[Callable[..., Any]]:
    """make_client(**config overrides) -> a started TestClient (closed at the end of the test)."""
    from fastapi.testclient import TestClient

    from discoverly.serve import ServeConfig, create_app

    opened: list[Any] = []

    def make(**overrides: Any) -> Any:
        cfg = ServeConfig(**{"artifacts": artifacts, "admin_token": "s3cret", **overrides})
        client = TestClient(create_app(cfg, clock=clock), raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for c in opened:
        c.__exit__(None, None, None)


# -- PostgreSQL ---------------------------------------------------------------------------------
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
    """A fresh database for one test (dropped afterwards)."""
    import psycopg

    name = f"discoverly_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
