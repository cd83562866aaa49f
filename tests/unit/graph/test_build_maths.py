"""The knowledge graph's nodes and edges, written out by hand from the module docstring.

Paper nodes first in table order, then every other node in the order it is first met (authors and
their institutions paper by paper, venues, concepts, topics); names with their whitespace collapsed;
one edge per (src, dst, relation), sorted by relation, dst, src.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest

from discoverly.errors import DataError, UnknownIdError
from discoverly.graph.build import GraphBuilder, KnowledgeGraph, build_paper_graph
from discoverly.graph.concepts import ConceptExtractor
from discoverly.graph.papers import Papers
from discoverly.graph.topics import TopicModel


@pytest.fixture
def papers() -> Papers:
    return Papers.from_records([
        {"id": "p1", "title": "Parsing  text", "abstract": "abs", "venue": " ACL  2001", "year": 2001,
         "authors": [{"name": " Ann  Lee ", "affiliation": "MIT  CSAIL"}, {"name": "Bob", "affiliation": ""}],
         "references": ["p2", "x9"]},                       # x9 is outside the table
        {"id": "p2", "title": "", "authors": ["Ann Lee"], "venue": "", "references": []},
        {"id": "p3", "title": "T3", "authors": [], "venue": "ACL 2001", "references": ["p1", "p2", "p1"]},
    ])


CONCEPTS = [["parsing"], [], ["parsing", "trees"]]
TOPICS = [["syn"], ["syn"], ["sem"]]

NODES = [(0, "paper", "p1", "Parsing  text"), (1, "paper", "p2", "p2"), (2, "paper", "p3", "T3"),
         (3, "author", "Ann Lee", "Ann Lee"), (4, "institution", "MIT CSAIL", "MIT CSAIL"),
         (5, "author", "Bob", "Bob"), (6, "venue", "ACL 2001", "ACL 2001"),
         (7, "concept", "parsing", "parsing"), (8, "concept", "trees", "trees"),
         (9, "topic", "syn", "syn"), (10, "topic", "sem", "sem")]

EDGES = {("authored_by", 0, 3), ("authored_by", 0, 5), ("authored_by", 1, 3),
         ("affiliated_with", 3, 4),
         ("published_in", 0, 6), ("published_in", 2, 6),
         ("associated_concept", 0, 7), ("associated_concept", 2, 7), ("associated_concept", 2, 8),
         ("associated_topic", 0, 9), ("associated_topic", 1, 9), ("associated_topic", 2, 10),
         ("cites", 0, 1), ("cites", 2, 0), ("cites", 2, 1)}


def _edges(graph: KnowledgeGraph) -> list[tuple[str, int, int]]:
    return [(r, s, d) for s, d, r in graph.edges.iter_rows()]


def test_paper_graph_by_hand(papers: Papers) -> None:
    g = build_paper_graph(papers, concepts=CONCEPTS, topics=TOPICS)
    assert g.nodes.rows() == NODES
    got = _edges(g)
    assert set(got) == EDGES and len(got) == len(EDGES)
    assert got == sorted(EDGES, key=lambda e: (e[0], e[2], e[1]))  # by relation, then dst, then src
    assert g.nodes.schema == pl.Schema({"node": pl.Int64, "kind": pl.String, "key": pl.String, "label": pl.String})
    assert g.edges.schema == pl.Schema({"src": pl.Int64, "dst": pl.Int64, "relation": pl.String})
    assert g.papers is not None
    assert g.papers.columns == ["node", "id", "title", "abstract", "venue", "year"]
    assert g.papers.rows() == [(0, "p1", "Parsing  text", "abs", "ACL  2001", 2001), (1, "p2", "", "", "", None),
                               (2, "p3", "T3", "", "ACL 2001", None)]
    assert g.papers.schema["node"] == pl.Int64
    assert repr(g) == ("KnowledgeGraph(nodes={'author': 2, 'concept': 2, 'institution': 1, 'paper': 3, 'topic': 2, "
                       "'venue': 1}, edges={'affiliated_with': 1, 'associated_concept': 3, 'associated_topic': 3, "
                       "'authored_by': 3, 'cites': 3, 'published_in': 2})")
    assert g.n_nodes == 11
    assert g.relations == sorted({r for r, _, _ in EDGES})
    assert g.nodes_of("author").tolist() == [3, 5]
    assert g.nodes_of("paper").tolist() == [0, 1, 2]
    assert g.nodes_of("nothing").tolist() == []
    assert g.keys([6, 0, 4]) == ["ACL 2001", "p1", "MIT CSAIL"]
    assert g.node("author", "Ann Lee") == 3 and g.node("topic", "sem") == 10
    hidden = g.without_edges("cites", [2], [0])
    assert hidden.papers is not None and hidden.papers.equals(g.papers)  # the papers table stays
    assert ("cites", 2, 0) not in _edges(hidden) and len(_edges(hidden)) == len(EDGES) - 1


def test_without_venues_or_tags(papers: Papers) -> None:
    g = build_paper_graph(papers, venues=False)
    assert g.nodes.rows() == NODES[:6]
    assert set(_edges(g)) == {e for e in EDGES if e[0] in ("authored_by", "affiliated_with", "cites")}


def test_an_author_with_two_affiliations_and_one_for_all_authors() -> None:
    p = Papers.from_records([
        {"id": "a", "title": "A", "authors": ["Ann", "Bob"], "affiliations": "MIT"},  # one for all
        {"id": "b", "title": "B", "authors": [{"name": "Ann", "affiliation": "CMU"}]},
    ])
    g = build_paper_graph(p)
    assert g.nodes.rows() == [(0, "paper", "a", "A"), (1, "paper", "b", "B"), (2, "author", "Ann", "Ann"),
                              (3, "institution", "MIT", "MIT"), (4, "author", "Bob", "Bob"),
                              (5, "institution", "CMU", "CMU")]
    assert set(_edges(g)) == {("authored_by", 0, 2), ("authored_by", 0, 4), ("authored_by", 1, 2),
                              ("affiliated_with", 2, 3), ("affiliated_with", 4, 3), ("affiliated_with", 2, 5)}


def test_authors_beyond_their_affiliations_stay_in_the_graph() -> None:
    # a table built directly with fewer affiliations than authors: Bob and Cy were left out (zip stopped short)
    table = pl.DataFrame({"id": ["a", "b"], "title": ["A", "B"], "authors": [["Ann", "Bob", "Cy"], ["Di"]],
                          "affiliations": [["MIT"], ["ETH", "extra"]]})
    g = build_paper_graph(Papers(table.with_columns(
        *(pl.lit(None, pl.String).alias(c) for c in ("abstract", "body", "venue")),
        pl.lit(None, pl.Int64).alias("year"), pl.lit([], pl.List(pl.String)).alias("references"))))
    assert [k for _, kind, k, _ in g.nodes.rows() if kind == "author"] == ["Ann", "Bob", "Cy", "Di"]
    authored = {(s, d) for r, s, d in _edges(g) if r == "authored_by"}
    assert len(authored) == 4
    affiliated = [(g.keys([s])[0], g.keys([d])[0]) for r, s, d in _edges(g) if r == "affiliated_with"]
    assert sorted(affiliated) == [("Ann", "MIT"), ("Di", "ETH")]  # an affiliation without its author is not a node


@pytest.mark.parametrize("given", [["parsing", "", "trees"], "parsing", [["parsing"], [], "trees"]])
def test_a_string_instead_of_a_list_per_paper_is_refused(papers: Papers, given: object) -> None:
    """["parsing", "", "trees"] was read letter by letter: concepts 'p', 'a', 'r', 's', 'i', 'n', 'g', ..."""
    for kind in ("concepts", "topics"):
        with pytest.raises(DataError, match=rf"^{kind} must be one list of {kind} per paper, got the text "
                                            r"'(parsing|trees)' \(it would be read letter by letter\)"):
            build_paper_graph(papers, **{kind: given})  # type: ignore[arg-type]


def test_one_list_per_paper(papers: Papers) -> None:
    with pytest.raises(DataError, match=r"^2 concept lists for 3 papers; give one list per paper$"):
        build_paper_graph(papers, concepts=[["a"], ["b"]])
    with pytest.raises(DataError, match=r"^4 topic lists for 3 papers; give one list per paper$"):
        build_paper_graph(papers, topics=[[], [], [], []])
    g = build_paper_graph(papers, concepts=[("a", "a"), (), ("b",)])  # tuples; a repeated tag is one edge
    assert set(_edges(g.without_edges("cites", [], []))) >= {("associated_concept", 0, 7),
                                                                ("associated_concept", 2, 8)}
    assert g.edges.filter(pl.col("relation") == "associated_concept").height == 2


class _Concepts(ConceptExtractor):
    """Records which of fit_transform / transform the build called."""

    def __init__(self, fitted: bool) -> None:
        super().__init__()
        self.vocabulary = ["x"] if fitted else []
        self.calls: list[str] = []

    def fit_transform(self, texts: Sequence[str]) -> list[list[str]]:
        self.calls.append("fit_transform")
        return [["fit"] for _ in texts]

    def transform(self, texts: Sequence[str]) -> list[list[str]]:
        self.calls.append("transform")
        return [["x"] if "Parsing" in t else [] for t in texts]


class _Topics(TopicModel):
    def __init__(self, fitted: bool) -> None:
        super().__init__(n_topics=2)
        self.labels = ["t"] if fitted else []
        self.calls: list[str] = []

    def fit(self, texts: Sequence[str]) -> TopicModel:
        self.calls.append("fit")
        assert texts[0] == "Parsing  text. abs. "  # fitted on the papers' full texts
        self.labels = ["t"]
        return self

    def assign(self, texts: Sequence[str]) -> list[list[str]]:
        self.calls.append("assign")
        return [["t"] for _ in texts]


def test_models_are_fitted_only_when_they_are_not_yet(papers: Papers) -> None:
    texts = papers.full_texts()
    assert texts[0] == "Parsing  text. abs. "
    for fitted, concept_calls, topic_calls in ((True, ["transform"], ["assign"]),
                                               (False, ["fit_transform"], ["fit", "assign"])):
        c, t = _Concepts(fitted), _Topics(fitted)
        g = build_paper_graph(papers, concepts=c, topics=t)
        assert (c.calls, t.calls) == (concept_calls, topic_calls)
        concepts = g.edges.filter(pl.col("relation") == "associated_concept")
        if fitted:
            assert g.keys(concepts["dst"].to_numpy()) == ["x"] and concepts["src"].to_list() == [0]
        else:
            assert g.keys(concepts["dst"].to_numpy()) == ["fit"] * 3
        assert g.edges.filter(pl.col("relation") == "associated_topic").height == 3


def test_builder_labels_ids_and_edge_lists() -> None:
    b = GraphBuilder()
    assert b.add_node("paper", "x", "The X paper") == 0
    assert b.add_node("paper", "x", "another label") == 0  # the first label stays
    assert b.add_node("author", "x") == 1  # same key, other kind: another node
    with pytest.raises(DataError, match=r"^cites: 2 sources but 1 targets$"):
        b.add_edges("cites", [0, 1], [1])
    b.add_edges("cites", iter([0, 0]), iter([1, 1]))  # iterables; a repeated edge is one edge
    b.add_edges("about", [1], [0])
    g = b.graph()
    assert g.nodes.rows() == [(0, "paper", "x", "The X paper"), (1, "author", "x", "x")]
    assert _edges(g) == [("about", 1, 0), ("cites", 0, 1)]
    h, r, t, names = g.triples()
    assert (h.tolist(), r.tolist(), t.tolist(), names) == ([1, 0], [0, 1], [0, 1], ["about", "cites"])
    # hiding edges of one relation leaves the same pair under another relation
    b.add_edges("about", [0], [1])
    g2 = b.graph()
    hidden = g2.without_edges("cites", np.array([0]), np.array([1]))
    assert _edges(hidden) == [("about", 1, 0), ("about", 0, 1)]
    assert hidden.papers is None and hidden.nodes.equals(g2.nodes)
    with pytest.raises(UnknownIdError, match=r"^the graph has no author node 'y'$"):
        g.node("author", "y")


def test_graph_tables_are_checked() -> None:
    nodes = pl.DataFrame({"node": [0, 1, 2], "kind": ["paper", "paper", "author"], "key": ["a", "b", "a"],
                          "label": ["A", "B", "a"]})
    ok = pl.DataFrame({"src": [0], "dst": [2], "relation": ["authored_by"]})
    assert KnowledgeGraph(nodes, ok).n_nodes == 3
    # other column types and extra columns: the graph keeps its four columns, typed
    odd = nodes.with_columns(pl.col("node").cast(pl.Int32), extra=pl.lit(1))
    kept = KnowledgeGraph(odd, ok.with_columns(pl.col("src").cast(pl.Int16), note=pl.lit("x")))
    assert kept.nodes.equals(nodes) and kept.edges.equals(ok)
    with pytest.raises(DataError, match=r"^graph nodes must be numbered 0\.\.n-1 in order$"):
        KnowledgeGraph(nodes.with_columns(node=pl.Series([0, 2, 1])), ok)
    with pytest.raises(DataError, match=r"^graph nodes must be numbered 0\.\.n-1 in order$"):
        KnowledgeGraph(nodes.with_columns(node=pl.Series([1, 2, 3])), ok)
    with pytest.raises(DataError, match=r"^graph nodes must have unique \(kind, key\) pairs$"):
        KnowledgeGraph(nodes.with_columns(kind=pl.Series(["paper", "paper", "paper"])), ok)
    for src, dst in ((-1, 0), (0, -1), (3, 0), (0, 3)):
        with pytest.raises(DataError, match=r"^graph edges refer to node numbers outside the node table$"):
            KnowledgeGraph(nodes, pl.DataFrame({"src": [0, src], "dst": [1, dst], "relation": ["r", "r"]}))
    # the last node is a valid end; no edges at all is a graph
    assert KnowledgeGraph(nodes, pl.DataFrame({"src": [2], "dst": [2], "relation": ["r"]})).edges.height == 1
    empty = KnowledgeGraph(nodes, pl.DataFrame(schema={"src": pl.Int64, "dst": pl.Int64, "relation": pl.String}))
    assert empty.relations == [] and repr(empty) == "KnowledgeGraph(nodes={'author': 1, 'paper': 2}, edges={})"


def test_the_build_logs_what_it_built(papers: Papers, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="discoverly.graph.build"):
        build_paper_graph(papers, venues=False)
    assert [r.getMessage() for r in caplog.records if r.name == "discoverly.graph.build"] == [
        "built KnowledgeGraph(nodes={'author': 2, 'institution': 1, 'paper': 3}, "
        "edges={'affiliated_with': 1, 'authored_by': 3, 'cites': 3})"]
