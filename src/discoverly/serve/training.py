"""Retraining from the event store into a new model version (``discoverly train --from-store``).

Training reads the store (and optionally a base log), fits a model, and publishes it with
:meth:`~discoverly.serve.versions.ModelStore.publish` (written to a temporary directory, renamed,
then ``CURRENT`` is switched atomically). The running service never trains: its workers notice
``CURRENT`` and swap the new version in between requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from discoverly.data.read import read_interactions
from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.recommend.registry import create
from discoverly.serve.config import EVENT_TYPES
from discoverly.serve.store import open_store
from discoverly.serve.versions import ModelStore

__all__ = ["TrainResult", "train_from_store"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    version: str
    model: str
    events: int
    seconds: float


def train_from_store(artifacts: str | Path, *, store: str | None = None, model: str | None = None,
                     types: Sequence[str] = ("purchase",), interactions: str | Path | None = None,
                     columns: dict[str, str] | None = None, version: str | None = None, activate: bool = True,
                     use_store: bool = True) -> TrainResult:
    """Fit ``model`` on the stored events (plus ``interactions`` if given) and publish a new version."""
    t0 = time.perf_counter()
    if Path(artifacts).exists() and not Path(artifacts).is_dir():
        raise ArtifactError(f"--artifacts {str(artifacts)!r} is a file; give the artifacts directory (models/ and "
                            "CURRENT go there, created when missing)")
    Path(artifacts).mkdir(parents=True, exist_ok=True)
    versions = ModelStore(artifacts)
    bad = sorted(set(types) - set(EVENT_TYPES))
    if bad:
        raise ConfigError(f"unknown event types {bad}; expected some of {list(EVENT_TYPES)}")
    name, settings = _model_spec(versions, model)
    frames = []
    if use_store:
        url = store or f"sqlite:///{(Path(artifacts) / 'events.db').as_posix()}"
        with open_store(url) as st:
            ev = st.events(types=list(types))
        frames.append(ev.select("user", "item", "timestamp", "quantity"))
    if interactions is not None:
        cols = columns or {}
        base = read_interactions(interactions, user=cols.get("user", "user"), item=cols.get("item", "item"),
                                 time=cols.get("time", "timestamp"))
        frames.append(base.to_polars().with_columns(
            pl.col("user").cast(pl.String), pl.col("item").cast(pl.String),
            (pl.col("timestamp").dt.epoch("s")).alias("timestamp"), pl.col("quantity").cast(pl.Float64)))
    log_frame = pl.concat(frames) if frames else pl.DataFrame()
    if log_frame.height == 0:
        raise DataError("there are no events to train on: the store has none of the types "
                        f"{list(types)} and no --interactions file was given")
    log_frame = log_frame.with_columns(pl.col("user").cast(pl.String), pl.col("item").cast(pl.String))
    data = read_interactions(log_frame, user="user", item="item", time="timestamp", quantity="quantity")
    fitted = create(name, **settings).fit(data)
    published = versions.publish(fitted, version, activate=activate)
    log.info("published %s: %s on %s", published, name, data)
    return TrainResult(published, name, len(data), time.perf_counter() - t0)


def _model_spec(versions: ModelStore, model: str | None) -> tuple[str, dict[str, object]]:
    if model is not None:
        return model, {}
    try:
        current = versions.current()
    except ArtifactError as exc:  # no versions yet
        raise ConfigError("there is no current model version to copy the model from; pass --model NAME "
                          "(e.g. corrected or bestsellers)") from exc
    mf = versions.manifest(current)
    name = str(mf.get("model", ""))
    cfg = mf.get("config", {})
    return name, dict(cfg) if isinstance(cfg, dict) else {}
