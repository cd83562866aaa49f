"""The export files of a tiny hand-made graph, byte for byte, written out by hand from the two formats'
documentation: Neptune's Gremlin load format (``~id,~label`` + ``name:Type`` columns; edges
``~id,~from,~to,~label``) and neo4j-admin import (``<name>:ID(<Group>)``, ``:LABEL``,
``:START_ID(<Group>),:END_ID(<Group>),:TYPE``, a blank field for a missing value)."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import pytest

from discoverly.errors import ConfigError
from discoverly.graph.build import KnowledgeGraph
from discoverly.graph.export import export_graph


@pytest.fixture
def graph() -> KnowledgeGraph:
    nodes = pl.DataFrame({"node": [0, 1, 2, 3], "kind": ["paper", "paper", "author", "research_area"],
                          "key": ["p1", "p2", "Ann", "ra1"],
                          "label": ["Parsing\nwith  trees", "Tagging", "Ann", "NLP, speech"]})
    # related_to runs author -> paper and paper -> research_area: two kind pairs, so two files (and the
    # pairs author -> research_area and paper -> paper in between have no edges)
    edges = pl.DataFrame({"src": [0, 1, 0, 2, 1], "dst": [2, 2, 1, 0, 3],
                          "relation": ["authored_by", "authored_by", "cites", "related_to", "related_to"]})
    papers = pl.DataFrame({"node": [0, 1], "id": ["p1", "p2"], "title": ["Parsing\nwith  trees", "Tagging"],
                           "abstract": ["", ""], "venue": ["ACL", None], "year": [2001, None]},
                          schema_overrides={"year": pl.Int32})
    return KnowledgeGraph(nodes, edges, papers)


def text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # line ends as written


def test_gremlin_files_byte_for_byte(tmp_path: Path, graph: KnowledgeGraph) -> None:
    files = export_graph(graph, tmp_path / "out", format="gremlin")
    assert files == [tmp_path / "out" / "vertices.csv", tmp_path / "out" / "edges.csv"]
    assert text(files[0]) == ("~id,~label,key:String,name:String,year:Int\n"
                              "paper:p1,paper,p1,Parsing with trees,2001\n"
                              "paper:p2,paper,p2,Tagging,\n"
                              "author:Ann,author,Ann,Ann,\n"
                              'research_area:ra1,research_area,ra1,"NLP, speech",\n')
    # edges in the graph's one order: by relation, then target, then source
    assert text(files[1]) == ("~id,~from,~to,~label\n"
                              "e0,paper:p1,author:Ann,authored_by\n"
                              "e1,paper:p2,author:Ann,authored_by\n"
                              "e2,paper:p1,paper:p2,cites\n"
                              "e3,author:Ann,paper:p1,related_to\n"
                              "e4,paper:p2,research_area:ra1,related_to\n")


def test_neo4j_files_byte_for_byte(tmp_path: Path, graph: KnowledgeGraph,
                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="discoverly.graph.export"):
        files = export_graph(graph, tmp_path / "out", format="neo4j")
    names = ["nodes_author.csv", "nodes_paper.csv", "nodes_research_area.csv", "rels_authored_by.csv",
             "rels_cites.csv", "rels_related_to_author_paper.csv", "rels_related_to_paper_research_area.csv",
             "import.sh"]
    folder = tmp_path / "out"
    assert files == [folder / n for n in names]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    assert caplog.messages == [f"exported 8 files (neo4j) to {folder}"]
    expected = {
        "nodes_author.csv": "authorId:ID(Author),name,:LABEL\nAnn,Ann,Author\n",
        "nodes_paper.csv": ("paperId:ID(Paper),name,year:int,venue,:LABEL\n"
                            "p1,Parsing with trees,2001,ACL,Paper\n"
                            "p2,Tagging,,,Paper\n"),
        "nodes_research_area.csv": 'research_areaId:ID(ResearchArea),name,:LABEL\nra1,"NLP, speech",ResearchArea\n',
        "rels_authored_by.csv": ":START_ID(Paper),:END_ID(Author),:TYPE\np1,Ann,AUTHORED_BY\np2,Ann,AUTHORED_BY\n",
        "rels_cites.csv": ":START_ID(Paper),:END_ID(Paper),:TYPE\np1,p2,CITES\n",
        "rels_related_to_author_paper.csv": ":START_ID(Author),:END_ID(Paper),:TYPE\nAnn,p1,RELATED_TO\n",
        "rels_related_to_paper_research_area.csv": (":START_ID(Paper),:END_ID(ResearchArea),:TYPE\n"
                                                    "p2,ra1,RELATED_TO\n"),
        "import.sh": ("#!/usr/bin/env bash\n"
                      "# Run from this folder with the Neo4j DBMS stopped; creates the database 'neo4j'.\n"
                      "set -euo pipefail\n"
                      "neo4j-admin database import full --nodes=nodes_author.csv --nodes=nodes_paper.csv "
                      "--nodes=nodes_research_area.csv --relationships=rels_authored_by.csv "
                      "--relationships=rels_cites.csv --relationships=rels_related_to_author_paper.csv "
                      "--relationships=rels_related_to_paper_research_area.csv --overwrite-destination=true neo4j\n"),
    }
    assert {n: text(folder / n) for n in names} == expected


def test_a_graph_without_papers(tmp_path: Path) -> None:
    """A product graph has no papers table: no years, and no year or venue columns in Neo4j. One
    relation from one kind to two kinds is two relationship files (each column one ID space)."""
    nodes = pl.DataFrame({"node": [0, 1, 2], "kind": ["product", "product_type", "brand"], "key": ["42", "t1", "b1"],
                          "label": ["Milk 2%", "Dairy", "Acme"]})
    graph = KnowledgeGraph(nodes, pl.DataFrame({"src": [0, 0], "dst": [1, 2], "relation": ["part_of", "part_of"]}))
    export_graph(graph, tmp_path / "g", format="gremlin")
    assert text(tmp_path / "g" / "vertices.csv") == ("~id,~label,key:String,name:String,year:Int\n"
                                                     "product:42,product,42,Milk 2%,\n"
                                                     "product_type:t1,product_type,t1,Dairy,\n"
                                                     "brand:b1,brand,b1,Acme,\n")
    assert text(tmp_path / "g" / "edges.csv") == ("~id,~from,~to,~label\n"
                                                  "e0,product:42,product_type:t1,part_of\n"
                                                  "e1,product:42,brand:b1,part_of\n")
    export_graph(graph, tmp_path / "g", format="neo4j")  # over the gremlin export: replaced
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == [
        "import.sh", "nodes_brand.csv", "nodes_product.csv", "nodes_product_type.csv",
        "rels_part_of_product_brand.csv", "rels_part_of_product_product_type.csv"]
    assert text(tmp_path / "g" / "nodes_product.csv") == "productId:ID(Product),name,:LABEL\n42,Milk 2%,Product\n"
    assert text(tmp_path / "g" / "rels_part_of_product_product_type.csv") == (
        ":START_ID(Product),:END_ID(ProductType),:TYPE\n42,t1,PART_OF\n")
    assert text(tmp_path / "g" / "rels_part_of_product_brand.csv") == (
        ":START_ID(Product),:END_ID(Brand),:TYPE\n42,b1,PART_OF\n")


def test_the_refusal_names_the_folder_and_at_most_five_files(tmp_path: Path, graph: KnowledgeGraph) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("a.csv", "b.csv", "c.csv", "d.csv", "nodes_e.txt"):  # a CSV of one's own is not an export's
        (folder / name).write_text("x")
    message = (f"cannot export to {str(folder)!r}: the folder holds other files (a.csv, b.csv, c.csv, d.csv, "
               "nodes_e.txt), and the export replaces the whole folder. Give a new folder, e.g. neptune-csv")
    with pytest.raises(ConfigError) as err:
        export_graph(graph, folder)
    assert str(err.value) == message
    (folder / "f.csv").write_text("x")
    with pytest.raises(ConfigError) as err:
        export_graph(graph, folder, format="neo4j")
    assert "(a.csv, b.csv, c.csv, d.csv, f.csv, ...)" in str(err.value)
    assert len(list(folder.iterdir())) == 6
    with pytest.raises(ConfigError) as err:
        export_graph(graph, folder / "a.csv")
    assert str(err.value) == f"cannot export to {str(folder / 'a.csv')!r}: it is a file; give the path of a new folder"
