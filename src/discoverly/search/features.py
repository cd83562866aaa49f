"""Ranking features of (query, item) pairs and the item statistics behind them.

Every candidate of a query gets one row of :func:`query_item_features`, in the order of
:func:`feature_names`: per-field BM25, the share of the query each field covers and whether a
field matches the query exactly, dense similarity, the candidate's rank in the lexical and dense
lists and their reciprocal-rank fusion, popularity and recent popularity, price (absolute and
relative to the other candidates), brand and size matches, and the query classifier's belief in
the candidate's category. Missing values are ``nan`` (LightGBM learns where they go).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from discoverly.data.interactions import Interactions, TimeLike, to_epoch_seconds
from discoverly.search.attributes import DIMENSIONS, QueryAttributes
from discoverly.search.index import CatalogIndex

__all__ = ["ItemStats", "QueryContext", "Candidates", "feature_names", "query_item_features", "align_items"]

DAY = 86_400


def align_items(interactions: Interactions, index: CatalogIndex) -> np.ndarray:
    """Per item of ``interactions``: its index in ``index`` (``-1`` when the catalogue lacks it)."""
    return index.items.indices(interactions.items.ids.tolist(), missing=-1)


@dataclass(frozen=True)
class ItemStats:
    """Per catalogue item, as of ``now``: distinct buyers ever and in the last ``recent_days``."""

    buyers: np.ndarray
    recent_buyers: np.ndarray
    now: int
    recent_days: int

    @classmethod
    def empty(cls, n_items: int, *, now: int = 0, recent_days: int = 28) -> ItemStats:
        z = np.zeros(n_items, dtype=np.float32)
        return cls(z, z.copy(), now, recent_days)

    @classmethod
    def fit(cls, interactions: Interactions, index: CatalogIndex, *, now: TimeLike | None = None,
            recent_days: int = 28) -> ItemStats:
        """Counts from the events of ``interactions`` before ``now`` (default: after the last one)."""
        t = int(interactions.timestamp[-1]) + 1 if now is None and len(interactions) else to_epoch_seconds(now or 0)
        log = interactions.before(t)
        pos = align_items(interactions, index)
        buyers = np.zeros(len(index), dtype=np.float32)
        recent = np.zeros(len(index), dtype=np.float32)
        if len(log):
            counts = log.item_counts()
            ok = pos >= 0
            buyers[pos[ok]] = counts[ok]
            rec = log.between(t - recent_days * DAY, t)
            if len(rec):
                rc = rec.item_counts()
                recent[pos[ok]] = rc[ok]
        return cls(buyers, recent, t, recent_days)

    def prior(self) -> np.ndarray:
        """Popularity mapped into [0, 1): orders items of equal text score (recent buyers first)."""
        score = np.log1p(self.recent_buyers) * 1000 + np.log1p(self.buyers)
        top = float(score.max()) if score.size else 0.0
        return (score / (top * 1.001)).astype(np.float32) if top > 0 else np.zeros_like(score)


@dataclass
class QueryContext:
    """A query after understanding: its text, tokens (corrected), attributes, category beliefs,
    token ids per lexical field, and its embedding (``None`` without a dense index)."""

    text: str
    tokens: list[str]
    token_ids: list[np.ndarray]
    attributes: QueryAttributes = field(default_factory=QueryAttributes)
    category_logp: np.ndarray | None = None
    vector: np.ndarray | None = None
    corrected: bool = False
    original_tokens: list[str] = field(default_factory=list)


@dataclass
class Candidates:
    """A query's candidate items and what the first stage knows about them."""

    items: np.ndarray
    field_scores: np.ndarray  # (n_fields, n)
    dense: np.ndarray  # (n,) cosine, nan without a dense index
    lexical_rank: np.ndarray  # (n,) 1-based, nan when not in the lexical list
    dense_rank: np.ndarray
    fused: np.ndarray  # reciprocal-rank fusion score


def feature_names(index: CatalogIndex) -> list[str]:
    fields = list(index.fields)
    return ([f"bm25.{f}" for f in fields] + ["bm25.total"] + [f"cover.{f}" for f in fields]
            + [f"exact.{f}" for f in fields]
            + ["dense", "rank.lexical", "rank.dense", "rrf", "pop", "pop.recent", "pop.trend", "price", "price.rel",
               "brand.query", "brand.match", "size.query", "size.match", "size.logdiff", "cat.logp", "cat.rank",
               "query.tokens", "query.corrected"])


def query_item_features(ctx: QueryContext, cand: Candidates, index: CatalogIndex, stats: ItemStats) -> np.ndarray:
    """The feature matrix ``(len(cand.items), len(feature_names(index)))``, float32."""
    items = cand.items
    n = items.size
    cols: list[np.ndarray] = []
    fs = cand.field_scores
    cols.extend(fs)
    cols.append(index.lexical.weights @ fs)
    cover, exact = index.lexical.coverage(ctx.token_ids, items, n_query=len(set(ctx.tokens)))
    cols.extend(cover)
    if ctx.attributes.brand or ctx.attributes.size:
        # an exact field match ignores the brand and size words a query adds ("cookies 16 oz")
        rest = ctx.attributes.rest
        _, exact = index.lexical.coverage(index.lexical.token_ids(rest), items, n_query=len(set(rest)))
    cols.extend(exact)
    cols.append(cand.dense)
    cols.append(np.log1p(cand.lexical_rank))
    cols.append(np.log1p(cand.dense_rank))
    cols.append(cand.fused)
    buyers = stats.buyers[items]
    recent = stats.recent_buyers[items]
    cols.append(np.log1p(buyers))
    cols.append(np.log1p(recent))
    total, total_recent = float(stats.buyers.sum()) or 1.0, float(stats.recent_buyers.sum()) or 1.0
    cols.append(np.log((recent / total_recent + 1e-7) / (buyers / total + 1e-7)))
    price = index.price[items].astype(np.float64)
    log_price = np.log1p(price)
    cols.append(log_price)
    med = np.nanmedian(log_price) if np.isfinite(log_price).any() else np.nan
    cols.append(log_price - med)
    attrs = ctx.attributes
    nan = np.full(n, np.nan)
    brand_codes = index.facet("brand")
    if attrs.brand is not None and brand_codes is not None:
        names = index.facets["brand"][1]
        want = [i for i, v in enumerate(names) if index.attributes.brand_of(v) == attrs.brand]
        cols.append(np.ones(n))
        cols.append(np.isin(brand_codes[items], want).astype(np.float64))
    else:
        cols.extend([np.zeros(n), nan])
    if attrs.size is not None:
        dim = DIMENSIONS[attrs.size.dimension]
        base = index.size_base[items].astype(np.float64)
        same = index.size_dim[items] == dim
        cols.append(np.ones(n))
        close = np.abs(base - attrs.size.base) <= 0.03 * np.maximum(base, attrs.size.base)
        cols.append((same & close).astype(np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            cols.append(np.where(same & (base > 0), np.abs(np.log(base / attrs.size.base)), np.nan))
    else:
        cols.extend([np.zeros(n), nan, nan])
    cat = index.facet("category")
    if ctx.category_logp is not None and cat is not None:
        codes = cat[items]
        logp = np.where(codes >= 0, ctx.category_logp[np.maximum(codes, 0)], np.nan)
        order = np.argsort(-ctx.category_logp, kind="stable")
        rank_of = np.empty(order.size, dtype=np.float64)
        rank_of[order] = np.arange(1, order.size + 1)
        cols.append(logp)
        cols.append(np.where(codes >= 0, np.log(rank_of[np.maximum(codes, 0)]), np.nan))
    else:
        cols.extend([nan, nan])
    cols.append(np.full(n, float(len(ctx.tokens))))
    cols.append(np.full(n, float(ctx.corrected)))
    return np.column_stack(cols).astype(np.float32) if n else np.zeros((0, len(cols)), dtype=np.float32)

