"""Why the time-aware autoencoder's test figures move with the seed: a diagnosis, not a search.

The autoencoder picks its number of epochs on ONE internal validation cutoff (the last 14 days
of its training log) and then retrains on all cutoffs for that many epochs. This script refits it
at a test cutoff for a FIXED number of epochs (1, 2, 3, 5; seeds 0, 1, 2; otherwise the preset),
exactly as the refit step does, and scores each fit with the evaluation protocol, to show how
much the test HitRate@6 depends on the epoch count the validation cutoff happened to pick. A
second block varies ``max_items`` (the model's item set) at the preset's settings. Nothing here
changes a preset: the figures are on the TEST window and only explain the benchmark's results.

Run (from the repository root)::

    DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        nice python benchmarks/bench_seed_diagnosis.py --dataset complete-journey --cutoff 2017-11-01

Results are merged into ``benchmarks/results/seed_diagnosis.json`` (one entry per data set and
cutoff); a markdown table is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from discoverly.data.datasets import load_dataset
from discoverly.data.interactions import Interactions
from discoverly.evaluate import evaluate
from discoverly.evaluate.evaluation import json_default
from discoverly.recommend.autoencoder import _WEIGHT_NAMES, Autoencoder
from discoverly.recommend.autoencoder_examples import first_sales, select_items, trend_features, validation_plan
from discoverly.recommend.autoencoder_training import train_autoencoder
from discoverly.recommend.presets import preset

OUT = Path(__file__).parent / "results" / "seed_diagnosis.json"


class FixedEpochs(Autoencoder):
    """The autoencoder's refit step alone: all training cutoffs, ``fixed`` epochs, no validation."""

    def __init__(self, fixed: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fixed = int(fixed)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "fixed": self.fixed}

    def _fit(self, interactions: Interactions) -> None:
        v, end = validation_plan(interactions, self.window_days)
        cols = select_items(interactions, self.max_items)
        train = self._examples(interactions, cols, v, end)
        result = train_autoencoder(train, None, self._settings(), epochs=self.fixed)
        feats = trend_features(interactions, end, cols, first_sales(interactions))
        self.cols_ = cols.astype(np.int64)
        self.weights_ = {k: result.weights[k] for k in _WEIGHT_NAMES}
        self.offset_ = result.trend_offset(feats)
        self.training_ = {"refit_examples": len(train), "refit_epochs": self.fixed, "items": len(cols),
                          "train_loss": result.train_loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--cutoff", required=True)
    parser.add_argument("--epochs", default="1,2,3,5")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--max-items", default="", help="comma-separated max_items values to try (preset epochs)")
    args = parser.parse_args()
    data = load_dataset(args.dataset).interactions
    base = preset(args.dataset, "autoencoder")
    models: dict[str, Any] = {}
    for s in [int(x) for x in args.seeds.split(",") if x]:
        for e in [int(x) for x in args.epochs.split(",") if x]:
            models[f"epochs={e} seed={s}"] = (lambda e=e, s=s: FixedEpochs(fixed=e, **{**base, "rng": s}))
    for m in [int(x) for x in args.max_items.split(",") if x]:
        models[f"max_items={m} seed=0"] = (lambda m=m: Autoencoder(**{**base, "max_items": m}))
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    ev = evaluate(data, models, [args.cutoff], window_days=14, variants="new-items", k=(6, 20), rng=0,
                  dataset=args.dataset)
    rows = []
    for name in models:
        h = ev.metric(name, "HitRate@6")
        rows.append({"model": name, "HitRate@6": {"value": h.value, "ci": [h.low, h.high], "n": h.n},
                     "NDCG@20": ev.metric(name, "NDCG@20").value, "fit_seconds": ev.fit_seconds[(name, args.cutoff)]})
        print(f"| {name} | {h.value:.3f} [{h.low:.3f}, {h.high:.3f}] | {rows[-1]['NDCG@20']:.3f} | "
              f"{rows[-1]['fit_seconds']:.0f} |", flush=True)
    store: dict[str, Any] = json.loads(OUT.read_text()) if OUT.exists() else {}
    store[f"{args.dataset}@{args.cutoff}"] = {
        "dataset": args.dataset, "cutoff": args.cutoff, "preset": base, "rows": rows,
        "seconds": time.perf_counter() - t0, "load_average": [load0, os.getloadavg()[0]],
        "command": f"nice python benchmarks/bench_seed_diagnosis.py --dataset {args.dataset} --cutoff {args.cutoff} "
                   f"--epochs {args.epochs} --seeds {args.seeds} --max-items {args.max_items}",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    OUT.write_text(json.dumps(store, indent=1, default=json_default))


if __name__ == "__main__":
    main()
