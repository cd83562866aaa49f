"""Lexical retrieval's maths against BM25 written by hand from its formula, and the edges of its
ranking, validation, coverage and persistence (mutation testing: the other tests compare the
index with bm25s at k1=1.2, b=0.75 only, so a k1 or b that never reached the index survived).

Lucene's BM25 ("accurate" variant, Kamphuis et al., ECIR 2020), which the retriever uses per
field: ``idf(t) = ln(1 + (N - df_t + 0.5) / (df_t + 0.5))`` and
``score(q, d) = sum_{t in q} idf(t) * tf_{t,d} / (tf_{t,d} + k1 * (1 - b + b * |d| / avgdl))``;
an item's score is ``sum_f weight_f * score_f``.
"""

from __future__ import annotations

import math
import warnings

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


def bm25_by_hand(docs: list[list[str]], query: list[str], k1: float, b: float) -> list[float]:
    """Lucene BM25 of ``query`` against each of ``docs``, one query token at a time."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    out = []
    for d in docs:
        s = 0.0
        for t in query:
            df = sum(t in other for other in docs)
            tf = d.count(t)
            if tf:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                s += idf * tf / (tf + k1 * (1 - b + b * len(d) / avgdl))
        out.append(s)
    return out


def test_one_score_by_hand() -> None:
    # N = 3, avgdl = 4/3, df(a) = 2: idf = ln(1 + 1.5/2.5) = ln 1.6; item 1 (|d| = 1, tf = 1):
    # 1 / (1 + 1.2 * (0.25 + 0.75 * 0.75)) = 1 / 1.975
    lex = LexicalRetriever(["f"]).fit({"f": [["a", "b"], ["a"], ["c"]]})
    got = lex.field_scores(["a"])
    assert got.dtype == np.float32 and got.shape == (1, 3)
    assert got[0, 1] == pytest.approx(math.log(1.6) / 1.975, rel=1e-6)
    assert got[0, 2] == 0.0


@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (0.9, 0.4), (2.0, 1.0), (0.0, 0.5), (1.5, 0.0)])
def test_field_scores_are_lucene_bm25_for_any_k1_and_b(k1: float, b: float) -> None:
    weights = {"title": 2.0, "category": 0.5}
    lex = LexicalRetriever(["title", "category"], weights=weights, k1=k1, b=b).fit(DOCS)
    for query in (["milk"], ["milk", "dairy"], ["chocolate", "milk", "cookie"], ["milk", "milk"]):
        fs = lex.field_scores(query)
        want = {f: bm25_by_hand(DOCS[f], query, k1, b) for f in ("title", "category")}
        np.testing.assert_allclose(fs[0], want["title"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(fs[1], want["category"], rtol=1e-5, atol=1e-7)
        total = [2.0 * t + 0.5 * c for t, c in zip(want["title"], want["category"], strict=True)]
        np.testing.assert_allclose(lex.scores(query), total, rtol=1e-5, atol=1e-7)


def test_k1_zero_ignores_term_frequency_and_b_zero_ignores_length() -> None:
    docs = {"f": [["milk"], ["milk", "milk", "milk"], ["milk", "cream", "butter", "cheese"], ["tea"]]}
    idf = math.log(1 + (4 - 3 + 0.5) / (3 + 0.5))
    flat = LexicalRetriever(["f"], k1=0.0).fit(docs).field_scores(["milk"])[0]
    np.testing.assert_allclose(flat, [idf, idf, idf, 0.0], rtol=1e-6)
    # b = 0: the three-milk item beats the one-milk item by tf alone, whatever the lengths
    no_len = LexicalRetriever(["f"], b=0.0).fit(docs).field_scores(["milk"])[0]
    np.testing.assert_allclose(no_len[:3], [idf / (1 + 1.2), idf * 3 / (3 + 1.2), idf / (1 + 1.2)], rtol=1e-6)


def test_explicit_weights_replace_the_configured_ones() -> None:
    lex = LexicalRetriever(["title", "category"], weights={"title": 3.0}).fit(DOCS)
    fs = lex.field_scores(["milk", "dairy"])
    np.testing.assert_allclose(lex.scores(["milk", "dairy"], weights=np.array([0.0, 1.0])), fs[1], rtol=1e-6)
    np.testing.assert_allclose(lex.scores(["milk", "dairy"], weights=[1, 2]), fs[0] + 2 * fs[1], rtol=1e-6)


def test_a_zero_weight_leaves_the_field_out() -> None:
    lex = LexicalRetriever(["title", "category"], weights={"category": 0.0}).fit(DOCS)
    np.testing.assert_allclose(lex.scores(["dairy", "milk"]), lex.field_scores(["milk"])[0], rtol=1e-6)
    assert lex.search(["dairy"])[0].size == 0


def test_parameter_bounds() -> None:
    for k1, b in ((0.0, 0.75), (1.2, 0.0), (1.2, 1.0), (0.5, 0.3)):  # the ends are allowed
        assert LexicalRetriever(["f"], k1=k1, b=b).k1 == k1
    for k1, b in ((-0.1, 0.75), (1.2, -0.1), (1.2, 1.01), (-1.0, 2.0)):
        with pytest.raises(ConfigError, match=r"k1 >= 0 and 0 <= b <= 1"):
            LexicalRetriever(["f"], k1=k1, b=b)
    with pytest.raises(ConfigError, match="at least one field"):
        LexicalRetriever([])
    with pytest.raises(ConfigError, match=r"no tokens given for fields \['category'\]"):
        LexicalRetriever(["title", "category"]).fit({"title": DOCS["title"]})
    with pytest.raises(NotFittedError, match="call fit"):
        LexicalRetriever(["f"]).token_ids(["a"])


def test_vocabulary_counts_documents_summed_over_fields() -> None:
    lex = LexicalRetriever(["title", "category"]).fit(DOCS)
    # "milk" is in three titles (twice in one: documents count once); "cookie" in a title and a category
    assert lex.vocabulary() == {"whole": 1, "milk": 3, "skim": 1, "chocolate": 1, "cookie": 2, "dairy": 2,
                                "candy": 1, "misc": 1}
    empty_field = LexicalRetriever(["title", "brand"]).fit({"title": DOCS["title"], "brand": [[]] * 5})
    assert empty_field.vocabulary() == {"whole": 1, "milk": 3, "skim": 1, "chocolate": 1, "cookie": 1}


def test_ranked_at_the_edges_of_k() -> None:
    one = np.array([0.0, 0.0, 2.5, 0.0])
    items, scores = ranked(one, 1)
    assert items.tolist() == [2] and scores.tolist() == [2.5]
    assert ranked(one, 3)[0].tolist() == [2]
    many = np.array([1.0, 3.0, 2.0, 0.0])
    assert ranked(many, 1)[0].tolist() == [1]
    for k in (0, -1):
        items, scores = ranked(many, k)
        assert items.size == 0 and scores.size == 0
    items, scores = ranked(np.zeros(3), 5)
    assert items.size == 0 and scores.size == 0
    assert items.dtype == np.int64 and scores.dtype == np.float32
    assert ranked(many, 2)[1].dtype == np.float32


def test_search_cuts_at_ten_by_default_and_uses_the_prior_for_ties() -> None:
    lex = LexicalRetriever(["f"]).fit({"f": [["milk"]] * 12 + [["tea"]]})
    items, _ = lex.search(["milk"])
    assert items.tolist() == list(range(10))  # a 12-way tie: the first ten by index
    prior = np.zeros(13)
    prior[[11, 7]] = [0.9, 0.5]
    assert lex.search(["milk"], k=3, prior=prior)[0].tolist() == [11, 7, 0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=80), st.integers(1, 40), st.integers(0, 2**16))
def test_top_positions_with_tied_tiebreaks_keeps_the_lower_positions(values: list[int], k: int, seed: int) -> None:
    # few distinct scores and few distinct tiebreaks: cuts through ties of both (the other
    # property test draws continuous tiebreaks, which never tie)
    s = np.array(values, dtype=np.float64)
    tb = np.random.default_rng(seed).integers(0, 2, s.size).astype(np.float64)
    got = top_positions(s, k, tiebreak=tb)
    assert got.tolist() == np.lexsort((np.arange(s.size), -tb, -s))[:k].tolist()


def test_top_positions_orders_the_selected_best_first() -> None:
    s = np.array([1.0, 5.0, 3.0, 2.0, 4.0])
    assert top_positions(s, 2).tolist() == [1, 4]
    assert top_positions(s, 3, tiebreak=np.array([0, 0, 0, 0, 1.0])).tolist() == [1, 4, 2]


def test_coverage_reads_every_field() -> None:
    lex = LexicalRetriever(["title", "category"]).fit(DOCS)
    # no title holds "dairy": the category field must still be read
    cover, exact = lex.coverage(lex.token_ids(["dairy"]), np.array([0, 1, 2]))
    np.testing.assert_allclose(cover, [[0, 0, 0], [1, 1, 0]])
    np.testing.assert_allclose(exact, [[0, 0, 0], [1, 1, 0]])
    # item 4 has an empty title: its category still counts
    cover, exact = lex.coverage(lex.token_ids(["milk", "misc"]), np.array([4]), n_query=2)
    np.testing.assert_allclose(cover, [[0.0], [0.5]])
    np.testing.assert_allclose(exact, [[0.0], [0.0]])


def test_k1_b_and_coverage_survive_a_round_trip() -> None:
    lex = LexicalRetriever(["title", "category"], weights={"title": 2.0}, k1=0.9, b=0.4).fit(DOCS)
    again = LexicalRetriever.from_arrays(*lex.to_arrays())
    assert (again.k1, again.b) == (0.9, 0.4)
    assert again.to_arrays()[0] == lex.to_arrays()[0]
    docs = np.arange(5)
    for got, want in zip(again.coverage(again.token_ids(["milk", "dairy"]), docs),
                         lex.coverage(lex.token_ids(["milk", "dairy"]), docs), strict=True):
        np.testing.assert_array_equal(got, want)


def test_an_empty_catalogue_answers_nothing_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lex = LexicalRetriever(["f"]).fit({"f": []})
        assert lex.n_docs == 0 and lex.search(["milk"])[0].size == 0


def test_other_bm25s_methods_fall_back_to_bm25s_own_build() -> None:
    docs = [["a", "b", "a"], ["b"], ["c", "a"], []]
    vocab = {"a": 0, "b": 1, "c": 2}
    ids = [[vocab[t] for t in d] for d in docs]
    for method in ("bm25l", "bm25+", "lucene"):
        plain = bm25s.BM25(method=method, k1=0.8, b=0.3)
        plain.index((ids, dict(vocab)), show_progress=False)
        fast = _fast_bm25_class(bm25s)(method=method, k1=0.8, b=0.3)
        fast.index((ids, dict(vocab)), show_progress=False)
        for part in ("data", "indices", "indptr"):
            assert fast.scores[part].dtype == plain.scores[part].dtype, part
        np.testing.assert_allclose(fast.get_scores([0, 1]), plain.get_scores([0, 1]), rtol=1e-6)
