"""The real catalogue: a slice of Complete Journey indexed and searched (data tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from discoverly.data import Catalog
from discoverly.search.benchmark import purchase_queries, query_text
from discoverly.search.engine import SearchEngine
from discoverly.search.index import IndexConfig


@pytest.mark.data
@pytest.mark.slow
def test_a_slice_of_the_catalogue(shared_data: Path) -> None:
    from discoverly.data.datasets import load_dataset

    ds = load_dataset("complete-journey", shared_data)
    assert ds.catalog is not None
    table = ds.catalog.table.filter(ds.catalog.table["department"].is_in(["GROCERY", "PRODUCE"])).head(6000)
    engine = SearchEngine.build(Catalog(table), ds.interactions, index_config=IndexConfig(
        fields=("title", "product_type", "category", "brand", "package_size"), dense=False))
    res = engine.search("fluid milk white only 1 gal", k=10)
    assert res.understood["size"] == "1 gal"
    assert all("Milk" in (t or "") for t in res.titles[:5])
    queries = purchase_queries(ds.interactions, Catalog(table), start="2017-11-01", end="2017-11-08", n=50, rng=0)
    assert queries.height == 50 and set(queries.columns) >= {"query", "variant", "user", "item", "new"}
    assert all(q == query_text(q) for q in queries["query"].to_list())
