"""Fixtures of the service tests: an artifacts dir with fitted models, apps, a PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from serve_helpers import DAY, T0, Clock, shop_log

from discoverly.data import Interactions
from postgres_fixtures import postgres_server, postgres_url  # noqa: F401 (fixtures)


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
