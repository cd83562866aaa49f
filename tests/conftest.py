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
