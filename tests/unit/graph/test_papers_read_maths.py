"""Reading the fields of a papers table, checked against values written out by hand from the module docstring
of discoverly.graph.papers: references given as numbers (one per row, the column float where one is missing,
as pandas writes it), lists with blanks, authors and affiliations in their forms, and column names."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from discoverly.errors import DataError, UnknownIdError
from discoverly.graph.papers import Papers, is_papers_table, read_papers


def test_numeric_references_with_a_gap_are_the_ids_they_name(tmp_path: Path) -> None:
    # one reference per row as a number, one row without: pandas (and a Parquet or JSONL file it writes) makes the
    # column float, 42.0, which named no paper ('42.0' != '42'): the graph had no citations
    frame = pd.DataFrame({"id": [1, 42, 7], "title": ["A", "B", "C"], "references": [42, None, 1]})
    frame.to_parquet(tmp_path / "p.parquet")
    frame.to_json(tmp_path / "p.jsonl", orient="records", lines=True)
    for source in (frame, tmp_path / "p.parquet", tmp_path / "p.jsonl"):
        papers = read_papers(source)
        assert papers.table["references"].to_list() == [["42"], [], ["1"]]
        assert [a.tolist() for a in papers.citations()] == [[0, 2], [1, 0]]
    # a number that is not a whole one stays as written; NaN is no reference
    odd = Papers.from_records([{"id": "a", "title": "x", "references": 2.5},
                               {"id": "b", "title": "y", "references": float("nan")}])
    assert odd.table["references"].to_list() == [["2.5"], []]


def test_reference_lists_drop_blanks_and_surrounding_spaces() -> None:
    p = read_papers(pl.DataFrame({"id": ["a", "b", "c"], "title": ["x", "y", "z"],
                                  "references": [[" b ", None, "", "  ", "c"], None, []]}))
    assert p.table["references"].to_list() == [["b", "c"], [], []]
    p = read_papers(pl.DataFrame({"id": ["a", "b"], "title": ["x", "y"], "references": [" b ; ;c;", ""]}))
    assert p.table["references"].to_list() == [["b", "c"], []]


def test_authors_in_every_form_with_their_affiliations() -> None:
    records = [
        # objects: a missing or null affiliation is "", a nameless author is left out with their affiliation
        {"id": "a", "title": "x", "authors": [{"name": " Ann ", "affiliation": " MIT "}, {"name": "Bob"},
                                               {"name": None, "affiliation": "ETH"},
                                               {"name": "Cy", "affiliation": None}]},
        # plain names: blanks are left out, no affiliation is known
        {"id": "b", "title": "y", "authors": ["Di", "", None, " Ed "]},
        # a ';'-separated string with one affiliation for all
        {"id": "c", "title": "z", "authors": "Fay; Gus ;", "affiliations": "UCL"},
        # affiliations one per author override the objects' own
        {"id": "d", "title": "w", "authors": [{"name": "Hal", "affiliation": "MIT"}, "Ida"],
         "affiliations": ["Oxford", "Cambridge"]},
        {"id": "e", "title": "v"},
    ]
    p = Papers.from_records(records)
    assert p.table["authors"].to_list() == [["Ann", "Bob", "Cy"], ["Di", "Ed"], ["Fay", "Gus"], ["Hal", "Ida"], []]
    assert p.table["affiliations"].to_list() == [["MIT", "", ""], ["", ""], ["UCL", "UCL"], ["Oxford", "Cambridge"],
                                                 []]


def test_affiliations_that_fit_neither_rule_name_the_authors() -> None:
    with pytest.raises(DataError, match=r"^authors \['A', 'B', 'C'\] have 2 affiliations; give one per author or "
                                        r"one for all$"):
        read_papers(pl.DataFrame({"id": ["a"], "title": ["x"], "authors": ["A; B; C"], "affiliations": ["U1; U2"]}))
    # one affiliation too many is an error unless the extra one is the empty one after a trailing ';'
    with pytest.raises(DataError, match="have 3 affiliations"):
        read_papers(pl.DataFrame({"id": ["a"], "title": ["x"], "authors": ["A; B"], "affiliations": ["U1; U2; U3"]}))


def test_the_table_counts_and_joins_as_documented() -> None:
    p = Papers.from_records([{"id": "a", "title": "T", "abstract": "A", "body": "B", "references": ["b", "zzz", "b"]},
                             {"id": "b", "title": "U", "references": "a; c"}])
    assert repr(p) == "Papers(2 papers, 5 references)"  # references as given, before they become citations
    assert p.full_texts()[0] == "T. A. B"  # title, abstract and body joined
    assert p.texts("body") == ["B", ""] and p.texts("title") == ["T", "U"]
    assert "a" in p and "zzz" not in p
    with pytest.raises(DataError, match=r"^unknown text field 'venue'; expected one of "
                                        r"\('title', 'abstract', 'body'\)$"):
        p.texts("venue")
    with pytest.raises(DataError, match=r"^paper ids must be unique; 2 rows share an id, e.g. \['a'\]\. "):
        Papers.from_records([{"id": "a", "title": "x"}, {"id": "b", "title": "y"}, {"id": "a", "title": "z"}])
    with pytest.raises(DataError, match=r"^no paper records given$"):
        Papers.from_records([])


def test_the_fingerprint_follows_ids_texts_and_references_only() -> None:
    base = [{"id": "a", "title": "T", "abstract": "A", "body": "B", "authors": ["Ann"], "venue": "ACL", "year": 2001,
             "references": ["b"]}, {"id": "b", "title": "U"}]

    def changed(**fields: object) -> str:
        records = [dict(base[0], **fields), base[1]]
        return Papers.from_records(records).fingerprint()

    same = Papers.from_records(base).fingerprint()
    for fields in ({"id": "c"}, {"title": "T2"}, {"abstract": "A2"}, {"body": "B2"}, {"references": ["b", "c"]}):
        assert changed(**fields) != same, fields
    for fields in ({"authors": ["Bob"]}, {"venue": "EMNLP"}, {"year": 2002}):
        assert changed(**fields) == same, fields
    assert Papers.from_records(base[:1]).fingerprint() != same
    # which paper has which text: two titles swapped gave the same fingerprint (hashes summed column by column)
    swapped = [dict(base[0], title="U"), dict(base[1], title="T")]
    assert Papers.from_records(swapped).fingerprint() != same
    # the order of the rows numbers the graph's nodes
    assert Papers.from_records(base[::-1]).fingerprint() != same
    # references ["b", "c"] and ["b;c"] are not the same
    assert changed(references=["b;c"]) != changed(references=["b", "c"])


def test_citation_logs_count_and_show_the_references_outside(caplog: pytest.LogCaptureFixture) -> None:
    p = Papers.from_records([{"id": "a", "title": "x", "references": ["b", "zzz"]},
                             {"id": "b", "title": "y", "references": ["a"]}, {"id": "c", "title": "z"}])
    with caplog.at_level("INFO", logger="discoverly.graph.papers"):
        p.citations()
    # 'zzz' only: the citations of a (the first paper) and b are in the table, a paper without references has none
    assert caplog.messages == ["1 references name papers outside the table and are not citation edges"]
    caplog.clear()
    none = Papers.from_records([{"id": "a", "title": "x", "references": ["r1", "r2", "r3", "r4"]}])
    with caplog.at_level("WARNING", logger="discoverly.graph.papers"):
        src, dst = none.citations()
    assert caplog.messages == ["none of the 4 references names another paper of the table (e.g. 'r1', 'r2', 'r3'): "
                               "references are matched to the paper ids, so the graph has no citations"]
    assert src.shape == dst.shape == (0,)


def test_json_text_and_odd_author_cells() -> None:
    p = read_papers(pl.DataFrame({"id": ["a", "b"], "title": ["x", "y"],
                                  "authors": [' ["Ann", "Bob"]', "Cy"], "references": [' ["b"]', None]}))
    assert p.row("a")["authors"] == ["Ann", "Bob"] and p.row("a")["references"] == ["b"]  # a space before the [
    p = Papers.from_records([
        # JSON objects as text (a JSONL column mixing objects and names), one with a space before the {
        {"id": "a", "title": "x", "authors": [' {"name": "Ann", "affiliation": "MIT"}', "{Anon}", "Bob"]},
        # an empty affiliations cell leaves the objects' own
        {"id": "b", "title": "y", "authors": [{"name": "Cy", "affiliation": "ETH"}], "affiliations": "  "},
    ])
    assert p.row("a")["authors"] == ["Ann", "{Anon}", "Bob"] and p.row("a")["affiliations"] == ["MIT", "", ""]
    assert p.row("b")["affiliations"] == ["ETH"]


def test_a_field_given_as_none_is_left_empty_even_when_its_column_is_there() -> None:
    frame = pl.DataFrame({"id": ["a"], "title": ["x"], "abstract": ["An abstract"], "year": ["2001"]})
    p = read_papers(frame, abstract=None, year=None)
    assert p.row("a")["abstract"] == "" and p.row("a")["year"] is None
    assert read_papers(frame).row("a")["abstract"] == "An abstract"


def test_messages_say_what_was_given_and_what_to_do(tmp_path: Path) -> None:
    def message(call: Callable[[], object]) -> str:
        with pytest.raises(DataError) as err:
            call()
        return str(err.value)

    missing = tmp_path / "nope.csv"
    assert message(lambda: read_papers(missing)) == f"papers file '{missing}' does not exist"
    assert message(lambda: read_papers(pl.DataFrame({"id": ["a"], "x": ["x"]}), title="name")) == (
        "papers: the title column 'name' is missing. Columns present: id, x. Name it with title=... "
        "(CLI: --title-column)")
    assert message(lambda: read_papers(pl.DataFrame({"id": ["a"], "title": ["x"], "Pub Year": [2001]}),
                                       year="Pub Yeer")) == (
        "papers: the year column 'Pub Yeer' is missing (did you mean 'Pub Year'?). Columns present: id, title, "
        "Pub Year. Give each field's column by its name in the file (e.g. year=..., CLI: --year-column), or leave "
        "the field out")
    assert message(lambda: read_papers(pl.DataFrame({"id": list("abcd"), "title": ["x"] * 4,
                                                     "year": ["soon", "19", "x", "2001"]}))) == (
        "papers: cannot read the year of 3 paper(s) ('a': 'soon', 'b': '19', 'c': 'x'): a year is a four-digit "
        "number such as 2019 (2019a and 2019-05-03 are read as 2019); give one or leave it empty (or 'n.d.') when "
        "it is not known")
    assert message(lambda: read_papers(pl.DataFrame({"id": list("abcde"), "title": ["x"] * 5,
                                                     "year": ["soon"] * 5}))).startswith(
        "papers: cannot read the year of 5 paper(s) ('a': 'soon', 'b': 'soon', 'c': 'soon'): ")
    assert message(lambda: read_papers(pl.DataFrame({"id": ["a", None], "title": ["x", "y"]}))) == (
        "every paper needs a non-empty id; some ids are null or empty")
    table = read_papers(pl.DataFrame({"id": ["a"], "title": ["x"]})).table
    assert message(lambda: Papers(table.head(0))) == "the papers table is empty: it has no rows"
    assert message(lambda: Papers(table.drop("venue", "year"))) == (
        "a papers table needs the columns ['id', 'title', 'abstract', 'body', 'authors', 'affiliations', 'venue', "
        "'year', 'references']; missing ['venue', 'year']. Build it with read_papers(), which fills absent optional "
        "columns")
    p = Papers(table)
    with pytest.raises(UnknownIdError, match=r"^unknown paper id 'nope'; the table has 1 papers$"):
        p.row("nope")
    with pytest.raises(UnknownIdError, match=r"^unknown paper 'nope'"):
        p.subset(["nope"])


def test_venue_and_texts_of_a_table_built_directly() -> None:
    p = read_papers(pl.DataFrame({"id": ["a", "b"], "title": ["x", "y"], "venue": [" ACL ", None]}))
    assert p.table["venue"].to_list() == ["ACL", ""]
    # a table built directly may hold nulls: they read as "" (a one-letter abstract is still a text)
    table = p.table.with_columns(pl.Series("title", ["T", None]), pl.Series("abstract", [None, "A"]),
                                 pl.Series("body", [None, None], dtype=pl.String))
    direct = Papers(table)
    assert direct.texts("title") == ["T", ""] and direct.texts("body") == ["", ""]
    assert direct.text_fields() == ["title", "abstract"]
    assert direct.full_texts() == ["T. . ", ". A. "]


def test_records_read_every_row_for_the_columns() -> None:
    # the venue of the 101st record only: the columns' types were inferred from the first 100 rows
    records = [{"id": str(i), "title": "x"} for i in range(100)] + [{"id": "100", "title": "y", "venue": "ACL",
                                                                     "year": 2001}]
    p = Papers.from_records(records)
    assert p.row("100")["venue"] == "ACL" and p.row("100")["year"] == 2001


def test_is_papers_table_tells_a_written_table_from_a_users_file(tmp_path: Path) -> None:
    p = read_papers(pl.DataFrame({"id": ["a"], "title": ["x"]}))
    p.table.write_parquet(tmp_path / "table.parquet")
    pl.DataFrame({"id": ["a"], "title": ["x"]}).write_parquet(tmp_path / "mine.parquet")
    (tmp_path / "not.parquet").write_text("id,title\n")
    assert is_papers_table(tmp_path / "table.parquet")
    assert not is_papers_table(tmp_path / "mine.parquet")
    assert not is_papers_table(tmp_path / "not.parquet") and not is_papers_table(tmp_path / "absent.parquet")


def test_duplicate_ids_show_five_of_them_and_what_to_do() -> None:
    ids = list("abcdef") * 2 + ["g"]
    with pytest.raises(DataError) as err:
        read_papers(pl.DataFrame({"id": ids, "title": ["x"] * len(ids)}))
    head, shown, tail = re.fullmatch(r"(.*, e\.g\. )\[(.*)\](\..*)", str(err.value)).groups()  # type: ignore[union-attr]
    assert head == "paper ids must be unique; 12 rows share an id, e.g. "
    assert tail == ". Deduplicate the input first"
    assert len(set(shown.split(", "))) == 5 and set(shown.split(", ")) < {repr(c) for c in "abcdef"}


def test_records_with_a_lone_surrogate_are_read_with_a_replacement_character(caplog: pytest.LogCaptureFixture) -> None:
    # text decoded with json.loads from "\ud83d" (half an emoji) was a raw UnicodeEncodeError from polars
    records = [{"id": "a", "title": "smile \ud83d", "authors": ["Zo\udce9"], "references": ["b"]},
               {"id": "b", "title": "pair \ud83d\ude00 kept", "abstract": None}]
    with caplog.at_level("WARNING", logger="discoverly.graph.papers"):
        p = Papers.from_records(records)
    assert "lone surrogate" in caplog.text
    assert p.row("a")["title"] == "smile \ufffd" and p.row("a")["authors"] == ["Zo\ufffd"]
    assert p.row("b")["title"] == "pair \U0001f600 kept"  # a surrogate pair is the character it encodes
    assert p.citations()[0].tolist() == [0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="discoverly.graph.papers"):
        Papers.from_records([{"id": "a", "title": "plain \U0001f600"}])
    assert caplog.text == ""
