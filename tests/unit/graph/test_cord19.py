from __future__ import annotations

from pathlib import Path

import pytest

from discoverly.errors import DataError, DatasetNotFoundError
from discoverly.graph.cord19 import CORD19_COLUMNS, load_cord19

FIXTURE = Path(__file__).parent / "data" / "cord19" / "metadata.csv"


def test_fixture_has_the_exact_public_schema() -> None:
    header = FIXTURE.read_text(encoding="utf-8").splitlines()[0]
    assert tuple(header.split(",")) == CORD19_COLUMNS


def test_metadata_and_document_parses() -> None:
    papers = load_cord19(FIXTURE)
    assert papers.table["id"].to_list() == ["ug7v899j", "02tnwd4m", "ejv2xln0", "2b73a28n"]  # duplicate row merged
    first = papers.row("ug7v899j")
    assert first["authors"] == ["Madani, Tariq A", "Al-Ghamdi, Aisha A"]
    assert first["affiliations"] == ["King Abdulaziz University", ""]  # the PMC parse comes first
    assert first["body"].startswith("Mycoplasma pneumoniae is a common cause")
    assert "PDF body text" not in first["body"]
    assert first["venue"] == "BMC Infect Dis" and first["year"] == 2001
    # references: by title (Surfactant...), by DOI case-insensitively (rr14), and from the second parse (endothelin)
    assert sorted(first["references"]) == ["02tnwd4m", "2b73a28n", "ejv2xln0"]
    # a self-reference by title is not a citation
    assert papers.row("02tnwd4m")["references"] == []
    assert papers.row("02tnwd4m")["affiliations"] == ["University of California, Davis", "",
                                                      "University of California, Davis"]
    merged = papers.row("ejv2xln0")
    assert merged["abstract"].startswith("Surfactant protein-D") and merged["venue"] == "Respir Res"
    src, _ = papers.citations()
    assert src.size == 3


def test_metadata_only() -> None:
    papers = load_cord19(FIXTURE, full_text=False)
    assert papers.row("ug7v899j")["body"] == "" and papers.row("ug7v899j")["references"] == []


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="metadata"):
        load_cord19(tmp_path / "metadata.csv")
    bad = tmp_path / "metadata.csv"
    bad.write_text("paper,title\n1,x\n")
    with pytest.raises(DataError, match=r"not a CORD-19 metadata\.csv"):
        load_cord19(bad)
