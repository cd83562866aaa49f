"""Privatising text over HTTP: ``POST /privatize`` and ``GET /privatize/mechanisms``.

Mounted when the service config names a privacy folder or a word-vector file:
``capabilities: {privacy: path}``. ``path`` is either a word-vector file (``.npz`` with ``words`` and
``vectors``, or a GloVe/word2vec text file) served with the defaults, or a folder holding
``privacy.json``::

    {"embeddings": "vectors.npz", "mechanisms": ["truncated-gumbel", "multivariate-laplace"],
     "epsilons": [1.0, 3.0, 10.0], "default_mechanism": "truncated-gumbel", "oov": "random",
     "max_texts": 1000, "options": {"truncated-gumbel": {"flatten": 0.98}}}

Only the configured ε levels are accepted — a fixed menu of privacy levels is easier to govern,
and the truncated Gumbel tables of those levels are computed when the service starts, so no request
ever waits for a precomputation. A request with another ε, an unknown mechanism, no texts or a
non-string text is a 422 problem that says what is allowed.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from discoverly.errors import ConfigError
from discoverly.privacy.mechanism import WordMechanism
from discoverly.privacy.registry import MECHANISMS, create_mechanism
from discoverly.privacy.vocabulary import WordEmbeddings
from discoverly.serve.schemas import not_bool, unpaired_surrogate
from discoverly.serve.state import ServiceState

__all__ = ["create_router", "PrivacyServiceConfig"]

PROBLEMS: dict[int | str, dict[str, Any]] = {422: {"description": "invalid texts, mechanism or epsilon"}}


class PrivacyServiceConfig(BaseModel):
    """``privacy.json``: which vectors, mechanisms and ε levels the service offers."""

    model_config = ConfigDict(extra="forbid")

    embeddings: Path = Field(description="word-vector file, relative to the folder (.npz or GloVe/word2vec text)")
    scale: str = "raw"
    mechanisms: list[str] = Field(default_factory=lambda: ["truncated-gumbel", "multivariate-laplace"])
    epsilons: list[float] = Field(default_factory=lambda: [1.0, 3.0, 10.0], min_length=1)
    default_mechanism: str = "truncated-gumbel"
    oov: str = "random"
    max_texts: int = Field(default=1000, gt=0, le=100_000)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> PrivacyServiceConfig:
        if path.is_dir():
            file = path / "privacy.json"
            if not file.is_file():
                raise ConfigError(f"the privacy folder {str(path)!r} has no privacy.json; see docs/privacy.md")
            try:
                config = cls.model_validate(json.loads(file.read_text(encoding="utf-8")))
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{str(file)!r} is not a valid privacy configuration: {exc}") from exc
            if not config.embeddings.is_absolute():
                config.embeddings = path / config.embeddings
            return config
        return cls(embeddings=path)


class PrivatizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[str] = Field(min_length=1, description="the texts to privatise")
    epsilon: float = Field(gt=0, description="one of the offered privacy levels (GET /privatize/mechanisms)")
    mechanism: str | None = Field(default=None, description="default: the service's default mechanism")
    seed: int | None = Field(default=None, ge=0, description="for reproducible output; omit for fresh randomness")

    @field_validator("epsilon", "seed", mode="before")
    @classmethod
    def _not_bool(cls, value: Any) -> Any:
        return not_bool(value)

    @field_validator("texts")
    @classmethod
    def _unicode(cls, texts: list[str]) -> list[str]:
        for i, text in enumerate(texts):
            bad = unpaired_surrogate(text)
            if bad is not None:
                raise ValueError(f"texts[{i}] holds an unpaired surrogate ({bad!r}), which is not valid Unicode; "
                                 "send UTF-8 text")
        return texts


def _load_embeddings(config: PrivacyServiceConfig) -> WordEmbeddings:
    path = Path(config.embeddings)
    emb = WordEmbeddings.from_npz(path) if path.suffix.lower() == ".npz" else WordEmbeddings.from_text(path)
    try:
        return emb.scaled(float(config.scale))
    except ValueError:
        return emb.scaled(config.scale)


def create_router(path: Path, state: ServiceState) -> APIRouter:
    """Routes over the privacy configuration at ``path``; mechanisms and tables are built now."""
    config = PrivacyServiceConfig.load(Path(path))
    unknown = sorted(set(config.mechanisms) - set(MECHANISMS))
    if unknown or config.default_mechanism not in config.mechanisms:
        raise ConfigError(f"privacy mechanisms must be among {', '.join(MECHANISMS)} and include the default "
                          f"{config.default_mechanism!r}; got {config.mechanisms}")
    emb = _load_embeddings(config)
    epsilons = sorted({float(e) for e in config.epsilons})
    mechanisms: dict[str, WordMechanism] = {}
    for name in config.mechanisms:
        mech = create_mechanism(name, emb, oov=config.oov, **config.options.get(name, {}))
        mech.prepare(epsilons if name == "truncated-gumbel" else epsilons[0])
        mechanisms[name] = mech
    lock = threading.Lock()  # mechanisms keep per-ε caches; one request at a time
    router = APIRouter(tags=["privacy"])

    @router.get("/privatize/mechanisms", summary="The privacy mechanisms and ε levels offered")
    def offered() -> dict[str, Any]:
        return {"mechanisms": {name: m.describe() for name, m in mechanisms.items()},
                "default_mechanism": config.default_mechanism, "epsilons": epsilons,
                "max_texts": config.max_texts, "scale": emb.scale, "median_nn_distance_hint":
                "exp(epsilon * d) bounds the ratio of output probabilities of two words at distance d"}

    @router.post("/privatize", responses=PROBLEMS, summary="Privatise texts with metric differential privacy")
    def privatize(request: PrivatizeRequest) -> dict[str, Any]:
        """Every word is replaced by a draw of the mechanism at ``epsilon``; out-of-vocabulary words
        follow the service's policy. Returns the texts, the guarantee in words and the counts."""
        name = request.mechanism or config.default_mechanism
        if name not in mechanisms:
            raise ConfigError(f"mechanism {name!r} is not offered; choose one of {', '.join(mechanisms)}")
        eps = float(request.epsilon)
        if not any(abs(eps - e) <= 1e-12 * max(1.0, e) for e in epsilons):
            raise ConfigError(f"epsilon={eps:g} is not an offered privacy level; choose one of "
                              f"{', '.join(f'{e:g}' for e in epsilons)}")
        eps = min(epsilons, key=lambda e: abs(e - eps))
        if len(request.texts) > config.max_texts:
            raise ConfigError(f"{len(request.texts)} texts in one request; the limit is {config.max_texts}")
        mech = mechanisms[name]
        with lock:
            run = mech.run(request.texts, eps, rng=request.seed)
        return {"texts": run.texts, "mechanism": name, "epsilon": eps, "guarantee": mech.guarantee(eps),
                "statistics": {"tokens": run.n_tokens, "in_vocabulary": run.n_in_vocabulary,
                               "unchanged": run.unchanged, "out_of_vocabulary": dict(run.oov)}}

    return router
