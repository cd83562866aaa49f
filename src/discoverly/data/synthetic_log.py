"""Synthetic purchase logs at scale (millions to billions of events) for scaling studies.

:func:`discoverly.data.synthetic.synthetic_store` builds a small, richly structured shop with a
per-line Python loop; this module builds a log of any size, vectorised, in chunks of customers
with bounded memory (:func:`synthetic_log_chunks`), straight to Parquet
(:func:`write_synthetic_log`). Its defaults are calibrated on Online Retail (2009-12 … 2011-12,
788k events; see benchmarks/spark.md for the plots of both):

- **Zipf item popularity**: item appeal ∝ ``(rank + head_offset)^−zipf_exponent`` (a
  Zipf–Mandelbrot law: the offset flattens the very top, as in real shops), times a factor in
  [0.005, 0.5] for the ``short_lived_share`` of items that are on sale only briefly (the long tail
  of rarely bought items);
- **heavy-tailed customer activity**: baskets per customer ``1 + Poisson((b − 1) · a)`` with a
  log-normal activity ``a`` (mean 1) — most customers buy a few times, a few hundreds of times;
- **heavy-tailed basket sizes**: log-normal (median ≈ 15 lines, mean ≈ 21, as in Online Retail),
  scaled per customer (resellers fill big baskets), capped at 600 lines;
- **complements**: items come in groups of 2–5 of one theme; a later line of a basket is, with
  ``complement_prob``, another member of the group of the basket's first line;
- **repeat purchases**: a line is, with ``repeat_prob``, one of the customer's earlier fresh items;
- **taste**: each customer has a favourite theme, from which ``theme_affinity`` of their fresh
  lines are drawn.

The catalogue grows with the log (default ``n_items ≈ 5.2 · √n_events``, 4.6k items at 788k
events like Online Retail, 37k at 50M). The same ``rng`` seed gives the same log.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly.artifacts import staged_file
from discoverly.data.interactions import TimeLike, to_epoch_seconds
from discoverly.errors import ConfigError

__all__ = ["LogShape", "synthetic_log", "synthetic_log_chunks", "write_synthetic_log"]

log = logging.getLogger(__name__)

_DAY = 86_400
_MAX_BASKET = 600


@dataclass(frozen=True)
class LogShape:
    """The parameters of a synthetic log (see the module docstring)."""

    n_events: int
    n_items: int
    days: int = 730
    start: int = 1_575_158_400  # 2019-12-01
    zipf_exponent: float = 0.9
    head_offset: float = 15.0
    short_lived_share: float = 0.5
    baskets_per_customer: float = 6.2
    activity_sigma: float = 1.3
    basket_median: float = 15.0
    basket_sigma: float = 0.8
    customer_size_sigma: float = 0.5
    complement_prob: float = 0.25
    repeat_prob: float = 0.08
    theme_affinity: float = 0.5

    def check(self) -> None:
        problems = []
        if self.n_events < 1:
            problems.append(f"n_events must be at least 1, got {self.n_events}")
        if self.n_items < 10:
            problems.append(f"n_items must be at least 10, got {self.n_items}")
        if self.days < 1:
            problems.append(f"days must be at least 1, got {self.days}")
        if self.zipf_exponent < 0 or self.head_offset < 0:
            problems.append(f"zipf_exponent and head_offset must be >= 0, got {self.zipf_exponent}, "
                            f"{self.head_offset}")
        if self.baskets_per_customer < 1 or self.basket_median < 1:
            problems.append("baskets_per_customer and basket_median must be at least 1")
        for name in ("activity_sigma", "basket_sigma", "customer_size_sigma"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        for name in ("complement_prob", "repeat_prob", "theme_affinity", "short_lived_share"):
            if not 0.0 <= getattr(self, name) < 1.0:
                problems.append(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if problems:
            raise ConfigError("synthetic_log: " + "; ".join(problems))


@dataclass
class _Catalog:
    weight_cum: np.ndarray  # cumulative appeal over items (global draw)
    by_theme: np.ndarray  # item indices sorted by theme
    theme_cum: np.ndarray  # cumulative appeal over by_theme
    theme_start: np.ndarray
    theme_end: np.ndarray
    theme_weight: np.ndarray
    members: np.ndarray  # item indices sorted by complement group
    group: np.ndarray  # group of each item
    group_start: np.ndarray
    group_size: np.ndarray
    position: np.ndarray  # each item's position within its group


def _catalog(gen: np.random.Generator, shape: LogShape) -> _Catalog:
    n = shape.n_items
    appeal = 1.0 / (gen.permutation(n) + 1.0 + shape.head_offset) ** shape.zipf_exponent
    short = gen.random(n) < shape.short_lived_share  # on sale for a short while: few buyers
    appeal[short] *= gen.uniform(0.005, 0.5, int(short.sum()))
    n_themes = max(8, n // 150)
    theme = gen.integers(0, n_themes, n)
    by_theme = np.argsort(theme, kind="stable")
    sorted_theme = theme[by_theme]
    starts = np.searchsorted(sorted_theme, np.arange(n_themes), side="left")
    ends = np.searchsorted(sorted_theme, np.arange(n_themes), side="right")
    theme_cum = np.cumsum(appeal[by_theme])
    theme_weight = np.bincount(theme, weights=appeal, minlength=n_themes)
    # complement groups: runs of 2-5 consecutive items of one theme (in theme order)
    group = np.empty(n, dtype=np.int64)
    g, i = 0, 0
    sizes = gen.integers(2, 6, n)
    while i < n:
        end = min(i + int(sizes[g]), int(ends[sorted_theme[i]]))
        group[by_theme[i:end]] = g
        g, i = g + 1, end
    members = np.argsort(group, kind="stable")
    group_start = np.searchsorted(group[members], np.arange(g), side="left")
    group_size = np.bincount(group, minlength=g)
    position = np.empty(n, dtype=np.int64)
    position[members] = np.arange(n) - group_start[group[members]]
    return _Catalog(np.cumsum(appeal), by_theme, theme_cum, starts, ends, theme_weight, members, group, group_start,
                    group_size, position)


def _draw_fresh(gen: np.random.Generator, cat: _Catalog, theme: np.ndarray, affinity: float) -> np.ndarray:
    """One item per line: from the line's customer theme with probability ``affinity``, else by appeal."""
    n = len(theme)
    out = np.searchsorted(cat.weight_cum, gen.random(n) * cat.weight_cum[-1], side="right")
    own = gen.random(n) < affinity
    t = theme[own]
    base = np.where(cat.theme_start[t] > 0, cat.theme_cum[np.maximum(cat.theme_start[t] - 1, 0)], 0.0)
    pos = np.searchsorted(cat.theme_cum, base + gen.random(len(t)) * cat.theme_weight[t], side="right")
    out[own] = cat.by_theme[np.clip(pos, cat.theme_start[t], cat.theme_end[t] - 1)]
    return np.minimum(out, len(cat.group) - 1)


def _chunk(gen: np.random.Generator, cat: _Catalog, shape: LogShape, first_customer: int, budget: int
           ) -> tuple[pl.DataFrame, int]:
    """Customers from ``first_customer`` on until ``budget`` events are made; the frame and the
    number of customers used."""
    per_customer = shape.baskets_per_customer * shape.basket_median * math.exp(shape.basket_sigma**2 / 2)
    n_cust = max(1, int(budget / per_customer * 1.1) + 1)
    activity = gen.lognormal(0.0, shape.activity_sigma, n_cust) / math.exp(shape.activity_sigma**2 / 2)
    n_baskets = 1 + gen.poisson((shape.baskets_per_customer - 1.0) * activity)
    size_scale = gen.lognormal(0.0, shape.customer_size_sigma, n_cust) / math.exp(shape.customer_size_sigma**2 / 2)
    b_cust = np.repeat(np.arange(n_cust), n_baskets)
    size = np.clip(np.rint(gen.lognormal(math.log(shape.basket_median), shape.basket_sigma, len(b_cust))
                           * size_scale[b_cust]), 1, _MAX_BASKET).astype(np.int64)
    total = np.cumsum(size)
    if total[-1] > budget:  # cut at the budget, on a basket of a whole customer where possible
        last = int(np.searchsorted(total, budget, side="left"))
        size = size[: last + 1].copy()
        size[-1] -= int(total[last] - budget)
        b_cust = b_cust[: last + 1]
    n_cust = int(b_cust[-1]) + 1
    # when each customer shops: a window inside the period, baskets uniform in it, in time order
    join = np.clip(gen.uniform(-0.3, 0.9, n_cust) * shape.days, 0, shape.days - 1)
    leave = np.minimum(join + np.maximum(gen.exponential(1.0 * shape.days, n_cust), 1.0), shape.days)
    b_day = np.floor(join[b_cust] + gen.random(len(b_cust)) * (leave - join)[b_cust]).astype(np.int64)
    b_time = shape.start + b_day * _DAY + 8 * 3600 + gen.integers(0, 12 * 3600, len(b_cust))
    order = np.lexsort((b_time, b_cust))
    b_cust, b_time, size = b_cust[order], b_time[order], size[order]
    # lines
    line_basket = np.repeat(np.arange(len(size)), size)
    slot = np.arange(len(line_basket)) - np.repeat(np.cumsum(size) - size, size)
    line_cust = b_cust[line_basket]
    taste = np.searchsorted(np.cumsum(cat.theme_weight), gen.random(n_cust) * cat.theme_weight.sum(), side="right")
    taste = np.minimum(taste, len(cat.theme_weight) - 1)
    item = _draw_fresh(gen, cat, taste[line_cust], shape.theme_affinity)
    r = gen.random(len(line_basket))
    complement = (slot > 0) & (r < shape.complement_prob)
    repeat = ~complement & (gen.random(len(line_basket)) < shape.repeat_prob)
    fresh = ~complement & ~repeat
    # repeats: one of the customer's earlier fresh lines (uniformly), when there is one
    fresh_before: np.ndarray = np.cumsum(fresh) - fresh
    cust_first_line = np.searchsorted(line_cust, np.arange(n_cust), side="left")
    base: np.ndarray = fresh_before[cust_first_line][line_cust]
    earlier: np.ndarray = fresh_before - base
    fresh_pos = np.flatnonzero(fresh)
    rep = repeat & (earlier > 0)
    pick = base[rep] + np.floor(gen.random(int(rep.sum())) * earlier[rep]).astype(np.int64)
    item[rep] = item[fresh_pos[pick]]
    # complements: another member of the group of the basket's first line
    anchor = item[np.cumsum(size)[line_basket] - size[line_basket]]
    comp = complement & (cat.group_size[cat.group[anchor]] > 1)
    a = anchor[comp]
    g = cat.group[a]
    offset = 1 + np.floor(gen.random(len(a)) * (cat.group_size[g] - 1)).astype(np.int64)
    item[comp] = cat.members[cat.group_start[g] + (cat.position[a] + offset) % cat.group_size[g]]
    frame = pl.DataFrame({
        "user": (first_customer + line_cust).astype(np.int64),
        "item": _item_ids(item),
        "timestamp": pl.Series(b_time[line_basket] * 1_000_000).cast(pl.Datetime("us")),
        "quantity": gen.geometric(0.5, len(item)).astype(np.float32),
    })
    return frame, n_cust


def _item_ids(item: np.ndarray) -> pl.Series:
    """``P000123``-style ids (strings, like real stock codes)."""
    return pl.Series("item", item.astype(np.int64)).cast(pl.String).str.zfill(6).str.replace(r"^", "P")


def _shape(n_events: int, n_items: int | None, days: int, start: TimeLike, overrides: dict[str, Any]) -> LogShape:
    items = int(n_items) if n_items is not None else max(100, round(5.2 * math.sqrt(n_events)))
    start_s = to_epoch_seconds(start)
    shape = LogShape(int(n_events), items, int(days), start_s - start_s % _DAY, **overrides)
    shape.check()
    return shape


def synthetic_log_chunks(n_events: int, *, n_items: int | None = None, days: int = 730,
                         start: TimeLike = "2019-12-01", rng: int | np.random.Generator | None = 0,
                         chunk_events: int = 2_000_000, **shape: Any) -> Iterator[pl.DataFrame]:
    """The log as frames ``(user, item, timestamp, quantity)`` of about ``chunk_events`` events each
    (whole customers per chunk; exactly ``n_events`` in all). ``shape`` overrides the
    :class:`LogShape` defaults (``zipf_exponent``, ``complement_prob``, …)."""
    spec = _shape(n_events, n_items, days, start, shape)
    if chunk_events < 1:
        raise ConfigError(f"chunk_events must be at least 1, got {chunk_events}")
    gen = np.random.default_rng(rng)
    cat = _catalog(gen, spec)
    made, customers = 0, 0
    while made < spec.n_events:
        frame, used = _chunk(gen, cat, spec, 100_000 + customers, min(chunk_events, spec.n_events - made))
        made += frame.height
        customers += used
        yield frame


def synthetic_log(n_events: int, *, n_items: int | None = None, days: int = 730, start: TimeLike = "2019-12-01",
                  rng: int | np.random.Generator | None = 0, chunk_events: int = 2_000_000,
                  **shape: Any) -> pl.DataFrame:
    """The whole synthetic log as one frame ``(user, item, timestamp, quantity)`` (see the module
    docstring); read it with ``read_interactions(frame, quantity="quantity")``.

    >>> frame = synthetic_log(10_000, rng=1)
    >>> frame.height, frame.columns
    (10000, ['user', 'item', 'timestamp', 'quantity'])
    """
    return pl.concat(list(synthetic_log_chunks(n_events, n_items=n_items, days=days, start=start, rng=rng,
                                               chunk_events=chunk_events, **shape)))


def write_synthetic_log(path: str | os.PathLike[str], n_events: int, *, n_items: int | None = None,
                        days: int = 730, start: TimeLike = "2019-12-01", rng: int | np.random.Generator | None = 0,
                        chunk_events: int = 2_000_000, **shape: Any) -> dict[str, Any]:
    """Write the synthetic log to one Parquet file, chunk by chunk (memory stays bounded by a
    chunk); atomically (temp file, then rename). Returns what was written."""
    import pyarrow.parquet as pq

    target = Path(path)
    rows, users = 0, 0
    with staged_file(target) as tmp:  # a run killed outright leaves nothing the next run keeps
        writer = None
        try:
            for frame in synthetic_log_chunks(n_events, n_items=n_items, days=days, start=start, rng=rng,
                                              chunk_events=chunk_events, **shape):
                table = frame.to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                rows += frame.height
                users = int(frame["user"].to_numpy().max()) - 100_000 + 1
        finally:
            if writer is not None:
                writer.close()
    spec = _shape(n_events, n_items, days, start, shape)
    facts = {"path": str(target), "events": rows, "customers": users, "items": spec.n_items,
             "start": dt.datetime.fromtimestamp(spec.start, tz=dt.UTC).date().isoformat(), "days": spec.days}
    log.info("wrote a synthetic log: %s", facts)
    return facts
