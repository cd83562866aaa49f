"""Quality figures (issue 2, section 6, first bullet), measured in one run.

Sections (``--only`` runs a subset; results are merged into the JSON file):

* ``leaderboards`` — Online Retail 2011 file and both files combined at 2011-11-01, Complete
  Journey at 2017-11-01; both variants; popularity, bestsellers, buy-again, cosine, naive,
  corrected and implicit's CosineRecommender / BM25Recommender in the same harness; 95% bootstrap
  intervals; paired tests for the two claims (item-to-item vs the bestseller list, corrected vs
  cosine/naive); hit rate by customer activity and by target popularity; how popular the
  recommended items are.
* ``cutoffs`` — the claims over monthly cutoffs of the 2011 file (2011-03-01 … 2011-11-01, the
  earlier ones such as 2011-09-01 included), per cutoff and pooled (clustered by customer).
* ``parameters`` — item-to-item settings varied one at a time around the registry defaults, at
  the validation cutoff 2011-10-01 and at the test cutoff 2011-11-01: a diagnosis of *why*, not a
  search (defaults come from the recommender engineer's validation search).

Run (from the repository root, about 20-25 minutes on 2 shared cores)::

    DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 nice python benchmarks/bench_quality.py

Writes ``benchmarks/results/quality.json`` and prints markdown tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from discoverly import __version__
from discoverly.data.datasets import load_dataset
from discoverly.evaluate import Evaluation, activity_buckets, evaluate, paired_test, recommend_top, split
from discoverly.evaluate.evaluation import POOLED, json_default
from discoverly.evaluate.html import format_estimate
from discoverly.recommend.registry import MODELS as REGISTRY
from discoverly.recommend.registry import create, model_class

MODELS = ["popularity", "bestsellers", "buy-again", "cosine", "naive", "corrected", "implicit-cosine",
          "implicit-bm25"]
ITEM_TO_ITEM = ["cosine", "naive", "corrected"]
MAIN = [("online-retail-2011", "2011-11-01"), ("online-retail", "2011-11-01"), ("complete-journey", "2017-11-01")]
MONTHLY = ["2011-03-01", "2011-04-01", "2011-05-01", "2011-06-01", "2011-07-01", "2011-08-01", "2011-09-01",
           "2011-10-01", "2011-11-01"]
VALIDATION_CUTOFF, TEST_CUTOFF = "2011-10-01", "2011-11-01"
#: one setting varied at a time around the registry defaults
PARAMETER_GRID: dict[str, list[Any]] = {
    "half_life_days": [7.0, 60.0, None],
    "recent_items": [1, 5, 20, None],
    "min_count": [1, 2, 3, 5],
    "neighbours": [50, 100, 200],
    "normalize": [True, False],
    "max_history": [100, 300],
}
PAIRS = [("cosine", "bestsellers"), ("naive", "bestsellers"), ("corrected", "bestsellers"),
         ("corrected", "cosine"), ("corrected", "naive"), ("cosine", "implicit-cosine")]

RESULTS = Path(__file__).parent / "results" / "quality.json"


def machine() -> dict[str, Any]:
    import implicit
    import scipy

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "discoverly": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "implicit": implicit.__version__, "omp_threads": os.environ.get("OMP_NUM_THREADS"),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def fmt(e: Any) -> str:
    return format_estimate(e.value, e.low, e.high)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def paired_rows(ev: Evaluation, pairs: list[tuple[str, str]], cutoff: str | None = None) -> list[dict[str, Any]]:
    out = []
    for a, b in pairs:
        if a not in ev.models or b not in ev.models:
            continue
        for v in ev.variants:
            for metric in (f"HitRate@{ev.ks[0]}", f"NDCG@{ev.ks[-1]}"):
                out.append(ev.paired(a, b, metric, cutoff, v).to_dict())
    return out


def recommended_popularity(ev: Evaluation, interactions: Any, cutoff: str, k: int) -> dict[str, dict[str, float]]:
    """How popular the shown items are (new-items variant): the median distinct buyers before the
    cutoff of the items in the top k, and the share of them among the 100 all-time bestsellers."""
    s = split(interactions, cutoff, variant="new-items")
    buyers = s.train.item_counts()
    top100 = np.zeros(len(buyers), dtype=bool)
    top100[np.argsort(-buyers, kind="stable")[:100]] = True
    out = {}
    for name, model in ev.fitted.items():
        top = recommend_top(model, s, k)
        shown = top[top >= 0]
        out[name] = {"median_buyers": float(np.median(buyers[shown])), "share_in_top100": float(top100[shown].mean()),
                     "distinct_items": len(np.unique(shown))}
    return out


def activity_paired(ev: Evaluation, interactions: Any, cutoff: str,
                    pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Paired HitRate@k differences within each customer-activity bucket (light → heavy)."""
    out = []
    metric = f"HitRate@{ev.ks[0]}"
    for v in ev.variants:
        s = split(interactions, cutoff, variant=v)
        groups = activity_buckets(s)
        for a, b in pairs:
            xa, xb = ev.cell(a, None, v), ev.cell(b, None, v)
            assert np.array_equal(xa.users, s.users) and np.array_equal(xb.users, s.users)
            for g, label in enumerate(groups.labels):
                mask = groups.assign == g
                t = paired_test(xa.per_user[metric][mask], xb.per_user[metric][mask], rng=ev.seed)
                out.append({"a": a, "b": b, "variant": v, "bucket": label, "metric": metric, **t.to_dict()})
    return out


def leaderboards(n_boot: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, cutoff in MAIN:
        t0 = time.perf_counter()
        ds = load_dataset(name)
        ev = evaluate(ds.interactions, MODELS, [cutoff], dataset=name, notes=ds.notes, keep_models=True,
                      n_boot=n_boot, progress=sys.stderr.isatty())
        res = ev.to_dict(paired=False)
        res["paired_claims"] = paired_rows(ev, PAIRS)
        res["recommended_popularity"] = recommended_popularity(ev, ds.interactions, cutoff, ev.ks[0])
        res["paired_by_activity"] = activity_paired(ev, ds.interactions, cutoff,
                                                    [("corrected", "cosine"), ("cosine", "bestsellers")])
        res["seconds"] = time.perf_counter() - t0
        out[f"{name}@{cutoff}"] = res
        print_leaderboard(name, cutoff, ev, res)
        ev.fitted.clear()
    return out


def print_leaderboard(name: str, cutoff: str, ev: Evaluation, res: dict[str, Any]) -> None:
    k0, k1 = ev.ks[0], ev.ks[-1]
    for v in ev.variants:
        info = next(d for d in ev.splits.values() if d["variant"] == v)
        print(f"\n### {name}, cutoff {cutoff}, {v} ({info['n_users']:,} test users)\n")
        board = ev.leaderboard(None, v)
        rows = []
        for m in board["model"].to_list():
            c = ev.cell(m, None, v)
            rows.append([m, fmt(c.metrics[f"HitRate@{k0}"]), fmt(c.metrics[f"Recall@{k1}"]),
                         fmt(c.metrics[f"NDCG@{k1}"]), fmt(c.coverage[f"Coverage@{k0}"]),
                         f"{ev.fit_seconds[(m, ev.primary_cutoff)]:.1f}"])
        print(md_table(["model", f"HitRate@{k0}", f"Recall@{k1}", f"NDCG@{k1}", f"Coverage@{k0}", "fit s"], rows))
        for kind in ("activity", "popularity"):
            cells = {m: ev.cell(m, None, v).buckets[kind] for m in ["bestsellers", *ITEM_TO_ITEM, "buy-again"]}
            labels = next(iter(cells.values())).labels
            sizes = [e.n for e in next(iter(cells.values())).estimates]
            print(f"\nHitRate@{k0} by {kind} ({v}):\n")
            print(md_table([kind, "users", *cells], [
                [lab, f"{n:,}", *(fmt(b.estimates[i]) for b in cells.values())]
                for i, (lab, n) in enumerate(zip(labels, sizes, strict=True))]))
    print(f"\npaired tests ({name}, {cutoff}):\n")
    print(md_table(["A − B", "variant", "metric", "difference [95% CI]", "p"], [
        [f"{p['a']} − {p['b']}", p["variant"], p["metric"],
         format_estimate(p["difference"]["value"], *p["difference"]["ci"]), f"{p['p_value']:.4f}"]
        for p in res["paired_claims"]]))
    print(f"\npaired HitRate@6 by customer activity ({name}, {cutoff}):\n")
    print(md_table(["A − B", "variant", "activity", "difference [95% CI]", "p"], [
        [f"{p['a']} − {p['b']}", p["variant"], p["bucket"],
         format_estimate(p["difference"]["value"], *p["difference"]["ci"]), f"{p['p_value']:.4f}"]
        for p in res["paired_by_activity"]]))
    print("\nrecommended items (new-items, top 6): median buyers before the cutoff / share among the 100 "
          "all-time bestsellers / distinct items shown\n")
    print(md_table(["model", "median buyers", "share in top 100", "distinct items"], [
        [m, f"{d['median_buyers']:.0f}", f"{d['share_in_top100']:.2f}", f"{d['distinct_items']:,}"]
        for m, d in res["recommended_popularity"].items()]))


def cutoffs(n_boot: int) -> dict[str, Any]:
    ds = load_dataset("online-retail-2011")
    ev = evaluate(ds.interactions, ["bestsellers", *ITEM_TO_ITEM], MONTHLY, dataset=ds.name, n_boot=n_boot,
                  progress=sys.stderr.isatty())
    res = ev.to_dict(paired=False)
    res["paired_claims"] = paired_rows(ev, PAIRS[:5], POOLED)
    res["paired_per_cutoff"] = {c: paired_rows(ev, PAIRS[:5], c) for c in ev.cutoffs}
    for v in ev.variants:
        print(f"\n### online-retail-2011, monthly cutoffs, {v}: HitRate@6 per cutoff\n")
        rows = [[c, *(fmt(ev.metric(m, "HitRate@6", c, v)) for m in ev.models)] for c in ev.cutoffs]
        rows.append(["pooled", *(fmt(ev.metric(m, "HitRate@6", POOLED, v)) for m in ev.models)])
        print(md_table(["cutoff", *ev.models], rows))
    print("\npaired, pooled over the monthly cutoffs (clustered by customer):\n")
    print(md_table(["A − B", "variant", "metric", "difference [95% CI]", "p"], [
        [f"{p['a']} − {p['b']}", p["variant"], p["metric"],
         format_estimate(p["difference"]["value"], *p["difference"]["ci"]), f"{p['p_value']:.4f}"]
        for p in res["paired_claims"]]))
    return {"online-retail-2011@monthly": res}


def parameters(n_boot: int) -> dict[str, Any]:
    ds = load_dataset("online-retail-2011")
    specs: dict[str, Any] = {}
    for score in ("cosine", "corrected"):
        defaults = REGISTRY[score][2]
        signature = inspect.signature(model_class(score))
        specs[f"{score} (defaults)"] = score
        for param, values in PARAMETER_GRID.items():
            for value in values:
                if defaults.get(param, signature.parameters[param].default) == value:
                    continue  # the default itself is the row above
                specs[f"{score} {param}={value}"] = (lambda s=score, p=param, x=value, d=defaults:
                                                    create(s, **{**d, p: x}))
    ev = evaluate(ds.interactions, specs, [VALIDATION_CUTOFF, TEST_CUTOFF], variants="new-items",
                  dataset=ds.name, n_boot=n_boot, progress=sys.stderr.isatty())
    res = ev.to_dict(paired=False)
    print("\n### online-retail-2011, item-to-item settings (new-items; one setting varied at a time)\n")
    rows = []
    for m in ev.models:
        rows.append([m, *(fmt(ev.metric(m, "HitRate@6", c)) for c in ev.cutoffs),
                     *(fmt(ev.metric(m, "NDCG@10", c)) for c in ev.cutoffs)])
    print(md_table(["setting", f"HitRate@6 {VALIDATION_CUTOFF} (validation)", f"HitRate@6 {TEST_CUTOFF} (test)",
                    f"NDCG@10 {VALIDATION_CUTOFF}", f"NDCG@10 {TEST_CUTOFF}"], rows))
    res["defaults"] = {s: create(s).config() for s in ("cosine", "corrected")}
    return {"online-retail-2011@parameters": res}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="leaderboards,cutoffs,parameters",
                        help="comma-separated sections: leaderboards, cutoffs, parameters")
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    sections = {"leaderboards": leaderboards, "cutoffs": cutoffs, "parameters": parameters}
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(sections)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(sections)}")
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results["machine"] = machine()
    results["command"] = "python " + " ".join(sys.argv)
    for s in chosen:
        t0 = time.perf_counter()
        results.setdefault("sections", {}).update(sections[s](args.n_boot))
        results.setdefault("section_seconds", {})[s] = time.perf_counter() - t0
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, default=json_default))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
