"""read_chunks / write_chunks: every row once, in order, in chunks of the asked size, in every format
(the chunk layout decides which random draws each text gets, so it is part of reproducibility)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

from discoverly.errors import DataError
from discoverly.privacy.stream import read_chunks, write_chunks


def _heights(frames: list[pl.DataFrame]) -> list[int]:
    return [f.height for f in frames]


@pytest.mark.parametrize(("n", "size", "heights"), [(7, 3, [3, 3, 1]), (6, 3, [3, 3]), (2, 5, [2]), (3, 1, [1, 1, 1])])
def test_csv_chunks_keep_every_row_in_order(tmp_path: Path, n: int, size: int, heights: list[int]) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,text\n" + "".join(f"{i:03d},t{i}\n" for i in range(n)), encoding="utf-8")
    frames = list(read_chunks(path, "csv", chunk_size=size))
    assert _heights(frames) == heights
    assert all(f.columns == ["id", "text"] and f.dtypes == [pl.String, pl.String] for f in frames)
    assert pl.concat(frames)["id"].to_list() == [f"{i:03d}" for i in range(n)]  # text: 007 stays 007


def test_csv_header_options_and_separators(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text("a;b\n1;x\n", encoding="utf-8")
    (frame,) = read_chunks(path, "csv", separator=";", header=False)
    assert frame.columns == ["column_1", "column_2"] and frame.rows() == [("a", "b"), ("1", "x")]
    (frame,) = read_chunks(path, "csv", separator=";")
    assert frame.columns == ["a", "b"] and frame.rows() == [("1", "x")]


def test_csv_blank_lines_and_quotes(tmp_path: Path) -> None:
    one = tmp_path / "one.txt"
    one.write_text("x\n\ny\n", encoding="utf-8")  # one column: a blank line is an empty text
    assert pl.concat(list(read_chunks(one, "tsv", header=False, chunk_size=2)))["column_1"].to_list() == [
        "x", "", "y"]
    two = tmp_path / "two.csv"
    two.write_text('a,b\n1,"p, ""q"""\n\n2,r\n', encoding="utf-8")  # two columns: blank lines are skipped
    assert pl.concat(list(read_chunks(two, "csv"))).rows() == [("1", 'p, "q"'), ("2", "r")]
    tsv = tmp_path / "in.tsv"
    tsv.write_text('a\tb\n"x\t"y"\n', encoding="utf-8")  # TSV: a quote is text
    assert pl.concat(list(read_chunks(tsv, "tsv", separator="\t"))).rows() == [('"x', '"y"')]


def test_csv_empty_header_only_and_repeated_names(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="is empty"):
        list(read_chunks(empty, "csv"))
    header = tmp_path / "header.csv"
    header.write_text("id,text\n", encoding="utf-8")
    (frame,) = read_chunks(header, "csv", chunk_size=1)
    assert frame.height == 0 and frame.schema == {"id": pl.String, "text": pl.String}
    twice = tmp_path / "twice.csv"
    twice.write_text("a,a\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"repeated column names in its header: \['a', 'a'\]"):
        list(read_chunks(twice, "csv"))


def test_parquet_chunks(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame({"id": list(range(5)), "text": [f"t{i}" for i in range(5)]}).write_parquet(path)
    frames = list(read_chunks(path, "parquet", chunk_size=2))
    assert _heights(frames) == [2, 2, 1]
    assert pl.concat(frames)["id"].to_list() == [0, 1, 2, 3, 4] and frames[0].schema["id"] == pl.Int64
    empty = tmp_path / "empty.parquet"
    pl.DataFrame(schema={"id": pl.Int64, "text": pl.String}).write_parquet(empty)
    (frame,) = read_chunks(empty, "parquet")
    assert frame.height == 0 and frame.schema == {"id": pl.Int64, "text": pl.String}


def test_jsonl_chunks_count_objects_not_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "a", "id": 1}\n\n{"text": "b", "id": 2}\n   \n{"id": 3, "text": "c"}\n',
                    encoding="utf-8")
    frames = list(read_chunks(path, "jsonl", chunk_size=2))
    assert _heights(frames) == [2, 1]
    assert [f.columns for f in frames] == [["text", "id"], ["text", "id"]]  # the first order, kept
    assert pl.concat(frames).rows() == [("a", 1), ("b", 2), ("c", 3)]


def test_jsonl_fields_missing_or_new_in_later_chunks(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "a", "id": 1}\n{"id": 2}\n{"text": "c", "id": 3, "stars": 5}\n', encoding="utf-8")
    frames = list(read_chunks(path, "jsonl", chunk_size=1))
    assert [f.columns for f in frames] == [["text", "id"], ["text", "id"], ["text", "id", "stars"]]
    assert frames[1].schema["text"] == pl.String and frames[1]["text"].to_list() == [None]
    with pytest.raises(DataError, match=r"\['stars'\] first appear after row 2,"):
        list(read_chunks(path, "jsonl", chunk_size=1, new_fields=False))
    # within the first chunk every field is known from the start: no error
    assert pl.concat(list(read_chunks(path, "jsonl", chunk_size=3, new_fields=False)), how="diagonal").height == 3


@pytest.mark.parametrize(("content", "message"), [
    (b'{"text": "a"}\n\n\n{"text": \n', r"^line 4 of .* is not valid JSON"),
    (b'{"text": "a"}\n"b"\n', r"^line 2 of .* is not a JSON object: '\"b\"'$"),
    (b'[{"text": "a"}]\n', r"is a JSON array, not JSON Lines"),
    (b'{"text": "caf\xe9"}\n', r"^cannot read .*: it is not UTF-8 text \(line 1: "),
])
def test_jsonl_errors_name_the_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        list(read_chunks(path, "jsonl"))


def test_not_utf8_and_unreadable_files(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text\ncaf\xe9\n".encode("latin-1"))
    for fmt in ("csv", "tsv"):
        with pytest.raises(DataError, match=r"^cannot read '.*latin\.csv': it is not UTF-8 text \(.*\)\. Save it as "
                           r"UTF-8 first, e\.g\. `iconv -f latin1 -t utf-8 IN > OUT` or, in Excel, 'CSV UTF-8'$"):
            list(read_chunks(latin, fmt))
    header = tmp_path / "header.csv"  # in the header line, read by the csv module first
    header.write_bytes("caf\xe9\nx\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text"):
        list(read_chunks(header, "csv"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufefftext\nx\n".encode())
    assert next(read_chunks(bom, "csv")).columns == ["text"]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"^cannot read '.*broken.parquet' as parquet: "):
        list(read_chunks(broken, "parquet"))


def _chunks() -> list[pl.DataFrame]:
    return [pl.DataFrame({"id": ["007", "2"], "text": ["a, b", 'say "hi"']}),
            pl.DataFrame({"id": ["3"], "text": ["c"]})]


def test_write_csv_and_tsv_header_once(tmp_path: Path) -> None:
    out = write_chunks(_chunks(), tmp_path / "o.csv", "csv")
    assert out == tmp_path / "o.csv"
    assert out.read_text(encoding="utf-8") == 'id,text\n007,"a, b"\n2,"say ""hi"""\n3,c\n'
    write_chunks(_chunks(), tmp_path / "n.csv", "csv", header=False)
    assert (tmp_path / "n.csv").read_text(encoding="utf-8").splitlines()[0] == '007,"a, b"'
    write_chunks(_chunks(), tmp_path / "o.tsv", "tsv", separator="\t")
    assert (tmp_path / "o.tsv").read_text(encoding="utf-8") == 'id\ttext\n007\ta, b\n2\tsay "hi"\n3\tc\n'
    bad = [pl.DataFrame({"id": [1, 2], "text": ["ok", "tab\there"]})]
    with pytest.raises(DataError, match=r"^column 'text' has a value with a tab or a line break \(e\.g\. 'tab\\there'"):
        write_chunks(bad, tmp_path / "bad.tsv", "tsv", separator="\t")
    assert not (tmp_path / "bad.tsv").exists()
    nulls = [pl.DataFrame({"text": [None, "fine"]}, schema={"text": pl.String})]  # a null is no tab
    write_chunks(nulls, tmp_path / "nulls.tsv", "tsv", separator="\t")
    assert (tmp_path / "nulls.tsv").read_text(encoding="utf-8") == "text\n\nfine\n"


def test_write_jsonl_and_parquet(tmp_path: Path) -> None:
    write_chunks(_chunks(), tmp_path / "o.jsonl", "jsonl")
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows == [{"id": "007", "text": "a, b"}, {"id": "2", "text": 'say "hi"'}, {"id": "3", "text": "c"}]
    write_chunks(_chunks(), tmp_path / "o.parquet", "parquet")
    assert pl.read_parquet(tmp_path / "o.parquet").rows() == [("007", "a, b"), ("2", 'say "hi"'), ("3", "c")]
    # a later chunk whose column is all null (no type of its own) takes the first chunk's type
    mixed = [pl.DataFrame({"n": [1]}), pl.DataFrame({"n": [None]})]
    write_chunks(mixed, tmp_path / "m.parquet", "parquet")
    assert pl.read_parquet(tmp_path / "m.parquet")["n"].to_list() == [1, None]
    with pytest.raises(DataError, match="changes type between chunks"):
        write_chunks([pl.DataFrame({"n": [1]}), pl.DataFrame({"n": ["x"]})], tmp_path / "t.parquet", "parquet")
    with pytest.raises(DataError, match=r"^the input has no rows to write$"):
        write_chunks([], tmp_path / "e.parquet", "parquet")
    assert not (tmp_path / "t.parquet").exists() and not (tmp_path / "e.parquet").exists()


def test_tsv_header_quotes_and_ragged_rows(tmp_path: Path) -> None:
    limit = csv.field_size_limit()
    quoted = tmp_path / "q.tsv"
    quoted.write_text('"x\ty\n1\t2\n', encoding="utf-8")  # a quote opening the header is text too
    assert next(read_chunks(quoted, "tsv", separator="\t")).columns == ['"x', "y"]
    assert csv.field_size_limit() == limit  # raised to read a long first line, then put back
    ragged = tmp_path / "r.tsv"
    ragged.write_text("a\tb\n1\t2\t3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"^cannot read '.*r\.tsv' as tsv: .*read it with --format csv --separator"):
        list(read_chunks(ragged, "tsv", separator="\t"))
    with pytest.raises(DataError, match=r"^cannot read '.*r\.tsv' as csv: ") as info:
        list(read_chunks(ragged, "csv", separator="\t"))
    assert "--format csv" not in str(info.value) and str(info.value).endswith(".")  # the TSV hint is for TSV only


def test_default_chunk_is_20000_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("text\n" + "x\n" * 20_001, encoding="utf-8")
    assert _heights(list(read_chunks(path, "csv"))) == [20_000, 1]


def test_csv_long_values_line_breaks_and_null_words(tmp_path: Path) -> None:
    # rows of 3 MB each: longer than pyarrow's default 1 MB block, and one block (of 4 MB) per row,
    # so a chunk of 2 rows is put together from two blocks
    path = tmp_path / "long.csv"
    path.write_text("id,text\n" + "".join(f"{i},{'w ' * 1_500_000}\n" for i in range(3)), encoding="utf-8")
    frames = list(read_chunks(path, "csv", chunk_size=2))
    assert _heights(frames) == [2, 1] and pl.concat(frames)["id"].to_list() == ["0", "1", "2"]
    quoted = tmp_path / "q.csv"
    quoted.write_text('"last, first",text\n1,"two\nlines"\n2,NA\n3,""\n4,null\n', encoding="utf-8")
    frame = pl.concat(list(read_chunks(quoted, "csv")))
    assert frame.columns == ["last, first", "text"]
    assert frame["text"].to_list() == ["two\nlines", "NA", "", "null"]  # text as written, never null


def test_error_messages_name_the_file(tmp_path: Path) -> None:
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"a": 1}\n{"b": 2}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"^'.*rows\.jsonl': the field\(s\) \['b'\] first appear after row 1, but the "
                       r"output's columns are fixed by the first chunk of rows; pass a --chunk-size larger than "
                       r"the file's number of rows, or write JSON Lines$"):
        list(read_chunks(jsonl, "jsonl", chunk_size=1, new_fields=False))
    array = tmp_path / "array.jsonl"
    array.write_text('  [{"a": 1}]\n', encoding="utf-8")  # leading blanks before the bracket
    with pytest.raises(DataError, match=r"^'.*array\.jsonl' is a JSON array, not JSON Lines \(one object per line\); "
                       r"convert it, e\.g\. `jq -c '\.\[\]' in\.json > in\.jsonl`$"):
        list(read_chunks(array, "jsonl"))
    long = tmp_path / "long.jsonl"  # a bad line in a full chunk (not the last one), shown cut at 80 bytes
    long.write_text('{"a": 1}\n{"a": ' + "9" * 100 + "\n" + '{"a": 2}\n' * 3, encoding="utf-8")
    shown = '{"a": ' + "9" * 74
    with pytest.raises(DataError, match=rf"^line 2 of '.*long\.jsonl' is not valid JSON \(.*\): '{shown}'$"):
        list(read_chunks(long, "jsonl", chunk_size=2))
    obj = tmp_path / "obj.jsonl"
    obj.write_text('{"a": 1}\n[1]\n{"a": 2}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"^line 2 of '.*obj\.jsonl' is not a JSON object: '\[1\]'$"):
        list(read_chunks(obj, "jsonl", chunk_size=2))
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"a": "x"}\n{"a": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match=r"^cannot read '.*latin\.jsonl': it is not UTF-8 text \(line 2: .*\)\. Save it "
                       r"as UTF-8 first, e\.g\. `iconv -f latin1 -t utf-8 IN > OUT`$"):
        list(read_chunks(latin, "jsonl", chunk_size=1))
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"^'.*empty\.csv' is empty$"):
        list(read_chunks(empty, "csv"))
    twice = tmp_path / "twice.csv"
    twice.write_text("a,a\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"^'.*twice\.csv' has repeated"):
        list(read_chunks(twice, "csv"))
    ragged = tmp_path / "ragged.tsv"
    ragged.write_text("a\tb\n1\t2\t3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"^cannot read '.*ragged\.tsv' as tsv: .*\. If its fields are quoted like a "
                       r"CSV's, read it with --format csv --separator \$'\\t'$"):
        list(read_chunks(ragged, "tsv", separator="\t"))


def test_writer_messages_and_separator(tmp_path: Path) -> None:
    write_chunks(_chunks(), tmp_path / "semi.csv", "csv", separator=";")
    assert (tmp_path / "semi.csv").read_text(encoding="utf-8").splitlines()[:2] == ["id;text", "007;a, b"]
    long = "x" * 70 + "\there"
    with pytest.raises(DataError, match=rf"^column 'text' has a value with a tab or a line break \(e\.g\. "
                       rf"'{'x' * 60}'\), which a TSV file cannot hold; write CSV, Parquet or JSONL instead "
                       r"\(the output's extension\)$"):
        write_chunks([pl.DataFrame({"text": [long]})], tmp_path / "o.tsv", "tsv", separator="\t")
    with pytest.raises(DataError, match=r"^a column changes type between chunks of the input \(.*\); a Parquet output "
                       r"needs one type per column: pass a --chunk-size larger than the file's number of rows, give "
                       r"the field one type in every row, or write JSON Lines or CSV$"):
        write_chunks([pl.DataFrame({"n": [1]}), pl.DataFrame({"n": ["x"]})], tmp_path / "t.parquet", "parquet")


def test_csv_quoted_line_breaks_across_blocks(tmp_path: Path) -> None:
    # quoted texts of many lines, one 4 MB block boundary falling inside a text: the reader must know
    # that values hold line breaks, or it cuts a row at one ("parser got out of sync with chunker")
    path = tmp_path / "lines.csv"
    path.write_text("id,text\n" + "".join(f'{i},"' + "w x\n" * 700_000 + '"\n' for i in range(3)), encoding="utf-8")
    frames = list(read_chunks(path, "csv", chunk_size=2))
    assert _heights(frames) == [2, 1]
    assert [t.count("\n") for t in pl.concat(frames)["text"]] == [700_000] * 3
