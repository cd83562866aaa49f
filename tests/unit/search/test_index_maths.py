"""The catalogue index worked out by hand: prices read from text, facet codes, the size arrays
without a size column, the config's and the index's parts round trip, a copy with other prices."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.data import Catalog
from discoverly.errors import ConfigError, DataError
from discoverly.search.index import CatalogIndex, IndexConfig, _codes, _dense_texts, _plain, _price, _prices
from discoverly.search.normalize import TextNormalizer


@pytest.mark.parametrize(("text", "number"), [
    ("$3.99", 3.99), ("3,99 €", 3.99), ("1,299.00", 1299.0), ("1.299,00", 1299.0),  # the docstring's four
    ("1,299", 1299.0), ("1,299,000", 1299000.0), ("-1,299", -1299.0),  # commas grouping thousands
    ("12,5", 12.5), ("1,2345", 1.2345), ("-3,50", -3.5),  # a decimal comma (not groups of three)
    ("1.299.000,50", 1299000.5), ("1,299,000.25", 1299000.25),  # several group marks, then the decimal one
    ("€ 1 299,00", 1299.0), ("1\u202f299,00 €", 1299.0), ("$.99", 0.99), ("7", 7.0), ("USD 12", 12.0),
    ("-$3.99", -3.99), ("$3.99/lb", 3.99),
    # the full stop of "Rs." is no decimal mark: "Rs. 500" was 0.5 and "Rs.1,299" 1.299
    ("Rs. 500", 500.0), ("Rs.1,299", 1299.0), ("Rs. 1,299.50", 1299.5), ("₹ 1,299", 1299.0),
    # Indian grouping, the last three digits and then pairs: a lakh and a crore were no price
    ("Rs. 1,00,000", 100000.0), ("₹12,34,567", 1234567.0), ("1,23,456", 123456.0), ("1,00,00,000", 10000000.0),
    ("-1,00,000", -100000.0), ("₹ 1,00,000.50", 100000.5),
])
def test_a_price_written_as_text_is_the_number_it_shows(text: str, number: float) -> None:
    assert _price(text) == pytest.approx(number, rel=1e-12, abs=0)


# several numbers are no price: "2 for $5" was 25 and "12 oz for $3.99" 123.99
@pytest.mark.parametrize("text", ["n/a", "", "free", "3.99-4.99", "1,2,345", "12,345,67", "2 for $5",
                                  "12 oz for $3.99"])
def test_text_that_shows_no_single_number_is_no_price(text: str) -> None:
    assert _price(text) is None


def test_facet_codes_are_positions_in_the_sorted_distinct_values() -> None:
    codes, values = _codes(pl.Series("c", ["b", None, "a", "  ", "b", "c", ""]))
    assert values == ["a", "b", "c"]  # blank and empty values are no value
    assert codes.dtype == np.int32
    assert codes.tolist() == [1, -1, 0, -1, 1, 2, -1]
    codes, values = _codes(pl.Series("n", [3, 1, None, 3]))  # numbers are coded by their text
    assert values == ["1", "3"] and codes.tolist() == [1, 0, -1, 1]


def _table() -> pl.DataFrame:
    return pl.DataFrame({"item": ["c", "a", "b"], "title": ["Tea", "Milk", "Jam"], "kind": ["drink", "drink", None],
                         "shop": ["X", "Y", "X"], "cost": [2.5, 1.0, 4.0], "note": ["n1", "n2", "n3"]})


def test_attribute_arrays_follow_the_item_order_and_missing_columns_are_unused() -> None:
    index = CatalogIndex.build(Catalog(_table()), IndexConfig(fields=("title",), price="cost", brand="shop",
                                                              facets=("kind",), dense=False))
    assert index.items.ids_of(np.arange(3)).tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(index.price, np.array([1.0, 4.0, 2.5], np.float32))
    assert index.price.dtype == np.float32
    assert index.config.category is None and index.config.size is None  # no such columns
    assert index.category_names() == []
    assert list(index.facets) == ["brand", "kind"]
    assert index.facet("brand").tolist() == [1, 0, 0]  # type: ignore[union-attr]
    assert index.facet("kind").tolist() == [0, -1, 0]  # type: ignore[union-attr]
    assert index.facet("category") is None and index.facet("nothing") is None
    # no size column: no dimension (0) and no base value (nan) for every item
    assert index.size_dim.dtype == np.int8 and index.size_dim.tolist() == [0, 0, 0]
    assert index.size_base.dtype == np.float32 and np.isnan(index.size_base).all() and len(index.size_base) == 3
    # the kept table: the item, the fields, the facets and the price, not the other columns
    assert index.table.columns == ["item", "title", "kind", "cost"]
    assert repr(index) == "CatalogIndex(3 items, fields ['title'], dense=no)"


def test_without_a_price_column_every_price_is_missing() -> None:
    index = CatalogIndex.build(Catalog(_table().drop("cost")), IndexConfig(dense=False))
    assert index.config.price is None
    assert index.price.dtype == np.float32 and index.price.shape == (3,) and np.isnan(index.price).all()
    assert "note" in index.fields and "cost" not in index.fields
    assert index.config.fields == index.fields == ("title", "kind", "shop", "note")  # the config saved names them


def test_a_size_column_named_size_is_used_when_there_is_no_package_size() -> None:
    table = _table().with_columns(pl.Series("size", ["1 gal", "16 oz", "2 lb"]))
    index = CatalogIndex.build(Catalog(table), IndexConfig(fields=("title",), dense=False))
    assert index.config.size == "size"
    # by item: a = 16 oz, b = 2 lb (32 oz), c = 1 gal (128 oz), all in the mass/volume dimension (1)
    np.testing.assert_allclose(index.size_base, [16.0, 32.0, 128.0])
    assert index.size_dim.tolist() == [1, 1, 1]
    assert "size" in index.table.columns
    both = table.with_columns(pl.Series("package_size", ["3 oz", "4 oz", "5 oz"]))
    index = CatalogIndex.build(Catalog(both), IndexConfig(fields=("title",), dense=False))
    assert index.config.size == "package_size"  # preferred to "size"
    np.testing.assert_allclose(index.size_base, [4.0, 5.0, 3.0])


def test_an_index_with_other_prices_keeps_everything_else(caplog: pytest.LogCaptureFixture) -> None:
    index = CatalogIndex.build(Catalog(_table()), IndexConfig(fields=("title",), price="cost", dense=False))
    priced = index.with_price([5, -1, 7])  # type: ignore[arg-type]  # a list of integers is fine
    assert priced.price.dtype == np.float32
    np.testing.assert_array_equal(priced.price[[0, 2]], [5.0, 7.0])
    assert np.isnan(priced.price[1])
    np.testing.assert_array_equal(index.price, np.array([1.0, 4.0, 2.5], np.float32))  # the original is unchanged
    assert priced.config is index.config and priced.items is index.items and priced.table is index.table
    assert priced.lexical is index.lexical and priced.dense is index.dense and priced.facets == index.facets
    assert priced.size_dim is index.size_dim and priced.size_base is index.size_base
    assert priced.timings == index.timings
    with pytest.raises(ConfigError) as err:
        index.with_price(np.ones(2))
    assert str(err.value) == "price needs one value per item (3), got shape (2,)"
    with pytest.raises(ConfigError, match=r"got shape \(3, 1\)"):
        index.with_price(np.ones((3, 1)))


def test_negative_prices_are_named_in_the_warning(caplog: pytest.LogCaptureFixture) -> None:
    index = CatalogIndex.build(Catalog(_table()), IndexConfig(fields=("title",), price="cost", dense=False))
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        index.with_price(np.array([-4.0, -2.0, -3.0]))
    assert "the price column 'price' has 3 negative or infinite value(s), e.g. [-4.0, -3.0, -2.0]" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        index.with_price(np.array([-4.0, -np.inf, -1.0]))  # at most three, smallest first
    assert "e.g. [-inf, -4.0, -1.0]" in caplog.text


def test_text_prices_that_are_not_prices_are_named(caplog: pytest.LogCaptureFixture) -> None:
    table = _table().with_columns(pl.Series("cost", [" n/a ", "tbd", "$2"]))
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        index = CatalogIndex.build(Catalog(table), IndexConfig(fields=("title",), price="cost", dense=False))
    # by item: a = "tbd", b = "$2", c = " n/a " (read stripped)
    assert np.isnan(index.price[[0, 2]]).all() and index.price[1] == 2.0
    assert "the price column 'cost' has 2 value(s) that are not prices, e.g. ['n/a', 'tbd']" in caplog.text


def test_the_config_round_trips_and_fills_defaults() -> None:
    config = IndexConfig(fields=("title", "kind"), weights={"title": 2.0}, category="kind", brand="shop",
                         size="pack", price="cost", facets=("kind", "shop"), dense_fields=("title",), dense=False,
                         brand_aliases={"own": "X"}, k1=0.9, b=0.4,
                         normalizer=TextNormalizer(plurals=False, stopwords=frozenset({"of"}), synonyms={"a": "b"}))
    d = config.to_dict()
    assert d == {"fields": ["title", "kind"], "weights": {"title": 2.0}, "category": "kind", "brand": "shop",
                 "size": "pack", "price": "cost", "facets": ["kind", "shop"], "dense_fields": ["title"],
                 "dense": False, "brand_aliases": {"own": "X"}, "k1": 0.9, "b": 0.4,
                 "normalizer": {"plurals": False, "stopwords": ["of"], "synonyms": {"a": "b"}}}
    assert IndexConfig.from_dict(d) == config
    again = IndexConfig.from_dict({})
    assert again.fields is None and again.dense_fields is None and again.weights == {}
    assert again.facets == () and again.dense is True and again.brand_aliases == {}
    assert again.k1 == 1.2 and again.b == 0.75 and again.normalizer == TextNormalizer()
    # an absent key keeps the default of IndexConfig(): the attribute columns too (they were read as None)
    assert again == IndexConfig() and (again.category, again.brand, again.price) == ("category", "brand", "price")
    assert IndexConfig.from_dict({"category": None, "k1": 2}) == IndexConfig(category=None, k1=2.0)
    assert IndexConfig.from_dict({"brand": "shop", "added_later": 1}) == IndexConfig(brand="shop")
    assert IndexConfig().to_dict()["fields"] is None and IndexConfig().to_dict()["dense_fields"] is None
    plain = IndexConfig.from_dict(IndexConfig().to_dict())
    assert plain == IndexConfig()


def test_the_parts_round_trip(encoder: Any) -> None:
    index = CatalogIndex.build(Catalog(_table()), IndexConfig(fields=("title",), price="cost", brand="shop",
                                                              facets=("kind",)), encoder=encoder)
    assert repr(index) == "CatalogIndex(3 items, fields ['title'], dense=yes)"
    index.timings = {"bm25_seconds": 0.5}
    manifest, arrays, tables = index.to_parts()
    assert manifest["facets"] == ["brand", "kind"] and manifest["n_items"] == 3
    assert manifest["timings"] == {"bm25_seconds": 0.5} and manifest["config"] == index.config.to_dict()
    assert manifest["lexical"]["fields"] == ["title"] and "dense" in manifest
    assert arrays["facet.0"].tolist() == [1, 0, 0] and arrays["facet.1"].tolist() == [0, -1, 0]
    assert tables["facet_values_0"]["value"].to_list() == ["X", "Y"]
    assert tables["facet_values_1"]["value"].to_list() == ["drink"]
    assert set(tables["lexical_vocab_0"]["token"].to_list()) - {""} == {"jam", "milk", "tea"}
    assert sorted(tables["dense_texts"]["text"].to_list()) == ["jam", "milk", "tea"]  # lower-cased
    assert tables["items"]["item"].to_list() == ["a", "b", "c"]
    np.testing.assert_array_equal(arrays["price"], [1.0, 4.0, 2.5])
    again = CatalogIndex.from_parts(manifest, arrays, tables, encoder=encoder)
    assert again.config == index.config and again.timings == {"bm25_seconds": 0.5}
    assert again.items == index.items and again.table.equals(index.table)
    assert list(again.facets) == ["brand", "kind"]
    for name in again.facets:
        np.testing.assert_array_equal(again.facets[name][0], index.facets[name][0])
        assert again.facets[name][1] == index.facets[name][1]
    for name in ("price", "size_dim", "size_base"):
        np.testing.assert_array_equal(getattr(again, name), getattr(index, name))
    assert again.dense is not None and again.dense.texts == index.dense.texts  # type: ignore[union-attr]
    np.testing.assert_array_equal(again.lexical.scores(["milk"]), index.lexical.scores(["milk"]))
    assert again.attributes.brands == index.attributes.brands
    # without embeddings there is no dense part, and an old manifest without timings reads as none
    plain = CatalogIndex.build(Catalog(_table()), IndexConfig(fields=("title",), dense=False))
    manifest, arrays, tables = plain.to_parts()
    assert "dense" not in manifest and "dense_texts" not in tables
    del manifest["timings"]
    again = CatalogIndex.from_parts(manifest, arrays, tables)
    assert again.dense is None and again.timings == {}


def test_brands_come_from_the_brand_facet_with_the_aliases_and_the_normalizer() -> None:
    table = _table().with_columns(pl.Series("shop", ["Green Farms", "Acme", None]))
    norm = TextNormalizer(synonyms={"green": "verde"})
    config = IndexConfig(fields=("title",), brand="shop", dense=False, brand_aliases={"own label": "Acme"},
                         normalizer=norm)
    index = CatalogIndex.build(Catalog(table), config)
    assert index.normalizer is norm and index.attributes.normalizer is norm
    # the brand values through the index's normalizer ("green" -> "verde"), and the alias
    assert index.attributes.brands == {("verde", "farm"): "verde farm", ("acme",): "acme", ("own", "label"): "acme"}
    assert index.attributes.extract(["own", "label", "milk"]).brand == "acme"
    plain = CatalogIndex.build(Catalog(table), IndexConfig(fields=("title",), brand=None, dense=False))
    assert plain.attributes.brands == {} and "brand" not in plain.facets


def test_numeric_prices_keep_their_values_and_nulls_are_missing() -> None:
    got = _prices(pl.Series("p", [1.5, None, 0.0], dtype=pl.Float64))
    assert got.dtype == np.float32 and got[0] == 1.5 and np.isnan(got[1]) and got[2] == 0.0
    assert _prices(pl.Series("p", [3, None])).dtype == np.float32


def test_the_embedded_text_joins_the_non_empty_values() -> None:
    table = pl.DataFrame({"a": ["  Tea ", "", None, "X"], "b": ["Green", "", "Jam", None]})
    # lower-cased and stripped, empty and missing values left out (one letter is a value), nothing: ""
    assert _dense_texts(table, ["a", "b"]) == ["tea, green", "", "jam", "x"]
    assert _plain("two  spaces\tkept") == "two  spaces\tkept"  # as it is, so cached vectors still match
    assert _plain("<p>Soft  <b>cotton</b></p>") == "Soft cotton"


def test_the_build_reports_its_timings(caplog: pytest.LogCaptureFixture, encoder: Any) -> None:
    with caplog.at_level("INFO", logger="discoverly.search.index"):
        index = CatalogIndex.build(Catalog(_table()), IndexConfig(fields=("title", "note"), weights={"note": 0.5},
                                                                  k1=0.9, b=0.3), encoder=encoder)
    t = index.timings
    assert list(t) == ["tokenize_seconds", "bm25_seconds", "attributes_seconds", "embed_seconds",
                       "index_seconds_excluding_embedding"]
    assert all(0 <= v < 60 for v in t.values())
    assert index.dense is not None and t["embed_seconds"] == index.dense.stats["embed_seconds"]
    assert t["index_seconds_excluding_embedding"] == pytest.approx(
        t["tokenize_seconds"] + t["bm25_seconds"] + t["attributes_seconds"], rel=1e-12)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("indexed ")]
    m = re.fullmatch(r"indexed 3 items: (\{.*\})", line)
    assert m is not None
    logged = ast.literal_eval(m.group(1))
    assert logged == {k: round(v, 2) for k, v in t.items()}
    # the BM25 settings reach the lexical part; the items are a vocabulary of items
    np.testing.assert_array_equal(index.lexical.weights, [1.0, 0.5])
    assert index.lexical.k1 == 0.9 and index.lexical.b == 0.3
    assert index.items.name == "item"


def test_a_negative_price_is_named_by_its_column(caplog: pytest.LogCaptureFixture) -> None:
    table = _table().with_columns(pl.Series("cost", [2.5, -1.0, 4.0]))
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        index = CatalogIndex.build(Catalog(table), IndexConfig(fields=("title",), price="cost", dense=False))
    assert np.isnan(index.price[0]) and index.price.dtype == np.float32
    assert "the price column 'cost' has 1 negative or infinite value(s), e.g. [-1.0]; those items count as " \
           "having no price" in caplog.text


def test_a_loaded_index_uses_the_encoder_given(tmp_path: Path, encoder: Any) -> None:
    table = _table().with_columns(pl.Series("kind", [None, None, None], dtype=pl.String))
    index = CatalogIndex.build(Catalog(table), IndexConfig(fields=("title",), facets=("kind",)), encoder=encoder)
    _, _, tables = index.to_parts()
    assert tables["facet_values_0"].schema == pl.Schema({"value": pl.String})  # no values, still text
    index.save(tmp_path / "idx")
    again = CatalogIndex.load(tmp_path / "idx", encoder=encoder)
    assert again.dense is not None and again.dense.encoder is encoder
    assert again.items.name == "item" and again.facets["kind"][1] == []
    assert again.facet("kind").tolist() == [-1, -1, -1]  # type: ignore[union-attr]


def test_the_timings_add_up(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import discoverly.search.index as index_module

    ticks = iter(np.arange(100) * 1.234)  # each reading of the clock is 1.234 s after the last
    monkeypatch.setattr(index_module, "time", SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    with caplog.at_level("INFO", logger="discoverly.search.index"):
        index = CatalogIndex.build(Catalog(_table()), IndexConfig(fields=("title",), dense=False))
    assert index.timings == pytest.approx({"tokenize_seconds": 1.234, "bm25_seconds": 1.234,
                                           "attributes_seconds": 1.234, "index_seconds_excluding_embedding": 3.702})
    assert ("indexed 3 items: {'tokenize_seconds': 1.23, 'bm25_seconds': 1.23, 'attributes_seconds': 1.23, "
            "'index_seconds_excluding_embedding': 3.7}") in caplog.messages
    assert index.config.fields == ("title",)


def test_index_errors_say_what_was_wrong_in_full() -> None:
    with pytest.raises(DataError) as err:
        CatalogIndex.build(Catalog(_table().head(0)), IndexConfig(dense=False))
    assert str(err.value) == "the catalogue is empty; an index needs at least one item"
    with pytest.raises(DataError) as err:
        CatalogIndex.build(Catalog(pl.DataFrame({"item": ["a"], "n": [1]})), IndexConfig(dense=False))
    assert str(err.value) == ("the catalogue has no text column to index (columns: ['item', 'n']); "
                              "pass IndexConfig(fields=...) naming the columns to search")
    with pytest.raises(ConfigError) as err:
        CatalogIndex.build(Catalog(_table()), IndexConfig(fields=("title",), facets=("colour",), dense=False))
    assert str(err.value) == ("'colour' is not a catalogue column; the catalogue has "
                              "['item', 'title', 'kind', 'shop', 'cost', 'note']")


def test_other_prices_are_float32_and_keep_the_embeddings(encoder: Any) -> None:
    index = CatalogIndex.build(Catalog(_table()), IndexConfig(fields=("title",)), encoder=encoder)
    priced = index.with_price(np.array([1.5, 2.0, 0.0]))  # float64, nothing to drop
    assert priced.price.dtype == np.float32 and priced.price.tolist() == [1.5, 2.0, 0.0]
    assert priced.dense is index.dense is not None


def test_price_warnings_in_full(caplog: pytest.LogCaptureFixture) -> None:
    table = pl.DataFrame({"item": list("abcde"), "title": list("vwxyz"), "cost": ["tbd", "?", "n/a", "ask", "$1"]})
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        index = CatalogIndex.build(Catalog(table), IndexConfig(price="cost", dense=False))
    assert index.price.dtype == np.float32 and index.price[4] == 1.0 and np.isnan(index.price[:4]).all()
    assert caplog.messages == ["the price column 'cost' has 4 value(s) that are not prices, e.g. ['?', 'ask', 'n/a']; "
                               "those items count as having no price"]
    caplog.clear()
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        index.with_price(np.array([-1.0, -2.0, -3.0, -4.0, 5.0]))
    assert caplog.messages == ["the price column 'price' has 4 negative or infinite value(s), e.g. [-4.0, -3.0, -2.0]; "
                               "those items count as having no price"]


def test_accounting_negatives_and_padded_facets() -> None:
    # "($3.99)" read as +3.99; "DAIRY " and "DAIRY" were two categories
    assert _price("($3.99)") == pytest.approx(-3.99) and _price(" (1,299.00) ") == pytest.approx(-1299.0)
    assert _price("(3)") == -3.0 and _price("$3.99 (sale)") == pytest.approx(3.99)  # a note after it: positive
    table = pl.DataFrame({"item": ["a", "b", "c"], "title": ["milk", "cream", "tea"],
                          "category": ["DAIRY ", " DAIRY", "DRINKS"], "price": ["$1.00", "($2.00)", "3"]})
    index = CatalogIndex.build(Catalog(table), IndexConfig(dense=False))
    codes, names = index.facets["category"]
    assert names == ["DAIRY", "DRINKS"] and codes.tolist() == [0, 0, 1]
    assert index.price[0] == 1.0 and np.isnan(index.price[1]) and index.price[2] == 3.0  # a negative is missing
