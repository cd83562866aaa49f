"""The local path's memory budget: estimate a fit's peak memory before allocating, and refuse with a
clear error when it would not fit.

The local path holds the whole log in memory (the events, then the users × items matrices every
model keeps), so its peak grows linearly with the number of events. :func:`estimate_fit_memory`
predicts that peak from the size of the log — the number of events and the bytes its columns take once
decoded (from a Parquet file's footer and schema) — with coefficients measured by
``benchmarks/bench_spark.py`` (peak resident memory of ``discoverly fit --model corrected`` on
synthetic logs of 1M and 10M events: 0.42 and 1.46 GB, i.e. ~0.3 GB + 124 bytes per event;
see benchmarks/spark.md), with a margin of ~15%. :func:`check_memory` compares the estimate
with ``max_memory`` (default: the memory this machine or container has available) and raises
:class:`~discoverly.errors.ResourceLimitError` — before anything big is allocated — naming the way
out: the Spark engine, a shorter window, or a larger limit. The process is never left to be killed
by the kernel's out-of-memory killer without a word.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from discoverly.errors import ConfigError, DataError, ResourceLimitError

__all__ = ["MemoryEstimate", "available_memory", "check_memory", "estimate_fit_memory", "file_facts", "parse_size",
           "text_size"]

#: bytes per event of a local item-to-item fit beyond the decoded log (sort, matrices, histories)
BYTES_PER_EVENT = 100
#: how many times the decoded log's bytes are held at once while reading and encoding ids
DECODE_FACTOR = 1.0
#: decoded bytes per event assumed when the log's columns are unknown (user, item id, time, quantity)
DEFAULT_DECODED_BYTES_PER_EVENT = 44
#: the interpreter, numpy/scipy/polars, and the relatedness blocks (8M entries)
BASE_BYTES = 400 * 2**20
#: per item and kept neighbour: the related-items matrices (scores, counts, weights, indices)
BYTES_PER_NEIGHBOUR = 40
#: decoded bytes of a string value (an id of ~8 characters, its offset and the hash-table share)
_STRING_BYTES = 24

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}


def parse_size(value: str | int | float) -> int:
    """Bytes from ``"24GB"``, ``"512m"``, ``"1.5 GiB"`` or a number of bytes (units are binary)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ConfigError(f"a memory size must be positive, got {value}")
        return int(value)
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise ConfigError(f"cannot read the memory size {value!r}; write it like '24GB', '512MB' or '1.5GiB'")
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size <= 0:
        raise ConfigError(f"a memory size must be positive, got {value!r}")
    return size


def _format(n: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 2**10:.0f} KiB"


def available_memory() -> int | None:
    """Bytes this process may still use: the smaller of the kernel's ``MemAvailable`` and the
    container's cgroup limit minus its usage; ``None`` when neither can be read."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            raw = Path(limit_file).read_text().strip()
            if raw != "max" and int(raw) < 2**60:
                found.append(int(raw) - int(Path(usage_file).read_text().strip()))
                break
        except (OSError, ValueError):
            continue
    return min(found) if found else None


@dataclass(frozen=True)
class MemoryEstimate:
    """A predicted peak of a local fit: ``peak`` bytes for ``events`` events, and how it was made."""

    peak: int
    events: int
    decoded_bytes: int
    basis: str

    def __str__(self) -> str:
        return f"~{_format(self.peak)} for {self.events:,} events ({self.basis})"


def file_facts(path: str | os.PathLike[str]) -> tuple[int | None, int | None]:
    """``(rows, decoded bytes)`` of a log file without reading its data — for Parquet, the rows
    from its footer and the decoded size from its schema (fixed-width columns at their width,
    strings at ~24 bytes); ``(None, None)`` for other formats. A ``.parquet`` file that is not one
    (empty, truncated, CSV) raises :class:`~discoverly.errors.DataError`."""
    p = Path(path)
    if p.suffix.lower() not in (".parquet", ".pq"):
        return None, None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except (pa.ArrowException, OSError) as exc:  # empty, truncated, or another format named .parquet
        raise DataError(f"cannot read the log file {str(p)!r} as Parquet: {str(exc).rstrip('.')}. Give a Parquet "
                        "file (or name a CSV file .csv)") from None
    width = 0
    for field in pf.schema_arrow:
        try:
            width += field.type.bit_width // 8
        except ValueError:  # variable width: strings, binary, lists
            width += _STRING_BYTES if pa.types.is_string(field.type) or pa.types.is_large_string(field.type) \
                else 2 * _STRING_BYTES
    rows = int(pf.metadata.num_rows)
    return rows, rows * width


def text_size(path: str | os.PathLike[str]) -> int:
    """The bytes of a text log once read: its size on disk, or for a gzip file (``log.csv.gz``) the
    size its trailer records. That is modulo 4 GiB, so a recorded size below the file's means a
    larger text, counted as 10 times the file (text logs compress 5-10 times)."""
    p = Path(path)
    size = p.stat().st_size
    if p.suffix.lower() != ".gz" or size < 18:
        return size
    with open(p, "rb") as fh:
        fh.seek(-4, os.SEEK_END)
        recorded = int.from_bytes(fh.read(4), "little")
    return recorded if recorded >= size else 10 * size


def estimate_fit_memory(events: int, *, decoded_bytes: int | None = None, items: int = 0,
                        neighbours: int = 100) -> MemoryEstimate:
    """The predicted peak memory of fitting an item-to-item model locally on ``events`` events
    (popularity models need less; the estimate is meant as an upper bound for every local fit)."""
    if events < 0:
        raise ConfigError(f"events must be >= 0, got {events}")
    basis = "decoded size from the file" if decoded_bytes is not None else "assumed decoded size"
    decoded = decoded_bytes if decoded_bytes is not None else DEFAULT_DECODED_BYTES_PER_EVENT * events
    peak = (BASE_BYTES + BYTES_PER_EVENT * events + int(DECODE_FACTOR * decoded)
            + BYTES_PER_NEIGHBOUR * items * neighbours)
    return MemoryEstimate(int(peak), int(events), int(decoded), basis)


def check_memory(estimate: MemoryEstimate, max_memory: int | str | None = None, *, what: str = "this fit") -> int:
    """Raise :class:`~discoverly.errors.ResourceLimitError` when ``estimate`` exceeds ``max_memory``
    (default: :func:`available_memory`); returns the limit that was applied."""
    if max_memory is not None:
        limit = parse_size(max_memory)
        source = f"the limit max_memory={_format(limit)}"
    else:
        found = available_memory()
        if found is None:
            return 0
        limit = found
        source = f"the {_format(limit)} this machine has available"
    if estimate.peak > limit:
        raise ResourceLimitError(
            f"{what} would need {estimate} locally, more than {source}. Nothing was allocated. Ways out: "
            "run it on Spark (discoverly fit --engine spark --master local[2], or a cluster's master URL), "
            "fit on a shorter window (--until), or raise the limit (--max-memory) on a larger machine")
    return limit
