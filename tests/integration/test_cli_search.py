"""``discoverly search evaluate --out``: the results file is checked before the evaluation and
written whole or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from discoverly.cli.app import main
from discoverly.errors import EXIT_CODES, ArtifactError


def _wands(root: Path) -> Path:
    root.mkdir()
    (root / "product.csv").write_text("product_id\tproduct_name\tproduct_class\tproduct_description\n"
                                      "1\tblue oak chair\tChairs\tsolid\n2\tred steel table\tTables\tsturdy\n"
                                      "3\toak desk\tDesks\twide\n")
    (root / "query.csv").write_text("query_id\tquery\tquery_class\n0\toak chair\tChairs\n1\tsteel table\tTables\n")
    (root / "label.csv").write_text("id\tquery_id\tproduct_id\tlabel\n0\t0\t1\tExact\n1\t0\t3\tPartial\n"
                                    "2\t1\t2\tExact\n")
    return root


def test_evaluate_out_is_checked_first_and_written_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    wands = _wands(tmp_path / "wands")
    run = ["search", "evaluate", "--wands", str(wands), "--no-dense", "--out"]
    # a folder: refused before the evaluation (it ran, then failed with a raw IsADirectoryError)
    folder = tmp_path / "results"
    folder.mkdir()
    assert main([*run, str(folder)]) == EXIT_CODES[ArtifactError]
    err = capsys.readouterr().err
    assert "it is a folder; name a file" in err and "Traceback" not in err
    # a folder that cannot be written to: refused before the evaluation too
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != folder and access(p, mode))
    assert main([*run, str(folder / "search.json")]) == EXIT_CODES[ArtifactError]
    assert "is not writable" in capsys.readouterr().err
    monkeypatch.undo()
    out = folder / "search.json"
    assert main([*run, str(out)]) == 0
    assert json.loads(out.read_text())["dataset"] == "wands"
    assert [p.name for p in folder.iterdir()] == ["search.json"]  # no temporary file left
