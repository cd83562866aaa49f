"""Reading files: every extension, the folder and file-name cases, and each file error in full
(mutation testing: these survived)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from discoverly.data import read_interactions
from discoverly.data.frames import to_polars
from discoverly.errors import DataError

LOG = pl.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "timestamp": [1, 2]})
READABLE = ".csv, .json, .jsonl, .ndjson, .parquet, .pq, .tsv, .txt"


def _error(source: object, **kwargs: object) -> str:
    with pytest.raises(DataError) as err:
        to_polars(source, **kwargs)  # type: ignore[arg-type]
    return str(err.value)


def test_every_extension_reads_the_same(tmp_path: Path) -> None:
    writers = {"log.txt": lambda p: p.write_text(LOG.write_csv()), "LOG.CSV": lambda p: p.write_text(LOG.write_csv()),
               "log.pq": LOG.write_parquet, "log.ndjson": lambda p: p.write_text(LOG.write_ndjson()),
               "log.json": lambda p: p.write_text("\n   " + json.dumps(LOG.to_dicts()))}  # an array after blanks
    for name, write in writers.items():
        write(tmp_path / name)
        assert to_polars(tmp_path / name).sort("user").equals(LOG), name


@pytest.mark.parametrize("name", ["log.tsv", "log.tsv.gz"])
def test_a_tsv_whose_header_holds_a_comma_is_split_at_tabs(tmp_path: Path, name: str) -> None:
    text = "user\titem\ttimestamp\tprice, EUR\na\tx\t1\t2,50\n"
    (tmp_path / name).write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    frame = to_polars(tmp_path / name)
    assert frame.columns == ["user", "item", "timestamp", "price, EUR"] and frame["price, EUR"].to_list() == ["2,50"]


def test_csv_types_are_inferred_from_the_first_10000_rows(tmp_path: Path) -> None:
    # a quantity column of whole numbers for 150 rows, then a fraction (polars alone looks at 100 rows)
    rows = [f"u{n},x,{n},1" for n in range(150)] + ["u150,x,150,2.5"]
    (tmp_path / "log.csv").write_text("user,item,timestamp,qty\n" + "\n".join(rows) + "\n")
    log = read_interactions(tmp_path / "log.csv", quantity="qty")
    assert len(log) == 151 and float(log.quantity.sum()) == 152.5


def test_csv_slash_dates_are_read_month_first_as_their_numbers_show(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("user,item,timestamp\na,x,12/1/2010 8:26\nb,y,12/13/2010 9:00\n")
    log = read_interactions(tmp_path / "log.csv")
    assert [f"{t:%Y-%m-%d %H:%M}" for t in log.to_polars()["timestamp"]] == ["2010-12-01 08:26", "2010-12-13 09:00"]


def test_text_columns_stay_text(tmp_path: Path) -> None:
    (tmp_path / "papers.csv").write_text("id,year\n0042,2001\n7,2002\n")
    assert to_polars(tmp_path / "papers.csv", text_columns=["id"])["id"].to_list() == ["0042", "7"]


def test_a_parquet_folder_with_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    (folder / ".spark-staging-1").mkdir(parents=True)
    for n in range(2):
        with open(folder / f"part-{n}.parquet", "wb") as fh:
            LOG.with_columns(pl.col("timestamp") + 10 * n).write_parquet(fh)
    (folder / ".spark-staging-1" / "part-9.parquet").write_bytes(b"half-written")  # hidden: left out
    frame = to_polars(folder)
    assert frame.height == 4 and sorted(frame["timestamp"].to_list()) == [1, 2, 11, 12]
    with open(folder / "part-2.parquet", "wb") as fh:  # another job's part: 32-bit times
        LOG.with_columns(pl.col("timestamp").cast(pl.Int32) + 20).write_parquet(fh)
    assert sorted(to_polars(folder)["timestamp"].to_list()) == [1, 2, 11, 12, 21, 22]


def test_file_errors_in_full(tmp_path: Path) -> None:
    absent = tmp_path / "absent.csv"
    assert _error(absent, what="the log") == f"the log file {str(absent)!r} does not exist"
    odd = tmp_path / "log.xlsx"
    odd.write_bytes(b"x")
    assert _error(odd) == (
        f"cannot tell the format of {str(odd)!r} from its extension; use one of {READABLE} (text formats may be "
        "gzip-compressed, e.g. .csv.gz). Excel or LibreOffice sheets are not read: save the sheet as 'CSV UTF-8', "
        "or convert it with polars (`pip install fastexcel`): pl.read_excel(path).write_parquet('log.parquet')")
    plain = tmp_path / "log.dat"
    plain.write_bytes(b"x")
    assert _error(plain) == (f"cannot tell the format of {str(plain)!r} from its extension; use one of {READABLE} "
                             "(text formats may be gzip-compressed, e.g. .csv.gz)")
    zipped = tmp_path / "log.parquet.gz"
    zipped.write_bytes(gzip.compress(b"PAR1"))
    assert _error(zipped, what="the log") == (
        f"the log file {str(zipped)!r}: a gzip-compressed Parquet file is not read; decompress it first (gunzip): "
        "Parquet compresses its own pages")
    fake = tmp_path / "log.csv.gz"
    fake.write_text("user,item\n")
    assert _error(fake, what="the log").startswith(
        f"cannot read the log file {str(fake)!r}: it is named .gz but is not a whole gzip file (")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    message = _error(broken, what="the log")
    assert message.startswith(f"cannot read the log file {str(broken)!r}: ") and "UTF-8" not in message


def test_folder_errors_in_full(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    assert _error(notes, what="the log") == (
        f"the log: {str(notes)!r} is a folder, not a data file, and holds no .parquet files; give a file "
        f"({READABLE}) or a folder of Parquet files")
    (notes / "manifest.json").write_text("{}")
    assert _error(notes, what="the log") == (
        f"the log: {str(notes)!r} is a saved discoverly artifact (it has a manifest.json), not a data file")


def test_a_json_array_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "log.json"
    path.write_bytes('[{"user": "caf\xe9", "item": "x", "timestamp": 1}]'.encode("latin-1"))
    assert _error(path, what="the log").startswith(f"cannot read the log file {str(path)!r}: it is not UTF-8 text (")
    assert _error(path).endswith(". Save it as UTF-8 first, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv` or, "
                                 "in Excel, 'CSV UTF-8'")


def test_source_errors_in_full() -> None:
    assert _error([1, 2]) == ("cannot read input from a list: pass a file path (CSV, Parquet, JSONL), a polars or "
                              "pandas DataFrame, or a pyarrow Table")
    assert _error(pl.DataFrame({"a": []})) == "input is empty: it has no rows"
    mixed = pd.DataFrame({"user": ["u1", 2], "item": [85123, "85123A"], "timestamp": [1, 2]})
    assert _error(mixed, what="the log") == (
        "cannot read the log from a pandas DataFrame: column(s) 'user' (int/str), 'item' (int/str) mix value "
        "types, as pandas.read_csv "
        "leaves them when it guesses types chunk by chunk. Convert them first, e.g. df['user'] = "
        "df['user'].astype(str), or read the file with dtype=str")
