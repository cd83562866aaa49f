"""The README's Python example runs on a ``purchases.csv`` with the columns it names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(BLOCKS) == 1
    rng = np.random.default_rng(0)
    n = 3000
    pl.DataFrame({  # the ids the example asks about, C-42 and SKU-123, among 200 customers and 50 SKUs
        "customer_id": [f"C-{u + 42}" for u in rng.integers(0, 200, n)],
        "sku": [f"SKU-{s + 123}" for s in rng.integers(0, 50, n)],
        "ordered_at": [f"2024-{m:02d}-{d:02d}"
                       for m, d in zip(rng.integers(1, 7, n), rng.integers(1, 29, n), strict=True)],
    }).write_csv(tmp_path / "purchases.csv")
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {"__name__": "__docs__"}
    exec(compile(BLOCKS[0], "README.md example", "exec"), scope)
    model = scope["model"]
    related = model.related(["SKU-123"], k=10).to_polars()  # type: ignore[attr-defined]
    assert related.height == 10 and not related["fallback"].any()
    assert model.recommend(["C-42"], k=6).to_polars().height == 6  # type: ignore[attr-defined]
    assert (tmp_path / "artifacts" / "corrected" / "manifest.json").is_file()
