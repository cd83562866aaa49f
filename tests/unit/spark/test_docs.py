"""The Python examples in docs/spark.md run, in the page's order, on a small ``events.parquet``
with the page's column names (``customer``, ``sku``, ``ts``).

The page's relative paths are made absolute (into the test's folder): Spark resolves relative
paths against the directory its JVM started in, which is the session fixture's, not the test's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")]

DOC = Path(__file__).resolve().parents[3] / "docs" / "spark.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) == 4  # fit_spark; the jobs one by one; the memory check; the synthetic log


def write_events(path: Path, n: int = 4000) -> None:
    """Customers, SKUs (``85123A`` among them, the item the page asks about) and times in 2011."""
    rng = np.random.default_rng(0)
    sku = rng.integers(0, 60, n)
    start = np.datetime64("2011-01-01T00:00:00", "ms")
    pl.DataFrame({
        "customer": [f"C{u}" for u in rng.integers(0, 250, n)],
        "sku": ["85123A" if s == 0 else f"S{s}" for s in sku],
        "ts": start + (rng.integers(0, 330 * 86_400, n) * 1000).astype("timedelta64[ms]"),
    }).write_parquet(path)


def in_folder(block: str, folder: Path) -> str:
    """``block`` with its relative file names moved into ``folder``."""
    out = block
    for name in ('"events.parquet"', '"models/corrected"', '"/tmp/log_10M.parquet"'):
        out = out.replace(name, repr(str(folder / Path(name.strip('"')).name)))
    out = out.replace('f"related_{score}.parquet"', 'f"' + str(folder) + '/related_{score}.parquet"')
    assert out != block  # every example names a file
    return out


def test_examples_run(spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_events(tmp_path / "events.parquet")
    blocks = [in_folder(b, tmp_path) for b in BLOCKS]
    scope: dict[str, object] = {"__name__": "__docs__"}
    exec(compile(blocks[0], "docs/spark.md example 1", "exec"), scope)
    out = capsys.readouterr().out
    assert "85123A" in out and "related_item" in out
    assert scope["result"].counts["events"] == 4000  # type: ignore[attr-defined]
    exec(compile(blocks[1], "docs/spark.md example 2", "exec"), scope)
    assert {p.name for p in tmp_path.glob("related_*.parquet")} == {
        "related_cosine.parquet", "related_naive.parquet", "related_corrected.parquet"}
    assert scope["relatedness"] is not None
    exec(compile(blocks[2], "docs/spark.md example 3", "exec"), scope)  # 4,000 rows fit in 8 GB: no error
    target = tmp_path / "log_10M.parquet"
    assert str(target) in blocks[3]
    exec(compile(blocks[3], "docs/spark.md example 4", "exec"), scope)
    assert scope["frame"].height == 100_000  # type: ignore[attr-defined]
    assert pl.scan_parquet(target).select(pl.len()).collect().item() == 10_000_000
