"""The engine's first stage against reciprocal-rank fusion computed by hand (mutation testing:
the pipeline tests check which products come first, never a fused score, a depth or a weight).

Hybrid score of an item: ``w_lex / (k0 + rank_lex) + w_dense / (k0 + rank_dense)``, a list the
item is not in adding nothing (``docs/search.md``, ``EngineConfig.fusion_*``). The lexical and
dense lists are the engine's own ``method="lexical"`` / ``"dense"`` rankings cut at their depths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.data import Catalog, Interactions, read_interactions
from discoverly.errors import ConfigError, NotFittedError
from discoverly.search.engine import EngineConfig, SearchEngine, _rank_in
from discoverly.search.index import IndexConfig

FIELDS = ("title", "product_type", "category", "brand", "package_size")
W_LEX, W_DENSE, K0 = 2.0, 0.5, 1.0


@pytest.fixture(scope="module")
def engine(catalog: Catalog, purchases: Interactions, encoder: Any) -> SearchEngine:
    config = EngineConfig(lexical_depth=4, dense_depth=3, personal_depth=2, fusion_weights=(W_LEX, W_DENSE),
                          fusion_k0=K0)
    return SearchEngine.build(catalog, purchases, index_config=IndexConfig(fields=FIELDS), encoder=encoder,
                              config=config)


def _lists(engine: SearchEngine, query: str) -> tuple[list[int], list[int]]:
    ctx = engine.understand(query)
    lex = engine.rank(ctx, k=engine.config.lexical_depth, method="lexical")[0].tolist()
    dense = engine.rank(ctx, k=engine.config.dense_depth, method="dense")[0].tolist()
    return lex, dense


def _fused_by_hand(item: int, lex: list[int], dense: list[int]) -> float:
    s = 0.0
    if item in lex:
        s += W_LEX / (K0 + lex.index(item) + 1)
    if item in dense:
        s += W_DENSE / (K0 + dense.index(item) + 1)
    return s


@pytest.mark.parametrize("query", ["chocolate chip cookies", "whole milk", "store brand berries", "pizza"])
def test_hybrid_scores_are_weighted_reciprocal_ranks(engine: SearchEngine, query: str) -> None:
    lex, dense = _lists(engine, query)
    assert len(lex) <= 4 and len(dense) == 3  # the depths cut the lists
    ctx = engine.understand(query)
    items, scores, used = engine.rank(ctx, k=20, method="hybrid")
    assert used == "hybrid"
    assert sorted(items.tolist()) == sorted(set(lex) | set(dense))  # the union of the two cut lists, nothing else
    want = [_fused_by_hand(i, lex, dense) for i in items.tolist()]
    np.testing.assert_allclose(scores, want, rtol=1e-12)
    assert np.all(np.diff(scores) <= 0)
    cut = engine.rank(ctx, k=2, method="hybrid")
    assert cut[0].tolist() == items[:2].tolist()
    # an engine without a ranker answers "auto" with the same fused order
    auto = engine.rank(ctx, k=20, method="auto")
    assert auto[2] == "hybrid" and auto[0].tolist() == items.tolist()


@pytest.mark.parametrize("query", ["whole milk", "store brand", "national brand oz"])
def test_candidates_carry_ranks_fused_scores_and_the_customers_own_matches(engine: SearchEngine, query: str) -> None:
    lex, dense = _lists(engine, query)
    ctx = engine.understand(query)
    general = engine.candidates(ctx)
    assert general.items.tolist()[: len(lex)] == lex  # first-seen order: the lexical list, then dense newcomers
    np.testing.assert_allclose(general.fused, [_fused_by_hand(i, lex, dense) for i in general.items.tolist()])
    for got, ranking in ((general.lexical_rank, lex), (general.dense_rank, dense)):
        want = [ranking.index(i) + 1.0 if i in ranking else np.nan for i in general.items.tolist()]
        np.testing.assert_array_equal(got, want)
    assert engine.index.dense is not None and ctx.vector is not None
    np.testing.assert_allclose(general.dense, engine.index.dense.vectors[engine.index.dense.doc_text[general.items]]
                               @ ctx.vector, rtol=1e-6)
    total = engine.index.lexical.scores(ctx.tokens)
    np.testing.assert_allclose(general.field_scores.T @ engine.index.lexical.weights, total[general.items], rtol=1e-6)
    # a customer's bought items that match the query lexically, best lexical score first (then most
    # purchase days), at most personal_depth of them, are added (fused score 0) when they are not
    # candidates already
    assert engine.profiles is not None
    added = 0
    for user in ("u1", "u2", "u3", "u4", "u5", "u6", "u7"):
        row = engine.user_row(user)
        hist, days, _ = engine.profiles.history(row)
        matching = [(-float(total[h]), -int(d), n, int(h))
                    for n, (h, d) in enumerate(zip(hist, days, strict=True)) if total[h] > 0]
        mine = [h for *_, h in sorted(matching)][:2]
        extra = sorted(set(mine) - set(general.items.tolist()))
        cand = engine.candidates(ctx, row)
        assert cand.items.tolist() == general.items.tolist() + extra, user
        np.testing.assert_array_equal(cand.fused, np.concatenate([general.fused, np.zeros(len(extra))]))
        assert np.isnan(cand.lexical_rank[len(general.items):]).all()
        assert engine.candidates(ctx, row, personal=False).items.tolist() == general.items.tolist()
        added += len(extra)
        # "hybrid" (and "auto" without a ranker) never adds the customer's items
        for method in ("hybrid", "auto"):
            mine_items, _, used = engine.rank(ctx, user, k=20, method=method)  # type: ignore[arg-type]
            assert used == "hybrid" and mine_items.tolist() == engine.rank(ctx, k=20, method="hybrid")[0].tolist()
    if query != "whole milk":
        assert added  # some customer brought an item of their own


def test_score_items_fuses_ranks_over_the_whole_catalogue(engine: SearchEngine) -> None:
    ctx = engine.understand("chocolate chip cookies")
    items = np.arange(len(engine.index))
    total = engine.index.lexical.scores(ctx.tokens).astype(np.float64)
    sims = engine.index.dense.vectors[engine.index.dense.doc_text] @ ctx.vector
    want = []
    for i in items:
        s = W_DENSE / (K0 + 1 + np.sum(sims > sims[i]))  # competition ranks: ties share the better rank
        if total[i] > 0:
            s += W_LEX / (K0 + 1 + np.sum(total > total[i]))
        want.append(s)
    np.testing.assert_allclose(engine.score_items(ctx, items, method="hybrid"), want, rtol=1e-9)
    np.testing.assert_allclose(engine.score_items(ctx, items, method="auto"), want, rtol=1e-9)
    np.testing.assert_allclose(engine.score_items(ctx, items, method="lexical"), total, rtol=1e-6)
    np.testing.assert_allclose(engine.score_items(ctx, items[::-1], method="dense"), sims[::-1], rtol=1e-6)


def test_rank_in_is_one_based_and_nan_when_absent() -> None:
    got = _rank_in(np.array([7, 3, 9]), np.array([9, 4, 7, 3, 10, 0]))
    np.testing.assert_array_equal(got, [3, np.nan, 1, 2, np.nan, np.nan])
    assert np.isnan(_rank_in(np.array([], dtype=np.int64), np.array([1, 2]))).all()
    np.testing.assert_array_equal(_rank_in(np.array([7, 3, 9]), np.array([3])), [2])
    assert _rank_in(np.array([5]), np.array([], dtype=np.int64)).size == 0


def test_depth_settings() -> None:
    assert EngineConfig(dense_depth=0, personal_depth=0).dense_depth == 0  # turns the source off
    assert EngineConfig(max_query_chars=1, max_query_tokens=1).max_query_tokens == 1
    for bad in ({"lexical_depth": 0}, {"dense_depth": -1}, {"personal_depth": -1}, {"lexical_depth": -5}):
        with pytest.raises(ConfigError, match="depths"):
            EngineConfig(**bad)
    for bad in ({"max_query_chars": 0}, {"max_query_tokens": 0}):
        with pytest.raises(ConfigError, match="at least 1"):
            EngineConfig(**bad)


def _pizza_d2_more_popular() -> Interactions:
    # D1 and D2 ("Frozen Pizza", national / store brand) score the same for "frozen pizza"
    frame = pl.DataFrame({"user": ["v1", "v2", "v3", "v4"], "item": ["D2", "D2", "D2", "D1"],
                          "time": [1_700_000_000 + 3600 * i for i in range(4)]})
    return read_interactions(frame, user="user", item="item", time="time")


@pytest.mark.parametrize(("tiebreak", "want"), [(True, ["D2", "D1"]), (False, ["D1", "D2"])])
def test_popularity_orders_equal_scores_only_when_asked(catalog: Catalog, tiebreak: bool, want: list[str]) -> None:
    eng = SearchEngine.build(catalog, _pizza_d2_more_popular(), index_config=IndexConfig(fields=FIELDS, dense=False),
                             config=EngineConfig(popularity_tiebreak=tiebreak))
    for method in ("lexical", "hybrid"):
        assert eng.search("frozen pizza", k=2, method=method).items == want, method  # type: ignore[arg-type]


def test_an_index_without_dense_part(catalog: Catalog) -> None:
    eng = SearchEngine.build(catalog, index_config=IndexConfig(fields=FIELDS, dense=False),
                             config=EngineConfig(fusion_weights=(W_LEX, W_DENSE), fusion_k0=K0))
    with pytest.raises(ConfigError, match=r"no dense part; build it with IndexConfig\(dense=True\)"):
        eng.search("milk", method="dense")
    for method, what in (("ltr", "no ranker"), ("personal", "no personalised ranker")):
        with pytest.raises(NotFittedError, match=f"{what}: train one with fit_ranker"):
            eng.search("milk", method=method)  # type: ignore[arg-type]
    nothing = eng.search("qwertyuiop", k=3, method="hybrid")
    assert nothing.items == [] and nothing.scores == []
    one = eng.search("blueberries", k=3, method="hybrid")  # B3 alone
    assert one.items == ["B3"] and one.scores == [pytest.approx(W_LEX / (K0 + 1))]
    items, _, used = eng.rank(eng.understand("brand"))  # twelve titles say "brand": the default k is 10
    assert items.size == 10 and used == "hybrid"
    ctx = eng.understand("whole milk 1 gal")
    items = np.arange(len(eng.index))
    total = eng.index.lexical.scores(ctx.tokens).astype(np.float64)
    want = [W_LEX / (K0 + 1 + np.sum(total > t)) if t > 0 else 0.0 for t in total]
    np.testing.assert_allclose(eng.score_items(ctx, items, method="hybrid"), want, rtol=1e-9)
    assert (eng.score_items(ctx, items, method="dense") == -1).all()
    np.testing.assert_array_equal(eng.score_items(ctx, items), want)  # the default method: auto
    assert np.isnan(eng.candidates(ctx).dense).all()
    for method in ("ltr", "personal"):
        with pytest.raises(NotFittedError, match=r"no ranker: train one with fit_ranker\(\)"):
            eng.score_items(ctx, items, method=method)  # type: ignore[arg-type]
    lex_items, _, _ = eng.rank(ctx, k=20, method="lexical")
    hybrid_items, hybrid_scores, _ = eng.rank(ctx, k=20, method="hybrid")
    assert hybrid_items.tolist() == lex_items.tolist()
    np.testing.assert_allclose(hybrid_scores, W_LEX / (K0 + np.arange(1, lex_items.size + 1)), rtol=1e-12)


def test_a_ranker_with_constant_scores_keeps_the_first_stages_order(catalog: Catalog, purchases: Interactions,
                                                                     encoder: Any) -> None:
    # a log too small for a single split: docs/search.md and the ranker's warning say results keep
    # the first stage's order; they were ordered by popularity alone ("whole milk" gave A1, B1
    # strawberries, C1 cookies, then A2)
    eng = SearchEngine.build(catalog, purchases, index_config=IndexConfig(fields=FIELDS), encoder=encoder,
                             config=EngineConfig(lexical_depth=3, dense_depth=2))
    log = pl.DataFrame({"query": ["whole milk", "milk", "cookies"], "item": ["A1", "A2", "C1"],
                        "user": ["u2", "u1", "u1"]})
    eng.fit_ranker(log, purchases)
    assert eng.profiles is not None
    prior = eng.stats.prior()
    by_popularity = 0
    for query in ("whole milk", "cookies", "store brand", "berries", "national brand"):
        hybrid = eng.search(query, k=6, method="hybrid")
        ltr = eng.search(query, k=6, method="ltr")
        assert len(set(ltr.scores)) == 1  # the constant ranker
        assert ltr.items == hybrid.items, query
        ctx = eng.understand(query)
        total = eng.index.lexical.scores(ctx.tokens)
        fused = set(eng.index.items.indices(hybrid.items).tolist())
        for user in ("u1", "u3", "u4"):
            personal = eng.search(query, user=user, k=50, method="personal")
            assert personal.personalized and len(set(personal.scores)) == 1
            # the fused candidates, then the customer's own matches (fused score 0) by popularity
            own = sorted({int(h) for h in eng.profiles.history(eng.user_row(user))[0] if total[h] > 0} - fused,
                         key=lambda i: (-prior[i], i))
            assert personal.items == hybrid.items + eng.index.items.ids_of(np.array(own, np.int64)).tolist()
            by_popularity += own != sorted(own)
            scored = eng.score_items(ctx, np.arange(len(eng.index)), user=user, method="personal")
            assert scored.shape == (len(eng.index),)
    assert by_popularity  # popularity, not the index, ordered some customer's own matches


def test_products_sharing_a_text_are_ordered_by_popularity_in_every_list(encoder: Any) -> None:
    catalog = Catalog(pl.DataFrame({"item": ["P1", "P2", "P3"],
                                    "title": ["Frozen Pizza", "Frozen Pizza", "Garden Hose"]}))
    frame = pl.DataFrame({"user": ["v1", "v2", "v3"], "item": ["P2", "P2", "P1"],
                          "time": [1_700_000_000 + 3600 * i for i in range(3)]})
    buys = read_interactions(frame, user="user", item="item", time="time")
    for tiebreak, want in ((True, ["P2", "P1"]), (False, ["P1", "P2"])):
        eng = SearchEngine.build(catalog, buys, index_config=IndexConfig(fields=("title",)), encoder=encoder,
                                 config=EngineConfig(popularity_tiebreak=tiebreak))
        for method in ("dense", "lexical", "hybrid"):
            assert eng.search("frozen pizza", k=2, method=method).items == want, (tiebreak, method)  # type: ignore[arg-type]
        cand = eng.candidates(eng.understand("frozen pizza"))
        first = eng.index.items.indices([want[0]])[0]
        assert cand.dense_rank[cand.items.tolist().index(first)] == 1.0


def test_the_customers_own_match_is_the_one_bought_on_more_days() -> None:
    # four products with the same title tie lexically; the lexical list (depth 1) takes the most
    # popular (Q1); customer w bought Q3 on one day and Q4 on three: their one personal candidate is Q4
    catalog = Catalog(pl.DataFrame({"item": ["Q1", "Q2", "Q3", "Q4", "Q5"],
                                    "title": ["Cheese Pizza"] * 4 + ["Garden Hose"]}))
    day = 86_400
    rows = [("v1", "Q1", 0), ("v2", "Q1", 0), ("v3", "Q1", 0), ("w", "Q3", 0), ("w", "Q4", 0), ("w", "Q4", day),
            ("w", "Q4", 2 * day)]
    frame = pl.DataFrame(rows, schema=["user", "item", "time"], orient="row").with_columns(
        pl.col("time") + 1_700_000_000)
    buys = read_interactions(frame, user="user", item="item", time="time")
    eng = SearchEngine.build(catalog, buys, index_config=IndexConfig(fields=("title",), dense=False),
                             config=EngineConfig(lexical_depth=1, dense_depth=0, personal_depth=1))
    ctx = eng.understand("cheese pizza")
    assert eng.candidates(ctx).items.tolist() == [0]
    cand = eng.candidates(ctx, eng.user_row("w"))
    assert cand.items.tolist() == [0, 3] and cand.fused.tolist() == [1 / 61, 0.0]
    # BM25 of "cheese pizza" is below 1 here (idf ln(1 + 1.5/4.5)): the four still share lexical rank 1
    assert 0 < eng.index.lexical.scores(ctx.tokens)[0] < 1
    np.testing.assert_allclose(eng.score_items(ctx, np.arange(5), method="hybrid"), [1 / 61] * 4 + [0.0])


class _Fixed:
    """A ranker stand-in whose every score is one value and that records the width of its features."""

    def __init__(self, value: float) -> None:
        self.value, self.widths = value, []

    def predict(self, features: np.ndarray) -> np.ndarray:
        self.widths.append(features.shape[1])
        return np.full(features.shape[0], self.value)


def test_score_items_chooses_the_personal_ranker_only_for_a_customer_with_history(
        catalog: Catalog, purchases: Interactions, encoder: Any) -> None:
    """Which ranker scores a fixed candidate list (mutation testing: score_items' choice between the
    personal and the general ranker survived every change, both rankers scoring alike in the tests)."""
    eng = SearchEngine.build(catalog, purchases, index_config=IndexConfig(fields=FIELDS), encoder=encoder)
    general, personal = _Fixed(1.0), _Fixed(2.0)
    eng.ranker, eng.personal_ranker = general, personal  # type: ignore[assignment]
    ctx = eng.understand("milk")
    items = np.arange(len(eng.index))
    known = purchases.users.id(0)
    for user, method, want in ((known, "auto", 2.0), (known, "personal", 2.0), (known, "ltr", 1.0),
                               (None, "auto", 1.0), ("nobody", "auto", 1.0), ("nobody", "personal", 1.0)):
        scores = eng.score_items(ctx, items, user=user, method=method)  # type: ignore[arg-type]
        assert scores.shape == (items.size,) and set(scores.tolist()) == {want}, (user, method)
    # the personal ranker reads the general features and the customer's own
    assert min(personal.widths) > max(general.widths)
