"""The whole pipeline on a small grocery: understanding, retrieval, ranking, personalisation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.data import Catalog, Interactions
from discoverly.errors import ArtifactError, ConfigError, DataError, NotFittedError
from discoverly.search.engine import EngineConfig, SearchEngine, SearchResult
from discoverly.search.index import IndexConfig
from discoverly.search.ranker import RankerConfig

from .conftest import PRODUCTS

FIELDS = ("title", "product_type", "category", "brand", "package_size")
ALIASES = {"store brand": "Private", "national brand": "National"}
DAY = 86_400


def _log(purchases: Interactions, start: int, stop: int) -> pl.DataFrame:
    """Purchases in [start, stop) as queries: the product type words, as the protocol does."""
    window = purchases.between(start, stop)
    frame = pl.DataFrame({"user": purchases.users.ids_of(window.user_index).tolist(),
                          "item": purchases.items.ids_of(window.item_index).tolist()})
    types = {p[0]: p[4].lower() for p in PRODUCTS}
    return frame.with_columns(pl.col("item").replace_strict(types).alias("query"))


@pytest.fixture(scope="module")
def engine(catalog: Catalog, purchases: Interactions, encoder: Any) -> SearchEngine:
    t0 = int(purchases.timestamp[0])
    as_of = t0 + 30 * DAY
    config = IndexConfig(fields=FIELDS, brand_aliases=ALIASES, facets=("product_type",))
    eng = SearchEngine.build(catalog, index_config=config, encoder=encoder,
                             config=EngineConfig(lexical_depth=20, dense_depth=10))
    eng.fit_classifier(_log(purchases, t0, as_of))
    cfg = RankerConfig(n_estimators=40, min_data_in_leaf=3, early_stopping_rounds=0, threads=1)
    eng.fit_ranker(_log(purchases, as_of, t0 + 50 * DAY), purchases, as_of=as_of, config=cfg, rng=0)
    return eng.refresh(purchases)


def test_understanding(engine: SearchEngine) -> None:
    ctx = engine.understand("Stawberries store brand 32 ounces")
    assert ctx.corrected and "strawberry" in ctx.tokens
    assert ctx.attributes.brand == "private"
    assert ctx.attributes.size is not None and ctx.attributes.size.base == pytest.approx(32.0)
    about = engine.describe(ctx)
    assert about["categories"][0][0] == "PRODUCE"
    assert about["original_tokens"][0] == "stawberry"


def test_search_finds_the_matching_products(engine: SearchEngine) -> None:
    res = engine.search("whole milk", k=3)
    assert set(res.items) == {"A1", "A2", "A3"}
    assert res.method == "ltr" and not res.personalized
    assert len(res.to_polars()) == 3 and res.to_dicts()[0]["rank"] == 1
    assert all(t is not None and "Whole Milk" in t for t in res.titles)
    assert engine.search("strawberry store brand 32 oz", k=1).items == ["B2"]


def test_personalisation_puts_the_customers_own_product_first(engine: SearchEngine) -> None:
    # u3 buys the half gallon (A3); u2 and u4 buy the store brand gallon (A1); u1 and u7 buy A2
    assert engine.search("whole milk", user="u3", k=3).items[0] == "A3"
    assert engine.search("whole milk", user="u1", k=3).items[0] == "A2"
    res = engine.search("whole milk", user="u2", k=3)
    assert res.personalized and res.items[0] == "A1"


def test_unknown_customer_and_customer_without_history_get_the_general_ranking(engine: SearchEngine) -> None:
    general = engine.search("cookies", k=3)
    for user in ("nobody", None, 12345):
        res = engine.search("cookies", user=user, k=3)
        assert not res.personalized
        assert res.items == general.items


def test_every_method_answers(engine: SearchEngine) -> None:
    for method in ("lexical", "dense", "hybrid", "ltr", "personal", "auto"):
        res = engine.search("frozen pizza", user="u4", k=2, method=method)  # type: ignore[arg-type]
        assert len(res) == 2 and len(set(res.items)) == 2
        assert res.items[0] in ("D1", "D2"), method
        if method in ("personal", "auto"):
            assert res.items[0] == "D2"  # the pizza u4 buys


def test_bad_queries_are_answered_sensibly(engine: SearchEngine) -> None:
    with pytest.raises(DataError, match="empty"):
        engine.search("   ")
    long = "milk " * 400
    res = engine.search(long, k=2)
    assert res.understood["truncated_to"] and len(res.understood["truncated_to"]) <= engine.config.max_query_chars
    assert len(engine.search("!!! ???", k=3)) <= 3  # nothing to match: few or no results, no error
    assert len(engine.search("qwertyuiop", k=3, method="lexical")) == 0
    with pytest.raises(ConfigError):
        engine.search("milk", k=0)
    assert engine.search("milk", k=np.int64(2)).items == engine.search("milk", k=2).items
    with pytest.raises(ConfigError, match="k must be a whole number of items"):  # a raw TypeError before
        engine.search("milk", k="2")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown search method 'bm25'"):  # was ranked as 'ltr', silently
        engine.search("milk", method="bm25")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown search method"):
        engine.score_items(engine.understand("milk"), np.arange(3), method="bm25")  # type: ignore[arg-type]


def test_score_items_reranks_a_fixed_list(engine: SearchEngine) -> None:
    ctx = engine.understand("whole milk")
    items = engine.index.items.indices(["E1", "A2", "C1", "A1"])
    for method in ("lexical", "hybrid", "ltr", "auto"):
        scores = engine.score_items(ctx, items, method=method)  # type: ignore[arg-type]
        best = engine.index.items.ids_of(items[np.argsort(-scores)[:2]]).tolist()
        assert set(best) == {"A1", "A2"}, method


def test_save_and_load_round_trip(engine: SearchEngine, tmp_path: Path, encoder: Any) -> None:
    engine.save(tmp_path / "engine")
    again = SearchEngine.load(tmp_path / "engine", encoder=encoder)
    for user in ("u3", None):
        a, b = engine.search("whole milk", user=user, k=3), again.search("whole milk", user=user, k=3)
        assert a.items == b.items
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
    assert again.describe(again.understand("cokies")) == engine.describe(engine.understand("cokies"))


def test_save_never_replaces_a_file_or_a_folder_that_is_not_an_artifact(engine: SearchEngine, tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    data = tmp_path / "products.csv"
    data.write_text("item,title\n")
    for target in (folder, data):
        with pytest.raises(ArtifactError, match="replace"):
            engine.save(target)
        with pytest.raises(ArtifactError, match="replace"):
            engine.index.save(target)
    assert (folder / "notes.txt").read_text() == "keep me" and data.read_text() == "item,title\n"
    path = engine.save(tmp_path / "engine")
    assert engine.save(path) == path  # an earlier engine is replaced


def test_fit_ranker_checks_the_log_columns_before_training(catalog: Catalog, purchases: Interactions,
                                                            encoder: Any) -> None:
    eng = SearchEngine.build(catalog, purchases, index_config=IndexConfig(fields=FIELDS, dense=False))
    log = _log(purchases, int(purchases.timestamp[0]), int(purchases.timestamp[-1]) + 1).drop("user")
    with pytest.raises(DataError, match="user"):
        eng.fit_ranker(log, purchases)
    assert eng.ranker is None  # nothing trained (the general ranker used to be, then the personal one failed)


def test_fit_ranker_warns_about_log_items_not_in_the_catalogue(catalog: Catalog, purchases: Interactions,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    # rows naming unknown items were dropped without a word, and `search train` said it trained on all of them
    eng = SearchEngine.build(catalog, purchases, index_config=IndexConfig(fields=FIELDS, dense=False))
    log = _log(purchases, int(purchases.timestamp[0]), int(purchases.timestamp[-1]) + 1)
    stray = pl.DataFrame({"user": log["user"].head(2), "item": ["ZZ9", "ZZ8"], "query": ["milk", "milk"]})
    cfg = RankerConfig(n_estimators=5, min_data_in_leaf=3, early_stopping_rounds=0, threads=1)
    with caplog.at_level("WARNING", logger="discoverly.search.engine"):
        eng.fit_ranker(pl.concat([log, stray.select(log.columns)]), purchases, config=cfg)
    assert f"2 of the query log's {log.height + 2} rows name items that are not in the catalogue" in caplog.text
    assert "'ZZ9'" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="discoverly.search.engine"):
        eng.fit_ranker(log, purchases, config=cfg)
    assert "not in the catalogue" not in caplog.text


def test_a_purchase_log_of_other_item_ids_is_reported(catalog: Catalog, purchases: Interactions,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    # a log keyed by other ids (SKU-A1 for A1) gave an engine with no popularity and no profiles, silently
    from discoverly.data import read_interactions

    other = read_interactions(pl.DataFrame({"user": ["u1", "u2"], "item": ["SKU-A1", "SKU-B1"],
                                            "time": ["2024-01-02", "2024-01-03"]}), user="user", item="item",
                              time="time")
    with caplog.at_level("WARNING", logger="discoverly.search.engine"):
        SearchEngine.build(catalog, other, index_config=IndexConfig(fields=FIELDS, dense=False))
    assert "none of the purchase log's 2 items is a catalogue item" in caplog.text and "'SKU-A1'" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="discoverly.search.engine"):
        SearchEngine.build(catalog, purchases, index_config=IndexConfig(fields=FIELDS, dense=False))
    assert "catalogue item" not in caplog.text


def test_as_of_before_every_purchase_is_explained(catalog: Catalog, purchases: Interactions) -> None:
    # the personalised ranker had no customer with history and blamed the log's items and queries
    eng = SearchEngine.build(catalog, purchases, index_config=IndexConfig(fields=FIELDS, dense=False))
    log = _log(purchases, int(purchases.timestamp[0]), int(purchases.timestamp[-1]) + 1)
    cfg = RankerConfig(n_estimators=5, min_data_in_leaf=3, early_stopping_rounds=0, threads=1)
    with pytest.raises(DataError, match=rf"^no query of the log can train the personalised ranker: {log.height} of "
                                        r"its .*without purchases before .*as_of.*choose a later as_of"):
        eng.fit_ranker(log, purchases, as_of=int(purchases.timestamp[0]) - DAY, config=cfg)


def test_every_use_of_a_query_log_names_its_missing_columns_alike(catalog: Catalog, purchases: Interactions,
                                                                  encoder: Any) -> None:
    # fit_classifier, training_groups and fit_ranker had a message each; none suggested the misnamed column
    eng = SearchEngine.build(catalog, purchases, index_config=IndexConfig(fields=FIELDS, dense=False))
    log = _log(purchases, int(purchases.timestamp[0]), int(purchases.timestamp[-1]) + 1).rename({"query": "Query"})
    for use in (lambda: eng.fit_classifier(log), lambda: eng.training_groups(log, personal=False),
                lambda: eng.fit_ranker(log, purchases)):
        with pytest.raises(DataError, match=r"^the query log: the query column 'query' is missing \(did you mean "
                                            r"'Query'.*Columns present: .*A query log needs 'query', 'item'"):
            use()


def test_load_of_an_incomplete_artifact_is_an_artifact_error(engine: SearchEngine, tmp_path: Path) -> None:
    import json

    path = engine.save(tmp_path / "engine")
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["stats"]  # an older or hand-edited manifest: was a bare KeyError
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"incomplete search engine.*'stats'"):
        SearchEngine.load(path)


def test_a_catalogue_in_other_scripts_is_searched_lexically() -> None:
    cat = Catalog(pl.DataFrame({"item": ["1", "2", "3", "4"],
                                "title": ["Молоко цельное", "Хлеб белый", "全脂牛奶", "Kaffee Straße"]}))
    eng = SearchEngine.build(cat, index_config=IndexConfig(dense=False))
    assert eng.search("молоко", k=2, method="lexical").items == ["1"]
    assert eng.search("牛奶", k=2, method="lexical").items == ["3"]
    assert eng.search("strasse", k=2, method="lexical").items == ["4"]


def test_untrained_engine_uses_the_fused_order(catalog: Catalog, encoder: Any) -> None:
    eng = SearchEngine.build(catalog, index_config=IndexConfig(fields=FIELDS), encoder=encoder)
    res = eng.search("cookies", k=3)
    assert res.method == "hybrid" and set(res.items) <= {"C1", "C2", "C3"}
    with pytest.raises(NotFittedError):
        eng.search("cookies", method="ltr")


def test_result_repr_is_short_whatever_k() -> None:
    # the dataclass repr listed every item, score, title and the whole understood dict
    n = 50
    result = SearchResult("whole milk", [f"A{i}" for i in range(n)], [1.0 / (i + 1) for i in range(n)],
                          [f"Whole Milk {i} GAL, a rather long product title" for i in range(n)],
                          understood={"tokens": ["whole", "milk"], "categories": [("DAIRY", 1.0)] * 20},
                          method="hybrid", seconds=0.0123)
    text = repr(result)
    assert text == ("SearchResult('whole milk': 50 items, hybrid, 12 ms; 'A0' (Whole Milk 0 GAL, a rather long "
                    "product title), 'A1' (Whole Milk 1 GAL, a rather long product title), 'A2' (Whole Milk 2 GAL, "
                    "a rather long product title), …)")
    assert repr(SearchResult("x", ["B"], [0.5], [None])) == "SearchResult('x': 1 item, auto, 0 ms; 'B')"
