"""The Python examples of docs/evaluation.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "evaluation.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"{DOC.name}[python block {index}]", "exec"), {"__name__": "__doc_example__"})
    assert capsys.readouterr().out.strip()


def keys_at(text: str, depth: int) -> list[str]:
    """The ``"key":`` names of a JSON-like sketch (with ``...`` placeholders) at one nesting depth."""
    level, out = 0, []
    for match in re.finditer(r'[{}\[\]]|"([^"]+)"\s*:', text):
        token = match.group(0)
        if token in "{[":
            level += 1
        elif token in "}]":
            level -= 1
        elif level == depth:
            out.append(match.group(1))
    return out


def test_the_json_example_has_the_keys_evaluate_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from discoverly.cli.app import main
    from discoverly.data import synthetic_store

    (sketch,) = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    monkeypatch.chdir(tmp_path)
    store = synthetic_store(n_customers=300, n_items=80, days=120, rng=0)
    store.interactions.to_polars().write_csv(tmp_path / "events.csv")
    capsys.readouterr()
    assert main(["evaluate", "--interactions", "events.csv", "--user", "user", "--item", "item", "--time", "timestamp",
                 "--models", "bestsellers,corrected", "--n-boot", "50", "--no-html", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(keys_at(sketch, 1)) == set(printed)
    model_sketch = sketch[sketch.index('"models"'):sketch.index('"primary"')]
    assert set(printed["models"][0]) | {"pooled"} == set(keys_at(model_sketch, 2))  # pooled: several cutoffs
