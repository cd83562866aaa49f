"""glibc's malloc arenas in a service worker: two, unless the service's environment says otherwise.

Each thread that serves requests gets a malloc arena of its own, up to 8 per core, and an arena keeps
the memory it once held. The thread pool ends idle threads and starts new ones with the next burst, so
a worker's RSS rose for its first ~45 minutes (195 → ~310 MB in an 85-minute soak); with two arenas it
stayed 60–80 MB lower at the same latency and throughput (``benchmarks/serve.md``). glibc reads
``MALLOC_ARENA_MAX`` only when a process starts, so ``discoverly serve`` sets the limit with
``mallopt(M_ARENA_MAX)`` in its own process (the worker of ``--workers 1``) and puts
``MALLOC_ARENA_MAX`` into the environment of the workers it starts; the ASGI factory sets it too, for
a worker started some other way. ``MALLOC_ARENA_MAX`` in the service's environment wins: the allocator
stays as glibc set it up (``MALLOC_ARENA_MAX=16`` is glibc's default on 2 cores).
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DEFAULT_ARENAS", "arena_heaps", "limit_malloc_arenas"]

log = logging.getLogger(__name__)

#: malloc arenas per worker process unless ``MALLOC_ARENA_MAX`` is set
DEFAULT_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS, environ: Mapping[str, str] | None = None) -> int | None:
    """Limit this process's glibc malloc arenas to ``arenas``; the limit set, or ``None`` when left
    alone (``MALLOC_ARENA_MAX`` is in the environment, or the C library is not glibc). Call it before
    the process starts threads: glibc fixes the limit once a process has more than eight arenas."""
    environ = os.environ if environ is None else environ
    if "MALLOC_ARENA_MAX" in environ:
        return None
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        done = ctypes.CDLL(None).mallopt(_M_ARENA_MAX, int(arenas))
    except (OSError, AttributeError):
        return None
    if done != 1:
        return None
    log.debug("malloc arenas limited to %d in worker %d (MALLOC_ARENA_MAX overrides)", arenas, os.getpid())
    return int(arenas)


def arena_heaps(pid: int | str = "self") -> int:
    """How many non-main malloc arenas a Linux process has (``/proc/<pid>/maps``): each is a heap of
    64 MiB (HEAP_MAX_SIZE on 64-bit) of anonymous memory at a 64 MiB-aligned address, read-write as
    far as it is in use and reserved (``---p``) for the rest."""
    heap, maps = 64 << 20, []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        f = line.split()
        if len(f) < 6:  # no file name: anonymous
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            maps.append((lo, hi, f[1]))
    reserved = {lo: hi for lo, hi, perms in maps if perms.startswith("---")}
    return sum(1 for lo, hi, perms in maps if perms.startswith("rw") and lo % heap == 0
               and (hi == lo + heap or reserved.get(hi) == lo + heap))
