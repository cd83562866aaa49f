"""A real ``discoverly serve`` (uvicorn) on 127.0.0.1: answers, events, and reloads across workers."""

from __future__ import annotations

import os
import platform
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from serve_it_helpers import TOKEN, Server

pytestmark = pytest.mark.slow


def test_real_server_answers_and_ingests(server: Callable[..., Server], artifacts: Path) -> None:
    s = server()
    with httpx.Client(base_url=s.url, timeout=10) as c:
        item = c.get("/users/nobody/recommendations", params={"k": 3}).json()["items"][0]["item"]
        rel = c.get(f"/items/{item}/related", params={"k": 5})
        assert rel.status_code == 200 and rel.json()["version"] == "v0001"
        assert c.get("/items/does-not-exist/related").status_code == 404
        ev = {"user": "walk-in", "item": item, "type": "purchase", "timestamp": int(time.time()) - 5,
              "idempotency_key": uuid.uuid4().hex}
        assert c.post("/events", json=ev).json() == {"accepted": 1, "duplicates": 0}
        assert c.post("/events", json=ev).json() == {"accepted": 0, "duplicates": 1}
        recs = c.get("/users/walk-in/recommendations", params={"k": 3}).json()
        assert recs["fresh_events"] == 1 and item not in [i["item"] for i in recs["items"]]
        assert "discoverly_http_requests_total" in c.get("/metrics").text
        assert c.get("/ui").status_code == 200


def test_head_on_a_real_server(server: Callable[..., Server]) -> None:
    """HEAD answers as GET does, without a body, on one kept-alive connection (uvicorn checks that a body
    matches its Content-Length unless the request is a HEAD: the app sees a GET, the server a HEAD)."""
    s = server()
    with httpx.Client(base_url=s.url, timeout=10) as c:
        for path in ("/ui", "/ui/items/nope", "/items/nope/related", "/users/u1/recommendations", "/docs",
                     "/static-offline-docs/swagger-ui.css", "/nope", "/health"):
            get, head = c.get(path), c.head(path)
            assert (head.status_code, head.content) == (get.status_code, b""), path
            assert head.headers["cache-control"] == get.headers["cache-control"], path
            if path != "/health":  # its uptime changes between the two
                assert head.headers["content-length"] == get.headers["content-length"], path
    assert "Traceback" not in s.log.read_text() and "ERROR" not in s.log.read_text()


def test_reload_reaches_every_worker(server: Callable[..., Server]) -> None:
    s = server(workers=2)
    with httpx.Client(base_url=s.url, timeout=10) as c:
        r = c.post("/admin/reload", json={"version": "v0002"}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["version"] == "v0002"
        deadline = time.time() + 20
        seen: list[str] = []
        while time.time() < deadline:
            seen = [c.get("/health", headers={"Connection": "close"}).json()["version"] for _ in range(20)]
            if set(seen) == {"v0002"}:
                break
            time.sleep(0.3)
        assert set(seen) == {"v0002"}
        # which process accepts a new connection is the kernel's choice, so the 20 answers above may all
        # have come from one worker while the other had not yet polled CURRENT: ask until both answered
        # with v0002 (each worker's latest answer counts), and fail only if one never does
        workers: dict[str, str] = {}
        deadline = time.time() + 30
        while time.time() < deadline and not (len(workers) == 2 and all('"v0002"' in v for v in workers.values())):
            for line in c.get("/metrics", headers={"Connection": "close"}).text.splitlines():
                if line.startswith("discoverly_model_info"):
                    workers[line.split('worker="')[1].split('"')[0]] = line
            time.sleep(0.05)
        assert len(workers) == 2  # both worker processes answered ...
        assert all('"v0002"' in line for line in workers.values()), workers  # ... and both serve v0002


def test_train_from_store_while_serving(server: Callable[..., Server], artifacts: Path) -> None:
    """``discoverly train --from-store`` publishes v0003 while the service answers; it follows."""
    import subprocess
    import sys

    s = server()
    with httpx.Client(base_url=s.url, timeout=10) as c:
        now = int(time.time())
        batch = {"events": [{"user": f"c{u}", "item": f"p{(u + j) % 7}", "type": "purchase",
                             "timestamp": now - 86_400 + 60 * j, "idempotency_key": f"t{u}-{j}"}
                            for u in range(40) for j in range(3)]}
        assert c.post("/events", json=batch).json()["accepted"] == 120
        failures = 0
        with subprocess.Popen([sys.executable, "-m", "discoverly", "train", "--from-store", "--artifacts",
                               str(artifacts), "--model", "cosine"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) as proc:
            while proc.poll() is None:
                failures += c.get("/users/c1/recommendations").status_code != 200
                time.sleep(0.05)
            out = proc.stdout.read().decode() if proc.stdout else ""
        assert proc.returncode == 0, out
        assert "v0003" in out and failures == 0
        deadline = time.time() + 15
        while time.time() < deadline and c.get("/health").json()["version"] != "v0003":
            time.sleep(0.2)
        body = c.get("/items/p1/related", params={"k": 3}).json()
        assert body["version"] == "v0003" and body["fallback"] is False


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's arenas")
@pytest.mark.parametrize("workers", [1, 2])
def test_workers_keep_two_malloc_arenas(server: Callable[..., Server], workers: int) -> None:
    """Without MALLOC_ARENA_MAX, every process of the service has at most two malloc arenas however many
    threads serve requests (glibc's default gave a worker 11-15 after a burst of 40 connections)."""
    from discoverly.serve.allocator import arena_heaps

    s = server(workers=workers)
    assert s.proc is not None and "MALLOC_ARENA_MAX" not in os.environ

    def burst(n: int) -> None:
        with httpx.Client(base_url=s.url, timeout=30) as c:
            for _ in range(25):
                assert c.get("/users/nobody/recommendations", params={"k": 3}).status_code == 200

    with ThreadPoolExecutor(40) as pool:
        list(pool.map(burst, range(40)))
    group = [int(p) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == s.proc.pid]
    assert len(group) >= 1 + (workers > 1) * (workers + 1)  # uvicorn's supervisor and workers (and its tracker)
    heaps = {pid: arena_heaps(pid) for pid in group}
    assert max(heaps.values()) <= 1, heaps  # the main arena and at most one more


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
