"""Where to put a data set's validation cutoffs: model levels at monthly cutoffs before the test.

The evaluation protocol's numbers drift through a log (on Complete Journey the households'
histories grow, so the items still new to them get harder to guess), and a holiday window can be
unlike the rest of the year. This prints HitRate@6 (new-items variant, 14-day window) of
popularity, the recent bestseller list and ALS (presets of ``discoverly.recommend.presets``) at
monthly cutoffs whose windows close before the data set's first test cutoff, so that validation
cutoffs can be chosen where the models rank as they do later — without looking at a test window.

Run (from the repository root)::

    DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 python benchmarks/validation_regimes.py \\
        [--dataset complete-journey] [--start 2017-04-01]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from discoverly.data.datasets import load_dataset
from discoverly.evaluate import evaluate
from discoverly.recommend.presets import preset
from discoverly.recommend.registry import create
from seed_protocol import PLAN, WINDOW_DAYS, every

MODELS = ("popularity", "bestsellers", "als")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="complete-journey", choices=sorted(PLAN))
    parser.add_argument("--start", default="2017-04-01", help="first cutoff (ISO date)")
    parser.add_argument("--days", type=int, default=15, help="days between cutoffs")
    args = parser.parse_args()
    last = dt.date.fromisoformat(min(PLAN[args.dataset]["test"])) - dt.timedelta(days=WINDOW_DAYS)
    cutoffs = every(args.start, last.isoformat(), args.days)
    data = load_dataset(args.dataset).interactions
    models = {m: (lambda m=m: create(m, **preset(args.dataset, m))) for m in MODELS}
    ev = evaluate(data, models, cutoffs, window_days=WINDOW_DAYS, variants="new-items", k=(6,), n_boot=200,
                  dataset=args.dataset)
    print(f"| cutoff | {' | '.join(MODELS)} |\n|---|{'---|' * len(MODELS)}")
    for c in cutoffs:
        print(f"| {c} | " + " | ".join(f"{ev.metric(m, 'HitRate@6', c).value:.3f}" for m in MODELS) + " |")


if __name__ == "__main__":
    main()
