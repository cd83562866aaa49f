"""read_interactions / read_catalog: every input kind, and a clear error for every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverly.data import read_catalog, read_interactions
from discoverly.errors import DataError
from discoverly.recommend import create

LOG = {"user": ["u1", "u1", "u2", "u3"], "item": ["a", "b", "a", "c"],
       "timestamp": ["2011-11-01 08:00:00", "2011-11-02 09:30:00", "2011-11-03", "2011-11-04T10:00:00"],
       "qty": [1, 2, 3, 4]}
EXPECTED_TIMES = [1320134400, 1320226200, 1320278400, 1320400800]


def _check(log: object) -> None:
    from discoverly.data import Interactions

    assert isinstance(log, Interactions)
    assert len(log) == 4 and log.n_users == 3 and log.n_items == 3
    assert log.timestamp.tolist() == EXPECTED_TIMES
    assert list(log.users) == ["u1", "u2", "u3"]


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet", "jsonl", "json", "polars", "pandas", "arrow", "lazy"])
def test_every_input_kind_reads_the_same(kind: str, tmp_path: Path) -> None:
    frame = pl.DataFrame(LOG)
    path = tmp_path / f"log.{kind}"
    source: object
    if kind == "csv":
        frame.write_csv(path)
        source = path
    elif kind == "tsv":
        frame.write_csv(path, separator="\t")
        source = str(path)
    elif kind == "parquet":
        frame.write_parquet(path)
        source = path
    elif kind == "jsonl":
        frame.write_ndjson(path)
        source = path
    elif kind == "json":  # a JSON array of records
        path.write_text(json.dumps(frame.to_dicts()))
        source = path
    elif kind == "polars":
        source = frame
    elif kind == "pandas":
        source = frame.to_pandas()
    elif kind == "arrow":
        source = frame.to_arrow()
    else:
        source = frame.lazy()
    log = read_interactions(source, quantity="qty")
    _check(log)
    assert log.quantity.tolist() == [1, 2, 3, 4]


def test_epoch_seconds_as_numbers_text_and_milliseconds() -> None:
    for times in (EXPECTED_TIMES, [str(t) for t in EXPECTED_TIMES], [t * 1000 for t in EXPECTED_TIMES],
                  [float(t) for t in EXPECTED_TIMES]):
        _check(read_interactions(pl.DataFrame({**LOG, "timestamp": times})))


def test_datetime_columns_and_time_zones() -> None:
    naive = pl.Series(LOG["timestamp"]).str.to_datetime()
    _check(read_interactions(pl.DataFrame({**LOG, "timestamp": naive})))
    _check(read_interactions(pd.DataFrame({**LOG, "timestamp": pd.to_datetime(LOG["timestamp"], format="mixed")})))
    dates = pl.DataFrame({**LOG, "timestamp": naive.dt.date()})
    assert read_interactions(dates).timestamp.tolist()[0] == 1320105600
    # an offset is honoured: 09:00+01:00 is 08:00 UTC
    shifted = read_interactions(pl.DataFrame({**LOG, "timestamp": ["2011-11-01T09:00:00+01:00"] * 4}))
    assert shifted.timestamp.tolist() == [EXPECTED_TIMES[0]] * 4


def test_integer_and_whole_float_ids() -> None:
    log = read_interactions(pl.DataFrame({"user": [17850.0, 13047.0], "item": [1, 2], "timestamp": [1, 2]}))
    assert list(log.users) == [13047, 17850] and list(log.items) == [1, 2]


def test_whole_decimal_ids_are_integers() -> None:
    """decimal(38,0) ids, as databases and Spark write them, were refused ("ids must be strings or
    integers") while the Spark engine read them."""
    from decimal import Decimal

    def log(users: list[str], scale: int = 0) -> pl.DataFrame:
        return pl.DataFrame({"user": pl.Series([Decimal(u) for u in users], dtype=pl.Decimal(38, scale)),
                             "item": [1, 2], "timestamp": [1, 2]})

    assert list(read_interactions(log(["17850", "13047"])).users) == [13047, 17850]
    assert list(read_interactions(log(["17850.0", "13047.0"], scale=1)).users) == [13047, 17850]
    with pytest.raises(DataError, match="ids must be strings or integers"):
        read_interactions(log(["17850.5", "13047.0"], scale=1))
    with pytest.raises(DataError, match="beyond the 64-bit integer range; cast them to strings"):
        read_interactions(log(["99999999999999999999", "1"]))
    with pytest.raises(DataError, match="beyond the 64-bit integer range"):  # was polars' InvalidOperationError
        read_interactions(pl.DataFrame({"user": [1e20, 2.0], "item": [1, 2], "timestamp": [1, 2]}))


def test_nan_and_infinite_float_ids_are_named() -> None:
    """A NaN id (pandas' missing value) was polars' InvalidOperationError traceback: polars holds NaN
    equal to its rounding, so the column passed as whole numbers; inf likewise."""
    frame = pl.DataFrame({"user": [17850.0, float("nan"), 3.0], "item": [1, 2, 3], "timestamp": [1, 2, 3]})
    with pytest.raises(DataError, match=r"'user' has 1 missing value\(s\) \(rows 1\)"):
        read_interactions(frame)
    with pytest.raises(DataError, match="ids must be strings or integers"):
        read_interactions(frame.with_columns(pl.Series("user", [1.0, float("inf"), 3.0])))


def test_categorical_ids_are_encoded_by_value() -> None:
    frame = pl.DataFrame({"user": ["b", "a", "b"], "item": ["x", "y", "x"], "timestamp": [1, 2, 3]})
    log = read_interactions(frame.with_columns(pl.col("user").cast(pl.Categorical)))
    assert list(log.users) == ["a", "b"]
    assert log.users.ids_of(log.user_index).tolist() == ["b", "a", "b"]


# -- bad input: each error says what was wrong and how to fix it ---------------------------------

def test_missing_column_suggests_the_nearest_name() -> None:
    frame = pl.DataFrame({"customer": ["a"], "item": ["x"], "ts": [1]})
    with pytest.raises(DataError) as err:
        read_interactions(frame)
    msg = str(err.value)
    assert "user column 'user' is missing" in msg and "did you mean 'customer'" in msg
    assert "time column 'timestamp' is missing" in msg
    assert "Columns present: customer, item, ts" in msg and "--user" in msg


def test_misnamed_quantity_column() -> None:
    with pytest.raises(DataError, match=r"quantity column 'quantty' is missing .*did you mean 'qty'"):
        read_interactions(pl.DataFrame(LOG), quantity="quantty")


def test_unparseable_timestamps_name_the_rows() -> None:
    bad = {**LOG, "timestamp": ["2011-11-01", "yesterday", "2011-11-03", "soon"]}
    with pytest.raises(DataError) as err:
        read_interactions(pl.DataFrame(bad))
    msg = str(err.value)
    assert "2 value(s)" in msg and "rows 1, 3" in msg and "'yesterday'" in msg and "ISO" in msg


def test_epoch_text_with_a_bad_value_names_that_value() -> None:
    bad = {**LOG, "timestamp": [str(t) for t in EXPECTED_TIMES[:3]] + ["later"]}
    with pytest.raises(DataError, match=r"1 value\(s\).*rows 3: 'later'"):
        read_interactions(pl.DataFrame(bad))


def test_missing_times_name_the_rows() -> None:
    with pytest.raises(DataError, match=r"1 missing value\(s\) \(rows 2\)"):
        read_interactions(pl.DataFrame({**LOG, "timestamp": ["2011-11-01", "2011-11-02", None, "2011-11-04"]}))


def test_time_column_of_the_wrong_type() -> None:
    with pytest.raises(DataError, match="has type Boolean; expected datetimes"):
        read_interactions(pl.DataFrame({**LOG, "timestamp": [True, False, True, True]}))


@pytest.mark.parametrize("name", ["log.csv.gz", "log.tsv.GZ", "log.jsonl.gz", "log.json.gz"])
def test_gzip_compressed_text_reads_the_same(name: str, tmp_path: Path) -> None:
    import gzip

    frame = pl.DataFrame(LOG)
    inner = name.lower().removesuffix(".gz")
    text = {"log.csv": frame.write_csv(), "log.tsv": frame.write_csv(separator="\t"),
            "log.jsonl": frame.write_ndjson(), "log.json": json.dumps(frame.to_dicts())}[inner]
    (tmp_path / name).write_bytes(gzip.compress(text.encode()))
    log = read_interactions(tmp_path / name, quantity="qty")
    _check(log)
    assert log.quantity.tolist() == [1, 2, 3, 4]


def test_compressed_and_foreign_files_say_what_to_do(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "bad.csv.gz").write_text("user,item,timestamp\n")  # named .gz, not compressed
    with pytest.raises(DataError, match=r"named \.gz but is not a whole gzip file"):
        read_interactions(tmp_path / "bad.csv.gz")
    (tmp_path / "blank.csv.gz").write_bytes(gzip.compress(b"\n \n"))
    with pytest.raises(DataError, match="is empty: it holds nothing but white space"):
        read_interactions(tmp_path / "blank.csv.gz")
    pl.DataFrame(LOG).write_parquet(tmp_path / "log.parquet")
    (tmp_path / "log.parquet.gz").write_bytes(gzip.compress((tmp_path / "log.parquet").read_bytes()))
    with pytest.raises(DataError, match="gzip-compressed Parquet file is not read; decompress it"):
        read_interactions(tmp_path / "log.parquet.gz")
    for name, hint in (("log.xlsx", "save the sheet as 'CSV UTF-8'"), ("log.feather", r"pl\.read_ipc"),
                       ("log.zip", "unzip it first"), ("log.gz", "name says the format inside")):
        (tmp_path / name).write_bytes(b"x")
        with pytest.raises(DataError, match=rf"cannot tell the format .*{hint}"):
            read_interactions(tmp_path / name)


def test_empty_input() -> None:
    with pytest.raises(DataError, match="empty"):
        read_interactions(pl.DataFrame({"user": [], "item": [], "timestamp": []}))


def test_empty_files(tmp_path: Path) -> None:
    header_only = tmp_path / "h.csv"
    header_only.write_text("user,item,timestamp\n")
    with pytest.raises(DataError, match="empty"):
        read_interactions(header_only)
    # zero bytes or only blank lines: polars said 'empty CSV' and, for JSON Lines, 'Cannot infer NDJSON
    # types on empty reader because empty string is not a valid JSON value'
    for name, text in (("z.csv", ""), ("z.jsonl", ""), ("blank.jsonl", "\n\n  \r\n"), ("blank.tsv", "\n")):
        (tmp_path / name).write_text(text)
        with pytest.raises(DataError, match=rf"log file '.*{name}' is empty: it holds nothing but white space"):
            read_interactions(tmp_path / name)


@pytest.mark.parametrize("ids", [[True, False, True, True], [1.5, 2.0, 3.0, 4.0]])
def test_ids_of_the_wrong_type(ids: list[object]) -> None:
    with pytest.raises(DataError, match="ids must be strings or integers"):
        read_interactions(pl.DataFrame({**LOG, "user": ids}))


@pytest.mark.parametrize("role", ["user", "item"])
def test_null_ids_name_the_rows(role: str) -> None:
    values = list(LOG[role])
    values[2] = None
    with pytest.raises(DataError, match=rf"the {role} column '{role}' has 1 missing value\(s\) \(rows 2\)"):
        read_interactions(pl.DataFrame({**LOG, role: values}))


def test_negative_quantities_error_or_drop() -> None:
    frame = pl.DataFrame({**LOG, "qty": [1, -2, 3, -4]})
    with pytest.raises(DataError) as err:
        read_interactions(frame, quantity="qty")
    assert "2 row(s) have a negative 'qty' (rows 1, 3)" in str(err.value)
    assert "negative='drop'" in str(err.value) and "--drop-negative" in str(err.value)
    kept = read_interactions(frame, quantity="qty", negative="drop")
    assert len(kept) == 2 and kept.quantity.tolist() == [1, 3]
    with pytest.raises(DataError, match="no rows are left"):
        read_interactions(pl.DataFrame({**LOG, "qty": [-1, -1, -1, -1]}), quantity="qty", negative="drop")
    with pytest.raises(DataError, match="negative must be"):
        read_interactions(frame, quantity="qty", negative="ignore")


@pytest.mark.parametrize("values,match", [
    (["1", "x", "2", "3"], "is not numeric"),
    ([1.0, None, 2.0, 3.0], r"1 missing value\(s\) \(rows 1\)"),
    ([1.0, float("nan"), 2.0, 3.0], r"1 missing value\(s\) \(rows 1\)"),
    ([1.0, 2.0, float("inf"), 3.0], r"infinite value\(s\) \(rows 2\)"),
])
def test_bad_quantities(values: list[object], match: str) -> None:
    with pytest.raises(DataError, match=match):
        read_interactions(pl.DataFrame({**LOG, "qty": values}), quantity="qty")


def test_unknown_extension_missing_file_and_unreadable_source(tmp_path: Path) -> None:
    odd = tmp_path / "log.xlsx"
    odd.write_bytes(b"not really")
    with pytest.raises(DataError, match=r"cannot tell the format .* use one of .*\.csv"):
        read_interactions(odd)
    with pytest.raises(DataError, match="does not exist"):
        read_interactions(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="cannot read the interaction log from a list"):
        read_interactions([1, 2, 3])
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match="cannot read the interaction log file"):
        read_interactions(broken)


def test_csv_ids_with_leading_zeros_stay_distinct(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user,item,timestamp\n001,0042,2024-01-01\n1,42,2024-01-02\n002,0042,2024-01-03\n")
    log = read_interactions(path)
    assert list(log.users) == ["001", "002", "1"] and list(log.items) == ["0042", "42"]
    catalog = tmp_path / "items.csv"
    catalog.write_text("item,title\n0042,Mug\n42,Saucer\n")
    assert read_catalog(catalog, item="item").titles(["0042", "42"]) == ["Mug", "Saucer"]
    # plain numbers are still integer ids (and whole floats, as pandas writes them, too)
    path.write_text("user,item,timestamp\n17850.0,10,2024-01-01\n13047.0,0,2024-01-02\n")
    log = read_interactions(path)
    assert list(log.users) == [13047, 17850] and list(log.items) == [0, 10]
    # ids past Int64 stay text: as floats, 18000000000000000001 and ...002 would be one customer
    path.write_text("user,item,timestamp\n18000000000000000001,a,2024-01-01\n18000000000000000002,a,2024-01-02\n")
    assert list(read_interactions(path).users) == ["18000000000000000001", "18000000000000000002"]


def test_csv_with_semicolons_a_bom_or_another_encoding(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes("\ufeffuser;item;timestamp;qty\nu1;a;2011-11-01;1\nu2;b;2011-11-02;2\n".encode())
    log = read_interactions(path, quantity="qty")
    assert list(log.users) == ["u1", "u2"] and log.quantity.tolist() == [1.0, 2.0]
    path.write_bytes("user,item,timestamp\nu1,caf\xe9,2011-11-01\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 text.*iconv"):
        read_interactions(path)


def test_epoch_numbers_in_any_unit_nan_and_out_of_range_times() -> None:
    day = [1704067200, 1704153600]  # 2024-01-01, 2024-01-02
    for scale in (1, 1_000, 1_000_000, 1_000_000_000):  # seconds .. nanoseconds (pandas' int64 datetimes)
        log = read_interactions(pl.DataFrame({"user": [1, 2], "item": [1, 2], "timestamp": [t * scale for t in day]}))
        assert log.timestamp.tolist() == day
    # a NaN time was a raw polars error; a time outside the years 1..9999 failed later, in repr()
    with pytest.raises(DataError, match=r"1 missing value\(s\) \(rows 0\)"):
        read_interactions(pl.DataFrame({"user": [1, 2], "item": [1, 2], "timestamp": [float("nan"), 2.0]}))
    with pytest.raises(DataError, match=r"not times between the years 1 and 9999 \(rows 0"):
        read_interactions(pl.DataFrame({"user": [1, 2], "item": [1, 2], "timestamp": [-7e13, 1.0]}))


def test_slash_dates_are_read_by_the_order_their_numbers_show() -> None:
    def times(values: list[str]) -> list[str]:
        log = read_interactions(pl.DataFrame({"user": list(range(len(values))), "item": [1] * len(values),
                                              "timestamp": values}))
        return [f"{t:%Y-%m-%d %H:%M}" for t in log.to_polars()["timestamp"]]

    # the UCI Online Retail CSV writes month first: polars guessed day-first and read 12 January 2010
    assert times(["12/1/2010 8:26", "12/13/2010 9:00"]) == ["2010-12-01 08:26", "2010-12-13 09:00"]
    assert times(["1/12/2010 8:26", "13/1/2011"]) == ["2010-12-01 08:26", "2011-01-13 00:00"]
    with pytest.raises(DataError, match="cannot be told apart"):
        times(["12/1/2010 8:26", "1/2/2011 10:00"])
    with pytest.raises(DataError, match="mixes day-first"):
        times(["13/1/2011", "1/13/2011"])


def test_a_pandas_column_of_mixed_types_names_the_column() -> None:
    # pandas.read_csv(low_memory=True) leaves object columns with both ints and strings
    frame = pd.DataFrame({"user": ["u1", "u2"], "item": [85123, "85123A"], "timestamp": [1, 2]})
    with pytest.raises(DataError, match=r"'item' \(int/str\) mix value types.*astype\(str\)"):
        read_interactions(frame)


def test_reading_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    pl.DataFrame({**LOG, "qty": [1, -2, 3, 4]}).write_csv(path)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DataError):
        read_interactions(path, quantity="qty")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# -- catalogue ------------------------------------------------------------------------------------

def test_catalog_maps_canonical_columns_and_keeps_extras(tmp_path: Path) -> None:
    path = tmp_path / "cat.csv"
    pl.DataFrame({"sku": ["a", "b"], "name": ["Apple", "Bread"], "aisle": [1, 2]}).write_csv(path)
    cat = read_catalog(path, item="sku", title="name")
    assert cat.columns == ["item", "title", "aisle"]
    assert cat.titles(["b", "zz", "a"]) == ["Bread", None, "Apple"]
    assert cat.row("a")["aisle"] == 1 and "a" in cat and len(cat) == 2


def test_an_explicit_mapping_wins_over_a_column_of_the_roles_name() -> None:
    # title="name" beside a "title" column (e.g. a product line) used to be polars' DuplicateError
    frame = pl.DataFrame({"item": ["a", "b"], "name": ["Apple", "Bread"], "title": ["Fruit", "Bakery"]})
    cat = read_catalog(frame, title="name")
    assert cat.columns == ["item", "title"] and cat.titles(["a", "b"]) == ["Apple", "Bread"]
    swapped = read_catalog(frame, title="name", description="title")  # mapped both ways: both are kept
    assert swapped.titles(["a"]) == ["Apple"] and swapped.row("a")["description"] == "Fruit"


def test_catalog_aligned_to_a_vocabulary() -> None:
    from discoverly.data import Vocabulary

    cat = read_catalog(pd.DataFrame({"item": [2, 1], "title": ["two", "one"]}))
    aligned = cat.aligned(Vocabulary([1, 2, 3]))
    assert aligned["title"].to_list() == ["one", "two", None]


def test_catalog_errors() -> None:
    from discoverly.errors import UnknownIdError

    with pytest.raises(DataError, match=r"duplicate item ids, e.g. \['x'\]"):
        read_catalog(pl.DataFrame({"item": ["x", "x"], "t": ["a", "b"]}), title="t")
    with pytest.raises(DataError, match=r"title column 'titel' is missing.*read_catalog\(path, item="):
        read_catalog(pl.DataFrame({"item": ["x"], "t": ["a"]}), title="titel")
    with pytest.raises(DataError, match=r"unknown catalogue roles \['name'\]"):
        read_catalog(pl.DataFrame({"item": ["x"], "t": ["a"]}), name="t")
    with pytest.raises(DataError, match=r"1 row\(s\) without an item id \(rows 1\)"):
        read_catalog(pl.DataFrame({"item": ["x", None], "t": ["a", "b"]}), title="t")
    with pytest.raises(DataError, match="empty"):
        read_catalog(pl.DataFrame({"item": []}))
    with pytest.raises(UnknownIdError, match="unknown item 'q'"):
        read_catalog(pl.DataFrame({"item": ["x"]})).row("q")


# -- properties -----------------------------------------------------------------------------------

_ids = st.one_of(st.integers(0, 50).map(lambda i: f"u{i}"), st.sampled_from(["ä", "x y", "17", "a,b", "007", "7"]))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(_ids, _ids, st.integers(0, 2_000_000_000), st.integers(0, 20)), min_size=1,
                max_size=40),
       st.sampled_from(["csv", "parquet", "jsonl"]))
def test_any_log_round_trips_through_files(tmp_path_factory: pytest.TempPathFactory,
                                           rows: list[tuple[str, str, int, int]], kind: str) -> None:
    frame = pl.DataFrame(rows, schema=["user", "item", "timestamp", "q"], orient="row")
    path = tmp_path_factory.mktemp("rt") / f"log.{kind}"
    {"csv": frame.write_csv, "parquet": frame.write_parquet, "jsonl": frame.write_ndjson}[kind](path)
    log = read_interactions(path, quantity="q")
    back = log.to_polars()
    got = sorted(zip(back["user"].cast(pl.String).to_list(), back["item"].cast(pl.String).to_list(),
                     log.timestamp.tolist(), log.quantity.tolist(), strict=True))
    assert got == sorted((u, i, t, float(q)) for u, i, t, q in rows)
    assert np.all(np.diff(log.timestamp) >= 0)
    assert log.n_users == len({r[0] for r in rows}) and log.n_items == len({r[1] for r in rows})


def test_a_folder_is_a_parquet_log_or_named_as_a_folder(tmp_path: Path) -> None:
    """A folder of Parquet parts (as Spark writes it: part files, _SUCCESS, .crc) is one log even
    without a .parquet name; other folders said "cannot tell the format ... from its extension", and a
    saved model's folder given as the log was a polars error about mixed file extensions."""
    parts = tmp_path / "events"
    parts.mkdir()
    for n in range(2):
        pl.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "timestamp": [1 + n, 3 + n]}).write_parquet(
            parts / f"part-{n:05d}.parquet")
    (parts / "_SUCCESS").touch()
    (parts / ".part-00000.parquet.crc").write_bytes(b"\x00\x01checksum")  # was refused: 'different extensions'
    (parts / "_temporary").mkdir()
    (parts / "_temporary" / "part-00009.parquet").write_bytes(b"half-written")
    assert len(read_interactions(parts)) == 4
    days = tmp_path / "by_day"  # partitioned by day, as Spark's partitionBy writes it: the folder names are a column
    for day in ("2024-01-01", "2024-01-02"):
        (days / f"day={day}").mkdir(parents=True)
        pl.DataFrame({"user": ["a", "b"], "item": ["x", "y"]}).write_parquet(days / f"day={day}" / "part-0.parquet")
    assert sorted(set(read_interactions(days, time="day").timestamp.tolist())) == [1704067200, 1704153600]
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "a.txt").write_text("x")
    with pytest.raises(DataError, match=r"'.*notes' is a folder, not a data file, and holds no .parquet files"):
        read_interactions(empty)
    model = tmp_path / "model"
    create("bestsellers").fit(read_interactions(parts)).save(model)
    with pytest.raises(DataError, match=r"is a saved discoverly artifact .* not a data file"):
        read_interactions(model)


def test_a_file_name_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    """polars cannot open such a name: 'Object does not have a .read() method' (a Latin-1 caf\\xe9.csv
    copied from an old system)."""
    import os

    name = os.fsdecode(b"caf\xe9")
    for suffix, write in ((".csv", pl.DataFrame.write_csv), (".parquet", pl.DataFrame.write_parquet),
                          (".jsonl", pl.DataFrame.write_ndjson)):
        path = tmp_path / (name + suffix)
        with open(path, "wb") as fh:  # polars cannot write to such a name either
            write(pl.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "timestamp": [1, 2]}), fh)
        assert len(read_interactions(path)) == 2
