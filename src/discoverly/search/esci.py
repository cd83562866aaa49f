"""Loader for the Amazon Shopping Queries data set (ESCI, KDD Cup 2022).

Reads the two Parquet files of ``shopping_queries_dataset/`` exactly as published::

    shopping_queries_dataset_examples.parquet   example_id, query, query_id, product_id, product_locale,
                                                esci_label, small_version, large_version, split
    shopping_queries_dataset_products.parquet   product_id, product_title, product_description,
                                                product_bullet_point, product_brand, product_color,
                                                product_locale

Task 1 (query-product ranking) uses the small version; its gains are E (exact) 1.0, S
(substitute) 0.1, C (complement) 0.01, I (irrelevant) 0. The published baseline, a fine-tuned
MS MARCO cross-encoder, reaches nDCG 0.852 on the public test set (all locales).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.errors import DataError, DatasetNotFoundError
from discoverly.search.judged import JudgedDataset

__all__ = ["load_esci", "ESCI_GAINS", "EXAMPLES", "PRODUCTS"]

EXAMPLES = "shopping_queries_dataset_examples.parquet"
PRODUCTS = "shopping_queries_dataset_products.parquet"

#: the task-1 gain of each ESCI label
ESCI_GAINS: dict[str, float] = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}

_EXAMPLE_COLUMNS = ("query", "query_id", "product_id", "product_locale", "esci_label", "small_version",
                    "large_version", "split")
_PRODUCT_COLUMNS = ("product_id", "product_title", "product_locale")


def _find(path: Path, name: str) -> Path:
    for candidate in (path / name, path / "shopping_queries_dataset" / name):
        if candidate.is_file():
            return candidate
    raise DatasetNotFoundError(f"{name} is not in {str(path)!r} (nor in its shopping_queries_dataset/ folder); "
                               "download the ESCI data set from github.com/amazon-science/esci-data")


def load_esci(path: str | os.PathLike[str], *, locale: str = "us", version: Literal["small", "large"] = "small",
              split: Literal["train", "test", "all"] = "test", catalog: Literal["judged", "locale"] = "judged"
              ) -> JudgedDataset:
    """The ESCI examples of one locale, version and split as a :class:`JudgedDataset`.

    ``catalog="judged"`` keeps only the products judged for the selected queries (enough for
    re-ranking); ``"locale"`` keeps every product of the locale (for retrieval).
    """
    root = Path(path)
    examples = pl.read_parquet(_find(root, EXAMPLES))
    products = pl.read_parquet(_find(root, PRODUCTS))
    for frame, cols, name in ((examples, _EXAMPLE_COLUMNS, EXAMPLES), (products, _PRODUCT_COLUMNS, PRODUCTS)):
        missing = set(cols) - set(frame.columns)
        if missing:
            raise DataError(f"{name} lacks columns {sorted(missing)}; is it the ESCI file?")
    flag = "small_version" if version == "small" else "large_version"
    ex = examples.filter((pl.col("product_locale") == locale) & (pl.col(flag) == 1))
    if split != "all":
        ex = ex.filter(pl.col("split") == split)
    if ex.height == 0:
        raise DataError(f"no ESCI example has locale {locale!r}, version {version!r} and split {split!r}")
    unknown = set(ex["esci_label"].unique().to_list()) - set(ESCI_GAINS)
    if unknown:
        raise DataError(f"unknown ESCI labels {sorted(unknown)}; expected {sorted(ESCI_GAINS)}")
    prods = products.filter(pl.col("product_locale") == locale)
    if catalog == "judged":
        prods = prods.join(ex.select("product_id").unique(), on="product_id", how="semi")
    renames = {"product_id": "item", "product_title": "title", "product_description": "description",
               "product_brand": "brand"}
    table = (prods.rename({k: v for k, v in renames.items() if k in prods.columns})
             .drop("product_locale").unique("item", keep="first", maintain_order=True))
    queries = ex.select("query_id", "query").unique("query_id", keep="first", maintain_order=True)
    judgements = ex.select("query_id", pl.col("product_id").alias("item"), pl.col("esci_label").alias("label"),
                           pl.col("esci_label").replace_strict(ESCI_GAINS, return_dtype=pl.Float64).alias("gain"))
    return JudgedDataset(f"esci-{locale}-{version}-{split}", Catalog(table), queries, judgements)
