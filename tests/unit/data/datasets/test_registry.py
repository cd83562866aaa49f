"""load_dataset by name: names, aliases, options, and the synthetic store needing no files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from discoverly.data.datasets import DATASETS, dataset_spec, find_dataset, load_dataset
from discoverly.errors import ConfigError, DataError, DatasetNotFoundError


def test_the_built_in_names() -> None:
    assert set(DATASETS) == {"online-retail", "online-retail-2011", "complete-journey", "movielens-100k",
                             "synthetic-store"}
    for spec in DATASETS.values():
        assert spec.title and spec.description


@pytest.mark.parametrize("alias,name", [("ml-100k", "movielens-100k"), ("Online_Retail", "online-retail"),
                                        ("completejourney", "complete-journey"), ("synthetic", "synthetic-store")])
def test_aliases(alias: str, name: str) -> None:
    assert dataset_spec(alias).name == name


def test_unknown_name_suggests_the_nearest() -> None:
    with pytest.raises(ConfigError, match=r"unknown data set 'movielens-1m'.*Did you mean 'movielens-100k'"):
        load_dataset("movielens-1m")


def test_a_suggestion_names_a_data_set_once() -> None:
    # 'movielens' (an alias) and 'movielens-100k' are both near: the data set is named once, not twice
    with pytest.raises(ConfigError, match=r"Did you mean 'movielens-100k'\? To read"):
        dataset_spec("movielen")
    with pytest.raises(ConfigError, match=r"Did you mean 'online-retail' or 'online-retail-2011'\?"):
        dataset_spec("online-retial")


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"unknown option.*'min_ratting'.*accepts: min_rating"):
        load_dataset("movielens-100k", min_ratting=4)


def test_synthetic_store_needs_no_files(tmp_path: Path) -> None:
    ds = load_dataset("synthetic-store", tmp_path / "nothing", n_customers=40, n_items=30, days=20, rng=3)
    assert ds.synthetic and ds.interactions.n_users == 40
    assert find_dataset("synthetic-store", tmp_path) == {}


def test_missing_online_retail_explains_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("online-retail-2011", tmp_path)
    msg = str(err.value)
    assert "online_retail/online_retail.parquet" in msg and str(tmp_path) in msg and "Parquet" in msg
    assert find_dataset("online-retail-2011", tmp_path) is None


def test_online_retail_with_wrong_columns_is_a_data_error(tmp_path: Path) -> None:
    folder = tmp_path / "online_retail"
    folder.mkdir()
    pl.DataFrame({"Invoice": ["1"], "Code": ["x"]}).write_parquet(folder / "online_retail.parquet")
    with pytest.raises(DataError, match=r"the Online Retail file .*StockCode"):
        load_dataset("online-retail-2011", tmp_path)


def test_online_retail_cleaning_on_a_hand_made_file(tmp_path: Path) -> None:
    import datetime as dt

    folder = tmp_path / "online_retail"
    folder.mkdir()
    t = dt.datetime(2011, 1, 5, 10, 0)
    rows = [  # invoice, code, description, qty, price, customer
        ("1", "85123A", "WHITE HEART", 6, 2.55, 17850.0),
        ("1", "85123a", "Unknown", 2, 2.55, 17850.0),      # lower-case code: the same product
        ("C2", "85123A", "WHITE HEART", -1, 2.55, 17850.0),  # cancellation
        ("3", "22423", "CAKESTAND", -5, 0.0, None),          # a return without a customer
        ("4", "POST", "POSTAGE", 1, 18.0, 12345.0),          # not a product
        ("5", "TEST001", "test", 1, 4.5, 12345.0),           # not a product
        ("6", "22423", "CAKESTAND", 1, 12.75, None),         # no customer
        ("7", "22423", "CAKESTAND", 2, 12.75, 12345.0),
    ]
    frame = pl.DataFrame(
        {"InvoiceNo": [r[0] for r in rows], "StockCode": [r[1] for r in rows], "Description": [r[2] for r in rows],
         "Quantity": [r[3] for r in rows], "InvoiceDate": [t] * len(rows), "UnitPrice": [r[4] for r in rows],
         "CustomerID": [r[5] for r in rows], "Country": ["United Kingdom"] * len(rows)})
    frame.write_parquet(folder / "online_retail.parquet")
    ds = load_dataset("online-retail-2011", tmp_path)
    assert ds.notes["dropped"] == {"cancellations": 1, "non_positive_quantity": 1, "non_product_codes": 2,
                                   "missing_customer": 1}
    assert ds.notes["stock_codes_uppercased"] == 1
    log = ds.interactions
    assert list(log.items) == ["22423", "85123A"] and list(log.users) == [12345, 17850]
    assert log.matrix("quantity").toarray().tolist() == [[2, 0], [0, 8]]
    assert ds.catalog is not None and ds.titles(["85123A", "22423"]) == ["WHITE HEART", "CAKESTAND"]
    assert ds.catalog.row("22423")["price"] == 12.75  # the 0.0-priced return does not count
