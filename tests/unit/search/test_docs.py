"""The Python examples in docs/search.md run, in the page's order, as a reader would run them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "search.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) == 3  # build and search; load with an encoder; train the classifier and rankers


@pytest.mark.slow
def test_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {"__name__": "__docs__"}
    exec(compile(BLOCKS[0], "docs/search.md example 1", "exec"), scope)
    out = capsys.readouterr().out
    assert "Whole Milk 0.5 GAL" in out and "'size': '0.5 gal'" in out  # the half gallon is understood
    engine = scope["engine"]
    engine.save("artifacts/search")  # type: ignore[attr-defined]  # the second example loads what the first built
    exec(compile(BLOCKS[1], "docs/search.md example 2", "exec"), scope)
    assert scope["enc"].active_backend in ("onnx", "torch")  # type: ignore[attr-defined]
    with caplog.at_level("WARNING", logger="discoverly.search.ranker"):
        exec(compile(BLOCKS[2], "docs/search.md example 3", "exec"), scope)
    assert "made no split" in caplog.text  # the page says a three-row log gives constant scores, and a warning
    loaded = scope["engine"]
    assert loaded.ranker is not None and loaded.classifier is not None  # type: ignore[attr-defined]
    assert loaded.search("milk", user="u1", k=2).to_polars()["item"].to_list() in (  # type: ignore[attr-defined]
        ["A1", "A2"], ["A2", "A1"])
