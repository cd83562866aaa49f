"""84.51° "The Complete Journey": a year (2017) of grocery purchases by 2,469 households.

Users are ``household_id``, items ``product_id``, time ``transaction_timestamp``, quantity the
units bought. Cleaning, in order (counts in ``Dataset.notes["dropped"]``):

1. ``non_positive_quantity`` — lines with quantity 0 (voided or zero-unit lines).
2. ``excluded_departments`` — lines of departments that are not products one recommends, by
   default ``FUEL`` (gallons, up to tens of thousands a line) and ``COUPON`` (a single name may be
   given as a string).

Lines whose product is missing from ``products.parquet`` are kept (counted in
``notes["events_without_catalogue_row"]``). The catalogue keeps every product column, maps
``product_category`` to ``category`` and builds a readable ``title`` from the product type,
category, brand and package size. ``Dataset.users`` holds ``demographics.parquet`` when present.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.data.datasets.dataset import Dataset
from discoverly.data.frames import require_columns
from discoverly.data.read import interactions_from_polars
from discoverly.errors import DataError

__all__ = ["TRANSACTIONS", "PRODUCTS", "DEMOGRAPHICS", "DEFAULT_EXCLUDED_DEPARTMENTS", "load_complete_journey",
           "product_titles"]

logger = logging.getLogger(__name__)

TRANSACTIONS = "completejourney/transactions.parquet"
PRODUCTS = "completejourney/products.parquet"
DEMOGRAPHICS = "completejourney/demographics.parquet"
DEFAULT_EXCLUDED_DEPARTMENTS = ("FUEL", "COUPON")

_TRANSACTION_COLUMNS = ("household_id", "product_id", "quantity", "transaction_timestamp", "basket_id")
_PRODUCT_COLUMNS = ("product_id", "department", "brand", "product_category", "product_type", "package_size")


def _titlecase(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.to_titlecase()


def product_titles(products: pl.DataFrame) -> pl.Series:
    """Readable titles such as ``"Kids Cereal · Cold Cereal · store brand · 32 OZ"``."""
    kind = pl.coalesce(_titlecase("product_type"), _titlecase("product_category"), _titlecase("department"))
    category = pl.when(_titlecase("product_category") != kind).then(_titlecase("product_category"))
    brand = (pl.when(pl.col("brand") == "Private").then(pl.lit("store brand"))
             .when(pl.col("brand") == "National").then(pl.lit("national brand"))
             .otherwise(pl.col("brand").str.to_lowercase()))
    size = pl.col("package_size").str.strip_chars()
    title = pl.concat_str([kind, category, brand, size], separator=" · ", ignore_nulls=True)
    return products.select(title.alias("title"))["title"]


def load_complete_journey(
    paths: dict[str, Path],
    *,
    exclude_departments: Sequence[str] = DEFAULT_EXCLUDED_DEPARTMENTS,
    name: str = "complete-journey",
    demographics: Path | None = None,
    **_: Any,
) -> Dataset:
    """Load The Complete Journey's transactions, product catalogue and (when found) demographics."""
    t0 = time.perf_counter()
    tx_path, prod_path = paths[TRANSACTIONS], paths[PRODUCTS]
    tx = pl.read_parquet(tx_path)
    require_columns(tx, {c: c for c in _TRANSACTION_COLUMNS}, what=f"the Complete Journey transactions {tx_path}")
    products = pl.read_parquet(prod_path)
    require_columns(products, {c: c for c in _PRODUCT_COLUMNS}, what=f"the Complete Journey products {prod_path}")
    kind = tx.schema["product_id"]
    if products.schema["product_id"] != kind:  # an export that wrote one file's ids as text: joined, polars refuses
        try:
            products = products.with_columns(pl.col("product_id").cast(kind))
        except pl.exceptions.PolarsError:
            raise DataError(f"product_id is {kind} in {tx_path} but {products.schema['product_id']} in {prod_path}, "
                            "and the products' ids do not convert; write both with one type") from None
    rows_read = tx.height
    missing = {col: int(n) for col, n in tx.null_count().row(0, named=True).items()}
    tx = tx.select(*_TRANSACTION_COLUMNS).with_columns(pl.col("quantity").cast(pl.Float64))
    dropped: dict[str, int] = {}
    before = tx.height
    tx = tx.filter(pl.col("quantity") > 0)
    dropped["non_positive_quantity"] = before - tx.height
    if isinstance(exclude_departments, str):  # one name, not its letters
        exclude_departments = (exclude_departments,)
    excluded = [d.upper() for d in exclude_departments]
    if excluded:
        bad = products.filter(pl.col("department").str.to_uppercase().is_in(excluded)).select("product_id")
        before = tx.height
        tx = tx.join(bad, on="product_id", how="anti")
        dropped["excluded_departments"] = before - tx.height
    if tx.height == 0:
        raise DataError(f"no transactions are left in {tx_path} after cleaning; is it the Complete Journey file?")
    without_row = tx.join(products.select("product_id"), on="product_id", how="anti").height
    interactions = interactions_from_polars(tx, user="household_id", item="product_id",
                                            time="transaction_timestamp", quantity="quantity")
    catalog_table = (products.with_columns(product_titles(products).alias("title"))
                     .rename({"product_id": "item", "product_category": "category"})
                     .select("item", "title", "category", "brand", "department", "product_type", "package_size",
                             *[c for c in products.columns if c not in _PRODUCT_COLUMNS])
                     .sort("item"))
    users = None
    demo_path = demographics if demographics is not None else tx_path.parent / Path(DEMOGRAPHICS).name
    if demo_path.is_file():
        users = pl.read_parquet(demo_path)
        if "household_id" in users.columns:
            users = users.rename({"household_id": "user"})
    seconds = time.perf_counter() - t0
    notes: dict[str, Any] = {
        "source": "84.51° The Complete Journey",
        "files": [str(tx_path), str(prod_path)] + ([str(demo_path)] if users is not None else []),
        "rows_read": rows_read,
        "missing_values": missing,
        "dropped": dropped,
        "excluded_departments": excluded,
        "events_without_catalogue_row": without_row,
        "events": len(interactions),
        "users": interactions.n_users,
        "items": interactions.n_items,
        "baskets": int(tx["basket_id"].n_unique()),
        "quantity": "units bought on the line",
        "load_seconds": round(seconds, 3),
    }
    logger.info("loaded Complete Journey: %s in %.2fs", interactions, seconds)
    return Dataset(name, interactions, Catalog(catalog_table), notes, users)
