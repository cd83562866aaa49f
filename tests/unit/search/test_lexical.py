"""Lexical retrieval: per-field bm25s, its vectorised index build against plain bm25s, ties."""

from __future__ import annotations

import logging

import bm25s
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverly.errors import ConfigError, NotFittedError
from discoverly.search.lexical import LexicalRetriever, _fast_bm25_class, ranked, top_positions

DOCS = {
    "title": [["whole", "milk"], ["skim", "milk"], ["milk", "chocolate", "milk"], ["cookie"], []],
    "category": [["dairy"], ["dairy"], ["candy"], ["cookie"], ["misc"]],
}


def test_vectorised_index_equals_plain_bm25s() -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    docs = [[words[j] for j in rng.integers(0, 40, size=rng.integers(0, 12))] for _ in range(300)]
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in d] for d in docs]
    for method in ("lucene", "robertson", "atire"):
        plain = bm25s.BM25(method=method)
        plain.index((ids, dict(vocab)), show_progress=False)
        fast = _fast_bm25_class(bm25s)(method=method)
        fast.index((ids, dict(vocab)), show_progress=False)
        for part in ("indices", "indptr"):
            assert np.array_equal(plain.scores[part], fast.scores[part])
        np.testing.assert_allclose(plain.scores["data"], fast.scores["data"], rtol=1e-6)
        q = [vocab["w1"], vocab["w7"], vocab["w7"]]
        np.testing.assert_allclose(plain.get_scores(q), fast.get_scores(q), rtol=1e-6)


def test_field_scores_match_bm25s_per_field_and_weights_combine() -> None:
    lex = LexicalRetriever(["title", "category"], weights={"category": 0.5}).fit(DOCS)
    fs = lex.field_scores(["milk", "dairy"])
    for f, field in enumerate(("title", "category")):
        ref = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        ref.index([list(d) for d in DOCS[field]], show_progress=False)
        known = [t for t in ("milk", "dairy") if t in ref.vocab_dict]
        np.testing.assert_allclose(fs[f], ref.get_scores(known), rtol=1e-6)
    np.testing.assert_allclose(lex.scores(["milk", "dairy"]), fs[0] + 0.5 * fs[1], rtol=1e-6)
    items, scores = lex.search(["milk"], k=10)
    assert set(items.tolist()) == {0, 1, 2}
    assert items[0] == 2  # "milk" twice
    assert np.all(np.diff(scores) <= 0)


def test_unknown_and_empty_queries_match_nothing() -> None:
    lex = LexicalRetriever(["title", "category"]).fit(DOCS)
    assert lex.search(["zzz"], k=5)[0].size == 0
    assert lex.search([], k=5)[0].size == 0
    assert lex.field_scores([""]).sum() == 0


def test_coverage_and_exact_field_match() -> None:
    lex = LexicalRetriever(["title", "category"]).fit(DOCS)
    ids = lex.token_ids(["whole", "milk"])
    cover, exact = lex.coverage(ids, np.array([0, 1, 2, 3]))
    np.testing.assert_allclose(cover[0], [1.0, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(exact[0], [1.0, 0.0, 0.0, 0.0])
    assert cover[1].sum() == 0


def test_round_trip_through_arrays() -> None:
    lex = LexicalRetriever(["title", "category"], weights={"title": 2.0}).fit(DOCS)
    again = LexicalRetriever.from_arrays(*lex.to_arrays())
    np.testing.assert_array_equal(lex.scores(["milk", "cookie"]), again.scores(["milk", "cookie"]))
    assert again.vocabulary() == lex.vocabulary()


def test_bad_configuration_is_explained() -> None:
    with pytest.raises(ConfigError, match="not indexed"):
        LexicalRetriever(["title"], weights={"brand": 2.0})
    for w in (-1.0, float("nan"), float("inf")):  # each made every score non-positive: no results, silently
        with pytest.raises(ConfigError, match="finite and >= 0"):
            LexicalRetriever(["title"], weights={"title": w})
    with pytest.raises(ConfigError, match="one token list per item"):
        LexicalRetriever(["title", "category"]).fit({"title": [["a"]], "category": []})
    with pytest.raises(NotFittedError):
        LexicalRetriever(["title"]).field_scores(["a"])


def test_ties_are_broken_by_the_prior_then_by_index() -> None:
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.0, 1.0])
    items, _ = ranked(scores, 2)
    assert items.tolist() == [1, 2]
    items, _ = ranked(scores, 2, prior=np.array([0, 0.1, 0.2, 0.9, 0.5, 0]))
    assert items.tolist() == [3, 2]
    assert ranked(scores, 10)[0].tolist() == [1, 2, 3, 0, 5]  # zero scores never returned


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=40), st.integers(1, 45), st.integers(0, 2**16))
def test_top_positions_is_a_stable_sort_prefix(values: list[int], k: int, seed: int) -> None:
    s = np.array(values, dtype=np.float64)
    tb = np.random.default_rng(seed).random(s.size)
    got = top_positions(s, k, tiebreak=tb)
    want = np.lexsort((np.arange(s.size), -tb, -s))[:k]
    assert got.tolist() == want.tolist()


def test_field_scores_equal_bm25s_own_scoring_on_a_larger_index() -> None:
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(60)]
    docs = {"a": [[words[j] for j in rng.integers(0, 60, size=rng.integers(0, 9))] for _ in range(500)]}
    lex = LexicalRetriever(["a"]).fit(docs)
    model = lex._models[0]
    for _ in range(20):
        q = [words[j] for j in rng.integers(0, 60, size=rng.integers(1, 5))]
        ids = [model.vocab_dict[t] for t in q if t in model.vocab_dict]
        want = model.get_scores_from_ids(ids) if ids else np.zeros(500)
        np.testing.assert_allclose(lex.field_scores(q)[0], want, rtol=1e-5, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=4), min_size=1, max_size=12),
       st.lists(st.sampled_from(["a", "b", "c", "e"]), min_size=1, max_size=3))
def test_coverage_by_brute_force(docs: list[list[str]], query: list[str]) -> None:
    lex = LexicalRetriever(["f"]).fit({"f": docs})
    ids = lex.token_ids(query)
    n_query = len(set(query))
    cover, exact = lex.coverage(ids, np.arange(len(docs)), n_query=n_query)
    for i, d in enumerate(docs):
        assert cover[0, i] == pytest.approx(len(set(d) & set(query)) / n_query)
        assert exact[0, i] == float(set(d) == set(query))


def test_indexing_does_not_print_bm25s_debug_lines() -> None:
    # bm25s sets its logger to DEBUG on import; with logging configured at WARNING (as the CLI does)
    # its "Building index from IDs" lines reached stderr
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        LexicalRetriever(["title", "category"]).fit(DOCS)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert not [r for r in records if r.name == "bm25s"]
