"""The Complete Journey loader on hand-made files in the real format (all eleven transaction columns,
nanosecond timestamps): every event, quantity, time, count and note worked out by hand."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from discoverly.data.datasets import complete_journey, load_dataset
from discoverly.data.datasets.complete_journey import PRODUCTS, TRANSACTIONS, load_complete_journey
from discoverly.errors import DataError

_TX_COLUMNS = (
    "household_id",
    "store_id",
    "basket_id",
    "product_id",
    "quantity",
    "sales_value",
    "retail_disc",
    "coupon_disc",
    "coupon_match_disc",
    "week",
    "transaction_timestamp",
)
_PRODUCT_COLUMNS = (
    "product_id",
    "manufacturer_id",
    "department",
    "brand",
    "product_category",
    "product_type",
    "package_size",
)

T1 = dt.datetime(2017, 3, 4, 9, 15)
T2 = dt.datetime(2017, 3, 11, 18, 0, 30)
T3 = dt.datetime(2017, 12, 31, 23, 59, 59)

# household, basket, product, quantity, time
_TX = [
    (7, 501, 10, 2, T1),
    (7, 501, 11, 1, T1),
    (7, 502, 10, 3, T2),
    (3, 503, 11, 0, T2),  # no units: dropped
    (3, 504, 12, 9, T2),  # fuel: dropped
    (3, 504, 14, -1, T2),  # a negative line: dropped with the zero ones
    (3, 505, 14, 5, T3),
]
_PRODUCTS = [
    (10, 2, "GROCERY", "Private", "COLD CEREAL", "KIDS CEREAL", "32 OZ"),
    (11, 2, "GROCERY", "National", "FRZN ICE", None, "22 LB"),
    (12, 3, "FUEL", "Private", "GASOLINE", "GASOLINE-REG UNLEADED", None),
    (13, 3, "COUPON", "National", None, None, None),
    (14, 4, "DRUG GM", "National", "SOFT DRINKS", "SOFT DRINKS", "2 LTR"),
]


def _write(
    folder: Path,
    tx: list[tuple[int, int, int, int, dt.datetime]] = _TX,
    products: list[tuple[object, ...]] = _PRODUCTS,
    *,
    demographics: pl.DataFrame | None = None,
    drop: str | None = None,
) -> dict[str, Path]:
    """The three Parquet files as the shared data folder holds them; ``drop`` leaves one column out."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(tx)
    frame = pl.DataFrame(
        {
            "household_id": [r[0] for r in tx],
            "store_id": [330] * n,
            "basket_id": [r[1] for r in tx],
            "product_id": [r[2] for r in tx],
            "quantity": [r[3] for r in tx],
            "sales_value": [1.5] * n,
            "retail_disc": [None] + [0.0] * (n - 1),
            "coupon_disc": [0.0] * n,
            "coupon_match_disc": [0.0] * n,
            "week": [1] * (n - 1) + [None],
            "transaction_timestamp": [r[4] for r in tx],
        },
        schema_overrides={"transaction_timestamp": pl.Datetime("ns"), "retail_disc": pl.Float64, "week": pl.Int64},
    )
    assert tuple(frame.columns) == _TX_COLUMNS
    prods = pl.DataFrame(
        [dict(zip(_PRODUCT_COLUMNS, p, strict=True)) for p in products],
        schema={
            "product_id": pl.Int64,
            "manufacturer_id": pl.Int64,
            "department": pl.String,
            "brand": pl.String,
            "product_category": pl.String,
            "product_type": pl.String,
            "package_size": pl.String,
        },
    )
    if drop is not None:
        frame = frame.drop(drop) if drop in frame.columns else frame
        prods = prods.drop(drop) if drop in prods.columns and drop != "product_id" else prods
    frame.write_parquet(folder / "transactions.parquet")
    prods.write_parquet(folder / "products.parquet")
    if demographics is not None:
        demographics.write_parquet(folder / "demographics.parquet")
    return {TRANSACTIONS: folder / "transactions.parquet", PRODUCTS: folder / "products.parquet"}


def test_events_quantities_and_times_worked_out_by_hand(tmp_path: Path) -> None:
    _write(tmp_path / "completejourney")
    ds = load_dataset("complete-journey", tmp_path)
    log = ds.interactions
    # kept: (7, 10, 2), (7, 11, 1), (7, 10, 3), (3, 14, 5)
    assert list(log.users) == [3, 7] and list(log.items) == [10, 11, 14]
    assert log.matrix("quantity").toarray().tolist() == [[0, 0, 5], [5, 1, 0]]  # 2 + 3 units of 10 by 7
    assert log.matrix("count").toarray().tolist() == [[0, 0, 1], [2, 1, 0]]
    assert log.quantity is not None and sorted(log.quantity.tolist()) == [1.0, 2.0, 3.0, 5.0]
    assert (log.start, log.end) == (T1, T3)  # the timestamps as they are in the file, to the second
    assert log.matrix("last_time").toarray()[1, 0] == T2.replace(tzinfo=dt.UTC).timestamp()
    notes = ds.notes
    assert list(notes["dropped"].items()) == [("non_positive_quantity", 2), ("excluded_departments", 1)]
    assert (notes["rows_read"], notes["events"], notes["users"], notes["items"]) == (7, 4, 2, 3)
    assert notes["baskets"] == 3  # 501, 502 and 505; 503 and 504 lost all their lines
    assert notes["events_without_catalogue_row"] == 0


def test_missing_values_are_counted_per_column_of_the_raw_file(tmp_path: Path) -> None:
    _write(tmp_path / "completejourney")
    missing = load_dataset("complete-journey", tmp_path).notes["missing_values"]
    assert list(missing) == list(_TX_COLUMNS)  # every column of the file, in its order, before any cleaning
    assert {c: n for c, n in missing.items() if n} == {"retail_disc": 1, "week": 1}
    assert all(type(n) is int for n in missing.values())


def test_notes_name_the_source_files_and_quantity(tmp_path: Path) -> None:
    folder = tmp_path / "completejourney"
    _write(folder, demographics=pl.DataFrame({"household_id": [3, 7], "age": ["65+", "25-34"]}))
    ds = load_dataset("complete-journey", tmp_path)
    assert ds.name == "complete-journey"
    notes = ds.notes
    assert notes["source"] == "84.51° The Complete Journey"
    assert notes["files"] == [
        str(folder / "transactions.parquet"),
        str(folder / "products.parquet"),
        str(folder / "demographics.parquet"),
    ]
    assert notes["quantity"] == "units bought on the line"
    assert notes["excluded_departments"] == ["FUEL", "COUPON"]
    assert ds.users is not None and ds.users.rows() == [(3, "65+"), (7, "25-34")]


def test_load_seconds_and_the_log_line_come_from_one_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "completejourney")
    ticks = iter([100.0, 102.34567])
    monkeypatch.setattr(complete_journey, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    with caplog.at_level(logging.INFO, logger="discoverly.data.datasets.complete_journey"):
        ds = load_dataset("complete-journey", tmp_path)
    assert ds.notes["load_seconds"] == 2.346  # 102.34567 - 100, to the millisecond
    loaded = [r for r in caplog.records if r.name == "discoverly.data.datasets.complete_journey"]
    assert [r.getMessage() for r in loaded] == [f"loaded Complete Journey: {ds.interactions} in 2.35s"]
    assert str(ds.interactions) == "Interactions(4 events, 2 users, 3 items, 2017-03-04..2017-12-31)"


def test_lines_of_products_without_a_catalogue_row_are_kept_and_counted_per_line(tmp_path: Path) -> None:
    tx = [(1, 1, 10, 1, T1), (1, 2, 99, 1, T2), (2, 3, 99, 4, T2), (2, 3, 98, 1, T3)]
    _write(tmp_path / "completejourney", tx)
    ds = load_dataset("complete-journey", tmp_path)
    assert ds.notes["events_without_catalogue_row"] == 3  # two lines of 99, one of 98
    assert list(ds.interactions.items) == [10, 98, 99]
    assert (
        ds.catalog is not None
        and 99 not in ds.catalog
        and ds.titles([99, 10]) == [None, "Kids Cereal · Cold Cereal · store brand · 32 OZ"]
    )


def test_excluded_departments_match_in_any_case(tmp_path: Path) -> None:
    products = [
        (10, 1, "grocery", "Private", "A", "B", None),
        (11, 1, "Fuel", "Private", "A", "B", None),
        (12, 1, "coupon", "Private", "A", "B", None),
    ]
    tx = [(1, 1, 10, 1, T1), (1, 1, 11, 1, T1), (1, 1, 12, 1, T1), (2, 2, 12, 1, T2)]
    _write(tmp_path / "completejourney", tx, products)
    ds = load_dataset("complete-journey", tmp_path)
    assert ds.notes["dropped"]["excluded_departments"] == 3 and list(ds.interactions.items) == [10]
    grocery = load_dataset("complete-journey", tmp_path, exclude_departments=["Grocery", "FUEL"])
    assert grocery.notes["excluded_departments"] == ["GROCERY", "FUEL"]
    assert grocery.notes["dropped"] == {"non_positive_quantity": 0, "excluded_departments": 2}
    assert list(grocery.interactions.items) == [12] and list(grocery.interactions.users) == [1, 2]


def test_a_single_department_name_is_one_department_not_its_letters(tmp_path: Path) -> None:
    products = [
        (10, 1, "GROCERY", "Private", "A", "B", None),
        (11, 1, "FUEL", "Private", "A", "B", None),
        (12, 1, "F", "Private", "A", "B", None),
    ]
    _write(tmp_path / "completejourney", [(1, 1, 10, 1, T1), (1, 1, 11, 1, T1), (1, 1, 12, 1, T1)], products)
    ds = load_dataset("complete-journey", tmp_path, exclude_departments="fuel")
    assert ds.notes["excluded_departments"] == ["FUEL"]
    assert ds.notes["dropped"]["excluded_departments"] == 1 and list(ds.interactions.items) == [10, 12]


def test_the_demographics_argument_and_the_name(tmp_path: Path) -> None:
    folder = tmp_path / "completejourney"
    paths = _write(folder, demographics=pl.DataFrame({"household_id": [7], "age": ["65+"]}))
    elsewhere = tmp_path / "other.parquet"
    pl.DataFrame({"household_id": [3, 7], "income": ["35-49K", "50-74K"]}).write_parquet(elsewhere)
    ds = load_complete_journey(paths, demographics=elsewhere, name="cj")
    assert ds.name == "cj"
    assert ds.users is not None and ds.users.rows(named=True) == [
        {"user": 3, "income": "35-49K"},
        {"user": 7, "income": "50-74K"},
    ]
    assert ds.notes["files"][2] == str(elsewhere)
    absent = load_complete_journey(paths, demographics=tmp_path / "absent.parquet")
    assert absent.users is None and absent.notes["files"] == [
        str(folder / "transactions.parquet"),
        str(folder / "products.parquet"),
    ]
    pl.DataFrame({"hh": [3], "age": ["65+"]}).write_parquet(elsewhere)  # no household_id: kept as it is
    users = load_complete_journey(paths, demographics=elsewhere).users
    assert users is not None and users.columns == ["hh", "age"]


@pytest.mark.parametrize(
    "column,which",
    [
        ("basket_id", "transactions"),
        ("transaction_timestamp", "transactions"),
        ("quantity", "transactions"),
        ("brand", "products"),
        ("package_size", "products"),
        ("department", "products"),
    ],
)
def test_a_missing_column_names_the_file_and_the_column(tmp_path: Path, column: str, which: str) -> None:
    folder = tmp_path / "completejourney"
    _write(folder, drop=column)
    with pytest.raises(DataError) as err:
        load_dataset("complete-journey", tmp_path)
    assert str(err.value).startswith(
        f"the Complete Journey {which} {folder / (which + '.parquet')}: the {column} column {column!r} is missing"
    )


def test_product_ids_written_as_text_in_one_file_are_joined_as_the_transactions_have_them(tmp_path: Path) -> None:
    """products.parquet with product_id as text (a CSV round trip) gave polars' raw SchemaError at the join."""
    folder = tmp_path / "completejourney"
    _write(folder)
    plain = load_dataset("complete-journey", tmp_path)
    prods = pl.read_parquet(folder / "products.parquet")
    prods.with_columns(pl.col("product_id").cast(pl.String)).write_parquet(folder / "products.parquet")
    again = load_dataset("complete-journey", tmp_path)
    assert again.interactions.matrix("quantity").toarray().tolist() == plain.interactions.matrix(
        "quantity").toarray().tolist()
    assert again.notes["dropped"] == plain.notes["dropped"]  # FUEL found through the converted ids
    assert again.catalog.table.equals(plain.catalog.table)
    prods.with_columns(pl.lit("x").alias("product_id")).write_parquet(folder / "products.parquet")
    with pytest.raises(DataError) as err:
        load_dataset("complete-journey", tmp_path)
    assert str(err.value) == (
        f"product_id is Int64 in {folder / 'transactions.parquet'} but String in {folder / 'products.parquet'}, and "
        "the products' ids do not convert; write both with one type")
