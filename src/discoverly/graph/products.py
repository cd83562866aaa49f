"""The same engine for a shop: a product graph (product, brand, category, type, customers who
bought) and similar products by fused text + graph embeddings.

    ds = load_dataset("complete-journey")
    graph = product_graph(ds.interactions, ds.catalog, min_buyers=20)
    engine = similar_products(graph, ds.catalog, dim=64, epochs=20, weight=0.5)
    engine.similar("1082185", k=10)

Nodes: ``product`` (first, in the order of ``graph.nodes_of("product")``), one node per distinct
value of each attribute column (``brand``, ``category``, ``product_type``, ``department``) and
``customer``. Edges: ``bought`` (customer -> product, once per pair), ``of_<column>`` (product ->
attribute value). Text of a product: its catalogue title (or the attribute values joined).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.data.interactions import Interactions
from discoverly.errors import ConfigError, DataError
from discoverly.graph.build import GraphBuilder, KnowledgeGraph
from discoverly.graph.similar import SimilarItems

__all__ = ["product_graph", "similar_products", "product_texts"]

log = logging.getLogger(__name__)

DEFAULT_ATTRIBUTES = ("brand", "category", "product_type", "department")


def product_graph(interactions: Interactions, catalog: Catalog | None = None, *, min_buyers: int = 1,
                  attributes: Sequence[str] = DEFAULT_ATTRIBUTES, customers: bool = True) -> KnowledgeGraph:
    """A typed product graph from purchases and catalogue attributes.

    Only products bought by at least ``min_buyers`` distinct customers are kept (rarely bought
    products carry no collaborative signal and dominate the node count of a grocery catalogue).
    """
    if min_buyers < 1:
        raise ConfigError(f"min_buyers must be at least 1, got {min_buyers}")
    binary = interactions.matrix("binary").tocsc()
    buyers = np.diff(binary.indptr)
    keep = np.flatnonzero(buyers >= min_buyers)
    if keep.size == 0:
        raise DataError(f"no product has {min_buyers} or more buyers; lower min_buyers")
    item_ids = interactions.items.ids_of(keep)
    b = GraphBuilder()
    for pid in item_ids.tolist():
        b.add_node("product", str(pid))
    if catalog is not None:
        table = catalog.table.with_columns(pl.col("item").cast(pl.String))
        present = [c for c in attributes if c in table.columns]
        rows = pl.DataFrame({"item": [str(i) for i in item_ids.tolist()]}).join(table, on="item", how="left",
                                                                               maintain_order="left")
        for col in present:
            values = rows[col].cast(pl.String).to_list()
            src = [i for i, v in enumerate(values) if v]
            b.add_edges(f"of_{col}", src, [b.add_node(col, str(values[i])) for i in src])
    if customers:
        sub = binary[:, keep].tocoo()
        users = interactions.users.ids_of(np.unique(sub.row))
        unode = {int(u): b.add_node("customer", str(uid)) for u, uid in zip(np.unique(sub.row), users.tolist(),
                                                                              strict=True)}
        b.add_edges("bought", [unode[int(u)] for u in sub.row], sub.col.tolist())
    graph = b.graph()
    log.info("product graph: %r", graph)
    return graph


def product_texts(graph: KnowledgeGraph, catalog: Catalog | None) -> list[str]:
    """Text of each product node: its title, else its attribute values joined."""
    ids = graph.keys(graph.nodes_of("product"))
    if catalog is None:
        return ["" for _ in ids]
    table = catalog.table.with_columns(pl.col("item").cast(pl.String))
    rows = pl.DataFrame({"item": ids}).join(table, on="item", how="left", maintain_order="left")
    if "title" in rows.columns:
        return rows["title"].fill_null("").to_list()
    cols = [c for c in DEFAULT_ATTRIBUTES if c in rows.columns]
    return rows.select(pl.concat_str([pl.col(c).fill_null("") for c in cols], separator=" ").alias("t"))["t"].to_list()


def similar_products(graph: KnowledgeGraph, catalog: Catalog | None, *, model: str = "transe", dim: int = 64,
                     epochs: int = 20, weight: float = 0.5, encoder: Any = None, rng: int | None = 0,
                     progress: bool = False, **options: Any) -> SimilarItems:
    """Train a KG embedding of the product graph, embed product texts, and fuse them."""
    from discoverly.graph.workspace import train_embedding

    products = graph.nodes_of("product")
    text = None
    if weight > 0:
        if encoder is None:
            from discoverly.text_embedding import TextEncoder

            encoder = TextEncoder()
        text = encoder.encode(product_texts(graph, catalog), progress=progress)
    emb = train_embedding(graph, model=model, dim=dim, epochs=epochs, rng=rng, progress=progress, **options)
    return SimilarItems(graph.keys(products), text=text, graph=emb.entity_vectors()[products], weight=weight,
                        config={"model": model, "dim": dim, "epochs": epochs, "weight": weight,
                                "kge_seconds": emb.seconds})
