"""UCI Online Retail (2010-12 .. 2011-12) and Online Retail II (2009-12 .. 2010-12).

A UK online gift retailer's invoice lines. Cleaning, in this order (each count in
``Dataset.notes["dropped"]`` is of the rows left by the step before):

1. ``overlap_duplicates`` — the 2009-2010 file repeats every invoice of 2010-12-01 .. 2010-12-09
   that the 2010-2011 file also holds; those lines are taken once (only when combining).
2. ``cancellations`` — invoices starting with ``C``.
3. ``non_positive_quantity`` — other lines with a quantity ≤ 0 (returns, stock write-offs).
4. ``non_product_codes`` — postage, carriage, manual entries, discounts, fees, bank charges,
   samples, vouchers, adjustments and test codes (see :data:`NON_PRODUCT_CODES`).
5. ``missing_customer`` — lines without a CustomerID.

Stock codes are upper-cased first (``85123a`` and ``85123A`` are the same product in the data).
Users are CustomerIDs (int), items StockCodes (str), quantity the units bought.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.data.datasets.dataset import Dataset
from discoverly.data.frames import require_columns
from discoverly.data.read import interactions_from_polars
from discoverly.errors import DataError

__all__ = ["FILE_2010_2011", "FILE_2009_2010", "NON_PRODUCT_CODES", "NON_PRODUCT_PREFIXES",
           "load_online_retail", "is_product_code"]

logger = logging.getLogger(__name__)

FILE_2010_2011 = "online_retail/online_retail.parquet"
FILE_2009_2010 = "online_retail/online_retail_II_2009-2010.parquet"

#: stock codes that are not products (found by listing every code that is not 5 digits + letters)
NON_PRODUCT_CODES = frozenset({
    "POST",          # postage
    "DOT",           # dotcom postage
    "C2", "C3",      # carriage
    "M",             # manual entry
    "D",             # discount
    "S",             # samples
    "B",             # adjust bad debt
    "BANK CHARGES",
    "AMAZONFEE",
    "CRUK",          # charity commission
    "PADS",          # "pads to match all cushions", priced 0.001
    "GIFT",          # voucher
})
#: prefixes of non-product codes: test products, manual adjustments, gift vouchers
NON_PRODUCT_PREFIXES = ("TEST", "ADJUST", "GIFT_0001_")

_COLUMNS_2010_2011 = {"InvoiceNo": "invoice", "StockCode": "item", "Description": "description",
                      "Quantity": "quantity", "InvoiceDate": "time", "UnitPrice": "price",
                      "CustomerID": "customer", "Country": "country"}
_COLUMNS_2009_2010 = {"Invoice": "invoice", "StockCode": "item", "Description": "description",
                      "Quantity": "quantity", "InvoiceDate": "time", "Price": "price",
                      "Customer ID": "customer", "Country": "country"}
_MISSING_DESCRIPTIONS = ("", "UNKNOWN", "NAN", "?", "??", "???")
#: how the two files write a missing description
_PLACEHOLDERS = ("Unknown", "nan")


def is_product_code(code: pl.Expr) -> pl.Expr:
    """True for stock codes that name a product (the input is expected upper-cased)."""
    expr = ~code.is_in(sorted(NON_PRODUCT_CODES))
    for prefix in NON_PRODUCT_PREFIXES:
        expr = expr & ~code.str.starts_with(prefix)
    return expr


def _read(path: Path, mapping: dict[str, str]) -> pl.DataFrame:
    frame = pl.read_parquet(path, columns=None)
    require_columns(frame, {dst: src for src, dst in mapping.items()}, what=f"the Online Retail file {path}")
    return frame.select(
        pl.col(src).alias(dst) for src, dst in mapping.items()
    ).with_columns(
        pl.col("invoice").cast(pl.String).str.strip_chars(),
        pl.col("item").cast(pl.String).str.strip_chars(),
        pl.col("quantity").cast(pl.Float64),
        pl.col("time").cast(pl.Datetime("us")),
        pl.col("price").cast(pl.Float64),
        pl.col("customer").cast(pl.Float64),
    )


def load_online_retail(paths: dict[str, Path], *, combined: bool = True, name: str | None = None,
                       **_: Any) -> Dataset:
    """Load Online Retail: the 2010-2011 file, combined with the 2009-2010 file when ``combined``."""
    t0 = time.perf_counter()
    newer = _read(paths[FILE_2010_2011], _COLUMNS_2010_2011)
    rows_read = {str(paths[FILE_2010_2011]): newer.height}
    dropped: dict[str, int] = {}
    if combined:
        older = _read(paths[FILE_2009_2010], _COLUMNS_2009_2010)
        rows_read[str(paths[FILE_2009_2010])] = older.height
        # the files overlap on 2010-12-01 .. 2010-12-09 with identical invoices: keep the newer file's copy
        older_only = older.join(newer.select("invoice").unique(), on="invoice", how="anti")
        dropped["overlap_duplicates"] = older.height - older_only.height
        frame = pl.concat([older_only, newer], how="vertical")
    else:
        frame = newer
    n_read = sum(rows_read.values())
    missing = {col: int(n) for col, n in frame.null_count().row(0, named=True).items()}

    # one pass: flag every reason to drop a line, count the drops in order, then filter once
    cancel, non_positive = pl.col("_cancel"), pl.col("_non_positive")
    non_product, no_customer = pl.col("_non_product"), pl.col("customer").is_null()
    flagged = frame.lazy().with_columns(
        pl.col("item").str.to_uppercase().alias("item"),
        (pl.col("item") != pl.col("item").str.to_uppercase()).alias("_uppercased"),
        pl.col("invoice").str.starts_with("C").alias("_cancel"),
        (pl.col("quantity") <= 0).alias("_non_positive"),
    ).with_columns((~is_product_code(pl.col("item"))).alias("_non_product"))
    counts_q = flagged.select(
        pl.col("_uppercased").sum().alias("uppercased"),
        pl.col("description").is_in(list(_PLACEHOLDERS)).sum().alias("description_placeholder"),
        cancel.sum().alias("cancellations"),
        (~cancel & non_positive).sum().alias("non_positive_quantity"),
        (~cancel & ~non_positive & non_product).sum().alias("non_product_codes"),
        (~cancel & ~non_positive & ~non_product & no_customer).sum().alias("missing_customer"),
    )
    products_q = flagged.filter(~cancel & ~non_positive & ~non_product).select(*frame.columns)
    counts_frame, products = pl.collect_all([counts_q, products_q])
    counts = counts_frame.row(0, named=True)
    missing["description_placeholder"] = int(counts.pop("description_placeholder"))
    uppercased = int(counts.pop("uppercased"))
    dropped.update({step: int(n) for step, n in counts.items()})
    # products: sold product lines, with or without a customer; the catalogue's source
    frame = products.filter(pl.col("customer").is_not_null())
    if frame.height == 0:
        raise DataError("the Online Retail files hold no product lines with a customer after cleaning; "
                        "are they the UCI files?")
    frame = frame.with_columns(pl.col("customer").cast(pl.Int64))
    interactions = interactions_from_polars(frame, user="customer", item="item", time="time", quantity="quantity")
    catalog = Catalog(_catalogue(products))
    seconds = time.perf_counter() - t0
    notes: dict[str, Any] = {
        "source": "UCI Online Retail" + (" + Online Retail II (2009-2010)" if combined else ""),
        "files": list(rows_read),
        "rows_read": n_read,
        "rows_read_per_file": rows_read,
        "missing_values": missing,
        "stock_codes_uppercased": uppercased,
        "dropped": dropped,
        "events": len(interactions),
        "users": interactions.n_users,
        "items": interactions.n_items,
        "invoices": int(frame["invoice"].n_unique()),
        "quantity": "units bought on the invoice line",
        "load_seconds": round(seconds, 3),
    }
    logger.info("loaded Online Retail: %s in %.2fs", interactions, seconds)
    return Dataset(name or ("online-retail" if combined else "online-retail-2011"), interactions, catalog, notes)


def _catalogue(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per stock code: title (most frequent real description) and median unit price.

    Counts of lines or customers are left out on purpose: they span the whole log, and a model
    evaluated at a cutoff must not see sales after it through the catalogue.
    """
    # count raw (item, description) pairs first; the string clean-up then runs on the few unique pairs
    pairs = lines.group_by("item", "description").agg(pl.len().alias("n"), (pl.col("price") > 0).sum().alias("priced"))
    desc = pl.col("description").str.strip_chars().str.replace_all(r"\s+", " ")
    described = (
        pairs.with_columns(desc.alias("description"))
        .filter(pl.col("description").is_not_null()
                & ~pl.col("description").str.to_uppercase().is_in(list(_MISSING_DESCRIPTIONS)))
        .group_by("item", "description")
        .agg(pl.col("n").sum(), pl.col("priced").sum())
        .sort(["item", "priced", "n", "description"], descending=[False, True, True, False])
        .group_by("item", maintain_order=True)
        .agg(pl.col("description").first().alias("title"))
    )
    stats = lines.group_by("item").agg(pl.col("price").filter(pl.col("price") > 0).median().alias("price"))
    return stats.join(described, on="item", how="left").select("item", "title", "price").sort("item")
