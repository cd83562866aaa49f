"""The Python examples of docs/data.md run as written (in order, in one namespace)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "data.md"


@pytest.mark.data
def test_docs_data_examples_run(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCOVERLY_DATA_DIR", str(shared_data))
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert "Interactions(5 events, 3 users, 3 items, 2024-01-01..2024-01-09)" in out
    assert "['Toy Story (1995)', 'Star Wars (1977)']" in out
    assert "'yesterday', 'soon'" in out
