"""Kill-and-restart durability check: send events, SIGKILL the server mid-stream, restart, compare.

Used by the test suite (a few cycles) and by ``benchmarks/bench_serve.py`` (20 cycles). Every request
targets 127.0.0.1 and every loop is bounded in count and time.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CycleResult", "kill_cycle"]


@dataclass
class CycleResult:
    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    stored_after_kill: set[str] = field(default_factory=set)
    duplicates_after_kill: int = 0
    stored_after_retry: set[str] = field(default_factory=set)
    duplicates_after_retry: int = 0

    @property
    def lost(self) -> set[str]:
        """Acknowledged events missing after the kill (must be empty)."""
        return self.acknowledged - self.stored_after_kill

    @property
    def phantom(self) -> set[str]:
        """Stored events nobody sent (must be empty)."""
        return self.stored_after_kill - self.sent


def kill_cycle(url: str, kill: Callable[[], None], stored_keys: Callable[[], list[str]], *,
               restart: Callable[[], str], senders: int = 4, batch: int = 5, kill_after: int = 200,
               timeout: float = 60.0, prefix: str | None = None) -> CycleResult:
    """One cycle: ``senders`` threads post batches of events to ``url`` until ``kill_after`` events
    are acknowledged, then ``kill()`` SIGKILLs the server while requests are in flight. Then
    ``stored_keys()`` reads the store directly, ``restart()`` starts the server again (returning its
    URL) and every unacknowledged event is retried with the same key."""
    import httpx

    prefix = prefix or uuid.uuid4().hex[:8]
    result = CycleResult()
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.time() + timeout
    batches: list[list[dict[str, object]]] = []

    def sender(w: int) -> None:
        n = 0
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set() and time.time() < deadline:
                events = [{"user": f"k{w}", "item": f"i{(n + j) % 50}", "type": "purchase",
                           "timestamp": int(time.time()) - 60, "idempotency_key": f"{prefix}-{w}-{n}-{j}"}
                          for j in range(batch)]
                n += 1
                keys = {str(e["idempotency_key"]) for e in events}
                with lock:
                    result.sent |= keys
                    batches.append(events)
                try:
                    r = client.post("/events", json={"events": events})
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    with lock:
                        result.acknowledged |= keys

    threads = [threading.Thread(target=sender, args=(w,), daemon=True) for w in range(senders)]
    for t in threads:
        t.start()
    while time.time() < deadline:
        with lock:
            if len(result.acknowledged) >= kill_after:
                break
        time.sleep(0.002)
    kill()  # requests are in flight right now
    stop.set()
    for t in threads:
        t.join(timeout=15)
    keys = [k for k in stored_keys() if k.startswith(prefix)]
    result.stored_after_kill = set(keys)
    result.duplicates_after_kill = len(keys) - len(set(keys))
    new_url = restart()
    with httpx.Client(base_url=new_url, timeout=30) as client:
        for events in batches:
            if not {str(e["idempotency_key"]) for e in events} <= result.acknowledged:
                r = client.post("/events", json={"events": events})
                r.raise_for_status()
    keys = [k for k in stored_keys() if k.startswith(prefix)]
    result.stored_after_retry = set(keys)
    result.duplicates_after_retry = len(keys) - len(set(keys))
    return result
