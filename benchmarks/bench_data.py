"""Data layer speed: loading each public data set, profiling it, generating the synthetic store.

Each figure is the median (and minimum) of ``--repeat`` runs in this process, with the operating
system's file cache warm after the first. As a floor, the time to merely read the source files
with polars (no cleaning, no id encoding) is measured in the same run.

Run (from the repository root)::

    DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=2 nice python benchmarks/bench_data.py

Writes ``benchmarks/results/data.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from discoverly import __version__
from discoverly.data.datasets import DATASETS, find_dataset, load_dataset
from discoverly.data.quality import profile
from discoverly.data.synthetic import synthetic_store

RESULTS = Path(__file__).parent / "results" / "data.json"


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def _read_only(paths: dict[str, Path]) -> None:
    for p in paths.values():
        if p.suffix == ".parquet":
            pl.read_parquet(p)
        else:
            pl.read_csv(p, separator="\t" if p.name == "u.data" else "|", has_header=False, quote_char=None,
                        encoding="utf8-lossy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for name in DATASETS:
        if name == "synthetic-store":
            continue
        paths = find_dataset(name, args.data_dir)
        if paths is None:
            print(f"skipping {name}: not found (set DISCOVERLY_DATA_DIR)", file=sys.stderr)
            continue
        load_t, ds = _timed(lambda name=name: load_dataset(name, args.data_dir), args.repeat)
        read_t, _ = _timed(lambda paths=paths: _read_only(paths), args.repeat)
        prof_t, _ = _timed(lambda ds=ds: profile(ds), args.repeat)
        rows.append(_row(name, ds, load_t, read_t, prof_t))
    for n_customers, n_items in ((2_000, 500), (20_000, 5_000)):
        label = f"synthetic-store ({n_customers:,} customers, {n_items:,} items)"
        gen_t, ds = _timed(lambda c=n_customers, i=n_items: synthetic_store(n_customers=c, n_items=i, rng=0),
                           args.repeat)
        prof_t, _ = _timed(lambda ds=ds: profile(ds), args.repeat)
        rows.append(_row(label, ds, gen_t, None, prof_t))
    machine = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
               "load_average": os.getloadavg(), "polars": pl.__version__, "discoverly": __version__}
    out = {"date": dt.date.today().isoformat(), "command": " ".join(["python", *sys.argv]),
           "repeat": args.repeat, "machine": machine, "results": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print("| data set | events | users | items | load s (median / min) | read files only s | "
          "profile s | load ÷ read |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        read = f"{r['read_median_s']:.2f}" if r["read_median_s"] is not None else "—"
        ratio = f"{r['load_median_s'] / r['read_median_s']:.1f}×" if r["read_median_s"] else "—"
        print(f"| {r['name']} | {r['events']:,} | {r['users']:,} | {r['items']:,} | "
              f"{r['load_median_s']:.2f} / {r['load_min_s']:.2f} | {read} | {r['profile_median_s']:.2f} | {ratio} |")
    print(f"\nmachine: {machine}; written {RESULTS}")


def _row(name: str, ds: Any, load_t: list[float], read_t: list[float] | None, prof_t: list[float]) -> dict[str, Any]:
    log = ds.interactions
    return {"name": name, "events": len(log), "users": log.n_users, "items": log.n_items,
            "load_median_s": statistics.median(load_t), "load_min_s": min(load_t), "load_all_s": load_t,
            "read_median_s": statistics.median(read_t) if read_t else None,
            "profile_median_s": statistics.median(prof_t)}


if __name__ == "__main__":
    main()
