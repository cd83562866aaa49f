"""Finding a data set's files: an explicit path, ``DISCOVERLY_DATA_DIR``, or the download cache."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from discoverly.errors import DatasetNotFoundError

__all__ = ["DATA_DIR_ENV", "CACHE_DIR_ENV", "default_cache_dir", "search_roots", "find_files", "locate"]

logger = logging.getLogger(__name__)

#: the environment variable naming the folder of public data sets
DATA_DIR_ENV = "DISCOVERLY_DATA_DIR"
#: the environment variable naming the download cache (default ``~/.cache/discoverly/data``)
CACHE_DIR_ENV = "DISCOVERLY_CACHE_DIR"


def default_cache_dir() -> Path:
    """Where downloaded data sets are kept: ``$DISCOVERLY_CACHE_DIR``, else ``$XDG_CACHE_HOME/discoverly/data``."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "discoverly" / "data"


def search_roots(data_dir: str | os.PathLike[str] | None = None,
                 cache_dir: str | os.PathLike[str] | None = None) -> list[tuple[Path, str]]:
    """The folders to look in, each with where it came from, in search order.

    An explicit ``data_dir`` is the only place searched (a wrong explicit path should fail, not
    silently fall back); otherwise ``$DISCOVERLY_DATA_DIR`` and then the download cache.
    """
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if path.is_file():
            path = path.parent
        return [(path, "the data_dir argument")]
    roots: list[tuple[Path, str]] = []
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        roots.append((Path(env).expanduser(), f"${DATA_DIR_ENV}"))
    roots.append((Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(),
                  "the download cache"))
    return roots


def _candidates(root: Path, rel: str) -> list[Path]:
    """``root/rel`` and, so a root may point inside the data set's folder, each shorter tail of ``rel``."""
    parts = PurePosixPath(rel).parts
    return [root.joinpath(*parts[i:]) for i in range(len(parts))]


def find_files(files: Sequence[str], root: Path) -> dict[str, Path] | None:
    """All ``files`` under ``root`` (trying shorter tails of each path), or ``None`` if any is missing."""
    found: dict[str, Path] = {}
    for rel in files:
        hit = next((p for p in _candidates(root, rel) if p.is_file()), None)
        if hit is None:
            return None
        found[rel] = hit
    return found


def locate(
    dataset: str,
    files: Sequence[str],
    data_dir: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    how_to_get: str = "",
) -> dict[str, Path]:
    """The paths of a data set's ``files`` (relative names as in the public data folder).

    Raises :class:`DatasetNotFoundError` naming the files expected, every place looked, and how
    to fix it.
    """
    roots = search_roots(data_dir, cache_dir)
    for root, origin in roots:
        found = find_files(files, root)
        if found is not None:
            logger.debug("found %s in %s (%s)", dataset, root, origin)
            return found
    looked = "; ".join(f"{root} ({origin}{'' if root.is_dir() else ', which does not exist'})"
                       for root, origin in roots)
    missing_hint = ", ".join(files)
    fixes = [f"set {DATA_DIR_ENV} to the folder that holds {files[0].split('/')[0]}/",
             "or pass data_dir= (CLI: --data-dir)"]
    if data_dir is None and not os.environ.get(DATA_DIR_ENV):  # unset, or set to "" (which is skipped)
        fixes[0] = f"{DATA_DIR_ENV} is not set: set it to the folder that holds {files[0].split('/')[0]}/"
    message = (f"data set {dataset!r} not found: expected the file(s) {missing_hint}; looked in {looked}. "
               f"To fix: {', '.join(fixes)}")
    if how_to_get:
        message += f". {how_to_get}"
    raise DatasetNotFoundError(message)
