"""Loader for WANDS, the Wayfair ANnotation DataSet (ECIR 2022).

Reads the three tab-separated files of ``dataset/`` exactly as published::

    product.csv   product_id, product_name, product_class, category hierarchy, product_description,
                  product_features, rating_count, average_rating, review_count
    query.csv     query_id, query, query_class
    label.csv     id, query_id, product_id, label          (Exact, Partial, Irrelevant)

Gains: Exact 2, Partial 1, Irrelevant 0. ``read_wands_queries`` reads ``query.csv`` alone (the
480 queries with their product class), which is enough to measure query classification.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.errors import DataError, DatasetNotFoundError
from discoverly.search.judged import JudgedDataset

__all__ = ["load_wands", "read_wands_queries", "WANDS_GAINS"]

#: the gain of each WANDS label
WANDS_GAINS: dict[str, float] = {"Exact": 2.0, "Partial": 1.0, "Irrelevant": 0.0}


def _file(root: Path, name: str) -> Path:
    for candidate in (root / name, root / "dataset" / name):
        if candidate.is_file():
            return candidate
    raise DatasetNotFoundError(f"{name} is not in {str(root)!r} (nor in its dataset/ folder); "
                               "get WANDS from github.com/wayfair/WANDS")


def _read(path: Path, need: tuple[str, ...]) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, separator="\t", infer_schema_length=0, quote_char='"')
    except pl.exceptions.ComputeError as exc:
        raise DataError(f"cannot read {str(path)!r} as a tab-separated WANDS file: {exc}") from exc
    missing = set(need) - set(frame.columns)
    if missing:
        raise DataError(f"{path.name} lacks columns {sorted(missing)} (has {frame.columns}); is it the WANDS file?")
    return frame


def read_wands_queries(path: str | os.PathLike[str]) -> pl.DataFrame:
    """``query.csv``: columns ``query_id`` (int), ``query``, ``query_class``."""
    root = Path(path)
    file = root if root.is_file() else _file(root, "query.csv")
    frame = _read(file, ("query_id", "query", "query_class"))
    return _integer_ids(frame, file, "query_id")


def _integer_ids(frame: pl.DataFrame, path: Path, *columns: str) -> pl.DataFrame:
    """``columns`` cast to integers, as WANDS publishes its ids; a clear error otherwise."""
    for col in columns:
        bad = frame.filter(pl.col(col).cast(pl.Int64, strict=False).is_null())[col].head(3).to_list()
        if bad:
            raise DataError(f"{path.name}: the WANDS ids in {col!r} are integers, got {bad}; is it the WANDS file?")
    return frame.with_columns(pl.col(c).cast(pl.Int64) for c in columns)


def load_wands(path: str | os.PathLike[str]) -> JudgedDataset:
    """Products, queries and judgements of WANDS as a :class:`JudgedDataset`."""
    root = Path(path)
    product_file, label_file = _file(root, "product.csv"), _file(root, "label.csv")
    products = _integer_ids(_read(product_file, ("product_id", "product_name", "product_class")), product_file,
                            "product_id")
    queries = read_wands_queries(root)
    labels = _integer_ids(_read(label_file, ("query_id", "product_id", "label")), label_file, "query_id", "product_id")
    unknown = set(labels["label"].unique().to_list()) - set(WANDS_GAINS)
    if unknown:
        raise DataError(f"unknown WANDS labels {sorted(unknown)}; expected {sorted(WANDS_GAINS)}")
    hierarchy = next((c for c in ("category hierarchy", "category_hierarchy") if c in products.columns), None)
    renames = {"product_id": "item", "product_name": "title", "product_class": "category",
               "product_description": "description"}
    if hierarchy:
        renames[hierarchy] = "category_hierarchy"
    table = products.rename(renames, strict=False).with_columns(pl.col("item").cast(pl.Int64))  # optional columns
    for col in ("rating_count", "average_rating", "review_count"):
        if col in table.columns:
            table = table.with_columns(pl.col(col).cast(pl.Float64, strict=False))
    judgements = labels.select(pl.col("query_id").cast(pl.Int64), pl.col("product_id").cast(pl.Int64).alias("item"),
                               "label", pl.col("label").replace_strict(WANDS_GAINS, return_dtype=pl.Float64)
                               .alias("gain"))
    return JudgedDataset("wands", Catalog(table), queries, judgements)
