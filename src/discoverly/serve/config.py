"""ServeConfig: everything the HTTP service needs to start, as one validated (pydantic) object.

Round-trips to JSON/TOML so a deployment is one file::

    discoverly serve --config serve.toml
    # or in Python
    create_app(ServeConfig(artifacts="models/", store="sqlite:///events.db"))
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from discoverly.errors import ConfigError

__all__ = ["ServeConfig", "ExperimentConfig", "ArmConfig", "EVENT_TYPES", "check_k", "load_config"]

#: the event types the service accepts
EVENT_TYPES = ("purchase", "view", "click", "rating")

#: endpoints an experiment can split
Endpoint = Literal["recommendations", "related"]


class ArmConfig(BaseModel):
    """One arm of an experiment: a model version and its share of the customers."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = Field(min_length=1, description="a model version under <artifacts>/models/")
    share: float = Field(gt=0, le=1)


class ExperimentConfig(BaseModel):
    """A named experiment: customers are split deterministically by a hash of (name, user)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    arms: list[ArmConfig] = Field(min_length=2)
    endpoint: Endpoint = "recommendations"
    active: bool = True
    #: an outcome is a purchase or click of a shown item within this many days of the exposure
    window_days: float = Field(default=7.0, gt=0)

    @model_validator(mode="after")
    def _shares(self) -> ExperimentConfig:
        total = sum(a.share for a in self.arms)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"the arm shares of experiment {self.name!r} add up to {total:g}; they must add up to 1")
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment {self.name!r} has duplicate arm names {names}")
        return self


class ServeConfig(BaseModel):
    """Configuration of ``discoverly serve`` (see ``docs/serve.md``)."""

    model_config = ConfigDict(extra="forbid")

    artifacts: Path = Field(description="the artifacts directory: models/<version>/ + CURRENT, or one model dir")
    store: str = Field(default="", description="sqlite:///path.db, a file path, or postgresql://…; "
                                                "default: <artifacts>/events.db")
    catalog: Path | None = Field(default=None, description="a catalogue file (CSV/Parquet) with item and title "
                                                          "columns; default: <artifacts>/catalog.parquet if present")
    catalog_item: str = "item"
    catalog_title: str = "title"
    admin_token: str | None = Field(default=None, description="bearer token for /admin; admin is off without it")
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    max_batch: int = Field(default=1000, gt=0, le=100_000)
    #: the admin bulk ingest (``POST /admin/events``) takes larger bodies and batches
    max_bulk_bytes: int = Field(default=64_000_000, gt=0)
    max_bulk_batch: int = Field(default=200_000, gt=0)
    #: seconds between checks of CURRENT by each worker (0: only POST /admin/reload reloads)
    reload_poll_seconds: float = Field(default=1.0, ge=0)
    max_k: int = Field(default=100, gt=0, le=10_000)
    default_k: int = Field(default=10, gt=0)
    #: events more than this many seconds in the future (by the server clock) are rejected
    max_future_seconds: int = Field(default=86_400, ge=0)
    #: event types that count as history for recommendations (others are stored only)
    history_types: list[str] = Field(default_factory=lambda: ["purchase"])
    cors_origins: list[str] = Field(default_factory=list)
    experiments: list[ExperimentConfig] = Field(default_factory=list)
    #: other capabilities' artifacts (search, graph, privacy): name -> artifact dir; each mounts one router
    capabilities: dict[str, Path] = Field(default_factory=dict)
    ui: bool = True

    @field_validator("history_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        bad = sorted(set(value) - set(EVENT_TYPES))
        if bad:
            raise ValueError(f"unknown event types {bad}; expected some of {list(EVENT_TYPES)}")
        return value

    @model_validator(mode="after")
    def _default_k(self) -> ServeConfig:
        if self.default_k > self.max_k:  # else every request without ?k= would be refused
            raise ValueError(f"default_k ({self.default_k}) must not be larger than max_k ({self.max_k})")
        return self

    @model_validator(mode="after")
    def _experiments(self) -> ServeConfig:
        names = [e.name for e in self.experiments]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment names must be unique, got {names}")
        for endpoint in ("recommendations", "related"):
            active = [e.name for e in self.experiments if e.active and e.endpoint == endpoint]
            if len(active) > 1:
                raise ValueError(f"at most one active experiment per endpoint; {endpoint!r} has {active}")
        return self

    @property
    def store_url(self) -> str:
        return self.store or f"sqlite:///{(self.artifacts / 'events.db').as_posix()}"


def check_k(k: int, max_k: int) -> int:
    """``k`` when it is within the service's ``max_k``; else a :class:`ConfigError` (a 422) that says what to ask."""
    if k > max_k:
        raise ConfigError(f"k={k} is larger than the limit of {max_k}; ask for at most k={max_k} (the service's "
                          "max_k setting)")
    return k


def load_config(path: str | Path | None = None, **overrides: object) -> ServeConfig:
    """A config from a JSON or TOML file (if given) with keyword overrides (``None`` values ignored)."""
    data: dict[str, object] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {str(p)!r} does not exist")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                              "save it as UTF-8") from exc
        try:
            data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot parse config file {str(p)!r}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config file {str(p)!r} holds a JSON {type(data).__name__}; expected an object of "
                              'settings such as {"artifacts": "artifacts/"}')
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ServeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid serve configuration: {_summary(exc)}") from exc


def _summary(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())
