"""A service worker limits glibc's malloc arenas (serve/allocator.py), unless MALLOC_ARENA_MAX is set."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

from discoverly.serve import asgi
from discoverly.serve.allocator import DEFAULT_ARENAS, limit_malloc_arenas

glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="malloc arenas are glibc's")

# 20 threads alive at once, each allocating: how many arenas do they get?
PROBE = textwrap.dedent("""
    import json, os, sys, threading
    from discoverly.serve.allocator import arena_heaps, limit_malloc_arenas
    env = {} if sys.argv[1] == "unset" else {"MALLOC_ARENA_MAX": sys.argv[1]}
    limit = limit_malloc_arenas(environ=env)
    barrier, keep = threading.Barrier(20), []
    def work():
        keep.append(bytearray(50_000))
        barrier.wait()
    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads: t.start()
    for t in threads: t.join()
    heaps = arena_heaps()
    print(json.dumps({"limit": limit, "heaps": heaps}))
""")


def _probe(setting: str) -> dict[str, int | None]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", PROBE, setting], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@glibc
def test_a_worker_keeps_two_arenas_however_many_threads_allocate() -> None:
    limited, free = _probe("unset"), _probe("16")  # "16": the environment's setting, left alone
    assert limited == {"limit": DEFAULT_ARENAS, "heaps": DEFAULT_ARENAS - 1}  # the main arena has no such heap
    assert free["limit"] is None and free["heaps"] > 4  # glibc gives new threads arenas of their own


def test_the_environment_wins_and_other_c_libraries_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    assert limit_malloc_arenas(environ={"MALLOC_ARENA_MAX": "8"}) is None
    monkeypatch.setattr(platform, "libc_ver", lambda: ("musl", "1.2"))
    assert limit_malloc_arenas(environ={}) is None


def test_every_worker_sets_the_limit_before_it_builds_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr("discoverly.serve.allocator.limit_malloc_arenas", lambda: calls.append("arenas"))
    monkeypatch.setattr("discoverly.serve.app.create_app", lambda cfg: calls.append("app"))
    monkeypatch.setenv(asgi.ENV, '{"artifacts": "."}')
    asgi.factory()
    assert calls == ["arenas", "app"]
