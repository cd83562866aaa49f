"""The ranker's features of a query's candidates and the item statistics behind them, by hand on a
six-product catalogue (formulas from the module's docstring and docs/search.md)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from discoverly.data import Catalog, read_interactions
from discoverly.search.attributes import QueryAttributes, Size
from discoverly.search.features import Candidates, ItemStats, QueryContext, feature_names, query_item_features
from discoverly.search.index import CatalogIndex, IndexConfig

DAY = 86_400
T0 = 1_700_000_000
nan = np.nan


@pytest.fixture(scope="module")
def index() -> CatalogIndex:
    # index positions (item-id order): p1 0 … p6 5
    catalog = Catalog(pl.DataFrame({
        "item": ["p1", "p2", "p3", "p4", "p5", "p6"],
        "title": ["red apple", "red apple juice", "green apple", "apple", "pear", "banana"],
        "category": ["FRUIT", "DRINK", "FRUIT", "FRUIT", None, "FRUIT"],
        "brand": ["Acme", "Best", "Acme", "Acme", None, "Best"],
        "package_size": ["16 OZ", "16.4 OZ", "17 OZ", "2 CT", None, "1 CT"],
        "price": [1.0, 2.5, None, 3.0, 2.0, 1.0]}))
    return CatalogIndex.build(catalog, IndexConfig(fields=("title", "category"),
                                                   weights={"title": 2.0, "category": 0.5}, dense=False))


def _ctx(index: CatalogIndex, tokens: list[str], **kw: object) -> QueryContext:
    return QueryContext(text=" ".join(tokens), tokens=tokens, token_ids=index.lexical.token_ids(tokens),
                        **kw)  # type: ignore[arg-type]


CAND_ITEMS = ["p2", "p1", "p3", "p4", "p5"]  # p6 is not a candidate


def _cand(index: CatalogIndex) -> Candidates:
    return Candidates(items=index.items.indices(CAND_ITEMS),
                      field_scores=np.array([[3.0, 4.0, 1.0, 1.5, 0.0], [0.0, 0.2, 0.0, 0.0, 0.0]]),
                      dense=np.array([0.9, 0.8, nan, 0.1, 0.2]), lexical_rank=np.array([2.0, 1.0, 4.0, 3.0, nan]),
                      dense_rank=np.array([1.0, 2.0, nan, 4.0, 3.0]), fused=np.array([0.5, 0.4, 0.3, 0.2, 0.1]))


def _stats() -> ItemStats:
    return ItemStats(buyers=np.array([4, 2, 0, 1, 0, 3], dtype=np.float32),
                     recent_buyers=np.array([2, 0, 0, 1, 0, 1], dtype=np.float32), now=T0, recent_days=28)


def _columns(index: CatalogIndex, f: np.ndarray) -> dict[str, np.ndarray]:
    names = feature_names(index)
    assert f.shape == (len(CAND_ITEMS), len(names)) and f.dtype == np.float32
    return {n: f[:, i].astype(np.float64) for i, n in enumerate(names)}


def test_feature_names_follow_the_fields(index: CatalogIndex) -> None:
    assert feature_names(index) == [
        "bm25.title", "bm25.category", "bm25.total", "cover.title", "cover.category", "exact.title",
        "exact.category", "dense", "rank.lexical", "rank.dense", "rrf", "pop", "pop.recent", "pop.trend", "price",
        "price.rel", "brand.query", "brand.match", "size.query", "size.match", "size.logdiff", "cat.logp", "cat.rank",
        "query.tokens", "query.corrected"]


def test_plain_query_by_hand(index: CatalogIndex) -> None:
    col = _columns(index, query_item_features(_ctx(index, ["red", "apple"], corrected=True), _cand(index), index,
                                              _stats()))
    np.testing.assert_allclose(col["bm25.title"], [3.0, 4.0, 1.0, 1.5, 0.0])
    np.testing.assert_allclose(col["bm25.category"], [0.0, 0.2, 0.0, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(col["bm25.total"], [6.0, 8.1, 2.0, 3.0, 0.0], rtol=1e-6)
    # p2 "red apple juice", p1 "red apple", p3 "green apple", p4 "apple", p5 "pear"
    np.testing.assert_allclose(col["cover.title"], [1, 1, 0.5, 0.5, 0])
    np.testing.assert_allclose(col["cover.category"], 0)
    np.testing.assert_allclose(col["exact.title"], [0, 1, 0, 0, 0])
    np.testing.assert_allclose(col["exact.category"], 0)
    np.testing.assert_allclose(col["dense"], [0.9, 0.8, nan, 0.1, 0.2], rtol=1e-6)
    np.testing.assert_allclose(col["rank.lexical"], np.log1p([2, 1, 4, 3, nan]), rtol=1e-6)
    np.testing.assert_allclose(col["rank.dense"], np.log1p([1, 2, nan, 4, 3]), rtol=1e-6)
    np.testing.assert_allclose(col["rrf"], [0.5, 0.4, 0.3, 0.2, 0.1], rtol=1e-6)
    # buyers p1..p6 = 4 2 0 1 0 3 (10 in all), recent 2 0 0 1 0 1 (4): totals over the catalogue
    buyers, recent = np.array([2, 4, 0, 1, 0.0]), np.array([0, 2, 0, 1, 0.0])
    np.testing.assert_allclose(col["pop"], np.log1p(buyers), rtol=1e-6)
    np.testing.assert_allclose(col["pop.recent"], np.log1p(recent), rtol=1e-6)
    np.testing.assert_allclose(col["pop.trend"], np.log((recent / 4 + 1e-7) / (buyers / 10 + 1e-7)), rtol=1e-5)
    prices = np.array([2.5, 1.0, nan, 3.0, 2.0])
    np.testing.assert_allclose(col["price"], np.log1p(prices), rtol=1e-6)
    median = (np.log1p(2.0) + np.log1p(2.5)) / 2  # of the candidates with a price: 1, 2, 2.5, 3
    np.testing.assert_allclose(col["price.rel"], np.log1p(prices) - median, rtol=1e-5, atol=1e-7)
    # no brand, size or category belief in the query
    np.testing.assert_allclose(col["brand.query"], 0)
    np.testing.assert_allclose(col["size.query"], 0)
    for name in ("brand.match", "size.match", "size.logdiff", "cat.logp", "cat.rank"):
        assert np.isnan(col[name]).all(), name
    np.testing.assert_allclose(col["query.tokens"], 2)
    np.testing.assert_allclose(col["query.corrected"], 1)


def test_brand_size_and_category_by_hand(index: CatalogIndex) -> None:
    tokens = ["acme", "red", "apple", "16oz"]
    attrs = QueryAttributes(brand=index.attributes.brand_of("Acme"), size=Size(16.0, "oz"), rest=["red", "apple"])
    values = index.facets["category"][1]
    logp = np.array([{"DRINK": -0.5, "FRUIT": -1.5}[v] for v in values])
    ctx = _ctx(index, tokens, attributes=attrs, category_logp=logp)
    col = _columns(index, query_item_features(ctx, _cand(index), index, _stats()))
    # coverage counts all four query words; the exact match ignores the brand and the size
    np.testing.assert_allclose(col["cover.title"], [2 / 4, 2 / 4, 1 / 4, 1 / 4, 0])
    np.testing.assert_allclose(col["exact.title"], [0, 1, 0, 0, 0])
    np.testing.assert_allclose(col["brand.query"], 1)
    np.testing.assert_allclose(col["brand.match"], [0, 1, 1, 1, 0])  # p2 Best, p5 none
    np.testing.assert_allclose(col["size.query"], 1)
    # 16.4 oz is within 3 % of 16 oz, 17 oz is not; 2 CT is another dimension, p5 has no size
    np.testing.assert_allclose(col["size.match"], [1, 1, 0, 0, 0])
    np.testing.assert_allclose(col["size.logdiff"], [np.log(16.4 / 16), 0, np.log(17 / 16), nan, nan], rtol=1e-5)
    np.testing.assert_allclose(col["cat.logp"], [-0.5, -1.5, -1.5, -1.5, nan])
    np.testing.assert_allclose(col["cat.rank"], [np.log(1), np.log(2), np.log(2), np.log(2), nan])
    np.testing.assert_allclose(col["query.tokens"], 4)
    np.testing.assert_allclose(col["query.corrected"], 0)


def test_size_match_tolerance_is_relative_to_the_larger(index: CatalogIndex) -> None:
    # 16.4 against 16.9: |diff| 0.5 <= 0.03 * 16.9 = 0.507 (but > 0.03 * 16.4 = 0.492)
    ctx = _ctx(index, ["apple"], attributes=QueryAttributes(size=Size(16.9, "oz"), rest=["apple"]))
    col = _columns(index, query_item_features(ctx, _cand(index), index, _stats()))
    np.testing.assert_allclose(col["size.match"], [1, 0, 1, 0, 0])  # 16 vs 16.9: 0.9 > 0.507; 17 vs 16.9: yes


def test_category_ties_rank_by_category_order(index: CatalogIndex) -> None:
    ctx = _ctx(index, ["apple"], category_logp=np.array([-1.0, -1.0]))
    col = _columns(index, query_item_features(ctx, _cand(index), index, _stats()))
    values = index.facets["category"][1]
    rank = {v: i + 1 for i, v in enumerate(values)}
    np.testing.assert_allclose(col["cat.rank"], np.log([rank["DRINK"], rank["FRUIT"], rank["FRUIT"],
                                                       rank["FRUIT"], nan]))


def test_no_popularity_and_no_price(index: CatalogIndex) -> None:
    cand = _cand(index)
    cand.items = index.items.indices(["p3", "p3", "p3", "p3", "p3"])  # no price at all
    col = _columns(index, query_item_features(_ctx(index, ["apple"]), cand, index, ItemStats.empty(len(index))))
    np.testing.assert_allclose(col["pop"], 0)
    np.testing.assert_allclose(col["pop.trend"], 0)  # 1e-7 / 1e-7, no 0 / 0
    assert np.isnan(col["price"]).all() and np.isnan(col["price.rel"]).all()


def test_no_candidates(index: CatalogIndex) -> None:
    empty = Candidates(items=np.zeros(0, dtype=np.int64), field_scores=np.zeros((2, 0)), dense=np.zeros(0),
                       lexical_rank=np.zeros(0), dense_rank=np.zeros(0), fused=np.zeros(0))
    f = query_item_features(_ctx(index, ["apple"]), empty, index, _stats())
    assert f.shape == (0, len(feature_names(index))) and f.dtype == np.float32


def test_item_stats_by_hand(index: CatalogIndex) -> None:
    log = read_interactions(pl.DataFrame({
        "user": ["a", "a", "b", "c", "c", "a", "b", "d"],
        "item": ["p1", "p1", "p1", "p2", "gone", "p4", "p4", "p1"],
        "time": [T0, T0 + 20 * DAY, T0 + 25 * DAY, T0 + 26 * DAY, T0 + 27 * DAY, T0 + 29 * DAY, T0 + 29 * DAY,
                 T0 + 40 * DAY]}), user="user", item="item", time="time")
    stats = ItemStats.fit(log, index, now=T0 + 30 * DAY, recent_days=7)  # d's purchase is after now
    # distinct buyers before now: p1 a, b; p2 c; p4 a, b; recent (day 23 to 30): p1 b, p2 c, p4 a, b
    np.testing.assert_array_equal(stats.buyers, [2, 1, 0, 2, 0, 0])
    np.testing.assert_array_equal(stats.recent_buyers, [1, 1, 0, 2, 0, 0])
    assert stats.now == T0 + 30 * DAY and stats.recent_days == 7
    score = np.log1p([1, 1, 0, 2, 0, 0]) * 1000 + np.log1p([2, 1, 0, 2, 0, 0])
    np.testing.assert_allclose(stats.prior(), score / (score.max() * 1.001), rtol=1e-6)
    assert stats.prior().max() < 1
    # default: every event counts, now is just after the last one
    every = ItemStats.fit(log, index, recent_days=7)
    assert every.now == T0 + 40 * DAY + 1
    np.testing.assert_array_equal(every.buyers, [3, 1, 0, 2, 0, 0])
    np.testing.assert_array_equal(every.recent_buyers, [1, 0, 0, 0, 0, 0])  # day 33 to 40: d only
    # default window is 28 days
    assert ItemStats.fit(log, index, now=T0 + 30 * DAY).recent_days == 28
    np.testing.assert_array_equal(ItemStats.fit(log, index, now=T0 + 30 * DAY).recent_buyers, [2, 1, 0, 2, 0, 0])


def test_item_stats_empty_and_nothing_before_now(index: CatalogIndex) -> None:
    empty = ItemStats.empty(3, now=5, recent_days=9)
    assert empty.now == 5 and empty.recent_days == 9 and empty.buyers.dtype == np.float32
    np.testing.assert_array_equal(empty.prior(), [0, 0, 0])
    empty.buyers[0] = 1.0
    assert empty.recent_buyers[0] == 0  # two arrays, not one
    assert ItemStats.empty(2).recent_days == 28 and ItemStats.empty(2).now == 0
    log = read_interactions(pl.DataFrame({"user": ["a"], "item": ["p1"], "time": [T0]}),
                            user="user", item="item", time="time")
    early = ItemStats.fit(log, index, now=T0)
    np.testing.assert_array_equal(early.buyers, 0)
    np.testing.assert_array_equal(early.prior(), 0)
    assert ItemStats.fit(log, index, now=T0 + 1).buyers[0] == 1
