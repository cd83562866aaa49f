"""``recommend`` latency of the time-aware autoencoder per user, in process, from a SAVED model.

The seed benchmark measures latency right after fitting, while the other cells of the run keep the
shared machine busy. This script separates the two: ``--fit`` fits the autoencoder (data-set
preset) at each data set's primary test cutoff and saves it; ``--measure`` loads each saved
model (numpy only) and times single-user ``recommend(k=10)`` calls for the test users of that
cutoff, in wall-clock and CPU time, recording the load average, so it can be run when the machine
is quiet.

Run (from the repository root)::

    DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        nice python benchmarks/bench_seed_latency.py --fit
    OMP_NUM_THREADS=1 python benchmarks/bench_seed_latency.py --measure --calls 2000

Writes ``benchmarks/results/seed_latency.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _timing import time_recommend
from bench_seed_experiment import PRIMARY
from discoverly.data.datasets import load_dataset
from discoverly.evaluate import split
from discoverly.recommend import load_model
from discoverly.recommend.presets import preset
from discoverly.recommend.registry import create
from seed_protocol import WINDOW_DAYS

OUT = Path(__file__).parent / "results" / "seed_latency.json"
MODELS = Path(tempfile.gettempdir()) / "discoverly-seed-latency"


def fit(datasets: list[str]) -> None:
    for d in datasets:
        data = load_dataset(d).interactions
        model = create("autoencoder", **preset(d, "autoencoder"))
        model.fit(data.before(PRIMARY[d]))
        users = data.users.ids_of(split(data, PRIMARY[d], window_days=WINDOW_DAYS).users).tolist()
        path = model.save(MODELS / d)
        (MODELS / f"{d}.users.json").write_text(json.dumps(users))
        print(f"{d}: saved {path} ({len(users)} test users)", flush=True)


def measure(datasets: list[str], calls: int) -> None:
    store: dict[str, Any] = json.loads(OUT.read_text()) if OUT.exists() else {}
    for d in datasets:
        model = load_model(MODELS / d)
        ids: list[Any] = json.loads((MODELS / f"{d}.users.json").read_text())
        users = (ids * (calls // len(ids) + 1))[:calls]
        model.recommend(users[:20], k=10)  # warm-up
        load0 = os.getloadavg()
        timed = time_recommend(model, users)
        size = sum(p.stat().st_size for p in (MODELS / d).iterdir())
        store[d] = {"cutoff": PRIMARY[d], "calls": calls, **timed, "artifact_bytes": size,
                    "load_average": [load0, os.getloadavg()],
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        s = store[d]
        print(f"| {d} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['cpu_p99_ms']:.2f} | {size:,} | "
              f"{load0[0]:.1f} |", flush=True)
    OUT.write_text(json.dumps(store, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(PRIMARY))
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    datasets = args.datasets.split(",")
    if args.fit:
        fit(datasets)
    if args.measure:
        measure(datasets, args.calls)


if __name__ == "__main__":
    main()
