from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from discoverly.data import Catalog, Interactions
from discoverly.errors import ConfigError, DataError
from discoverly.graph.products import product_graph, product_texts, similar_products


@pytest.fixture
def shop() -> tuple[Interactions, Catalog]:
    # customers 0-4 buy wines (items 0-2), customers 5-9 buy cheeses (items 3-5); item 6 bought once
    users, items = [], []
    for u in range(10):
        for i in (range(3) if u < 5 else range(3, 6)):
            users.append(u)
            items.append(i)
    users.append(0)
    items.append(6)
    t = np.arange(len(users)) + 1_700_000_000
    log = Interactions.from_indices(users, items, t, n_users=10, n_items=7)
    catalog = Catalog(pl.DataFrame({
        "item": [0, 1, 2, 3, 4, 5, 6],
        "title": ["red wine", "white wine", "rose wine", "blue cheese", "goat cheese", "hard cheese", "bread"],
        "brand": ["A", "A", "B", "C", "C", "D", None],
        "category": ["wine", "wine", "wine", "cheese", "cheese", "cheese", "bakery"],
    }))
    return log, catalog


def test_graph_has_products_attributes_and_buyers(shop) -> None:  # type: ignore[no-untyped-def]
    log, catalog = shop
    g = product_graph(log, catalog, min_buyers=2)
    kinds = dict(g.nodes.group_by("kind").len().iter_rows())
    assert kinds == {"product": 6, "brand": 4, "category": 2, "customer": 10}
    rels = dict(g.edges.group_by("relation").len().iter_rows())
    assert rels == {"of_brand": 6, "of_category": 6, "bought": 30}
    assert product_texts(g, catalog)[:2] == ["red wine", "white wine"]
    with pytest.raises(ConfigError):
        product_graph(log, catalog, min_buyers=0)
    with pytest.raises(DataError):
        product_graph(log, catalog, min_buyers=99)


def test_similar_products_stay_in_their_community(shop, hash_encoder) -> None:  # type: ignore[no-untyped-def]
    log, catalog = shop
    g = product_graph(log, catalog, min_buyers=2)
    engine = similar_products(g, catalog, dim=8, epochs=60, weight=0.5, encoder=hash_encoder, threads=1,
                              batch_size=16, negatives=8, lr=0.02)
    assert set(engine.similar("0", k=2)["id"].to_list()) == {"1", "2"}
    assert set(engine.similar("4", k=2)["id"].to_list()) == {"3", "5"}
