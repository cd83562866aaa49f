from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverly.errors import ArtifactError, ConfigError, DataError, UnknownIdError
from discoverly.graph.papers import Papers
from discoverly.graph.similar import SimilarItems, fuse, normalise_rows, paper_text_vectors, propagate_text


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), w=st.floats(0.0, 1.0))
def test_fused_cosine_is_the_weighted_sum_of_cosines(seed: int, w: float) -> None:
    rng = np.random.default_rng(seed)
    text, graph = rng.normal(size=(2, 5)), rng.normal(size=(2, 3))
    f = fuse(text, graph, w)
    t, g = normalise_rows(text), normalise_rows(graph)
    expected = w * float(t[0] @ t[1]) + (1 - w) * float(g[0] @ g[1])
    assert float(f[0] @ f[1]) == pytest.approx(expected, abs=1e-5)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(("weight", "blank"), [(0.5, ["c"]), (0.0, ["b", "c"]), (1.0, ["c", "d"])])
def test_an_item_with_nothing_to_compare_by_is_refused(tmp_path: Path, weight: float, blank: list[str]) -> None:
    # 'c' has no text and an untrained graph vector: its neighbours were random, with no word about it
    text = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])  # c and d have no text
    graph = np.random.default_rng(0).normal(size=(4, 3))
    engine = SimilarItems(["a", "b", "c", "d"], text=text, graph=graph, weight=weight, untrained=[1, 2])
    assert engine.ids[engine.blank].tolist() == blank
    for item in blank:
        with pytest.raises(DataError, match=f"'{item}' .*nothing to compare it by"):
            engine.similar(item, k=2)
    for item in sorted({"a", "b", "c", "d"} - set(blank)):  # the others answer, and never list a blank item
        listed = engine.similar(item, k=3)["id"].to_list()
        assert not set(listed) & set(blank) and len(listed) == 3 - len(blank)
    scores, positions = engine.search_vectors(engine.vectors, k=4)
    assert not np.isin(positions, engine.blank).any()
    np.testing.assert_allclose(np.sort(scores[0][positions[0] >= 0])[::-1],
                               np.sort(engine.vectors[np.setdiff1d(range(4), engine.blank)] @ engine.vectors[0])[::-1],
                               rtol=1e-5)
    again = SimilarItems.load(engine.save(tmp_path / "e"))
    assert again.untrained.tolist() == [1, 2] and again.blank.tolist() == engine.blank.tolist()
    assert SimilarItems(["a", "b", "c", "d"], text=text, graph=graph, weight=0.5).blank.size == 0  # without untrained
    with pytest.raises(DataError, match="outside"):
        SimilarItems(["a", "b"], graph=graph[:2], weight=0.0, untrained=[2])


def test_rows_without_one_part_fall_back_to_the_other() -> None:
    text = np.array([[1.0, 0.0], [0.0, 0.0]])
    graph = np.array([[0.0, 1.0], [0.0, 1.0]])
    f = fuse(text, graph, 0.5)
    np.testing.assert_allclose(f[1], [0, 0, 0, 1], atol=1e-6)
    with pytest.raises(ConfigError):
        fuse(text, graph, 1.5)
    with pytest.raises(ConfigError):
        fuse(None, graph, 1.0)
    with pytest.raises(DataError):
        fuse(text, graph[:1], 0.5)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 12))
def test_similar_is_sorted_unique_and_never_the_item_itself(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    engine = SimilarItems([f"i{j}" for j in range(10)], text=rng.normal(size=(10, 4)), graph=rng.normal(size=(10, 3)))
    out = engine.similar("i3", k=k)
    assert out.height == min(k, 9)
    assert "i3" not in out["id"].to_list()
    assert out["id"].n_unique() == out.height
    assert (np.diff(out["score"].to_numpy()) <= 1e-6).all()
    assert out["rank"].to_list() == list(range(1, out.height + 1))


def test_nearest_neighbour_by_construction_and_round_trip(tmp_path: Path) -> None:
    ids = ["a", "b", "c", "d"]
    text = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]])
    graph = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    assert SimilarItems(ids, text=text, graph=graph, weight=1.0).similar("a", k=1)["id"][0] == "b"
    assert SimilarItems(ids, text=text, graph=graph, weight=0.0).similar("a", k=1)["id"][0] == "c"
    engine = SimilarItems(ids, text=text, graph=graph, weight=0.5, config={"model": "x"})
    engine.save(tmp_path / "sim")
    back = SimilarItems.load(tmp_path / "sim")
    assert back.weight == 0.5 and back.config == {"model": "x"}
    assert back.similar("d", k=3).equals(engine.similar("d", k=3))
    with pytest.raises(UnknownIdError):
        engine.similar("zz")
    with pytest.raises(UnknownIdError, match=r"unknown id 'A '; the engine holds 4 items; did you mean 'a'\?"):
        engine.similar("A ")  # an id typed in another case or copied with a space said only 'unknown id'
    with pytest.raises(ConfigError):
        engine.similar("a", k=0)
    # k read from a numpy array or a float column (a raw faiss or TypeError before)
    assert engine.similar("a", k=np.int64(2))["id"].to_list() == engine.similar("a", k=2)["id"].to_list()
    for k in (2.5, "2", True):
        with pytest.raises(ConfigError, match="k must be a whole number of items, at least 1"):
            engine.similar("a", k=k)  # type: ignore[arg-type]
    with pytest.raises(DataError):
        SimilarItems(["a", "a"], text=text[:2])


def test_text_vectors_average_fields_and_are_cached(tmp_path: Path, hash_encoder) -> None:  # type: ignore[no-untyped-def]
    papers = Papers.from_records([{"id": "a", "title": "red wine", "abstract": "white wine"},
                                  {"id": "b", "title": "beer", "abstract": ""}])
    vecs = paper_text_vectors(papers, encoder=hash_encoder, cache=tmp_path / "cache")
    t = hash_encoder.encode(["red wine", "white wine", "beer"])
    np.testing.assert_allclose(vecs[0], (t[0] + t[1]) / 2, rtol=1e-6)
    np.testing.assert_allclose(vecs[1], t[2], rtol=1e-6)  # an empty field does not dilute the mean
    calls = hash_encoder.calls
    again = paper_text_vectors(papers, encoder=hash_encoder, cache=tmp_path / "cache")
    assert hash_encoder.calls == calls
    np.testing.assert_array_equal(again, vecs)
    changed = Papers.from_records([{"id": "a", "title": "rose wine"}, {"id": "b", "title": "beer"}])
    paper_text_vectors(changed, encoder=hash_encoder, cache=tmp_path / "cache")
    assert hash_encoder.calls > calls


def test_hnsw_index_agrees_with_the_exact_index_and_is_saved(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    # clustered vectors, as real embeddings are: 40 clusters of 50
    centres = rng.normal(size=(40, 24))
    text = np.repeat(centres, 50, axis=0) + 0.3 * rng.normal(size=(2000, 24))
    ids = [f"i{j}" for j in range(2000)]
    exact = SimilarItems(ids, text=text, weight=1.0)
    approx = SimilarItems(ids, text=text, weight=1.0, index="hnsw", hnsw_m=16, ef_search=64)
    sources = np.arange(0, 2000, 20)
    _, pe = exact.similar_positions(sources, 10)
    _, pa = approx.similar_positions(sources, 10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(pe, pa, strict=True)])
    assert overlap > 0.95
    assert all(src not in row for src, row in zip(sources, pa, strict=True))  # never the item itself
    approx.save(tmp_path / "sim")
    back = SimilarItems.load(tmp_path / "sim")
    assert back.index == "hnsw" and back.ef_search == 64
    assert SimilarItems.load(tmp_path / "sim", index="flat").index == "flat"
    with pytest.raises(ConfigError):
        SimilarItems(ids, text=text, index="ivf")


def test_relation_aware_query_returns_the_true_tail_first_and_round_trips(tmp_path: Path) -> None:
    from discoverly.graph.kge import KGEmbedding, KGETrainer

    # papers 0-5 each cite exactly one paper of 6-11 (i -> i + 6); the cited papers look alike to
    # a plain cosine, but the trained citation relation points each citing paper at its own tail
    h = np.arange(6)
    t = h + 6
    emb = KGETrainer(model="distmult", dim=16, epochs=300, batch_size=6, negatives=8, lr=0.05, threads=1,
                     weight_decay=0.0).fit(h, np.zeros(6, np.int64), t, 12, 1, rng=0)
    emb.config["relations"] = ["cites"]
    ids = [f"p{i}" for i in range(12)]
    queries = emb.relation_queries("cites")
    engine = SimilarItems(ids, graph=emb.entity_vectors(), weight=0.0, graph_query=queries)
    firsts = [engine.similar(f"p{i}", k=1)["id"][0] for i in range(6)]
    assert firsts == [f"p{i + 6}" for i in range(6)]
    np.testing.assert_array_equal(engine.vectors, SimilarItems(ids, graph=emb.entity_vectors(), weight=0.0).vectors)
    engine.save(tmp_path / "sim")
    back = SimilarItems.load(tmp_path / "sim")
    assert back.graph_query is not None
    for i in range(12):
        got, want = back.similar(f"p{i}", k=4), engine.similar(f"p{i}", k=4)
        assert got["id"].to_list() == want["id"].to_list()
        np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(), atol=1e-5)
    with pytest.raises(DataError):
        SimilarItems(ids, graph=emb.entity_vectors(), graph_query=queries[:3])
    with pytest.raises(ConfigError):
        SimilarItems(ids, text=np.ones((12, 2)), graph_query=queries)
    assert isinstance(emb, KGEmbedding)


def test_exclude_linked_drops_linked_items_keeps_k_and_round_trips(tmp_path: Path) -> None:
    # items on a line: the nearest neighbours of item 5 are 4, 6, 3, 7, ...
    a = np.arange(12) * 0.1 + np.arange(12) ** 2 * 0.001  # gaps grow: 4 is nearer to 5 than 6 is
    x = np.stack([np.cos(a), np.sin(a)], axis=1)
    links = np.array([[5, 4], [6, 5], [0, 11]])  # 5 cites 4, 6 cites 5 (either direction links)
    eng = SimilarItems([f"p{i}" for i in range(12)], graph=x, weight=0.0, links=links)
    assert eng.similar("p5", k=3)["id"].to_list() == ["p4", "p6", "p3"]  # off by default
    got = eng.similar("p5", k=3, exclude_linked=True)["id"].to_list()
    assert got == ["p3", "p7", "p2"]
    assert eng.linked(5).tolist() == [4, 6]
    on = SimilarItems([f"p{i}" for i in range(12)], graph=x, weight=0.0, links=links, exclude_linked=True)
    assert on.similar("p5", k=3)["id"].to_list() == got
    assert on.similar("p5", k=3, exclude_linked=False)["id"].to_list() == ["p4", "p6", "p3"]
    _, pos = on.similar_positions(np.array([5, 0]), 10)  # a batch: each row drops its own links
    assert 11 not in pos[1] and not {4, 6} & set(pos[0].tolist()) and (pos[0] >= 0).sum() == 9
    on.save(tmp_path / "e")
    back = SimilarItems.load(tmp_path / "e")
    assert back.exclude_linked and back.similar("p5", k=3)["id"].to_list() == got
    assert back.linked(5).tolist() == [4, 6]
    # each link once, lower row first, whichever direction it was given in
    assert sorted(map(tuple, on.link_pairs().tolist())) == [(0, 11), (4, 5), (5, 6)]
    assert SimilarItems(["a", "b"], graph=x[:2], weight=0.0).link_pairs() is None
    with pytest.raises(ConfigError, match="links"):
        SimilarItems(["a", "b"], graph=x[:2], weight=0.0, exclude_linked=True)
    with pytest.raises(ConfigError, match="links"):
        SimilarItems(["a", "b"], graph=x[:2], weight=0.0).similar("a", k=1, exclude_linked=True)
    with pytest.raises(DataError):
        SimilarItems(["a", "b"], graph=x[:2], weight=0.0, links=np.array([[0, 2]]))


def test_two_graph_queries_merge_by_the_higher_score(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 40
    text, graph = rng.normal(size=(n, 6)), rng.normal(size=(n, 4))
    q1, q2 = rng.normal(size=(n, 4)), rng.normal(size=(n, 4))
    w = 0.3
    eng = SimilarItems([f"i{i}" for i in range(n)], text=text, graph=graph, weight=w, graph_query=q1,
                       graph_query_2=q2)
    t, g = normalise_rows(text), normalise_rows(graph)
    for p in (0, 7, 39):
        s1 = w * t @ t[p] + (1 - w) * g @ normalise_rows(q1)[p]
        s2 = w * t @ t[p] + (1 - w) * g @ normalise_rows(q2)[p]
        best = np.maximum(s1, s2)
        best[p] = -np.inf
        want = np.argsort(-best)[:8]
        s, pos = eng.similar_positions(np.array([p]), 8)
        assert pos[0].tolist() == want.tolist()
        np.testing.assert_allclose(s[0], best[want], rtol=1e-5, atol=1e-5)
    eng.save(tmp_path / "e")
    back = SimilarItems.load(tmp_path / "e")
    assert back.similar("i7", k=8)["id"].to_list() == eng.similar("i7", k=8)["id"].to_list()
    with pytest.raises(ConfigError):
        SimilarItems(["a"], graph=graph[:1], weight=0.0, graph_query_2=q2[:1])


def test_propagate_text_sums_own_and_linked_vectors_per_hop() -> None:
    rng = np.random.default_rng(2)
    t = normalise_rows(rng.normal(size=(5, 3)))
    links = np.zeros((5, 5), np.float32)
    for a, b in ((0, 1), (1, 2)):  # a chain 0 - 1 - 2; 3 and 4 unlinked
        links[a, b] = links[b, a] = 1
    one = propagate_text(t, links, 1)
    np.testing.assert_allclose(one[0], normalise_rows((t[0] + t[1])[None])[0], rtol=1e-5)
    np.testing.assert_allclose(one[1], normalise_rows((t[0] + t[1] + t[2])[None])[0], rtol=1e-5)
    np.testing.assert_allclose(one[3:], t[3:], rtol=1e-5)  # nothing linked: unchanged
    two = propagate_text(t, links, 2)
    np.testing.assert_allclose(two[0], normalise_rows((one[0] + one[1])[None])[0], rtol=1e-5)
    np.testing.assert_allclose(propagate_text(t, links, 0), t)
    with pytest.raises(ConfigError):
        propagate_text(t, links, -1)
    with pytest.raises(DataError):
        propagate_text(t, links[:4, :4], 1)


def test_text_hops_reaches_the_papers_whose_text_resembles_a_neighbours(tmp_path: Path) -> None:
    # p0's own text is unlike p3's, but p0 cites p1 whose text is p3's: one hop finds p3 for p0
    text = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0.05], [0.7, 0, -0.7]], dtype=np.float32)
    ids = [f"p{i}" for i in range(5)]
    links = np.array([[0, 1]])
    own = SimilarItems(ids, text=text, weight=1.0, links=links, exclude_linked=True)
    assert own.similar("p0", k=1)["id"].to_list() == ["p4"]
    spread = SimilarItems(ids, text=text, weight=1.0, links=links, exclude_linked=True, text_hops=1)
    assert spread.similar("p0", k=1)["id"].to_list() == ["p3"]
    np.testing.assert_allclose(spread.text, normalise_rows(text))  # the given text is kept as it is
    spread.save(tmp_path / "e")
    back = SimilarItems.load(tmp_path / "e")
    assert back.text_hops == 1 and back.similar("p0", k=2)["id"].to_list() == spread.similar("p0", k=2)["id"].to_list()
    with pytest.raises(ConfigError, match="text_hops"):
        SimilarItems(ids, text=text, weight=1.0, text_hops=1)  # no links to spread over
    with pytest.raises(ConfigError, match="text_hops"):
        SimilarItems(ids, text=text, weight=1.0, links=links, text_hops=-1)


def test_save_never_replaces_a_folder_that_is_not_an_artifact(tmp_path: Path) -> None:
    engine = SimilarItems(["a", "b"], text=np.eye(2), weight=1.0)
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ArtifactError, match="replace"):
        engine.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
