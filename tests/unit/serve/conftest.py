"""Fixtures of the service tests: an artifacts dir with a fitted model, apps, a PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.data import Interactions, Vocabulary

T0 = 1_700_000_000
DAY = 86_400
ROOT = Path(__file__).resolve().parents[3]


class Clock:
    """A settable server clock (epoch seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def shop_log(n_users: int = 60, n_items: int = 30, n_events: int = 1500, seed: int = 0) -> Interactions:
    """A small log with string ids ('u0'.., 'i0'..), skewed popularity and complements (i2k, i2k+1)."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n_events)
    items = np.minimum(rng.zipf(1.6, n_events) - 1, n_items - 1)
    pair = rng.random(n_events) < 0.4  # buy the complement too
    users = np.concatenate([users, users[pair]])
    items = np.concatenate([items, items[pair] ^ 1])
    times = np.concatenate([T0 + np.sort(rng.integers(0, 40 * DAY, n_events)), np.zeros(int(pair.sum()), np.int64)])
    times[n_events:] = times[:n_events][pair] + 60
    uv = Vocabulary([f"u{i}" for i in range(n_users)], name="user")
    iv = Vocabulary([f"i{i}" for i in range(n_items)], name="item")
    return Interactions(uv, iv, users, items, times)


def fit_model(kind: str, log: Interactions) -> Any:
    from discoverly.recommend.registry import create

    if kind != "bestsellers":
        pytest.importorskip("discoverly.recommend.item_to_item", reason="ItemToItem has not landed yet")
    return create(kind).fit(log)


@pytest.fixture(scope="session")
def log() -> Interactions:
    return shop_log()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, log: Interactions) -> Path:
    """A read-only artifacts tree: models/v0001 (bestsellers) and models/v0002 (popularity), catalog."""
    from discoverly.recommend.popularity import Popularity, RecentBestsellers

    root = tmp_path_factory.mktemp("artifacts-template")
    RecentBestsellers().fit(log).save(root / "models" / "v0001")
    Popularity().fit(log).save(root / "models" / "v0002")
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


ADMIN = {"Authorization": "Bearer s3cret"}


def event(user: str = "u1", item: str = "i3", key: str | None = None, t: int = T0 + 50 * DAY,
          type: str = "purchase", **extra: Any) -> dict[str, Any]:
    return {"user": user, "item": item, "type": type, "timestamp": t,
            "idempotency_key": key or uuid.uuid4().hex, **extra}


# -- PostgreSQL ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of the test PostgreSQL server (started by scripts/services.sh). Skipped when it cannot
    be started, except in CI (CI=true) where that is a failure."""
    url = os.environ.get("DISCOVERLY_TEST_POSTGRES")
    if url:
        return url
    try:
        out = subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "postgres"], capture_output=True,
                             text=True, timeout=600, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        if os.environ.get("CI") == "true":
            pytest.fail(f"scripts/services.sh could not start PostgreSQL: {detail}")
        pytest.skip(f"PostgreSQL unavailable (scripts/services.sh failed: {str(detail).strip()[-300:]})")
    return out.stdout.strip().splitlines()[-1]


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
