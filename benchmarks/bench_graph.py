"""Knowledge graph on the ACL Anthology Network: build time, KG-embedding backends, the hidden-edge
proxy evaluation (text-only vs graph-only vs fused), and similar-paper query latency.

Protocol (see ``discoverly.graph.evaluation``): 10% of citation edges hidden as the test set and
another 10% as the validation set; graph model, dimension and text weight are chosen on the
validation edges only; the chosen configuration is retrained without the test edges and scored on
them (Recall@10 and MRR with 95% bootstrap intervals over source papers; paired sign-flip tests).

Backends: the built-in torch trainer and PyKEEN train the same TransE (same dimension, epochs,
batch size, negatives, learning rate) on the same graph in this run; both are scored with the same
filtered link-prediction evaluator and the same proxy protocol.

Run (from the repository root)::

    DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=2 nice python benchmarks/bench_graph.py

``--stages`` picks what runs (default ``build,protocol,latency,report``; a stage that needs the graph
or the engine and runs without the stage that makes it reads them from ``--cache``):

- ``build``: the AAN graph build, timed (wall and CPU seconds) -> ``graph.json``
- ``protocol``, ``latency``, ``report``: the hidden-edge protocol, query latency, HTML report -> ``graph.json``
- ``backends``: the same TransE trained by the torch module and by PyKEEN -> ``graph_backends.json``
- ``topics``: LDA settings on AAN titles (time, NPMI coherence, perplexity) -> ``graph_topics.json``
- ``products``: the Complete Journey product-graph example of docs/graph.md -> ``graph_products.json``
- ``kge-speed``: CPU seconds per mini-batch of the torch trainer on the AAN graph (TransE, DistMult;
  uniform and typed negatives; with ``--old-kge FILE`` also an older ``kge.py``, e.g.
  ``git show 6e7c244:src/discoverly/graph/kge.py > /tmp/kge_old.py``) -> ``graph_kge_speed.json``
- ``latency-variants``: single-query CPU time and latency of faiss index kinds on vectors of the
  AAN engine's shape -> ``graph_latency_variants.json``
- ``relevance``: text-only Recall@10 on the test edges under several definitions of the relevant
  papers (which one did the issue's reference run use?) -> ``graph_relevance.json``

Text vectors of the AAN titles are cached under ``--cache`` so re-runs skip the encoder.
Results go to ``benchmarks/results/`` (stages update their own keys) and markdown tables to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly import __version__
from discoverly.graph.aan import load_aan
from discoverly.graph.evaluation import evaluate_similar, proxy_relevance, run_protocol, split_citations
from discoverly.graph.kge import KGEmbedding, rank_triples
from discoverly.graph.report import graph_report
from discoverly.graph.similar import SimilarItems, paper_text_vectors
from discoverly.graph.workspace import GraphFolder, build_graph_folder, train_embedding
from discoverly.text_embedding import TextEncoder

RESULTS = Path(__file__).parent / "results"
STAGES = ("build", "protocol", "latency", "report", "backends", "topics", "products", "kge-speed", "latency-variants",
          "relevance")


def _cache_dir(value: str | None) -> Path:
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "discoverly" / "bench_graph"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


class _Clock:
    """Wall and CPU seconds (this process) of a stage, with the load average at its start and end."""

    def __init__(self) -> None:
        self.wall, self.cpu, self.load = time.perf_counter(), time.process_time(), _loadavg()

    def done(self) -> dict[str, Any]:
        return {"wall_s": time.perf_counter() - self.wall, "cpu_s": time.process_time() - self.cpu,
                "loadavg_start": self.load, "loadavg_end": _loadavg(), "date": dt.datetime.now(dt.UTC).isoformat()}


def _latency(engine: SimilarItems, n: int, rng: np.random.Generator) -> dict[str, float]:
    ids = engine.ids[rng.choice(len(engine), size=n, replace=False)]
    engine.similar(ids[0], k=10)  # build the faiss index outside the timing
    times = []
    c0 = time.process_time()
    for pid in ids:
        t0 = time.perf_counter()
        engine.similar(pid, k=10)
        times.append((time.perf_counter() - t0) * 1000)
    cpu = (time.process_time() - c0) / n * 1000
    arr = np.array(times)
    boot = np.percentile(arr[rng.integers(0, n, size=(2000, n))], 99, axis=1)  # bootstrap over the queries
    return {"queries": n, "p50_ms": float(np.percentile(arr, 50)), "p99_ms": float(np.percentile(arr, 99)),
            "p99_ms_ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
            "max_ms": float(arr.max()), "cpu_ms_per_query": cpu, "index": type(engine._faiss()).__name__,
            "vectors": list(engine.vectors.shape), "loadavg": _loadavg()}


def _backends(graph: Any, text: np.ndarray, n: int, cfg: dict[str, Any], threads: int, rng: int,
              backends: tuple[str, ...] = ("torch", "pykeen")) -> list[dict[str, Any]]:
    """The same model trained by both backends on the graph without the test edges, scored alike."""
    split = split_citations(*[graph.edges.filter(pl.col("relation") == "cites")[c].to_numpy()
                              for c in ("src", "dst")], rng=rng)
    g = graph.without_edges("cites", split.test[:, 0], split.test[:, 1])
    visible = np.concatenate([split.train, split.valid])
    rel = proxy_relevance(visible, split.test, n)
    rel_direct = proxy_relevance(visible, split.test, n, cocited=False)
    fh, fr, ft, fnames = graph.triples()
    sample = split.test[np.random.default_rng(rng).permutation(len(split.test))[:2000]]
    rows = []
    ids = graph.keys(np.arange(n))
    for backend in backends:
        clock = _Clock()
        try:
            emb = train_embedding(g, backend=backend, rng=rng, threads=threads, **cfg)
        except ImportError as exc:
            rows.append({"backend": backend, "error": str(exc)})
            continue
        spent = clock.done()
        names = emb.config["relations"]
        remap = np.array([names.index(x) if x in names else -1 for x in fnames])[fr]
        known = np.stack([fh, remap, ft], axis=1)[remap >= 0]
        ci = names.index("cites")
        lm = rank_triples(emb, np.stack([sample[:, 0], np.full(len(sample), ci), sample[:, 1]], axis=1), known,
                          candidates=np.arange(n))
        gvec = emb.entity_vectors()[:n]
        res = {}
        for label, relevance in (("", rel), ("direct_", rel_direct)):
            for engine, w in (("graph_only", 0.0), ("fused_0.5", 0.5)):
                r = evaluate_similar(SimilarItems(ids, text=text, graph=gvec, weight=w), relevance, k=10)
                res[f"{label}{engine}_recall@10"] = r.recall.to_dict()
        rows.append({"backend": backend, **cfg, "train_seconds": emb.seconds, "train": spent,
                     "losses": emb.losses, "link_mrr": lm.mrr, "link_hits@10": lm.hits_at_10, "link_n": lm.n, **res})
        print(f"  {backend}: {emb.seconds:.0f}s wall, {spent['cpu_s']:.0f} CPU-s  filtered MRR {lm.mrr:.4f}  "
              f"Hits@10 {lm.hits_at_10:.4f}  graph-only R@10 {res['graph_only_recall@10']}  "
              f"fused R@10 {res['fused_0.5_recall@10']}  load {spent['loadavg_end']}", flush=True)
    return rows


def _topics_study(papers: Any, variants: list[dict[str, Any]], rng: int) -> list[dict[str, Any]]:
    """LDA settings on the corpus: CPU seconds, NPMI coherence of the top-10 words (document
    co-occurrence over the whole corpus), per-word perplexity on a 10% sample, agreement (adjusted
    mutual information) of the dominant topics with the first variant's."""
    from sklearn.metrics import adjusted_mutual_info_score

    from discoverly.graph.topics import TopicModel

    texts = papers.full_texts()
    sample = [texts[i] for i in np.random.default_rng(rng).permutation(len(texts))[: len(texts) // 10]]
    first = None
    rows = []
    for v in variants:
        tm = TopicModel(n_topics=10, rng=rng, **v)
        clock = _Clock()
        tm.fit(texts)
        tm.assign(texts)
        spent = clock.done()
        counts = tm._vectorizer.transform(texts)
        present = (counts > 0).astype(np.float64).tocsc()
        vocab = {w: i for i, w in enumerate(tm._vectorizer.get_feature_names_out())}
        npmi = []
        for terms in tm.top_terms:
            sub = present[:, [vocab[w] for w in terms]]
            co = (sub.T @ sub).toarray() / present.shape[0]
            p = np.diag(co)
            pairs = [(-1.0 if co[i, j] == 0 else float(np.log(co[i, j] / (p[i] * p[j])) / -np.log(co[i, j])))
                     for i in range(len(terms)) for j in range(i + 1, len(terms))]
            npmi.append(float(np.mean(pairs)))
        dom = tm.dominant(texts)
        first = dom if first is None else first
        row = {"settings": v, "cpu_s": spent["cpu_s"], "wall_s": spent["wall_s"], "loadavg": spent["loadavg_end"],
               "npmi": float(np.mean(npmi)), "npmi_per_topic": [round(x, 3) for x in npmi],
               "perplexity_10pct": float(tm._lda.perplexity(tm._vectorizer.transform(sample))),
               "ami_vs_first": float(adjusted_mutual_info_score(first, dom)), "labels": tm.labels,
               "vocabulary": len(vocab)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _products(args: argparse.Namespace) -> dict[str, Any]:
    """The Complete Journey example of docs/graph.md, timed, with its printed neighbours."""
    from discoverly.data.datasets import load_dataset
    from discoverly.graph import product_graph, similar_products

    clock = _Clock()
    ds = load_dataset("complete-journey")
    graph = product_graph(ds.interactions, ds.catalog, min_buyers=args.min_buyers)
    built = clock.done()
    clock = _Clock()
    engine = similar_products(graph, ds.catalog, dim=64, epochs=args.product_epochs, weight=0.5,
                              threads=args.threads)
    trained = clock.done()
    examples = []
    for item in engine.ids[:5]:
        top = engine.similar(item, k=3)["id"].to_list()
        examples.append({"product": ds.titles([int(item)])[0], "similar": ds.titles([int(i) for i in top])})
        print(examples[-1]["product"], "->", examples[-1]["similar"], flush=True)
    nodes = dict(graph.nodes.group_by("kind").len().sort("kind").iter_rows())
    edges = dict(graph.edges.group_by("relation").len().sort("relation").iter_rows())
    return {"min_buyers": args.min_buyers, "epochs": args.product_epochs, "nodes": nodes, "edges": edges,
            "build": built, "train": trained, "kge_seconds": engine.config.get("kge_seconds"), "examples": examples}


def _kge_speed(old_path: str | None, models: list[str], batches: int, rng: int) -> dict[str, Any]:
    """CPU and wall seconds per mini-batch (2,048 positives x 64 negatives, dim 64, one thread) on
    ``batches`` mini-batches of the AAN graph's triples (papers, authors, venues, concepts, citations)."""
    import importlib.util
    import sys

    import discoverly.graph.kge as new
    from discoverly.graph.build import build_paper_graph
    from discoverly.graph.concepts import ConceptExtractor

    variants: list[tuple[str, Any, dict[str, Any]]] = []
    if old_path:
        spec = importlib.util.spec_from_file_location("kge_old", old_path)
        assert spec is not None and spec.loader is not None
        old = importlib.util.module_from_spec(spec)
        sys.modules["kge_old"] = old
        spec.loader.exec_module(old)
        variants.append(("old", old, {}))
    variants += [("new", new, {}), ("new-typed", new, {"sampler": "typed"})]
    g = build_paper_graph(load_aan(), concepts=ConceptExtractor(), topics=None)
    h, r, t, names = g.triples()
    sel = np.random.default_rng(rng).choice(h.size, size=batches * 2048, replace=False)
    rows = {}
    for model in models:
        for name, mod, kw in variants:
            clock = _Clock()
            emb = mod.KGETrainer(model=model, dim=64, epochs=1, threads=1, **kw).fit(
                h[sel], r[sel], t[sel], g.n_nodes, len(names), rng=0)
            spent = clock.done()
            rows[f"{model}/{name}"] = {"cpu_s_per_batch": spent["cpu_s"] / batches,
                                       "wall_s_per_batch": spent["wall_s"] / batches, "loss": emb.losses[0],
                                       "loadavg": spent["loadavg_end"]}
            print(model, name, rows[f"{model}/{name}"], flush=True)
    return {"batches": batches, "triples_in_graph": int(h.size), "rows": rows}


def _latency_variants(n_queries: int, rng: int) -> list[dict[str, Any]]:
    """Single queries against random unit vectors of the AAN engine's shape (18,041 x (384 + 64)):
    CPU ms per query and latency percentiles of the exact flat index, faiss scalar quantisers and HNSW.
    (Random vectors: the timings hold for any vectors; HNSW agreement on them is a worst case.)"""
    import faiss

    gen = np.random.default_rng(rng)
    n = 18041
    eng = SimilarItems([f"p{i}" for i in range(n)], text=gen.standard_normal((n, 384)),
                       graph=gen.standard_normal((n, 64)), weight=0.5)
    x = eng.vectors
    queries = gen.choice(n, size=n_queries, replace=False)
    faiss.omp_set_num_threads(1)
    rows = []

    def run(name: str, fn: Any, **extra: Any) -> None:
        fn(queries[0])
        times = []
        c0 = time.process_time()
        for i in queries:
            t0 = time.perf_counter()
            fn(i)
            times.append((time.perf_counter() - t0) * 1000)
        a = np.array(times)
        rows.append({"variant": name, "cpu_ms_per_query": (time.process_time() - c0) / n_queries * 1000,
                     "p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
                     "loadavg": _loadavg(), **extra})
        print(rows[-1], flush=True)

    run("SimilarItems.similar (flat, exact)", lambda i: eng.similar(f"p{i}", k=10))
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    run("faiss IndexFlatIP search", lambda i: flat.search(x[i:i + 1], 11))
    for label, qt in (("SQfp16", faiss.ScalarQuantizer.QT_fp16), ("SQ8", faiss.ScalarQuantizer.QT_8bit)):
        sq = faiss.IndexScalarQuantizer(x.shape[1], qt, faiss.METRIC_INNER_PRODUCT)
        sq.train(x)
        sq.add(x)
        run(f"faiss {label} search", lambda i, sq=sq: sq.search(x[i:i + 1], 11))
    c0 = time.process_time()
    hn = faiss.IndexHNSWFlat(x.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hn.add(x)
    build = time.process_time() - c0
    hn.hnsw.efSearch = 64
    _, exact = flat.search(x[queries[:300]], 11)
    _, approx = hn.search(x[queries[:300]], 11)
    overlap = float(np.mean([len(set(a) & set(b)) / 11 for a, b in zip(exact, approx, strict=True)]))
    run("faiss HNSW M=32 efSearch=64", lambda i: hn.search(x[i:i + 1], 11), build_cpu_s=build,
        overlap_with_exact_random_vectors=overlap)
    return rows


def _relevance_study(graph: Any, text: np.ndarray, n: int, rng: int) -> dict[str, Any]:
    """Text-only Recall@10 on the protocol's test edges (hidden; train + validation visible) under
    several definitions of a source paper's relevant papers, with the mean size of the relevant
    sets and the best Recall@10 any ranking could reach (mean of min(10, |rel|) / |rel|)."""
    split = split_citations(*[graph.edges.filter(pl.col("relation") == "cites")[c].to_numpy()
                              for c in ("src", "dst")], rng=rng)
    visible = np.concatenate([split.train, split.valid])
    engine = SimilarItems(graph.keys(np.arange(n)), text=text, weight=1.0, links=visible)  # filtered: its own filter
    co = proxy_relevance(visible, split.test, n)
    direct = proxy_relevance(visible, split.test, n, cocited=False)
    co_only = {p: x for p, r in co.items()
               if (x := np.setdiff1d(r, direct.get(p, np.zeros(0, np.int64)))).size}
    cites: dict[int, list[int]] = {}
    cited_by: dict[int, list[int]] = {}
    for a, b in split.test.tolist():
        cites.setdefault(a, []).append(b)
        cited_by.setdefault(b, []).append(a)
    degree = np.bincount(visible.ravel(), minlength=n)
    variants: list[tuple[str, dict[int, np.ndarray], bool]] = [
        ("co-citation-inclusive (cites, cited-by, newly co-cited)", co, False),
        ("direct (cites, cited-by)", direct, False),
        ("co-cited only", co_only, False),
        ("citing source -> its hidden cited papers", {p: np.unique(x) for p, x in cites.items()}, False),
        ("cited source -> its hidden citing papers", {p: np.unique(x) for p, x in cited_by.items()}, False),
        ("direct, sources with a visible citation", {p: r for p, r in direct.items() if degree[p] > 0}, False),
        ("direct, filtered ranking (visible neighbours removed)", direct, True),
        ("co-citation-inclusive, filtered ranking", co, True),
    ]
    rows = []
    for name, rel, filtered in variants:
        r = evaluate_similar(engine, rel, k=10, exclude_linked=filtered, rng=rng)
        sizes = np.array([len(x) for x in rel.values()])
        rows.append({"definition": name, "text_recall@10": r.recall.to_dict(), "text_mrr": r.mrr.to_dict(),
                     "sources": len(rel), "mean_relevant": float(sizes.mean()), "relevant_pairs": int(sizes.sum()),
                     "recall@10_ceiling": float(np.mean(np.minimum(10, sizes) / sizes))})
        print(f"| {name} | {r.recall} | {len(rel):,} | {sizes.mean():.2f} | {rows[-1]['recall@10_ceiling']:.3f} |",
              flush=True)
    return {"rows": rows, "reference_text_recall@10": 0.106}


def _number(value: str) -> Any:
    """An int or float when the text is one, else the text."""
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _save(name: str, out: dict[str, Any]) -> None:
    """Write the results so far (atomically), so a long run leaves its finished stages behind."""
    path = RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2, default=str))
    tmp.replace(path)


def _load(name: str) -> dict[str, Any]:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stages", default="build,protocol,latency,report", help=f"Comma-separated, of {STAGES}.")
    ap.add_argument("--cache", default=None, help="Folder for the graph build and cached text vectors.")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--candidates", default="distmult:64,distmult:64:typed,complex:128:typed",
                    help="Graph models tried on validation, model:dim[:sampler][:key=value ...] comma-separated "
                         "(e.g. complex:256:typed:loss=softmax:negatives=1024:epochs=5).")
    ap.add_argument("--weights", default="0.3,0.5,0.7")
    ap.add_argument("--queries", default="none",
                    help="Graph query modes tried on validation, comma-separated: none (a paper's own vector) "
                         "or relation:direction (e.g. cites:both, cites:tail, cites:tail+head).")
    ap.add_argument("--text-hops", default="0",
                    help="Settings of the engine's text_hops tried on validation, comma-separated (0 = a paper's "
                         "own text; 1 = plus the texts of the papers linked to it by a visible citation).")
    ap.add_argument("--select-on", default="cocited", choices=("cocited", "direct"),
                    help="Relevance definition of the validation score that picks the configuration.")
    ap.add_argument("--exclude-linked", action="store_true",
                    help="Protocol: score filtered lists (papers linked to the source by a visible citation left "
                         "out), as the engine option exclude_linked does; the saved engine gets that setting.")
    ap.add_argument("--results", default="graph.json", help="Results file (in benchmarks/results) of the main stages.")
    ap.add_argument("--max-seconds", type=float, default=None, help="Bound on each graph-model training.")
    ap.add_argument("--wait-text", type=float, default=0.0,
                    help="Seconds to wait for another process to fill the text-vector cache before encoding.")
    ap.add_argument("--backend-model", default="transe", help="Model of the backends stage.")
    ap.add_argument("--backend-epochs", type=int, default=5, help="Epochs of each backend in the backends stage.")
    ap.add_argument("--backend-sampler", default="uniform")
    ap.add_argument("--topic-variants", default=None, help="JSON list of TopicModel settings for the topics stage.")
    ap.add_argument("--min-buyers", type=int, default=300, help="Products stage: keep products with this many buyers.")
    ap.add_argument("--product-epochs", type=int, default=10)
    ap.add_argument("--old-kge", default=None, help="kge-speed stage: an older kge.py to time against.")
    ap.add_argument("--speed-batches", type=int, default=20)
    ap.add_argument("--latency-queries", type=int, default=1000)
    args = ap.parse_args()
    stages = [x for x in args.stages.split(",") if x]
    unknown = set(stages) - set(STAGES)
    if unknown:
        ap.error(f"unknown stages {sorted(unknown)}; choose from {STAGES}")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("discoverly.graph").setLevel(logging.INFO)  # selection rows as they are measured
    cache = _cache_dir(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    gf = GraphFolder(cache / "aan")
    machine = f"{platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}"
    meta = {"machine": machine, "discoverly": __version__, "seed": args.seed,
            "command": f"DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')} "
            "nice python benchmarks/bench_graph.py "
            + " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")  # store_true flags alone
                       for k, v in vars(args).items() if v is not None and v is not False)}
    main_stages = [x for x in stages if x in ("build", "protocol", "latency", "report")]
    out = _load(args.results) if main_stages else {}
    if main_stages:
        out.update(meta)
        out["date"] = dt.date.today().isoformat()
        # the stages of one run update their own keys; each key records the command and date that made it
        out["note"] = "build, protocol, latency and report may come from different runs: see each key's command, date"
        stamp = {"command": meta["command"], "date": out["date"]}

    papers = graph = None
    if "build" in stages:
        clock = _Clock()
        papers = load_aan()
        load_s = time.perf_counter() - clock.wall
        graph, timings = build_graph_folder(papers, gf.root, n_topics=10, rng=args.seed)
        spent = clock.done()
        out["build"] = {"papers": len(papers), "load_s": load_s, **timings, "total_s": spent["wall_s"], **spent,
                        "nodes": dict(graph.nodes.group_by("kind").len().sort("kind").iter_rows()),
                        "edges": dict(graph.edges.group_by("relation").len().sort("relation").iter_rows()), **stamp}
        print(f"AAN graph build: {spent['wall_s']:.1f}s wall, {spent['cpu_s']:.1f} CPU-s {out['build']}", flush=True)
        _save(args.results, out)

    needs_graph = {"protocol", "latency", "report", "backends", "relevance"} & set(stages)
    if needs_graph and graph is None:
        papers = gf.load_papers()
        with gf.open_store() as store:
            graph = store.graph()
    text_box: list[np.ndarray] = []

    def get_text() -> np.ndarray:
        """The MiniLM title vectors (cached; computed on first use, after the protocol's trainings)."""
        if not text_box:
            assert papers is not None
            clock = _Clock()
            deadline = time.monotonic() + args.wait_text  # another process may be filling the cache
            while not (gf.text / "manifest.json").is_file() and time.monotonic() < deadline:
                time.sleep(10)
            text_box.append(paper_text_vectors(papers, encoder=TextEncoder(threads=args.threads), cache=gf.text))
            out["text_vectors"] = clock.done()
        return text_box[0]

    proto = None
    if "protocol" in stages:
        assert graph is not None and papers is not None
        n = len(papers)
        candidates = []
        for c in args.candidates.split(","):
            parts = c.split(":")
            cand: dict[str, Any] = {"model": parts[0], "dim": int(parts[1]), "epochs": args.epochs}
            for part in parts[2:]:  # a sampler name, or key=value trainer options (loss=softmax, epochs=5 ...)
                key, eq, value = part.partition("=")
                if not eq:
                    cand["sampler"] = part
                else:
                    cand[key] = _number(value)
            candidates.append(cand)
        weights = tuple(float(w) for w in args.weights.split(","))
        clock = _Clock()
        bound = {} if args.max_seconds is None else {"max_seconds": args.max_seconds}
        queries = [None if q == "none" else (q.split(":")[0], [*q.split(":"), "both"][1])
                   for q in args.queries.split(",")]
        proto = run_protocol(graph, get_text, candidates=candidates, weights=weights, k=10, rng=args.seed,
                             threads=args.threads, queries=queries, select_on=args.select_on,
                             exclude_linked=args.exclude_linked,
                             text_hops=tuple(int(h) for h in args.text_hops.split(",")), **bound)
        out["protocol"] = proto.to_dict()
        out["protocol"]["seconds_total"] = time.perf_counter() - clock.wall
        out["protocol"]["clock"] = clock.done()
        out["protocol"].update(stamp)
        out["protocol"]["final_epochs_run"] = proto.embedding.config.get("epochs_run")  # type: ignore[attr-defined]
        print("\nSelection on the validation edges:")
        print(pl.DataFrame(proto.selection).with_columns(pl.col(pl.Float64).round(4)))
        print(f"chosen: {proto.chosen}\n\nTest edges (hidden before training):")
        print("| engine | Recall@10 [95% CI] | MRR [95% CI] | source papers |\n|---|---|---|---|")
        for name, r in proto.test.items():
            print(f"| {name} | {r.recall} | {r.mrr} | {r.recall.n} |")
        print("\nDirect relations only (hidden cites / cited-by):")
        for name, r in proto.test_direct.items():
            print(f"| {name} | {r.recall} | {r.mrr} | {r.recall.n} |")
        for name, t in proto.paired.items():
            print(f"paired {name}: {t.difference}  p={t.p_value:.4g}")
        print(f"link prediction (filtered, held-out citations): {proto.link}", flush=True)
        emb = proto.embedding
        assert isinstance(emb, KGEmbedding)
        query = str(proto.chosen["query"])
        relation, _, direction = query.partition(":")
        gq, gq2 = (None, None) if query == "own vector" else emb.query_pair(relation, direction,
                                                                               entities=np.arange(n))
        shown = graph.without_edges("cites", proto.split.test[:, 0], proto.split.test[:, 1]).edges
        shown = shown.filter(pl.col("relation") == "cites")
        engine = SimilarItems(graph.keys(np.arange(n)), text=get_text(), graph=emb.entity_vectors()[:n],
                              weight=float(proto.chosen["weight"]), graph_query=gq, graph_query_2=gq2,
                              links=np.stack([shown["src"].to_numpy(), shown["dst"].to_numpy()], axis=1),
                              exclude_linked=args.exclude_linked, text_hops=int(proto.chosen.get("text_hops", 0)))
        emb.save(gf.kge)
        engine.config.update(proto.chosen)
        if gq is not None:
            engine.config.update(query_relation=relation, query_direction=direction)
        engine.save(gf.similar)
        out["goal"] = {"fused_recall@10": 0.20,
                       "reference": {"text-only": 0.106, "graph-only": 0.081, "fused": 0.155}}
        table = proto.test_direct if args.select_on == "direct" else proto.test  # the selection's definition
        fused = table.get("fused")
        if fused is not None:
            out["goal"]["relevance"] = args.select_on
            out["goal"]["met"] = bool(fused.recall.value >= 0.20 and all(
                fused.recall.low > table[name].recall.high for name in ("text-only", "graph-only")))
        _save(args.results, out)

    if "latency" in stages:
        engine = gf.load_similar()
        out["latency"] = {**_latency(engine, 1000, np.random.default_rng(args.seed)), **stamp}
        print(f"similar-paper latency in process: {out['latency']}", flush=True)
        _save(args.results, out)

    if "report" in stages:
        clock = _Clock()
        report = graph_report(gf.root, cache / "aan-report.html", protocol=proto, evaluate=False, rng=args.seed)
        out["report"] = {"path": str(report), **clock.done(), **stamp}
        print(f"report: {report}", flush=True)
        _save(args.results, out)

    if "backends" in stages:
        assert graph is not None and papers is not None
        cfg = {"model": args.backend_model, "dim": 64, "epochs": args.backend_epochs, "batch_size": 2048,
               "negatives": 64, "lr": 0.005, "sampler": args.backend_sampler}
        print(f"\nBackends ({cfg}, same graph without the test edges):", flush=True)
        rows = _backends(graph, get_text(), len(papers), cfg, args.threads, args.seed)
        _save("graph_backends.json", {**meta, "date": dt.date.today().isoformat(), "settings": cfg, "rows": rows})

    if "relevance" in stages:
        assert graph is not None and papers is not None
        print("\n| relevant papers | text-only Recall@10 [95% CI] | sources | mean relevant | ceiling |")
        print("|---|---|---|---|---|")
        _save("graph_relevance.json", {**meta, "date": dt.date.today().isoformat(),
                                        **_relevance_study(graph, get_text(), len(papers), args.seed)})

    if "topics" in stages:
        variants = json.loads(args.topic_variants) if args.topic_variants else [
            {"learning_method": "batch", "max_iter": 10},
            {"learning_method": "online", "max_iter": 3},
            {"learning_method": "batch", "max_iter": 5},
        ]
        rows = _topics_study(papers if papers is not None else load_aan(), variants, args.seed)
        _save("graph_topics.json", {**meta, "date": dt.date.today().isoformat(), "rows": rows})

    if "products" in stages:
        _save("graph_products.json", {**meta, "date": dt.date.today().isoformat(), **_products(args)})
    if "kge-speed" in stages:
        _save("graph_kge_speed.json", {**meta, "date": dt.date.today().isoformat(),
                                        **_kge_speed(args.old_kge, ["transe", "distmult"], args.speed_batches,
                                                     args.seed)})
    if "latency-variants" in stages:
        _save("graph_latency_variants.json", {**meta, "date": dt.date.today().isoformat(),
                                               "rows": _latency_variants(args.latency_queries, args.seed)})
    if main_stages:
        out["complete"] = "protocol" in out and "latency" in out
        _save(args.results, out)
    print("done")


if __name__ == "__main__":
    main()
