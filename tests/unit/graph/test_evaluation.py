from __future__ import annotations

import numpy as np
import pytest

from discoverly.errors import ConfigError, DataError
from discoverly.graph.build import build_paper_graph
from discoverly.graph.evaluation import evaluate_similar, proxy_relevance, run_protocol, split_citations
from discoverly.graph.papers import Papers
from discoverly.graph.similar import SimilarItems

from .conftest import tiny_records


def test_split_is_a_disjoint_cover_of_the_edges() -> None:
    src = np.arange(100)
    dst = (np.arange(100) + 1) % 100
    s = split_citations(src, dst, test=0.1, valid=0.2, rng=0)
    assert s.to_dict() == {"train": 70, "valid": 20, "test": 10}
    all_edges = {tuple(e) for part in (s.train, s.valid, s.test) for e in part.tolist()}
    assert len(all_edges) == 100
    with pytest.raises(ConfigError):
        split_citations(src, dst, test=0.6, valid=0.5)
    with pytest.raises(DataError):
        split_citations(src[:3], dst[:3])


def test_relevance_direct_and_new_co_citations() -> None:
    # visible: 0->1, 0->2, 3->2 ; hidden: 3->1 (3 cites 1; 1 becomes co-cited with 2 via 3 -- but 0 already
    # co-cites 1 and 2, so that is not new) and 4->2 (4 cites 2 only: no new co-citation)
    visible = np.array([[0, 1], [0, 2], [3, 2]])
    hidden = np.array([[3, 1], [4, 2]])
    rel = proxy_relevance(visible, hidden, 6)
    assert {k: v.tolist() for k, v in rel.items()} == {1: [3], 2: [4], 3: [1], 4: [2]}
    # now 5 cites 1 and 4 (visible), hidden 5->2: 2 becomes newly co-cited with 1? no (0 co-cites 1, 2) but with 4: yes
    visible2 = np.array([[0, 1], [0, 2], [5, 1], [5, 4]])
    rel2 = proxy_relevance(visible2, np.array([[5, 2]]), 6)
    assert {k: v.tolist() for k, v in rel2.items()} == {2: [4, 5], 4: [2], 5: [2]}
    direct = proxy_relevance(visible2, np.array([[5, 2]]), 6, cocited=False)
    assert {k: v.tolist() for k, v in direct.items()} == {2: [5], 5: [2]}


def test_evaluate_similar_on_engineered_vectors() -> None:
    # 6 papers on a circle: each paper's nearest neighbours are the adjacent ones
    angles = np.arange(6) * np.pi / 3
    vecs = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    engine = SimilarItems([str(i) for i in range(6)], graph=vecs, weight=0.0)
    rel = {0: np.array([1]), 2: np.array([3, 5])}
    res = evaluate_similar(engine, rel, k=1, depth=5)
    # paper 0: top-1 is 1 or 5 (tie) -> recall 1 or 0; paper 2: neighbours 1, 3 -> at most 1 of 2
    assert 0.0 <= res.recall.value <= 0.75
    res3 = evaluate_similar(engine, rel, k=3, depth=5)
    assert res3.per_paper_recall.tolist()[0] == 1.0
    assert 0 <= res3.mrr.low <= res3.mrr.value <= res3.mrr.high <= 1
    # filtering visible neighbours removes paper 1 and 5 from paper 0's list (0-1 and 0-5 visible) -> 1 not found
    linked = SimilarItems([str(i) for i in range(6)], graph=vecs, weight=0.0, links=np.array([[0, 1], [5, 0]]))
    filt = evaluate_similar(linked, {0: np.array([1])}, k=3, depth=4, exclude_linked=True)
    assert filt.per_paper_recall.tolist() == [0.0]
    assert evaluate_similar(linked, {0: np.array([1])}, k=3, depth=4).per_paper_recall.tolist() == [1.0]
    # None (the default) follows the engine's own setting
    on = SimilarItems([str(i) for i in range(6)], graph=vecs, weight=0.0, links=np.array([[0, 1], [5, 0]]),
                      exclude_linked=True)
    assert evaluate_similar(on, {0: np.array([1])}, k=3, depth=4).per_paper_recall.tolist() == [0.0]
    assert evaluate_similar(on, {0: np.array([1])}, k=3, depth=4,
                            exclude_linked=False).per_paper_recall.tolist() == [1.0]
    with pytest.raises(ConfigError, match="links"):  # nothing to filter with
        evaluate_similar(engine, rel, k=3, depth=4, exclude_linked=True)
    with pytest.raises(ConfigError):
        evaluate_similar(engine, rel, k=5, depth=2)
    with pytest.raises(DataError):
        evaluate_similar(engine, {}, k=1)


@pytest.mark.parametrize("depth", [3, 12])
def test_evaluated_lists_are_the_engines_filtered_lists(depth: int) -> None:
    # the evaluation has no filter of its own: the list it scores for a source is exactly
    # engine.similar_positions(..., depth, exclude_linked=True), read back through the reciprocal rank
    # of one relevant paper at a time; paper 0 is a hub (linked to 6 papers) so the engine must over-fetch
    gen = np.random.default_rng(1)
    n = 12
    links = np.array([[0, 1], [2, 0], [0, 3], [0, 4], [7, 0], [0, 9], [5, 6], [8, 5], [10, 11], [3, 4]])
    engine = SimilarItems([f"p{i}" for i in range(n)], graph=gen.normal(size=(n, 4)), weight=0.0, links=links)
    rank = np.zeros((n, n))  # rank[p, q]: 1-based rank of q in the evaluated list of p (0: not listed)
    for q in range(n):
        rel = {p: np.array([q]) for p in range(n) if p != q}
        rr = evaluate_similar(engine, rel, k=1, depth=depth, exclude_linked=True, batch=5).per_paper_rr
        for p, x in zip(rel, rr.tolist(), strict=True):
            rank[p, q] = round(1 / x) if x else 0
    _, expected = engine.similar_positions(np.arange(n), depth, exclude_linked=True)
    for p in range(n):
        listed = np.flatnonzero(rank[p])
        evaluated = listed[np.argsort(rank[p, listed])]
        assert evaluated.tolist() == expected[p][expected[p] >= 0].tolist()
        assert evaluated.size == min(depth, n - 1 - engine.linked(p).size)  # still depth entries after filtering
        assert not np.isin(evaluated, engine.linked(p)).any()


def test_protocol_end_to_end_on_a_tiny_literature(hash_encoder) -> None:  # type: ignore[no-untyped-def]
    papers = Papers.from_records(tiny_records(12))
    graph = build_paper_graph(papers, concepts=None, topics=None)
    text = hash_encoder.encode(papers.full_texts())
    result = run_protocol(graph, text, candidates=[{"model": "transe", "dim": 8, "epochs": 2},
                                                   {"model": "distmult", "dim": 8, "epochs": 2}],
                          weights=(0.5,), k=5, rng=0, threads=1, batch_size=64, negatives=4)
    assert set(result.test) == {"text-only", "graph-only", "fused"}
    assert len(result.selection) == 5  # text-only + 2 candidates x (graph-only + one weight)
    assert result.chosen["weight"] == 0.5 and result.chosen["model"] in ("transe", "distmult")
    for r in result.test.values():
        assert 0 <= r.recall.value <= 1 and r.recall.n == result.test["fused"].recall.n
    assert set(result.test_direct) == set(result.test)
    assert all(r.recall.n <= result.test["fused"].recall.n for r in result.test_direct.values())
    assert set(result.paired) == {"text-only - graph-only", "text-only - fused", "graph-only - fused"}
    assert 0 <= result.link["mrr"] <= 1
    d = result.to_dict()
    assert d["split"]["test"] == len(result.split.test)


def test_protocol_selects_among_query_modes(hash_encoder) -> None:  # type: ignore[no-untyped-def]
    papers = Papers.from_records(tiny_records(12))
    graph = build_paper_graph(papers, concepts=None, topics=None)
    text = hash_encoder.encode(papers.full_texts())
    result = run_protocol(graph, text, candidates=[{"model": "distmult", "dim": 8, "epochs": 2}],
                          weights=(0.5,), k=5, rng=0, threads=1, batch_size=64, negatives=4,
                          queries=(None, ("cites", "both")))
    assert len(result.selection) == 5  # text-only + 2 query modes x (graph-only + one weight)
    assert {row.get("query") for row in result.selection[1:]} == {"own vector", "cites:both"}
    assert result.chosen["query"] in ("own vector", "cites:both")
    if result.chosen["query"] == "cites:both":
        assert set(result.test) == {"text-only", "graph-only", "fused", "graph-only, plain query",
                                    "fused, plain query"}
    else:
        assert set(result.test) == {"text-only", "graph-only", "fused"}
    assert set(result.test_direct) == set(result.test)



def test_protocol_can_select_on_direct_relations(hash_encoder) -> None:  # type: ignore[no-untyped-def]
    papers = Papers.from_records(tiny_records(12))
    graph = build_paper_graph(papers, concepts=None, topics=None)
    text = hash_encoder.encode(papers.full_texts())
    kw = {"candidates": [{"model": "distmult", "dim": 8, "epochs": 1}], "weights": (0.5,), "k": 5, "rng": 0,
          "threads": 1, "batch_size": 64, "negatives": 4}
    direct = run_protocol(graph, text, select_on="direct", **kw)
    cocited = run_protocol(graph, text, **kw)
    assert {row["select_on"] for row in direct.selection} == {"direct"}
    # the text-only validation score differs between the two definitions (co-citations add relevant papers)
    assert direct.selection[0]["valid_recall@5"] != cocited.selection[0]["valid_recall@5"]
    with pytest.raises(ConfigError):
        run_protocol(graph, text, select_on="both", **kw)


def test_protocol_with_two_queries_and_filtered_lists(hash_encoder) -> None:  # type: ignore[no-untyped-def]
    papers = Papers.from_records(tiny_records(12))
    graph = build_paper_graph(papers, concepts=None, topics=None)
    text = hash_encoder.encode(papers.full_texts())
    kw = {"candidates": [{"model": "complex", "dim": 8, "epochs": 2, "loss": "softmax", "negatives": 8}],
          "weights": (0.5,), "k": 5, "rng": 0, "threads": 1, "batch_size": 64, "queries": (("cites", "tail+head"),)}
    filtered = run_protocol(graph, text, exclude_linked=True, **kw)
    plain = run_protocol(graph, text, **kw)
    assert filtered.chosen["query"] == "cites:tail+head" and filtered.chosen["exclude_linked"] is True
    assert filtered.embedding.config["loss"] == "softmax"  # type: ignore[attr-defined]
    assert {row["exclude_linked"] for row in filtered.selection[1:]} == {True}
    # the same engines and relevant papers; only the visible neighbours are removed from the lists
    assert filtered.test["fused"].recall.n == plain.test["fused"].recall.n
    assert any(filtered.test[name].recall.value != plain.test[name].recall.value for name in filtered.test)


def test_protocol_tries_text_spread_over_citations(hash_encoder) -> None:  # type: ignore[no-untyped-def]
    papers = Papers.from_records(tiny_records(12))
    graph = build_paper_graph(papers, concepts=None, topics=None)
    text = hash_encoder.encode(papers.full_texts())
    kw = {"candidates": [{"model": "distmult", "dim": 8, "epochs": 1}], "weights": (0.5,), "k": 5, "rng": 0,
          "threads": 1, "batch_size": 64, "negatives": 4, "exclude_linked": True}
    result = run_protocol(graph, text, text_hops=(0, 1), **kw)
    # text-only + graph-only + one weight with own text + one weight with spread text (no graph-only twin)
    assert [(r.get("weight"), r.get("text_hops")) for r in result.selection] == [(1.0, None), (0.0, 0), (0.5, 0),
                                                                               (0.5, 1)]
    assert result.chosen["text_hops"] in (0, 1)
    if result.chosen["text_hops"] == 1:
        assert {"fused, own text", "text over citations"} <= set(result.test)
        assert result.selection[3]["valid_recall@5"] >= result.selection[2]["valid_recall@5"]
    else:
        assert "fused, own text" not in result.test
    forced = run_protocol(graph, text, text_hops=(1,), **kw)
    assert forced.chosen["text_hops"] == 1 and "text over citations" in forced.test
    # the spread text differs from the own text, so its lists differ somewhere
    assert any(forced.test[a].recall.value != forced.test[b].recall.value
               for a, b in (("fused", "fused, own text"), ("text over citations", "text-only")))
