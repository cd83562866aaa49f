"""The seed experiment of issue 3, reproduced: its table (section 2) and its goals (section 3).

For each data set of ``seed_protocol.PLAN`` at its TEST cutoffs (hyperparameters come from
``tune_recommenders.py`` on earlier validation cutoffs, stored as ``discoverly.recommend.presets``):

* the table — all-time popularity, recent bestsellers, item-to-item (corrected), the
  reconstruction autoencoder, the time-aware autoencoder, EASE and ALS, each scored with
  ``discoverly.evaluate.evaluate`` (new-items variant, 14-day window): HitRate@6 with 95%
  bootstrap intervals, Recall@20, NDCG@20, fit seconds (wall clock and CPU); per cutoff and
  pooled over cutoffs (intervals clustered by user);
* paired tests of the time-aware autoencoder against every other model (per cutoff, pooled);
* the claims (a) reconstruction < bestsellers, (b) item-to-item > bestsellers, (c) time-aware
  autoencoder ≥ 2 × item-to-item, each with its figures;
* the investigation: hit rate by customer activity and by item popularity, how many targets are
  items first sold inside the window (cold items), and other window lengths (7 and 28 days) with
  the models fitted at the primary cutoff;
* the goals: the autoencoder over 3 seeds (spread vs the interval), fit time (CPU seconds of one
  torch thread, and wall clock), artifact size, and ``recommend`` latency per user in process
  (p50/p99 over single-user calls, wall and CPU time).

The work is split into CELLS (one model fitted at one cutoff, or one extra seed of the
autoencoder), run in priority order by one or more worker processes that claim cells through
files in ``--cache`` (a killed worker's claim is taken over), so a run can be spread over several
processes, interrupted and resumed; ``--report`` then assembles every finished cell into
``benchmarks/results/seed_experiment.json`` and ``seed_experiment_tables.md`` (and a plot). A
model's cells use the presets in force when its worker started (recorded per cell; the report
refuses cells whose settings differ from the current presets, and ``--work`` fits them again, so
changing one model's preset re-runs that model's cells only and keeps every other model's).

Run (from the repository root; 2 workers shown)::

    export DISCOVERLY_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
    nice python benchmarks/bench_seed_experiment.py --work &
    nice python benchmarks/bench_seed_experiment.py --work &
    wait; python benchmarks/bench_seed_experiment.py --report

``--datasets``, ``--models`` and ``--stages`` restrict what a worker takes; ``--until HH:MM`` (UTC)
stops a worker from starting cells after that time; ``--list`` shows every cell and its state.
Without ``--work``/``--report``/``--list`` the script works through the data sets given by
``--datasets`` in one process, then reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _timing import time_recommend
from discoverly import __version__
from discoverly.data.datasets import load_dataset
from discoverly.data.interactions import Interactions
from discoverly.evaluate import (
    Cell,
    Estimate,
    Evaluation,
    bootstrap_ci,
    evaluate,
    per_user_metrics,
    recommend_top,
    split,
)
from discoverly.evaluate.evaluation import POOLED, json_default
from discoverly.recommend import BaseRecommender
from discoverly.recommend.presets import preset
from discoverly.recommend.registry import create
from seed_protocol import PLAN, WINDOW_DAYS

RESULTS = Path(__file__).parent / "results"
OUT = RESULTS / "seed_experiment.json"
TABLES = RESULTS / "seed_experiment_tables.md"
PLOT = RESULTS / "seed_experiment.png"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "discoverly-seed-cells"
MODELS = ["popularity", "bestsellers", "corrected", "autoencoder-reconstruct", "autoencoder", "ease", "als"]
AE = "autoencoder"
SEEDS = (0, 1, 2)
K = (6, 20)
N_BOOT = 2000
#: the cutoff whose fitted models give latency, artifact sizes and other window lengths
PRIMARY = {"movielens-100k": "1998-01-01", "online-retail-2011": "2011-11-01", "complete-journey": "2017-11-01"}
#: cutoffs where the 3-seed spread is measured
SEED_CUTOFFS = {"movielens-100k": PLAN["movielens-100k"]["test"], "online-retail-2011": ["2011-11-01", "2011-09-01"],
                "complete-journey": ["2017-11-01", "2017-09-01", "2017-12-01"]}
#: the order cutoffs are worked through (the named Online Retail cutoffs and Complete Journey's
#: November first; the remaining cutoffs of each data set after the seeds)
STAGES: list[tuple[str, str, list[str]]] = [
    ("table", "online-retail-2011", ["2011-11-01", "2011-09-01"]),
    ("table", "complete-journey", ["2017-11-01"]),
    ("table", "movielens-100k", PLAN["movielens-100k"]["test"]),
    ("seeds", "online-retail-2011", SEED_CUTOFFS["online-retail-2011"]),
    ("seeds", "complete-journey", SEED_CUTOFFS["complete-journey"]),
    ("seeds", "movielens-100k", SEED_CUTOFFS["movielens-100k"]),
    ("more", "online-retail-2011", [c for c in PLAN["online-retail-2011"]["test"]
                                    if c not in ("2011-11-01", "2011-09-01")]),
    ("more", "complete-journey", [c for c in PLAN["complete-journey"]["test"] if c != "2017-11-01"]),
]
#: models whose latency and artifact size are measured
SERVED = (AE, "ease", "als", "corrected")


# -- cells ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    stage: str
    dataset: str
    cutoff: str
    model: str
    seed: int = 0

    @property
    def label(self) -> str:
        return self.model if self.seed == 0 else f"{self.model}-seed{self.seed}"

    @property
    def stem(self) -> str:
        return f"{self.dataset}__{self.cutoff}__{self.label}"


def jobs() -> list[Job]:
    out: list[Job] = []
    for stage, dataset, cutoffs in STAGES:
        for c in cutoffs:
            if stage == "seeds":
                out += [Job(stage, dataset, c, AE, s) for s in SEEDS if s != 0]
            else:
                out += [Job(stage, dataset, c, m) for m in MODELS]
    return out


def overrides_for(job: Job) -> dict[str, Any]:
    return {**preset(job.dataset, job.model), **({"rng": job.seed} if job.seed else {})}


def model_for(job: Job, cpu: dict[str, float]) -> BaseRecommender:
    """A fresh model for the job whose ``fit`` also records this process's CPU seconds."""
    model: BaseRecommender = create(job.model, **overrides_for(job))
    fit = model.fit

    def timed_fit(interactions: Interactions) -> BaseRecommender:
        c0 = time.process_time()
        out = fit(interactions)
        cpu["fit"] = time.process_time() - c0
        return out

    model.fit = timed_fit  # type: ignore[method-assign]
    return model


_DATA: dict[str, Interactions] = {}


def data_of(dataset: str) -> Interactions:
    if dataset not in _DATA:
        _DATA[dataset] = load_dataset(dataset).interactions
    return _DATA[dataset]


def latency(model: BaseRecommender, users: list[Any], n: int = 500) -> dict[str, Any]:
    sample = users[:n]
    model.recommend(sample[:5], k=10)  # warm-up
    timed = time_recommend(model, sample)
    t0 = time.perf_counter()
    model.recommend(sample, k=10)
    batch = (time.perf_counter() - t0) * 1000 / len(sample)
    return {"calls": len(sample), **timed, "batch_ms_per_user": batch, "load_average": os.getloadavg()[0]}


def artifact_size(model: BaseRecommender) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="seed-artifact-"))
    try:
        path = model.save(tmp / "model")
        files = {p.name: p.stat().st_size for p in path.iterdir()}
        return {"bytes": sum(files.values()), "files": files}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def other_windows(data: Interactions, model: BaseRecommender, cutoff: str) -> dict[str, Any]:
    """HitRate@6 of the model fitted at ``cutoff`` on 7- and 28-day windows (same cutoff)."""
    out: dict[str, Any] = {}
    for days in (7, 28):
        s = split(data, cutoff, window_days=days, variant="new-items")
        vals = per_user_metrics(recommend_top(model, s, 6), s.targets, [6])["HitRate@6"]
        out[str(days)] = {**bootstrap_ci(vals, rng=0, n_boot=N_BOOT).to_dict(), "users": s.users.tolist(),
                          "hits": vals.astype(np.int8).tolist()}
    return out


def run_job(job: Job, cache: Path) -> dict[str, Any]:
    data = data_of(job.dataset)
    cpu: dict[str, float] = {}
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    ev = evaluate(data, {job.label: lambda: model_for(job, cpu)}, [job.cutoff], window_days=WINDOW_DAYS,
                  variants="new-items", k=K, rng=0, n_boot=N_BOOT, dataset=job.dataset, keep_models=True)
    cell = ev.cell(job.label)
    model = ev.fitted[job.label]
    rec: dict[str, Any] = {
        "job": job.__dict__ | {"label": job.label}, "overrides": overrides_for(job),
        "config": model.config(), "split": ev.splits[(cell.cutoff, "new-items")],
        "metrics": cell.summary(), "fit_seconds": ev.fit_seconds[(job.label, cell.cutoff)],
        "fit_cpu_seconds": cpu.get("fit"), "cell_seconds": time.perf_counter() - t0,
        "cell_cpu_seconds": time.process_time() - c0, "load_average": [load0, os.getloadavg()[0]],
        "buckets": {kind: b.to_dict() for kind, b in cell.buckets.items()},
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if hasattr(model, "training_"):
        rec["training"] = dict(model.training_)
    if hasattr(model, "restricted_"):
        rec["restricted"] = bool(model.restricted_)
    if job.seed == 0 and job.cutoff == PRIMARY[job.dataset]:
        if job.model in SERVED:
            users = data.users.ids_of(cell.users).tolist()
            rec["latency"] = latency(model, users)
            rec["artifact"] = artifact_size(model)
        if job.model != "popularity":
            rec["other_windows"] = other_windows(data, model, job.cutoff)
    np.savez_compressed(cache / f"{job.stem}.npz", users=cell.users,
                        **{m: v for m, v in cell.per_user.items()})
    tmp = cache / f"{job.stem}.json.tmp"
    tmp.write_text(json.dumps(rec, indent=1, default=json_default))
    tmp.replace(cache / f"{job.stem}.json")
    return rec


def is_done(job: Job, cache: Path, *, move_stale: bool = True) -> bool:
    """The cell is finished with the settings the presets give now (a cell fitted with other
    settings is stale: with ``move_stale`` it is moved aside as ``*.stale.json`` so that it is
    fitted again)."""
    path = cache / f"{job.stem}.json"
    if not path.exists():
        return False
    if json.loads(path.read_text())["overrides"] == json.loads(json.dumps(overrides_for(job))):
        return True
    if move_stale:
        path.replace(cache / f"{job.stem}.stale.json")
    return False


def claim(job: Job, cache: Path) -> bool:
    """Take the job unless it is done or another live worker holds it."""
    if is_done(job, cache):
        return False
    path = cache / f"{job.stem}.claim"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(path.read_text() or "0")
                os.kill(pid, 0)
                return False  # a live worker has it
            except (ValueError, ProcessLookupError, FileNotFoundError):
                path.unlink(missing_ok=True)  # the worker died: take it over
                continue
            except PermissionError:
                return False
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def work(args: argparse.Namespace) -> None:
    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    until = (dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time.fromisoformat(args.until), dt.UTC)
             if args.until else None)
    for job in jobs():
        if job.dataset not in args.datasets or job.model not in args.models or job.stage not in args.stages:
            continue
        if until is not None and dt.datetime.now(dt.UTC) >= until:
            print(f"{dt.datetime.now(dt.UTC):%H:%M:%S} --until {args.until} reached; no new cells", flush=True)
            return
        if not claim(job, cache):
            continue
        print(f"{dt.datetime.now(dt.UTC):%H:%M:%S} [{os.getpid()}] {job.stage} {job.dataset} {job.cutoff} "
              f"{job.label} {overrides_for(job)} (load {os.getloadavg()[0]:.1f})", flush=True)
        try:
            rec = run_job(job, cache)
        finally:
            (cache / f"{job.stem}.claim").unlink(missing_ok=True)
        h = rec["metrics"]["HitRate@6"]
        print(f"    HitRate@6 {h['value']:.4f} [{h['ci'][0]:.4f}, {h['ci'][1]:.4f}] n={h['n']}  fit "
              f"{rec['fit_seconds']:.1f}s wall, {rec['fit_cpu_seconds'] or 0:.1f}s CPU", flush=True)


def list_jobs(args: argparse.Namespace) -> None:
    for job in jobs():
        state = ("done" if is_done(job, args.cache, move_stale=False) else
                 "stale" if (args.cache / f"{job.stem}.json").exists() else
                 "running" if (args.cache / f"{job.stem}.claim").exists() else "todo")
        print(f"{state:8s} {job.stage:6s} {job.dataset:20s} {job.cutoff} {job.label}")


# -- the report ----------------------------------------------------------------------------------
def load_cells(dataset: str, cache: Path) -> dict[tuple[str, str], tuple[dict[str, Any], dict[str, np.ndarray]]]:
    out = {}
    for job in jobs():
        if job.dataset != dataset:
            continue
        path = cache / f"{job.stem}.json"
        if not path.exists() or (job.label, job.cutoff) in out:
            continue
        rec = json.loads(path.read_text())
        if rec["overrides"] != json.loads(json.dumps(overrides_for(job))):
            print(f"skipping {job.stem}: fitted with {rec['overrides']}, the presets now say {overrides_for(job)}",
                  file=sys.stderr)
            continue
        with np.load(cache / f"{job.stem}.npz") as z:
            arrays = {k: z[k] for k in z.files}
        out[(job.label, job.cutoff)] = (rec, arrays)
    return out


def build_evaluation(dataset: str, cells: dict[tuple[str, str], tuple[dict[str, Any], dict[str, np.ndarray]]],
                     models: list[str], cutoffs: list[str]) -> Evaluation:
    ev_cells: dict[tuple[str, str, Any], Cell] = {}
    fit: dict[tuple[str, str], float] = {}
    splits: dict[tuple[str, Any], dict[str, object]] = {}
    for c in cutoffs:
        users = None
        for m in models:
            rec, arrays = cells[(m, c)]
            if users is None:
                users = arrays["users"]
            elif not np.array_equal(users, arrays["users"]):
                raise SystemExit(f"{dataset} {c}: {m} was scored on other test users")
            per_user = {k: v for k, v in arrays.items() if k != "users"}
            metrics = {k: Estimate(v["value"], v["ci"][0], v["ci"][1], v["n"]) for k, v in rec["metrics"].items()
                       if k in per_user}
            ev_cells[(m, c, "new-items")] = Cell(m, c, "new-items", arrays["users"], per_user, metrics, {}, {})
            fit[(m, c)] = rec["fit_seconds"]
            splits[(c, "new-items")] = rec["split"]
    return Evaluation(models=models, cutoffs=cutoffs, variants=["new-items"], ks=list(K), window_days=WINDOW_DAYS,
                      cells=ev_cells, fit_seconds=fit, splits=splits, dataset=dataset, seed=0, n_boot=N_BOOT)


def est(e: Estimate) -> dict[str, Any]:
    return {"value": e.value, "ci": [e.low, e.high], "n": e.n}


def table(ev: Evaluation, cutoff: str, cells: dict[tuple[str, str], tuple[dict[str, Any], Any]]
          ) -> list[dict[str, Any]]:
    rows = []
    for m in ev.models:
        metrics = ev.pooled(m) if cutoff == POOLED else ev.cell(m, cutoff).metrics
        cs = ev.cutoffs if cutoff == POOLED else [cutoff]
        rows.append({"model": m, "HitRate@6": est(metrics["HitRate@6"]), "Recall@20": est(metrics["Recall@20"]),
                     "NDCG@20": est(metrics["NDCG@20"]),
                     "fit_seconds": float(np.mean([cells[(m, c)][0]["fit_seconds"] for c in cs])),
                     "fit_cpu_seconds": float(np.mean([cells[(m, c)][0]["fit_cpu_seconds"] for c in cs]))})
    return rows


def paired(ev: Evaluation, cutoff: str) -> list[dict[str, Any]]:
    out = []
    for other in ev.models:
        if other == AE:
            continue
        p = ev.paired(AE, other, "HitRate@6", cutoff=cutoff)
        d = p.test.difference
        out.append({"vs": other, "difference": d.value, "ci": [d.low, d.high], "p_value": p.test.p_value})
    return out


def claims(ev: Evaluation, cutoff: str) -> dict[str, Any]:
    def hr(m: str) -> float:
        return ev.metric(m, "HitRate@6", cutoff).value

    def test(a: str, b: str) -> dict[str, Any]:
        p = ev.paired(a, b, "HitRate@6", cutoff=cutoff)
        return {"a": hr(a), "b": hr(b), "difference": p.test.difference.value,
                "ci": [p.test.difference.low, p.test.difference.high], "p_value": p.test.p_value}

    ratio = hr(AE) / hr("corrected") if hr("corrected") > 0 else float("inf")
    a, b, c = test("autoencoder-reconstruct", "bestsellers"), test("corrected", "bestsellers"), test(AE, "corrected")
    # "holds": the point estimates go the claimed way; "significant": and the paired test agrees at 5%
    return {
        "a_reconstruction_loses_to_bestsellers": {"holds": a["difference"] < 0,
                                                  "significant": a["difference"] < 0 and a["p_value"] < 0.05, **a},
        "b_item_to_item_beats_bestsellers": {"holds": b["difference"] > 0,
                                             "significant": b["difference"] > 0 and b["p_value"] < 0.05, **b},
        "c_time_aware_two_to_one_over_item_to_item": {"holds": ratio >= 2.0, "ratio": ratio,
                                                       "significant": c["ci"][0] >= hr("corrected"), **c},
    }


def cold_targets(data: Interactions, cutoff: str) -> dict[str, Any]:
    """Targets that are items with no sale before the cutoff (no model can recommend them)."""
    s = split(data, cutoff, window_days=WINDOW_DAYS, variant="new-items")
    warm = s.recommendable
    t = s.targets.tocsr()
    warm_per_user = np.add.reduceat(warm[t.indices].astype(np.int64), t.indptr[:-1]) if t.nnz else np.zeros(0)
    return {"n_users": s.n_users, "cold_target_share": float(1 - warm[t.indices].mean()),
            "users_with_only_cold_targets": float(np.mean(warm_per_user == 0))}


def seed_spread(ev: Evaluation, cells: dict[tuple[str, str], tuple[dict[str, Any], dict[str, np.ndarray]]],
                cutoffs: list[str]) -> dict[str, Any]:
    """HitRate@6 of the time-aware autoencoder for seeds 0, 1, 2 (seed 0 is the table's)."""
    out: dict[str, Any] = {}
    done = [c for c in cutoffs if c in ev.cutoffs and all((f"{AE}-seed{s}", c) in cells for s in SEEDS if s)]
    for c in done:
        vals = [ev.metric(AE, "HitRate@6", c).value] + [cells[(f"{AE}-seed{s}", c)][0]["metrics"]["HitRate@6"]
                                                        ["value"] for s in SEEDS if s]
        ci = ev.metric(AE, "HitRate@6", c)
        out[c] = {"seeds": list(SEEDS), "hit_rate": vals, "spread": max(vals) - min(vals),
                  "ci_seed0": [ci.low, ci.high],
                  "all_within_ci": all(ci.low <= v <= ci.high for v in vals),
                  "fit_seconds": [cells[(AE, c)][0]["fit_seconds"]]
                  + [cells[(f"{AE}-seed{s}", c)][0]["fit_seconds"] for s in SEEDS if s]}
    if len(done) > 1:
        per_seed = [float(np.mean(np.concatenate([cells[(AE if s == 0 else f"{AE}-seed{s}", c)][1]["HitRate@6"]
                                                   for c in done]))) for s in SEEDS]
        vals0 = np.concatenate([cells[(AE, c)][1]["HitRate@6"] for c in done])
        groups = np.concatenate([cells[(AE, c)][1]["users"] for c in done])
        ci = bootstrap_ci(vals0, groups=groups, rng=0, n_boot=N_BOOT)
        out[POOLED] = {"cutoffs": done, "seeds": list(SEEDS), "hit_rate": per_seed,
                       "spread": max(per_seed) - min(per_seed), "ci_seed0": [ci.low, ci.high],
                       "all_within_ci": all(ci.low <= v <= ci.high for v in per_seed)}
    return out


def report_dataset(dataset: str, cache: Path) -> dict[str, Any] | None:
    cells = load_cells(dataset, cache)
    if not cells:
        return None
    order = [c for _, d, cs in STAGES if d == dataset for c in cs]
    order = sorted(dict.fromkeys(order))  # chronological (ISO dates)
    complete = [c for c in order if all((m, c) in cells for m in MODELS)]
    partial = {c: [m for m in MODELS if (m, c) in cells] for c in order if c not in complete
               and any((m, c) in cells for m in MODELS)}
    res: dict[str, Any] = {"dataset": dataset, "window_days": WINDOW_DAYS, "variant": "new-items",
                           "cutoffs": complete, "incomplete_cutoffs": partial,
                           "presets": {m: preset(dataset, m) for m in MODELS}}
    if not complete:
        return res
    data = data_of(dataset)
    ev = build_evaluation(dataset, cells, MODELS, complete)
    labels = [*complete, POOLED] if len(complete) > 1 else complete
    res |= {
        "splits": [ev.splits[(c, "new-items")] for c in complete],
        "table": {c: table(ev, c, cells) for c in labels},
        "paired_vs_autoencoder": {c: paired(ev, c) for c in labels},
        "claims": {c: claims(ev, c) for c in labels},
        "buckets": {c: {m: cells[(m, c)][0]["buckets"] for m in MODELS} for c in complete},
        "cold_targets": {c: cold_targets(data, c) for c in complete},
        "seeds": seed_spread(ev, cells, SEED_CUTOFFS[dataset]),
        "fit": {m: {c: {"wall_seconds": cells[(m, c)][0]["fit_seconds"],
                        "cpu_seconds": cells[(m, c)][0]["fit_cpu_seconds"],
                        "load_average": cells[(m, c)][0]["load_average"]} for c in complete} for m in MODELS},
        "autoencoder_training": {c: cells[(AE, c)][0].get("training") for c in complete},
        "ease_restricted": {c: cells[("ease", c)][0].get("restricted") for c in complete},
    }
    primary = PRIMARY[dataset]
    if primary in complete:
        res["primary"] = primary
        res["latency"] = {m: cells[(m, primary)][0].get("latency") for m in SERVED}
        res["artifact"] = {m: cells[(m, primary)][0].get("artifact") for m in SERVED}
        res["other_windows"] = other_window_tests(cells, primary)
    return res


def other_window_tests(cells: dict[tuple[str, str], tuple[dict[str, Any], Any]], cutoff: str) -> dict[str, Any]:
    """Other window lengths at the primary cutoff, with the paired test of the autoencoder vs each."""
    from discoverly.evaluate import paired_test

    out: dict[str, Any] = {}
    for days in ("7", "28"):
        rows: dict[str, Any] = {}
        ae = cells[(AE, cutoff)][0]["other_windows"][days]
        for m in MODELS:
            ow = cells[(m, cutoff)][0].get("other_windows")
            if not ow:
                continue
            w = ow[days]
            row = {k: w[k] for k in ("value", "ci", "n")}
            if m != AE:
                t = paired_test(np.array(ae["hits"], float), np.array(w["hits"], float), rng=0, n_boot=N_BOOT)
                row["autoencoder_minus_model"] = {"difference": t.difference.value,
                                                  "ci": [t.difference.low, t.difference.high], "p_value": t.p_value}
            rows[m] = row
        out[days] = rows
    return out


def fmt(e: dict[str, Any]) -> str:
    return f"{e['value']:.3f} [{e['ci'][0]:.3f}, {e['ci'][1]:.3f}]"


def markdown(res: dict[str, Any]) -> str:
    lines = [f"## {res['dataset']} — test cutoffs {', '.join(res['cutoffs']) or 'none complete'} "
             f"(new-items, {res['window_days']}-day window)", ""]
    if res["incomplete_cutoffs"]:
        lines += [f"Incomplete cutoffs (not in the table): {json.dumps(res['incomplete_cutoffs'])}", ""]
    for c, rows in res.get("table", {}).items():
        info = next((s for s in res["splits"] if s["cutoff"] == c), None)
        users = f", {info['n_users']} test users" if info else ""
        lines += [f"### {c}{users}", ""]
        pv = {p["vs"]: p for p in res["paired_vs_autoencoder"][c]}
        lines += ["| model | HitRate@6 [95% CI] | Recall@20 | NDCG@20 | fit s (wall / CPU) | "
                  "autoencoder − model [95% CI], p |", "|---|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: -r["HitRate@6"]["value"]):
            p = pv.get(r["model"])
            diff = (f"{p['difference']:+.3f} [{p['ci'][0]:+.3f}, {p['ci'][1]:+.3f}], p={p['p_value']:.3g}"
                    if p else "—")
            lines.append(f"| {r['model']} | {fmt(r['HitRate@6'])} | {r['Recall@20']['value']:.3f} | "
                         f"{r['NDCG@20']['value']:.3f} | {r['fit_seconds']:.1f} / {r['fit_cpu_seconds']:.1f} | "
                         f"{diff} |")
        lines.append("")
        for name, v in res["claims"][c].items():
            extra = f"ratio {v['ratio']:.2f}, " if "ratio" in v else ""
            verdict = ("holds, significant" if v.get("significant") else "holds, not significant") if v["holds"] \
                else "does not hold"
            lines.append(f"- {name}: **{verdict}** ({v['a']:.3f} vs {v['b']:.3f}; "
                         f"{extra}difference {v['difference']:+.3f} [{v['ci'][0]:+.3f}, {v['ci'][1]:+.3f}], "
                         f"p={v['p_value']:.3g})")
        lines.append("")
    if res.get("seeds"):
        lines += ["### Seeds (time-aware autoencoder, HitRate@6 for seeds 0, 1, 2)", "",
                  "| cutoff | seed 0 | seed 1 | seed 2 | spread | 95% CI (seed 0) | all within |",
                  "|---|---|---|---|---|---|---|"]
        for c, s in res["seeds"].items():
            h = s["hit_rate"]
            lines.append(f"| {c} | {h[0]:.3f} | {h[1]:.3f} | {h[2]:.3f} | {s['spread']:.3f} | "
                         f"[{s['ci_seed0'][0]:.3f}, {s['ci_seed0'][1]:.3f}] | "
                         f"{'yes' if s['all_within_ci'] else 'no'} |")
        lines.append("")
    if res.get("latency"):
        lines += [f"### Serving at {res['primary']} (single-user `recommend`, k=10)", "",
                  "| model | p50 ms | p99 ms | CPU p99 ms | batch ms/user | artifact bytes | load |",
                  "|---|---|---|---|---|---|---|"]
        for m, lat in res["latency"].items():
            if lat:
                a = res["artifact"][m]
                lines.append(f"| {m} | {lat['p50_ms']:.2f} | {lat['p99_ms']:.2f} | {lat['cpu_p99_ms']:.2f} | "
                             f"{lat['batch_ms_per_user']:.3f} | {a['bytes']:,} | {lat['load_average']:.1f} |")
        lines.append("")
    if res.get("other_windows"):
        lines += [f"### Other windows at {res['primary']} (models fitted once at the cutoff)", "",
                  "| model | HitRate@6, 7 days | HitRate@6, 28 days |", "|---|---|---|"]
        for m in res["other_windows"]["7"]:
            lines.append(f"| {m} | {fmt(res['other_windows']['7'][m])} | {fmt(res['other_windows']['28'][m])} |")
        lines.append("")
    if res.get("primary") and res.get("buckets"):
        shown = [m for m in MODELS if m != "popularity"]
        for kind in ("activity", "popularity"):
            per = {m: res["buckets"][res["primary"]][m].get(kind) for m in shown}
            if not all(per.values()):
                continue
            what = "customer activity (distinct items before the cutoff)" if kind == "activity" else \
                "popularity of the target items (buyers before the cutoff)"
            lines += [f"### HitRate@6 by {what}, {res['primary']}", "",
                      "| group | " + " | ".join(shown) + " |", "|---" * (len(shown) + 1) + "|"]
            for i, b in enumerate(per[shown[0]]["buckets"]):
                cells_ = [per[m]["buckets"][i]["value"] for m in shown]
                lines.append(f"| {b['label']} (n={b['n']}) | "
                             + " | ".join("—" if v is None else f"{v:.3f}" for v in cells_) + " |")
            lines.append("")
    if res.get("cold_targets"):
        lines += ["Cold targets: " + json.dumps(res["cold_targets"]), ""]
    return "\n".join(lines)


def plot(all_res: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = [d for d, r in all_res.items() if r.get("table")]
    if not ds:
        return
    fig, axes = plt.subplots(1, len(ds), figsize=(5 * len(ds), 3.6), squeeze=False)
    for ax, d in zip(axes[0], ds, strict=True):
        r = all_res[d]
        label = POOLED if POOLED in r["table"] else r["cutoffs"][0]
        rows = r["table"][label]
        y = np.arange(len(rows))
        v = np.array([x["HitRate@6"]["value"] for x in rows])
        lo = v - np.array([x["HitRate@6"]["ci"][0] for x in rows])
        hi = np.array([x["HitRate@6"]["ci"][1] for x in rows]) - v
        ax.errorbar(v, y, xerr=[lo, hi], fmt="o", capsize=3)
        ax.set_yticks(y, [x["model"] for x in rows])
        ax.set_title(f"{d} ({label})", fontsize=9)
        ax.set_xlabel("HitRate@6, 95% CI")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


def report(args: argparse.Namespace) -> None:
    store: dict[str, Any] = json.loads(OUT.read_text()) if OUT.exists() else {}
    text = []
    for dataset in args.datasets:
        res = report_dataset(dataset, args.cache)
        if res is None:
            continue
        res["machine"] = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                          "discoverly": __version__,
                          "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        store[dataset] = res
        text.append(markdown(res))
    OUT.write_text(json.dumps(store, indent=1, default=json_default))
    TABLES.write_text("# Seed experiment tables (generated by benchmarks/bench_seed_experiment.py --report)\n\n"
                      + "\n\n".join(markdown(store[d]) for d in store) + "\n")
    plot(store)
    print("\n\n".join(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(PLAN))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--stages", default="table,seeds,more")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where finished cells are kept")
    parser.add_argument("--until", default=None, help="HH:MM (UTC): start no cell after this time")
    parser.add_argument("--work", action="store_true", help="run cells only")
    parser.add_argument("--report", action="store_true", help="assemble finished cells only")
    parser.add_argument("--list", action="store_true", help="show every cell and its state")
    args = parser.parse_args()
    args.datasets = args.datasets.split(",")
    args.models = args.models.split(",")
    args.stages = args.stages.split(",")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.list:
        list_jobs(args)
        return
    if not args.report:
        work(args)
    if not args.work:
        report(args)


if __name__ == "__main__":
    main()
