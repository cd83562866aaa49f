"""evaluate(): fit each model at each cutoff and measure it on the protocol's test users.

>>> from discoverly.data.synthetic import synthetic_store            # doctest: +SKIP
>>> store = synthetic_store(rng=0)                                   # doctest: +SKIP
>>> ev = evaluate(store.interactions, ["popularity", "bestsellers", "corrected"],
...               cutoffs=["2023-06-01"])                            # doctest: +SKIP
>>> print(ev.metric("corrected", "HitRate@6"))                       # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from discoverly._checks import is_whole
from discoverly.data.interactions import Interactions, TimeLike, to_epoch_seconds
from discoverly.errors import ConfigError
from discoverly.evaluate.buckets import activity_buckets, bucket_hit_rates, popularity_buckets
from discoverly.evaluate.evaluation import Cell, Evaluation, check_models
from discoverly.evaluate.metrics import coverage_bootstrap, per_user_metrics
from discoverly.evaluate.protocol import Split, Variant, check_cutoff, parse_variants, split
from discoverly.evaluate.stats import bootstrap_ci, check_n_boot
from discoverly.recommend.base import BaseRecommender, check_interactions

__all__ = ["ModelSpec", "evaluate", "recommend_top", "resolve_models"]

log = logging.getLogger(__name__)

#: a model to evaluate: a registry name, an (unfitted or fitted) model whose class and config are
#: reused for a fresh copy at every cutoff, or a factory returning a new unfitted model
ModelSpec = str | BaseRecommender | Callable[[], BaseRecommender]


def _factory(spec: ModelSpec) -> Callable[[], BaseRecommender]:
    if isinstance(spec, str):
        from discoverly.recommend.registry import create

        create(spec)  # fail early (unknown name, missing extra) before anything is fitted
        return lambda: create(spec)
    if isinstance(spec, BaseRecommender):
        def clone() -> BaseRecommender:
            model = type(spec)(**spec.config())
            model.name = spec.name  # type: ignore[misc]
            return model
        return clone
    if callable(spec):
        return spec
    raise ConfigError(f"cannot evaluate {spec!r}: expected a model name, a model, or a function returning one")


def resolve_models(models: Sequence[ModelSpec] | Mapping[str, ModelSpec]
                   ) -> list[tuple[str, Callable[[], BaseRecommender]]]:
    """``[(display name, factory)]`` for a list of specs or a ``{name: spec}`` mapping."""
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    items: list[tuple[str | None, ModelSpec]] = (
        list(models.items()) if isinstance(models, Mapping) else [(None, m) for m in models])  # type: ignore[misc]
    if not items:
        raise ConfigError("no models to evaluate; give at least one, e.g. ['popularity', 'corrected']")
    out = []
    for name, spec in items:
        if name is None:
            if isinstance(spec, str):
                name = spec
            elif isinstance(spec, BaseRecommender):
                name = spec.name
            else:
                name = getattr(spec, "__name__", None) or repr(spec)
        out.append((str(name), _factory(spec)))
    check_models([n for n, _ in out])
    return out


def recommend_top(model: BaseRecommender, split: Split, k: int, *, fill: bool = True) -> np.ndarray:
    """The top-``k`` item indices of a fitted model for the split's test users, as served: seen
    items excluded in the new-items variant, short lists completed with recent bestsellers when
    ``fill`` (what the product would show)."""
    if fill:
        recs = model.recommend(split.users.tolist(), k, exclude_seen=split.exclude_seen, history=split.history)
        return recs.indices
    return model.recommend_indices(split.history, k, exclude_seen=split.exclude_seen)[0]


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda _desc: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # on stderr, so stdout stays clean for --json output
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("evaluating", total=total)

        def advance(desc: str) -> None:
            bar.update(task, description=desc)
            if desc.startswith("done"):
                bar.advance(task)
        yield advance


def evaluate(
    interactions: Interactions,
    models: Sequence[ModelSpec] | Mapping[str, ModelSpec],
    cutoffs: Sequence[TimeLike] | TimeLike,
    *,
    window_days: float = 14,
    variants: str | Sequence[str] = "both",
    k: int | Sequence[int] = (6, 10),
    fill: bool = True,
    n_buckets: int = 4,
    rng: int = 0,
    n_boot: int = 2000,
    dataset: str | None = None,
    notes: Mapping[str, Any] | None = None,
    keep_models: bool = False,
    progress: bool = False,
) -> Evaluation:
    """Run the time-based protocol (see :mod:`discoverly.evaluate.protocol`).

    For every cutoff each model is fitted on the events before it, then scored on the test users
    of every variant (``"new-items"``, ``"any-item"`` or ``"both"``; the first is the primary one).
    ``k`` lists the list lengths measured (the first one is the headline: ``HitRate@6``).
    Intervals are 95% bootstrap intervals over users, seeded by ``rng`` (an int, so results are
    reproducible). With ``keep_models`` the models fitted at the first cutoff are kept in
    ``evaluation.fitted`` (not serialised).
    """
    check_interactions(interactions, "evaluate()")
    cut_list: list[TimeLike] = list(cutoffs) if isinstance(cutoffs, (list, tuple)) else [cutoffs]  # type: ignore[list-item]
    if not cut_list:
        raise ConfigError("no cutoff given; pass at least one date, e.g. cutoffs=['2011-11-01']")
    seconds = [to_epoch_seconds(c) for c in cut_list]  # every cutoff is read before any model is fitted
    for i, t in enumerate(seconds):
        if t in seconds[:i]:
            raise ConfigError(f"the cutoff {Split.label_of(t)} is given twice")
    items = [k] if isinstance(k, (int, np.integer)) else list(k) if isinstance(k, (list, tuple, range, np.ndarray)) \
        else None
    if items is None or not all(is_whole(x) for x in items):
        raise ConfigError(f"k must be a list length or a list of them, e.g. k=6 or k=[6, 10]; got {k!r}")
    ks = [int(x) for x in items]
    if not ks or min(ks) < 1:
        raise ConfigError(f"k must be one or more positive list lengths, got {k!r}")
    ks = list(dict.fromkeys(ks))
    var = parse_variants(variants if isinstance(variants, str) else list(variants))
    specs = resolve_models(models)
    if not is_whole(rng):  # (True was the seed 1)
        raise ConfigError("rng must be an integer seed here, so every interval is reproducible")
    check_n_boot(n_boot)  # before any model is fitted
    for c in cut_list:  # window_days, and a later cutoff with nothing before or after it: now, not after the first fits
        check_cutoff(interactions, c, window_days=window_days)
    top_k = max(ks)

    cells: dict[tuple[str, str, Variant], Cell] = {}
    fit_seconds: dict[tuple[str, str], float] = {}
    split_info: dict[tuple[str, Variant], dict[str, object]] = {}
    labels: list[str] = []
    fitted: dict[str, Any] = {}
    model_config: dict[str, dict[str, Any]] = {}
    with _progress_bar(progress, len(cut_list) * len(specs)) as advance:
        for ci, cutoff in enumerate(cut_list):
            splits = {v: split(interactions, cutoff, window_days=window_days, variant=v, warn=v == var[0])
                      for v in var}
            first = splits[var[0]]
            labels.append(first.label)
            for s in splits.values():
                split_info[(s.label, s.variant)] = s.describe()
            groupings = {v: (activity_buckets(s, n_buckets), popularity_buckets(s, n_buckets))
                         for v, s in splits.items()}
            log.info("cutoff %s: %s training events; test users %s", first.label, f"{len(first.train):,}",
                     {v: s.n_users for v, s in splits.items()})
            for name, make in specs:
                advance(f"{first.label} · fitting {name}")
                model = make()
                model.fit(first.train)
                fit_seconds[(name, first.label)] = float(model.fit_seconds or 0.0)
                advance(f"{first.label} · scoring {name}")
                for v, s in splits.items():
                    top = recommend_top(model, s, top_k, fill=fill)
                    per_user = per_user_metrics(top, s.targets, ks)
                    metrics = {m: bootstrap_ci(vals, rng=rng, n_boot=n_boot) for m, vals in per_user.items()}
                    cov = {f"Coverage@{kk}": coverage_bootstrap(top, kk, interactions.n_items,
                                                                recommendable=s.recommendable, rng=rng)
                           for kk in ks}
                    act, pop = groupings[v]
                    buckets = {"activity": bucket_hit_rates(top, s, act, ks[0], rng=rng, n_boot=n_boot),
                               "popularity": bucket_hit_rates(top, s, pop, ks[0], rng=rng, n_boot=n_boot)}
                    cells[(name, first.label, v)] = Cell(name, first.label, v, s.users, per_user, metrics, cov,
                                                         buckets)
                model_config[name] = {"class": type(model).__name__, "config": model.config()}
                if keep_models and ci == 0:
                    fitted[name] = model
                advance(f"done {name}")
    ev = Evaluation(models=[n for n, _ in specs], cutoffs=labels, variants=list(var), ks=ks,
                    window_days=float(window_days), cells=cells, fit_seconds=fit_seconds, splits=split_info,
                    dataset=dataset, notes=dict(notes or {}), seed=int(rng), n_boot=n_boot,
                    config={"fill": fill, "n_buckets": n_buckets, "n_boot": n_boot, "models": model_config},
                    fitted=fitted)
    return ev
