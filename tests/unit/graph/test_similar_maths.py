"""The similar-item engine against the recipe of docs/graph.md, written here without the engine's code:
the fused score of items p and x is ``w * cos(text_p, text_x) + (1 - w) * cos(graph_p, graph_x)``
(the text spread over the citations first with ``text_hops``), the item itself is never listed, with
``exclude_linked`` nor are the items it cites or is cited by, and the list is the top k by that score."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.artifacts import write_artifact
from discoverly.errors import ArtifactError, ConfigError, DataError, UnknownIdError
from discoverly.graph.papers import Papers
from discoverly.graph.similar import SimilarItems, _merge, paper_text_vectors, propagate_text


def unit(v: np.ndarray) -> np.ndarray:
    n = float(np.sqrt(sum(float(a) * float(a) for a in v)))
    return np.zeros(len(v)) if n == 0 else np.asarray(v, dtype=np.float64) / n


def spread(text: np.ndarray, pairs: list[tuple[int, int]], hops: int) -> np.ndarray:
    """Each hop: an item's text is the unit sum of its own and its linked items' texts (plain loops)."""
    out = [unit(row) for row in text]
    neighbours: dict[int, set[int]] = {i: set() for i in range(len(text))}
    for a, b in pairs:
        neighbours[a].add(b)
        neighbours[b].add(a)
    for _ in range(hops):
        out = [unit(out[i] + sum((out[j] for j in neighbours[i]), np.zeros(len(out[i])))) for i in range(len(out))]
    return np.array(out)


def recipe_top(text: np.ndarray | None, graph: np.ndarray | None, w: float, p: int, k: int, *,
               pairs: list[tuple[int, int]] = (), hops: int = 0, exclude_linked: bool = False,
               query: np.ndarray | None = None) -> tuple[list[int], list[float]]:
    n = len(text) if text is not None else len(graph)
    t = spread(text, list(pairs), hops) if text is not None else None
    g = np.array([unit(row) for row in graph]) if graph is not None else None
    gq = np.array([unit(row) for row in query]) if query is not None else g
    hidden = {p} | ({b for a, b in pairs if a == p} | {a for a, b in pairs if b == p} if exclude_linked else set())
    scores = {}
    for x in range(n):
        if x in hidden:
            continue
        s = 0.0
        if t is not None and w > 0:
            s += w * float(t[p] @ t[x])
        if g is not None and w < 1:
            s += (1 - w) * float(gq[p] @ g[x])
        scores[x] = s
    top = sorted(scores, key=lambda x: -scores[x])[:k]
    return top, [scores[x] for x in top]


def random_case(seed: int, n: int = 14) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    pairs = sorted({tuple(sorted(map(int, rng.choice(n, 2, replace=False)))) for _ in range(2 * n)})
    return rng.normal(size=(n, 6)), rng.normal(size=(n, 4)), pairs  # type: ignore[return-value]


@pytest.mark.parametrize("w", [0.0, 0.25, 0.4, 0.5, 1.0])
@pytest.mark.parametrize("hops", [0, 1, 2])
@pytest.mark.parametrize("exclude_linked", [False, True])
def test_similar_is_the_top_k_of_the_weighted_cosines(w: float, hops: int, exclude_linked: bool) -> None:
    text, graph, pairs = random_case(11)
    ids = [f"p{i}" for i in range(len(text))]
    engine = SimilarItems(ids, text=text, graph=graph, weight=w, links=np.array(pairs), text_hops=hops,
                          exclude_linked=exclude_linked)
    for p in range(len(ids)):
        for k in (1, 4, 13):
            want, scores = recipe_top(text, graph, w, p, k, pairs=pairs, hops=hops, exclude_linked=exclude_linked)
            got = engine.similar(f"p{p}", k=k)
            assert got["id"].to_list() == [f"p{x}" for x in want], (p, k)
            np.testing.assert_allclose(got["score"].to_numpy(), scores, atol=2e-6)
            assert got["rank"].to_list() == list(range(1, len(want) + 1))


def test_a_relation_query_replaces_only_the_query_sides_graph_vector() -> None:
    text, graph, pairs = random_case(3)
    query = np.random.default_rng(4).normal(size=graph.shape)
    engine = SimilarItems([str(i) for i in range(len(text))], text=text, graph=graph, weight=0.4, graph_query=query,
                          links=np.array(pairs), text_hops=1)
    for p in (0, 5, 13):
        want, scores = recipe_top(text, graph, 0.4, p, 6, pairs=pairs, hops=1, query=query)
        s, pos = engine.similar_positions(np.array([p]), 6)
        assert pos[0].tolist() == want
        np.testing.assert_allclose(s[0], scores, atol=2e-6)


def test_a_batch_of_queries_each_drop_their_own_links_and_keep_k() -> None:
    # item 0 is linked to its 6 nearest neighbours, item 9 to none: one search must reach past all 6
    # for item 0 while item 9's list is the plain top k
    a = np.linspace(0.0, 1.5, 12) ** 1.3
    x = np.stack([np.cos(a), np.sin(a)], axis=1)
    pairs = [(0, j) for j in range(1, 7)]
    engine = SimilarItems([f"i{i}" for i in range(12)], graph=x, weight=0.0, links=np.array(pairs), exclude_linked=True)
    scores, pos = engine.similar_positions(np.array([9, 0]), 3)
    assert pos[0].tolist() == recipe_top(None, x, 0.0, 9, 3, pairs=pairs, exclude_linked=True)[0]
    assert pos[1].tolist() == recipe_top(None, x, 0.0, 0, 3, pairs=pairs, exclude_linked=True)[0] == [7, 8, 9]
    np.testing.assert_allclose(scores[1], [float(x[0] @ x[j]) for j in (7, 8, 9)], atol=1e-6)
    # fewer candidates than k: the rest is -1 / -inf
    s, p = engine.similar_positions(np.array([0]), 8)
    assert p[0].tolist() == [7, 8, 9, 10, 11, -1, -1, -1] and np.isneginf(s[0][5:]).all()
    assert engine.similar("i0", k=8)["id"].to_list() == ["i7", "i8", "i9", "i10", "i11"]


def test_links_given_twice_or_both_ways_are_one_link() -> None:
    x = np.random.default_rng(0).normal(size=(5, 3))
    engine = SimilarItems(list("abcde"), graph=x, weight=0.0, links=np.array([[0, 1], [1, 0], [0, 1], [3, 0]]))
    assert engine.linked(0).tolist() == [1, 3] and engine.linked(0).dtype == np.int64
    assert engine.linked(2).tolist() == []
    assert sorted(map(tuple, engine.link_pairs().tolist())) == [(0, 1), (0, 3)]
    plain = SimilarItems(list("abcde"), graph=x, weight=0.0)
    assert plain.linked(0).tolist() == [] and plain.linked(0).dtype == np.int64


def test_duplicates_of_the_query_never_list_the_query_itself() -> None:
    # five identical vectors (ties at cosine 1): whichever the search returns first, the item itself is left out
    x = np.array([[1.0, 0.0]] * 5 + [[0.6, 0.8], [0.0, 1.0]])
    engine = SimilarItems([f"i{i}" for i in range(7)], graph=x, weight=0.0)
    for p in range(5):
        out = engine.similar(f"i{p}", k=2)
        assert f"i{p}" not in out["id"].to_list() and out.height == 2
        np.testing.assert_allclose(out["score"].to_numpy(), [1.0, 1.0], atol=1e-6)
        everything = engine.similar(f"i{p}", k=6)
        assert sorted(everything["id"].to_list()) == sorted(f"i{i}" for i in range(7) if i != p)
        np.testing.assert_allclose(everything["score"].to_numpy(), [1, 1, 1, 1, 0.6, 0.0], atol=1e-6)


def test_merge_keeps_each_position_once_with_its_higher_score_best_first() -> None:
    inf = np.inf
    s1 = np.array([[0.9, 0.5, 0.2], [0.8, -inf, -inf]], dtype=np.float32)
    p1 = np.array([[3, 1, 4], [2, -1, -1]])
    s2 = np.array([[0.7, 0.6, 0.5], [0.8, -inf, -inf]], dtype=np.float32)
    p2 = np.array([[1, 2, 3], [2, -1, -1]])
    s, p = _merge(s1, p1, s2, p2)
    # row 0: 3 (0.9 beats its 0.5), 1 (0.7 beats its 0.5), 2 (0.6); 4 falls off the three kept
    assert p.tolist() == [[3, 1, 2], [2, -1, -1]]
    np.testing.assert_allclose(s[0], [0.9, 0.7, 0.6], rtol=1e-6)
    assert s[1, 0] == pytest.approx(0.8) and np.isneginf(s[1, 1:]).all()
    assert s.dtype == np.float32 and p.dtype == np.int64


def test_merge_keeps_the_order_of_equal_scores_first_list_first() -> None:
    # 20 equal scores per list (more than numpy sorts by insertion): the first list's order, then the second's
    s1 = np.full((1, 20), 0.5, dtype=np.float32)
    p1 = np.arange(20)[None, ::-1].copy()
    s2 = np.full((1, 20), 0.5, dtype=np.float32)
    p2 = np.arange(20, 40)[None]
    _, p = _merge(s1, p1, s2, p2)
    assert p[0].tolist() == list(range(19, -1, -1))


def test_propagate_text_default_is_one_hop_and_errors_name_the_shapes() -> None:
    text, _, pairs = random_case(5, n=6)
    links = np.zeros((6, 6), np.float32)
    for a, b in pairs:
        links[a, b] = links[b, a] = 1
    np.testing.assert_allclose(propagate_text(text, links), spread(text, pairs, 1), atol=1e-6)
    np.testing.assert_allclose(propagate_text(text, links, 3), spread(text, pairs, 3), atol=1e-6)
    with pytest.raises(ConfigError, match=r"^text_hops must be >= 0 \(0 = a paper's own text\), got -2$"):
        propagate_text(text, links, -2)
    with pytest.raises(DataError, match=r"^links must be a 3 x 3 matrix, got \(6, 6\)$"):
        propagate_text(np.ones((3, 5)), links, 1)


def test_blank_items_are_refused_with_the_reason_of_the_engine() -> None:
    text = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])  # 'c' has no text
    graph = np.random.default_rng(1).normal(size=(4, 3))
    both = SimilarItems(list("abcd"), text=text, graph=graph, weight=0.5, untrained=[2])
    assert both.blank_reason() == "has no text and is in no edge of the graph"
    assert both.blank_reason(plural=True) == "have no text and are in no edge of the graph"
    text_only = SimilarItems(list("abcd"), text=text, graph=graph, weight=1.0)
    assert text_only.blank.tolist() == [2]
    assert text_only.blank_reason() == "has no text, and the engine is text only (weight 1)"
    assert text_only.blank_reason(plural=True) == "have no text, and the engine is text only (weight 1)"
    no_graph = SimilarItems(list("abcd"), text=text, weight=0.5)
    assert no_graph.blank_reason() == "has no text, and the engine is text only (weight 1)"
    graph_only = SimilarItems(list("abcd"), text=text, graph=graph, weight=0.0, untrained=[1])
    assert graph_only.blank.tolist() == [1]
    assert graph_only.blank_reason() == "is in no edge of the graph, and the engine is graph only (weight 0)"
    assert graph_only.blank_reason(plural=True) == ("are in no edge of the graph, and the engine is graph only "
                                                    "(weight 0)")
    no_text = SimilarItems(list("abcd"), graph=graph, weight=0.5, untrained=[1])
    assert no_text.blank_reason() == "is in no edge of the graph, and the engine is graph only (weight 0)"
    with pytest.raises(DataError) as err:
        both.similar("c")
    assert str(err.value) == ("'c' has no text and is in no edge of the graph: the engine has nothing to compare it "
                              "by, so it has no similar items (its vector would give random neighbours). Give it a "
                              "title or abstract, or references, and fit again")


def test_similar_defaults_to_ten_items_with_float_scores() -> None:
    x = np.random.default_rng(2).normal(size=(15, 4))
    out = SimilarItems([f"i{i}" for i in range(15)], graph=x, weight=0.0).similar("i0")
    assert out.height == 10 and out.schema["score"].is_float() and str(out.schema["score"]) == "Float64"


def test_unknown_ids_name_at_most_three_near_misses() -> None:
    engine = SimilarItems(["a", "A", "a ", " A", "b"], graph=np.eye(5), weight=0.0)
    with pytest.raises(UnknownIdError) as err:
        engine.similar("A  ")
    assert str(err.value) == "unknown id 'A  '; the engine holds 5 items; did you mean 'a', 'A', 'a '?"
    with pytest.raises(UnknownIdError) as err:
        engine.similar("zz")
    assert str(err.value) == "unknown id 'zz'; the engine holds 5 items"


def test_load_refuses_other_artifacts_and_engines_without_ids(tmp_path: Path) -> None:
    write_artifact(tmp_path / "kge", {"kind": "kg-embedding", "weight": 0.5}, {"graph": np.eye(2)},
                   {"ids": pl.DataFrame({"id": ["a", "b"]})})
    with pytest.raises(ArtifactError, match="holds a 'kg-embedding' artifact, expected 'similar-items'"):
        SimilarItems.load(tmp_path / "kge")
    write_artifact(tmp_path / "noids", {"kind": "similar-items", "weight": 0.5}, {"graph": np.eye(2)})
    with pytest.raises(ArtifactError) as err:
        SimilarItems.load(tmp_path / "noids")
    assert str(err.value) == f"{str(tmp_path / 'noids')!r} has no id table"
    write_artifact(tmp_path / "noweight", {"kind": "similar-items"}, {"graph": np.eye(2)},
                   {"ids": pl.DataFrame({"id": ["a", "b"]})})
    with pytest.raises(ArtifactError) as err:
        SimilarItems.load(tmp_path / "noweight")
    assert str(err.value) == (f"{str(tmp_path / 'noweight')!r} is an incomplete similar-items engine: its manifest "
                              "has no 'weight'; fit it again (`discoverly graph fit`)")


# -- text vectors -----------------------------------------------------------------------------------
class RecordingEncoder:
    """Unit bag-of-letters vectors; records what it was asked."""

    def __init__(self, name: str = "letters") -> None:
        self.name = name
        self.calls: list[tuple[list[str], bool]] = []

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.calls.append((list(texts), progress))
        out = np.zeros((len(texts), 26), dtype=np.float32)
        for i, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def test_text_vectors_are_the_mean_over_present_fields_after_a_blank_field() -> None:
    # every abstract is blank (spaces): the bodies after it still count
    papers = Papers.from_records([{"id": "a", "title": "ab", "abstract": "  ", "body": "cd"},
                                  {"id": "b", "title": "ef", "abstract": " ", "body": ""}])
    enc = RecordingEncoder()
    vecs = paper_text_vectors(papers, encoder=enc, progress=True)
    e = enc.encode(["ab", "cd", "ef"])
    np.testing.assert_allclose(vecs, [(e[0] + e[1]) / 2, e[2]], rtol=1e-6)
    assert vecs.dtype == np.float32
    assert [c[0] for c in enc.calls[:2]] == [["ab", "ef"], ["cd"]] and all(c[1] for c in enc.calls[:2])
    only_body = paper_text_vectors(papers, encoder=RecordingEncoder(), fields=["abstract", "body"])
    np.testing.assert_allclose(only_body, [e[1], np.zeros(26)], atol=1e-7)
    with pytest.raises(DataError, match=r"^every text field of every paper is empty; nothing to embed$"):
        paper_text_vectors(papers, encoder=enc, fields=["abstract"])
    bare = Papers.from_records([{"id": "a", "title": ""}])
    with pytest.raises(DataError, match=r"^the papers have no text \(title, abstract or body\) to embed$"):
        paper_text_vectors(bare, encoder=enc)


def test_the_text_cache_is_keyed_by_the_model_and_written_with_it(tmp_path: Path) -> None:
    from discoverly.artifacts import read_artifact

    papers = Papers.from_records([{"id": "a", "title": "ab"}, {"id": "b", "title": "ba c"}])
    first = RecordingEncoder("model-one")
    paper_text_vectors(papers, encoder=first, cache=tmp_path / "c")
    art = read_artifact(tmp_path / "c", kind="text-vectors")
    assert art.manifest["model"] == "model-one" and art.manifest["fields"] == ["title"] and art.manifest["n"] == 2
    assert 0 <= art.manifest["seconds"] < 60
    paper_text_vectors(papers, encoder=first, cache=tmp_path / "c")
    assert len(first.calls) == 1  # same texts, same model: from the cache
    other = RecordingEncoder("model-two")
    paper_text_vectors(papers, encoder=other, cache=tmp_path / "c")
    assert len(other.calls) == 1  # another model: computed again


def test_an_unreadable_or_foreign_text_cache_is_recomputed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    papers = Papers.from_records([{"id": "a", "title": "ab"}])
    write_artifact(tmp_path / "c", {"kind": "similar-items", "key": "x"}, {"vectors": np.ones((1, 26))})
    enc = RecordingEncoder()
    with caplog.at_level(logging.WARNING, logger="discoverly.graph.similar"):
        vecs = paper_text_vectors(papers, encoder=enc, cache=tmp_path / "c")
    assert len(enc.calls) == 1 and vecs.shape == (1, 26)
    assert any(str(tmp_path / "c") in r.getMessage() and "'similar-items'" in r.getMessage() for r in caplog.records)



def test_two_queries_with_linked_papers_left_out_are_the_recipes_best_of_both() -> None:
    text, graph, pairs = random_case(21, n=30)
    rng = np.random.default_rng(22)
    q1, q2 = rng.normal(size=graph.shape), rng.normal(size=graph.shape)
    engine = SimilarItems([str(i) for i in range(30)], text=text, graph=graph, weight=0.3, graph_query=q1,
                          graph_query_2=q2, links=np.array(pairs), exclude_linked=True)
    plain = SimilarItems([str(i) for i in range(30)], text=text, graph=graph, weight=0.3, graph_query=q1,
                         graph_query_2=q2)
    for p, k in ((0, 1), (1, 1), (2, 3), (3, 8)):  # without links: both searches k + 1 deep
        one = dict(zip(*recipe_top(text, graph, 0.3, p, 29, query=q1), strict=True))
        two = dict(zip(*recipe_top(text, graph, 0.3, p, 29, query=q2), strict=True))
        best = {x: max(one[x], two[x]) for x in one}
        assert plain.similar_positions(np.array([p]), k)[1][0].tolist() == sorted(best, key=lambda x: -best[x])[:k]
    for p in range(30):
        one = dict(zip(*recipe_top(text, graph, 0.3, p, 29, pairs=pairs, exclude_linked=True, query=q1), strict=True))
        two = dict(zip(*recipe_top(text, graph, 0.3, p, 29, pairs=pairs, exclude_linked=True, query=q2), strict=True))
        best = {x: max(one[x], two[x]) for x in one}
        want = sorted(best, key=lambda x: -best[x])[:5]
        s, pos = engine.similar_positions(np.array([p]), 5)
        assert pos[0].tolist() == want, p
        np.testing.assert_allclose(s[0], [best[x] for x in want], atol=2e-6)


def test_the_flat_index_is_exact_and_the_hnsw_index_scores_cosines() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 48))  # unclustered, many dimensions: an HNSW index misses some of the exact top 10
    unit_x = x / np.linalg.norm(x, axis=1, keepdims=True)
    exact = SimilarItems([str(i) for i in range(3000)], graph=x, weight=0.0)
    sources = np.arange(0, 3000, 15)
    s, pos = exact.similar_positions(sources, 10)
    for row, p in enumerate(sources):
        cos = unit_x @ unit_x[p]
        cos[p] = -np.inf
        assert pos[row].tolist() == np.argsort(-cos, kind="stable")[:10].tolist()
    approx = SimilarItems([str(i) for i in range(3000)], graph=x, weight=0.0, index="hnsw", hnsw_m=4, ef_search=10)
    # at this size HNSW still finds the exact top 10, so name the index kind too: exact by default, as documented
    assert type(exact._faiss()).__name__ == "IndexFlatIP" and type(approx._faiss()).__name__ == "IndexHNSWFlat"
    s, pos = approx.similar_positions(sources, 10)
    for row, p in enumerate(sources):  # whatever it finds, its scores are the cosines, best first
        np.testing.assert_allclose(s[row], unit_x[pos[row]] @ unit_x[p], atol=1e-5)
        assert (np.diff(s[row]) <= 1e-6).all()


def test_settings_at_their_edges_and_their_defaults(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    engine = SimilarItems(list("abcd"), graph=x, weight=0.0)
    assert (engine.threads, engine.index, engine.hnsw_m, engine.ef_search) == (1, "flat", 32, 128)
    edge = SimilarItems(list("abcd"), graph=x, weight=0.0, index="hnsw", hnsw_m=2, ef_search=1, threads=0)
    assert (edge.hnsw_m, edge.ef_search, edge.threads) == (2, 1, 1)
    assert edge.similar("a", k=3).height == 3
    for bad in ({"hnsw_m": 1}, {"ef_search": 0}):
        with pytest.raises(ConfigError) as err:
            SimilarItems(list("abcd"), graph=x, weight=0.0, **bad)  # type: ignore[arg-type]
        assert str(err.value) == f"need hnsw_m >= 2 and ef_search >= 1; got {bad.get('hnsw_m', 32)}, " \
                                 f"{bad.get('ef_search', 128)}"
    SimilarItems.load(SimilarItems(list("abcd"), graph=x, weight=0.0, index="hnsw", hnsw_m=5,
                                   ef_search=7).save(tmp_path / "h"))
    back = SimilarItems.load(tmp_path / "h")
    assert (back.index, back.hnsw_m, back.ef_search) == ("hnsw", 5, 7)


def test_an_engine_saved_without_the_later_settings_loads_with_their_defaults(tmp_path: Path) -> None:
    # an engine written before index, links, text hops and exclude_linked were saved
    write_artifact(tmp_path / "old", {"kind": "similar-items", "weight": 0.0, "n": 3},
                   {"graph": np.eye(3), "links": np.array([[0, 1]])}, {"ids": pl.DataFrame({"id": ["a", "b", "c"]})})
    old = SimilarItems.load(tmp_path / "old")
    assert (old.index, old.hnsw_m, old.ef_search, old.exclude_linked, old.text_hops, old.config) == (
        "flat", 32, 128, False, 0, {})
    assert old.linked(0).tolist() == [1]


def test_constructor_errors_name_what_was_given() -> None:
    x = np.random.default_rng(0).normal(size=(3, 2))
    cases = [
        ({"ids": ["a", "b", "c"], "text": np.ones((2, 5))}, DataError, "3 ids but 2 vectors; give one vector per id"),
        ({"graph": x, "links": np.array([[0, 3]])}, DataError, "links refer to rows outside 0..2"),
        ({"graph": x, "weight": 0.0, "untrained": [3]}, DataError, "untrained refers to rows outside 0..2"),
        ({"graph": x, "index": "ivf"}, ConfigError, "unknown index 'ivf'; use one of ('flat', 'hnsw')"),
        ({"text": x, "graph_query": x}, ConfigError, "graph_query needs graph vectors to search"),
        ({"graph": x, "graph_query": x[:2]}, DataError,
         "graph_query must have the graph vectors' shape (3, 2), got (2, 2)"),
        ({"graph": x, "graph_query_2": x}, ConfigError, "graph_query_2 needs graph_query (the first query)"),
        ({"graph": x, "graph_query": x, "graph_query_2": x[:, :1]}, DataError,
         "graph_query_2 must have graph_query's shape (3, 2), got (3, 1)"),
        ({"graph": x, "exclude_linked": True}, ConfigError,
         "exclude_linked=True needs the links (e.g. citation edges) to exclude"),
        ({"graph": x, "text_hops": 1}, ConfigError,
         "text_hops > 0 needs text vectors and the links to spread them over"),
        ({"ids": ["a", "a", "b"], "graph": x}, DataError, "item ids must be unique"),
        ({"graph": x, "weight": 1.5}, ConfigError, "the text weight must be in [0, 1] (0 = graph only, 1 = text only), "
                                                   "got 1.5"),
        ({"graph": None}, ConfigError, "give text vectors, graph vectors, or both"),
        ({"graph": x, "weight": 1.0}, ConfigError, "weight=1.0 selects the text vectors, which were not given"),
        ({"text": x, "weight": 0.0}, ConfigError, "weight=0.0 selects the graph vectors, which were not given"),
        ({"text": x, "graph": x[:2]}, DataError, "text and graph vectors must have one row per item; got [2, 3] rows"),
    ]
    for kwargs, error, message in cases:
        ids = kwargs.pop("ids", ["a", "b", "c"])
        with pytest.raises(error) as err:
            SimilarItems(ids, **kwargs)  # type: ignore[arg-type]
        assert str(err.value) == message
    engine = SimilarItems(["a", "b", "c"], graph=x)
    with pytest.raises(ConfigError) as err:
        engine.similar("a", exclude_linked=True)
    assert str(err.value) == "exclude_linked=True needs an engine with links"


def test_links_as_floats_untrained_row_zero_and_an_all_zero_graph_vector() -> None:
    x = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 0.0], [0.6, 0.8]])
    engine = SimilarItems(list("abcd"), graph=x, weight=0.0, links=np.array([[0.0, 1.0]]), untrained=[0])
    assert engine.linked(1).tolist() == [0] and engine.link_pairs().dtype == np.int64
    # row 0 is untrained, row 2's graph vector is zero (nothing learnt): both have nothing to compare by
    assert engine.blank.tolist() == [0, 2]


def test_no_progress_bar_unless_asked_and_nameless_encoders_keyed_by_their_class(tmp_path: Path) -> None:
    from discoverly.artifacts import read_artifact

    papers = Papers.from_records([{"id": "a", "title": "ab"}, {"id": "b", "title": "ba c"}])
    enc = RecordingEncoder()
    paper_text_vectors(papers, encoder=enc)
    assert [c[1] for c in enc.calls] == [False]

    class Nameless(RecordingEncoder):
        def __init__(self) -> None:
            super().__init__()
            del self.name

    class OtherNameless(Nameless):
        pass

    first = Nameless()
    paper_text_vectors(papers, encoder=first, cache=tmp_path / "c")
    assert read_artifact(tmp_path / "c").manifest["model"] == ""
    paper_text_vectors(papers, encoder=first, cache=tmp_path / "c")
    assert len(first.calls) == 1  # the same class: from the cache
    other = OtherNameless()
    paper_text_vectors(papers, encoder=other, cache=tmp_path / "c")
    assert len(other.calls) == 1  # another encoder class: computed again
