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


def test_brand_alone_or_an_unknown_word_in_the_exact_match(index: CatalogIndex) -> None:
    brand = index.attributes.brand_of("Acme")
    only_brand = _ctx(index, ["acme", "red", "apple"], attributes=QueryAttributes(brand=brand, rest=["red", "apple"]))
    col = _columns(index, query_item_features(only_brand, _cand(index), index, _stats()))
    np.testing.assert_allclose(col["exact.title"], [0, 1, 0, 0, 0])  # "red apple" is the query without its brand
    np.testing.assert_allclose(col["size.query"], 0)
    # a word no field knows is still a query word the title lacks: not an exact match
    unknown = _ctx(index, ["acme", "red", "apple", "xyzzy"],
                   attributes=QueryAttributes(brand=brand, rest=["red", "apple", "xyzzy"]))
    col = _columns(index, query_item_features(unknown, _cand(index), index, _stats()))
    np.testing.assert_allclose(col["exact.title"], 0)


def test_align_items_marks_items_outside_the_catalogue(index: CatalogIndex) -> None:
    from discoverly.search.features import align_items

    log = read_interactions(pl.DataFrame({"user": ["a", "a", "a"], "item": ["p4", "gone", "p1"], "time": [T0] * 3}),
                            user="user", item="item", time="time")
    pos = align_items(log, index)
    assert dict(zip(log.items.ids.tolist(), pos.tolist(), strict=True)) == {"p4": 3, "gone": -1, "p1": 0}


def test_item_stats_at_time_zero_and_as_float32(index: CatalogIndex) -> None:
    log = read_interactions(pl.DataFrame({"user": ["a"], "item": ["p1"], "time": [0]}),
                            user="user", item="item", time="time")
    assert ItemStats.fit(log, index, now=0).buyers[0] == 0  # strictly before now
    stats = ItemStats.fit(log, index, now=1)
    assert stats.buyers[0] == 1 and stats.recent_buyers[0] == 1
    assert stats.buyers.dtype == stats.recent_buyers.dtype == np.float32  # as ItemStats.empty


def test_prior_by_hand() -> None:
    stats = ItemStats(buyers=np.array([5, 1], dtype=np.float32), recent_buyers=np.array([0, 1], dtype=np.float32),
                      now=0, recent_days=28)
    top = 1000 * np.log(2) + np.log(2)
    np.testing.assert_allclose(stats.prior(), [np.log(6) / (top * 1.001), top / (top * 1.001)], rtol=1e-6)
    small = ItemStats(buyers=np.array([1, 0], dtype=np.float32), recent_buyers=np.zeros(2, dtype=np.float32),
                      now=0, recent_days=28)  # top score log 2 < 1
    np.testing.assert_allclose(small.prior(), [1 / 1.001, 0], rtol=1e-6)
    assert ItemStats.empty(3).prior().shape == (3,)
    assert ItemStats.empty(0).prior().shape == (0,)


@pytest.fixture(scope="module")
def wide() -> CatalogIndex:
    # twenty categories C00..C19 (one item each, wNN in CNN) and sizes at the edges
    sizes = ["100 OZ", "0.5 OZ", "0 OZ"] + [None] * 17
    catalog = Catalog(pl.DataFrame({"item": [f"w{i:02d}" for i in range(20)], "title": ["thing"] * 20,
                                    "category": [f"C{i:02d}" for i in range(20)], "package_size": sizes}))
    return CatalogIndex.build(catalog, IndexConfig(fields=("title",), dense=False))


def _wide_cand(wide: CatalogIndex) -> Candidates:
    n = len(wide)
    return Candidates(items=np.arange(n), field_scores=np.ones((1, n)), dense=np.full(n, nan),
                      lexical_rank=np.arange(1.0, n + 1), dense_rank=np.full(n, nan), fused=np.zeros(n))


def test_category_ties_over_many_categories(wide: CatalogIndex) -> None:
    values = wide.facets["category"][1]
    assert values == [f"C{i:02d}" for i in range(20)]
    logp = -(np.arange(20) % 3).astype(np.float64)  # three beliefs, many ties
    ctx = _ctx(wide, ["thing"], category_logp=logp)
    f = query_item_features(ctx, _wide_cand(wide), wide, ItemStats.empty(len(wide)))
    rank = [1 + sum(logp[c] > logp[i] for c in range(20)) + sum(logp[c] == logp[i] for c in range(i))
            for i in range(20)]  # higher belief first, ties by category order
    np.testing.assert_allclose(f[:, feature_names(wide).index("cat.rank")], np.log(rank), rtol=1e-6)


def test_size_edges(wide: CatalogIndex) -> None:
    names = feature_names(wide)
    ctx = _ctx(wide, ["thing"], attributes=QueryAttributes(size=Size(97.0, "oz"), rest=["thing"]))
    f = query_item_features(ctx, _wide_cand(wide), wide, ItemStats.empty(len(wide)))
    # 100 oz against 97: a difference of exactly 3 % of the larger is a match; a size of 0 has no log
    np.testing.assert_allclose(f[:3, names.index("size.match")], [1, 0, 0])
    np.testing.assert_allclose(f[:3, names.index("size.logdiff")], [np.log(100 / 97), np.log(97 / 0.5), nan],
                               rtol=1e-5)
    zero = _ctx(wide, ["thing"], attributes=QueryAttributes(size=Size(0.0, "oz"), rest=["thing"]))
    g = query_item_features(zero, _wide_cand(wide), wide, ItemStats.empty(len(wide)))  # no 0 / 0 warning
    assert g[2, names.index("size.match")] == 1 and np.isnan(g[2, names.index("size.logdiff")])
