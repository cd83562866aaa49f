"""Per-call latency of ``recommend``, shared by the benchmarks: wall and CPU percentiles in ms."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def time_recommend(model: Any, users: Sequence[Any], *, k: int = 10,
                   clock: Callable[[], float] = time.process_time) -> dict[str, float]:
    """Call ``model.recommend([user], k)`` once per user (warm the model up first).

    Wall time includes waiting for a core on a shared machine; ``clock`` (process or thread CPU time)
    gives the service time."""
    wall, cpu = [], []
    for user in users:
        t0, c0 = time.perf_counter(), clock()
        model.recommend([user], k=k)
        wall.append(time.perf_counter() - t0)
        cpu.append(clock() - c0)
    w, c = np.array(wall) * 1000, np.array(cpu) * 1000
    return {"p50_ms": float(np.percentile(w, 50)), "p99_ms": float(np.percentile(w, 99)), "max_ms": float(w.max()),
            "cpu_p50_ms": float(np.percentile(c, 50)), "cpu_p99_ms": float(np.percentile(c, 99))}
