"""Run the personalised product-search protocol end to end on Complete Journey.

Time line (``T`` = the cutoff)::

    S = T - valid_weeks - train_weeks      V = T - valid_weeks                 T            end
    |---- training queries (features as of S) ----|-- validation queries (as of V) --|-- test (as of T) --|

* hyperparameters (BM25 field weights, fusion weights, LambdaMART settings) are chosen on the
  validation queries, the rankers trained on the training queries; nothing after ``T`` is seen
  before the test;
* the test queries are purchases after ``T``; features (popularity, customer profiles,
  relatedness) use only the events before ``T``;
* intervals and paired tests resample customers (a customer's test purchases are not independent);
* systems: plain bm25s (the peer), the peer re-ranked by the customer's past purchase counts, BM25
  with field weights, the same with a popularity tie-break, dense (MiniLM + faiss), hybrid
  (reciprocal-rank fusion), learning-to-rank, learning-to-rank with personalisation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.data.interactions import Interactions, to_epoch_seconds
from discoverly.errors import DataError
from discoverly.evaluate.stats import bootstrap_ci, paired_test
from discoverly.search.benchmark import (
    PlainBM25,
    SystemRun,
    purchase_queries,
    query_metrics,
    rerank_by_counts,
    summarize,
    target_ranks,
    unit_prices,
)
from discoverly.search.dense import EmbeddingCache
from discoverly.search.engine import EngineConfig, Method, SearchEngine
from discoverly.search.features import QueryContext
from discoverly.search.index import IndexConfig
from discoverly.search.ranker import LambdaRanker, RankerConfig, group_split
from discoverly.text_embedding import TextEncoder

__all__ = ["ProtocolConfig", "run_protocol", "feature_ablation", "SYSTEMS"]

logger = logging.getLogger(__name__)

WEEK = 7 * 86_400

#: system name -> engine method (``None``: computed outside the engine)
SYSTEMS: dict[str, Method | None] = {
    "bm25s (peer)": None, "bm25s + past-purchase re-rank": None, "BM25 fields": "lexical",
    "BM25 fields + popularity ties": "lexical", "dense": "dense", "hybrid (RRF)": "hybrid",
    "learning-to-rank": "ltr", "learning-to-rank + personalisation": "personal",
}


def _default_weight_grid() -> list[dict[str, float]]:
    return [{}, {"product_type": 2.0}, {"product_type": 3.0, "title": 0.5}, {"product_type": 2.0, "department": 0.5},
            {"product_type": 4.0, "category": 2.0}]


def _default_ranker_grid() -> list[dict[str, Any]]:
    return [{"num_leaves": 15, "learning_rate": 0.05}, {"num_leaves": 63, "learning_rate": 0.05}]


@dataclass(frozen=True)
class ProtocolConfig:
    """Settings of the protocol run; the grids are searched on validation queries only. Training
    and validation queries use the variant text (type words plus size or brand words) for a
    ``variant_share`` of the purchases, so the rankers learn from both kinds of query.
    LightGBM runs on ``ranker_threads`` threads (one is fastest on a busy machine)."""

    cutoff: str = "2017-11-01"
    end: str | None = None
    valid_weeks: int = 2
    train_weeks: int = 6
    n_test: int = 3000
    n_train: int = 5000
    n_valid: int = 1500
    seed: int = 0
    fields: tuple[str, ...] = ("title", "product_type", "category", "department", "brand", "package_size")
    dense_fields: tuple[str, ...] = ("title", "department")
    facets: tuple[str, ...] = ("product_type", "manufacturer_id")
    peer_columns: tuple[str, ...] = ("department", "category", "product_type", "brand", "package_size")
    brand_aliases: Mapping[str, str] = field(default_factory=lambda: {"store brand": "Private",
                                                                     "national brand": "National"})
    weight_grid: Sequence[Mapping[str, float]] = field(default_factory=_default_weight_grid)
    fusion_grid: Sequence[tuple[float, float, float]] = ((1.0, 1.0, 60.0), (1.0, 0.5, 60.0), (1.0, 0.25, 20.0))
    ranker_grid: Sequence[Mapping[str, Any]] = field(default_factory=_default_ranker_grid)
    dense: bool = True
    related: bool = True
    variant_share: float = 0.5
    ranker_threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["brand_aliases"] = dict(self.brand_aliases)
        return d


def _ranks_of(engine: SearchEngine, contexts: Mapping[str, QueryContext], queries: Sequence[str], users: Sequence[Any],
              targets: np.ndarray, method: Method, depth: int = 100) -> np.ndarray:
    lists = []
    for q, u in zip(queries, users, strict=True):
        items, _, _ = engine.rank(contexts[q], u if method in ("personal", "auto") else None, depth, method=method)
        lists.append(items)
    return target_ranks(lists, targets.tolist())


def _contexts(engine: SearchEngine, queries: Sequence[str]) -> dict[str, QueryContext]:
    return {q: engine.understand(q) for q in dict.fromkeys(queries)}


def _ndcg(ranks: np.ndarray) -> float:
    return float(query_metrics(ranks)["NDCG@10"].mean())


def _group_ranks(scores: np.ndarray, y: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Rank of the positive row in each group under ``scores`` (0 when the group has none)."""
    out = np.zeros(sizes.size, dtype=np.int64)
    start = 0
    for g, n in enumerate(sizes.tolist()):
        s, lab = scores[start:start + n], y[start:start + n]
        pos = np.flatnonzero(lab > 0)
        if pos.size:
            # ties count half: the expected rank when equal scores are ordered at random
            out[g] = 1 + int((s > s[pos[0]]).sum()) + int((s == s[pos[0]]).sum() - 1) // 2
        start += n
    return out


def run_protocol(interactions: Interactions, catalog: Catalog, *, transactions: Any = None,
                 config: ProtocolConfig | None = None, encoder: TextEncoder | None = None,
                 embeddings: EmbeddingCache | None = None, related_fn: Callable[[Interactions], Any] | None = None,
                 progress: bool = False, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the protocol; returns a JSON-ready dict (config, timings, choices, estimates, tests)
    and, under ``"engine"``, the trained :class:`SearchEngine` (as of the cutoff).

    ``transactions`` (path or frame with ``sales_value``) gives prices; ``related_fn(log)``
    computes an items × items relatedness from a log (default: the corrected score of
    :func:`discoverly.recommend.relatedness.related_items` when available).
    """
    cfg = config or ProtocolConfig()
    say = log or (lambda msg: logger.info(msg))
    T = to_epoch_seconds(cfg.cutoff)
    V = T - cfg.valid_weeks * WEEK
    S = V - cfg.train_weeks * WEEK
    end = to_epoch_seconds(cfg.end) if cfg.end else int(interactions.timestamp[-1]) + 1
    if not interactions.timestamp[0] < S < T < end:
        raise DataError(f"the log ({interactions.start}..{interactions.end}) does not cover the protocol's windows")
    rng = np.random.default_rng(cfg.seed)
    timings: dict[str, float] = {}
    result: dict[str, Any] = {"config": cfg.to_dict(), "timings": timings}

    # -- catalogue with prices, index -----------------------------------------------------------
    table = catalog.table
    if transactions is not None and "price" not in table.columns:
        prices = unit_prices(transactions, before=T)
        table = table.join(prices.with_columns(pl.col("item").cast(table["item"].dtype)), on="item", how="left",
                           maintain_order="left")
        catalog = Catalog(table)
    index_config = IndexConfig(fields=cfg.fields, dense_fields=cfg.dense_fields, facets=cfg.facets, dense=cfg.dense,
                               brand_aliases=cfg.brand_aliases)
    t0, c0 = time.perf_counter(), time.process_time()
    engine = SearchEngine.build(catalog, index_config=index_config, encoder=encoder, embeddings=embeddings,
                                config=EngineConfig(), progress=progress)
    timings["index_seconds"] = time.perf_counter() - t0
    timings["index_cpu_seconds"] = time.process_time() - c0
    result["index_timings"] = engine.index.timings
    if engine.index.dense is not None:
        result["embedding"] = engine.index.dense.stats
    say(f"indexed {len(engine.index):,} items in {timings['index_seconds']:.1f}s")

    # -- queries --------------------------------------------------------------------------------
    train = purchase_queries(interactions, catalog, start=S, end=V, n=cfg.n_train, rng=rng)
    valid = purchase_queries(interactions, catalog, start=V, end=T, n=cfg.n_valid, rng=rng)
    test = purchase_queries(interactions, catalog, start=T, end=end, n=cfg.n_test, rng=rng)
    result["queries"] = {"train": train.height, "valid": valid.height, "test": test.height,
                         "test_new_share": float(np.mean(test["new"].to_numpy()))}
    train = _mixed(train, cfg.variant_share, rng)
    valid = _mixed(valid, cfg.variant_share, rng)
    engine.fit_classifier(train.select("query", "item"))

    # -- validation: field weights and fusion -----------------------------------------------------
    engine.refresh(interactions, now=V)
    v_targets = engine.index.items.indices(valid["item"].to_list(), missing=-1)
    v_queries, v_users = valid["query"].to_list(), valid["user"].to_list()
    choices: dict[str, Any] = {"weights": [], "fusion": [], "ranker": []}
    best_w, best_score = None, -1.0
    popularity = engine.config.popularity_tiebreak
    engine.config = replace(engine.config, popularity_tiebreak=False)
    ctx = _contexts(engine, v_queries)  # understanding does not depend on the field weights
    for weights in cfg.weight_grid:
        engine.index.lexical.weights = np.array([float(weights.get(f, 1.0)) for f in engine.index.fields], np.float32)
        score = _ndcg(_ranks_of(engine, ctx, v_queries, v_users, v_targets, "lexical"))
        choices["weights"].append({"weights": dict(weights), "valid_ndcg": score})
        if score > best_score:
            best_w, best_score = dict(weights), score
    assert best_w is not None
    engine.index.lexical.weights = np.array([float(best_w.get(f, 1.0)) for f in engine.index.fields], np.float32)
    engine.config = replace(engine.config, popularity_tiebreak=popularity)
    say(f"field weights chosen on validation: {best_w} (NDCG@10 {best_score:.4f})")
    v_ctx = ctx
    if engine.index.dense is not None:
        best_f, best_score = cfg.fusion_grid[0], -1.0
        for lw, dw, k0 in cfg.fusion_grid:
            engine.config = replace(engine.config, fusion_weights=(lw, dw), fusion_k0=k0)
            score = _ndcg(_ranks_of(engine, v_ctx, v_queries, v_users, v_targets, "hybrid"))
            choices["fusion"].append({"weights": [lw, dw], "k0": k0, "valid_ndcg": score})
            if score > best_score:
                best_f, best_score = (lw, dw, k0), score
        engine.config = replace(engine.config, fusion_weights=(best_f[0], best_f[1]), fusion_k0=best_f[2])
        say(f"fusion chosen on validation: {best_f} (NDCG@10 {best_score:.4f})")

    # -- relatedness ---------------------------------------------------------------------------
    if related_fn is None and cfg.related:
        related_fn = _default_related
    t0 = time.perf_counter()
    rel_train = related_fn(interactions.before(S)) if related_fn is not None else None
    timings["relatedness_seconds"] = time.perf_counter() - t0

    # -- learning to rank: features once, grid on validation -----------------------------------
    t0 = time.perf_counter()
    engine.refresh(interactions, now=S, related=rel_train)
    train_log = train.select("query", "item", "user")
    tr = {p: engine.training_groups(train_log, personal=p, progress=progress) for p in (False, True)}
    engine.refresh(interactions, now=V, related=rel_train)
    valid_log = valid.select("query", "item", "user")
    va = {p: engine.training_groups(valid_log, personal=p, progress=progress, keep_missing=True) for p in (False, True)}
    has_hist = np.array([engine.profiles is not None and engine.profiles.has_history(engine.user_row(u))
                         for u in v_users])
    timings["ranker_features_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    best: dict[bool, tuple[float, LambdaRanker | None]] = {False: (-1.0, None), True: (-1.0, None)}
    best_params: dict[bool, dict[str, Any]] = {False: {}, True: {}}
    ltr_ranks: dict[bool, np.ndarray] = {}
    for params in cfg.ranker_grid:
        rc = replace(RankerConfig(threads=cfg.ranker_threads), **params)
        for personal in (False, True):
            X, y, sizes, keys = tr[personal]
            vq = group_split(keys, 0.2, rng=cfg.seed)
            vr = np.repeat(vq, sizes)
            ranker = LambdaRanker(engine.feature_names(personal), rc).fit(
                X[~vr], y[~vr], sizes[~vq],
                valid=(X[vr], y[vr], sizes[vq]), rng=cfg.seed)
            Xv, yv, sv, _ = va[personal]
            ranks = _group_ranks(ranker.predict(Xv), yv, sv)
            if personal:  # customers without history get the non-personalised ranking
                ranks = np.where(has_hist, ranks, ltr_ranks.get(False, ranks))
            else:
                ltr_ranks[False] = ranks
            score = _ndcg(ranks)
            choices["ranker"].append({"personal": personal, **params, "trees": ranker.best_iteration,
                                      "valid_ndcg": score})
            if score > best[personal][0]:
                best[personal] = (score, ranker)
                best_params[personal] = dict(params)
                if not personal:
                    ltr_ranks[False] = ranks
    engine.ranker, engine.personal_ranker = best[False][1], best[True][1]
    timings["ranker_training_seconds"] = time.perf_counter() - t0
    say(f"rankers chosen on validation: NDCG@10 {best[False][0]:.4f} (ltr), {best[True][0]:.4f} (personal)")
    result["choices"] = choices
    if engine.ranker is not None:
        result["importance"] = {"ltr": _top(engine.ranker.importance()),
                                "personal": _top(engine.personal_ranker.importance()) if engine.personal_ranker else {}}

    # -- test ------------------------------------------------------------------------------------
    t0 = time.perf_counter()
    rel_test = related_fn(interactions.before(T)) if related_fn is not None else None
    timings["relatedness_seconds"] += time.perf_counter() - t0
    engine.refresh(interactions, now=T, related=rel_test)
    t_targets = engine.index.items.indices(test["item"].to_list(), missing=-1)
    t_users = test["user"].to_list()
    rows = np.array([engine.user_row(u) for u in t_users])
    counts = interactions.before(T).matrix("count")
    pos_in_index = engine.index.items.indices(interactions.items.ids.tolist(), missing=-1)
    item_of_index = np.full(len(engine.index), -1, dtype=np.int64)
    item_of_index[pos_in_index[pos_in_index >= 0]] = np.flatnonzero(pos_in_index >= 0)

    def past_counts(row: int, items: np.ndarray) -> np.ndarray:
        cols = item_of_index[items]
        user = interactions.users.index(engine.profiles.users.id(row)) if engine.profiles is not None else row
        vals = np.asarray(counts[user, np.maximum(cols, 0)].todense()).ravel()
        return np.where(cols >= 0, vals, 0.0)

    peer = PlainBM25(catalog, cfg.peer_columns)
    runs: list[SystemRun] = []
    t0 = time.perf_counter()
    for variant in ("query", "variant"):
        queries = test[variant].to_list()
        ctx = _contexts(engine, queries)
        peer_deep = peer.search(queries, k=1000)
        runs.append(SystemRun("bm25s (peer)", variant, target_ranks([p[:100] for p in peer_deep], t_targets.tolist())))
        reranked = rerank_by_counts(peer_deep, past_counts, rows.tolist())
        runs.append(SystemRun("bm25s + past-purchase re-rank", variant,
                              target_ranks([r[:100] for r in reranked], t_targets.tolist())))
        for name, method in SYSTEMS.items():
            if method is None or (method in ("dense", "hybrid") and engine.index.dense is None):
                continue
            saved = engine.config
            if name == "BM25 fields":
                engine.config = replace(engine.config, popularity_tiebreak=False)
            runs.append(SystemRun(name, variant, _ranks_of(engine, ctx, queries, t_users, t_targets,
                                                           "auto" if method == "personal" else method)))
            engine.config = saved
        say(f"tested the {variant} queries")
    timings["test_seconds"] = time.perf_counter() - t0
    new = test["new"].to_numpy()
    subsets = {"all": np.ones(test.height, dtype=bool), "new to customer": new, "bought before": ~new}
    result.update(summarize(runs, subsets, rng=cfg.seed,
                            compare_to=["bm25s (peer)", "bm25s + past-purchase re-rank", "learning-to-rank"],
                            compare_systems=["learning-to-rank + personalisation", "learning-to-rank"],
                            groups=np.asarray([str(u) for u in t_users])))
    result["engine"] = engine
    result["test_queries"] = test
    #: for :func:`feature_ablation` (not JSON): the personalised training groups and the chosen settings
    result["ablation_inputs"] = {"train": tr[True], "params": best_params[True], "threads": cfg.ranker_threads,
                                 "seed": cfg.seed}
    return result


def _default_ablation_groups() -> dict[str, Callable[[str], bool]]:
    return {
        "the customer's own history of the item": lambda n: n.startswith("u.item_"),
        "customer affinity (category/brand/type/manufacturer shares, history size, novelty)": lambda n: (
            n.startswith("u.") and (n.endswith(".share") or n.endswith(".items") or n in ("u.history", "u.novelty"))),
        "customer price level": lambda n: n == "u.price_diff",
        "item-to-item relatedness to past purchases": lambda n: n.startswith("u.related_"),
        "popularity": lambda n: n.startswith("pop"),
        "dense similarity and fusion": lambda n: n in ("dense", "rank.dense", "rrf"),
        "query understanding (category belief, brand and size matches)": lambda n: (
            n.startswith("cat.") or n.startswith("brand.") or n.startswith("size.")),
    }


def feature_ablation(engine: SearchEngine, inputs: Mapping[str, Any], test: pl.DataFrame, *,
                     groups: Mapping[str, Callable[[str], bool]] | None = None,
                     log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Each feature group's contribution to the personalised ranker: the ranker is retrained (same
    training queries, same settings) without the group, and all test queries are re-ranked over the
    same candidates (the engine as of the cutoff). Reports NDCG@10 of the full and the reduced
    models overall and on new-to-customer purchases, with customer-resampled 95% intervals and
    paired tests against the full model. ``inputs`` is ``run_protocol(...)["ablation_inputs"]``."""
    say = log or (lambda msg: logger.info(msg))
    X, y, sizes, keys = inputs["train"]
    names = engine.feature_names(True)
    te = engine.training_groups(test.select("query", "item", "user"), personal=True, keep_missing=True)
    Xt, yt, st, kt = te
    users = np.asarray([str(u) for u in kt])
    new = test["new"].to_numpy()
    rc = replace(RankerConfig(threads=int(inputs["threads"])), **inputs["params"])
    vq = group_split(keys, 0.2, rng=int(inputs["seed"]))
    vr = np.repeat(vq, sizes)
    per_query: dict[str, np.ndarray] = {}
    out: dict[str, Any] = {"queries": int(st.size), "settings": dict(inputs["params"]), "rows": []}
    for label, drop in {"all features": (lambda n: False), **(groups or _default_ablation_groups())}.items():
        keep = np.array([not drop(n) for n in names])
        if label != "all features" and keep.all():
            continue
        t0 = time.perf_counter()
        ranker = LambdaRanker([n for n, k in zip(names, keep, strict=True) if k], rc).fit(
            X[~vr][:, keep], y[~vr], sizes[~vq], valid=(X[vr][:, keep], y[vr], sizes[vq]), rng=int(inputs["seed"]))
        ranks = _group_ranks(ranker.predict(Xt[:, keep]), yt, st)
        ndcg = query_metrics(ranks)["NDCG@10"]
        per_query[label] = ndcg
        row: dict[str, Any] = {"without": label, "features_dropped": int((~keep).sum()), "trees": ranker.best_iteration}
        for subset, mask in (("all", np.ones(ndcg.size, bool)), ("new to customer", new)):
            row[subset] = bootstrap_ci(ndcg[mask], rng=0, groups=users[mask]).to_dict()
            if label != "all features":
                row[f"{subset} vs all features"] = paired_test(ndcg[mask], per_query["all features"][mask], rng=0,
                                                               groups=users[mask]).to_dict()
        out["rows"].append(row)
        say(f"ablation without {label}: NDCG@10 {ndcg.mean():.4f} ({time.perf_counter() - t0:.0f}s)")
    return out


def _mixed(frame: pl.DataFrame, share: float, rng: np.random.Generator) -> pl.DataFrame:
    """``frame`` with the ``variant`` text as the ``query`` of a random ``share`` of the rows."""
    pick = rng.random(frame.height) < share
    return frame.with_columns(pl.when(pl.Series(pick)).then(pl.col("variant")).otherwise(pl.col("query"))
                              .alias("query"))


def _top(importance: Mapping[str, float], n: int = 12) -> dict[str, float]:
    total = sum(importance.values()) or 1.0
    return {k: round(v / total, 4) for k, v in list(importance.items())[:n]}


def _default_related(log: Interactions) -> Any:
    try:
        from discoverly.recommend.relatedness import related_items
    except ImportError:
        logger.warning("item-to-item relatedness is not available; personalisation runs without it")
        return None
    return related_items(log.matrix("binary"), "corrected", neighbours=50, min_count=2)

