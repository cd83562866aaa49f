"""The local path's memory budget pinned to hand-worked values: the estimate's formula term by term,
sizes in and out (their unit boundaries), what /proc/meminfo and the cgroup files give, the decoded
width of a Parquet schema, a gzip trailer at the edges, and the refusal in full (mutation testing:
these survived test_memory.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from discoverly.engine import memory
from discoverly.engine.memory import (
    MemoryEstimate,
    check_memory,
    estimate_fit_memory,
    file_facts,
    parse_size,
    text_size,
)
from discoverly.errors import ConfigError, DataError, ResourceLimitError

MiB, GiB, TiB = 2**20, 2**30, 2**40
BASE = 400 * MiB  # the interpreter and libraries; then 100 bytes per event, the decoded log once, 40 per neighbour


# -- the estimate ----------------------------------------------------------------------------------------

def test_the_estimate_term_by_term() -> None:
    # 1,000 events, columns unknown: 44 decoded bytes an event (user, item, time, quantity)
    assert estimate_fit_memory(1_000) == MemoryEstimate(BASE + 100 * 1_000 + 44 * 1_000, 1_000, 44_000,
                                                        "assumed decoded size")
    assert estimate_fit_memory(1_000, decoded_bytes=7) == MemoryEstimate(BASE + 100_000 + 7, 1_000, 7,
                                                                         "decoded size from the file")
    # the related-items matrices: 40 bytes per item and kept neighbour (100 by default, no items by default)
    assert estimate_fit_memory(10, decoded_bytes=0, items=3).peak == BASE + 1_000 + 40 * 3 * 100
    assert estimate_fit_memory(10, decoded_bytes=0, items=3, neighbours=7).peak == BASE + 1_000 + 40 * 3 * 7
    assert estimate_fit_memory(0) == MemoryEstimate(BASE, 0, 0, "assumed decoded size")  # an empty log is no error
    with pytest.raises(ConfigError) as err:
        estimate_fit_memory(-1)
    assert str(err.value) == "events must be >= 0, got -1"


@pytest.mark.parametrize(("peak", "shown"), [
    (TiB, "1.0 TiB"), (TiB - 1, "1024.0 GiB"), (3 * TiB // 2, "1.5 TiB"),
    (GiB, "1.0 GiB"), (GiB - 1, "1024.0 MiB"), (5 * GiB // 2, "2.5 GiB"),
    (MiB, "1.0 MiB"), (MiB - 1, "1024 KiB"), (3 * MiB // 2, "1.5 MiB"), (10 * 1024, "10 KiB"),
])
def test_sizes_are_shown_in_the_largest_binary_unit(peak: int, shown: str) -> None:
    assert str(MemoryEstimate(peak, 1_234, 0, "a basis")) == f"~{shown} for 1,234 events (a basis)"


# -- sizes -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (1, 1), ("1", 1), ("1b", 1), (2.7, 2), (1e20, 10**20), ("3k", 3 * 1024), ("2 MiB", 2 * MiB), ("0.5t", TiB // 2),
])
def test_parse_size_of_the_smallest_and_fractional_sizes(value: int | float | str, expected: int) -> None:
    assert parse_size(value) == expected


def test_parse_size_refuses_a_boolean_and_a_size_below_a_byte() -> None:
    with pytest.raises(ConfigError) as err:
        parse_size(True)  # a bool is not a number of bytes (True would be 1)
    assert str(err.value) == "cannot read the memory size True; write it like '24GB', '512MB' or '1.5GiB'"
    with pytest.raises(ConfigError) as err:
        parse_size("0.5")  # half a byte rounds to none
    assert str(err.value) == "a memory size must be positive, got '0.5'"
    with pytest.raises(ConfigError) as err:
        parse_size(0)
    assert str(err.value) == "a memory size must be positive, got 0"


# -- what the machine has available ----------------------------------------------------------------------

class _Files:
    """A stand-in for pathlib.Path reading a fixed set of files (others are missing)."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.read: list[str] = []

    def __call__(self, name: str) -> _Files._One:
        return _Files._One(self, name)

    class _One:
        def __init__(self, owner: _Files, name: str) -> None:
            self.owner, self.name = owner, name

        def read_text(self) -> str:
            self.owner.read.append(self.name)
            if self.name not in self.owner.files:
                raise FileNotFoundError(self.name)
            return self.owner.files[self.name]


MEMINFO = "MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    2000000 kB\nCached: 5 kB\n"
V2 = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current")
V1 = ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")


def _available(monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> tuple[int | None, list[str]]:
    fake = _Files(files)
    monkeypatch.setattr(memory, "Path", fake)
    return memory.available_memory(), fake.read


@pytest.mark.parametrize(("files", "expected"), [
    ({}, None),                                                           # nothing readable: unknown
    ({"/proc/meminfo": MEMINFO}, 2_000_000 * 1024),                       # MemAvailable, in KiB
    ({"/proc/meminfo": "MemTotal: 5 kB\n"}, None),                        # no MemAvailable line
    ({V2[0]: "5000000\n", V2[1]: "1000000\n"}, 4_000_000),                # the container's limit minus its usage
    ({"/proc/meminfo": MEMINFO, V2[0]: "5000000", V2[1]: "1000000"}, 4_000_000),          # the smaller of the two
    ({"/proc/meminfo": "MemAvailable: 3 kB\n", V2[0]: "5000000", V2[1]: "1000000"}, 3 * 1024),
    ({V2[0]: "max\n", V2[1]: "1000", V1[0]: "9000", V1[1]: "1000"}, 8_000),  # no v2 limit: the v1 files
    ({V1[0]: "9000", V1[1]: "1000"}, 8_000),                              # v1 only (no v2 files)
    ({V2[0]: "oops", V1[0]: "9000", V1[1]: "1000"}, 8_000),               # an unreadable v2 limit
    ({V2[0]: str(2**60), V2[1]: "0", V1[0]: "9000", V1[1]: "1000"}, 8_000),  # 2**60 and above: unlimited
    ({V2[0]: str(2**60 - 1), V2[1]: "1"}, 2**60 - 2),
    ({V2[0]: "5000000", V2[1]: "1000000", V1[0]: "9000", V1[1]: "1000"}, 4_000_000),  # v2 found: v1 not read
])
def test_available_memory_from_meminfo_and_cgroups(monkeypatch: pytest.MonkeyPatch, files: dict[str, str],
                                                   expected: int | None) -> None:
    found, read = _available(monkeypatch, files)
    assert found == expected
    assert read[0] == "/proc/meminfo"
    if V2[0] in files and files[V2[0]].strip().isdigit() and int(files[V2[0]]) < 2**60:
        assert V1[0] not in read


# -- Parquet and text files ------------------------------------------------------------------------------

def test_file_facts_counts_each_column_at_its_width(tmp_path: Path) -> None:
    table = pa.table({"i64": pa.array([1, 2, 3], pa.int64()), "i32": pa.array([1, 2, 3], pa.int32()),
                      "f64": pa.array([1.0, 2.0, 3.0]), "s": ["a", "b", "c"],
                      "ls": pa.array(["a", "b", "c"], pa.large_string()), "bin": pa.array([b"a", b"b", b"c"]),
                      "list": pa.array([[1], [2], [3]]), "flag": [True, False, True]})
    for name in ("log.parquet", "log.PQ"):
        pq.write_table(table, tmp_path / name)
        # 8 + 4 + 8 bytes, 24 a string (large or not), 48 other variable-width values, 1 bit rounds down to 0
        assert file_facts(tmp_path / name) == (3, 3 * (8 + 4 + 8 + 24 + 24 + 48 + 48 + 0))


def test_file_facts_message_of_a_csv_named_parquet(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    path.write_bytes(b"user,item,timestamp\na,x,2024-01-01\n")
    with pytest.raises(DataError) as err:
        file_facts(path)
    assert str(err.value) == (  # pyarrow's sentence without its full stop, then ours
        f"cannot read the log file {str(path)!r} as Parquet: Parquet magic bytes not found in footer. Either the "
        "file is corrupted or this is not a parquet file. Give a Parquet file (or name a CSV file .csv)")


@pytest.mark.parametrize(("size", "recorded", "expected"), [
    (18, 1_000, 1_000),   # the smallest gzip file (header and trailer): its trailer is read
    (18, 18, 18),         # a recorded size equal to the file's is taken as it is
    (18, 17, 180),        # below the file's: wrapped modulo 4 GiB, ten times the file
    (17, 1_000, 17),      # too short to be gzip: its size
])
def test_text_size_at_the_gzip_edges(tmp_path: Path, size: int, recorded: int, expected: int) -> None:
    path = tmp_path / "log.csv.gz"
    path.write_bytes(b"\x1f\x8b" + b"\0" * (size - 6) + recorded.to_bytes(4, "little"))
    assert text_size(path) == expected
    (tmp_path / "log.csv").write_bytes(path.read_bytes())
    assert text_size(tmp_path / "log.csv") == size  # not gzip by its name: its size


# -- the check -------------------------------------------------------------------------------------------

def test_check_against_what_the_machine_has(monkeypatch: pytest.MonkeyPatch) -> None:
    est = MemoryEstimate(GiB, 1_000, 44_000, "assumed decoded size")
    monkeypatch.setattr(memory, "available_memory", lambda: None)
    assert check_memory(est) == 0  # unknown: no check, 0 for "no limit applied"
    monkeypatch.setattr(memory, "available_memory", lambda: GiB)
    assert check_memory(est) == GiB  # exactly the peak fits
    monkeypatch.setattr(memory, "available_memory", lambda: GiB - 1)
    with pytest.raises(ResourceLimitError) as err:
        check_memory(est)
    assert str(err.value) == (
        "this fit would need ~1.0 GiB for 1,000 events (assumed decoded size) locally, more than the 1024.0 MiB "
        "this machine has available. Nothing was allocated. Ways out: run it on Spark (discoverly fit --engine "
        "spark --master local[2], or a cluster's master URL), fit on a shorter window (--until), or raise the "
        "limit (--max-memory) on a larger machine")
    assert check_memory(est, GiB) == GiB and check_memory(est, "1GiB") == GiB  # a given limit: no look-up
    with pytest.raises(ResourceLimitError, match=r"^this fit would need .* than the limit max_memory=1024\.0 MiB\."):
        check_memory(est, GiB - 1)
