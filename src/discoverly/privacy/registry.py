"""Mechanisms by name, for the CLI, the service and configuration files."""

from __future__ import annotations

import difflib
from typing import Any

from discoverly.errors import ConfigError
from discoverly.privacy.mechanism import WordMechanism
from discoverly.privacy.vocabulary import WordEmbeddings

__all__ = ["MECHANISMS", "create_mechanism"]

#: name -> (module, class)
MECHANISMS: dict[str, tuple[str, str]] = {
    "truncated-gumbel": ("discoverly.privacy.gumbel", "TruncatedGumbel"),
    "multivariate-laplace": ("discoverly.privacy.laplace", "MultivariateLaplace"),
    "mahalanobis": ("discoverly.privacy.laplace", "MultivariateLaplace"),
    "truncated-gumbel-public": ("discoverly.privacy.public_gumbel", "PublicTruncatedGumbel"),
}

_DEFAULTS: dict[str, dict[str, Any]] = {"mahalanobis": {"shape": "mahalanobis"}}


def create_mechanism(name: str, embeddings: WordEmbeddings, **options: Any) -> WordMechanism:
    """A mechanism by name (``"truncated-gumbel"``, ``"multivariate-laplace"``, ``"mahalanobis"``,
    ``"truncated-gumbel-public"``) over ``embeddings``, with keyword options passed to its class."""
    import importlib

    if name not in MECHANISMS:
        close = difflib.get_close_matches(name, list(MECHANISMS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown mechanism {name!r}{hint}; choose one of {', '.join(MECHANISMS)}")
    module, cls = MECHANISMS[name]
    kind = getattr(importlib.import_module(module), cls)
    try:
        mech: WordMechanism = kind(embeddings, **{**_DEFAULTS.get(name, {}), **options})
    except TypeError as exc:
        raise ConfigError(f"bad option for mechanism {name!r}: {exc}") from exc
    return mech
