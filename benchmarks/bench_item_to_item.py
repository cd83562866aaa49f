"""Speed of item-to-item relatedness and recommendations, against implicit in the same run.

    DISCOVERLY_DATA_DIR=../shared/data OMP_NUM_THREADS=1 nice python benchmarks/bench_item_to_item.py

Measures, on the binary customers × items matrix of Online Retail (both files) and Complete
Journey:

* building relatedness — discoverly's cosine and corrected scores (compiled engine, and the numpy
  engine, run once) against ``implicit.nearest_neighbours.CosineRecommender.fit`` on the same matrix, all
  single-threaded, in CPU seconds (the machine is shared, so CPU time is steadier than wall time),
  repeated and interleaved; ratios are medians of per-repetition ratios;
* peak memory of each build, in a fresh subprocess per measurement: the peak resident set during
  the build (reset through /proc/self/clear_refs) minus the resident set before it;
* ``recommend`` latency per user, in process, one user per call, k = 10 (p50 / p99);
* build time against data size: 10, 30, 60 and 100 % of Complete Journey's customers, plotted to
  benchmarks/results/item_to_item_scaling.png.

Prints a table and writes benchmarks/results/item_to_item.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).parent))

from _timing import time_recommend

HERE = Path(__file__).parent
RESULTS = HERE / "results"
NEIGHBOURS = 100
MIN_COUNT = 2
DATASETS = ("online-retail", "complete-journey")


def build(kind: str, m: sp.csr_matrix) -> Any:
    """One relatedness build: ``implicit`` or ``<score>-<engine>``."""
    if kind == "implicit":
        from implicit.nearest_neighbours import CosineRecommender

        model = CosineRecommender(K=NEIGHBOURS, num_threads=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # implicit warns about its own COO intermediate
            model.fit(m, show_progress=False)
        return model.similarity
    from discoverly.recommend.relatedness import related_items

    score, engine = kind.split("-")
    return related_items(m, score, min_count=MIN_COUNT, neighbours=NEIGHBOURS, engine=engine)  # type: ignore[arg-type]


def cpu_seconds(kind: str, m: sp.csr_matrix) -> float:
    t0 = time.process_time()
    build(kind, m)
    return time.process_time() - t0


def measure_memory(kind: str, path: Path) -> float:
    """Peak resident-set growth (MB) of one build in a fresh process."""
    out = subprocess.run([sys.executable, __file__, "--memory", kind, str(path)], capture_output=True, text=True,
                         check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"])


def _status_kb(field: str) -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1])


def _memory_child(kind: str, path: str) -> None:
    m = sp.load_npz(path).tocsr()
    build(kind, m[:20])  # imports (and numba's compilation) outside the measurement
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set (Linux)
    before = _status_kb("VmRSS")
    build(kind, m)
    print(json.dumps({"peak_mb": (_status_kb("VmHWM") - before) / 1024}))


def load(name: str) -> Any:
    from discoverly.data import load_dataset

    return load_dataset(name).interactions


def latency(log: Any, score: str, rng: np.random.Generator, n_users: int = 400) -> dict[str, float]:
    from discoverly.recommend.item_to_item import ItemToItem

    model = ItemToItem(score).fit(log)
    users = rng.choice(log.users.ids, size=min(n_users, len(log.users)), replace=False).tolist()
    model.recommend(users[:5], k=10)  # warm up
    return {**time_recommend(model, users, clock=time.thread_time), "users": len(users)}


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import implicit
    import numba
    import scipy

    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__,
            "implicit": implicit.__version__, "date": dt.date.today().isoformat()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of each build timing")
    parser.add_argument("--scaling-repeats", type=int, default=1, help="repetitions in the scaling sweep")
    parser.add_argument("--memory", nargs=2, metavar=("KIND", "NPZ"), help=argparse.SUPPRESS)
    parser.add_argument("--only-latency", action="store_true",
                        help="re-measure only the recommend latency and update it in results/item_to_item.json")
    args = parser.parse_args()
    if args.memory:
        _memory_child(*args.memory)
        return
    if args.only_latency:
        only_latency()
        return
    from discoverly.recommend.relatedness import related_items

    related_items(sp.csr_matrix(np.eye(3)), "corrected", engine="numba")  # compile once, outside the timings
    rng = np.random.default_rng(0)
    kinds = ["implicit", "cosine-numba", "corrected-numba", "cosine-numpy", "corrected-numpy"]
    report: dict[str, Any] = {"machine": machine(), "command": "OMP_NUM_THREADS=1 nice python "
                              "benchmarks/bench_item_to_item.py", "neighbours": NEIGHBOURS, "min_count": MIN_COUNT,
                              "datasets": {}}
    tmp = Path(tempfile.mkdtemp(prefix="bench_i2i_"))
    for name in DATASETS:
        log = load(name)
        m = log.matrix("binary")
        path = tmp / f"{name}.npz"
        sp.save_npz(path, m)
        runs: dict[str, list[float]] = {k: [] for k in kinds}
        for rep in range(args.repeats):
            for kind in kinds:
                if rep == 0 or not kind.endswith("numpy"):  # the slow numpy engine: once
                    runs[kind].append(cpu_seconds(kind, m))
                    print(f"  {name} {kind}: {runs[kind][-1]:.2f} CPU s", flush=True)
        entry: dict[str, Any] = {"shape": list(m.shape), "purchases": int(m.nnz), "cpu_seconds": {},
                                 "ratio_to_implicit": {}, "peak_mb": {}}
        for kind in kinds:
            entry["cpu_seconds"][kind] = statistics.median(runs[kind])
            entry["ratio_to_implicit"][kind] = statistics.median(
                a / b for a, b in zip(runs[kind], runs["implicit"], strict=False))
            entry["peak_mb"][kind] = measure_memory(kind, path)
        entry["latency"] = {score: latency(log, score, rng) for score in ("cosine", "corrected")}
        report["datasets"][name] = entry
        print_entry(name, entry)
    report["scaling"] = scaling(load("complete-journey"), rng, args.scaling_repeats)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "item_to_item.json").write_text(json.dumps(report, indent=1))
    plot(report["scaling"], RESULTS / "item_to_item_scaling.png")
    print(f"\nmachine: {report['machine']}")
    print(f"wrote {RESULTS / 'item_to_item.json'} and {RESULTS / 'item_to_item_scaling.png'}")


def only_latency() -> None:
    """The ``recommend`` latency table alone (same users as a full run), written into the existing
    results with the machine's state at this measurement."""
    path = RESULTS / "item_to_item.json"
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"datasets": {}}
    rng = np.random.default_rng(0)  # drawn in the same order as a full run: the same customers
    for name in DATASETS:
        log = load(name)
        entry = report["datasets"].setdefault(name, {})
        entry["latency"] = {score: latency(log, score, rng) for score in ("cosine", "corrected")}
        for score, lat in entry["latency"].items():
            print(f"{name} recommend latency ({score}, k=10): wall p50 {lat['p50_ms']:.2f} ms, "
                  f"p99 {lat['p99_ms']:.2f} ms; CPU p50 {lat['cpu_p50_ms']:.2f} ms, p99 {lat['cpu_p99_ms']:.2f} ms")
    report["latency_machine"] = {**machine(), "command": "OMP_NUM_THREADS=1 nice python "
                                 "benchmarks/bench_item_to_item.py --only-latency"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    print(f"machine: {report['latency_machine']}\nupdated {path}")


def scaling(log: Any, rng: np.random.Generator, repeats: int) -> dict[str, Any]:
    """Build time against the share of Complete Journey's customers kept (same subsets for all)."""
    m = log.matrix("binary")
    order = rng.permutation(m.shape[0])
    kinds = ["implicit", "cosine-numba", "corrected-numba"]
    out: dict[str, Any] = {"fractions": [], "purchases": [], "cpu_seconds": {k: [] for k in kinds}}
    for frac in (0.1, 0.3, 0.6, 1.0):
        sub = m[np.sort(order[: max(1, round(frac * m.shape[0]))])]
        out["fractions"].append(frac)
        out["purchases"].append(int(sub.nnz))
        for kind in kinds:
            out["cpu_seconds"][kind].append(statistics.median(cpu_seconds(kind, sub) for _ in range(repeats)))
        print(f"scaling {frac:>4.0%}: " + "  ".join(f"{k} {out['cpu_seconds'][k][-1]:.2f}s" for k in kinds),
              flush=True)
    return out


def plot(scale: dict[str, Any], path: Path) -> None:
    from discoverly.report import new_figure

    fig, ax = new_figure()
    for kind, label in (("implicit", "implicit CosineRecommender.fit"), ("cosine-numba", "discoverly cosine"),
                        ("corrected-numba", "discoverly corrected")):
        ax.plot(scale["purchases"], scale["cpu_seconds"][kind], marker="o", label=label)
    ax.set_xlabel("purchases (distinct customer-item pairs), 10% … 100% of Complete Journey's customers")
    ax.set_ylabel("CPU seconds (one thread)")
    ax.set_title("Relatedness build time against data size")
    ax.legend()
    fig.savefig(path, dpi=110, bbox_inches="tight")


def print_entry(name: str, entry: dict[str, Any]) -> None:
    print(f"\n{name}: {entry['shape'][0]:,} customers × {entry['shape'][1]:,} items, {entry['purchases']:,} purchases")
    print(f"{'build':<18}{'CPU s':>9}{'× implicit':>12}{'peak MB':>10}")
    for kind, sec in entry["cpu_seconds"].items():
        print(f"{kind:<18}{sec:>9.2f}{entry['ratio_to_implicit'][kind]:>12.2f}{entry['peak_mb'][kind]:>10.0f}")
    for score, lat in entry["latency"].items():
        print(f"recommend latency ({score}, k=10): wall p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms; "
              f"CPU p50 {lat['cpu_p50_ms']:.2f} ms, p99 {lat['cpu_p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
