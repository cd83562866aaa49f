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


def test_titles_of_other_alphabets_match_only_themselves(tmp_path: Path) -> None:
    """Titles were normalised to [a-z0-9] words: every Chinese title became '', and a bibliography
    entry with any Chinese title (or only punctuation) was a citation of a Chinese-titled paper."""
    import json

    rows = [("c1", "新型冠状病毒肺炎的临床特征", "document_parses/pdf_json/c1.json"),
            ("c2", "COVID-19 in Wuhan", "document_parses/pdf_json/c2.json")]
    lines = [",".join(CORD19_COLUMNS)]
    for uid, title, parse in rows:
        values = {c: "" for c in CORD19_COLUMNS} | {"cord_uid": uid, "title": title, "publish_time": "2020",
                                                   "pdf_json_files": parse}
        lines.append(",".join(values[c] for c in CORD19_COLUMNS))
    (tmp_path / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "document_parses" / "pdf_json").mkdir(parents=True)
    bib = {"c2": {"b1": {"title": "武汉市新型冠状病毒的流行病学"}, "b2": {"title": "—"}},   # neither is c1
           "c1": {"b1": {"title": "Covid-19 in WUHAN!"}}}                               # c2, by its title
    for uid, entries in bib.items():
        (tmp_path / "document_parses" / "pdf_json" / f"{uid}.json").write_text(
            json.dumps({"paper_id": uid, "bib_entries": entries}), encoding="utf-8")
    papers = load_cord19(tmp_path / "metadata.csv")
    assert papers.row("c2")["references"] == []
    assert papers.row("c1")["references"] == ["c2"]
