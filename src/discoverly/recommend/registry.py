"""Recommenders by name: the names the CLI and the service accept, each a class plus settings.

Classes are imported only when a model is created, so listing names never imports torch.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from discoverly.dependencies import require
from discoverly.errors import ConfigError

__all__ = ["MODELS", "check_requirements", "create", "model_names", "model_class", "register"]

#: name -> (module, class, default keyword arguments, one-line description)
MODELS: dict[str, tuple[str, str, dict[str, Any], str]] = {}
#: name -> the optional packages its fit needs (checked by :func:`create`, before anything is fitted)
_REQUIRES: dict[str, tuple[str, ...]] = {}


def register(name: str, module: str, cls: str, description: str, *, requires: tuple[str, ...] = (),
             **defaults: Any) -> None:
    """Add a model name (extensions may register their own); ``requires`` names the optional
    packages it needs, so that a missing one is named when the model is created, not when fitted."""
    MODELS[name] = (module, cls, defaults, description)
    _REQUIRES[name] = (requires,) if isinstance(requires, str) else tuple(requires)


def model_names() -> list[str]:
    return list(MODELS)


def model_class(path_or_name: str) -> Any:
    """The class for a registry name or a ``module.Class`` path (as written in manifests)."""
    if path_or_name in MODELS:
        module, cls, _, _ = MODELS[path_or_name]
    else:
        module, _, cls = path_or_name.rpartition(".")
        if not module.startswith("discoverly."):
            raise ConfigError(f"refusing to load model class {path_or_name!r}: not a discoverly model")
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        if isinstance(exc, ImportError) and type(exc).__name__ == "MissingDependencyError":
            raise
        raise ConfigError(f"unknown model class {path_or_name!r}") from exc


def check_requirements(name: str) -> None:
    """A :class:`~discoverly.errors.MissingDependencyError` naming the extra to install when a
    package the registered model ``name`` needs is missing (models import them lazily, at fit: this
    says it before any work)."""
    for package in _REQUIRES.get(name, ()):
        if importlib.util.find_spec(package) is None:
            require(package, purpose=f"the {name!r} model")


def create(name: str, **overrides: Any) -> Any:
    """A new, unfitted model by registry name, with settings that replace its defaults; fit it with
    ``fit(interactions)``. Unknown names and settings are a :class:`ConfigError`.

    >>> create("bestsellers", window_days=7.0)
    RecentBestsellers(window_days=7.0)
    """
    if not isinstance(name, str):
        raise ConfigError(f"the model name must be a string such as 'corrected', got {name!r}; "
                          f"known models: {', '.join(MODELS)}")
    if name not in MODELS:
        import difflib
        close = difflib.get_close_matches(name, MODELS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(MODELS)}.{hint}")
    module, cls, defaults, _ = MODELS[name]
    check_requirements(name)
    try:
        model = getattr(importlib.import_module(module), cls)(**{**defaults, **overrides})
    except TypeError as exc:  # a setting it does not have, or a value of the wrong type (neighbours="50")
        if "unexpected keyword" in str(exc):
            raise ConfigError(_unknown_settings(name, getattr(importlib.import_module(module), cls), overrides,
                                                exc)) from exc
        values = ", ".join(f"{key}={value!r}" for key, value in overrides.items())
        raise ConfigError(f"model {name!r}: a setting has the wrong type ({values}): {exc}") from exc
    model.name = name
    return model


def _unknown_settings(name: str, model_class: type, overrides: dict[str, Any], exc: TypeError) -> str:
    """The settings of ``overrides`` the model does not have (not all of them), the ones it has, and the
    closest match of each unknown one ("neighbors": "Did you mean neighbours?")."""
    import difflib
    import inspect

    params = [p.name for p in inspect.signature(model_class).parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unknown = sorted(key for key in overrides if key not in params)
    if not unknown:  # the class forwards its settings elsewhere: say what Python said
        return f"model {name!r} does not accept {sorted(overrides)}: {exc}"
    close = [m for key in unknown for m in difflib.get_close_matches(key, params, n=1)]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    has = f"its settings are: {', '.join(sorted(params))}." if params else "it has no settings."
    return f"model {name!r} does not accept {unknown}; {has}{hint}"


# The built-in models. Other issues add theirs here (one line each).
register("popularity", "discoverly.recommend.popularity", "Popularity", "all-time distinct buyers")
register("bestsellers", "discoverly.recommend.popularity", "RecentBestsellers",
         "distinct buyers in the 14 days before the reference time")
register("buy-again", "discoverly.recommend.buy_again", "BuyAgain",
         "the customer's own past items by recency, frequency and how due a repurchase is")
register("cosine", "discoverly.recommend.item_to_item", "ItemToItem",
         "item-to-item, cosine on binary customer vectors", score="cosine", min_count=3, half_life_days=7.0)
register("naive", "discoverly.recommend.item_to_item", "ItemToItem",
         "item-to-item, P(B|A) - P(B)", score="naive", min_count=2, neighbours=100, half_life_days=7.0,
         normalize=True)
register("corrected", "discoverly.recommend.item_to_item", "ItemToItem",
         "item-to-item, (N_XY - E_XY)/sqrt(E_XY) that discounts heavy buyers", score="corrected")
register("implicit-cosine", "discoverly.recommend.peers", "ImplicitNeighbours",
         "peer: implicit.nearest_neighbours.CosineRecommender", requires=("implicit",), kind="cosine")
register("implicit-bm25", "discoverly.recommend.peers", "ImplicitNeighbours",
         "peer: implicit.nearest_neighbours.BM25Recommender", requires=("implicit",), kind="bm25")
register("autoencoder", "discoverly.recommend.autoencoder", "Autoencoder",
         "time-aware autoencoder: history before a cutoff -> the next 14 days (torch)",
         requires=("torch",), mode="time-aware")
register("autoencoder-reconstruct", "discoverly.recommend.autoencoder", "Autoencoder",
         "the same autoencoder trained to reconstruct its input (the seed's first attempt)",
         requires=("torch",), mode="reconstruct", trend=False)
register("ease", "discoverly.recommend.ease", "EASE", "EASE, closed-form item-item regression (Steck 2019)")
register("als", "discoverly.recommend.peers", "ImplicitALS", "peer: implicit's alternating least squares",
         requires=("implicit",))
