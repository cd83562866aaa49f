"""Model versions on disk: ``<artifacts>/models/<version>/`` plus a ``CURRENT`` file naming the one served.

::

    artifacts/
      CURRENT              "v0002"  (written atomically; every worker watches it)
      models/v0001/        a recommender artifact (manifest.json, arrays.npz, *.parquet)
      models/v0002/
      catalog.parquet      optional: item, title, … for titles in answers and the web UI
      events.db            the default SQLite event store

A version directory is never changed once written, so a loaded model can be shared freely. An
``artifacts`` path that is itself one model directory is served as the single version named after
the directory (handy for ``discoverly fit … && discoverly serve --artifacts model/``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path

from discoverly.artifacts import MANIFEST
from discoverly.errors import ArtifactError, ConfigError, UnknownIdError
from discoverly.recommend.base import BaseRecommender

__all__ = ["ModelStore", "VERSION_PATTERN"]

log = logging.getLogger(__name__)

VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ModelStore:
    """The versions in an artifacts directory (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise ArtifactError(f"the artifacts path {str(self.root)!r} is a file; give the artifacts directory "
                                "(models/<version>/ and CURRENT) or a model directory written by `discoverly fit`")
        if not self.root.is_dir():
            raise ArtifactError(f"the artifacts directory {str(self.root)!r} does not exist; create it with "
                                "`discoverly fit … --out DIR` or `discoverly train --from-store --artifacts DIR`")
        self.single = (self.root / MANIFEST).is_file()

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def versions(self) -> list[str]:
        """The versions on disk, oldest first (by the creation time in their manifests)."""
        if self.single:
            return [self.root.name]
        if not self.models_dir.is_dir():
            return []
        found = []
        for d in self.models_dir.iterdir():
            if d.is_dir() and not d.name.startswith(".") and (d / MANIFEST).is_file():
                found.append((_created(d), d.name))
        return [name for _, name in sorted(found)]

    def path(self, version: str) -> Path:
        if self.single:
            if version != self.root.name:
                raise UnknownIdError(f"unknown model version {version!r}; this artifacts directory holds one model, "
                                    f"{self.root.name!r}")
            return self.root
        if not VERSION_PATTERN.match(version):
            raise ConfigError(f"invalid model version name {version!r}: use letters, digits, '.', '_' or '-'")
        p = self.models_dir / version
        if not (p / MANIFEST).is_file():
            known = ", ".join(self.versions()) or "none"
            raise UnknownIdError(f"unknown model version {version!r} in {str(self.root)!r} (versions: {known})")
        return p

    def current(self) -> str:
        """The served version: the one ``CURRENT`` names, else the newest."""
        if self.single:
            return self.root.name
        marker = self.root / "CURRENT"
        if marker.is_file():
            name = marker.read_text(encoding="utf-8").strip()
            if name:
                return name
        versions = self.versions()
        if not versions:
            raise ArtifactError(f"{str(self.root)!r} holds no model versions: expected models/<version>/manifest.json. "
                                "Train one with `discoverly train --from-store` or `discoverly fit`")
        return versions[-1]

    def marker_state(self) -> tuple[float, str]:
        """What changes when CURRENT is rewritten (mtime and content), for workers that watch it."""
        marker = self.root / "CURRENT"
        try:
            return marker.stat().st_mtime, marker.read_text(encoding="utf-8").strip()
        except OSError:
            return 0.0, ""

    def set_current(self, version: str) -> None:
        """Point ``CURRENT`` at an existing version (atomic rename)."""
        if self.single:
            raise ConfigError("this artifacts directory is a single model; there is no other version to switch to")
        self.path(version)
        fd, tmp = tempfile.mkstemp(prefix=".CURRENT.", dir=self.root)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / "CURRENT")
        log.info("CURRENT -> %s", version)

    def next_version(self) -> str:
        """``v0001``, ``v0002``, … after the highest numbered version."""
        numbers = [int(m.group(1)) for v in self.versions() if (m := re.match(r"^v(\d+)$", v))]
        return f"v{(max(numbers) if numbers else 0) + 1:04d}"

    def publish(self, model: BaseRecommender, version: str | None = None, *, activate: bool = True) -> str:
        """Save a fitted model as a new version (atomically), and make it current if ``activate``."""
        if self.single:
            raise ConfigError(f"{str(self.root)!r} is a single model directory; publish into an artifacts "
                              "directory with a models/ folder instead")
        version = version or self.next_version()
        if not VERSION_PATTERN.match(version):
            raise ConfigError(f"invalid model version name {version!r}: use letters, digits, '.', '_' or '-'")
        target = self.models_dir / version
        if target.exists():
            raise ConfigError(f"model version {version!r} already exists in {str(self.root)!r}; versions are "
                              "never overwritten, choose another name")
        model.save(target)
        if activate:
            self.set_current(version)
        return version

    def load(self, version: str) -> BaseRecommender:
        return BaseRecommender.load(self.path(version))

    def manifest(self, version: str) -> dict[str, object]:
        return json.loads((self.path(version) / MANIFEST).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _created(path: Path) -> str:
    try:
        return str(json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("created", ""))
    except (OSError, json.JSONDecodeError):
        return ""
