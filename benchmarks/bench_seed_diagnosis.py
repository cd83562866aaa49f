"""Why the time-aware autoencoder's test figures move with the seed: a diagnosis, not a search.

The autoencoder picks its number of epochs on ONE internal validation cutoff (the last 14 days
of its training log) and then retrains on all cutoffs for that many epochs. This script refits it
at a test cutoff for a FIXED number of epochs (1, 2, 3, 5; seeds 0, 1, 2; otherwise the preset),
exactly as the refit step does, and scores each fit with the evaluation protocol, to show how
much the test HitRate@6 depends on the epoch count the validation cutoff happened to pick. A
second block varies ``max_items`` (the model's item set) at the preset's settings. A third block
(``--overrides``) fits the whole model (its own early stopping and refit) with one setting of the
preset changed, next to the preset itself and the peers named by ``--peers``, over one or more
cutoffs (pooled when several), with paired tests against the preset and the peers: it tests an explanation of a
gap on the test windows (round K: where do MovieLens's customer cutoffs lie). Nothing here
changes a preset: the figures are on the TEST window and only explain the benchmark's results.

Run (from the repository root)::

    DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        nice python benchmarks/bench_seed_diagnosis.py --dataset complete-journey --cutoff 2017-11-01
    # the preset with one setting changed, on MovieLens's eight test cutoffs pooled
    nice python benchmarks/bench_seed_diagnosis.py --dataset movielens-100k --cutoff test \
        --peers bestsellers --overrides '{"user_cutoff_gap_days": 1.0}' '{"user_cutoffs": 0}'

Results are merged into ``benchmarks/results/seed_diagnosis.json`` (one entry per data set and
cutoff, or per data set and block of cutoffs); a markdown table is printed.
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
from discoverly.data.interactions import Interactions, to_epoch_seconds
from discoverly.evaluate import evaluate
from discoverly.evaluate.evaluation import json_default
from discoverly.recommend.autoencoder import _WEIGHT_NAMES, Autoencoder
from discoverly.recommend.autoencoder_examples import first_sales, select_items, trend_features, validation_plan
from discoverly.recommend.autoencoder_training import train_autoencoder
from discoverly.recommend.presets import preset
from discoverly.recommend.registry import create
from seed_protocol import PLAN

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


def pause_days(data: Interactions, users: np.ndarray, cutoff: str) -> dict[str, float]:
    """How long the evaluated ``users`` had been away at ``cutoff``: days since each one's last
    event before it (median, and the share under one day: customers inside a visit)."""
    before = data.before(cutoff)
    last = np.full(data.n_users, -1, dtype=np.int64)
    np.maximum.at(last, before.user_index, before.timestamp.astype(np.int64))
    days = (to_epoch_seconds(cutoff) - last[users]) / 86_400
    return {"n": len(days), "median": float(np.median(days)), "under_1_day": float(np.mean(days < 1))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--cutoff", required=True,
                        help="a date, dates separated by commas, or 'test' / 'validation': the plan's cutoffs")
    parser.add_argument("--epochs", default=None,
                        help="comma-separated fixed epoch counts (default 1,2,3,5; none when --max-items or "
                             "--overrides is given)")
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the fixed-epoch block")
    parser.add_argument("--max-items", default="", help="comma-separated max_items values to try (preset epochs)")
    parser.add_argument("--overrides", nargs="*", default=[],
                        help="JSON objects: the preset with these settings changed (own early stopping), "
                             "next to the preset itself")
    parser.add_argument("--peers", default="", help="comma-separated models fitted with their presets beside them")
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = "" if args.overrides or args.max_items else "1,2,3,5"
    data = load_dataset(args.dataset).interactions
    base = preset(args.dataset, "autoencoder")
    cutoffs = PLAN[args.dataset][args.cutoff] if args.cutoff in ("test", "validation") else args.cutoff.split(",")
    models: dict[str, Any] = {}
    for s in [int(x) for x in args.seeds.split(",") if x]:
        for e in [int(x) for x in args.epochs.split(",") if x]:
            models[f"epochs={e} seed={s}"] = (lambda e=e, s=s: FixedEpochs(fixed=e, **{**base, "rng": s}))
    for m in [int(x) for x in args.max_items.split(",") if x]:
        models[f"max_items={m} seed=0"] = (lambda m=m: Autoencoder(**{**base, "max_items": m}))
    variants = [json.loads(o) for o in args.overrides]
    if variants:
        models["preset"] = lambda: Autoencoder(**base)
    for o in variants:
        models[json.dumps(o, sort_keys=True)] = (lambda o=o: Autoencoder(**{**base, **o}))
    peers = [p for p in args.peers.split(",") if p]
    for peer in peers:
        models[peer] = (lambda peer=peer: create(peer, **preset(args.dataset, peer)))
    fitted: dict[str, list[Any]] = {name: [] for name in models}

    def kept(name: str, make: Any) -> Any:
        """``make`` that also keeps each model it makes (one per cutoff, in the cutoffs' order)."""
        def factory() -> Any:
            fitted[name].append(make())
            return fitted[name][-1]
        return factory

    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    ev = evaluate(data, {name: kept(name, make) for name, make in models.items()}, cutoffs, window_days=14,
                  variants="new-items", k=(6, 20), rng=0, dataset=args.dataset)
    rows = []
    for name in models:
        m = ev.pooled(name) if len(cutoffs) > 1 else ev.cell(name).metrics
        h = m["HitRate@6"]
        row: dict[str, Any] = {"model": name, "HitRate@6": {"value": h.value, "ci": [h.low, h.high], "n": h.n},
                               "NDCG@20": m["NDCG@20"].value,
                               "fit_seconds": sum(ev.fit_seconds[(name, c)] for c in cutoffs)}
        if variants and name != "preset" and name not in peers:
            for other in ("preset", *peers):
                pt = ev.paired(name, other, "HitRate@6", cutoff="pooled" if len(cutoffs) > 1 else None).test
                d = pt.difference
                row[f"vs_{other}"] = {"diff": d.value, "ci": [d.low, d.high], "p": pt.p_value}
        # the autoencoder's training examples per cutoff (its first network; early stopping / refit)
        examples = [{"cutoff": c, **{k: v for k, v in getattr(m, "training_", {}).items()
                                   if k in ("examples", "refit_examples", "best_epoch", "refit_epochs")}}
                    for c, m in zip(cutoffs, fitted[name], strict=True)]
        if any(len(e) > 1 for e in examples):
            row["training"] = examples
        rows.append(row)
        paired = "; ".join(f"vs {k[3:]} {v['diff']:+.3f} [{v['ci'][0]:+.3f}, {v['ci'][1]:+.3f}], p={v['p']:.3f}"
                           for k, v in row.items() if k.startswith("vs_"))
        print(f"| {name} | {h.value:.3f} [{h.low:.3f}, {h.high:.3f}] | {row['NDCG@20']:.3f} | "
              f"{row['fit_seconds']:.0f} | {paired} |", flush=True)
    pauses = {c: pause_days(data, ev.cell(next(iter(models)), c).users, c) for c in cutoffs}
    for c, pz in pauses.items():
        print(f"{c}: {pz['n']} units, days since their last event: median {pz['median']:.1f}, "
              f"under one day {pz['under_1_day']:.2f}")
    store: dict[str, Any] = json.loads(OUT.read_text()) if OUT.exists() else {}
    block = args.cutoff if len(cutoffs) == 1 else f"{args.cutoff} ({len(cutoffs)} cutoffs)"
    if variants:
        block += " overrides " + " ".join(json.dumps(o, sort_keys=True) for o in variants)
    store[f"{args.dataset}@{block}"] = {
        "dataset": args.dataset, "cutoff": args.cutoff, "cutoffs": cutoffs, "preset": base, "rows": rows,
        "units_pause_days": pauses,
        "seconds": time.perf_counter() - t0, "load_average": [load0, os.getloadavg()[0]],
        "command": f"nice python benchmarks/bench_seed_diagnosis.py --dataset {args.dataset} --cutoff {args.cutoff} "
                   f"--epochs '{args.epochs}' --seeds '{args.seeds}' --max-items '{args.max_items}' "
                   f"--peers '{args.peers}' --overrides " + " ".join(f"'{o}'" for o in args.overrides),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    OUT.write_text(json.dumps(store, indent=1, default=json_default))


if __name__ == "__main__":
    main()
