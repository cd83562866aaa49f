"""Product search on Complete Journey: the ablation table, query-understanding studies, speed.

Protocol (``discoverly.search.experiment``): cutoff 2017-11-01; 3,000 test purchases after it; the
query is the bought product's type words (and a variant with its size or brand words); the
relevant item is the product bought; candidates are all 92,331 products. Field weights, fusion
and LambdaMART settings are chosen on the two weeks before the cutoff; rankers are trained on the
six weeks before those; test features use only purchases before the cutoff. NDCG@10, MRR and
Recall@100 with 95% bootstrap intervals; paired sign-flip tests against the peer (plain bm25s) and
the peer re-ranked by the customer's past purchase counts.

Speed, measured in the same run: indexing 92k products excluding embedding (and the reload of the
saved engine), embedding throughput of MiniLM on catalogue texts, whole-pipeline query latency in
process (query embedding included: the query-embedding cache is cleared before every query; torch
on one thread), and the peer's query latency for the ratio.

Run (from the repository root)::

    DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 nice python benchmarks/bench_search.py

Catalogue embeddings are cached under ``--cache`` (an artifact outside the repository, default
``~/.cache/discoverly/search/cj-embeddings``) so re-runs skip the encoder; torch and LightGBM use
``OMP_NUM_THREADS`` threads. Writes ``benchmarks/results/search.json`` after each stage (protocol,
studies, speed: a cut-off run keeps what it measured) and prints markdown tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from discoverly import __version__
from discoverly.data.datasets import load_dataset
from discoverly.search.benchmark import PlainBM25
from discoverly.search.dense import EmbeddingCache
from discoverly.search.engine import SearchEngine
from discoverly.search.experiment import ProtocolConfig, feature_ablation, run_protocol
from discoverly.search.index import _dense_texts
from discoverly.search.studies import attribute_study, category_study, typo_study, wands_category_study
from discoverly.search.wands import read_wands_queries
from discoverly.text_embedding import TextEncoder

RESULTS = Path(__file__).parent / "results" / "search.json"
CACHE = Path.home() / ".cache" / "discoverly" / "search" / "cj-embeddings"


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _embeddings(catalog: Any, cfg: ProtocolConfig, cache_path: Path, encoder: TextEncoder) -> EmbeddingCache:
    """The catalogue's text embeddings, computed once and kept as an artifact."""
    texts = sorted(set(_dense_texts(catalog.table, cfg.dense_fields)))
    if cache_path.exists():
        cache = EmbeddingCache.load(cache_path, model=encoder.name)
        if (cache.lookup(texts) >= 0).all():
            return cache
    _say(f"embedding {len(texts):,} distinct catalogue texts (once; cached in {cache_path})")
    t0 = time.perf_counter()
    vectors = encoder.encode(texts)
    _say(f"embedded in {time.perf_counter() - t0:.0f}s")
    cache = EmbeddingCache(encoder.name, texts, vectors)
    cache.save(cache_path)
    return cache


def _throughput(catalog: Any, cfg: ProtocolConfig, n: int, threads: int, backend: str = "torch") -> dict[str, Any]:
    texts = sorted(set(_dense_texts(catalog.table, cfg.dense_fields)))
    sample = [texts[i] for i in np.random.default_rng(1).choice(len(texts), size=min(n, len(texts)), replace=False)]
    enc = TextEncoder(threads=threads, backend=backend)  # type: ignore[arg-type]
    enc.encode(sample[:16])  # load the model
    t0, c0 = time.perf_counter(), time.process_time()
    enc.encode(sample)
    sec = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {"texts": len(sample), "seconds": sec, "texts_per_second": len(sample) / sec, "torch_threads": threads,
            "cpu_seconds": cpu, "texts_per_cpu_second": len(sample) / cpu, "load_average": os.getloadavg(),
            "estimated_catalogue_seconds_92k_texts": 92_331 / (len(sample) / sec),
            "distinct_catalogue_texts": len(texts), "backend": enc.active_backend}


def _query_embedding(queries: list[str]) -> dict[str, Any]:
    """Embedding one query at a time on one thread, torch against onnxruntime: time per query
    (wall and CPU) and how closely the two backends' vectors agree (cosine)."""
    out: dict[str, Any] = {}
    vectors: dict[str, np.ndarray] = {}
    for backend in ("torch", "onnx"):
        enc = TextEncoder(threads=1, backend=backend)  # type: ignore[arg-type]
        try:
            for q in queries[:20]:  # warm up
                enc.encode([q])
        except ImportError as exc:  # onnxruntime missing
            out[backend] = {"error": str(exc)}
            continue
        wall, cpu, vecs = [], [], []
        for q in queries:
            c0, t0 = time.process_time(), time.perf_counter()
            vecs.append(enc.encode([q])[0])
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        vectors[backend] = np.asarray(vecs)
        out[backend] = {**_percentiles(wall), "cpu": _percentiles(cpu)}
    if len(vectors) == 2:
        cos = np.sum(vectors["torch"] * vectors["onnx"], axis=1)
        out["cosine_torch_onnx"] = {"min": float(cos.min()), "mean": float(cos.mean()), "n": int(cos.size)}
    out["load_average"] = os.getloadavg()
    return out


def _percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"n": int(a.size), "p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max()), "mean_ms": float(a.mean())}


def _latency(engine: SearchEngine, queries: list[str], users: list[Any], peer: PlainBM25) -> dict[str, Any]:
    """Whole-pipeline latency per query (embedding included), personalised and not; the peer's
    per-query latency on the same queries for the ratio. The query-embedding cache is cleared
    before every query, except in the last pass (``personalised_query_cache_on``: the cache starts
    empty and keeps the 1,024 most recent queries of the stream)."""
    import torch

    torch.set_num_threads(1)
    dense = engine.index.dense
    for q in queries[:20]:  # warm up (first calls allocate)
        engine.search(q, k=10)
    out: dict[str, Any] = {"encoder_backend": dense.encoder.active_backend if dense is not None else None}
    if dense is not None:
        dense._query_cache.clear()
    for name, with_user, cached in (("personalised", True, False), ("non_personalised", False, False),
                                    ("personalised_query_cache_on", True, True)):
        times, cpu, stages = [], [], {"understand": [], "rank": []}
        for q, u in zip(queries, users, strict=True):
            if dense is not None and not cached:
                dense._query_cache.clear()
            c0 = time.process_time()
            t0 = time.perf_counter()
            ctx = engine.understand(q)
            t1 = time.perf_counter()
            engine.rank(ctx, u if with_user else None, 10)
            t2 = time.perf_counter()
            cpu.append((time.process_time() - c0) * 1000)
            times.append((t2 - t0) * 1000)
            stages["understand"].append((t1 - t0) * 1000)
            stages["rank"].append((t2 - t1) * 1000)
        # wall time on a shared machine includes waiting for a core; CPU time of the process does not
        out[name] = {**_percentiles(times), "cpu": _percentiles(cpu),
                     "stages_p99_ms": {k: float(np.percentile(v, 99)) for k, v in stages.items()}}
    peer_ms, peer_cpu = [], []
    for q in queries:
        c0 = time.process_time()
        t0 = time.perf_counter()
        peer.search([q], k=10)
        peer_ms.append((time.perf_counter() - t0) * 1000)
        peer_cpu.append((time.process_time() - c0) * 1000)
    out["peer_bm25s"] = {**_percentiles(peer_ms), "cpu": _percentiles(peer_cpu)}
    out["load_average"] = os.getloadavg()
    out["ratio_p50_pipeline_to_peer"] = out["personalised"]["p50_ms"] / out["peer_bm25s"]["p50_ms"]
    return out


def _stage_breakdown(engine: SearchEngine, queries: list[str], users: list[Any]) -> dict[str, Any]:
    """CPU time per query of each pipeline stage (query cache cleared): embedding the query, the
    rest of understanding, candidates (BM25 per field, dense list, fusion, history), features,
    LightGBM prediction."""
    dense = engine.index.dense
    for q in queries[:20]:
        engine.search(q, k=10)
    stages: dict[str, list[float]] = {k: [] for k in ("embed", "understand_rest", "candidates", "features",
                                                      "predict")}
    for q, u in zip(queries, users, strict=True):
        if dense is not None:
            dense._query_cache.clear()
        c0 = time.process_time()
        ctx = engine.understand(q)
        c1 = time.process_time()
        embed = 0.0
        if dense is not None:  # embed the same text again, alone, to split understanding
            dense._query_cache.clear()
            e0 = time.process_time()
            dense.encode_query(" ".join(ctx.tokens) if ctx.corrected else ctx.text.lower())
            embed = time.process_time() - e0
        row = engine.user_row(u)
        hist = engine.profiles is not None and engine.profiles.has_history(row)
        c2 = time.process_time()
        cand = engine.candidates(ctx, row, personal=hist)
        c3 = time.process_time()
        base, pers = engine.features(ctx, cand, row if hist else -1)
        c4 = time.process_time()
        ranker = engine.personal_ranker if pers is not None else engine.ranker
        if ranker is not None:
            ranker.predict(np.hstack([base, pers]) if pers is not None else base)
        c5 = time.process_time()
        for k, v in (("embed", embed), ("understand_rest", c1 - c0 - embed), ("candidates", c3 - c2),
                     ("features", c4 - c3), ("predict", c5 - c4)):
            stages[k].append(v * 1000)
    return {"cpu": {k: _percentiles(v) for k, v in stages.items()}, "load_average": os.getloadavg(),
            "encoder_backend": dense.encoder.active_backend if dense is not None else None}


def _reload(engine: SearchEngine) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        engine.save(Path(tmp) / "engine")
        saved = time.perf_counter() - t0
        t0 = time.perf_counter()
        SearchEngine.load(Path(tmp) / "engine")
        loaded = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in (Path(tmp) / "engine").iterdir())
    return {"save_seconds": saved, "load_seconds": loaded, "artifact_mb": size / 1e6}


def _table(result: dict[str, Any], variant: str) -> str:
    rows = [r for r in result["rows"] if r["variant"] == variant]
    subsets = list(dict.fromkeys(r["subset"] for r in rows))
    lines = [f"| system | {' | '.join(f'{s} NDCG@10' for s in subsets)} | all MRR | all Recall@100 |",
             "|---|" + "---|" * (len(subsets) + 2)]

    def cell(system: str, subset: str, metric: str) -> str:
        r = next(x for x in rows if x["system"] == system and x["subset"] == subset and x["metric"] == metric)
        return f"{r['value']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]"

    for system in dict.fromkeys(r["system"] for r in rows):
        lines.append(f"| {system} | " + " | ".join(cell(system, s, "NDCG@10") for s in subsets)
                     + f" | {cell(system, 'all', 'MRR')} | {cell(system, 'all', 'Recall@100')} |")
    return "\n".join(lines)


def _ci(e: dict[str, Any], fmt: str = ".3f") -> str:
    return f"{e['value']:{fmt}} [{e['ci'][0]:{fmt}}, {e['ci'][1]:{fmt}}]"


def _diff(d: dict[str, Any] | None) -> str:
    return "—" if d is None else f"{_ci(d['difference'], '+.4f')} ({d['p_value']:.2g})"


def report(out: dict[str, Any]) -> str:
    """Markdown tables of a results file (whatever stages it holds)."""
    parts: list[str] = []
    if "rows" in out:
        for variant, title in (("query", "type-word queries"), ("variant", "variant queries (type words + size or "
                                                                            "brand words)")):
            parts += [f"### {title}\n", _table(out, variant), ""]
        new_rows = [r for r in out["rows"] if r["subset"] == "new to customer" and r["variant"] == "query"]
        if new_rows:
            parts += ["### products new to the customer (type-word queries)\n",
                      "| system | NDCG@10 | MRR | Recall@100 |", "|---|---|---|---|"]
            for system in dict.fromkeys(r["system"] for r in new_rows):
                cells = [_ci(next(r for r in new_rows if r["system"] == system and r["metric"] == m))
                         for m in ("NDCG@10", "MRR", "Recall@100")]
                parts.append(f"| {system} | " + " | ".join(cells) + " |")
            parts.append("")
        parts += ["### paired tests (NDCG@10, a − b, customers resampled)\n",
                  "| a | b | queries | subset | difference [95% CI] | p |", "|---|---|---|---|---|---|"]
        for t in out["tests"]:
            parts.append(f"| {t['a']} | {t['b']} | {t['variant']} | {t['subset']} | {_ci(t['difference'], '+.4f')} | "
                         f"{t['p_value']:.2g} |")
        parts.append("")
    if "feature_ablation" in out:
        fa = out["feature_ablation"]
        parts += [f"### feature ablation of the personalised ranker ({fa['queries']} type-word test queries)\n",
                  "| without | features | trees | NDCG@10 all | Δ vs all features (p) | NDCG@10 new | Δ new (p) |",
                  "|---|---|---|---|---|---|---|"]
        for r in fa["rows"]:
            d_all = r.get("all vs all features")
            d_new = r.get("new to customer vs all features")
            parts.append(f"| {r['without']} | −{r['features_dropped']} | {r['trees']} | {_ci(r['all'])} | "
                         f"{_diff(d_all)} | {_ci(r['new to customer'])} | {_diff(d_new)} |")
        parts.append("")
    return "\n".join(parts)


def _latency_only(args: argparse.Namespace) -> None:
    """Speed of the kept engine, merged into the existing results file (the quality figures stay)."""
    import polars as pl

    ds = load_dataset("complete-journey")
    assert ds.catalog is not None
    cfg = ProtocolConfig()
    engine = SearchEngine.load(args.engine, encoder=TextEncoder(threads=1, backend=args.encoder_backend))
    test = pl.read_parquet(args.engine.with_name(args.engine.name + "-test.parquet"))
    peer = PlainBM25(ds.catalog, cfg.peer_columns)
    order = np.random.default_rng(args.seed).permutation(test.height)[: args.latency_queries]
    queries = [test["variant"][int(i)] if j % 2 else test["query"][int(i)] for j, i in enumerate(order)]
    users = [test["user"][int(i)] for i in order]
    if args.stages_only:
        out = json.loads(args.out.read_text()) if args.out.exists() else {}
        out["stage_breakdown"] = _stage_breakdown(engine, queries, users)
        out["stage_breakdown"]["date"] = dt.datetime.now().isoformat(timespec="seconds")
        args.out.write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
        print(json.dumps(out["stage_breakdown"], indent=1, default=str))
        return
    t0, c0 = time.perf_counter(), time.process_time()
    rebuilt = SearchEngine.build(ds.catalog, index_config=engine.index.config,
                                 embeddings=engine.index.dense.cache() if engine.index.dense else None)
    index_seconds = time.perf_counter() - t0
    index_cpu = time.process_time() - c0
    out = json.loads(args.out.read_text()) if args.out.exists() else {}
    out["query_embedding"] = _query_embedding(queries)
    out["latency"] = _latency(engine, queries, users, peer)
    out["embedding_throughput_rerun"] = _throughput(ds.catalog, cfg, args.throughput_texts,
                                                    threads=int(os.environ.get("OMP_NUM_THREADS", "1")),
                                                    backend=args.encoder_backend)
    if args.encoder_backend != "torch":  # the torch encoder's throughput on the same texts, for comparison
        out["embedding_throughput_rerun_torch"] = _throughput(ds.catalog, cfg, args.throughput_texts,
                                                              threads=int(os.environ.get("OMP_NUM_THREADS", "1")),
                                                              backend="torch")
    out["reload"] = _reload(engine)
    out["index_timings_rerun"] = {**rebuilt.index.timings, "wall_seconds": index_seconds, "cpu_seconds": index_cpu}
    out["latency_measured"] = {"date": dt.datetime.now().isoformat(timespec="seconds"),
                               "load_average": os.getloadavg()}
    args.out.write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("query_embedding", "latency", "reload", "index_timings_rerun",
                                          "latency_measured", "embedding_throughput_rerun")},
                     indent=1, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-test", type=int, default=3000)
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-valid", type=int, default=1500)
    parser.add_argument("--latency-queries", type=int, default=1000)
    parser.add_argument("--study-queries", type=int, default=1000, help="test queries in the typo studies")
    parser.add_argument("--throughput-texts", type=int, default=2000)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--no-dense", action="store_true")
    parser.add_argument("--encoder-backend", choices=("auto", "torch", "onnx"), default="auto",
                        help="runtime of the query encoder (catalogue vectors come from --cache either way)")
    parser.add_argument("--no-ablation", action="store_true", help="skip the feature-group ablation (retrains)")
    parser.add_argument("--ranker-grid", default=None,
                        help="LambdaMART settings searched on validation, 'leaves:rate,...' (default: the protocol's)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", type=Path, default=Path("artifacts/search/cj-engine"),
                        help="where the trained engine (as of the cutoff) and its test queries are kept")
    parser.add_argument("--latency-only", action="store_true",
                        help="re-measure speed only, on the engine kept by a previous full run")
    parser.add_argument("--stages-only", action="store_true",
                        help="with --latency-only: CPU time of each pipeline stage, merged into --out")
    parser.add_argument("--report", action="store_true", help="print the markdown tables of --out and stop")
    args = parser.parse_args()
    if args.report:
        print(report(json.loads(args.out.read_text())))
        return
    if args.latency_only:
        _latency_only(args)
        return
    started = time.time()
    ds = load_dataset("complete-journey")
    assert ds.catalog is not None
    grid: dict[str, Any] = {}
    if args.ranker_grid:
        grid["ranker_grid"] = [{"num_leaves": int(leaves), "learning_rate": float(rate)}
                               for leaves, rate in (p.split(":") for p in args.ranker_grid.split(","))]
    cfg = ProtocolConfig(n_test=args.n_test, n_train=args.n_train, n_valid=args.n_valid, dense=not args.no_dense,
                         seed=args.seed, **grid)
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    encoder = TextEncoder(threads=threads, backend=args.encoder_backend)
    cache = None if args.no_dense else _embeddings(ds.catalog, cfg, args.cache, encoder)
    throughput = None
    if not args.no_dense:
        _say("measuring embedding throughput")
        throughput = _throughput(ds.catalog, cfg, args.throughput_texts, threads=threads,
                                 backend=args.encoder_backend)
    out: dict[str, Any] = {
        "benchmark": "search", "date": dt.date.today().isoformat(), "discoverly": __version__,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "omp_threads": os.environ.get("OMP_NUM_THREADS")},
        "command": f"DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS={threads} nice python "
                   "benchmarks/bench_search.py " + " ".join(sys.argv[1:]),
        "load_average_start": os.getloadavg(), "embedding_throughput": throughput,
    }

    def save(stage: str) -> None:
        out["completed"] = stage
        out["wall_seconds"] = time.time() - started
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
        _say(f"{stage}: results -> {args.out}")

    _say("running the protocol")
    result = run_protocol(ds.interactions, ds.catalog, transactions=ds.notes["files"][0], config=cfg,
                          encoder=encoder, embeddings=cache, log=_say)
    engine: SearchEngine = result.pop("engine")
    test = result.pop("test_queries")
    ablation_inputs = result.pop("ablation_inputs")
    out.update(result)
    out["load_average_protocol_end"] = os.getloadavg()
    save("protocol")
    engine.save(args.engine)
    test.write_parquet(args.engine.with_name(args.engine.name + "-test.parquet"))
    _say("query-understanding studies")
    studies: dict[str, Any] = {}
    out["studies"] = studies
    from discoverly.data.interactions import to_epoch_seconds
    from discoverly.search.benchmark import purchase_queries
    from discoverly.search.experiment import WEEK

    T = to_epoch_seconds(cfg.cutoff)
    train_log = purchase_queries(ds.interactions, ds.catalog, start=T - (cfg.valid_weeks + cfg.train_weeks) * WEEK,
                                 end=T, n=None, rng=cfg.seed).select("query", "item")
    studies["category"] = category_study(engine, train_log, test, rng=cfg.seed)
    wands = Path(os.environ.get("DISCOVERLY_DATA_DIR", "")) / "product_search" / "wands"
    if (wands / "query.csv").is_file():
        studies["category_wands"] = wands_category_study(read_wands_queries(wands), rng=cfg.seed)
    sample = test.head(args.study_queries)
    studies["spelling_lexical"] = typo_study(engine, sample, method="lexical", rng=cfg.seed)
    save("studies (category, spelling lexical)")
    studies["spelling_full_pipeline"] = typo_study(engine, sample, method="auto", rng=cfg.seed)
    studies["attributes"] = attribute_study(engine, test, rng=cfg.seed)
    save("studies")
    _say("latency")
    peer = PlainBM25(ds.catalog, cfg.peer_columns)
    order = np.random.default_rng(cfg.seed).permutation(test.height)[: args.latency_queries]
    queries = [test["variant"][int(i)] if j % 2 else test["query"][int(i)] for j, i in enumerate(order)]
    users = [test["user"][int(i)] for i in order]
    out["query_embedding"] = _query_embedding(queries)
    latency = _latency(engine, queries, users, peer)
    reload = _reload(engine)
    out.update({"latency": latency, "reload": reload,
                "latency_measured": {"date": dt.datetime.now().isoformat(timespec="seconds"),
                                     "load_average": os.getloadavg()}})
    save("speed")
    if not args.no_ablation:
        _say("feature ablation of the personalised ranker")
        out["feature_ablation"] = feature_ablation(engine, ablation_inputs, test, log=_say)
    save("all")
    print(report(out))
    print(json.dumps({"index": out["index_timings"], "reload": reload, "latency": latency,
                      "embedding_throughput": throughput}, indent=1, default=str))
    print(f"\nresults -> {args.out}")


if __name__ == "__main__":
    main()
