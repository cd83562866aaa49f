"""The loaders on the real public data (DISCOVERLY_DATA_DIR), checked against the documented counts.

The counts are the ones in docs/data.md; a change in cleaning must update both.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from discoverly.data.datasets import Dataset, load_dataset

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def retail_2011(shared_data: Path) -> Dataset:
    return load_dataset("online-retail-2011", shared_data)


@pytest.fixture(scope="module")
def retail(shared_data: Path) -> Dataset:
    return load_dataset("online-retail", shared_data)


def test_online_retail_2011_counts(retail_2011: Dataset) -> None:
    n = retail_2011.notes
    assert n["rows_read"] == 541_909
    assert n["dropped"] == {"cancellations": 9_288, "non_positive_quantity": 1_336, "non_product_codes": 2_366,
                            "missing_customer": 132_549}
    log = retail_2011.interactions
    assert (len(log), log.n_users, log.n_items) == (396_370, 4_335, 3_659)
    assert n["missing_values"]["customer"] == 135_080
    assert log.start == dt.datetime(2010, 12, 1, 8, 26) and log.end == dt.datetime(2011, 12, 9, 12, 50)


def test_online_retail_2011_ids_and_catalogue(retail_2011: Dataset) -> None:
    log = retail_2011.interactions
    assert 17850 in log.users and isinstance(log.users.id(0), int)
    assert "85123A" in log.items and "POST" not in log.items and "M" not in log.items
    assert not any(str(i).startswith(("TEST", "GIFT_0001", "ADJUST")) for i in log.items)
    assert np.all(log.quantity > 0)
    cat = retail_2011.catalog
    assert cat is not None
    assert cat.titles(["85123A", "22423"]) == ["WHITE HANGING HEART T-LIGHT HOLDER", "REGENCY CAKESTAND 3 TIER"]
    assert cat.row("22423")["price"] == pytest.approx(12.75)
    titles = cat.table["title"].drop_nulls()
    assert not titles.str.to_uppercase().is_in(["UNKNOWN", "NAN"]).any()
    assert retail_2011.name == "online-retail-2011" and not retail_2011.synthetic


def test_online_retail_combined_deduplicates_the_overlap(retail: Dataset, retail_2011: Dataset) -> None:
    n = retail.notes
    assert n["rows_read"] == 541_909 + 525_461
    assert n["dropped"]["overlap_duplicates"] == 22_523
    assert n["dropped"]["missing_customer"] == 229_403
    log = retail.interactions
    assert (len(log), log.n_users, log.n_items) == (788_249, 5_853, 4_620)
    assert log.start == dt.datetime(2009, 12, 1, 7, 45)
    # the overlap week holds exactly the 2011 file's events, once
    week = ("2010-12-01", "2010-12-10")
    assert len(log.between(*week)) == len(retail_2011.interactions.between(*week))
    # after the overlap, the combined log is the 2011 file
    assert len(log.between("2010-12-10", "2012-01-01")) == len(retail_2011.interactions.between("2010-12-10",
                                                                                               "2012-01-01"))


def test_complete_journey(shared_data: Path) -> None:
    ds = load_dataset("complete-journey", shared_data)
    n = ds.notes
    assert n["rows_read"] == 1_469_307
    assert n["dropped"] == {"non_positive_quantity": 8_869, "excluded_departments": 13_405}
    log = ds.interactions
    assert (len(log), log.n_users, log.n_items) == (1_447_033, 2_467, 68_221)
    assert log.start is not None and log.start.year == 2017
    assert ds.catalog is not None and len(ds.catalog) == 92_331
    row = ds.catalog.row(int(log.items.id(0)))
    assert {"title", "category", "brand", "department", "product_type", "package_size"} <= set(row)
    assert ds.catalog.table["title"].null_count() == 0
    assert ds.users is not None and "user" in ds.users.columns
    fuel = ds.catalog.table.filter(ds.catalog.table["department"].is_in(["FUEL", "COUPON"]))["item"]
    assert not any(int(i) in log.items for i in fuel.to_list())


def test_movielens_100k(shared_data: Path) -> None:
    ds = load_dataset("movielens-100k", shared_data)
    log = ds.interactions
    assert (len(log), log.n_users, log.n_items) == (100_000, 943, 1_682)
    assert sorted(set(log.quantity.tolist())) == [1, 2, 3, 4, 5]  # the rating is the weight
    assert log.start is not None and log.start.date() == dt.date(1997, 9, 20)
    assert ds.catalog is not None
    toy = ds.catalog.row(1)
    assert toy["title"] == "Toy Story (1995)" and toy["year"] == 1995
    assert toy["genres"] == ["Animation", "Children's", "Comedy"] and toy["category"] == "Animation|Children's|Comedy"
    assert ds.users is not None and ds.users.height == 943
    liked = load_dataset("movielens-100k", shared_data, min_rating=4)
    assert len(liked.interactions) == 55_375
    assert liked.notes["dropped"]["below_min_rating"] == 100_000 - 55_375
