"""Validation-only exploration of the similar-paper engine on AAN (no test edge is used).

The split is the protocol's (``split_citations(..., rng=0)``: train 80% / validation 10% / test
10%); graph models are trained on the graph without the validation and test edges, cached, and
scored on the validation edges under many engine options (query mode, text weight, filtered or
unfiltered ranking; both relevance definitions). Training is the expensive part, evaluation is
cheap, so each trained embedding is scored on a whole grid.

    # train one candidate (trainer options as key=value), cached under --cache/explore/NAME
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/explore_graph_valid.py train NAME model=complex dim=64 epochs=20
    # score cached candidates on the validation edges -> benchmarks/results/graph_explore_valid.json
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/explore_graph_valid.py eval NAME [NAME ...]
    # the chosen configuration, retrained without the test edges and scored once on them
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/explore_graph_valid.py test QUERY WEIGHT RESULTS.json model=... ...
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench_graph import _number  # the scripts run from benchmarks/, so the sibling imports
from discoverly.graph.evaluation import evaluate_similar, proxy_relevance, split_citations
from discoverly.graph.kge import KGEmbedding, rank_triples
from discoverly.graph.similar import SimilarItems, paper_text_vectors
from discoverly.graph.workspace import GraphFolder, train_embedding

CACHE = Path.home() / ".cache/discoverly/bench_graph"
RESULTS = Path(__file__).parent / "results" / "graph_explore_valid.json"
WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6)
QUERIES = ("own", "tail", "head", "both", "tail+head")


def _load() -> tuple[Any, Any, Any]:
    gf = GraphFolder(CACHE / "aan")
    papers = gf.load_papers()
    with gf.open_store() as s:
        graph = s.graph()
    cites = graph.edges.filter(pl.col("relation") == "cites")
    split = split_citations(cites["src"].to_numpy(), cites["dst"].to_numpy(), rng=0)
    return gf, papers, (graph, split)


def train(name: str, opts: list[str]) -> None:
    _, _, (graph, split) = _load()
    hidden = np.concatenate([split.valid, split.test])
    g_sel = graph.without_edges("cites", hidden[:, 0], hidden[:, 1])
    kw = {k: _number(v) for k, v in (o.split("=", 1) for o in opts)}
    c0, t0 = time.process_time(), time.perf_counter()
    emb = train_embedding(g_sel, rng=0, threads=1, **kw)
    spent = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0,
             "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
             "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    emb.config["explore_train"] = spent
    emb.save(CACHE / "explore" / name)
    print(name, kw, spent, "last losses", emb.losses[-3:], flush=True)


def _cached(engine: SimilarItems, sources: np.ndarray, depth: int = 100) -> SimilarItems:
    """The engine with the top-``depth`` lists of ``sources`` computed once per ``exclude_linked``
    setting (every evaluation reuses them). The lists are the engine's own, its filter of the
    linked papers included; ``depth`` is ``evaluate_similar``'s."""
    lists: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
    row = {int(x): i for i, x in enumerate(sources.tolist())}

    class Cached(SimilarItems):
        def similar_positions(self, positions: np.ndarray, k: int,
                              exclude_linked: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
            assert k <= depth
            exclude = engine.exclude_linked if exclude_linked is None else bool(exclude_linked)
            if exclude not in lists:
                lists[exclude] = engine.similar_positions(sources, depth, exclude_linked=exclude)
            s, p = lists[exclude]
            i = np.array([row[int(x)] for x in positions])
            return s[i, :k], p[i, :k]

    c = Cached.__new__(Cached)
    c.__dict__.update(engine.__dict__)
    return c


def evaluate(names: list[str], weights: tuple[float, ...] = WEIGHTS, queries: tuple[str, ...] = QUERIES,
             hops: tuple[int, ...] = (0,)) -> None:
    gf, papers, (graph, split) = _load()
    n = len(papers)
    ids = graph.keys(np.arange(n))
    text = paper_text_vectors(papers, cache=gf.text)
    rels = {"direct": proxy_relevance(split.train, split.valid, n, cocited=False),
            "cocited": proxy_relevance(split.train, split.valid, n)}
    out = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"rows": []}
    out["what"] = ("validation-only exploration (seed-0 split; models trained without validation and test edges); "
                   "Recall@10 on the validation edges")
    out["command"] = "OMP_NUM_THREADS=1 nice -n 10 python benchmarks/explore_graph_valid.py eval " + " ".join(names)
    redo = {(nm, q, w, h) for nm in names for q in queries for w in weights for h in hops}
    rows = [r for r in out["rows"]  # others are kept
            if (r["name"], r["query"], r["weight"], r.get("text_hops", 0)) not in redo]

    sources = np.unique(np.concatenate([np.fromiter(r.keys(), np.int64) for r in rels.values()]))

    def score(name: str, engine: SimilarItems, query: str, w: float, extra: dict[str, Any]) -> None:
        row: dict[str, Any] = {"name": name, "query": query, "weight": w, **extra}
        eng = _cached(engine, sources)  # the engines' links are the visible (training) citations
        for rname, rel in rels.items():
            for filt in (False, True):
                r = evaluate_similar(eng, rel, k=10, exclude_linked=filt)
                key = f"{rname}{'_filtered' if filt else ''}"
                row[key] = round(r.recall.value, 4)
                row[key + "_ci"] = [round(r.recall.low, 4), round(r.recall.high, 4)]
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if not k.endswith("_ci")}), flush=True)

    if not any(r["name"] == "text-only" for r in rows):
        score("text-only", SimilarItems(ids, text=text, weight=1.0, links=split.train), "-", 1.0, {})
    for name in names:
        emb = KGEmbedding.load(CACHE / "explore" / name)
        g = emb.entity_vectors()[:n]
        cfg = {k: emb.config.get(k) for k in ("model", "dim", "epochs_run", "loss", "negatives", "sampler", "lr",
                                              "weight_decay", "regulariser", "batch_size")}
        link = _link(emb, graph, split, n)
        extra = {"config": cfg, "train": emb.config.get("explore_train"), "valid_link": link}
        print(name, cfg, "validation link prediction", link, flush=True)
        for h, q, w in ((h, q, w) for h in hops for q in queries for w in weights):
            if h and w == 0:
                continue  # text_hops changes only the text part
            spread = {"text_hops": h, "links": split.train}  # filtered lists; text over the visible citations
            gq, gq2 = (None, None) if q == "own" else emb.query_pair("cites", q, entities=np.arange(n))
            eng = SimilarItems(ids, text=text, graph=g, weight=w, graph_query=gq, graph_query_2=gq2, **spread)
            score(name, eng, q, w, {**extra, "text_hops": h})
        out["rows"] = rows
        out["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        RESULTS.write_text(json.dumps(out, indent=1))


def _link(emb: KGEmbedding, graph: Any, split: Any, n: int, sample: int = 2000) -> dict[str, float | int]:
    """Filtered link prediction of 2,000 validation citations against the training graph's triples."""
    names = emb.config["relations"]
    ci = names.index("cites")
    s = split.valid[np.random.default_rng(0).permutation(len(split.valid))[:sample]]
    fh, fr, ft, fnames = graph.triples()
    remap = np.array([names.index(x) if x in names else -1 for x in fnames])[fr]
    known = np.stack([fh, remap, ft], axis=1)[remap >= 0]
    lm = rank_triples(emb, np.stack([s[:, 0], np.full(len(s), ci), s[:, 1]], axis=1), known, candidates=np.arange(n))
    return {k: round(float(v), 4) if isinstance(v, float) else v for k, v in lm.to_dict().items()}


def test(query: str, weight: float, opts: list[str], results: Path, exclude_linked: bool = True) -> None:
    """Score the chosen configuration once on the test edges: retrained without the test edges
    (the protocol's seed 1000), text-only / graph-only / fused (and plain-query references), both
    relevance definitions, unfiltered and filtered; 95% bootstrap intervals; paired sign-flip tests;
    filtered link prediction of 2,000 test citations. Saves the engine (with the visible citations
    as its links) to the cached AAN folder for the latency stage of bench_graph.py."""
    from discoverly.evaluate.stats import paired_test

    gf, papers, (graph, split) = _load()
    n = len(papers)
    ids = graph.keys(np.arange(n))
    kw = {k: _number(v) for k, v in (o.split("=", 1) for o in opts)}
    hops = int(kw.pop("text_hops", 0))  # an engine option, not a trainer one
    g_test = graph.without_edges("cites", split.test[:, 0], split.test[:, 1])
    c0, t0 = time.process_time(), time.perf_counter()
    emb = train_embedding(g_test, rng=1000, threads=1, **kw)
    spent = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0,
             "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
             "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    print("trained", kw, spent, flush=True)
    text = paper_text_vectors(papers, cache=gf.text)
    visible = np.concatenate([split.train, split.valid])
    rels = {"cocited": proxy_relevance(visible, split.test, n), "direct": proxy_relevance(visible, split.test, n,
                                                                                          cocited=False)}
    g = emb.entity_vectors()[:n]
    gq, gq2 = (None, None) if query == "own" else emb.query_pair("cites", query, entities=np.arange(n))
    spread = {"text_hops": hops, "links": visible}  # filtered lists; text over the visible citations
    engines = {"text-only": SimilarItems(ids, text=text, weight=1.0, links=visible),
               "graph-only": SimilarItems(ids, text=text, graph=g, weight=0.0, graph_query=gq, graph_query_2=gq2,
                                          links=visible),
               "fused": SimilarItems(ids, text=text, graph=g, weight=weight, graph_query=gq, graph_query_2=gq2,
                                     **spread)}
    if gq is not None:
        engines["graph-only, plain query"] = SimilarItems(ids, text=text, graph=g, weight=0.0, links=visible)
        engines["fused, plain query"] = SimilarItems(ids, text=text, graph=g, weight=weight, **spread)
    if hops:  # references: the fused engine with the papers' own text, and the spread text alone
        engines["fused, own text"] = SimilarItems(ids, text=text, graph=g, weight=weight, graph_query=gq,
                                                  graph_query_2=gq2, links=visible)
        engines["text over citations"] = SimilarItems(ids, text=text, weight=1.0, **spread)
    sources = np.unique(np.concatenate([np.fromiter(r.keys(), np.int64) for r in rels.values()]))
    table: dict[str, Any] = {}
    per: dict[str, np.ndarray] = {}
    for name, engine in engines.items():
        eng = _cached(engine, sources)
        for rname, rel in rels.items():
            for filt in (False, True):
                key = f"{rname}{'_filtered' if filt else ''}"
                r = evaluate_similar(eng, rel, k=10, name=name, exclude_linked=filt, rng=0)
                table.setdefault(key, {})[name] = {"recall@10": r.recall.to_dict(), "mrr": r.mrr.to_dict()}
                per[f"{key}/{name}"] = r.per_paper_recall
                print(f"{key:18s} {name:24s} Recall@10 {r.recall}  MRR {r.mrr}", flush=True)
    paired = {}
    for key in table:
        for other in ("text-only", "graph-only", "fused, plain query", "fused, own text"):
            if f"{key}/{other}" in per:
                t = paired_test(per[f"{key}/fused"], per[f"{key}/{other}"], rng=0)
                paired[f"{key}: fused - {other}"] = t.to_dict()
                print(f"paired {key}: fused - {other}: {t.difference} p={t.p_value:.4g}", flush=True)
    names = emb.config["relations"]
    sample = split.test[np.random.default_rng(0).permutation(len(split.test))[:2000]]
    fh, fr, ft, fnames = graph.triples()
    remap = np.array([names.index(x) if x in names else -1 for x in fnames])[fr]
    known = np.stack([fh, remap, ft], axis=1)[remap >= 0]
    lm = rank_triples(emb, np.stack([sample[:, 0], np.full(len(sample), names.index("cites")), sample[:, 1]], axis=1),
                      known, candidates=np.arange(n))
    print("link prediction (filtered, 2,000 test citations):", lm.to_dict(), flush=True)
    chosen = {**kw, "query": query, "weight": weight, "text_hops": hops}
    out = {"what": "test edges scored once with the configuration chosen on validation "
                   "(benchmarks/results/graph_explore_valid.json)",
           "command": "OMP_NUM_THREADS=1 nice -n 10 python benchmarks/explore_graph_valid.py test "
                      + " ".join(sys.argv[2:]),
           "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "chosen": chosen, "train": spent,
           "split": split.to_dict(), "test": table, "paired": paired, "link": lm.to_dict(),
           "sources": {k: len(v) for k, v in rels.items()}}
    results.write_text(json.dumps(out, indent=1))
    emb.save(gf.kge)
    cites = g_test.edges.filter(pl.col("relation") == "cites")
    engine = SimilarItems(ids, text=text, graph=g, weight=weight, graph_query=gq, graph_query_2=gq2,
                          links=np.stack([cites["src"].to_numpy(), cites["dst"].to_numpy()], axis=1),
                          exclude_linked=exclude_linked, text_hops=hops,
                          config={**chosen, "kge_seconds": emb.seconds, "query_relation": "cites",
                                  "query_direction": query, "exclude_linked": exclude_linked})
    engine.save(gf.similar)


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "train":
        train(rest[0], rest[1:])
    elif cmd == "eval":  # EXPLORE_QUERIES / EXPLORE_WEIGHTS / EXPLORE_HOPS (comma-separated) set the grid
        import os

        evaluate(rest, tuple(float(w) for w in os.environ.get("EXPLORE_WEIGHTS", "").split(",") if w) or WEIGHTS,
                 tuple(q for q in os.environ.get("EXPLORE_QUERIES", "").split(",") if q) or QUERIES,
                 tuple(int(h) for h in os.environ.get("EXPLORE_HOPS", "").split(",") if h) or (0,))
    elif cmd == "link":  # validation link prediction only (cheap)
        _, papers_, (graph_, split_) = _load()
        for name in rest:
            e = KGEmbedding.load(CACHE / "explore" / name)
            print(name, e.config.get("explore_train"), _link(e, graph_, split_, len(papers_)), flush=True)
    elif cmd == "test":  # test QUERY WEIGHT RESULTS.json key=value ...
        test(rest[0], float(rest[1]), rest[3:], Path(__file__).parent / "results" / rest[2])
    else:
        raise SystemExit(__doc__)
