"""Downloading a public data set archive: streamed, checksum-verified, extracted atomically.

Only used when a data set's files are absent and the caller allows it (``download=True``, CLI
``--download``). Nothing is left behind on failure: the archive is written to a temporary file,
verified, extracted into a temporary folder, and only then renamed into place.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from discoverly.artifacts import staged, staged_file
from discoverly.data.datasets.dataset import Download
from discoverly.errors import ConfigError, DataError, DatasetNotFoundError

__all__ = ["download_file", "fetch", "file_checksum"]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16
_ALGORITHMS = ("md5", "sha256", "sha1")


def _parse_checksum(checksum: str) -> tuple[str, str]:
    algo, sep, digest = checksum.partition(":")
    algo = algo.lower()  # 'SHA256:…' as some release pages write it, like upper-case hex
    if not sep or algo not in _ALGORITHMS or not digest:
        raise ConfigError(f"a checksum must look like 'sha256:<hex>' or 'md5:<hex>', got {checksum!r}")
    return algo, digest.lower()


def file_checksum(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """The ``algorithm:hexdigest`` of a file, in the form :class:`Download` expects."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return f"{algorithm}:{h.hexdigest()}"


def download_file(url: str, dest: str | os.PathLike[str], *, checksum: str, progress: bool = False,
                  timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` and verify ``checksum``; ``dest`` appears only when it matches.

    Raises :class:`DatasetNotFoundError` when the address cannot be reached and
    :class:`DataError` when the content does not match the checksum (no file is left behind).
    """
    algo, expected = _parse_checksum(checksum)
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"only http(s) addresses can be downloaded, got {url!r}")
    target = Path(dest)
    h = hashlib.new(algo)
    with staged_file(target) as tmp:  # a download killed outright leaves nothing the next one keeps
        with open(tmp, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)  # http(s) only, checked above
            except (urllib.error.URLError, OSError, ValueError) as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    exc.close()  # an HTTP error response (404, ...) holds the connection open
                raise DatasetNotFoundError(
                    f"cannot download {url}: {exc}. Check the network connection, or download the file by hand "
                    "and point DISCOVERLY_DATA_DIR at its folder") from exc
            with response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with _Progress(progress, total, f"downloading {PurePosixPath(url).name}") as bar:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        h.update(chunk)
                        bar.advance(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        actual = h.hexdigest()
        if actual != expected:
            raise DataError(
                f"the download of {url} has {algo} {actual}, expected {expected}: the file is corrupt or changed "
                "upstream, so it was discarded. Retry; if it persists, download it by hand and check it")
    logger.info("downloaded %s to %s (%s verified)", url, target, algo)
    return target


def _safe_members(archive: zipfile.ZipFile, member_root: str) -> list[zipfile.ZipInfo]:
    members = []
    for info in archive.infolist():
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            raise DataError(f"the archive holds an unsafe path {info.filename!r}; refusing to extract it")
        if member_root and (not name.parts or name.parts[0] != member_root):
            continue
        members.append(info)
    return members


def fetch(spec: Download, cache_dir: str | os.PathLike[str], *, progress: bool = False,
          timeout: float = 60.0) -> Path:
    """Download and extract ``spec`` into ``cache_dir/spec.target``; returns that folder.

    The folder appears complete or not at all (extraction happens in a temporary folder that is
    renamed into place).
    """
    cache = Path(cache_dir)
    final = cache / spec.target
    if final.is_dir():
        return final
    # staged next to the target's first folder (movielens/ of movielens/ml-100k): a failed download leaves
    # no empty folder, and one killed outright leaves nothing the next download keeps
    with staged(cache / Path(spec.target).parts[0]) as work:
        archive_path = download_file(spec.url, work / "archive.zip", checksum=spec.checksum,
                                     progress=progress, timeout=timeout)
        try:
            with zipfile.ZipFile(archive_path) as archive:
                members = _safe_members(archive, spec.member_root)
                if not members:
                    raise DataError(f"the archive from {spec.url} has no folder {spec.member_root!r}")
                archive.extractall(work / "x", members=members)
        except zipfile.BadZipFile as exc:
            raise DataError(f"the download of {spec.url} is not a valid zip archive: {exc}") from exc
        extracted = work / "x" / spec.member_root if spec.member_root else work / "x"
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(extracted, final)
        except OSError:
            if not final.is_dir():  # another process may have finished first; that is fine
                raise
    logger.info("extracted %s into %s", spec.url, final)
    return final


class _Progress:
    """A rich progress bar over bytes, or nothing when ``enabled`` is false."""

    def __init__(self, enabled: bool, total: int | None, description: str) -> None:
        self._bar = None
        self._task = None
        if enabled:
            from rich.console import Console
            from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

            self._bar = Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                                 transient=True, console=Console(stderr=True))
            self._task = self._bar.add_task(description, total=total)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, n: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)
