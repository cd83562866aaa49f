"""The public data sets' cleaning rules (docs/data.md) on tiny hand-written files in each data
set's real format: every step's count worked out by hand, in the documented order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from discoverly.data.datasets import load_dataset
from discoverly.data.datasets.complete_journey import product_titles
from discoverly.data.datasets.online_retail import NON_PRODUCT_CODES, NON_PRODUCT_PREFIXES
from discoverly.errors import ConfigError, DataError

T = dt.datetime(2011, 1, 5, 10, 0)
_NEWER = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")
_OLDER = ("Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country")


def _retail(path: Path, rows: list[tuple[object, ...]], columns: tuple[str, ...] = _NEWER,
            time_unit: str = "us") -> None:
    """Rows of (invoice, code, description, quantity, time, price, customer) as the UCI Parquet file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {name: [r[i] for r in rows] for i, name in enumerate(columns[:7])}
    data[columns[7]] = ["United Kingdom"] * len(rows)
    frame = pl.DataFrame(data, schema={columns[0]: pl.String, columns[1]: pl.String, columns[2]: pl.String,
                                       columns[3]: pl.Int64, columns[4]: pl.Datetime(time_unit),  # type: ignore[arg-type]
                                       columns[5]: pl.Float64, columns[6]: pl.Float64, columns[7]: pl.String})
    frame.write_parquet(path)


def test_online_retail_steps_count_in_order_and_each_line_once(tmp_path: Path) -> None:
    rows = [
        ("1", "85123A", "WHITE HEART", 6, T, 2.55, 17850.0),
        ("C2", "POST", "POSTAGE", -1, T, 18.0, None),       # cancelled, non-positive, not a product, no customer
        ("C3", "85123A", "WHITE HEART", 1, T, 2.55, 17850.0),  # a cancellation with a positive quantity
        ("4", "POST", "POSTAGE", 0, T, 18.0, None),          # quantity 0, not a product, no customer
        ("5", "85123A", "WHITE HEART", -3, T, 2.55, 17850.0),  # a return outside a C invoice
        ("6", "M", "Manual", 1, T, 5.0, None),               # not a product, no customer
        ("7", "22423", "CAKESTAND", 1, T, 12.75, None),      # a product without customer
        ("8", "22423", "CAKESTAND", 2, T + dt.timedelta(days=1), 12.75, 12345.0),
    ]
    _retail(tmp_path / "online_retail" / "online_retail.parquet", rows)
    ds = load_dataset("online-retail-2011", tmp_path)
    assert list(ds.notes["dropped"].items()) == [("cancellations", 2), ("non_positive_quantity", 2),
                                                 ("non_product_codes", 1), ("missing_customer", 1)]
    assert ds.notes["rows_read"] == 8 and ds.notes["events"] == 2 and ds.notes["invoices"] == 2
    assert (ds.notes["users"], ds.notes["items"]) == (2, 2)
    assert ds.notes["missing_values"]["customer"] == 4
    assert ds.notes["source"] == "UCI Online Retail" and ds.name == "online-retail-2011"
    log = ds.interactions
    assert list(log.users) == [12345, 17850] and log.users.index(17850) == 1
    assert log.quantity is not None and sorted(log.quantity.tolist()) == [2, 6]


@pytest.mark.parametrize("code,kept", [
    *[(c, False) for c in sorted(NON_PRODUCT_CODES)],
    ("post", False), ("Bank Charges", False), ("TEST001", False), ("ADJUST2", False), ("GIFT_0001_20", False),
    ("C", True), ("POST2", True), ("MM", True), ("GIFT_0002_10", True), ("DCGS0003", True), ("85123A", True),
    ("TES", True), ("ADJUS", True),
])
def test_non_product_codes(tmp_path: Path, code: str, kept: bool) -> None:
    rows = [("1", "22423", "CAKESTAND", 1, T, 12.75, 1.0), ("2", code, "X", 1, T, 1.0, 2.0)]
    _retail(tmp_path / "online_retail" / "online_retail.parquet", rows)
    ds = load_dataset("online-retail-2011", tmp_path)
    assert ds.notes["dropped"]["non_product_codes"] == (0 if kept else 1)
    assert (code.upper() in ds.interactions.items) == kept
    assert NON_PRODUCT_PREFIXES == ("TEST", "ADJUST", "GIFT_0001_")


def test_online_retail_combined_keeps_the_overlap_once_from_the_newer_file(tmp_path: Path) -> None:
    folder = tmp_path / "online_retail"
    older = [
        ("489434", "85048", "GLASS BALL", 12, dt.datetime(2009, 12, 1, 7, 45), 6.95, 13085.0),
        ("536365", "85123A", "OLD NAME", 6, dt.datetime(2010, 12, 1, 8, 26), 2.55, 17850.0),  # also in newer
        ("536365", "71053", "OLD LANTERN", 6, dt.datetime(2010, 12, 1, 8, 26), 3.39, 17850.0),
        ("C489449", "22087", "PAPER BUNTING", -12, dt.datetime(2009, 12, 1, 10, 33), 2.95, 16321.0),
    ]
    newer = [
        ("536365", "85123A", "WHITE HEART", 6, dt.datetime(2010, 12, 1, 8, 26), 2.55, 17850.0),
        ("536366", "22633", "HAND WARMER", 6, dt.datetime(2010, 12, 1, 8, 28), 1.85, 17850.0),
    ]
    _retail(folder / "online_retail_II_2009-2010.parquet", older, _OLDER, time_unit="ns")
    _retail(folder / "online_retail.parquet", newer)
    ds = load_dataset("online-retail", tmp_path)
    assert ds.name == "online-retail" and ds.notes["source"] == "UCI Online Retail + Online Retail II (2009-2010)"
    assert ds.notes["rows_read"] == 6
    assert ds.notes["rows_read_per_file"] == {str(folder / "online_retail.parquet"): 2,
                                              str(folder / "online_retail_II_2009-2010.parquet"): 4}
    assert ds.notes["dropped"] == {"overlap_duplicates": 2, "cancellations": 1, "non_positive_quantity": 0,
                                   "non_product_codes": 0, "missing_customer": 0}
    log = ds.interactions
    assert len(log) == 3 and sorted(log.items) == ["22633", "85048", "85123A"]  # 71053 goes with invoice 536365
    assert log.start == dt.datetime(2009, 12, 1, 7, 45)
    assert ds.titles(["85123A"]) == ["WHITE HEART"]  # from the newer file


def test_online_retail_catalogue_titles_and_prices(tmp_path: Path) -> None:
    rows = [
        ("1", "85123a", "  WHITE   HEART ", 1, T, 2.0, 1.0),  # lower-case code, padded description
        ("2", "85123A", "Unknown", 1, T, 4.0, 1.0),   # placeholder: never a title
        ("3", "85123A", "Unknown", 1, T, 0.0, 1.0),
        ("4", "85123A", "WHITE HEART", 1, T, 3.0, None),  # a product line without customer still counts
        ("5", "85123A", "damaged", 1, T, 0.0, 2.0),   # frequent but unpriced
        ("6", "85123A", "damaged", 1, T, 0.0, 2.0),
        ("7", "85123A", "damaged", 1, T, 0.0, 2.0),
        ("8", "22423", "nan", 1, T, 0.0, 2.0),        # only placeholders and no price: no title, no price
    ]
    _retail(tmp_path / "online_retail" / "online_retail.parquet", rows)
    ds = load_dataset("online-retail-2011", tmp_path)
    assert ds.notes["stock_codes_uppercased"] == 1 and ds.notes["missing_values"]["description_placeholder"] == 3
    assert ds.catalog is not None
    table = ds.catalog.table
    assert table.columns == ["item", "title", "price"] and table["item"].to_list() == ["22423", "85123A"]
    assert table.row(1) == ("85123A", "WHITE HEART", 3.0)  # most priced lines; median of 2, 4, 3
    assert table.row(0) == ("22423", None, None)


def test_online_retail_without_product_lines_is_a_data_error(tmp_path: Path) -> None:
    _retail(tmp_path / "online_retail" / "online_retail.parquet", [("1", "POST", "POSTAGE", 1, T, 18.0, 1.0),
                                                                   ("2", "22423", "CAKESTAND", 1, T, 1.0, None)])
    with pytest.raises(DataError) as err:
        load_dataset("online-retail-2011", tmp_path)
    assert str(err.value) == ("the Online Retail files hold no product lines with a customer after cleaning; "
                              "are they the UCI files?")


def _journey(folder: Path, tx: list[tuple[int, int, int, int, dt.datetime]], products: list[tuple[object, ...]],
             demographics: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"household_id": [r[0] for r in tx], "store_id": [1] * len(tx), "basket_id": [r[1] for r in tx],
                  "product_id": [r[2] for r in tx], "quantity": [r[3] for r in tx],
                  "sales_value": [1.0] * len(tx), "transaction_timestamp": [r[4] for r in tx]},
                 schema_overrides={"transaction_timestamp": pl.Datetime("ns")}).write_parquet(
        folder / "transactions.parquet")
    pl.DataFrame([dict(zip(("product_id", "manufacturer_id", "department", "brand", "product_category",
                            "product_type", "package_size"), p, strict=True)) for p in products],
                 schema={"product_id": pl.Int64, "manufacturer_id": pl.Int64, "department": pl.String,
                         "brand": pl.String, "product_category": pl.String, "product_type": pl.String,
                         "package_size": pl.String}).write_parquet(folder / "products.parquet")
    if demographics:
        pl.DataFrame({"household_id": [1, 2], "age": ["65+", "45-54"]}).write_parquet(folder / "demographics.parquet")


_PRODUCTS = [
    (10, 2, "GROCERY", "Private", "COLD CEREAL", "KIDS CEREAL", "32 OZ"),
    (11, 2, "GROCERY", "National", "FRZN ICE", None, " 22 LB "),
    (12, 3, "FUEL", "Private", "GASOLINE", "GASOLINE-REG UNLEADED", None),
    (13, 3, "Coupon", "National", None, None, None),
    (14, 4, "KIOSK-GAS", "Acme", "SOFT DRINKS", "SOFT DRINKS", "2 LTR"),
]


def test_complete_journey_drops_zero_quantities_then_fuel_and_coupons(tmp_path: Path) -> None:
    day = dt.datetime(2017, 1, 1, 11, 53)
    tx = [(1, 100, 10, 1, day), (1, 100, 11, 0, day), (1, 100, 12, 30, day),  # 0 units; fuel
          (2, 101, 13, 1, day), (2, 101, 12, 0, day),  # coupon (department in another case); 0 units of fuel
          (2, 102, 99, 2, day + dt.timedelta(days=1)),  # a product without a catalogue row: kept
          (2, 102, 14, 3, day + dt.timedelta(days=1))]
    _journey(tmp_path / "completejourney", tx, _PRODUCTS)
    ds = load_dataset("complete-journey", tmp_path)
    assert list(ds.notes["dropped"].items()) == [("non_positive_quantity", 2), ("excluded_departments", 2)]
    assert ds.notes["excluded_departments"] == ["FUEL", "COUPON"]
    assert ds.notes["rows_read"] == 7 and ds.notes["events"] == 3 and ds.notes["baskets"] == 2
    assert ds.notes["events_without_catalogue_row"] == 1
    assert sorted(ds.interactions.items) == [10, 14, 99] and sorted(ds.interactions.users) == [1, 2]
    assert ds.users is not None and ds.users.columns == ["user", "age"]
    assert len(ds.notes["files"]) == 3
    kept = load_dataset("complete-journey", tmp_path, exclude_departments=())
    assert list(kept.notes["dropped"].items()) == [("non_positive_quantity", 2)] and len(kept.interactions) == 5
    only_fuel = load_dataset("complete-journey", tmp_path, exclude_departments=("fuel",))
    assert only_fuel.notes["dropped"]["excluded_departments"] == 1 and 13 in only_fuel.interactions.items


def test_complete_journey_catalogue_and_titles(tmp_path: Path) -> None:
    _journey(tmp_path / "completejourney", [(1, 100, 10, 1, dt.datetime(2017, 1, 1))], _PRODUCTS,
             demographics=False)
    ds = load_dataset("complete-journey", tmp_path)
    assert ds.users is None and len(ds.notes["files"]) == 2
    assert ds.catalog is not None
    table = ds.catalog.table
    assert table.columns == ["item", "title", "category", "brand", "department", "product_type", "package_size",
                             "manufacturer_id"]
    assert table["item"].to_list() == [10, 11, 12, 13, 14]
    assert table["title"].to_list() == [
        "Kids Cereal · Cold Cereal · store brand · 32 OZ",
        "Frzn Ice · national brand · 22 LB",        # no type: the category names it, once
        "Gasoline-Reg Unleaded · Gasoline · store brand",
        "Coupon · national brand",                   # neither type nor category: the department
        "Soft Drinks · acme · 2 LTR",                 # type = category: said once; another brand lower-cased
    ]
    assert table["category"].to_list()[:2] == ["COLD CEREAL", "FRZN ICE"]
    assert product_titles(pl.DataFrame(
        {"product_type": ["  MILK  "], "product_category": ["DAIRY"], "department": ["X"], "brand": [None],
         "package_size": [None]}, schema_overrides={"brand": pl.String, "package_size": pl.String})).to_list() == [
        "Milk · Dairy"]


def test_complete_journey_with_only_excluded_lines_is_a_data_error(tmp_path: Path) -> None:
    _journey(tmp_path / "completejourney", [(1, 100, 12, 3, dt.datetime(2017, 1, 1))], _PRODUCTS)
    with pytest.raises(DataError, match=r"no transactions are left in .*transactions.parquet after cleaning"):
        load_dataset("complete-journey", tmp_path)


_U_ITEM = ("1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
           "2|Café Society (1995) |15-Dec-1995||http://y|0|1|0|0|0|0|1|0|0|0|0|0|0|0|0|0|1|0|0\n"
           "3|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n")


def _movielens(folder: Path, ratings: str, users: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text(ratings)
    (folder / "u.item").write_bytes(_U_ITEM.encode("latin-1"))
    if users:
        (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")


def test_movielens_ratings_are_the_quantity_and_min_rating_keeps_the_liked(tmp_path: Path) -> None:
    _movielens(tmp_path / "movielens" / "ml-100k",
               "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t1\t4\t881250951\n2\t3\t1\t881250952\n")
    ds = load_dataset("movielens-100k", tmp_path)
    log = ds.interactions
    assert ds.notes["rows_read"] == 4 and ds.notes["dropped"] == {} and ds.notes["min_rating"] is None
    assert log.matrix("quantity").toarray().tolist() == [[5, 3, 0], [4, 0, 1]]
    assert log.start == dt.datetime(1997, 12, 4, 15, 55, 49)  # 881250949 seconds after 1970
    liked = load_dataset("movielens-100k", tmp_path, min_rating=4)
    assert liked.notes["dropped"] == {"below_min_rating": 2} and liked.notes["min_rating"] == 4
    assert liked.interactions.matrix("quantity").toarray().tolist() == [[5], [4]]
    assert load_dataset("movielens-100k", tmp_path, min_rating=3).notes["dropped"] == {"below_min_rating": 1}
    with pytest.raises(DataError) as err:
        load_dataset("movielens-100k", tmp_path, min_rating=6)
    assert str(err.value) == "no ratings are at or above min_rating=6"
    with pytest.raises(ConfigError) as cerr:  # was float()'s bare ValueError
        load_dataset("movielens-100k", tmp_path, min_rating="four")
    assert str(cerr.value) == "min_rating must be a number of stars such as 4, got 'four'"
    assert load_dataset("movielens-100k", tmp_path, min_rating="4").notes["dropped"] == {"below_min_rating": 2}


def test_movielens_catalogue_and_users(tmp_path: Path) -> None:
    _movielens(tmp_path / "movielens" / "ml-100k", "1\t1\t5\t881250949\n")
    ds = load_dataset("movielens-100k", tmp_path)
    assert ds.catalog is not None
    table = ds.catalog.table
    assert table["item"].to_list() == [1, 2, 3]
    assert table["title"].to_list() == ["Toy Story (1995)", "Café Society (1995)", "unknown"]  # latin-1, trimmed
    assert table["year"].to_list() == [1995, 1995, None]
    assert table["release_date"].to_list() == [dt.date(1995, 1, 1), dt.date(1995, 12, 15), None]
    assert table["genres"].to_list() == [["Animation", "Children's", "Comedy"], ["Action", "Crime", "Thriller"],
                                         ["unknown"]]
    assert table["category"].to_list() == ["Animation|Children's|Comedy", "Action|Crime|Thriller", "unknown"]
    assert ds.users is not None and ds.users.rows() == [(1, 24, "M", "technician", "85711"),
                                                        (2, 53, "F", "other", "94043")]
    assert ds.notes["files"][-1].endswith("u.user")
    (tmp_path / "movielens" / "ml-100k" / "u.user").unlink()
    assert load_dataset("movielens-100k", tmp_path).users is None


@pytest.mark.parametrize("ratings,match", [
    ("1\t1\t5\n", r"cannot read the MovieLens ratings .*u\.data \(expected tab-separated user, item, rating, "
                  r"unix time\)"),
    ("1\t1\t\t881250949\n", r"the MovieLens ratings .*u\.data have empty fields \{'user': 0, 'item': 0, "
                            r"'rating': 1, 'time': 0\}; is the file complete\?"),
    ("1\tx\t5\t881250949\n", r"cannot read the MovieLens ratings"),
])
def test_movielens_bad_ratings_files(tmp_path: Path, ratings: str, match: str) -> None:
    _movielens(tmp_path / "movielens" / "ml-100k", ratings)
    with pytest.raises(DataError, match=match):
        load_dataset("movielens-100k", tmp_path)


def test_online_retail_small_prices_ties_padding_and_notes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    rows = [
        ("1", "22633", "HAND WARMER", 1, T, 0.42, 1.0),     # priced below 1 is priced
        ("2", "22633", "HAND WARMER", 1, T, 0.42, 1.0),
        ("3", "22633", "WARMER", 1, T, 0.0, 1.0),
        ("4", "22633", "WARMER", 1, T, 0.0, 1.0),
        ("5", "22633", "WARMER", 1, T, 0.0, 1.0),
        ("6", "21000", "B NAME", 1, T, 1.5, 1.0),          # equally priced and frequent: alphabetical
        ("7", "21000", "A NAME", 1, T, 1.5, 1.0),
        ("8", "21001", "RARE", 1, T, 2.0, 1.0),            # equally priced: the more frequent one
        ("9", "21001", "COMMON", 1, T, 2.0, 1.0),
        ("10", "21001", "COMMON", 1, T, 0.0, 1.0),
        (" C11 ", " 21001 ", "COMMON", -1, T, 2.0, 1.0),  # padded: still a cancellation of 21001
    ]
    _retail(tmp_path / "online_retail" / "online_retail.parquet", rows)
    with caplog.at_level(logging.INFO, logger="discoverly.data.datasets.online_retail"):
        ds = load_dataset("online-retail-2011", tmp_path)
    assert ds.catalog is not None
    assert ds.catalog.table.rows() == [("21000", "A NAME", 1.5), ("21001", "COMMON", 2.0),
                                       ("22633", "HAND WARMER", 0.42)]
    assert ds.notes["dropped"]["cancellations"] == 1 and sorted(ds.interactions.items) == ["21000", "21001", "22633"]
    notes = ds.notes
    assert notes["files"] == [str(tmp_path / "online_retail" / "online_retail.parquet")]
    assert notes["quantity"] == "units bought on the invoice line"
    assert isinstance(notes["load_seconds"], float) and 0 <= notes["load_seconds"] < 30
    assert caplog.records[-1].getMessage().startswith(f"loaded Online Retail: {ds.interactions} in ")
