"""Validation-only exploration: MiniLM fine-tuned on the visible training citations (no test edge is used).

Does a text encoder fine-tuned on (citing title, cited title) pairs of the protocol's *training*
citations (``split_citations(..., rng=0)`` as in ``explore_graph_valid.py``) raise text-only
validation Recall@10 and the fused gain over graph-only? The packaged all-MiniLM-L6-v2 (the model
``TextEncoder`` loads offline) is fine-tuned with sentence-transformers'
``MultipleNegativesRankingLoss`` (in-batch negatives) in a plain torch loop on one thread; the
fine-tuned model is kept under ``~/.cache/discoverly/bench_graph/text_ft/NAME`` (never in the
repository) and reused when present. Then text-only, graph-only and fused (text weights
0.1-0.5) engines with tail+head graph queries from the cached ``sm_cx512_e3`` candidate are
scored on the validation edges, before and after fine-tuning, both relevance definitions,
unfiltered and filtered, with 95% bootstrap intervals, and paired fused - graph-only differences.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/explore_text_finetune.py [--pairs 20000] [--batch 64] \\
        [--epochs 1] [--lr 5e-5] [--max-seq-length 32] [--graph sm_cx512_e3] [--name ft_p20000]

Writes ``benchmarks/results/graph_text_finetune.json`` (one entry of ``runs`` per fine-tuned model name).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from discoverly.evaluate.stats import paired_test
from discoverly.graph.evaluation import evaluate_similar, proxy_relevance
from discoverly.graph.kge import KGEmbedding
from discoverly.graph.similar import SimilarItems, paper_text_vectors
from explore_graph_valid import CACHE, _cached, _load

RESULTS = Path(__file__).parent / "results" / "graph_text_finetune.json"
WEIGHTS = (0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def finetune(titles: list[str], train: np.ndarray, out: Path, *, pairs: int, batch: int, epochs: int,
             lr: float, max_seq_length: int) -> dict[str, Any]:
    """Fine-tune the packaged MiniLM on (citing title, cited title) pairs of training citations."""
    import sentence_transformers as st
    import torch
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    from discoverly.text_embedding import TextEncoder

    torch.set_num_threads(1)
    torch.manual_seed(0)
    base = TextEncoder()._model_dir()
    ok = np.array([bool(titles[a].strip()) and bool(titles[b].strip()) for a, b in train.tolist()])
    edges = train[ok][np.random.default_rng(0).permutation(int(ok.sum()))[:pairs]]
    model = st.SentenceTransformer(str(base), device="cpu")
    model.max_seq_length = max_seq_length
    loss_fn = MultipleNegativesRankingLoss(model)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    steps = epochs * (len(edges) // batch)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    model.train()
    c0, t0 = time.process_time(), time.perf_counter()
    losses: list[float] = []
    rng = np.random.default_rng(0)
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(edges))
        for a in range(0, len(order) - batch + 1, batch):
            e = edges[order[a:a + batch]]
            feats = [model.tokenize([titles[i] for i in e[:, j]]) for j in (0, 1)]
            loss = loss_fn(feats, None)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            if step % 50 == 0 or step == steps:
                print(f"step {step}/{steps} loss {np.mean(losses[-50:]):.4f} "
                      f"cpu {time.process_time() - c0:.0f}s wall {time.perf_counter() - t0:.0f}s", flush=True)
    model.eval()
    spent = {"cpu_s": round(time.process_time() - c0, 1), "wall_s": round(time.perf_counter() - t0, 1),
             "loadavg": _loadavg(), "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
             "pairs": len(edges), "steps": step, "batch": batch, "epochs": epochs, "lr": lr,
             "max_seq_length": max_seq_length, "base_model": str(base),
             "loss_first50": round(float(np.mean(losses[:50])), 4),
             "loss_last50": round(float(np.mean(losses[-50:])), 4)}
    model.save(str(out))
    (out / "finetune.json").write_text(json.dumps(spent, indent=1))
    return spent


class _Encoder:
    """The TextEncoder interface paper_text_vectors needs, over a fine-tuned model directory."""

    def __init__(self, path: Path) -> None:
        import sentence_transformers as st
        import torch

        torch.set_num_threads(1)
        self.name = str(path)
        self.model = st.SentenceTransformer(str(path), device="cpu")

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        v = self.model.encode(texts, batch_size=128, show_progress_bar=progress, convert_to_numpy=True,
                              normalize_embeddings=True)
        return np.asarray(v, dtype=np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-seq-length", type=int, default=32)
    ap.add_argument("--graph", default="sm_cx512_e3")
    ap.add_argument("--name", default=None)
    ap.add_argument("--weights", default=",".join(str(w) for w in WEIGHTS))
    args = ap.parse_args()
    name = args.name or f"ft_p{args.pairs}_b{args.batch}_e{args.epochs}_lr{args.lr:g}"
    weights = tuple(float(w) for w in args.weights.split(","))

    gf, papers, (graph, split) = _load()
    n = len(papers)
    ids = graph.keys(np.arange(n))
    titles = papers.texts("title")
    out_dir = CACHE / "text_ft" / name
    if (out_dir / "finetune.json").is_file():
        ft = json.loads((out_dir / "finetune.json").read_text())
        print("reusing fine-tuned model", out_dir, ft, flush=True)
    else:
        ft = finetune(titles, split.train, out_dir, pairs=args.pairs, batch=args.batch, epochs=args.epochs,
                      lr=args.lr, max_seq_length=args.max_seq_length)
        print("fine-tuned", ft, flush=True)
    c0 = time.process_time()
    texts = {"base": paper_text_vectors(papers, cache=gf.text),
             "finetuned": paper_text_vectors(papers, encoder=_Encoder(out_dir), cache=out_dir / "vectors")}
    encode_cpu = round(time.process_time() - c0, 1)

    rels = {"direct": proxy_relevance(split.train, split.valid, n, cocited=False),
            "cocited": proxy_relevance(split.train, split.valid, n)}
    sources = np.unique(np.concatenate([np.fromiter(r.keys(), np.int64) for r in rels.values()]))
    emb = KGEmbedding.load(CACHE / "explore" / args.graph)
    g = emb.entity_vectors()[:n]
    gq_t, gq_h = emb.query_pair("cites", "tail+head", entities=np.arange(n))

    rows: list[dict[str, Any]] = []
    per: dict[tuple[str, str, float, str], np.ndarray] = {}

    def score(text_name: str, engine: SimilarItems, kind: str, w: float) -> None:
        row: dict[str, Any] = {"text": text_name, "engine": kind, "weight": w}
        eng = _cached(engine, sources)  # the engines' links are the visible (training) citations
        for rname, rel in rels.items():
            for filt in (False, True):
                r = evaluate_similar(eng, rel, k=10, exclude_linked=filt, rng=0)
                key = f"{rname}{'_filtered' if filt else ''}"
                row[key] = round(r.recall.value, 4)
                row[key + "_ci"] = [round(r.recall.low, 4), round(r.recall.high, 4)]
                per[(text_name, kind, w, key)] = r.per_paper_recall
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if not k.endswith("_ci")}), flush=True)

    def fused(text: np.ndarray, w: float) -> SimilarItems:
        return SimilarItems(ids, text=text, graph=g, weight=w, graph_query=gq_t, graph_query_2=gq_h,
                            links=split.train)

    c1, t1 = time.process_time(), time.perf_counter()
    score("-", fused(texts["base"], 0.0), "graph-only", 0.0)
    for tname, text in texts.items():
        score(tname, SimilarItems(ids, text=text, weight=1.0, links=split.train), "text-only", 1.0)
        for w in weights:
            score(tname, fused(text, w), "fused", w)
    paired = {}
    keys = ("direct", "direct_filtered", "cocited", "cocited_filtered")
    for key in keys:
        for tname in texts:
            best = max((r for r in rows if r["text"] == tname and r["engine"] == "fused"), key=lambda r: r[key])
            t = paired_test(per[(tname, "fused", best["weight"], key)], per[("-", "graph-only", 0.0, key)], rng=0)
            paired[f"{key}: fused {tname} (w {best['weight']}) - graph-only"] = t.to_dict()
            print(f"paired {key}: fused {tname} w {best['weight']} - graph-only: {t.difference} "
                  f"p={t.p_value:.4g}", flush=True)
        for w in weights:
            t = paired_test(per[("finetuned", "fused", w, key)], per[("base", "fused", w, key)], rng=0)
            paired[f"{key}: fused finetuned - fused base (w {w})"] = t.to_dict()
    out = {"what": ("validation-only exploration: all-MiniLM-L6-v2 fine-tuned on (citing title, cited title) "
                    "pairs of the seed-0 split's training citations (MultipleNegativesRankingLoss, in-batch "
                    "negatives); Recall@10 on the validation edges, tail+head graph queries of "
                    f"{args.graph}; 95% bootstrap intervals over source papers"),
           "command": ("OMP_NUM_THREADS=1 nice -n 10 python benchmarks/explore_text_finetune.py "
                       + " ".join(sys.argv[1:])),
           "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "loadavg": _loadavg(),
           "model_dir": str(out_dir), "finetune": ft, "encode_cpu_s": encode_cpu,
           "eval_cpu_s": round(time.process_time() - c1, 1), "eval_wall_s": round(time.perf_counter() - t1, 1),
           "graph": args.graph, "split": split.to_dict(), "sources": {k: len(v) for k, v in rels.items()},
           "rows": rows, "paired": paired}
    prev = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    runs = prev.get("runs", {})
    if "rows" in prev:  # a file of the first version (one run at top level)
        runs[Path(prev["model_dir"]).name] = {k: v for k, v in prev.items() if k != "what"}
    runs[name] = {k: v for k, v in out.items() if k != "what"}
    RESULTS.write_text(json.dumps({"what": out["what"], "runs": runs}, indent=1))
    print("wrote", RESULTS, "run", name, flush=True)


if __name__ == "__main__":
    main()
