"""The catalogue index: fields, attributes, dense part, artifact round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.artifacts import write_artifact
from discoverly.data import Catalog
from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.search.index import CatalogIndex, IndexConfig

FIELDS = ("title", "product_type", "category", "brand", "package_size")


def test_build_indexes_fields_and_attributes(catalog: Catalog, encoder: Any) -> None:
    index = CatalogIndex.build(catalog, IndexConfig(fields=FIELDS, facets=("product_type",)), encoder=encoder)
    assert len(index) == len(catalog)
    assert index.fields == FIELDS
    assert set(index.facets) == {"category", "brand", "product_type"}
    assert index.category_names() == ["COOKIES", "DAIRY", "FROZEN", "JUICE", "PRODUCE"]
    a1 = index.items.index("A1")
    assert index.size_base[a1] == pytest.approx(128.0)
    assert index.price[a1] == pytest.approx(3.0)
    assert index.dense is not None and index.dense.vectors.shape[1] == encoder.dim
    assert index.timings["index_seconds_excluding_embedding"] > 0
    items, _ = index.lexical.search(index.normalizer.tokens("whole milk"), k=3)
    assert set(index.items.ids_of(items).tolist()) == {"A1", "A2", "A3"}


def test_default_fields_are_the_text_columns(catalog: Catalog) -> None:
    index = CatalogIndex.build(catalog, IndexConfig(dense=False))
    assert set(index.fields) == {"title", "category", "brand", "product_type", "package_size"}
    assert index.dense is None


def test_save_and_load_give_the_same_answers(tmp_path: Path, catalog: Catalog, encoder: Any) -> None:
    index = CatalogIndex.build(catalog, IndexConfig(fields=FIELDS, weights={"product_type": 2.0}), encoder=encoder)
    index.save(tmp_path / "idx")
    again = CatalogIndex.load(tmp_path / "idx", encoder=encoder)
    toks = index.normalizer.tokens("store brand cookies 18 oz")
    np.testing.assert_array_equal(index.lexical.scores(toks), again.lexical.scores(toks))
    np.testing.assert_array_equal(index.dense.vectors, again.dense.vectors)  # type: ignore[union-attr]
    assert again.config.weights == {"product_type": 2.0}
    assert again.items == index.items
    np.testing.assert_array_equal(again.size_base, index.size_base)
    with pytest.raises(ArtifactError, match="expected 'search-index'"):
        write_artifact(tmp_path / "other", {"kind": "other"})
        CatalogIndex.load(tmp_path / "other")


def test_embeddings_are_reused_from_a_cache(catalog: Catalog, encoder: Any) -> None:
    first = CatalogIndex.build(catalog, IndexConfig(fields=FIELDS), encoder=encoder)
    assert first.dense is not None
    cache = first.dense.cache()
    second = CatalogIndex.build(catalog, IndexConfig(fields=FIELDS), encoder=encoder, embeddings=cache)
    assert second.dense is not None
    assert second.dense.stats["embedded"] == 0
    assert second.dense.stats["cached"] == len(cache)
    np.testing.assert_array_equal(second.dense.vectors, first.dense.vectors)


def test_prices_written_as_text_are_read_as_numbers(caplog: pytest.LogCaptureFixture) -> None:
    # a CSV export's price column is text ("$3.99", "3,99 €", a blank cell): it was a raw polars
    # InvalidOperationError; now the numbers are read, and a value that shows none is missing, with a warning
    table = pl.DataFrame({"item": ["a", "b", "c", "d", "e", "f"],
                          "title": ["milk", "milk", "bread", "jam", "tea", "egg"],
                          "price": ["$3.99", "3,99 €", "1,299.00", "", None, "n/a"]})
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        index = CatalogIndex.build(Catalog(table), IndexConfig(dense=False))
    np.testing.assert_allclose(index.price[:3], [3.99, 3.99, 1299.0], rtol=1e-6)
    assert np.isnan(index.price[3:]).all()
    assert "'n/a'" in caplog.text and "no price" in caplog.text
    assert index.fields == ("title",)  # the price is an attribute, not a text field to search


def test_negative_and_infinite_prices_count_as_missing(caplog: pytest.LogCaptureFixture) -> None:
    # a price of -1 (a placeholder) was log1p(-1) = -inf in the rankers' price feature, and other
    # negative prices a numpy warning and nan; now they are missing, as a price that shows no number
    table = pl.DataFrame({"item": ["a", "b", "c", "d", "e"], "title": ["milk", "tea", "jam", "egg", "oat"],
                          "price": [2.0, -1.0, -3.5, float("inf"), 0.0]})
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        index = CatalogIndex.build(Catalog(table), IndexConfig(dense=False))
    assert index.price[0] == 2.0 and index.price[4] == 0.0  # a free item keeps its price
    assert np.isnan(index.price[1:4]).all()
    assert "3 negative or infinite" in caplog.text and "-3.5" in caplog.text
    caplog.clear()
    text = table.with_columns(pl.Series("price", ["$2.00", "-1", "-3,50", "", "0"]))
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        index = CatalogIndex.build(Catalog(text), IndexConfig(dense=False))
    np.testing.assert_array_equal(np.isnan(index.price), [False, True, True, True, False])
    assert "2 negative or infinite" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="discoverly.search.index"):
        priced = index.with_price(np.array([1.0, -2.0, 3.0, np.nan, np.inf]))
    np.testing.assert_array_equal(np.isnan(priced.price), [False, True, False, True, True])
    assert "2 negative or infinite" in caplog.text


def test_html_descriptions_are_indexed_and_embedded_as_text(encoder: Any) -> None:
    table = pl.DataFrame({"item": ["a", "b"], "title": ["Tee", "Amp"],
                          "description": ["<p>Soft <b>cotton</b> &amp; more</p>", "A guitar amp"]})
    index = CatalogIndex.build(Catalog(table), IndexConfig(), encoder=encoder)
    assert index.dense is not None
    assert sorted(index.dense.to_arrays()[2]) == ["amp, a guitar amp", "tee, soft cotton & more"]
    items, _ = index.lexical.search(["amp"], k=2)  # "&amp;" was the word "amp" of every HTML description
    assert index.items.ids_of(items).tolist() == ["b"]


def test_bad_input_is_explained(catalog: Catalog) -> None:
    with pytest.raises(ConfigError, match="not catalogue columns"):
        CatalogIndex.build(catalog, IndexConfig(fields=("title", "colour"), dense=False))
    with pytest.raises(DataError, match="empty"):
        CatalogIndex.build(Catalog(catalog.table.head(0)), IndexConfig(dense=False))
    with pytest.raises(DataError, match="no text column"):
        CatalogIndex.build(Catalog(pl.DataFrame({"item": [1, 2], "price": [1.0, 2.0]})), IndexConfig(dense=False))
