"""The personalised product-search protocol on real purchases (Complete Journey).

No public judgement set exists offline, so relevance comes from behaviour, as in personalised
product-search research: for each purchase after a cutoff, the query is the text a shopper would
type for the purchased product (its ``product_type`` words, or ``product_category`` when the type
is missing), a variant adds brand or size words, the relevant item is the product actually bought
and the candidates are the whole catalogue. Metrics per query: NDCG@10 (one relevant item:
``1/log2(1 + rank)`` within the top 10), MRR (``1/rank`` within the top 100) and Recall@100; each
with a 95% bootstrap interval over queries (:func:`discoverly.evaluate.stats.bootstrap_ci`).
"New to the customer" restricts to purchases of products the customer never bought before the
cutoff, where buying again cannot help.

This module holds the pieces (query construction, metrics, the plain-bm25s peer, the re-rank by
past purchase counts); :mod:`discoverly.search.experiment` runs the whole protocol.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.data.interactions import Interactions, TimeLike, to_epoch_seconds
from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.stats import Estimate, bootstrap_ci, paired_test

__all__ = ["query_text", "purchase_queries", "unit_prices", "PlainBM25", "target_ranks", "query_metrics",
           "summarize", "rerank_by_counts", "METRICS", "SystemRun"]

#: the per-query metrics, in report order
METRICS = ("NDCG@10", "MRR", "Recall@100")


def query_text(value: str | None) -> str:
    """A catalogue label as a shopper would type it: lower case, words only
    (``"COOKIES: REGULAR"`` -> ``"cookies regular"``; a decimal keeps its point: ``"6 PK .5 L"`` ->
    ``"6 pk .5 l"``)."""
    if value is None:
        return ""
    return " ".join(re.sub(r" \.(?!\d)", " ", re.sub(r"[^a-z0-9.]+", " ", value.lower())).split())


def purchase_queries(interactions: Interactions, catalog: Catalog, *, start: TimeLike, end: TimeLike, n: int | None,
                     rng: int | np.random.Generator | None = 0, history_before: TimeLike | None = None) -> pl.DataFrame:
    """Sampled purchases in ``[start, end)`` as search queries.

    Columns: ``query`` (type words), ``variant`` (type words plus the package size or the brand
    words, chosen at random among those the product has), ``user``, ``item``, ``time`` (epoch s),
    ``new`` (the customer had not bought the item before ``history_before``, default ``start``).
    Purchases of products without type and category are skipped; ``n=None`` keeps all.
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    need = {"product_type", "category"}
    if not need <= set(catalog.columns):
        raise DataError(f"the protocol needs catalogue columns {sorted(need)}; got {catalog.columns}")
    window = interactions.between(start, end)
    if len(window) == 0:
        raise DataError(f"no purchases between {start} and {end}")
    table = catalog.table
    words = table.select(
        pl.col("item"),
        pl.coalesce(pl.col("product_type"), pl.col("category")).alias("kind"),
        (pl.col("package_size") if "package_size" in table.columns else pl.lit(None, pl.String)).alias("size"),
        (pl.col("brand") if "brand" in table.columns else pl.lit(None, pl.String)).alias("brand"),
    )
    events = pl.DataFrame({"user": interactions.users.ids_of(window.user_index).tolist(),
                           "item": interactions.items.ids_of(window.item_index).tolist(),
                           "time": window.timestamp})
    events = events.join(words.with_columns(pl.col("item").cast(events["item"].dtype)), on="item", how="inner",
                         maintain_order="left")
    events = events.filter(pl.col("kind").is_not_null())
    if n is not None and events.height > n:
        events = events[np.sort(gen.choice(events.height, size=n, replace=False)).tolist()]
    queries, variants = [], []
    for kind, size, brand in events.select("kind", "size", "brand").iter_rows():
        q = query_text(kind)
        options = [query_text(size)] if size else []
        if brand:
            options.append("store brand" if brand.lower() == "private" else f"{brand.lower()} brand")
        queries.append(q)
        variants.append(f"{q} {options[int(gen.integers(len(options)))]}" if options else q)
    before = interactions.before(history_before if history_before is not None else start)
    seen = set(zip(before.users.ids_of(before.user_index).tolist(), before.items.ids_of(before.item_index).tolist(),
                   strict=True))
    new = [(u, i) not in seen for u, i in zip(events["user"].to_list(), events["item"].to_list(), strict=True)]
    return events.select("user", "item", "time").with_columns(
        pl.Series("query", queries), pl.Series("variant", variants), pl.Series("new", new))


def unit_prices(transactions: str | Path | pl.DataFrame, *, before: TimeLike, item: str = "product_id",
                value: str = "sales_value", quantity: str = "quantity", time: str = "transaction_timestamp"
                ) -> pl.DataFrame:
    """Median unit price (``value / quantity``) per item from transactions before ``before``."""
    frame = pl.read_parquet(transactions) if not isinstance(transactions, pl.DataFrame) else transactions
    missing = {item, value, quantity, time} - set(frame.columns)
    if missing:
        raise DataError(f"the transactions lack columns {sorted(missing)}")
    cutoff = to_epoch_seconds(before)
    ts = pl.col(time).dt.epoch("s") if frame.schema[time].is_temporal() else pl.col(time)
    return (frame.filter((ts < cutoff) & (pl.col(quantity) > 0) & (pl.col(value) > 0))
            .group_by(item).agg((pl.col(value) / pl.col(quantity)).median().alias("price"))
            .rename({item: "item"}))


class PlainBM25:
    """The peer: bm25s end to end (its tokenizer with English stopwords, BM25 defaults) over the
    catalogue columns joined into one text."""

    def __init__(self, catalog: Catalog, columns: Sequence[str]) -> None:
        bm25s = require("bm25s", purpose="the plain BM25 peer")
        missing = [c for c in columns if c not in catalog.columns]
        if missing:
            raise ConfigError(f"columns {missing} are not in the catalogue ({catalog.columns})")
        table = catalog.table.sort("item", maintain_order=True)  # the order of CatalogIndex: positions compare
        text = table.select(pl.concat_str([pl.col(c).cast(pl.String) for c in columns], separator=" ",
                                          ignore_nulls=True).alias("t"))["t"].fill_null("").to_list()
        self._bm25s = bm25s
        self.model = bm25s.BM25()
        self.model.index(bm25s.tokenize(text, stopwords="en", show_progress=False), show_progress=False)
        self.items = table["item"]

    def search(self, queries: Sequence[str], k: int = 100) -> list[np.ndarray]:
        """Positions (in item-id order, as in the search index) of the top ``k`` of each query (fewer
        when few items match)."""
        tokens = self._bm25s.tokenize(list(queries), stopwords="en", show_progress=False)
        out: list[np.ndarray] = []
        vocab_inv = {v: t for t, v in tokens.vocab.items()}
        for ids in tokens.ids:
            words = [vocab_inv[i] for i in ids]
            scores = self.model.get_scores(words) if words else np.zeros(len(self.items))
            order = np.argsort(-scores, kind="stable")[:k]
            out.append(order[scores[order] > 0])
        return out


def rerank_by_counts(lists: Sequence[np.ndarray], counts: Callable[[int, np.ndarray], np.ndarray],
                     rows: Sequence[int]) -> list[np.ndarray]:
    """Each list re-ordered by the customer's past purchase count of its items (stable: equal
    counts keep the list's order); ``counts(row, items)`` gives the counts."""
    out = []
    for items, row in zip(lists, rows, strict=True):
        if items.size == 0 or row < 0:
            out.append(items)
            continue
        c = counts(row, items)
        out.append(items[np.argsort(-c, kind="stable")])
    return out


def target_ranks(lists: Iterable[np.ndarray], targets: Sequence[int]) -> np.ndarray:
    """1-based rank of each query's target in its list, 0 when absent."""
    ranks = []
    for items, t in zip(lists, targets, strict=True):
        hit = np.flatnonzero(np.asarray(items) == t)
        ranks.append(int(hit[0]) + 1 if hit.size else 0)
    return np.asarray(ranks, dtype=np.int64)


def query_metrics(ranks: np.ndarray, *, k: int = 10, depth: int = 100) -> dict[str, np.ndarray]:
    """Per-query NDCG@k, MRR (within ``depth``) and Recall@depth from target ranks (0 = absent)."""
    r = np.asarray(ranks, dtype=np.float64)
    found = r > 0
    return {
        f"NDCG@{k}": np.where(found & (r <= k), 1.0 / np.log2(r + 1.0, where=found, out=np.ones_like(r)), 0.0),
        "MRR": np.where(found & (r <= depth), 1.0 / np.where(found, r, 1.0), 0.0),
        f"Recall@{depth}": (found & (r <= depth)).astype(np.float64),
    }


@dataclass
class SystemRun:
    """One system's target ranks on one query set."""

    system: str
    variant: str
    ranks: np.ndarray

    def metrics(self) -> dict[str, np.ndarray]:
        return query_metrics(self.ranks)


def summarize(runs: Sequence[SystemRun], subsets: Mapping[str, np.ndarray], *, rng: int = 0,
              compare_to: Sequence[str] = (), compare_systems: Sequence[str] = (),
              groups: np.ndarray | None = None) -> dict[str, Any]:
    """Estimates with 95% intervals per system, variant, subset and metric, plus paired tests of
    each of ``compare_systems`` against each of ``compare_to`` (same queries). With ``groups``
    (one label per query, e.g. the customer), intervals and tests resample whole groups: one
    customer's queries are not independent."""
    rows: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    by_key = {(r.system, r.variant): r for r in runs}
    for run in runs:
        m = run.metrics()
        for subset, mask in subsets.items():
            for metric in METRICS:
                est: Estimate = bootstrap_ci(m[metric][mask], rng=rng,
                                             groups=None if groups is None else groups[mask])
                rows.append({"system": run.system, "variant": run.variant, "subset": subset, "metric": metric,
                             **est.to_dict()})
    for variant in sorted({r.variant for r in runs}):
        for sys_a in compare_systems:
            for sys_b in compare_to:
                a, b = by_key.get((sys_a, variant)), by_key.get((sys_b, variant))
                if a is None or b is None or sys_a == sys_b:
                    continue
                for subset, mask in subsets.items():
                    pt = paired_test(a.metrics()["NDCG@10"][mask], b.metrics()["NDCG@10"][mask], rng=rng,
                                     groups=None if groups is None else groups[mask])
                    tests.append({"a": sys_a, "b": sys_b, "variant": variant, "subset": subset, "metric": "NDCG@10",
                                  **pt.to_dict()})
    return {"rows": rows, "tests": tests}
