from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

from discoverly.errors import ConfigError
from discoverly.graph.build import build_paper_graph
from discoverly.graph.export import export_graph
from discoverly.graph.papers import Papers


@pytest.fixture
def graph():  # type: ignore[no-untyped-def]
    papers = Papers.from_records([
        {"id": "p1", "title": "Parsing, \"quoted\"", "authors": [{"name": "Ann", "affiliation": "MIT"}],
         "venue": "ACL", "year": 2001, "references": ["p2"]},
        {"id": "p2", "title": "Tagging", "authors": ["Bob"], "year": 1999},
    ])
    return build_paper_graph(papers, concepts=[["parsing"], []], topics=[["syntax"], ["syntax"]])


def rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_gremlin_csv_as_neptune_loads_it(tmp_path: Path, graph) -> None:  # type: ignore[no-untyped-def]
    files = export_graph(graph, tmp_path / "neptune", format="gremlin")
    assert [f.name for f in files] == ["vertices.csv", "edges.csv"]
    v = rows(tmp_path / "neptune" / "vertices.csv")
    assert v[0] == ["~id", "~label", "key:String", "name:String", "year:Int"]
    assert ["paper:p1", "paper", "p1", 'Parsing, "quoted"', "2001"] in v
    assert ["author:Ann", "author", "Ann", "Ann", ""] in v
    e = rows(tmp_path / "neptune" / "edges.csv")
    assert e[0] == ["~id", "~from", "~to", "~label"]
    assert any(r[1:] == ["paper:p1", "paper:p2", "cites"] for r in e[1:])
    assert any(r[1:] == ["author:Ann", "institution:MIT", "affiliated_with"] for r in e[1:])
    assert len({r[0] for r in e[1:]}) == len(e) - 1  # edge ids unique
    assert (tmp_path / "neptune" / "vertices.csv").read_text(encoding="utf-8").count('"Parsing, ""quoted"""') == 1


def test_neo4j_admin_import_headers(tmp_path: Path, graph) -> None:  # type: ignore[no-untyped-def]
    export_graph(graph, tmp_path / "neo4j", format="neo4j")
    folder = tmp_path / "neo4j"
    assert rows(folder / "nodes_paper.csv")[0] == ["paperId:ID(Paper)", "name", "year:int", "venue", ":LABEL"]
    assert rows(folder / "nodes_paper.csv")[1] == ["p1", 'Parsing, "quoted"', "2001", "ACL", "Paper"]
    assert rows(folder / "nodes_author.csv")[0] == ["authorId:ID(Author)", "name", ":LABEL"]
    assert rows(folder / "rels_authored_by.csv")[0] == [":START_ID(Paper)", ":END_ID(Author)", ":TYPE"]
    assert ["p1", "p2", "CITES"] in rows(folder / "rels_cites.csv")
    assert rows(folder / "rels_affiliated_with.csv")[1] == ["Ann", "MIT", "AFFILIATED_WITH"]
    script = (folder / "import.sh").read_text()
    assert "neo4j-admin database import full" in script
    assert "--nodes=nodes_paper.csv" in script and "--relationships=rels_cites.csv" in script


def test_titles_with_line_breaks_are_one_line(tmp_path: Path) -> None:
    """A title copied from a PDF ("Parsing\nwith treebanks") made a field spanning two lines, which
    neo4j-admin import refuses without --multiline-fields."""
    papers = Papers.from_records([{"id": "p1", "title": "Parsing\r\nwith  treebanks", "venue": "ACL\n2001"},
                                  {"id": "p2", "title": "深度学习 🚀", "references": ["p1"]}])
    graph = build_paper_graph(papers)
    for fmt, name in (("gremlin", "vertices.csv"), ("neo4j", "nodes_paper.csv")):
        export_graph(graph, tmp_path / fmt, format=fmt)
        text = (tmp_path / fmt / name).read_text(encoding="utf-8")
        assert "Parsing with treebanks" in text and "深度学习 🚀" in text
        assert len(text.splitlines()) == len(rows(tmp_path / fmt / name))  # every record on one line
    assert ["p1", "Parsing with treebanks", "", "ACL 2001", "Paper"] in rows(tmp_path / "neo4j" / "nodes_paper.csv")


def test_unknown_format_and_overwrite(tmp_path: Path, graph) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="gremlin"):
        export_graph(graph, tmp_path / "x", format="graphml")
    export_graph(graph, tmp_path / "x", format="neo4j")
    export_graph(graph, tmp_path / "x", format="gremlin")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["edges.csv", "vertices.csv"]


def test_never_replaces_a_file_or_a_folder_of_other_things(tmp_path: Path, graph) -> None:  # type: ignore[no-untyped-def]
    # `discoverly graph export . -g aan-graph` or the graph folder itself: refused, nothing deleted
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    (folder / "graph.sqlite").write_text("store")
    with pytest.raises(ConfigError, match="other files"):
        export_graph(graph, folder)
    assert (folder / "notes.txt").read_text() == "keep me" and (folder / "graph.sqlite").is_file()
    data = tmp_path / "papers.csv"
    data.write_text("id,title\n")
    with pytest.raises(ConfigError, match="is a file"):
        export_graph(graph, data)
    assert data.read_text() == "id,title\n"
    (tmp_path / "empty").mkdir()
    assert len(export_graph(graph, tmp_path / "empty", format="neo4j")) > 2


def test_a_key_with_a_line_break_keeps_it_and_import_sh_reads_multiline_fields(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Keys are ids and are written as they are; a paper id with a line break is a quoted field over two
    lines, which neo4j-admin refuses unless import.sh passes --multiline-fields=true (it did not)."""
    papers = Papers.from_records([{"id": "p\n1", "title": "Parsing"}, {"id": "p2", "title": "Tagging",
                                                                      "references": ["p\n1"]}])
    with caplog.at_level(logging.WARNING, logger="discoverly.graph.export"):
        export_graph(build_paper_graph(papers), tmp_path / "neo4j", format="neo4j")
    assert caplog.messages == ["1 node key(s) hold a line break, e.g. 'p\\n1'; import.sh passes "
                               "--multiline-fields=true (slower import)"]
    assert ["p\n1", "Parsing", "", "", "Paper"] in rows(tmp_path / "neo4j" / "nodes_paper.csv")
    assert ["p2", "p\n1", "CITES"] in rows(tmp_path / "neo4j" / "rels_cites.csv")
    script = (tmp_path / "neo4j" / "import.sh").read_text(encoding="utf-8")
    assert script.endswith(" --multiline-fields=true --overwrite-destination=true neo4j\n")
    # one-line keys: no flag (the import is faster without it) and no warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="discoverly.graph.export"):
        export_graph(build_paper_graph(Papers.from_records([{"id": "p1", "title": "Parsing"}])),
                     tmp_path / "plain", format="neo4j")
    assert caplog.messages == []
    assert "--multiline-fields" not in (tmp_path / "plain" / "import.sh").read_text(encoding="utf-8")
