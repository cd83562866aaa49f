"""The local path's memory budget: sizes, the estimate, the refusal (no Spark needed)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from discoverly.engine.memory import (
    available_memory,
    check_memory,
    estimate_fit_memory,
    file_facts,
    parse_size,
    text_size,
)
from discoverly.errors import ConfigError, ResourceLimitError


@pytest.mark.parametrize(("text", "expected"), [("24GB", 24 * 2**30), ("512m", 512 * 2**20), ("1.5 GiB", 3 * 2**29),
                                                ("1000", 1000), (2048, 2048), ("2tb", 2 * 2**40)])
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["", "lots", "12 parsecs", "-3GB", 0, -1, "0MB"])
def test_parse_size_rejects_nonsense(bad: str | int) -> None:
    with pytest.raises(ConfigError, match="memory size"):
        parse_size(bad)


def test_estimate_grows_with_the_log() -> None:
    small, big = estimate_fit_memory(1_000_000), estimate_fit_memory(10_000_000)
    assert small.peak < big.peak
    # linear in the events: ten times the events add nine times the per-event part
    per_event = (big.peak - small.peak) / 9_000_000
    assert small.peak > 1_000_000 * per_event
    assert estimate_fit_memory(1_000_000, decoded_bytes=10**9).peak > small.peak
    assert estimate_fit_memory(1_000, items=100_000, neighbours=100).peak > estimate_fit_memory(1_000).peak
    assert "1,000,000 events" in str(small)
    with pytest.raises(ConfigError):
        estimate_fit_memory(-1)


def test_check_refuses_over_the_limit_and_names_the_way_out() -> None:
    est = estimate_fit_memory(50_000_000)
    with pytest.raises(ResourceLimitError) as info:
        check_memory(est, "2GB", what="fitting corrected")
    text = str(info.value)
    assert "fitting corrected" in text and "50,000,000 events" in text and "2.0 GiB" in text
    assert "--engine spark" in text and "Nothing was allocated" in text
    assert isinstance(info.value, MemoryError)
    assert check_memory(estimate_fit_memory(1_000), "64GB") == 64 * 2**30


def test_available_memory_is_plausible() -> None:
    found = available_memory()
    assert found is None or 0 < found < 2**50


def test_file_facts_read_the_parquet_footer(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pl.DataFrame({"user": list(range(1000)), "item": ["x"] * 1000}).write_parquet(path)
    rows, decoded = file_facts(path)
    assert rows == 1000 and decoded is not None and decoded > 0
    assert file_facts(tmp_path / "log.csv") == (None, None)


def test_fit_cli_refuses_before_reading(tmp_path: Path) -> None:
    from discoverly.cli.app import main

    path = tmp_path / "log.parquet"
    pl.DataFrame({"user": [1, 1, 2], "item": ["a", "b", "a"],
                  "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"]}).write_parquet(path)
    out = tmp_path / "model"
    code = main(["fit", "--interactions", str(path), "--model", "cosine", "--out", str(out), "--max-memory", "1MB"])
    assert code == 9
    assert not out.exists()
    assert main(["fit", "--interactions", str(path), "--model", "cosine", "--out", str(out),
                 "--max-memory", "64GB"]) == 0
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize("content", [b"", b"user,item,timestamp\na,x,2024-01-01\n"])
def test_file_facts_name_a_file_that_is_not_parquet(tmp_path: Path, content: bytes) -> None:
    """An empty file, or a CSV saved as .parquet: a DataError naming the file, not pyarrow's ArrowInvalid."""
    from discoverly.cli.app import main
    from discoverly.errors import DataError

    path = tmp_path / "log.parquet"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"cannot read the log file .*log\.parquet' as Parquet"):
        file_facts(path)
    assert main(["fit", "--interactions", str(path), "--model", "cosine", "--out", str(tmp_path / "m")]) == 3


def test_text_size_of_plain_and_gzip_files(tmp_path: Path) -> None:
    import gzip

    text = b"user,item,timestamp\n" + b"u1,a,2011-11-01\n" * 5000
    (tmp_path / "log.csv").write_bytes(text)
    (tmp_path / "log.csv.gz").write_bytes(gzip.compress(text))
    assert text_size(tmp_path / "log.csv") == len(text)
    assert (tmp_path / "log.csv.gz").stat().st_size < len(text) // 10
    assert text_size(tmp_path / "log.csv.gz") == len(text)  # the size the gzip trailer records
    # a trailer below the file's size (a text over 4 GiB, recorded modulo 2**32): ten times the file
    wrapped = gzip.compress(text)[:-4] + (7).to_bytes(4, "little")
    (tmp_path / "big.csv.gz").write_bytes(wrapped)
    assert text_size(tmp_path / "big.csv.gz") == 10 * len(wrapped)
