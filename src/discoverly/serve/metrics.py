"""Prometheus metrics in the text exposition format (written here: a few counters and histograms).

Each worker process keeps its own numbers and labels them with ``worker`` (its pid), so a scrape
through a load balancer over several workers is summed by ``sum without (worker)`` in PromQL.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable

__all__ = ["Metrics", "BUCKETS", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: latency histogram buckets in seconds
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Thread-safe counters, a latency histogram per route, and the served model version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.worker = str(os.getpid())
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency_counts: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self.model_version = ""
        self.model_loaded = 0.0
        self.started = time.time()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        i = bisect.bisect_left(BUCKETS, seconds)
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            counts = self.latency_counts.get(route)
            if counts is None:
                counts = self.latency_counts[route] = [0] * (len(BUCKETS) + 1)
            counts[i] += 1
            self.latency_sum[route] += seconds

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            self.counters[(name, tuple(sorted(labels.items())))] += amount

    def set_model(self, version: str) -> None:
        with self._lock:
            self.model_version = version
            self.model_loaded = time.time()

    def render(self) -> str:
        w = f'worker="{self.worker}"'
        out: list[str] = []
        with self._lock:
            out += ["# HELP discoverly_http_requests_total HTTP requests by method, route and status.",
                    "# TYPE discoverly_http_requests_total counter"]
            for (method, route, status), n in sorted(self.requests.items()):
                out.append(f'discoverly_http_requests_total{{{w},method="{method}",route="{_esc(route)}",'
                           f'status="{status}"}} {n}')
            out += ["# HELP discoverly_http_request_duration_seconds Request latency by route.",
                    "# TYPE discoverly_http_request_duration_seconds histogram"]
            for route, counts in sorted(self.latency_counts.items()):
                r = f'{w},route="{_esc(route)}"'
                cum = 0
                for le, c in zip((*BUCKETS, float("inf")), counts, strict=True):
                    cum += c
                    bound = "+Inf" if le == float("inf") else repr(le)
                    out.append(f'discoverly_http_request_duration_seconds_bucket{{{r},le="{bound}"}} {cum}')
                out.append(f"discoverly_http_request_duration_seconds_sum{{{r}}} {self.latency_sum[route]:.6f}")
                out.append(f"discoverly_http_request_duration_seconds_count{{{r}}} {cum}")
            names = sorted({name for name, _ in self.counters})
            for name in names:
                out += [f"# TYPE {name} counter"]
                for (metric, labels), v in sorted(self.counters.items()):
                    if metric == name:
                        out.append(f"{name}{{{_labels(w, labels)}}} {v:g}")
            out += ["# HELP discoverly_model_info The model version this worker serves.",
                    "# TYPE discoverly_model_info gauge",
                    f'discoverly_model_info{{{w},version="{_esc(self.model_version)}"}} 1',
                    "# TYPE discoverly_model_loaded_timestamp_seconds gauge",
                    f"discoverly_model_loaded_timestamp_seconds{{{w}}} {self.model_loaded:.3f}",
                    "# TYPE discoverly_process_start_time_seconds gauge",
                    f"discoverly_process_start_time_seconds{{{w}}} {self.started:.3f}"]
        return "\n".join(out) + "\n"


def _labels(worker: str, labels: Iterable[tuple[str, str]]) -> str:
    return ",".join([worker, *(f'{k}="{_esc(v)}"' for k, v in labels)])


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
