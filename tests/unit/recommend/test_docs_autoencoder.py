"""The Python examples of docs/autoencoder.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "autoencoder.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"{DOC.name}[python block {index}]", "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    assert out.strip() and "False" not in out.splitlines()[-1]


@pytest.mark.data
def test_the_items_section_quotes_complete_journey_as_it_is(shared_data: Path) -> None:
    """'item number 3,000 has 59 buyers in the year out of 2,467 households (42–55 ... before the test
    cutoffs)': the distinct buyers of the 3,000th most bought item, as ``max_items`` ranks them."""
    import numpy as np

    from discoverly.data import load_dataset

    text = " ".join(DOC.read_text(encoding="utf-8").split())
    found = re.search(r"item number 3,000 has (\d+) buyers in the year out of ([\d,]+) households \((\d+)–(\d+)", text)
    assert found is not None
    log = load_dataset("complete-journey", shared_data).interactions
    before = [int(np.sort(log.before(c).item_counts())[::-1][2999]) for c in ("2017-09-01", "2017-11-01", "2017-12-01")]
    assert [int(found.group(1)), int(found.group(2).replace(",", "")), int(found.group(3)), int(found.group(4))] == [
        int(np.sort(log.item_counts())[::-1][2999]), log.n_users, min(before), max(before)]
