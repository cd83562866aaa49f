"""Artifact directories: ``manifest.json`` + arrays (``.npz``) + tables (Parquet); never pickle.

Writes go to a temporary sibling directory that is renamed into place only when complete, so a
failure never leaves a half-written artifact behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly._version import __version__
from discoverly.errors import ArtifactError

__all__ = ["Artifact", "write_artifact", "read_artifact", "check_save_target", "MANIFEST"]

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass
class Artifact:
    """What an artifact directory holds: its manifest, named arrays and named tables."""

    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    path: Path | None = None
    #: extra files by name (e.g. ``weights.safetensors``), as bytes
    files: dict[str, bytes] = field(default_factory=dict)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to a manifest")


def check_save_target(path: str | os.PathLike[str]) -> None:
    """Refuse a save path that holds a file, or a folder other than an artifact or an empty one:
    writing an artifact replaces what is there, so it would be deleted. Commands call it before
    their work starts; :func:`write_artifact` calls it again before it writes."""
    target = Path(path)
    if target.exists() and not (target / MANIFEST).is_file() and (not target.is_dir() or any(target.iterdir())):
        what = "a folder that is not a discoverly artifact" if target.is_dir() else "a file"
        raise ArtifactError(f"cannot save to {str(target)!r}: it is {what}, and saving would replace "
                            "(delete) it. Choose a new path, e.g. models/<name>")


def write_artifact(
    path: str | os.PathLike[str],
    manifest: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray] | None = None,
    tables: Mapping[str, pl.DataFrame] | None = None,
    *,
    overwrite: bool = True,
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write an artifact directory atomically (temp dir, then rename); returns its path.

    ``files`` are extra files written as given (e.g. ``{"weights.safetensors": data}``); their
    names must be plain file names that do not clash with the manifest, arrays or tables. An
    earlier artifact (or an empty folder) at ``path`` is replaced; a file or a folder of other
    things is refused with :class:`~discoverly.errors.ArtifactError` (:func:`check_save_target`)."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise ArtifactError(f"{str(target)!r} exists; pass overwrite=True or choose another path")
    check_save_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    full = {
        "format_version": FORMAT_VERSION,
        "discoverly_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **manifest,
        "arrays": sorted((arrays or {}).keys()),
        "tables": sorted((tables or {}).keys()),
    }
    if files:
        full["files"] = sorted(files)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        if arrays:
            for name, arr in arrays.items():
                if np.asarray(arr).dtype == object:
                    raise ArtifactError(f"array {name!r} has dtype object; store it as a table instead")
            payload: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
            np.savez(tmp / "arrays.npz", **payload)
        for name, table in (tables or {}).items():
            table.write_parquet(tmp / f"{name}.parquet")
        reserved = {MANIFEST, "arrays.npz", *(f"{t}.parquet" for t in (tables or {}))}
        for name, data in (files or {}).items():
            if Path(name).name != name or name in reserved or name.startswith("."):
                raise ArtifactError(f"cannot write extra file {name!r}: expected a plain file name other than "
                                    f"{', '.join(sorted(reserved))}")
            (tmp / name).write_bytes(data)
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(full, fh, indent=2, default=_json_default)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def read_artifact(path: str | os.PathLike[str], *, kind: str | None = None) -> Artifact:
    """Read an artifact directory; ``kind`` checks the manifest's ``kind`` entry."""
    root = Path(path)
    mf = root / MANIFEST
    if not root.exists():
        raise ArtifactError(f"{str(root)!r} does not exist; expected a discoverly artifact folder")
    if not mf.is_file():
        raise ArtifactError(f"{str(root)!r} is not a discoverly artifact: {MANIFEST} is missing")
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{str(mf)!r} is not valid JSON: {exc}") from exc
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise ArtifactError(f"{str(root)!r} was written by a newer discoverly "
                            f"({manifest.get('discoverly_version')}); upgrade discoverly to read it")
    if kind is not None and manifest.get("kind") != kind:
        raise ArtifactError(f"{str(root)!r} holds a {manifest.get('kind')!r} artifact, expected {kind!r}")
    arrays: dict[str, np.ndarray] = {}
    if manifest.get("arrays"):
        try:
            # opened here, so that the file is closed when numpy fails on a damaged zip (it leaks it)
            with open(root / "arrays.npz", "rb") as fh, np.load(fh, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # a truncated or empty copy
            raise ArtifactError(f"cannot read the arrays of {str(root)!r}: {exc}") from exc
    tables = {}
    for name in manifest.get("tables", []):
        try:
            tables[name] = pl.read_parquet(root / f"{name}.parquet")
        except Exception as exc:  # polars raises several kinds
            raise ArtifactError(f"cannot read table {name!r} of {str(root)!r}: {exc}") from exc
    files = {}
    for name in manifest.get("files", []):
        try:
            files[name] = (root / name).read_bytes()
        except OSError as exc:
            raise ArtifactError(f"cannot read file {name!r} of {str(root)!r}: {exc}") from exc
    return Artifact(manifest=manifest, arrays=arrays, tables=tables, path=root, files=files)
