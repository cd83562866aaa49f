"""Evaluation: the typed result of :func:`discoverly.evaluate.evaluate`.

It keeps the per-user values of every model × cutoff × variant, so any interval, paired test or
breakdown can be computed after the fact, and it serialises to JSON in the shape the CLI prints::

    {"models": [{"name": "corrected", "fit_seconds": 1.9,
                 "metrics": {"HitRate@6": {"value": 0.21, "ci": [0.19, 0.23], "n": 1234}, ...},
                 "variants": {"any-item": {"HitRate@6": {...}, ...}},
                 "cutoffs": [{"cutoff": "2011-11-01", "variant": "new-items", "n_users": 1234,
                              "fit_seconds": 1.9, "metrics": {...}}, ...],
                 "pooled": {"new-items": {...}}},
                ...],
     "primary": {"cutoff": "2011-11-01", "variant": "new-items"}, "paired": [...], ...}

``metrics`` always holds the primary variant (the first one evaluated, ``new-items`` by default)
at the primary cutoff (the first one given); ``variants`` holds the other variants at the
primary cutoff; ``cutoffs`` every cell; ``pooled`` (only with several cutoffs) pools the
(user, cutoff) units of every cutoff, with intervals from a cluster bootstrap over users.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from discoverly.errors import ConfigError, UnknownIdError
from discoverly.evaluate.buckets import BucketResult
from discoverly.evaluate.metrics import CoverageEstimate
from discoverly.evaluate.protocol import Split, Variant
from discoverly.evaluate.stats import Estimate, PairedTest, bootstrap_ci, paired_test

__all__ = ["POOLED", "Cell", "Evaluation", "PairedResult", "json_default"]

#: the cutoff argument that selects the pooled summary over all cutoffs
POOLED = "pooled"


@dataclass
class Cell:
    """One model at one cutoff in one variant: per-user values and their summaries."""

    model: str
    cutoff: str
    variant: Variant
    users: np.ndarray
    per_user: dict[str, np.ndarray]
    metrics: dict[str, Estimate]
    coverage: dict[str, CoverageEstimate]
    buckets: dict[str, BucketResult] = field(default_factory=dict)

    def __repr__(self) -> str:
        """Short: the cell's address, its users and its first metric (never the per-user arrays)."""
        first = next(iter(self.metrics.items()), None)
        metric = f"; {first[0]} {first[1]}" if first else ""
        return (f"Cell({self.model!r} at {self.cutoff}, {self.variant}: {len(self.users):,} users{metric}; "
                f"metrics: {', '.join([*self.metrics, *self.coverage])})")

    def summary(self) -> dict[str, dict[str, object]]:
        """Metric name -> ``{"value", "ci", "n"}`` (per-user metrics first, then coverage)."""
        out: dict[str, dict[str, object]] = {name: _clean(e.to_dict()) for name, e in self.metrics.items()}
        out.update({name: _clean(c.to_dict()) for name, c in self.coverage.items()})
        return out


@dataclass(frozen=True)
class PairedResult:
    """``a − b`` on one metric over the same users, with its interval and p-value."""

    a: str
    b: str
    metric: str
    cutoff: str
    variant: Variant
    test: PairedTest

    def to_dict(self) -> dict[str, object]:
        d = self.test.difference
        return {"a": self.a, "b": self.b, "metric": self.metric, "cutoff": self.cutoff, "variant": self.variant,
                "difference": _clean({"value": d.value, "ci": [d.low, d.high], "n": d.n}),
                "p_value": self.test.p_value, "method": self.test.method}


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """Replace NaN by None so the JSON is standard."""
    def fix(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v
    return {k: fix(v) for k, v in d.items()}


@dataclass
class Evaluation:
    """Everything one evaluation run measured (see the module docstring)."""

    models: list[str]
    cutoffs: list[str]
    variants: list[Variant]
    ks: list[int]
    window_days: float
    cells: dict[tuple[str, str, Variant], Cell]
    fit_seconds: dict[tuple[str, str], float]
    splits: dict[tuple[str, Variant], dict[str, object]]
    dataset: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    n_boot: int = 2000
    #: models fitted at the primary cutoff when ``evaluate(..., keep_models=True)`` (not serialised)
    fitted: dict[str, Any] = field(default_factory=dict, repr=False)
    _pooled: dict[tuple[str, Variant], dict[str, Estimate]] = field(default_factory=dict, repr=False)
    _paired: dict[tuple[str, str, str, str, Variant], PairedResult] = field(default_factory=dict, repr=False)

    # -- display ------------------------------------------------------------------------------
    def _summary(self) -> str:
        plural = "" if len(self.models) == 1 else "s"
        return (f"{len(self.models)} model{plural}, cutoffs {', '.join(self.cutoffs)}, "
                f"variants {', '.join(self.variants)}, k={', '.join(map(str, self.ks))}")

    def __repr__(self) -> str:
        """Short: what was evaluated and the primary metric of each model, best first (the per-user
        values stay inside; ``leaderboard()`` and ``to_dict()`` give every number)."""
        try:
            board = self.leaderboard()
            name = self.primary_metric
            rows = [f"{m} {_number(v)} [{_number(lo)}, {_number(hi)}]"
                    for m, v, lo, hi in board.select("model", name, f"{name} low", f"{name} high").head(5).iter_rows()]
            more = ", …" if len(board) > 5 else ""
            best = f"; {name} at {self.primary_cutoff} ({self.primary_variant}): {', '.join(rows)}{more}"
        except Exception:  # a repr never raises: an incomplete object still shows what it holds
            best = ""
        return f"Evaluation({self._summary()}{best})"

    def _repr_html_(self) -> str:
        """Jupyter: the leaderboard at the primary cutoff and variant (values only, with the primary
        metric's interval), escaped."""
        board = self.leaderboard()
        name = self.primary_metric
        keep = ["model", name, f"{name} low", f"{name} high",
                *[c for c in board.columns if c not in ("model", name) and not c.endswith((" low", " high"))]]
        caption = html.escape(f"Evaluation({self._summary()}) at {self.primary_cutoff} ({self.primary_variant})"
                              f"{'' if self.dataset is None else ' on ' + self.dataset}")
        return f"<div><p><code>{caption}</code></p>{board.select(keep)._repr_html_()}</div>"

    # -- addressing ---------------------------------------------------------------------------
    @property
    def primary_cutoff(self) -> str:
        return self.cutoffs[0]

    @property
    def primary_variant(self) -> Variant:
        return self.variants[0]

    @property
    def primary_metric(self) -> str:
        return f"HitRate@{self.ks[0]}"

    def _key(self, model: str, cutoff: str | None, variant: Variant | None) -> tuple[str, str, Variant]:
        if model not in self.models:
            raise UnknownIdError(f"model {model!r} was not evaluated; evaluated: {', '.join(self.models)}")
        c = self.primary_cutoff if cutoff is None else cutoff
        v = self.primary_variant if variant is None else variant
        if c not in self.cutoffs:
            raise UnknownIdError(f"cutoff {c!r} was not evaluated; evaluated: {', '.join(self.cutoffs)}")
        if v not in self.variants:
            raise UnknownIdError(f"variant {v!r} was not evaluated; evaluated: {', '.join(self.variants)}")
        return (model, c, v)

    def cell(self, model: str, cutoff: str | None = None, variant: Variant | None = None) -> Cell:
        """The results of ``model`` at ``cutoff`` in ``variant`` (primary ones by default)."""
        return self.cells[self._key(model, cutoff, variant)]

    def metric(self, model: str, name: str | None = None, cutoff: str | None = None,
               variant: Variant | None = None) -> Estimate:
        """One metric (``HitRate@6`` by default) as an :class:`Estimate`; ``cutoff="pooled"`` for
        the summary over all cutoffs."""
        name = name or self.primary_metric
        if cutoff == POOLED:
            pooled = self.pooled(model, variant)
            if name not in pooled:
                raise UnknownIdError(f"unknown metric {name!r}; known: {', '.join(pooled)}")
            return pooled[name]
        cell = self.cell(model, cutoff, variant)
        if name not in cell.metrics:
            raise UnknownIdError(f"unknown metric {name!r}; known: {', '.join(cell.metrics)}")
        return cell.metrics[name]

    # -- pooled over cutoffs ------------------------------------------------------------------
    def _pooled_values(self, model: str, name: str, variant: Variant) -> tuple[np.ndarray, np.ndarray]:
        values, groups = [], []
        for c in self.cutoffs:
            cell = self.cells[(model, c, variant)]
            values.append(cell.per_user[name])
            groups.append(cell.users)
        return np.concatenate(values), np.concatenate(groups)

    def pooled(self, model: str, variant: Variant | None = None) -> dict[str, Estimate]:
        """Every per-user metric over the (user, cutoff) units of all cutoffs; the intervals
        resample users (a user tested at several cutoffs stays one cluster)."""
        key = self._key(model, None, variant)
        v = key[2]
        if (model, v) not in self._pooled:
            names = list(self.cells[key].per_user)
            out = {}
            for name in names:
                vals, groups = self._pooled_values(model, name, v)
                out[name] = bootstrap_ci(vals, groups=groups, rng=self.seed, n_boot=self.n_boot)
            self._pooled[(model, v)] = out
        return self._pooled[(model, v)]

    # -- paired comparisons -------------------------------------------------------------------
    def paired(self, a: str, b: str, metric: str | None = None, cutoff: str | None = None,
               variant: Variant | None = None) -> PairedResult:
        """Paired test of ``a − b`` on the same users (``cutoff="pooled"``: over all cutoffs,
        clustered by user)."""
        metric = metric or self.primary_metric
        v = self._key(a, None, variant)[2]
        self._key(b, None, v)
        # each test seeds its own generator: asked again (the JSON, then the HTML report), it is the same
        memo = (a, b, metric, POOLED if cutoff == POOLED else self.cell(a, cutoff, v).cutoff, v)
        if memo not in self._paired:
            self._paired[memo] = self._paired_test(a, b, metric, cutoff, v)
        return self._paired[memo]

    def _paired_test(self, a: str, b: str, metric: str, cutoff: str | None, v: Variant) -> PairedResult:
        if cutoff == POOLED:
            xa, groups = self._pooled_values(a, metric, v)
            xb, _ = self._pooled_values(b, metric, v)
            test = paired_test(xa, xb, groups=groups, rng=self.seed, n_boot=self.n_boot)
            return PairedResult(a, b, metric, POOLED, v, test)
        ca, cb = self.cell(a, cutoff, v), self.cell(b, cutoff, v)
        if metric not in ca.per_user:
            raise UnknownIdError(f"unknown metric {metric!r}; known: {', '.join(ca.per_user)}")
        test = paired_test(ca.per_user[metric], cb.per_user[metric], rng=self.seed, n_boot=self.n_boot)
        return PairedResult(a, b, metric, ca.cutoff, v, test)

    def paired_table(self, metric: str | None = None, cutoff: str | None = None,
                     variant: Variant | None = None, pairs: list[tuple[str, str]] | None = None
                     ) -> list[PairedResult]:
        """Paired tests for ``pairs`` (default: every pair of models, in leaderboard order)."""
        if pairs is None:
            pairs = list(itertools.combinations(self.models, 2))
        return [self.paired(a, b, metric, cutoff, variant) for a, b in pairs]

    # -- tables and serialisation -------------------------------------------------------------
    def leaderboard(self, cutoff: str | None = None, variant: Variant | None = None) -> pl.DataFrame:
        """One row per model: each metric's value and interval bounds, and the fit seconds,
        sorted by the primary metric (best first)."""
        rows = []
        for m in self.models:
            if cutoff == POOLED:
                ests: dict[str, Any] = dict(self.pooled(m, variant))
                fit = float(np.mean([self.fit_seconds[(m, c)] for c in self.cutoffs]))
            else:
                cell = self.cell(m, cutoff, variant)
                ests = {**cell.metrics, **cell.coverage}
                fit = self.fit_seconds[(m, cell.cutoff)]
            row: dict[str, Any] = {"model": m}
            for name, e in ests.items():
                row[name] = e.value
                row[f"{name} low"] = e.low
                row[f"{name} high"] = e.high
            row["fit seconds"] = fit
            rows.append(row)
        frame = pl.DataFrame(rows)
        return frame.sort(self.primary_metric, descending=True, nulls_last=True)

    def to_dict(self, *, paired: bool = True) -> dict[str, Any]:
        """JSON-ready results (see the module docstring for the shape)."""
        models = []
        for m in self.models:
            entry: dict[str, Any] = {
                "name": m,
                "fit_seconds": self.fit_seconds[(m, self.primary_cutoff)],
                "metrics": self.cell(m).summary(),
                "variants": {v: self.cell(m, None, v).summary() for v in self.variants},
                "cutoffs": [{"cutoff": c, "variant": v, "n_users": len(self.cells[(m, c, v)].users),
                             "fit_seconds": self.fit_seconds[(m, c)], "metrics": self.cells[(m, c, v)].summary()}
                            for c in self.cutoffs for v in self.variants],
                "buckets": {v: {kind: b.to_dict() for kind, b in self.cell(m, None, v).buckets.items()}
                            for v in self.variants},
            }
            if len(self.cutoffs) > 1:
                entry["pooled"] = {v: {n: _clean(e.to_dict()) for n, e in self.pooled(m, v).items()}
                                   for v in self.variants}
            models.append(entry)
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "primary": {"cutoff": self.primary_cutoff, "variant": self.primary_variant,
                        "metric": self.primary_metric},
            "cutoffs": self.cutoffs,
            "variants": list(self.variants),
            "k": self.ks,
            "window_days": self.window_days,
            "splits": [{**d} for d in self.splits.values()],
            "models": models,
            "seed": self.seed,
            "config": self.config,
            "notes": self.notes,
        }
        if paired and len(self.models) > 1:
            tables = [self.paired_table(variant=v) for v in self.variants]
            if len(self.cutoffs) > 1:
                tables += [self.paired_table(cutoff=POOLED, variant=v) for v in self.variants]
            out["paired"] = [p.to_dict() for t in tables for p in t]
        return out

    def to_json(self, *, indent: int | None = 2, paired: bool = True) -> str:
        return json.dumps(self.to_dict(paired=paired), indent=indent, default=json_default)


def _number(x: float | None) -> str:
    return "nan" if x is None else f"{x:.4f}"


def json_default(obj: Any) -> Any:
    """``json.dumps`` fallback for numpy scalars and arrays (NaN becomes null)."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.bool_):
        return bool(obj)
    return str(obj)


def split_key(split: Split) -> tuple[str, Variant]:
    return (split.label, split.variant)


def check_models(names: list[str]) -> None:
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"model names must be unique, got {', '.join(dup)} more than once")
