"""discoverly: a discovery engine for a catalogue and the people who use it.

The public API, imported lazily so ``import discoverly`` stays fast::

    import discoverly as dv
    log = dv.read_interactions("purchases.csv", user="customer", item="sku", time="ts")
    model = dv.create("corrected").fit(log)
    model.related(["SKU-1"], k=10).to_pandas()
"""

from __future__ import annotations

import importlib
from typing import Any

from discoverly._version import __version__
from discoverly.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    DatasetNotFoundError,
    DiscoverlyError,
    MissingDependencyError,
    NotFittedError,
    ResourceLimitError,
    UnknownIdError,
)

_LAZY: dict[str, str] = {
    "Interactions": "discoverly.data",
    "Vocabulary": "discoverly.data",
    "Catalog": "discoverly.data",
    "read_interactions": "discoverly.data",
    "read_catalog": "discoverly.data",
    "load_dataset": "discoverly.data",
    "Recommender": "discoverly.recommend",
    "Recommendations": "discoverly.recommend",
    "History": "discoverly.recommend",
    "create": "discoverly.recommend",
    "load_model": "discoverly.recommend",
    "evaluate": "discoverly.evaluate",
}

__all__ = [
    "__version__",
    "DiscoverlyError", "DataError", "ConfigError", "UnknownIdError", "NotFittedError",
    "ArtifactError", "MissingDependencyError", "DatasetNotFoundError", "ResourceLimitError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'discoverly' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
