"""The self-contained Python examples of docs/graph.md run as written (in order, one namespace);
the Complete Journey example needs the public data and minutes of training and is run by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "graph.md"


@pytest.mark.slow
def test_docs_graph_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sentence_transformers")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
              if "load_dataset" not in b]
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert "['p1', 'p2']" in out
    assert "['p1', 'p2']" in out.split("\n")[2]
    assert (tmp_path / "tiny-graph" / "similar" / "manifest.json").exists()
