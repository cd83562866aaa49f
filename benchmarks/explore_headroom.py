"""How much is there to gain over EASE from the time-aware targets? Two checks on VALIDATION cutoffs only.

Issue 3 asks the time-aware autoencoder to beat EASE and ALS significantly on two of the three data
sets. After five rounds it does so on Online Retail only. This script asks, without looking at a
test window, whether the time-aware targets carry signal that EASE's co-purchase model lacks:

1. ``linear``: a time-aware *linear* autoencoder in closed form. With ``X`` the binary histories of
   the training examples (every customer at weekly cutoffs whose 14-day target windows close by the
   validation cutoff) and ``Y`` the items new to them in the following 14 days,
   ``B = (XᵀX + λI)⁻¹ XᵀY`` (the diagonal never matters: seen items are never recommended). It is
   scored against EASE (its preset penalty, on the full histories before the cutoff), and their
   blend of per-row standardised scores, on the same validation users over the same items: the
   autoencoder's own validation examples (customers with history and a new item among the model's
   items in the window).
2. ``blend``: the autoencoder and EASE (their presets) through the evaluation protocol, their scores
   standardised per customer and blended ``(1 - a) · z(autoencoder) + a · z(EASE)``. ``a = 0`` is
   the autoencoder, ``a = 1`` EASE (over the autoencoder's items the EASE list wins ties).

Run (from the repository root)::

    DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        nice python benchmarks/explore_headroom.py [--datasets complete-journey,...] [--parts linear,blend]

Writes ``benchmarks/results/explore_headroom.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np

from discoverly.data.datasets import load_dataset
from discoverly.data.interactions import to_epoch_seconds
from discoverly.evaluate import evaluate
from discoverly.recommend.autoencoder_examples import build_examples, select_items, training_cutoffs
from discoverly.recommend.autoencoder_training import hit_rate_at
from discoverly.recommend.base import BaseRecommender
from discoverly.recommend.ease import ease_weights
from discoverly.recommend.history import History
from discoverly.recommend.presets import preset
from discoverly.recommend.registry import create
from seed_protocol import PLAN, WINDOW_DAYS

RESULTS = Path(__file__).parent / "results"
DAY = 86_400
DATASETS = ("online-retail-2011", "complete-journey", "movielens-100k")
#: the closed-form check's items (the autoencoder's default) and penalties
LINEAR_ITEMS = 3000
LAMBDAS = (100.0, 1_000.0, 10_000.0, 100_000.0)
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def standardise(scores: np.ndarray) -> np.ndarray:
    """Per row, (s - mean) / std over the finite scores; a row's missing scores go below its lowest."""
    s = np.where(np.isfinite(scores), scores, np.nan).astype(np.float64)
    mean = np.nanmean(s, axis=1, keepdims=True)
    std = np.nanstd(s, axis=1, keepdims=True)
    z = (s - mean) / np.where(std > 0, std, 1.0)
    low = np.nanmin(z, axis=1, keepdims=True) - 1.0
    return np.where(np.isnan(z), low, z)


def linear(dataset: str) -> list[dict[str, Any]]:
    data = load_dataset(dataset).interactions
    l2 = float(preset(dataset, "ease")["l2"])
    rows = []
    for day in PLAN[dataset]["validation"]:
        c = to_epoch_seconds(day)
        past = data.before(c)
        cols = select_items(past, LINEAR_ITEMS)
        val = build_examples(data, cols, np.array([c]), mode="time-aware", window_days=WINDOW_DAYS,
                             input_kind="binary", half_life_days=60.0)
        x = past.matrix("binary")[:, cols].astype(np.float64)
        xv = val.inputs.astype(np.float64)
        ease = np.asarray(xv @ ease_weights((x.T @ x).toarray(), l2))

        def hit(scores: np.ndarray, val: Any = val) -> float:
            return float(hit_rate_at(scores.astype(np.float32), val.inputs, val.targets, 6).mean())

        cuts = training_cutoffs(past, c - int(WINDOW_DAYS * DAY), stride_days=7.0, min_history_days=7.0,
                                max_cutoffs=60)
        train = build_examples(past, cols, cuts, mode="time-aware", window_days=WINDOW_DAYS, input_kind="binary",
                               half_life_days=60.0, normalize_targets=False)
        X, Y = train.inputs.astype(np.float64), train.targets.astype(np.float64)
        gram, xy = (X.T @ X).toarray(), (X.T @ Y).toarray()
        row: dict[str, Any] = {"dataset": dataset, "cutoff": day, "validation_users": len(val),
                               "training_examples": len(train), "training_cutoffs": len(cuts),
                               "ease_l2": l2, "ease": hit(ease), "time_aware": {}}
        for lam in LAMBDAS:
            ta = np.asarray(xv @ np.linalg.solve(gram + lam * np.eye(len(cols)), xy))
            row["time_aware"][str(lam)] = {"alone": hit(ta),
                                           **{f"blend {a}": hit((1 - a) * standardise(ta) + a * standardise(ease))
                                              for a in BLEND_WEIGHTS[1:-1]}}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


class _Blend(BaseRecommender):
    """``(1 - a) · z(autoencoder) + a · z(EASE)``; the two presets are fitted once per training log."""

    name = "blend"
    fitted: ClassVar[dict[tuple[str, int, int], tuple[BaseRecommender, BaseRecommender]]] = {}

    def __init__(self, dataset: str, a: float) -> None:
        super().__init__()
        self.dataset, self.a = dataset, float(a)

    def config(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "a": self.a}

    def _fit(self, interactions: Any) -> None:
        key = (self.dataset, len(interactions), int(interactions.timestamp[-1]))
        if key not in self.fitted:
            self.fitted[key] = (create("autoencoder", **preset(self.dataset, "autoencoder")).fit(interactions),
                                create("ease", **preset(self.dataset, "ease")).fit(interactions))
        self.models = self.fitted[key]

    def _score(self, history: History) -> np.ndarray:
        ae, ease = (m._score(history) for m in self.models)
        out = (1 - self.a) * standardise(ae) + self.a * standardise(ease)
        out[history.lengths() == 0] = -np.inf
        return out.astype(np.float32)


def blend(dataset: str) -> list[dict[str, Any]]:
    data = load_dataset(dataset).interactions
    cutoffs = PLAN[dataset]["validation"]
    models = {f"a={a}": (lambda a=a: _Blend(dataset, a)) for a in BLEND_WEIGHTS}
    t0 = time.process_time()
    ev = evaluate(data, models, cutoffs, window_days=WINDOW_DAYS, variants="new-items", k=(6, 20), n_boot=1000,
                  dataset=dataset)
    rows = []
    for name in models:
        h = ev.pooled(name)["HitRate@6"]
        vs = {ref: ev.paired(name, ref, "HitRate@6", "pooled").test.to_dict()
              for ref in ("a=0.0", "a=1.0") if ref != name}
        rows.append({"dataset": dataset, "model": name, "HitRate@6": h.to_dict(),
                     "per_cutoff": {c: ev.metric(name, "HitRate@6", c).value for c in cutoffs}, "paired": vs})
        print(json.dumps(rows[-1]), flush=True)
    rows.append({"dataset": dataset, "cpu_s": time.process_time() - t0})
    return rows


def report(store: dict[str, Any]) -> str:
    out = ["# Headroom over EASE from the time-aware targets (validation cutoffs only)", "",
           "Written by `benchmarks/explore_headroom.py`; HitRate@6, 14-day window, new items.", ""]
    if store.get("linear"):
        out += ["## 1. Closed form on the autoencoder's validation examples (3,000 items)", "",
                "| data set | cutoff | users | EASE | time-aware linear, best λ | its blend with EASE, best |",
                "|---|---|---:|---:|---:|---:|"]
        for r in store["linear"]:
            lam, best = max(r["time_aware"].items(), key=lambda kv: kv[1]["alone"])
            blend_best = max((v, f"λ {k}, {b}") for k, d in r["time_aware"].items() for b, v in d.items()
                             if b != "alone")
            out.append(f"| {r['dataset']} | {r['cutoff']} | {r['validation_users']} | {r['ease']:.3f} | "
                       f"{best['alone']:.3f} (λ {lam}) | {blend_best[0]:.3f} ({blend_best[1]}) |")
        out.append("")
    if store.get("blend"):
        out += ["## 2. Autoencoder and EASE blended, through the evaluation protocol (validation cutoffs pooled)", "",
                "| data set | a = 0 (autoencoder) | 0.25 | 0.5 | 0.75 | a = 1 (EASE) |", "|---|---|---|---|---|---|"]
        by: dict[str, dict[str, str]] = {}
        for r in store["blend"]:
            if "model" in r:
                h = r["HitRate@6"]
                by.setdefault(r["dataset"], {})[r["model"]] = f"{h['value']:.3f} [{h['ci'][0]:.3f}, {h['ci'][1]:.3f}]"
        for ds, cells in by.items():
            out.append(f"| {ds} | " + " | ".join(cells.get(f"a={a}", "") for a in BLEND_WEIGHTS) + " |")
        out += ["", "Paired differences of each blend against EASE (a = 1), pooled, clustered by customer:", ""]
        for r in store["blend"]:
            if "model" in r and "a=1.0" in r.get("paired", {}):
                d = r["paired"]["a=1.0"]
                lo, hi = d["difference"]["ci"]
                out.append(f"- {r['dataset']}, {r['model']}: {d['difference']['value']:+.4f} "
                           f"[{lo:+.4f}, {hi:+.4f}], p = {d['p_value']:.3f}")
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--parts", default="linear,blend")
    args = ap.parse_args()
    path = RESULTS / "explore_headroom.json"
    store: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for part in args.parts.split(","):
        fn = {"linear": linear, "blend": blend}[part]
        kept = [r for r in store.get(part, []) if r["dataset"] not in args.datasets.split(",")]
        store[part] = kept + [r for ds in args.datasets.split(",") for r in fn(ds)]
        store["command"] = " ".join(["python", *sys.argv])
        path.write_text(json.dumps(store, indent=1) + "\n")
    (RESULTS / "explore_headroom.md").write_text(report(store) + "\n")
    print(report(store))


if __name__ == "__main__":
    main()
