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


def test_names_are_read_in_any_case_with_spaces_or_underscores() -> None:
    assert dataset_spec("  MovieLens_100K ").name == "movielens-100k"
    assert dataset_spec("ONLINE-RETAIL-II").name == "online-retail"
    assert dataset_spec("Online_Retail_2011").name == "online-retail-2011"


def test_the_unknown_name_message_in_full() -> None:
    with pytest.raises(ConfigError) as err:
        dataset_spec("zzz")
    assert str(err.value) == ("unknown data set 'zzz'; the built-in data sets are online-retail, online-retail-2011, "
                              "complete-journey, movielens-100k, synthetic-store. To read your own log use "
                              "read_interactions(path, user=, item=, time=)")
    from discoverly.data.datasets.registry import did_you_mean

    assert did_you_mean("zzz") == ""
    assert did_you_mean("synthetc") == " Did you mean 'synthetic-store'?"
    assert did_you_mean("ML-100K") == " Did you mean 'movielens-100k'?"


def test_the_unknown_option_message_in_full() -> None:
    with pytest.raises(ConfigError) as err:
        load_dataset("online-retail", b=1, a=2)
    assert str(err.value) == "unknown option(s) ['a', 'b'] for data set 'online-retail'; it accepts: none"
    with pytest.raises(ConfigError) as synth:
        load_dataset("synthetic-store", zipf_exponent=1.0)
    assert str(synth.value) == ("unknown option(s) ['zipf_exponent'] for data set 'synthetic-store'; it accepts: "
                                "n_customers, n_items, days, rng, start")


@pytest.mark.parametrize("name,ending", [
    ("online-retail", "The UCI files are Excel workbooks without a published checksum, so discoverly does not "
                      "download them: get them from https://archive.ics.uci.edu/dataset/502/online+retail+ii, save "
                      "each sheet as Parquet with the original column names, and put the files in "
                      "<data dir>/online_retail/"),
    ("online-retail-2011", "get them from https://archive.ics.uci.edu/dataset/352/online+retail, save"),
    ("complete-journey", ". The data set is published at https://www.8451.com/area51"),
    ("movielens-100k", ". Or allow the download from https://files.grouplens.org/datasets/movielens/ml-100k.zip "
                       "(load_dataset(..., download=True); CLI: --download)"),
])
def test_a_missing_data_set_says_how_to_get_it(tmp_path: Path, name: str, ending: str) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset(name, tmp_path)
    message = str(err.value)
    assert message.startswith(f"data set {name!r} not found: expected the file(s) {DATASETS[name].files[0]}")
    assert message.endswith(ending) if name != "online-retail-2011" else ending in message


def test_download_is_only_tried_for_data_sets_that_have_one(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="Excel workbooks"):
        load_dataset("online-retail-2011", tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []


def test_find_dataset_looks_where_load_dataset_looks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "movielens" / "ml-100k"
    folder.mkdir(parents=True)
    for name in ("u.data", "u.item"):
        (folder / name).write_text("x")
    monkeypatch.setenv("DISCOVERLY_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("DISCOVERLY_CACHE_DIR", str(tmp_path))
    assert find_dataset("ml-100k") == {"movielens/ml-100k/u.data": folder / "u.data",
                                       "movielens/ml-100k/u.item": folder / "u.item"}
    assert find_dataset("ml-100k", cache_dir=tmp_path / "other") is None
    assert find_dataset("ml-100k", folder) is not None and find_dataset("ml-100k", tmp_path / "nothing") is None
