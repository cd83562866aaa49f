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

Text vectors of the AAN titles are cached under ``--cache`` so re-runs skip the encoder.
Writes ``benchmarks/results/graph.json`` and prints markdown tables.
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
from discoverly.graph.kge import rank_triples
from discoverly.graph.report import graph_report
from discoverly.graph.similar import SimilarItems, paper_text_vectors
from discoverly.graph.workspace import GraphFolder, build_graph_folder, train_embedding
from discoverly.text_embedding import TextEncoder

RESULTS = Path(__file__).parent / "results" / "graph.json"


def _cache_dir(value: str | None) -> Path:
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "discoverly" / "bench_graph"


def _latency(engine: SimilarItems, n: int, rng: np.random.Generator) -> dict[str, float]:
    ids = engine.ids[rng.choice(len(engine), size=n, replace=False)]
    engine.similar(ids[0], k=10)  # build the faiss index outside the timing
    times = []
    for pid in ids:
        t0 = time.perf_counter()
        engine.similar(pid, k=10)
        times.append((time.perf_counter() - t0) * 1000)
    arr = np.array(times)
    return {"queries": n, "p50_ms": float(np.percentile(arr, 50)), "p99_ms": float(np.percentile(arr, 99)),
            "max_ms": float(arr.max())}


def _backends(graph: Any, text: np.ndarray, split: Any, n: int, cfg: dict[str, Any], threads: int,
              rng: int, reuse: Any = None) -> list[dict[str, Any]]:
    """The same TransE trained by both backends on the graph without the test edges.

    ``reuse`` is the protocol's final torch embedding when it was trained with these settings
    (it is then not trained a second time)."""
    g = graph.without_edges("cites", split.test[:, 0], split.test[:, 1])
    visible = np.concatenate([split.train, split.valid])
    rel = proxy_relevance(visible, split.test, n)
    fh, fr, ft, fnames = graph.triples()
    sample = split.test[np.random.default_rng(rng).permutation(len(split.test))[:2000]]
    rows = []
    for backend in ("torch", "pykeen"):
        if backend == "torch" and reuse is not None:
            emb = reuse
        else:
            try:
                emb = train_embedding(g, model="transe", dim=cfg["dim"], epochs=cfg["epochs"], backend=backend,
                                      rng=rng, threads=threads, batch_size=cfg["batch_size"],
                                      negatives=cfg["negatives"], lr=cfg["lr"])
            except ImportError as exc:
                rows.append({"backend": backend, "error": str(exc)})
                continue
        names = emb.config["relations"]
        remap = np.array([names.index(x) if x in names else -1 for x in fnames])[fr]
        known = np.stack([fh, remap, ft], axis=1)[remap >= 0]
        ci = names.index("cites")
        lm = rank_triples(emb, np.stack([sample[:, 0], np.full(len(sample), ci), sample[:, 1]], axis=1), known,
                          candidates=np.arange(n))
        gvec = emb.entity_vectors()[:n]
        graph_only = evaluate_similar(SimilarItems(graph.keys(np.arange(n)), graph=gvec, weight=0.0), rel, k=10)
        fused = evaluate_similar(SimilarItems(graph.keys(np.arange(n)), text=text, graph=gvec, weight=0.5), rel, k=10)
        rows.append({"backend": backend, "model": "transe", "dim": cfg["dim"], "epochs": cfg["epochs"],
                     "train_seconds": emb.seconds, "link_mrr": lm.mrr, "link_hits@10": lm.hits_at_10,
                     "graph_only_recall@10": graph_only.recall.to_dict(),
                     "fused_0.5_recall@10": fused.recall.to_dict()})
        print(f"  {backend}: {emb.seconds:.0f}s  filtered MRR {lm.mrr:.4f}  Hits@10 {lm.hits_at_10:.4f}  "
              f"graph-only R@10 {graph_only.recall}  fused R@10 {fused.recall}", flush=True)
    return rows


def _save(out: dict[str, Any]) -> None:
    """Write the results so far (atomically), so a long run leaves its finished stages behind."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2, default=str))
    tmp.replace(RESULTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", default=None, help="Folder for the graph build and cached text vectors.")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--candidates", default="transe:64,distmult:64",
                    help="Graph models tried on validation, model:dim comma-separated.")
    ap.add_argument("--weights", default="0.3,0.5,0.7")
    ap.add_argument("--max-seconds", type=float, default=None, help="Bound on each graph-model training.")
    ap.add_argument("--skip-backends", action="store_true", help="Skip the torch-vs-PyKEEN comparison.")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("discoverly.graph").setLevel(logging.INFO)  # selection rows as they are measured
    cache = _cache_dir(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}"
    out: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": machine, "discoverly": __version__,
                           "command": "DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=2 nice python "
                           "benchmarks/bench_graph.py", "seed": args.seed}

    t0 = time.perf_counter()
    papers = load_aan()
    load_s = time.perf_counter() - t0
    graph, timings = build_graph_folder(papers, cache / "aan", n_topics=10, rng=args.seed)
    build_s = time.perf_counter() - t0
    out["build"] = {"papers": len(papers), "load_s": load_s, **timings, "total_s": build_s,
                    "nodes": dict(graph.nodes.group_by("kind").len().sort("kind").iter_rows()),
                    "edges": dict(graph.edges.group_by("relation").len().sort("relation").iter_rows())}
    print(f"AAN graph build: {build_s:.1f}s {out['build']}", flush=True)
    _save(out)

    t0 = time.perf_counter()
    text = paper_text_vectors(papers, encoder=TextEncoder(threads=args.threads), cache=GraphFolder(cache / "aan").text)
    out["text_vectors_s"] = time.perf_counter() - t0
    n = len(papers)

    candidates = [{"model": m, "dim": int(d), "epochs": args.epochs} for m, d in
                  (c.split(":") for c in args.candidates.split(","))]
    weights = tuple(float(w) for w in args.weights.split(","))
    t0 = time.perf_counter()
    bound = {} if args.max_seconds is None else {"max_seconds": args.max_seconds}
    proto = run_protocol(graph, text, candidates=candidates, weights=weights, k=10, rng=args.seed,
                         threads=args.threads, **bound)
    out["protocol"] = proto.to_dict()
    out["protocol"]["seconds_total"] = time.perf_counter() - t0
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
    _save(out)

    engine = SimilarItems(graph.keys(np.arange(n)), text=text, graph=proto.embedding.entity_vectors()[:n],  # type: ignore[attr-defined]
                          weight=float(proto.chosen["weight"]))  # type: ignore[arg-type]
    out["latency"] = _latency(engine, 1000, np.random.default_rng(args.seed))
    print(f"similar-paper latency in process: {out['latency']}", flush=True)
    _save(out)
    gf = GraphFolder(cache / "aan")
    proto.embedding.save(gf.kge)  # type: ignore[attr-defined]
    engine.config.update(proto.chosen)
    engine.save(gf.similar)
    t0 = time.perf_counter()
    report = graph_report(gf.root, cache / "aan-report.html", protocol=proto, evaluate=False, rng=args.seed)
    out["report"] = {"path": str(report), "seconds": time.perf_counter() - t0}
    print(f"report: {report}", flush=True)

    if not args.skip_backends:
        split = split_citations(*[graph.edges.filter(pl.col("relation") == "cites")[c].to_numpy()
                                  for c in ("src", "dst")], rng=args.seed)
        cfg = {"dim": 64, "epochs": args.epochs, "batch_size": 2048, "negatives": 64, "lr": 0.005}
        final = proto.embedding
        same = final is not None and final.model == "transe" and final.dim == 64  # type: ignore[attr-defined]
        if same:  # PyKEEN gets as many epochs as the torch run completed within its time bound
            cfg["epochs"] = int(final.config["epochs_run"])  # type: ignore[attr-defined]
        print("\nBackends (TransE, same settings, same graph without the test edges):", flush=True)
        out["backends"] = _backends(graph, text, split, n, cfg, args.threads, args.seed,
                                    reuse=final if same else None)

    # the reference run's configuration for orientation: equal weights, TransE 64
    out["goal"] = {"fused_recall@10": 0.20, "reference": {"text-only": 0.106, "graph-only": 0.081, "fused": 0.155}}
    fused = proto.test.get("fused")
    if fused is not None:
        out["goal"]["met"] = bool(fused.recall.value >= 0.20 and all(
            fused.recall.low > r.recall.high for name, r in proto.test.items() if name != "fused"))
    out["complete"] = True
    _save(out)
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
