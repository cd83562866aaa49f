"""Load, ingestion and fault benchmark of ``discoverly serve`` on 127.0.0.1.

Scenarios (each a separate load-generator process against a real ``discoverly serve``):
  * ``/items/{id}/related`` and ``/users/{id}/recommendations`` with 1 and 2 workers on the Online
    Retail model (item-to-item, corrected score): maximum throughput with wrk (random ids, closed
    loop), and latency at a fixed rate with hey (500 req/s for related, 200 req/s for
    recommendations — the goals of issue 4);
  * event ingestion into SQLite and PostgreSQL (wrk, unique idempotency keys, 1 and 100 events
    per request);
  * kill-and-restart cycles: SIGKILL while events are in flight, restart, count lost events;
  * ``--soak MINUTES`` (instead of the above): a server left running on a small synthetic model with an
    A/B experiment, a paced mixed load in bursts with idle gaps (the thread pool's threads end after
    10 s idle), a new model version published and an old one deleted every ``--soak-reload`` seconds,
    and each process's RSS, open files, threads and malloc arena heaps sampled every 5 s
    (``--soak-workers`` 1 or 2; ``--malloc-arena-max N`` sets the server's ``MALLOC_ARENA_MAX``);
  * ``--bulk-over-limit EVENTS`` (instead of the above): one ``POST /admin/events`` of that many events
    (over ``max_bulk_batch``) to a 1-worker server: the time to the 422 and the worker's peak RSS.

Usage: nice python benchmarks/bench_serve.py [--seconds 60] [--cycles 20] [--quick]
       nice python benchmarks/bench_serve.py --soak 12 --soak-workers 2 --output /tmp/soak.json
       nice python benchmarks/bench_serve.py --bulk-over-limit 560000 --output /tmp/bulk.json
Writes benchmarks/results/serve.json and prints a table. Every request targets 127.0.0.1; every
loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "serve"))

from serve_it_helpers import Server  # noqa: E402

from discoverly.serve.allocator import arena_heaps  # noqa: E402

WRK_GET = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
request = function()
  return wrk.format("GET", string.format("%(path)s", ids[math.random(#ids)]))
end
"""

#: appended to every wrk script (not %-formatted): prints one JSON line with the results
WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"status_errors":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""

WRK_POST = """
local counter = 0
local tid = 0
local threads = {}
setup = function(thread) tid = tid + 1; thread:set("tid", tid); table.insert(threads, thread) end
request = function()
  local parts = {}
  for j = 1, %(batch)d do
    counter = counter + 1
    parts[j] = string.format('{"user":"w%%d-%%d","item":"%(item)s","type":"purchase","timestamp":%(ts)d,' ..
      '"idempotency_key":"%(prefix)s-%%d-%%d"}', tid, counter %% 997, tid, counter)
  end
  local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/events", {["Content-Type"] = "application/json"}, body)
end
"""


def sh(cmd: list[str], timeout: float) -> str:
    out = subprocess.run(["nice", "-n", "5", *cmd], capture_output=True, text=True, timeout=timeout)
    return out.stdout + out.stderr


def wrk(url: str, script: str, seconds: int, connections: int = 16, threads: int = 2) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script + WRK_DONE)
    try:
        text = sh(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", fh.name, url],
                  timeout=seconds + 60)
    finally:
        os.unlink(fh.name)
    m = re.search(r"RESULT (\{.*\})", text)
    if not m:
        raise RuntimeError(f"wrk printed no result: {text[-1500:]}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = r["status_errors"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
    return r


def hey(url: str, rate: int, seconds: int, connections: int = 10) -> dict[str, Any]:
    per = max(1, rate // connections)
    text = sh(["hey", "-z", f"{seconds}s", "-c", str(connections), "-q", str(per), "-disable-keepalive=false", url],
              timeout=seconds + 60)
    pct = {int(p): float(s) * 1000 for p, s in re.findall(r"(\d+)%+ in ([\d.]+) secs", text)}
    codes = {int(c): int(n) for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", text)}
    errors = sum(int(n) for n in re.findall(r"\[(\d+)\]\s+Get", text))
    total = sum(codes.values())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    bad = sum(n for c, n in codes.items() if c >= 400) + errors
    return {"target_rps": per * connections, "rps": rps, "p50_ms": pct.get(50), "p99_ms": pct.get(99),
            "requests": total, "errors": bad}


def cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every process in a process group (the server and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def build_artifacts(root: Path) -> dict[str, Any]:
    from discoverly.data.datasets import load_dataset
    from discoverly.recommend.registry import create

    ds = load_dataset("online-retail")
    t0 = time.perf_counter()
    model = create("corrected").fit(ds.interactions)
    fit = time.perf_counter() - t0
    model.save(root / "models" / "v0001")
    (root / "CURRENT").write_text("v0001\n")
    assert ds.catalog is not None
    ds.catalog.table.write_parquet(root / "catalog.parquet")
    log = ds.interactions
    (root / "items.txt").write_text("\n".join(str(x) for x in log.items.ids[:]) + "\n")
    # recommendations for known customers and some unknown ones (fallback)
    users = [str(x) for x in log.users.ids[:]] + [f"new-{i}" for i in range(200)]
    (root / "users.txt").write_text("\n".join(users) + "\n")
    return {"dataset": "online-retail (both files)", "events": len(log), "users": log.n_users, "items": log.n_items,
            "model": "corrected", "fit_seconds": round(fit, 1)}


SOAK_CONFIG = """
artifacts = "{artifacts}"
admin_token = "{token}"
reload_poll_seconds = 1.0

[[experiments]]
name = "soak"
endpoint = "recommendations"
window_days = 7

[[experiments.arms]]
name = "control"
version = "v0001"
share = 0.5

[[experiments.arms]]
name = "treatment"
version = "v0002"
share = 0.5
"""


def proc_sample(pgid: int) -> list[dict[str, Any]]:
    """RSS (MB), open file descriptors, threads and malloc arena heaps of every process in a process group."""
    rows = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            status = (stat.parent / "status").read_text()
            rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
            threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            fds = len(os.listdir(stat.parent / "fd"))
            heaps = arena_heaps(int(stat.parent.name))
        except (OSError, AttributeError):
            continue
        rows.append({"pid": int(stat.parent.name), "rss_mb": round(rss, 1), "fds": fds, "threads": threads,
                     "arena_heaps": heaps})
    return sorted(rows, key=lambda r: r["pid"])


def soak(minutes: float, workers: int, reload_every: float, burst: float, idle: float, rate: float,
         output: Path) -> None:
    """A server left running (see the module docstring); writes samples and a summary to ``output``."""
    import random
    import threading
    import uuid

    import httpx
    from serve_it_helpers import TOKEN, make_artifacts

    from discoverly.data.datasets import load_dataset
    from discoverly.recommend.registry import create
    from discoverly.serve.versions import ModelStore

    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    arts = make_artifacts(work / "artifacts")
    (work / "serve.toml").write_text(SOAK_CONFIG.format(artifacts=arts, token=TOKEN))
    ds = load_dataset("synthetic-store", n_customers=300, n_items=120, days=90, rng=7)
    users = [str(u) for u in ds.interactions.users.ids[:]] + [f"new-{i}" for i in range(50)]
    items = [str(i) for i in ds.interactions.items.ids[:]]
    s = Server(arts, workers=workers, extra=["--config", str(work / "serve.toml")]).start(timeout=300)
    assert s.proc is not None
    stop = threading.Event()
    lock = threading.Lock()
    lat: list[tuple[float, str, float, int]] = []  # (time, kind, seconds, status; 0 = no answer)
    t_start = time.time()
    end = t_start + minutes * 60
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def one(c: httpx.Client, rng: random.Random) -> None:
        u, it = rng.choice(users), rng.choice(items)
        kind = rng.choices(["related", "recs", "recs_new", "event", "metrics", "ui_user", "ui_item", "experiment",
                            "health"], weights=[30, 30, 5, 15, 3, 5, 5, 2, 5])[0]
        t0 = time.perf_counter()
        try:
            if kind == "related":
                r = c.get(f"/items/{it}/related", params={"k": 10})
            elif kind == "recs":
                r = c.get(f"/users/{u}/recommendations", params={"k": 10})
            elif kind == "recs_new":
                r = c.get(f"/users/soak-{uuid.uuid4().hex[:12]}/recommendations", params={"k": 10})
            elif kind == "event":
                r = c.post("/events", json={"user": u, "item": it, "type": "purchase",
                                            "timestamp": int(time.time()) - 1, "idempotency_key": uuid.uuid4().hex})
            elif kind == "metrics":
                r = c.get("/metrics")
            elif kind == "ui_user":
                r = c.get(f"/ui/users/{u}")
            elif kind == "ui_item":
                r = c.get(f"/ui/items/{it}")
            elif kind == "experiment":
                r = c.get("/experiments/soak")
            else:
                r = c.get("/health")
            status = r.status_code
        except httpx.HTTPError:
            status = 0
        with lock:
            lat.append((time.time() - t_start, kind, time.perf_counter() - t0, status))

    def client(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=s.url, timeout=30) as c:
            while not stop.is_set() and time.time() < end:
                phase = (time.time() - t_start) % (burst + idle)
                if phase >= burst:  # a lull: no traffic at all
                    stop.wait(min(1.0, burst + idle - phase))
                    continue
                one(c, rng)
                stop.wait(rng.expovariate(rate / 4))

    samples: list[dict[str, Any]] = []
    reloads: list[dict[str, Any]] = []
    models = ModelStore(arts)
    clients = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
    for t in clients:
        t.start()
    next_reload = time.time() + reload_every
    published: list[str] = []
    try:
        while time.time() < end:
            wal = arts / "events.db-wal"
            samples.append({"t": round(time.time() - t_start, 1), "procs": proc_sample(s.proc.pid),
                            "load": os.getloadavg()[0], "db_mb": round((arts / "events.db").stat().st_size / 1e6, 2),
                            "wal_mb": round(wal.stat().st_size / 1e6, 2) if wal.exists() else 0.0})
            if time.time() >= next_reload:
                next_reload = time.time() + reload_every
                t0 = time.perf_counter()
                model = create("corrected" if len(published) % 2 else "bestsellers").fit(ds.interactions)
                v = models.publish(model)  # CURRENT switches: every worker reloads within a second
                published.append(v)
                if len(published) > 2:  # delete the version before the previous one (the operator's clean-up)
                    shutil.rmtree(arts / "models" / published[-3])
                reloads.append({"t": round(time.time() - t_start, 1), "version": v,
                                "seconds": round(time.perf_counter() - t0, 2)})
                if len(published) % 3 == 0:  # and once in a while the admin endpoint, back and forth
                    httpx.post(f"{s.url}/admin/reload", json={"version": published[-2]}, headers=headers, timeout=30)
                    httpx.post(f"{s.url}/admin/reload", json={"version": v}, headers=headers, timeout=30)
            time.sleep(5)
    finally:
        stop.set()
        for t in clients:
            t.join(timeout=60)
        s.stop()
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for smp in samples:
        for p in smp["procs"]:
            by_pid.setdefault(p["pid"], []).append({"t": smp["t"], **p})
    trend = {}
    for pid, rows in by_pid.items():
        q = max(1, len(rows) // 4)
        first, last = rows[q:2 * q] or rows[:q], rows[-q:]  # the second quarter (after warm-up) against the last
        trend[pid] = {k: {"second_quarter": round(sum(r[k] for r in first) / len(first), 1),
                          "last_quarter": round(sum(r[k] for r in last) / len(last), 1),
                          "max": max(r[k] for r in rows)} for k in ("rss_mb", "fds", "threads", "arena_heaps")}
    statuses: dict[str, int] = {}
    for _, kind, _, st in lat:
        statuses[f"{kind}:{st}"] = statuses.get(f"{kind}:{st}", 0) + 1
    ms = sorted(x[2] * 1000 for x in lat)
    near = sorted(x[2] * 1000 for x in lat if any(0 <= x[0] - r["t"] <= 3 for r in reloads))
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "command": "nice python benchmarks/bench_serve.py " + " ".join(sys.argv[1:]),
              "minutes": minutes, "workers": workers, "burst_s": burst, "idle_s": idle, "rate": rate,
              "malloc_arena_max_env": os.environ.get("MALLOC_ARENA_MAX"),
              "requests": len(lat), "statuses": statuses,
              "errors": sum(1 for x in lat if x[3] == 0 or x[3] >= 500),
              "p50_ms": ms[len(ms) // 2] if ms else None, "p99_ms": ms[int(len(ms) * 0.99)] if ms else None,
              "p99_ms_within_3s_after_publish": near[int(len(near) * 0.99)] if near else None,
              "reloads": reloads, "trend": trend, "samples": samples}
    output.write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: v for k, v in result.items() if k not in ("samples", "reloads")}, indent=1))


def bulk_over_limit(n: int, output: Path) -> None:
    """One ``POST /admin/events`` of ``n`` events to a fresh 1-worker server (see the module docstring)."""
    import httpx
    from serve_it_helpers import TOKEN, make_artifacts

    work = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    arts = make_artifacts(work / "artifacts")
    event = '{"user":"u%d","item":"i1","type":"purchase","timestamp":1700000000,"idempotency_key":"k-%d"}'
    body = ('{"events":[' + ",".join(event % (i % 1000, i) for i in range(n)) + "]}").encode()
    s = Server(arts, workers=1).start(timeout=300)
    assert s.proc is not None
    try:
        def peak_mb() -> int:  # VmHWM: the peak RSS of each process of the server's group
            return max(int(re.search(r"VmHWM:\s+(\d+)", (Path("/proc") / str(p["pid"]) / "status").read_text())
                           .group(1)) // 1024 for p in proc_sample(s.proc.pid))  # type: ignore[union-attr]

        before = peak_mb()
        t0 = time.perf_counter()
        r = httpx.post(f"{s.url}/admin/events", content=body, timeout=300,
                       headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "command": "nice python benchmarks/bench_serve.py " + " ".join(sys.argv[1:]),
                  "events": n, "body_mb": round(len(body) / 1e6, 1), "status": r.status_code,
                  "seconds": round(time.perf_counter() - t0, 2), "peak_rss_mb_idle": before,
                  "peak_rss_mb": peak_mb(), "detail": r.json().get("detail")}
    finally:
        s.stop()
        shutil.rmtree(work, ignore_errors=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60, help="duration of each load scenario")
    ap.add_argument("--cycles", type=int, default=20, help="kill-and-restart cycles")
    ap.add_argument("--quick", action="store_true", help="10 s scenarios, 3 cycles (a smoke run)")
    ap.add_argument("--only-latency", action="store_true", help="skip the ingestion and fault scenarios")
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "serve.json"), help="JSON result file")
    ap.add_argument("--postgres", default=None, help="PostgreSQL URL (default: start one with scripts/services.sh)")
    ap.add_argument("--soak", type=float, default=None, metavar="MINUTES", help="run only the soak (see above)")
    ap.add_argument("--soak-workers", type=int, default=2, help="workers of the soak's server")
    ap.add_argument("--soak-reload", type=float, default=60, help="seconds between published versions in the soak")
    ap.add_argument("--soak-burst", type=float, default=20, help="seconds of load per burst in the soak")
    ap.add_argument("--soak-idle", type=float, default=12, help="seconds without load between bursts")
    ap.add_argument("--soak-rate", type=float, default=40, help="requests per second during a burst")
    ap.add_argument("--malloc-arena-max", default=None, metavar="N",
                    help="MALLOC_ARENA_MAX in the server's environment (default: this one's; unset, each worker "
                         "limits itself to 2 arenas; 16 is glibc's default on 2 cores)")
    ap.add_argument("--bulk-over-limit", type=int, default=None, metavar="EVENTS",
                    help="run only one over-limit POST /admin/events (see above)")
    args = ap.parse_args()
    if args.malloc_arena_max is not None:
        os.environ["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
    if args.bulk_over_limit is not None:
        bulk_over_limit(args.bulk_over_limit, Path(args.output))
        return
    if args.soak is not None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        soak(args.soak, args.soak_workers, args.soak_reload, args.soak_burst, args.soak_idle, args.soak_rate,
             Path(args.output))
        return
    seconds, cycles = (10, 3) if args.quick else (args.seconds, args.cycles)
    for tool in ("wrk", "hey"):
        if shutil.which(tool) is None:
            subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "wrk"], check=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "nice python benchmarks/bench_serve.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_start": os.getloadavg()},
        "generators": {"wrk": sh(["wrk", "--version"], 10).splitlines()[0], "hey": "hey (Debian)"},
        "seconds_per_scenario": seconds, "latency": [], "ingestion": [], "faults": {},
    }
    try:
        arts = work / "artifacts"
        results["model"] = build_artifacts(arts)
        print(f"model: {results['model']}", flush=True)
        scenarios = [("related", "/items/%s/related?k=10", "items.txt", 500),
                     ("recommendations", "/users/%s/recommendations?k=10", "users.txt", 200)]
        for workers in (1, 2):
            s = Server(arts, workers=workers).start(timeout=300)
            try:
                for name, path, ids, rate in scenarios:
                    script = WRK_GET % {"ids": arts / ids, "path": path}
                    wrk(s.url, script, 3)  # warm-up
                    assert s.proc is not None
                    cpu0 = cpu_seconds(s.proc.pid)
                    mx = wrk(s.url, script, seconds)
                    cpu_ms = (cpu_seconds(s.proc.pid) - cpu0) / max(1, mx["requests"]) * 1000
                    first = (arts / ids).read_text().split("\n", 1)[0]
                    fixed = hey(s.url + path.replace("%s", first), rate, seconds)
                    row = {"endpoint": name, "workers": workers, "max_rps": round(mx["rps"], 1),
                           "max_p50_ms": mx["p50_ms"], "max_p99_ms": mx["p99_ms"], "max_errors": mx["errors"],
                           "max_requests": mx["requests"], "server_cpu_ms_per_request": round(cpu_ms, 3),
                           "rate_target": fixed["target_rps"],
                           "rate_achieved": round(fixed["rps"], 1), "rate_p50_ms": fixed["p50_ms"],
                           "rate_p99_ms": fixed["p99_ms"], "rate_errors": fixed["errors"],
                           "rate_requests": fixed["requests"], "load_average": os.getloadavg()[0]}
                    results["latency"].append(row)
                    print(row, flush=True)
            finally:
                s.stop()
        if args.only_latency:
            return
        pg = args.postgres
        if pg is None:
            out = subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "postgres"], capture_output=True,
                                 text=True, check=True)
            pg = out.stdout.strip().splitlines()[-1]
        import psycopg

        name = f"bench_{int(time.time())}"
        with psycopg.connect(pg, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        pg_db = pg.rpartition("/")[0] + "/" + name
        item = (arts / "items.txt").read_text().split("\n", 1)[0]
        for store_name, url in (("sqlite", f"sqlite:///{work / 'ingest.db'}"), ("postgresql", pg_db)):
            s = Server(arts, store=url, workers=1).start(timeout=300)
            try:
                for batch in (1, 100):
                    script = WRK_POST % {"batch": batch, "item": item, "ts": int(time.time()) - 60,
                                         "prefix": f"{store_name}{batch}"}
                    r = wrk(s.url, script, max(10, seconds // 3), connections=8)
                    row = {"store": store_name, "events_per_request": batch, "requests_per_s": round(r["rps"], 1),
                           "events_per_s": round(r["rps"] * batch, 1), "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                           "errors": r["errors"]}
                    results["ingestion"].append(row)
                    print(row, flush=True)
            finally:
                s.stop()
        from discoverly.serve.faults import kill_cycle
        from discoverly.serve.store import open_store

        store = f"sqlite:///{work / 'faults.db'}"
        servers: list[Server] = []

        def start() -> str:
            srv = Server(arts, store=store).start(timeout=300)
            servers.append(srv)
            return srv.url

        def keys() -> list[str]:
            with open_store(store) as st:
                return st.events()["key"].to_list()

        start()
        lost = acked = sent = dup = 0
        t0 = time.time()
        for c in range(cycles):
            res = kill_cycle(servers[-1].url, servers[-1].kill, keys, restart=start, kill_after=100,
                             prefix=f"f{c}")
            lost += len(res.lost)
            acked += len(res.acknowledged)
            sent += len(res.sent)
            dup += res.duplicates_after_kill + res.duplicates_after_retry
            assert res.stored_after_retry == res.sent, "retries did not converge to the sent events"
        for srv in servers:
            srv.stop()
        results["faults"] = {"store": "sqlite", "cycles": cycles, "events_sent": sent, "acknowledged": acked,
                             "acknowledged_lost": lost, "duplicates": dup, "seconds": round(time.time() - t0, 1)}
        print(results["faults"], flush=True)
        with psycopg.connect(pg, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        results["machine"]["load_average_at_end"] = os.getloadavg()
        out = Path(args.output)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        shutil.rmtree(work, ignore_errors=True)
        print_table(results)


def print_table(r: dict[str, Any]) -> None:
    print(f"\nload test, {r['seconds_per_scenario']} s per scenario, {r['machine']['cpus']} CPUs, load average at "
          f"start {r['machine']['load_average_at_start'][0]:.1f}")
    print(f"{'endpoint':<16}{'workers':>8}{'max req/s':>11}{'p50':>8}{'p99':>8}{'err':>6}{'cpu ms':>8} | "
          f"{'rate':>6}{'got':>8}{'p50':>8}{'p99':>8}{'err':>6}")
    for x in r["latency"]:
        print(f"{x['endpoint']:<16}{x['workers']:>8}{x['max_rps']:>11.0f}{x['max_p50_ms']:>8.1f}{x['max_p99_ms']:>8.1f}"
              f"{x['max_errors']:>6}{x.get('server_cpu_ms_per_request', float('nan')):>8.2f} | "
              f"{x['rate_target']:>6}{x['rate_achieved']:>8.0f}{x['rate_p50_ms'] or 0:>8.1f}"
              f"{x['rate_p99_ms'] or 0:>8.1f}{x['rate_errors']:>6}")
    for x in r["ingestion"]:
        print(f"ingest {x['store']:<11} {x['events_per_request']:>4}/req: {x['events_per_s']:>9.0f} events/s, "
              f"p50 {x['p50_ms']:.1f} ms, p99 {x['p99_ms']:.1f} ms, errors {x['errors']}")
    f = r.get("faults") or {}
    if f:
        print(f"kill-and-restart: {f['cycles']} cycles, {f['acknowledged']} acknowledged, {f['acknowledged_lost']} "
              f"lost, {f['duplicates']} duplicates")


if __name__ == "__main__":
    main()
