from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from discoverly.errors import DataError, UnknownIdError
from discoverly.graph.papers import Papers, read_papers

from .conftest import tiny_records


def test_jsonl_csv_and_parquet_read_alike(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "title": "Alpha", "abstract": "x", "authors": [{"name": "Doe, J", "affiliation": "MIT"}],
         "venue": "ACL", "year": 2001, "references": ["b", "zzz"]},
        {"id": "b", "title": "Beta", "authors": ["Roe, K", "Poe, E"], "year": "1999", "references": []},
    ]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows))
    csv = tmp_path / "p.csv"
    csv.write_text("id,title,abstract,authors,affiliations,venue,year,references\n"
                   'a,Alpha,x,"Doe, J",MIT,ACL,2001,b;zzz\n'
                   'b,Beta,,"Roe, K; Poe, E",,,1999,\n')
    from_json = read_papers(jsonl)
    from_csv = read_papers(csv)
    read_papers(jsonl).table.write_parquet(tmp_path / "p.parquet")
    from_parquet = read_papers(tmp_path / "p.parquet")
    for p in (from_json, from_csv, from_parquet):
        assert p.table["id"].to_list() == ["a", "b"]
        assert p.row("a")["affiliations"] == ["MIT"]
        assert p.row("b")["year"] == 1999
        src, dst = p.citations()
        assert (src.tolist(), dst.tolist()) == ([0], [1])  # the reference to 'zzz' is outside the table
    assert from_csv.row("b")["authors"] == ["Roe, K", "Poe, E"]


def test_csv_ids_with_leading_zeros_keep_them(tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text("id,title,references\n0042,Alpha,42\n42,Beta,\n")  # two papers, not one id 42 twice
    papers = read_papers(csv)
    assert papers.table["id"].to_list() == ["0042", "42"]
    src, dst = papers.citations()
    assert (src.tolist(), dst.tolist()) == ([0], [1])
    one = read_papers(pl.DataFrame({"id": ["1", "42"], "title": ["A", "B"], "references": [42, None]}))
    assert one.row("1")["references"] == ["42"]  # a single numeric reference (was: 'int' object is not iterable)


def test_duplicate_and_missing_ids_are_clear_errors() -> None:
    with pytest.raises(DataError, match="unique"):
        read_papers(pl.DataFrame({"id": ["a", "a"], "title": ["x", "y"]}))
    with pytest.raises(DataError, match="non-empty id"):
        read_papers(pl.DataFrame({"id": ["a", ""], "title": ["x", "y"]}))
    with pytest.raises(DataError, match="the id column 'paper_id' is missing"):
        read_papers(pl.DataFrame({"id": ["a"], "title": ["x"]}), id="paper_id")
    with pytest.raises(DataError, match="year"):
        read_papers(pl.DataFrame({"id": ["a"], "title": ["x"], "year": ["soon"]}))


def test_affiliations_must_match_authors() -> None:
    with pytest.raises(DataError, match="affiliations"):
        read_papers(pl.DataFrame({"id": ["a"], "title": ["x"], "authors": ["A; B; C"], "affiliations": ["U1; U2"]}))


def test_self_citations_and_duplicates_are_dropped() -> None:
    p = Papers.from_records([{"id": "a", "title": "A", "references": ["a", "b", "b"]}, {"id": "b", "title": "B"}])
    src, dst = p.citations()
    assert list(zip(src.tolist(), dst.tolist(), strict=True)) == [(0, 1)]


def test_texts_fields_and_fingerprint() -> None:
    p = Papers.from_records(tiny_records(3))
    assert p.text_fields() == ["title", "abstract"]
    assert len(p.full_texts()) == len(p) == 6
    assert p.fingerprint() == Papers.from_records(tiny_records(3)).fingerprint()
    changed = tiny_records(3)
    changed[0]["title"] = "something else"
    assert Papers.from_records(changed).fingerprint() != p.fingerprint()
    with pytest.raises(UnknownIdError):
        p.row("nope")
    assert p.subset(["T1", "P0"]).table["id"].to_list() == ["T1", "P0"]


def test_list_columns_written_as_json_text_are_lists(tmp_path: Path) -> None:
    # a CSV exported with JSON lists, and a JSONL file whose authors/references are a list in some rows and
    # a string in others (polars reads such a column as text): each list was one name or one unknown reference
    csv = tmp_path / "p.csv"
    csv.write_text('id,title,authors,affiliations,references\n'
                   'a,Alpha,"[""Ann"", ""Bob""]","[""MIT"", null]","[""b""]"\n'
                   'b,Beta,"[""Bob""]",,[]\n')
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "title": "Alpha", "authors": [{"name": "Ann", "affiliation": "MIT"}, "Bob"], "references": ["b"]},
        {"id": "b", "title": "Beta", "authors": "Bob", "references": "c"},
        {"id": "c", "title": "Gamma", "authors": ["Cy"], "references": []},
    ]))
    from_csv, from_json = read_papers(csv), read_papers(jsonl)
    assert from_csv.row("a")["authors"] == ["Ann", "Bob"]
    assert from_csv.row("a")["affiliations"] == ["MIT", ""]
    assert from_csv.row("b")["references"] == []
    assert from_json.row("a")["authors"] == ["Ann", "Bob"]
    assert from_json.row("a")["affiliations"] == ["MIT", ""]
    assert from_json.row("b")["authors"] == ["Bob"]
    assert from_json.row("c")["authors"] == ["Cy"]
    assert [a.tolist() for a in from_csv.citations()] == [[0], [1]]
    assert [a.tolist() for a in from_json.citations()] == [[0, 1], [1, 2]]
    # not JSON: a ';'-separated name that happens to start with a bracket stays as given
    odd = read_papers(pl.DataFrame({"id": ["a"], "title": ["x"], "authors": ["[Anon]; Bob"]}))
    assert odd.row("a")["authors"] == ["[Anon]", "Bob"]


def test_an_empty_affiliation_keeps_its_place() -> None:
    # "MIT;" for two authors: the second author's affiliation is unknown, not MIT as well
    p = read_papers(pl.DataFrame({"id": ["a", "b"], "title": ["x", "y"], "authors": ["Ann; Bob", "Cy; Di"],
                                  "affiliations": ["MIT;", "ETH"]}))
    assert p.row("a")["affiliations"] == ["MIT", ""]
    assert p.row("b")["affiliations"] == ["ETH", "ETH"]  # one affiliation for all
    trailing = read_papers(pl.DataFrame({"id": ["a", "b"], "title": ["x", "y"], "authors": ["Ann; Bob", "Cy"],
                                         "affiliations": ["MIT;ETH;", "MIT;"]}))
    assert trailing.row("a")["affiliations"] == ["MIT", "ETH"] and trailing.row("b")["affiliations"] == ["MIT"]


def test_years_as_a_bibliography_writes_them() -> None:
    ys = ["2019a", "n.d.", "N.D.", "2019-05-03", "05/03/2019", "1850", 2001.0, None, ""]
    p = read_papers(pl.DataFrame({"id": [str(i) for i in range(len(ys))], "title": ["x"] * len(ys),
                                  "year": [str(y) if y is not None else None for y in ys]}))
    assert p.table["year"].to_list() == [2019, None, None, 2019, 2019, 1850, 2001, None, None]
    # no four-digit number: an error naming the paper, not the year 1234 (12345) or 19 (19)
    for value in ("12345", "19"):
        with pytest.raises(DataError, match=rf"'b': '{value}'.*four-digit"):
            read_papers(pl.DataFrame({"id": ["a", "b"], "title": ["x", "y"], "year": ["2000", value]}))


def test_references_that_name_no_paper_of_the_file_are_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # references as DOIs while the ids are the file's own: the graph had no citations, said only at INFO
    p = Papers.from_records([{"id": "1", "title": "A", "references": ["10.1/abc", "1"]},
                             {"id": "2", "title": "B", "references": ["10.1/xyz"]}])
    with caplog.at_level("WARNING", logger="discoverly.graph.papers"):
        src, _ = p.citations()
    assert src.size == 0
    assert "none of the 3 references names another paper of the table (e.g. '10.1/abc', '10.1/xyz')" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="discoverly.graph.papers"):
        Papers.from_records([{"id": "1", "title": "A", "references": ["2", "elsewhere"]},
                             {"id": "2", "title": "B"}]).citations()
    assert caplog.text == ""  # some references outside the file are usual


def test_columns_named_in_another_case_are_read(tmp_path: Path) -> None:
    # a spreadsheet's ID,Title,Abstract,...: with id="ID", title="Title" the other fields were silently empty,
    # and the references column, read as numbers, lost the leading zero of 0042
    csv = tmp_path / "p.csv"
    csv.write_text("ID,Title,Abstract,Authors,Year,References\n"
                   "0042,Parsing,We parse,Ann;Bob,2019,7\n"
                   "7,Translation,We translate,Bob,2020,0042\n")
    for papers in (read_papers(csv), read_papers(csv, id="ID", title="Title")):
        assert papers.row("0042") == {"id": "0042", "title": "Parsing", "abstract": "We parse", "body": "",
                                      "authors": ["Ann", "Bob"], "affiliations": ["", ""], "venue": "",
                                      "year": 2019, "references": ["7"]}
        assert [a.tolist() for a in papers.citations()] == [[0, 1], [1, 0]]
    both = pl.DataFrame({"id": ["a"], "title": ["x"], "Year": ["2001"], "YEAR": ["2002"]})
    assert read_papers(both).row("a")["year"] is None  # two candidates: neither is taken
    # a column named on purpose that is not there is an error, not a field silently left empty
    with pytest.raises(DataError, match=r"the year column 'Pub Yeer' is missing \(did you mean 'Pub Year'\?\)"):
        read_papers(pl.DataFrame({"id": ["a"], "title": ["x"], "Pub Year": [2001]}), year="Pub Yeer")
    assert read_papers(pl.DataFrame({"id": ["a"], "title": ["x"]}), year="Year").row("a")["year"] is None
