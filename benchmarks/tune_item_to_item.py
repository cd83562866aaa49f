"""The validation search behind the defaults of ItemToItem and BuyAgain.

Online Retail 2011 (the 2010-12 .. 2011-12 file), cutoff 2011-10-01 and a 14-day test window: a
VALIDATION cutoff, before the test cutoff 2011-11-01 used for the published figures. ItemToItem is
tuned on the "new-items" variant (HitRate@6), BuyAgain on "any-item" (it only recommends items
already bought). Two stages for ItemToItem: the aggregation (recent items, half-life, normalise)
per score, then the relatedness (min_count, neighbours) at the best aggregation.

    DISCOVERLY_DATA_DIR=../shared/data OMP_NUM_THREADS=1 nice python benchmarks/tune_item_to_item.py

Writes benchmarks/results/item_to_item_tuning.json and prints the best settings.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

from discoverly.data import load_dataset
from discoverly.evaluate import evaluate
from discoverly.recommend.base import BaseRecommender
from discoverly.recommend.buy_again import BuyAgain
from discoverly.recommend.item_to_item import ItemToItem

CUTOFF = "2011-10-01"
RESULTS = Path(__file__).parent / "results" / "item_to_item_tuning.json"


def score_models(log: Any, models: dict[str, BaseRecommender], variant: str) -> dict[str, float]:
    ev = evaluate(log, models, [CUTOFF], k=[6], variants=variant, n_boot=100)  # type: ignore[arg-type]
    return {name: ev.metric(name, "HitRate@6", variant=variant).value for name in models}  # type: ignore[arg-type]


def main() -> None:
    log = load_dataset("online-retail-2011").interactions
    rows: list[dict[str, Any]] = []
    best: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    for score in ("cosine", "naive", "corrected"):
        grid = list(itertools.product((5, 20, None), (7.0, 30.0, None), (False, True)))
        models = {f"{score}|{r}|{h}|{n}": ItemToItem(score, recent_items=r, half_life_days=h, normalize=n)
                  for r, h, n in grid}
        res = score_models(log, models, "new-items")
        for name, value in res.items():
            rows.append({"stage": "aggregation", "model": name, "config": models[name].config(), "HitRate@6": value})
        top = max(res, key=lambda k: res[k])
        agg = {k: models[top].config()[k] for k in ("recent_items", "half_life_days", "normalize")}
        models2 = {f"{score}|mc{mc}|nb{nb}": ItemToItem(score, min_count=mc, neighbours=nb, **agg)
                   for mc, nb in itertools.product((1, 2, 3, 5), (50, 100, 200))}
        res2 = score_models(log, models2, "new-items")
        for name, value in res2.items():
            rows.append({"stage": "relatedness", "model": name, "config": models2[name].config(), "HitRate@6": value})
        top2 = max(res2, key=lambda k: res2[k])
        best[score] = {"config": models2[top2].config(), "HitRate@6": res2[top2]}
        print(f"{score}: best {best[score]}  ({time.perf_counter() - t0:.0f}s)", flush=True)
    grid_ba = list(itertools.product((14.0, 30.0, 60.0, 120.0), (0.0, 0.5, 1.0), (0.0, 1.0, 2.0)))
    models_ba = {f"buy-again|{h}|{f}|{d}": BuyAgain(half_life_days=h, frequency_weight=f, due_weight=d)
                 for h, f, d in grid_ba}
    res_ba = score_models(log, models_ba, "any-item")
    for name, value in res_ba.items():
        rows.append({"stage": "buy-again", "model": name, "config": models_ba[name].config(), "HitRate@6": value})
    top_ba = max(res_ba, key=lambda k: res_ba[k])
    best["buy-again"] = {"config": models_ba[top_ba].config(), "HitRate@6": res_ba[top_ba]}
    print(f"buy-again: best {best['buy-again']}  ({time.perf_counter() - t0:.0f}s)", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"dataset": "online-retail-2011", "cutoff": CUTOFF, "window_days": 14,
                                   "metric": "HitRate@6", "best": best, "trials": rows}, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
