"""Artifact directories: ``manifest.json`` + arrays (``.npz``) + tables (Parquet); never pickle.

Writes go to a temporary sibling directory that is renamed into place only when complete, so a
failure never leaves a half-written artifact behind. An earlier artifact is swapped with the new
one in one step where the system can (Linux), so its path always holds one complete artifact: for
a reader, for a second writer, and after an interrupt or a kill at any moment.

The temporary siblings are named ``.NAME.part-HOST-PID-…`` (and a replaced artifact on its way out
``.NAME.old-HOST-PID-…``): a process killed outright (SIGKILL, the out-of-memory killer) cannot remove
them, so the next write to ``NAME`` on this host removes those whose writer has ended: a writer holds a
lock on its folder, which the system drops when the process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly._version import __version__
from discoverly.errors import ArtifactError

__all__ = ["Artifact", "write_artifact", "read_artifact", "replace_artifact", "staging_folder", "staged",
           "staged_file", "check_save_target", "check_file_target", "write_text_file", "MANIFEST"]

try:
    import fcntl
except ImportError:  # not POSIX: staging folders are not locked, and none are swept
    fcntl = None  # type: ignore[assignment]

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


#: the way out of a damaged or incomplete artifact
_AGAIN = "; the copy is damaged or incomplete: save (or fit and save) the model there again"


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
    _check_folder_above(target, "cannot save to")


def check_file_target(path: str | os.PathLike[str], *, what: str = "the file") -> None:
    """Refuse a path for one file (a report, a JSON result) that is a folder, lies below a file, or
    in a folder that cannot be written, before any work is done (so a long run does not end in a
    failed write)."""
    target = Path(path)
    if target.is_dir():
        raise ArtifactError(f"cannot write {what} to {str(target)!r}: it is a folder; name a file, e.g. "
                            f"{str(target / ('report.html' if what == 'the report' else 'results.json'))!r}")
    _check_folder_above(target, f"cannot write {what} to")


def _check_folder_above(target: Path, failure: str) -> None:
    """The nearest existing folder above ``target`` must be a folder this process can write in."""
    above = next((p for p in target.parents if p.exists()), None)
    if above is None:
        return
    if not above.is_dir():
        raise ArtifactError(f"{failure} {str(target)!r}: {str(above)!r} is a file, not a folder")
    if not os.access(above, os.W_OK | os.X_OK):
        raise ArtifactError(f"{failure} {str(target)!r}: the folder {str(above)!r} is not writable "
                            "(read-only or not yours). Choose a path in a folder you can write to")


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or the file system cannot, so the caller falls back to two renames."""
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # a C library older than glibc 2.28
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@functools.cache
def _host_tag() -> str:
    """A short tag of this host: temporary folders of another machine (a shared disk) are never swept."""
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _sibling_prefix(target: Path, role: str) -> str:
    return f".{target.name}.{role}-{_host_tag()}-{os.getpid()}-"


#: the staging folders this process is writing -> the descriptor holding the folder's lock
_held: dict[str, int] = {}
#: a staging folder younger than this is never swept (between its creation and its lock); a replaced
#: artifact on its way out (``.old-``) lives for milliseconds, so one older than 10 minutes was abandoned
_FRESH_SECONDS, _OLD_SECONDS = 60.0, 600.0


def _lock(folder: Path) -> None:
    """Hold an exclusive lock on ``folder`` while this process writes it: the system drops it when the
    process ends, however it ends, which is how a sweep tells an abandoned folder from a live one
    (process ids cannot tell: containers of one host may share a host name, not their process ids)."""
    if fcntl is None:
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    _held[str(folder)] = fd


def _release(folder: Path) -> None:
    fd = _held.pop(str(folder), None)
    if fd is not None:
        os.close(fd)


def _abandoned(path: str, role: str) -> bool:
    try:
        age = time.time() - os.stat(path, follow_symlinks=False).st_mtime
    except OSError:
        return False
    if role == "old":
        return age > _OLD_SECONDS
    if fcntl is None or age < _FRESH_SECONDS:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # its writer, alive, would hold it
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _sweep_killed_writes(target: Path) -> None:
    """Remove the temporary siblings of ``target`` (and the folders nested in them: a model written
    into a staging folder stages itself next to it) that writers of this host left when killed."""
    pattern = re.compile(rf"\.+{re.escape(target.name)}\.(part|old)-{_host_tag()}-\d+-.+")
    try:
        siblings = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in siblings:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_dir(follow_symlinks=False) and _abandoned(entry.path, match.group(1)):
            shutil.rmtree(entry.path, ignore_errors=True)


def staging_folder(target: str | os.PathLike[str]) -> Path:
    """A new empty hidden sibling folder of ``target``, locked while this process lives, to write an
    artifact in before :func:`replace_artifact` moves it into place. Folders that writers killed
    outright left next to ``target`` are removed first. Prefer :func:`staged`, which also cleans up."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep_killed_writes(target)
        folder = Path(tempfile.mkdtemp(prefix=_sibling_prefix(target, "part"), dir=target.parent))
        _lock(folder)
        return folder
    except OSError as exc:
        if isinstance(exc, ArtifactError):
            raise
        raise _write_error(target, exc) from exc


@contextlib.contextmanager
def staged(target: str | os.PathLike[str]) -> Iterator[Path]:
    """``with staged(out) as stage:`` write an artifact in parts into ``stage``, then
    ``replace_artifact(stage, out)``; whatever is left at ``stage`` (after a failure) is removed."""
    folder = staging_folder(target)
    try:
        yield folder
    finally:
        _release(folder)
        shutil.rmtree(folder, ignore_errors=True)



@contextlib.contextmanager
def staged_file(target: str | os.PathLike[str]) -> Iterator[Path]:
    """``with staged_file(out) as tmp:`` write one large file at ``tmp``; when the block ends without
    an error it replaces ``out`` in one step. ``tmp`` lies in a :func:`staging_folder`, so a writer
    killed outright (SIGKILL, the out-of-memory killer) leaves nothing the next write to ``out`` keeps."""
    target = Path(target)
    with staged(target) as stage:
        tmp = stage / target.name
        yield tmp
        os.replace(tmp, target)

def _move_into_place(tmp: Path, target: Path) -> Path | None:
    """Put the complete artifact ``tmp`` at ``target``; returns where the artifact it replaced now
    is (to be deleted), or None. Another process may be writing the same path at the same time:
    the last one wins, and neither fails."""
    for _ in range(100):
        try:
            if not target.exists():
                os.rename(tmp, target)
                return None
            if _exchange(tmp, target):
                return tmp
            old = target.with_name(_sibling_prefix(target, "old") + os.urandom(4).hex())
            os.replace(target, old)
            try:
                os.replace(tmp, target)
            except BaseException:
                if not target.exists():  # put the earlier artifact back
                    os.replace(old, target)
                else:  # another writer's newer artifact is in place: the earlier one is not needed
                    _remove(old)
                raise
            return old
        except OSError as exc:  # another writer got there between our check and our rename: again
            if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST) or not tmp.is_dir() \
                    or not target.parent.is_dir():
                raise
    raise ArtifactError(f"cannot save to {str(target)!r}: other processes keep replacing it")


def write_text_file(path: str | os.PathLike[str], text: str, *, what: str = "the file") -> Path:
    """Write one text file (a report, a JSON result) atomically: a temporary file, then a rename, so
    an interrupt never leaves a half-written file; readable by others like any file. A path the
    system refuses (a folder, a read-only place, a full disk) is an :class:`ArtifactError`."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            # errors="replace": a file name that is not UTF-8 (caf\xe9.csv) named in a report becomes "caf?"
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; the user's umask decides
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise ArtifactError(f"cannot write {what} to {str(target)!r}: {exc.strerror or exc}") from exc
    return target


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
    tmp = staging_folder(target)
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
        # mkdtemp makes the folder private; a model is read by others too (the service), as far as the umask allows
        os.chmod(tmp, 0o777 & ~_umask())
        old = _move_into_place(tmp, target)
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, ArtifactError):
            raise _write_error(target, exc) from exc
        raise
    finally:
        _release(tmp)
    if old is not None:
        _remove(old)
    return target


@functools.cache
def _umask() -> int:
    """The process's umask, read once (by setting it and putting it back: there is no other way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(folder: Path) -> None:
    """Delete a temporary or replaced folder, also when Ctrl-C (or SIGTERM) arrives meanwhile: the
    interrupt is raised once the folder is gone, so no hidden copy is left next to the artifact."""
    try:
        shutil.rmtree(folder, ignore_errors=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def replace_artifact(folder: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Move the complete artifact ``folder`` to ``target`` as :func:`write_artifact` puts its own
    there (in one step where the system can; an earlier artifact is replaced and deleted, anything
    else refused); returns ``target``. For an artifact written in parts, e.g. a model with the
    catalogue stored inside it: write them to a sibling folder of ``target``, then move that."""
    source, target = Path(folder), Path(target)
    if not source.is_dir():
        raise ArtifactError(f"cannot move {str(source)!r} to {str(target)!r}: it is not a folder")
    check_save_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        old = _move_into_place(source, target)
        _release(source)
    except OSError as exc:
        if isinstance(exc, ArtifactError):
            raise
        raise _write_error(target, exc) from exc
    if old is not None:
        _remove(old)
    return target


def _write_error(target: Path, exc: OSError) -> ArtifactError:
    """The error of a write the system refused (a read-only folder, a full disk, …)."""
    return ArtifactError(f"cannot save to {str(target)!r}: {exc.strerror or exc}; nothing was written there "
                         "(an earlier artifact at that path is unchanged). Free some space or choose another path")


class _ReplacedError(Exception):
    """The artifact was replaced (and the one being read deleted) while it was read."""


def read_artifact(path: str | os.PathLike[str], *, kind: str | None = None) -> Artifact:
    """Read an artifact directory; ``kind`` checks the manifest's ``kind`` entry. Its files are
    read from one folder even when another process replaces the artifact meanwhile (and read again
    when that deleted them), so the manifest, arrays and tables always come from one write."""
    root = Path(path)
    for _ in range(10):
        try:
            return _read(root, kind)
        except _ReplacedError:
            continue
    raise ArtifactError(f"cannot read {str(root)!r}: other processes keep replacing it; try again")


def _read(root: Path, kind: str | None) -> Artifact:
    if not root.exists():
        raise ArtifactError(f"{str(root)!r} does not exist; expected a discoverly artifact folder")
    if not (root / MANIFEST).is_file():
        raise ArtifactError(f"{str(root)!r} is not a discoverly artifact: {MANIFEST} is missing")
    if os.open not in os.supports_dir_fd:
        return _read_files(root, kind, lambda name, flags: os.open(root / name, flags))
    try:
        folder = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise ArtifactError(f"cannot read {str(root)!r}: {exc.strerror or exc}") from exc
    try:  # every file is opened in this folder, even if another process renames a new artifact to its path
        return _read_files(root, kind, lambda name, flags: os.open(name, flags, dir_fd=folder))
    except ArtifactError:
        held = os.fstat(folder)
        try:
            now = os.stat(root)
        except OSError:
            raise _ReplacedError from None
        if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            raise _ReplacedError from None  # the folder read is no longer the artifact: read the new one
        raise
    finally:
        os.close(folder)


def _read_files(root: Path, kind: str | None, opener: Callable[[str, int], int]) -> Artifact:
    try:
        with open(MANIFEST, "rb", opener=opener) as raw:
            manifest = json.loads(raw.read().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{str(root / MANIFEST)!r} is not valid JSON: {exc}") from exc
    except OSError as exc:
        raise ArtifactError(f"cannot read {str(root / MANIFEST)!r}: {exc.strerror or exc}") from exc
    if not isinstance(manifest, dict):  # another tool's manifest.json
        raise ArtifactError(f"{str(root)!r} is not a discoverly artifact: its {MANIFEST} holds a JSON "
                            f"{type(manifest).__name__}, not an object")
    version = manifest.get("format_version", 0)
    if type(version) is not int:
        raise ArtifactError(f"{str(root)!r} is not a discoverly artifact: its {MANIFEST} has format_version "
                            f"{version!r}, not a whole number")
    if version > FORMAT_VERSION:
        raise ArtifactError(f"{str(root)!r} was written by a newer discoverly "
                            f"({manifest.get('discoverly_version')}); upgrade discoverly to read it")
    if kind is not None and manifest.get("kind") != kind:
        got = (f"a {manifest['kind']!r} artifact" if "kind" in manifest
               else f"no discoverly artifact ({MANIFEST} names no kind)")
        raise ArtifactError(f"{str(root)!r} holds {got}, expected {kind!r}")
    arrays: dict[str, np.ndarray] = {}
    if manifest.get("arrays"):
        try:
            # opened here, so that the file is closed when numpy fails on a damaged zip (it leaks it)
            with open("arrays.npz", "rb", opener=opener) as fh, np.load(fh, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # a truncated or empty copy
            raise ArtifactError(f"cannot read the arrays of {str(root)!r}: {exc}{_AGAIN}") from exc
    tables = {}
    for name in manifest.get("tables", []):
        try:
            with open(f"{name}.parquet", "rb", opener=opener) as fh:
                tables[name] = pl.read_parquet(fh)
        except Exception as exc:  # polars raises several kinds
            raise ArtifactError(f"cannot read table {name!r} of {str(root)!r}: {exc}{_AGAIN}") from exc
    files = {}
    for name in manifest.get("files", []):
        try:
            with open(name, "rb", opener=opener) as fh:
                files[name] = fh.read()
        except OSError as exc:
            raise ArtifactError(f"cannot read file {name!r} of {str(root)!r}: {exc}{_AGAIN}") from exc
    return Artifact(manifest=manifest, arrays=arrays, tables=tables, path=root, files=files)
