"""Shared fixtures: the public data sets (skipped when absent) and small hand-made logs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from discoverly.data import Interactions


def data_dir() -> Path | None:
    value = os.environ.get("DISCOVERLY_DATA_DIR")
    return Path(value) if value and Path(value).is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of public data sets; tests that need it are skipped when it is absent."""
    d = data_dir()
    if d is None:
        pytest.skip("DISCOVERLY_DATA_DIR is not set to the public data folder")
    return d


@pytest.fixture
def tiny_log() -> Interactions:
    """Four customers, five items, two weeks: small enough to work out by hand."""
    day = 86_400
    t0 = 1_700_000_000
    users = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
    items = [0, 1, 2, 0, 1, 1, 2, 3, 4, 0]
    times = [t0 + d * day for d in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)]
    return Interactions.from_indices(users, items, np.array(times), n_users=4, n_items=5)


def _java_ready() -> str | None:
    """``None`` when Java 17+ is there (``scripts/java.sh`` installs Debian's when we run as root),
    else the reason to skip the Spark tests."""
    import subprocess

    from discoverly.engine.spark.session import MIN_JAVA, java_version

    version = java_version()
    if version is not None and version >= MIN_JAVA:
        return None
    script = Path(__file__).resolve().parents[1] / "scripts" / "java.sh"
    if hasattr(os, "geteuid") and os.geteuid() == 0 and script.is_file():
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900, check=False)
        version = java_version()
        if done.returncode == 0 and version is not None and version >= MIN_JAVA:
            return None
        return f"no Java {MIN_JAVA}+ (scripts/java.sh: {done.stderr.strip()[-200:]})"
    return f"no Java {MIN_JAVA}+ runtime; run scripts/java.sh"


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One local[2] Spark session for the whole run (skipped, with the reason, without PySpark or Java)."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed: pip install 'discoverly[spark]'")
    reason = _java_ready()
    if reason:
        pytest.skip(reason)
    from discoverly.engine.spark import spark_session

    session = spark_session("local[2]", driver_memory="2g", shuffle_partitions=4,
                            local_dir=tmp_path_factory.mktemp("spark-local"))
    yield session
    import gc
    import warnings

    with warnings.catch_warnings():  # py4j's unclosed local sockets, collected here and not in a later test
        warnings.simplefilter("ignore", ResourceWarning)
        session.stop()
        gc.collect()
