"""A data quality profile of an interaction log: size, time, heavy buyers, popularity skew, repeats.

>>> from discoverly.data.synthetic import synthetic_store
>>> p = profile(synthetic_store(n_customers=200, n_items=80, days=120, rng=0))
>>> p.n_users, 0.0 <= p.per_item.gini <= 1.0
(200, True)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.data.interactions import Interactions
from discoverly.errors import DataError

if TYPE_CHECKING:
    from discoverly.data.datasets.dataset import Dataset

__all__ = ["CountSummary", "DataProfile", "profile", "gini", "top_share", "lorenz_curve"]

_DAY = 86_400


def gini(counts: np.ndarray) -> float:
    """The Gini coefficient of non-negative counts: 0 when all equal, towards 1 when one has all."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(x)
    total = x.sum()
    if n == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2.0 * np.sum(ranks * x)) / (n * total) - (n + 1.0) / n)


def top_share(counts: np.ndarray, fraction: float) -> float:
    """The share of the total held by the top ``fraction`` of entries (at least one entry)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    if len(x) == 0 or x.sum() <= 0:
        return 0.0
    k = max(1, math.ceil(fraction * len(x)))
    return float(x[:k].sum() / x.sum())


def lorenz_curve(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative share of entries (x, ascending by count) against cumulative share of the total (y)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    return (np.concatenate([[0.0], np.arange(1, len(x) + 1) / len(x)]),
            np.concatenate([[0.0], np.cumsum(x) / total]))


def _share_needed(counts: np.ndarray, mass: float) -> float:
    """The smallest share of entries (largest first) that together hold ``mass`` of the total."""
    x = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    if len(x) == 0 or x.sum() <= 0:
        return 0.0
    k = int(np.searchsorted(np.cumsum(x) / x.sum(), mass - 1e-12) + 1)
    return float(min(k, len(x)) / len(x))


@dataclass(frozen=True)
class CountSummary:
    """A distribution of counts (events per customer, buyers per item, …) and its concentration."""

    n: int
    total: float
    mean: float
    min: float
    p25: float
    median: float
    p75: float
    p90: float
    p99: float
    max: float
    top1_share: float
    top10_share: float
    gini: float

    @classmethod
    def of(cls, counts: np.ndarray) -> CountSummary:
        x = np.asarray(counts, dtype=np.float64)
        if len(x) == 0:
            return cls(n=0, total=0.0, mean=0.0, min=0.0, p25=0.0, median=0.0, p75=0.0, p90=0.0, p99=0.0,
                       max=0.0, top1_share=0.0, top10_share=0.0, gini=0.0)
        q = np.quantile(x, [0.25, 0.5, 0.75, 0.9, 0.99])
        return cls(n=len(x), total=float(x.sum()), mean=float(x.mean()), min=float(x.min()), p25=float(q[0]),
                   median=float(q[1]), p75=float(q[2]), p90=float(q[3]), p99=float(q[4]), max=float(x.max()),
                   top1_share=top_share(x, 0.01), top10_share=top_share(x, 0.10), gini=gini(x))


@dataclass(frozen=True)
class DataProfile:
    """The profile :func:`profile` computes; :meth:`to_dict` gives its JSON-ready summary.

    ``daily`` (events and active users per day), ``customer_counts`` and ``item_counts`` (events
    per customer and per item) are kept for plots and left out of :meth:`to_dict`.
    """

    name: str
    n_events: int
    n_users: int
    n_items: int
    start: dt.datetime | None
    end: dt.datetime | None
    span_days: float
    active_days: int
    events_per_day: float
    events_per_week: float
    density: float
    per_customer: CountSummary
    items_per_customer: CountSummary
    per_item: CountSummary
    buyers_per_item: CountSummary
    items_for_50pct_events: float
    items_for_80pct_events: float
    single_buyer_items: float
    repeat_event_share: float
    repeat_pair_share: float
    customers_with_repeats: float
    quantity: CountSummary | None
    missing_values: dict[str, int] = field(default_factory=dict)
    catalog: dict[str, Any] | None = None
    cleaning: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False
    daily: pl.DataFrame = field(default_factory=pl.DataFrame, repr=False, compare=False)
    customer_counts: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)
    item_counts: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every summary figure (times as ISO strings; no per-entry arrays)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key in ("daily", "customer_counts", "item_counts"):
                continue
            out[key] = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value
        return out


def profile(
    data: Interactions | Dataset,
    catalog: Catalog | None = None,
    *,
    name: str | None = None,
    missing_values: dict[str, int] | None = None,
    cleaning: dict[str, Any] | None = None,
) -> DataProfile:
    """Profile an interaction log (or a :class:`~discoverly.data.datasets.Dataset`).

    ``missing_values`` are the null counts of the source columns when the caller read the file
    (a ``Dataset`` brings its own in ``notes["missing_values"]``); ``cleaning`` the loader's notes.
    """
    notes: dict[str, Any] = {}
    if isinstance(data, Interactions):
        log = data
    elif hasattr(data, "interactions"):
        log = data.interactions
        catalog = catalog if catalog is not None else data.catalog
        notes = dict(data.notes)
        name = name or data.name
    else:
        raise DataError(f"profile() takes Interactions or a Dataset, got {type(data).__name__}")
    if len(log) == 0:
        raise DataError("cannot profile an empty interaction log: it has no events")
    n = len(log)
    customer_counts = np.bincount(log.user_index, minlength=log.n_users).astype(np.float64)
    customer_counts = customer_counts[customer_counts > 0]
    item_counts = np.bincount(log.item_index, minlength=log.n_items).astype(np.float64)
    item_counts = item_counts[item_counts > 0]
    binary = log.matrix("binary")
    items_per_customer = np.diff(binary.indptr).astype(np.float64)
    buyers_per_item = np.asarray(binary.sum(axis=0)).ravel()
    buyers_per_item = buyers_per_item[buyers_per_item > 0]

    day = log.timestamp // _DAY
    span_days = max((int(log.timestamp[-1]) - int(log.timestamp[0])) / _DAY, 1.0 / 24)
    days = pl.DataFrame({"day": day, "user": log.user_index})
    daily = (days.group_by("day").agg(pl.len().alias("events"), pl.col("user").n_unique().alias("users"))
             .sort("day")
             .with_columns((pl.col("day") * _DAY * 1_000_000).cast(pl.Datetime("us")).dt.date().alias("date"))
             .select("date", "events", "users"))
    repeat_event_share, repeat_pair_share, customers_with_repeats = _repeats(log, day)
    quantity = None if bool(np.all(log.quantity == 1.0)) else CountSummary.of(log.quantity)
    missing = dict(missing_values if missing_values is not None else notes.get("missing_values", {}))
    cleaning_notes = dict(cleaning if cleaning is not None else
                          {k: v for k, v in notes.items() if k not in ("missing_values",)})
    return DataProfile(
        name=name or "interactions",
        n_events=n,
        n_users=len(customer_counts),
        n_items=len(item_counts),
        start=log.start,
        end=log.end,
        span_days=round(span_days, 3),
        active_days=int(daily.height),
        events_per_day=n / max(span_days, 1.0),
        events_per_week=7.0 * n / max(span_days, 7.0),
        density=float(binary.nnz) / (len(customer_counts) * len(item_counts)),
        per_customer=CountSummary.of(customer_counts),
        items_per_customer=CountSummary.of(items_per_customer[items_per_customer > 0]),
        per_item=CountSummary.of(item_counts),
        buyers_per_item=CountSummary.of(buyers_per_item),
        items_for_50pct_events=_share_needed(item_counts, 0.5),
        items_for_80pct_events=_share_needed(item_counts, 0.8),
        single_buyer_items=float(np.mean(buyers_per_item == 1)),
        repeat_event_share=repeat_event_share,
        repeat_pair_share=repeat_pair_share,
        customers_with_repeats=customers_with_repeats,
        quantity=quantity,
        missing_values={k: int(v) for k, v in missing.items()},
        catalog=_catalog_facts(log, catalog) if catalog is not None else None,
        cleaning=cleaning_notes,
        synthetic=bool(notes.get("synthetic", False)),
        daily=daily,
        customer_counts=customer_counts,
        item_counts=item_counts,
    )


def _repeats(log: Interactions, day: np.ndarray) -> tuple[float, float, float]:
    """Share of events that repeat a (customer, item) bought on an earlier day; share of pairs bought
    on two or more days; share of customers with at least one such repeat."""
    day = day - day.min()
    span = int(day.max()) + 1
    pair = log.user_index.astype(np.int64) * log.n_items + log.item_index
    composite = np.sort(pair * span + day)
    pair_sorted = composite // span
    day_sorted = composite % span
    new_pair = np.concatenate([[True], pair_sorted[1:] != pair_sorted[:-1]])
    group = np.cumsum(new_pair) - 1
    first_day = day_sorted[new_pair][group]
    repeat_events = int(np.count_nonzero(day_sorted > first_day))
    new_day = np.concatenate([[True], composite[1:] != composite[:-1]])
    days_per_pair = np.bincount(group, weights=new_day)
    repeated = days_per_pair >= 2
    users_of_pair = pair_sorted[new_pair] // log.n_items
    active = np.count_nonzero(np.bincount(log.user_index, minlength=log.n_users))
    customers = len(np.unique(users_of_pair[repeated]))
    return repeat_events / len(pair), float(repeated.mean()), customers / active


def _catalog_facts(log: Interactions, catalog: Catalog) -> dict[str, Any]:
    ids = log.items.to_series().alias("item")
    used = np.flatnonzero(np.bincount(log.item_index, minlength=log.n_items))
    used_ids = pl.DataFrame({"item": ids.gather(used)})
    table = catalog.table.with_columns(pl.col("item").cast(ids.dtype, strict=False))
    described = used_ids.join(table.select("item"), on="item", how="semi").height
    titled = None
    if "title" in table.columns:
        titled = used_ids.join(table.filter(pl.col("title").is_not_null()).select("item"), on="item",
                               how="semi").height
    return {
        "catalog_items": len(catalog),
        "columns": list(table.columns),
        "log_items_in_catalog": described,
        "log_items_without_catalog_row": len(used) - described,
        "log_items_without_title": None if titled is None else len(used) - titled,
        "catalog_items_never_in_log": len(catalog) - described,
        "missing_values": {c: int(v) for c, v in table.null_count().row(0, named=True).items() if v},
    }
