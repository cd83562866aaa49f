"""ESCI and WANDS loaders on tiny files in their exact published schemas, and judged evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.errors import DataError, DatasetNotFoundError
from discoverly.search.engine import SearchEngine
from discoverly.search.esci import ESCI_GAINS, load_esci
from discoverly.search.index import IndexConfig
from discoverly.search.judged import dcg, evaluate_judged
from discoverly.search.wands import load_wands, read_wands_queries


def _write_esci(root: Path) -> Path:
    d = root / "shopping_queries_dataset"
    d.mkdir(parents=True)
    pl.DataFrame({
        "example_id": [0, 1, 2, 3, 4, 5, 6],
        "query": ["wireless mouse", "wireless mouse", "wireless mouse", "usb cable", "usb cable", "raton", "usb cable"],
        "query_id": [1, 1, 1, 2, 2, 3, 2],
        "product_id": ["B01", "B02", "B03", "B04", "B05", "B06", "B01"],
        "product_locale": ["us", "us", "us", "us", "us", "es", "us"],
        "esci_label": ["E", "C", "I", "E", "S", "E", "I"],
        "small_version": [1, 1, 1, 1, 1, 1, 0],
        "large_version": [1, 1, 1, 1, 1, 1, 1],
        "split": ["test", "test", "test", "test", "test", "test", "train"],
    }).write_parquet(d / "shopping_queries_dataset_examples.parquet")
    pl.DataFrame({
        "product_id": ["B01", "B02", "B03", "B04", "B05", "B06"],
        "product_title": ["Logi wireless mouse M185", "Mouse pad XL", "Garden hose 50 ft", "USB-C cable 2 m",
                          "Lightning cable", "Ratón inalámbrico"],
        "product_description": ["A wireless mouse", None, "Hose", "Cable", "Cable", "Ratón"],
        "product_bullet_point": ["2.4 GHz", "Large", "Green", "Fast charge", "Apple", "USB"],
        "product_brand": ["Logi", "Acme", "GardenCo", "Anker", "Apple", "Logi"],
        "product_color": ["black", "blue", "green", "white", "white", "black"],
        "product_locale": ["us", "us", "us", "us", "us", "es"],
    }).write_parquet(d / "shopping_queries_dataset_products.parquet")
    return d


def _write_wands(root: Path) -> Path:
    d = root / "dataset"
    d.mkdir(parents=True)
    (d / "product.csv").write_text(
        "product_id\tproduct_name\tproduct_class\tcategory hierarchy\tproduct_description\tproduct_features\t"
        "rating_count\taverage_rating\treview_count\n"
        "0\tsolid wood platform bed\tBeds\tFurniture / Bedroom Furniture / Beds\tgood deep sleep\t"
        "overallwidth-sidetoside:64.7\t15.0\t4.5\t15.0\n"
        "1\tall-clad 7 qt . slow cooker\tSlow Cookers\tKitchen & Tabletop / Small Kitchen Appliances\t"
        "slow-cooked meals\tcapacityquarts:7\t100.0\t2.0\t98.0\n"
        "2\tgriffin 29 '' bar stool\tBar Stools\tFurniture / Kitchen & Dining Furniture\tminimalist barstools\t"
        "\t20.0\t4.5\t20.0\n", encoding="utf-8")
    (d / "query.csv").write_text("query_id\tquery\tquery_class\n0\tplatform bed\tBeds\n1\tslow cooker\tSlow Cookers\n"
                                 "2\tbar stool\tBar Stools\n", encoding="utf-8")
    (d / "label.csv").write_text("id\tquery_id\tproduct_id\tlabel\n0\t0\t0\tExact\n1\t0\t2\tIrrelevant\n"
                                 "2\t1\t1\tExact\n3\t1\t0\tPartial\n4\t2\t2\tExact\n", encoding="utf-8")
    return d


def test_esci_loader_filters_locale_version_and_split(tmp_path: Path) -> None:
    _write_esci(tmp_path)
    data = load_esci(tmp_path)
    assert sorted(data.queries["query_id"].to_list()) == [1, 2]
    assert data.judgements.height == 5
    assert set(data.catalog.table["item"].to_list()) == {"B01", "B02", "B03", "B04", "B05"}
    assert {"title", "description", "brand", "product_bullet_point"} <= set(data.catalog.columns)
    gains = dict(zip(data.judgements["label"].to_list(), data.judgements["gain"].to_list(), strict=True))
    assert gains == {k: v for k, v in ESCI_GAINS.items() if k in gains}
    assert load_esci(tmp_path / "shopping_queries_dataset", locale="es").queries.height == 1


def test_loaders_explain_missing_and_wrong_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="esci-data"):
        load_esci(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="WANDS"):
        load_wands(tmp_path)
    d = _write_wands(tmp_path)
    (d / "label.csv").write_text("id\tquery_id\tproduct_id\tlabel\n0\t0\t0\tGood\n", encoding="utf-8")
    with pytest.raises(DataError, match="unknown WANDS labels"):
        load_wands(tmp_path)


def test_wands_loader(tmp_path: Path) -> None:
    _write_wands(tmp_path)
    data = load_wands(tmp_path)
    assert len(data.catalog) == 3 and data.queries.height == 3
    assert data.catalog.row(1)["category"] == "Slow Cookers"
    assert data.catalog.row(0)["category_hierarchy"].startswith("Furniture")
    assert data.judgements.filter(pl.col("label") == "Partial")["gain"].to_list() == [1.0]
    assert read_wands_queries(tmp_path / "dataset" / "query.csv")["query_class"].to_list()[0] == "Beds"


def test_wands_without_the_optional_columns_loads(tmp_path: Path) -> None:
    """A product.csv without product_description (or the rating columns) was polars'
    ColumnNotFoundError traceback; only id, name and class are needed."""
    d = _write_wands(tmp_path)
    product = d / "product.csv"
    rows = [line.split("\t") for line in product.read_text(encoding="utf-8").splitlines()]
    product.write_text("".join("\t".join(r[:4]) + "\n" for r in rows), encoding="utf-8")
    data = load_wands(tmp_path)
    assert "description" not in data.catalog.columns and data.catalog.row(0)["title"] == "solid wood platform bed"


def test_wands_ids_that_are_not_integers_are_named(tmp_path: Path) -> None:
    d = _write_wands(tmp_path)
    product = d / "product.csv"
    product.write_text(product.read_text(encoding="utf-8").replace("\n0\tsolid", "\nx0\tsolid"), encoding="utf-8")
    with pytest.raises(DataError, match=r"product.csv: .*'product_id' are integers, got \['x0'\]"):
        load_wands(tmp_path)  # was polars' InvalidOperationError traceback


def test_real_wands_queries_when_present(shared_data: Path) -> None:
    path = shared_data / "product_search" / "wands"
    if not (path / "query.csv").is_file():
        pytest.skip("the WANDS query file is not in the data folder")
    q = read_wands_queries(path)
    assert q.height == 480 and q["query_class"].null_count() < 480


def test_dcg_by_hand() -> None:
    assert dcg(np.array([1.0, 0.0, 1.0])) == pytest.approx(1.0 + 1.0 / 2.0)
    assert dcg(np.array([3.0, 2.0]), k=1) == pytest.approx(3.0)


def test_evaluate_judged_in_both_modes(tmp_path: Path, encoder: Any) -> None:
    _write_wands(tmp_path)
    data = load_wands(tmp_path)
    engine = SearchEngine.build(data.catalog, index_config=IndexConfig(fields=("title", "category", "description")),
                                encoder=encoder)
    got = evaluate_judged(engine, data, mode="retrieve", method="lexical")
    # "slow cooker" finds its exact product but not the partial match ("platform bed")
    slow = 2.0 / (2.0 + 1.0 / np.log2(3))
    assert got["queries"] == 3 and got["nDCG@10"]["value"] == pytest.approx((1.0 + slow + 1.0) / 3)
    assert got["Recall@100"]["value"] == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    rerank = evaluate_judged(engine, data, mode="rerank", method="hybrid")
    assert 0.0 < rerank["nDCG"]["value"] <= 1.0
    _write_esci(tmp_path / "esci")
    esci = load_esci(tmp_path / "esci")
    e2 = SearchEngine.build(esci.catalog, index_config=IndexConfig(fields=("title", "description", "brand")),
                            encoder=encoder)
    res = evaluate_judged(e2, esci, mode="rerank", method="lexical")
    assert res["nDCG"]["value"] == pytest.approx(1.0)  # exact matches ranked first
