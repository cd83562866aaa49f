"""Judged product-search benchmarks (ESCI, WANDS): a catalogue, queries and graded judgements,
and their evaluation.

Two standard modes:

* ``rerank`` — each query's judged products are its candidates; the engine orders them and the
  metric is nDCG over the whole list (ESCI task 1: query-product ranking, gains E=1, S=0.1,
  C=0.01, I=0);
* ``retrieve`` — the engine searches the whole catalogue; nDCG@10 and Recall@100 of the products
  judged relevant (unjudged products count as irrelevant).

Both report a 95% bootstrap interval over queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.stats import bootstrap_ci

if TYPE_CHECKING:
    from discoverly.search.engine import SearchEngine

__all__ = ["JudgedDataset", "evaluate_judged", "dcg"]


@dataclass(frozen=True)
class JudgedDataset:
    """``catalog`` (canonical columns item/title/...), ``queries`` (``query_id``, ``query``, and
    optionally ``query_class``) and ``judgements`` (``query_id``, ``item``, ``label``, ``gain``)."""

    name: str
    catalog: Catalog
    queries: pl.DataFrame
    judgements: pl.DataFrame

    def __post_init__(self) -> None:
        for frame, cols, what in ((self.queries, ("query_id", "query"), "queries"),
                                  (self.judgements, ("query_id", "item", "gain"), "judgements")):
            missing = set(cols) - set(frame.columns)
            if missing:
                raise DataError(f"the {what} of {self.name} lack columns {sorted(missing)}")

    def __repr__(self) -> str:
        return (f"JudgedDataset({self.name!r}: {len(self.catalog):,} products, {self.queries.height:,} queries, "
                f"{self.judgements.height:,} judgements)")


def dcg(gains: np.ndarray, k: int | None = None) -> float:
    """Discounted cumulative gain ``sum g_i / log2(i + 1)`` (rank i from 1) of the first ``k``."""
    g = np.asarray(gains, dtype=np.float64)[: k if k is not None else None]
    return float((g / np.log2(np.arange(2, g.size + 2))).sum())


def evaluate_judged(engine: SearchEngine, data: JudgedDataset, *, mode: Literal["rerank", "retrieve"] = "rerank",
                    method: str = "auto", k: int = 10, depth: int = 100, limit: int | None = None,
                    rng: int = 0) -> dict[str, Any]:
    """nDCG (and, when retrieving, Recall@depth) of ``engine`` on ``data`` with 95% intervals."""
    if mode not in ("rerank", "retrieve"):
        raise ConfigError(f"mode must be 'rerank' or 'retrieve', got {mode!r}")
    judg = data.judgements.with_columns(pl.col("item").cast(pl.String))
    pos = engine.index.items.indices(judg["item"].to_list(), missing=-1)
    judg = judg.with_columns(pl.Series("pos", pos)).filter(pl.col("pos") >= 0)
    by_query = {qid: (frame["pos"].to_numpy(), frame["gain"].to_numpy().astype(np.float64))
                for (qid,), frame in judg.group_by("query_id")}
    queries = data.queries.filter(pl.col("query_id").is_in(list(by_query)))
    if limit is not None:
        queries = queries.head(limit)
    ndcgs, recalls = [], []
    for qid, text in queries.select("query_id", "query").iter_rows():
        items, gains = by_query[qid]
        ideal = np.sort(gains)[::-1]
        if not text or not str(text).strip() or ideal[0] <= 0:
            continue
        ctx = engine.understand(str(text))
        if mode == "rerank":
            scores = engine.score_items(ctx, items, method=method)  # type: ignore[arg-type]
            order = np.lexsort((np.arange(items.size), -scores))
            ndcgs.append(dcg(gains[order]) / dcg(ideal))
        else:
            ranked, _, _ = engine.rank(ctx, None, depth, method=method)  # type: ignore[arg-type]
            gain_of = dict(zip(items.tolist(), gains.tolist(), strict=True))
            got = np.array([gain_of.get(int(i), 0.0) for i in ranked])
            ndcgs.append(dcg(got, k) / dcg(ideal, k))
            relevant = {i for i, g in gain_of.items() if g > 0}
            recalls.append(len(relevant.intersection(ranked.tolist())) / len(relevant))
    if not ndcgs:
        raise DataError(f"no query of {data.name} has a judged relevant product in the index")
    out: dict[str, Any] = {"dataset": data.name, "mode": mode, "method": method, "queries": len(ndcgs)}
    key = "nDCG" if mode == "rerank" else f"nDCG@{k}"
    out[key] = bootstrap_ci(np.array(ndcgs), rng=rng).to_dict()
    if recalls:
        out[f"Recall@{depth}"] = bootstrap_ci(np.array(recalls), rng=rng).to_dict()
    return out
