"""Scaling study of the relatedness job: the synthetic log generator validated against Online
Retail, then local path vs Spark local[2] at growing sizes, and the local path's memory limit.

Steps (each writes its part of ``benchmarks/results/spark.json``, merged with earlier runs):

``validate``
    Online Retail (2009-12 … 2011-12, both files) against ``synthetic_log`` of the same number of
    events: items per customer, buyers per item (rank plot), lines per basket, baskets per
    customer, events per customer–item pair; plotted side by side in
    ``benchmarks/results/spark_generator.png``.
``scale --sizes 1M,10M,50M``
    For each size: write the synthetic log (Parquet, in ``--workdir``, not committed), count its
    co-occurrence work (pair rows ``Σ k(k−1)/2`` after the history cap), then run, in the same
    run and each bounded by ``--timeout``, ``discoverly fit --model corrected`` with the local
    engine and with ``--engine spark --master local[2]``: wall time and peak resident memory
    (``/usr/bin/time``; for Spark the largest process, the JVM). Same settings in both:
    ``min_count=2, neighbours=100, max_history=500``.
``stages --size 1M``
    The Spark job step by step at one size, in one ``--master`` session: read and number the ids,
    distinct purchases, history cap and co-buyer counts (the self-join), cosine scores + top-N,
    corrected scores (``E_XY``) + top-N; wall and CPU seconds (JVM and its Python workers) per
    step, with the work each step does (events, purchases, pair rows, co-occurring pairs,
    ``E_XY`` terms) — the per-unit costs of the projection to a billion events.
``work --sizes 1M,10M``
    The size of the relatedness work at each size, counted locally (numpy, item block by item
    block, bounded memory): co-occurring pairs (``N_XY >= 2``, both directions) and ``E_XY``
    terms (per pair, the distinct history lengths among ``X``'s buyers) — how they grow with the
    log is what the projection extrapolates.
``project --events 1B --executors 10,50,200 --cores 4``
    The projection, on paper, from the measured per-unit CPU costs of ``stages`` and the growth of
    the work measured by ``work`` (power law through the two largest sizes): CPU seconds per step at
    ``--events``, and the wall time on ``N`` executors of ``--cores`` cores at an assumed parallel
    efficiency (``--efficiency``, default 0.5: shuffle, network and stragglers are not modelled).
``limit``
    The local path at ``--size`` events with ``--max-memory`` below its estimate: the exit code
    and the message (it refuses before allocating instead of being killed).

Run from the repository root (shared machine: nice, one thread per library)::

    OMP_NUM_THREADS=1 DISCOVERLY_DATA_DIR=/work/shared/data nice python benchmarks/bench_spark.py validate
    OMP_NUM_THREADS=1 nice python benchmarks/bench_spark.py scale --sizes 1M,10M --timeout 3600
    OMP_NUM_THREADS=1 nice python benchmarks/bench_spark.py stages --size 1M
    OMP_NUM_THREADS=1 nice python benchmarks/bench_spark.py limit --size 50M --max-memory 4GB
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly import __version__

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "spark.json"
FIGURES = ROOT / "benchmarks" / "results"
SETTINGS = {"min_count": 2, "neighbours": 100, "max_history": 500}


def _size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMbB]?)", text.strip())
    if not m:
        raise SystemExit(f"cannot read the size {text!r}; write 1M, 10M, 500k")
    return int(float(m.group(1)) * {"": 1, "k": 10**3, "m": 10**6, "b": 10**9}[m.group(2).lower()])


def _load() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def _save(update: dict[str, Any]) -> None:
    data = _load()
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    data["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                       "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                       "discoverly": __version__}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2, default=str))


# -- the generator against the real data --------------------------------------------------------

def profile(frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """The distributions compared: per customer, per item, per basket (customer + time)."""
    pairs = frame.select("user", "item").unique()
    baskets = frame.group_by("user", "timestamp").len()
    return {
        "items_per_customer": pairs.group_by("user").len()["len"].to_numpy(),
        "buyers_per_item": pairs.group_by("item").len()["len"].to_numpy(),
        "lines_per_basket": baskets["len"].to_numpy(),
        "baskets_per_customer": baskets.group_by("user").len()["len"].to_numpy(),
        "events_per_pair": np.array([frame.height / pairs.height]),
    }


def _summary(values: np.ndarray) -> dict[str, float]:
    q = np.percentile(values, [10, 25, 50, 75, 90, 99])
    return {"n": len(values), "mean": float(values.mean()), "p10": q[0], "p25": q[1], "median": q[2],
            "p75": q[3], "p90": q[4], "p99": q[5], "max": float(values.max())}


def validate(args: argparse.Namespace) -> None:
    from discoverly.data.datasets import load_dataset
    from discoverly.data.synthetic_log import synthetic_log
    from discoverly.report import new_figure

    real = load_dataset("online-retail").interactions.to_polars()
    synth = synthetic_log(real.height, rng=args.seed)
    p_real, p_synth = profile(real), profile(synth)
    out: dict[str, Any] = {}
    for key in p_real:
        out[key] = {"online_retail": _summary(p_real[key]), "synthetic": _summary(p_synth[key])}
        if len(p_real[key]) > 1:
            from scipy.stats import ks_2samp

            out[key]["ks_statistic"] = float(ks_2samp(p_real[key], p_synth[key]).statistic)
    fig, first = new_figure(12, 8)
    fig.delaxes(first)
    axes = fig.subplots(2, 2)
    for ax, key, title in ((axes[0, 0], "items_per_customer", "distinct items per customer"),
                           (axes[0, 1], "buyers_per_item", "buyers per item, by rank"),
                           (axes[1, 0], "lines_per_basket", "lines per basket"),
                           (axes[1, 1], "baskets_per_customer", "baskets per customer")):
        for name, prof, style in (("Online Retail", p_real, "-"), ("synthetic_log", p_synth, "--")):
            v = np.sort(prof[key])[::-1]
            if key == "buyers_per_item":
                ax.loglog(np.arange(1, len(v) + 1), v, style, label=name)
                ax.set_xlabel("item rank")
                ax.set_ylabel("distinct buyers")
            else:
                ax.loglog(v, np.arange(1, len(v) + 1) / len(v), style, label=name)
                ax.set_xlabel(key.replace("_", " "))
                ax.set_ylabel("share of customers ≥ x" if "customer" in key else "share of baskets ≥ x")
        ax.set_title(title)
        ax.legend()
    fig.suptitle(f"Online Retail ({real.height:,} events) vs synthetic_log (same size, seed {args.seed})")
    fig.savefig(FIGURES / "spark_generator.png", dpi=90)
    _save({"validation": {"events": real.height, "seed": args.seed, "distributions": out,
                          "date": dt.date.today().isoformat()}})
    print("| distribution | Online Retail median / mean / p99 | synthetic median / mean / p99 | KS |")
    print("|---|---|---|---|")
    for key, v in out.items():
        a, b = v["online_retail"], v["synthetic"]
        print(f"| {key} | {a['median']:.1f} / {a['mean']:.1f} / {a['p99']:.0f} | "
              f"{b['median']:.1f} / {b['mean']:.1f} / {b['p99']:.0f} | {v.get('ks_statistic', float('nan')):.3f} |")


# -- scaling -------------------------------------------------------------------------------------

class _TreeSampler:
    """Samples the process tree of ``pid`` from ``/proc`` every ``every`` seconds: the peak resident
    memory of the whole tree and of its largest process (the JVM, for Spark) and the CPU seconds of
    every process seen (user + system, the last value read). ``/usr/bin/time`` cannot see the JVM:
    the driver does not reap it. With ``log``, a JSON line per ``log_every`` seconds, so a run that
    is stopped or times out still says how far it got."""

    def __init__(self, pid: int, every: float = 2.0, log: Path | None = None, log_every: float = 60.0) -> None:
        import threading

        self.pid, self.every, self.log, self.log_every = pid, every, log, log_every
        self.tree_gb = self.largest_gb = 0.0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._tick = os.sysconf("SC_CLK_TCK")
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _stats(self) -> dict[int, tuple[int, float, int]]:
        out = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # after the command: state ppid ... utime(12) stime(13) ... rss(22), counted from state = 0
            out[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / self._tick,
                              int(fields[21]) * self._page)
        return out

    def sample(self) -> None:
        stats = self._stats()
        tree, frontier = set(), [self.pid]
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        while frontier:
            pid = frontier.pop()
            if pid in stats and pid not in tree:
                tree.add(pid)
                frontier.extend(children.get(pid, []))
        rss = [stats[p][2] for p in tree]
        if rss:
            self.tree_gb = max(self.tree_gb, sum(rss) / 2**30)
            self.largest_gb = max(self.largest_gb, max(rss) / 2**30)
        for p in tree:
            self.cpu[p] = stats[p][1]

    def _loop(self) -> None:
        last_log = time.perf_counter()
        while not self._stop.wait(self.every):
            self.sample()
            if self.log is not None and time.perf_counter() - last_log >= self.log_every:
                last_log = time.perf_counter()
                with self.log.open("a") as f:
                    f.write(json.dumps({"time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                                        **self.result(), "load_average": os.getloadavg()[0]}) + "\n")

    def result(self) -> dict[str, float]:
        return {"elapsed_seconds": round(time.perf_counter() - self._t0, 1),
                "tree_cpu_seconds": round(sum(self.cpu.values()), 1),
                "tree_peak_gb": round(self.tree_gb, 2), "largest_process_peak_gb": round(self.largest_gb, 2)}

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return self.result()


def _run(cmd: list[str], timeout: float, log: Path | None = None) -> dict[str, Any]:
    """Run ``cmd`` under /usr/bin/time; wall seconds, peak RSS (GB), exit code, last lines; and what
    :class:`_TreeSampler` saw of the whole process tree (``tree``: CPU seconds and peak memory of
    the JVM and Python workers too). ``log`` gets the sampler's progress lines."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    full = ["/usr/bin/time", "-f", "PEAK_KB %M CPU %U %S", *cmd]  # run the script itself with nice
    t0 = time.perf_counter()
    proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)  # its own process group: a timeout stops the JVM too
    sampler = _TreeSampler(proc.pid, log=log)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        tree = sampler.stop()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"status": "timeout", "seconds": time.perf_counter() - t0, "timeout": timeout, "tree": tree}
    tree = sampler.stop()
    seconds = time.perf_counter() - t0
    peak = re.findall(r"PEAK_KB (\d+) CPU ([\d.]+) ([\d.]+)", stderr)
    tail = [ln for ln in (stdout + stderr).splitlines() if ln.strip() and "PEAK_KB" not in ln][-3:]
    return {"status": "ok" if proc.returncode == 0 else "failed", "exit_code": proc.returncode,
            "seconds": round(seconds, 1), "peak_gb": round(int(peak[-1][0]) / 2**20, 2) if peak else None,
            "cpu_seconds": round(float(peak[-1][1]) + float(peak[-1][2]), 1) if peak else None,
            "tree": tree, "load_average": os.getloadavg()[0], "output": tail}


def _pair_rows(path: Path, cap: int) -> dict[str, int]:
    lengths = (pl.scan_parquet(path).select("user", "item").unique().group_by("user").len()
               .collect()["len"].to_numpy().astype(np.int64))
    kept = lengths[lengths <= cap]
    return {"customers": len(lengths), "purchases": int(lengths.sum()),
            "dropped_customers": int((lengths > cap).sum()), "pair_rows": int((kept * (kept - 1) // 2).sum())}


def scale(args: argparse.Namespace) -> None:
    from discoverly.data.synthetic_log import write_synthetic_log

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    engines = [e for e in args.engines.split(",") if e in ("local", "spark")]
    params = [x for k, v in SETTINGS.items() for x in ("--param", f"{k}={v}")]
    for text in args.sizes.split(","):
        n = _size(text)
        path = work / f"synthetic_{n}.parquet"
        row: dict[str, Any] = _load().get("scale", {}).get(str(n), {})
        if not path.exists():
            t0 = time.perf_counter()
            facts = write_synthetic_log(path, n, rng=args.seed)
            row["generate_seconds"] = round(time.perf_counter() - t0, 1)
            row["log"] = facts
        if "work" not in row:
            row["work"] = _pair_rows(path, SETTINGS["max_history"])
        row["file_mb"] = round(path.stat().st_size / 2**20, 1)
        _save({"scale": {str(n): row}})
        base = [sys.executable, "-m", "discoverly", "fit", "--interactions", str(path), "--user", "user",
                "--item", "item", "--time", "timestamp", "--quantity", "quantity", "--model", "corrected", *params]
        for engine in engines:
            out = work / f"model_{engine}_{n}"
            if engine == "local":
                cmd = [*base, "--out", str(out), *(["--max-memory", args.max_memory] if args.max_memory else [])]
            else:
                cmd = [*base, "--out", str(out), "--engine", "spark", "--master", args.master,
                       "--driver-memory", args.driver_memory]
            print(f"{n:,} events, {engine}: {' '.join(cmd[2:6])} …", flush=True)
            result = _run(cmd, args.timeout, log=work / f"progress_{engine}_{n}.jsonl")
            if result["status"] == "ok" and engine == "spark":
                manifest = json.loads((out / "manifest.json").read_text())
                result["stages_seconds"] = manifest.get("engine", {}).get("stages_seconds")
                result["stages_cpu_seconds"] = manifest.get("engine", {}).get("stages_cpu_seconds")
            result["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            row[engine] = result
            _save({"scale": {str(n): row}})
            print(f"  -> {result}", flush=True)
    _table()


def _log_path(args: argparse.Namespace, n: int) -> Path:
    from discoverly.data.synthetic_log import write_synthetic_log

    path = Path(args.workdir) / f"synthetic_{n}.parquet"
    if not path.exists():
        facts = write_synthetic_log(path, n, rng=args.seed)
        known = _load().get("scale", {}).get(str(n), {}).get("log")
        if known and (known["customers"], known["items"]) != (facts["customers"], facts["items"]):
            raise SystemExit(f"the regenerated {n:,}-event log differs from the recorded one: {facts} vs {known}")
    return path


def work(args: argparse.Namespace) -> None:
    import scipy.sparse as sp

    from discoverly.recommend.relatedness import _cooccurrence_blocks, _groups, purchase_stats

    for text in args.sizes.split(","):
        n = _size(text)
        path = _log_path(args, n)
        t0 = time.perf_counter()
        pairs = pl.scan_parquet(path).select("user", "item").unique().collect()
        u = pairs["user"].rank("dense").to_numpy().astype(np.int64) - 1
        i = pairs["item"].rank("dense").to_numpy().astype(np.int64) - 1
        del pairs
        matrix = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=(int(u.max()) + 1, int(i.max()) + 1))
        del u, i
        stats = purchase_stats(matrix, max_history=SETTINGS["max_history"])
        del matrix
        sizes = np.diff(_groups(stats)[0].indptr).astype(np.int64)
        q = terms = 0
        for first, x, _y, _n, _rows in _cooccurrence_blocks(stats, SETTINGS["min_count"], 8_000_000):
            q += len(x)
            terms += int(sizes[x + first].sum())
        row = _load().get("scale", {}).get(str(n), {})
        row.setdefault("work", {}).update({"cooccurring_pairs": q, "expectation_terms": terms,
                                           "items_with_buyers": int(np.count_nonzero(stats.buyers))})
        _save({"scale": {str(n): row}})
        print(f"{n:,} events: {q:,} co-occurring pairs, {terms:,} E_XY terms "
              f"({terms / max(q, 1):.0f} per pair), counted in {time.perf_counter() - t0:.0f} s", flush=True)


def stages(args: argparse.Namespace) -> None:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    from discoverly.engine.spark import spark_session
    from discoverly.engine.spark.events import read_events
    from discoverly.engine.spark.job import _jvm_cpu_seconds
    from discoverly.engine.spark.purchases import index_events, purchases
    from discoverly.engine.spark.relatedness import co_buyers
    from discoverly.engine.spark.scores import buyer_histograms, pair_scores
    from discoverly.engine.spark.topn import top_related

    n = _size(args.size)
    path = _log_path(args, n)
    spark = spark_session(args.master, driver_memory=args.driver_memory)
    steps: dict[str, dict[str, float]] = {}
    clock = [time.perf_counter(), _jvm_cpu_seconds(spark) or 0.0]

    def mark(name: str) -> None:
        now, cpu = time.perf_counter(), _jvm_cpu_seconds(spark) or 0.0
        steps[name] = {"wall_seconds": round(now - clock[0], 1), "cpu_seconds": round(cpu - clock[1], 1),
                       "load_average": os.getloadavg()[0]}
        print(f"{name}: {steps[name]}", flush=True)
        clock[:] = [time.perf_counter(), _jvm_cpu_seconds(spark) or 0.0]

    indexed = index_events(read_events(spark, str(path), quantity="quantity"))
    mark("read_and_index")
    pairs = purchases(indexed.events).persist(StorageLevel.MEMORY_AND_DISK)
    n_purchases = pairs.count()
    mark("purchases")
    base = co_buyers(pairs, min_count=SETTINGS["min_count"], max_history=SETTINGS["max_history"])
    n_cooc = base.cooc.count()
    mark("cooccurrence")
    top_related(pair_scores(base.cooc, base.items, "cosine"), SETTINGS["neighbours"], salt_buckets=4
                ).write.format("noop").mode("overwrite").save()
    mark("cosine_top_n")
    hist = buyer_histograms(base.kept)
    top_related(pair_scores(base.cooc, base.items, "corrected", histograms=hist, salt_buckets=4),
                SETTINGS["neighbours"], salt_buckets=4).write.format("noop").mode("overwrite").save()
    mark("corrected_top_n")
    sizes = hist.select("x", F.size("groups").alias("g"))
    terms = base.cooc.groupBy("x").count().join(sizes, "x").agg(F.sum(F.col("count") * F.col("g"))).first()[0]
    counted = _load().get("scale", {}).get(str(n), {}).get("work") or _pair_rows(path, SETTINGS["max_history"])
    spark.stop()
    result = {"events": indexed.n_events, "items": indexed.n_items, "purchases": n_purchases,
              "pair_rows": counted["pair_rows"], "cooccurring_pairs": n_cooc, "expectation_terms": int(terms),
              "master": args.master, "steps": steps, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    _save({"stages": {str(n): result}})
    print(json.dumps(result, indent=2))


def project(args: argparse.Namespace) -> None:
    data = _load()
    measured = data.get("stages", {})
    if not measured:
        raise SystemExit("run the stages step first")
    size = max(measured, key=int)
    st = measured[size]
    cpu = {k: v["cpu_seconds"] for k, v in st["steps"].items()}
    per = {  # CPU seconds per unit of work, from the largest measured size
        "event (read, number ids, distinct purchases)": (cpu["read_and_index"] + cpu["purchases"]) / st["events"],
        "pair row (history cap, self-join, counts)": cpu["cooccurrence"] / st["pair_rows"],
        "co-occurring pair (scores, top-N)": cpu["cosine_top_n"] / st["cooccurring_pairs"],
        "E_XY term (histograms, cogroup, numpy)": max(cpu["corrected_top_n"] - cpu["cosine_top_n"], 0.0)
        / st["expectation_terms"],
    }
    sizes = sorted((int(n), r["work"]) for n, r in data.get("scale", {}).items()
                   if "cooccurring_pairs" in r.get("work", {}))
    target = _size(args.events)

    def grow(key: str) -> tuple[float, float]:
        (n0, w0), (n1, w1) = sizes[-2], sizes[-1]
        slope = float(np.log(w1[key] / w0[key]) / np.log(n1 / n0))
        return w1[key] * (target / n1) ** slope, slope

    rows_per_event = float(np.mean([w["pair_rows"] / n for n, w in sizes]))
    q, q_slope = grow("cooccurring_pairs")
    t, t_slope = grow("expectation_terms")
    items = 5.2 * np.sqrt(target)  # the generator's catalogue growth
    q = min(q, items * (items - 1))
    work_at = {"event (read, number ids, distinct purchases)": target,
               "pair row (history cap, self-join, counts)": rows_per_event * target,
               "co-occurring pair (scores, top-N)": q,
               "E_XY term (histograms, cogroup, numpy)": min(t, q * SETTINGS["max_history"])}
    total = {k: per[k] * work_at[k] for k in per}
    cpu_total = sum(total.values())
    efficiency = args.efficiency
    result = {"events": target, "basis_size": int(size), "per_unit_cpu_seconds": per, "work": work_at,
              "growth_exponents": {"cooccurring_pairs": q_slope, "expectation_terms": t_slope},
              "pair_rows_per_event": rows_per_event, "cpu_seconds": total, "cpu_seconds_total": cpu_total,
              "assumed_parallel_efficiency": efficiency,
              "wall_hours": {f"{n}x{args.cores}": cpu_total / (int(n) * args.cores * efficiency) / 3600
                             for n in args.executors.split(",")}}
    _save({"projection": result})
    print(f"per-unit CPU costs measured at {int(size):,} events; growth exponents: co-occurring pairs "
          f"{q_slope:.2f}, E_XY terms {t_slope:.2f}; {rows_per_event:.1f} pair rows per event")
    print("| unit of work | CPU s per unit | units at target | CPU hours |")
    print("|---|---:|---:|---:|")
    for k in per:
        print(f"| {k} | {per[k]:.3g} | {work_at[k]:.3g} | {total[k] / 3600:,.0f} |")
    print(f"| total | | | {cpu_total / 3600:,.0f} |")
    for key, hours in result["wall_hours"].items():
        print(f"{key} cores: {hours:.1f} h at an assumed parallel efficiency of {efficiency:.2f} "
              f"({hours * efficiency:.1f} h if perfect)")


def limit(args: argparse.Namespace) -> None:
    from discoverly.data.synthetic_log import write_synthetic_log
    from discoverly.engine.memory import estimate_fit_memory, file_facts

    n = _size(args.size)
    path = Path(args.workdir) / f"synthetic_{n}.parquet"
    if not path.exists():
        write_synthetic_log(path, n, rng=args.seed)
    rows, decoded = file_facts(path)
    assert rows is not None
    estimate = estimate_fit_memory(rows, decoded_bytes=decoded)
    cmd = [sys.executable, "-m", "discoverly", "fit", "--interactions", str(path), "--user", "user", "--item", "item",
           "--time", "timestamp", "--model", "corrected", "--out", str(Path(args.workdir) / "limit_model"),
           "--max-memory", args.max_memory]
    result = _run(cmd, args.timeout)
    result.update({"events": n, "max_memory": args.max_memory, "estimate_gb": round(estimate.peak / 2**30, 2)})
    _save({"limit": result})
    print(json.dumps(result, indent=2))


def _table() -> None:
    data = _load().get("scale", {})
    print("| events | pair rows | local s | local peak GB | spark local[2] s | spark peak GB | spark/local |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted(data, key=int):
        row = data[n]
        loc, spk = row.get("local", {}), row.get("spark", {})

        def cell(r: dict[str, Any], key: str) -> str:
            return str(r.get(key)) if r.get("status") == "ok" else r.get("status", "—")

        ratio = (f"{spk['seconds'] / loc['seconds']:.1f}×" if loc.get("status") == "ok" and spk.get("status") == "ok"
                 else "—")
        print(f"| {int(n):,} | {row.get('work', {}).get('pair_rows', 0):,} | {cell(loc, 'seconds')} | "
              f"{cell(loc, 'peak_gb')} | {cell(spk, 'seconds')} | {cell(spk, 'peak_gb')} | {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    v = sub.add_parser("validate")
    v.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("scale")
    s.add_argument("--sizes", default="1M,10M,50M")
    s.add_argument("--engines", default="local,spark")
    s.add_argument("--workdir", default="/tmp/discoverly-bench-spark")
    s.add_argument("--timeout", type=float, default=3600)
    s.add_argument("--master", default="local[2]")
    s.add_argument("--driver-memory", default="8g")
    s.add_argument("--max-memory", default=None)
    s.add_argument("--seed", type=int, default=1)
    wk = sub.add_parser("work")
    wk.add_argument("--sizes", default="1M,10M")
    wk.add_argument("--workdir", default="/tmp/discoverly-bench-spark")
    wk.add_argument("--seed", type=int, default=1)
    st = sub.add_parser("stages")
    st.add_argument("--size", default="1M")
    st.add_argument("--workdir", default="/tmp/discoverly-bench-spark")
    st.add_argument("--master", default="local[2]")
    st.add_argument("--driver-memory", default="6g")
    st.add_argument("--seed", type=int, default=1)
    pj = sub.add_parser("project")
    pj.add_argument("--events", default="1B")
    pj.add_argument("--executors", default="10,50,200")
    pj.add_argument("--cores", type=int, default=4)
    pj.add_argument("--efficiency", type=float, default=0.5)
    lim = sub.add_parser("limit")
    lim.add_argument("--size", default="50M")
    lim.add_argument("--max-memory", default="4GB")
    lim.add_argument("--workdir", default="/tmp/discoverly-bench-spark")
    lim.add_argument("--timeout", type=float, default=1800)
    lim.add_argument("--seed", type=int, default=1)
    sub.add_parser("table")
    args = parser.parse_args()
    steps = {"validate": validate, "scale": scale, "work": work, "stages": stages, "project": project, "limit": limit,
             "table": lambda a: _table()}
    steps[args.step](args)


if __name__ == "__main__":
    main()
