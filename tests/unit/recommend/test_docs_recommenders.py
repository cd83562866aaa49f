"""The Python examples of docs/recommenders.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "recommenders.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"{DOC.name}[python block {index}]", "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    assert out.strip() and "False" not in out.splitlines()[-1]


def test_the_quick_start_asks_for_customers_the_log_knows(capsys: pytest.CaptureFixture[str]) -> None:
    # it asked for customers 0 and 1 of a store whose ids start at 10000: every list was the fallback
    exec(compile(BLOCKS[0], f"{DOC.name}[python block 0]", "exec"), {"__name__": "__doc_example__"})
    assert "[False, False, True]" in capsys.readouterr().out


def test_the_worked_example_prints_the_figures_its_comments_give(capsys: pytest.CaptureFixture[str]) -> None:
    (block,) = [b for b in BLOCKS if "expected_cooccurrence" in b]
    exec(compile(block, f"{DOC.name}[worked example]", "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    assert "1.467" in block and out.startswith("[1.467]")  # E_AB = 0.3 + 0.51 + 0.657 = 1.467
