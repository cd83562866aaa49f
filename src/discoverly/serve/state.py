"""The running service's state: config, event store, and the models it serves, swapped atomically.

Requests read :attr:`ServiceState.snapshot` once and use that object to the end, so a reload (which
builds a complete new :class:`Snapshot` first and then replaces the reference in one assignment)
never fails or mixes versions in a request already running. Every worker also watches the
``CURRENT`` file, so ``POST /admin/reload`` on one worker (or ``discoverly train``) reaches all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discoverly.artifacts import MANIFEST
from discoverly.data.catalog import Catalog, read_catalog
from discoverly.errors import ArtifactError, DiscoverlyError
from discoverly.recommend.base import BaseRecommender
from discoverly.serve.config import ExperimentConfig, ServeConfig
from discoverly.serve.metrics import Metrics
from discoverly.serve.store import EventStore, open_store
from discoverly.serve.versions import ModelStore

__all__ = ["ServiceState", "Snapshot", "Served"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    """One loaded model version."""

    version: str
    model: BaseRecommender
    manifest: dict[str, Any]

    @property
    def supports_related(self) -> bool:
        return self.model.computes_related()


@dataclass(frozen=True)
class Snapshot:
    """What the service answers with: the current version, experiment arms' versions, titles."""

    current: Served
    versions: dict[str, Served]
    catalog: Catalog | None
    loaded_at: float = field(default_factory=time.time)

    #: item id (as a string) -> title, built once from the catalogue
    title_of: dict[str, str] = field(default_factory=dict)

    def titles(self, items: list[Any]) -> list[str | None]:
        get = self.title_of.get
        return [get(str(i)) for i in items]


class ServiceState:
    """Holds everything a request needs; created by :func:`discoverly.serve.create_app`."""

    def __init__(self, config: ServeConfig, *, clock: Callable[[], float] = time.time,
                 store: EventStore | None = None) -> None:
        self.config = config
        self.clock = clock
        self.metrics = Metrics()
        self.models = ModelStore(config.artifacts)
        self._reload_lock = threading.Lock()
        self._marker = self.models.marker_state()
        self.snapshot = self._build(self.models.current(), None)
        # the store is opened once the models load: a folder that is no artifacts directory gets no events.db
        self.store = store if store is not None else open_store(config.store_url)
        self.metrics.set_model(self.snapshot.current.version)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        #: experiment analyses by (name, n_boot): (time.monotonic() when made, result or the error it ended
        #: in), and the lock of each one's making; see routers.experiments
        self.analyses: dict[tuple[str, int], tuple[float, Any]] = {}
        self._analysis_locks: dict[tuple[str, int], threading.Lock] = {}
        self._analysis_locks_lock = threading.Lock()

    def analysis_lock(self, key: tuple[str, int]) -> threading.Lock:
        """The lock held while experiment analysis ``key`` is made (one per analysis: making one does
        not hold up requests for another)."""
        with self._analysis_locks_lock:
            return self._analysis_locks.setdefault(key, threading.Lock())

    # -- loading ------------------------------------------------------------------------------
    def _build(self, version: str, previous: Snapshot | None) -> Snapshot:
        wanted = [version] + [a.version for e in self.config.experiments if e.active for a in e.arms]
        loaded: dict[str, Served] = {}
        for v in dict.fromkeys(wanted):
            if previous is not None and v in previous.versions:  # version dirs never change: reuse
                loaded[v] = previous.versions[v]
                continue
            model = self.models.load(v)
            loaded[v] = Served(v, model, self.models.manifest(v))
            log.info("loaded model version %s (%s)", v, type(model).__name__)
        if previous is not None:
            catalog, titles = previous.catalog, previous.title_of
        else:
            catalog = self._catalog()
            titles = _titles(catalog)
        return Snapshot(loaded[version], loaded, catalog, title_of=titles)

    def _catalog(self) -> Catalog | None:
        path = self.config.catalog
        if path is None:
            default = Path(self.config.artifacts) / "catalog.parquet"
            if not default.is_file():
                return None
            path = default
        if not Path(path).is_file():
            raise ArtifactError(f"the catalogue file {str(path)!r} does not exist")
        return read_catalog(path, item=self.config.catalog_item, title=self.config.catalog_title,
                            hint=f"The service reads the columns named by the settings catalog_item (now "
                                 f"{self.config.catalog_item!r}) and catalog_title (now "
                                 f"{self.config.catalog_title!r}); set them in the --config file.")

    def reload(self, version: str | None = None) -> tuple[str, str]:
        """Load ``version`` (or what ``CURRENT`` names) and swap it in; returns (previous, new).
        On any error the old snapshot stays in place and the error propagates."""
        with self._reload_lock:
            if version is not None:
                self.models.path(version)  # fails early on unknown versions
            target = version or self.models.current()
            old = self.snapshot
            folder = self.models.models_dir / target
            if version is None and not self.models.single and not (folder / MANIFEST).is_file():
                # the served version is still in memory and would be "reloaded" from there: a 200 that
                # hid a deleted folder (a restart would not start)
                known = ", ".join(self.models.versions()) or "none"
                raise ArtifactError(f"CURRENT names model version {target!r}, but its folder {str(folder)!r} is "
                                    f"missing or has no {MANIFEST} (versions: {known}); "
                                    f"still serving {old.current.version!r}. Point CURRENT at an existing version: "
                                    'POST /admin/reload with {"version": "..."}')
            new = self._build(target, old)
            # CURRENT names the version only once it has loaded: a broken one must not become what
            # the other workers, a restart and `train --from-store` pick up
            if version is not None and not self.models.single:
                self.models.set_current(version)
            self.snapshot = new  # the atomic swap: one reference assignment
            self._marker = self.models.marker_state()
            self.metrics.set_model(target)
            self.metrics.inc("discoverly_model_reloads_total")
            log.info("serving model version %s (was %s)", target, old.current.version)
            return old.current.version, target

    def active_experiment(self, endpoint: str) -> ExperimentConfig | None:
        for e in self.config.experiments:
            if e.active and e.endpoint == endpoint:
                return e
        return None

    # -- watching CURRENT ---------------------------------------------------------------------
    def start_watching(self, interval: float = 1.0) -> None:
        if self.models.single or interval <= 0 or self._watcher is not None:
            return
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, args=(interval,), name="discoverly-reload",
                                         daemon=True)
        self._watcher.start()

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            state = self.models.marker_state()
            if state != self._marker and state[1] and state[1] != self.snapshot.current.version:
                try:
                    self.reload()
                except DiscoverlyError as exc:
                    log.error("could not load model version %r named by CURRENT: %s", state[1], exc)
                    self._marker = state
            else:
                self._marker = state

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
        self.store.close()


def _titles(catalog: Catalog | None) -> dict[str, str]:
    if catalog is None or "title" not in catalog.columns:
        return {}
    table = catalog.table.select("item", "title").drop_nulls()
    return {str(i): str(t) for i, t in zip(table["item"].to_list(), table["title"].to_list(), strict=True)}
