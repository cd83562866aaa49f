"""The librarian's queries on a five-paper literature whose answers are counted by hand.

    a -> c          b -> c, a        d -> c, b, a        e -> b
    cited by:  c 3 (a, b, d)   a 2 (b, d)   b 2 (d, e)   d 0   e 0
    topics:    a syn   b syn   c syn, sem   d sem   e -
    concepts:  a x     b x, y  c y          d x, y  e z
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from discoverly.errors import UnknownIdError
from discoverly.graph.build import GraphBuilder, KnowledgeGraph, build_paper_graph
from discoverly.graph.papers import Papers
from discoverly.graph.query import GraphQuery
from discoverly.graph.store import GraphStore, write_store

REFS = {"a": ["c"], "b": ["c", "a"], "c": [], "d": ["c", "b", "a"], "e": ["b"]}
TOPICS = [["syn"], ["syn"], ["syn", "sem"], ["sem"], []]
CONCEPTS = [["x"], ["x", "y"], ["y"], ["x", "y"], ["z"]]


@pytest.fixture
def q(tmp_path: Path) -> GraphQuery:
    papers = Papers.from_records([
        {"id": pid, "title": f"Title {pid.upper()}", "abstract": f"about {pid}", "venue": "ACL" if pid < "d" else "",
         "year": 2000 + i, "authors": ["Ann", "Joanna"] if pid == "b" else ["Ann Lee"], "references": refs}
        for i, (pid, refs) in enumerate(REFS.items())])
    graph = build_paper_graph(papers, concepts=CONCEPTS, topics=TOPICS)
    return GraphQuery(GraphStore(write_store(graph, tmp_path / "g.sqlite")))


def _pairs(frame: pl.DataFrame, count: str = "citations") -> list[tuple[str, int]]:
    return list(zip(frame["id"].to_list(), frame[count].to_list(), strict=True))


def test_citation_counts(q: GraphQuery) -> None:
    everything = q.citation_counts()
    assert everything.columns == ["id", "title", "year", "citations"]
    assert everything.rows() == [("c", "Title C", 2002, 3), ("a", "Title A", 2000, 2), ("b", "Title B", 2001, 2)]
    assert _pairs(q.citation_counts(k=2)) == [("c", 3), ("a", 2)]
    assert len(q.citation_counts(k=None)) == 3
    # only citing papers on the topic / with the concept count
    assert _pairs(q.citation_counts(topic="syn")) == [("c", 2), ("a", 1)]       # a, b cite; c cites nothing
    assert _pairs(q.citation_counts(topic="sem")) == [("a", 1), ("b", 1), ("c", 1)]  # d only
    assert _pairs(q.citation_counts(concept="y")) == [("a", 2), ("c", 2), ("b", 1)]  # b and d cite
    assert _pairs(q.citation_counts(topic="sem", concept="x")) == [("a", 1), ("b", 1), ("c", 1)]
    assert _pairs(q.citation_counts(topic="syn", concept="z")) == []


def test_top_cited(q: GraphQuery) -> None:
    assert _pairs(q.top_cited(["x"])) == [("a", 2), ("b", 2), ("d", 0)]
    assert q.top_cited(["x"]).columns == ["id", "title", "year", "citations"]
    assert _pairs(q.top_cited(["x", "y"])) == [("b", 2), ("d", 0)]
    assert _pairs(q.top_cited(["y", "x"], k=1)) == [("b", 2)]
    assert _pairs(q.top_cited([], topic="sem")) == [("c", 3), ("d", 0)]
    assert _pairs(q.top_cited(["x"], topic="syn")) == [("a", 2), ("b", 2)]
    assert _pairs(q.top_cited(["z"], topic="syn")) == []


def test_top_cited_of_one_concept_given_as_a_string(tmp_path: Path) -> None:
    """top_cited("machine translation") looked up the concepts 'm', 'a', 'c', ... and said there was
    no concept 'm' (a one-letter concept name would have been answered silently for each letter)."""
    papers = Papers.from_records([{"id": "a", "title": "A", "references": ["b"]}, {"id": "b", "title": "B"},
                                  {"id": "c", "title": "C", "references": ["b"]}])
    graph = build_paper_graph(papers, concepts=[["machine translation"], ["machine translation"], ["m"]])
    qq = GraphQuery(GraphStore(write_store(graph, tmp_path / "s.sqlite")))
    assert _pairs(qq.top_cited("machine translation")) == [("b", 2), ("a", 0)]
    assert _pairs(qq.top_cited("m")) == _pairs(qq.top_cited(["m"])) == [("c", 0)]


def test_topics_and_concepts_with_their_paper_counts(q: GraphQuery) -> None:
    assert q.topics().rows() == [("syn", 3), ("sem", 2)]
    assert q.topics().columns == ["topic", "papers"]
    assert q.concepts().rows() == [("x", 3), ("y", 3), ("z", 1)]  # ties by name
    assert q.concepts(k=2).rows() == [("x", 3), ("y", 3)]
    assert q.concepts().columns == ["concept", "papers"]


def test_a_topic_without_papers_counts_zero(tmp_path: Path) -> None:
    b = GraphBuilder()
    p = b.add_node("paper", "p")
    used, unused = b.add_node("topic", "used"), b.add_node("topic", "unused")
    b.add_edges("associated_topic", [p], [used])
    papers = pl.DataFrame({"node": [0], "id": ["p"], "title": ["P"], "abstract": [""], "venue": [""], "year": [None]})
    g = b.graph(papers)
    assert unused == 2
    qq = GraphQuery(GraphStore(write_store(g, tmp_path / "t.sqlite")))
    assert qq.topics().rows() == [("used", 1), ("unused", 0)]


def test_paper_attributes_and_counts_both_ways(q: GraphQuery) -> None:
    assert q.paper("b") == {"node": 1, "id": "b", "title": "Title B", "abstract": "about b", "venue": "ACL",
                            "year": 2001, "cited_by": 2, "references": 2}
    assert q.paper("e")["cited_by"] == 0 and q.paper("e")["references"] == 1
    with pytest.raises(UnknownIdError, match=r"^unknown paper id 'zz'$"):
        q.paper("zz")


def test_neighbours_in_order(q: GraphQuery) -> None:
    nb = q.neighbours("paper", "b")
    assert nb.columns == ["direction", "relation", "kind", "key", "label"]
    assert [tuple(r[:4]) for r in nb.rows()] == [
        ("out", "associated_concept", "concept", "x"), ("out", "associated_concept", "concept", "y"),
        ("out", "associated_topic", "topic", "syn"),
        ("out", "authored_by", "author", "Ann"), ("out", "authored_by", "author", "Joanna"),
        ("out", "cites", "paper", "a"), ("out", "cites", "paper", "c"),
        ("out", "published_in", "venue", "ACL"),
        ("in", "cites", "paper", "d"), ("in", "cites", "paper", "e")]
    assert nb.filter(pl.col("key") == "a")["label"].to_list() == ["Title A"]
    assert q.neighbours("paper", "b", direction="in")["key"].to_list() == ["d", "e"]
    assert q.neighbours("paper", "b", relation="cites")["key"].to_list() == ["a", "c", "d", "e"]
    assert q.neighbours("paper", "b", relation="cites", direction="in")["key"].to_list() == ["d", "e"]
    assert q.neighbours("paper", "b", relation="cites", direction="out")["key"].to_list() == ["a", "c"]
    assert q.neighbours("paper", "b", limit=3)["key"].to_list() == ["x", "y", "syn"]
    assert q.neighbours("topic", "sem", direction="in")["key"].to_list() == ["c", "d"]
    assert q.neighbours("topic", "sem", direction="out").height == 0


def test_unknown_names_and_what_is_suggested(q: GraphQuery) -> None:
    assert q.node("paper", "c") == 2
    with pytest.raises(UnknownIdError, match=r"^the graph has no topic 'sy'; did you mean 'syn'\?$"):
        q.node("topic", "sy")
    # near names: the shortest three that contain it
    with pytest.raises(UnknownIdError, match=r"^the graph has no author 'n'; did you mean 'Ann', 'Joanna', "
                                             r"'Ann Lee'\?$"):
        q.node("author", "n")
    # no near name: an author is not listed, a concept or topic shows the ones with most papers
    with pytest.raises(UnknownIdError, match=r"^the graph has no author 'zz'$"):
        q.node("author", "zz")
    with pytest.raises(UnknownIdError, match=r"^the graph has no concept 'q'; its concepts with most papers are "
                                             r"'x', 'y', 'z' \(all of them: discoverly graph rank --concepts\)$"):
        q.top_cited(["q"])


def test_suggestions_show_ten_names_and_say_when_there_are_none(tmp_path: Path) -> None:
    b = GraphBuilder()
    papers = [b.add_node("paper", f"p{i}") for i in range(12)]
    # topic t{j} has 12 - j papers: t0 most
    for j in range(11):
        t = b.add_node("topic", f"t{j:02d}")
        b.add_edges("associated_topic", papers[: 12 - j], [t] * (12 - j))
    frame = pl.DataFrame({"node": range(12), "id": [f"p{i}" for i in range(12)], "title": [""] * 12,
                          "abstract": [""] * 12, "venue": [""] * 12, "year": [None] * 12})
    g: KnowledgeGraph = b.graph(frame)
    qq = GraphQuery(GraphStore(write_store(g, tmp_path / "s.sqlite")))
    names = ", ".join(f"'t{j:02d}'" for j in range(10))
    with pytest.raises(UnknownIdError) as many:
        qq.node("topic", "nlp")
    assert str(many.value) == (f"the graph has no topic 'nlp'; its topics with most papers are {names}, ... "
                               "(all of them: discoverly graph rank --topics)")
    with pytest.raises(UnknownIdError) as none:
        qq.node("concept", "nlp")
    assert str(none.value) == "the graph has no concept 'nlp'; it has no concepts"


def test_wrong_arguments_say_what_was_given(q: GraphQuery) -> None:
    from discoverly.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^give at least one concept \(or a topic\) to rank papers about$"):
        q.top_cited([])
    with pytest.raises(ConfigError, match=r"^direction must be one of \('out', 'in', 'both'\), got 'sideways'$"):
        q.neighbours("paper", "b", direction="sideways")
    with pytest.raises(ConfigError, match=r"^limit must be a whole number of at least 1, or None for every "
                                          r"neighbour; got 0$"):
        q.neighbours("paper", "b", limit=0)
    assert q.neighbours("paper", "b", limit=1)["key"].to_list() == ["x"]
    assert q.neighbours("paper", "b", limit=None).height == 10


def test_default_list_lengths_and_exactly_ten_suggestions(tmp_path: Path) -> None:
    b = GraphBuilder()
    papers = [b.add_node("paper", f"p{i:02d}") for i in range(26)]
    b.add_edges("cites", papers[:-1], papers[1:])  # p00 -> p01 -> ... -> p25: 25 papers cited once
    about = b.add_node("concept", "all")
    b.add_edges("associated_concept", papers, [about] * 26)
    for j in range(60):  # 61 concepts in all
        b.add_edges("associated_concept", [papers[0]], [b.add_node("concept", f"c{j:02d}")])
    for j in range(10):  # exactly ten topics: all of them named, no "..."
        b.add_edges("associated_topic", [papers[0]], [b.add_node("topic", f"t{j}")])
    frame = pl.DataFrame({"node": range(26), "id": [f"p{i:02d}" for i in range(26)], "title": [""] * 26,
                          "abstract": [""] * 26, "venue": [""] * 26, "year": [None] * 26})
    qq = GraphQuery(GraphStore(write_store(b.graph(frame), tmp_path / "d.sqlite")))
    assert qq.citation_counts()["id"].to_list() == [f"p{i:02d}" for i in range(1, 21)]  # 20 by default
    assert len(qq.top_cited(["all"])) == 20
    assert qq.concepts().height == 50 and qq.concepts()["concept"][0] == "all"
    with pytest.raises(UnknownIdError) as ten:
        qq.node("topic", "nlp")
    names = ", ".join(f"'t{j}'" for j in range(10))
    assert str(ten.value) == (f"the graph has no topic 'nlp'; its topics with most papers are {names} "
                              "(all of them: discoverly graph rank --topics)")


def test_suggestions_match_percent_and_underscore_literally_and_ties_go_by_name(tmp_path: Path) -> None:
    # the name went into LIKE as it was: '_' matched any one letter and '%' anything, so "c_c" suggested "cxc"
    b = GraphBuilder()
    p = b.add_node("paper", "p")
    names = ["cxc", "c_c", "50%", "500", "bb", "aa", "dd"]
    b.add_edges("associated_concept", [p] * len(names), [b.add_node("concept", n) for n in names])
    t2, t1 = b.add_node("topic", "zeta"), b.add_node("topic", "alpha")
    b.add_edges("associated_topic", [p, p], [t2, t1])
    papers = pl.DataFrame({"node": [0], "id": ["p"], "title": ["P"], "abstract": [""], "venue": [""], "year": [None]})
    qq = GraphQuery(GraphStore(write_store(b.graph(papers), tmp_path / "like.sqlite")))
    with pytest.raises(UnknownIdError, match=r"^the graph has no concept '_'; did you mean 'c_c'\?$"):
        qq.node("concept", "_")
    with pytest.raises(UnknownIdError, match=r"^the graph has no concept '0%'; did you mean '50%'\?$"):
        qq.node("concept", "0%")
    with pytest.raises(UnknownIdError, match=r"^the graph has no concept 'c\\\\c'; its concepts"):
        qq.node("concept", "c\\c")
    # names of one length come in alphabetical order, and tied topics by name
    with pytest.raises(UnknownIdError, match=r"^the graph has no concept ''; did you mean 'aa', 'bb', 'dd'\?$"):
        qq.node("concept", "")
    assert qq.topics().rows() == [("alpha", 1), ("zeta", 1)]


def test_a_numpy_integer_limit_is_taken(q: GraphQuery) -> None:
    import numpy as np

    assert q.neighbours("paper", "b", limit=np.int64(2))["key"].to_list() == ["x", "y"]
    from discoverly.errors import ConfigError

    with pytest.raises(ConfigError, match="got True"):
        q.neighbours("paper", "b", limit=True)
