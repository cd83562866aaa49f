"""Every Python example in docs/privacy.md runs (against the public data)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "privacy.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index: int, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    exec(compile(BLOCKS[index], f"docs/privacy.md example {index + 1}", "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip()  # every example prints what it shows
