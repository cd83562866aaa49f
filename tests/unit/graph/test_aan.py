from __future__ import annotations

from pathlib import Path

import pytest

from discoverly.errors import DataError, DatasetNotFoundError
from discoverly.graph.aan import load_aan, parse_aan_citations, parse_aan_metadata

META = (
    "id = {P01-1001}\nauthor = {Pl&uuml;ss, Brian; Doe, Jane}\ntitle = {Parsing   Things}\nvenue = {ACL}\n"
    "year = {2001}\n\nid = {P02-1002}\nauthor = {Roe, Kim}\ntitle = {Let\ufffds Translate}\nvenue = {EMNLP}\n"
    "year = {2002}\n"
)


def test_metadata_records_are_parsed_and_repaired() -> None:
    frame = parse_aan_metadata(META)
    assert frame["id"].to_list() == ["P01-1001", "P02-1002"]
    assert frame["authors"].to_list()[0] == ["Plüss, Brian", "Doe, Jane"]
    assert frame["title"].to_list() == ["Parsing Things", "Let's Translate"]


def test_bad_lines_name_their_line_number() -> None:
    with pytest.raises(DataError, match="line 2"):
        parse_aan_metadata("id = {X}\nnonsense\n")
    with pytest.raises(DataError, match="line 1"):
        parse_aan_citations("A ; B\n")


def test_load_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "acl-metadata.txt").write_bytes(META.encode("utf-8") + b"\n")
    (tmp_path / "acl.txt").write_text("P02-1002 , P01-1001\nP02-1002 , X99-9999\nP02-1002 , P01-1001\n")
    papers = load_aan(tmp_path)
    assert len(papers) == 2
    src, dst = papers.citations()
    assert (src.tolist(), dst.tolist()) == ([1], [0])
    assert papers.row("P01-1001")["venue"] == "ACL"


def test_missing_folder_says_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"acl-metadata\.txt"):
        load_aan(tmp_path)
    monkeypatch.delenv("DISCOVERLY_DATA_DIR", raising=False)
    with pytest.raises(DatasetNotFoundError, match="DISCOVERLY_DATA_DIR"):
        load_aan()


@pytest.mark.data
def test_the_public_aan(shared_data: Path) -> None:
    papers = load_aan(shared_data / "papers" / "aan")
    assert len(papers) == 18_041
    src, _ = papers.citations()
    assert 80_000 < src.size < 83_000  # 82,937 lines with both ends known, less duplicates and self-citations
    assert papers.text_fields() == ["title"]
