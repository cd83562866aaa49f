"""``discoverly privatize`` end to end on small files of every format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.cli.app import main
from discoverly.errors import EXIT_CODES, ArtifactError, ConfigError, DataError
from discoverly.privacy.vocabulary import WordEmbeddings

TEXTS = ["The food was great, but the staff was awful!", "John's dish was fine", "we 've got 42 problems",
         "a\nmultiline, \"quoted\" text"]


@pytest.fixture
def vectors(tmp_path: Path, sentence_vocab: WordEmbeddings) -> Path:
    path = tmp_path / "vec.npz"
    np.savez(path, words=np.asarray(sentence_vocab.words), vectors=sentence_vocab.vectors, zipf=sentence_vocab.zipf)
    return path


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"id": ["007", "2", "3", "4"], "text": TEXTS, "label": [1, 0, 1, 0]})


def _write(frame: pl.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".jsonl":
        frame.write_ndjson(path)
    elif path.suffix == ".tsv":  # plain tab-separated lines: no quoting, so no line breaks in a value
        frame.with_columns(pl.col(pl.String).str.replace_all("\n", " ")).write_csv(path, separator="\t",
                                                                                     quote_style="never")
    else:
        frame.write_csv(path)


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    if path.suffix == ".jsonl":
        return pl.read_ndjson(path)
    if path.suffix == ".tsv":
        return pl.read_csv(path, separator="\t", quote_char=None, infer_schema=False)
    return pl.read_csv(path, infer_schema=False)


@pytest.mark.parametrize(("src", "dst"), [(".csv", ".csv"), (".tsv", ".parquet"), (".jsonl", ".jsonl"),
                                          (".parquet", ".csv")])
def test_formats(tmp_path: Path, vectors: Path, src: str, dst: str, capsys: pytest.CaptureFixture[str]) -> None:
    inp, out = tmp_path / f"in{src}", tmp_path / f"out{dst}"
    _write(_frame(), inp)
    args = ["privatize", "-m", "truncated-gumbel", "-e", "2", "-c", "text", "--seed", "5", "--embeddings",
            str(vectors), "--chunk-size", "3", "--no-progress", str(inp), str(out)]
    assert main(args) == 0
    result = _read(out)
    assert result.height == 4 and result.columns == ["id", "text", "label"]
    assert result["id"].cast(pl.String).to_list()[0] in ("007", "7")  # csv keeps "007"
    assert result["text"].to_list() != TEXTS
    stats = json.loads((tmp_path / f"out{dst}.privacy.json").read_text())
    assert stats["texts"] == 4 and stats["epsilon"] == 2.0 and stats["seed"] == 5
    assert stats["chunk_size"] == 3  # with the seed, what reproduces the output
    assert stats["out_of_vocabulary"] >= 4  # got, 42, problems, multiline, quoted, text, ...
    assert "privatised 4 texts" in capsys.readouterr().err
    # the same seed gives the same file
    again = tmp_path / f"again{dst}"
    assert main([*args[:-1], str(again)]) == 0
    assert _read(again)["text"].to_list() == result["text"].to_list()


def test_missing_cells(tmp_path: Path, vectors: Path) -> None:
    inp = tmp_path / "in.jsonl"
    pl.DataFrame({"text": ["the food", None, "bad staff"]}).write_ndjson(inp)
    base = ["privatize", "-e", "3", "--embeddings", str(vectors), "--no-progress", str(inp)]
    assert main([*base, str(tmp_path / "a.jsonl")]) == EXIT_CODES[DataError]
    assert main([*base, str(tmp_path / "b.jsonl"), "--missing", "skip"]) == 0
    assert pl.read_ndjson(tmp_path / "b.jsonl")["text"].null_count() == 1
    assert main([*base, str(tmp_path / "c.jsonl"), "--missing", "empty"]) == 0
    assert pl.read_ndjson(tmp_path / "c.jsonl")["text"].to_list()[1] == ""


def test_errors(tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(_frame(), inp)
    base = ["privatize", "--embeddings", str(vectors), "--no-progress"]
    assert main([*base, "-e", "2", "-c", "txt", str(inp), str(out)]) == EXIT_CODES[DataError]
    assert "did you mean 'text'" in capsys.readouterr().err
    assert main([*base, "-e", "0", str(inp), str(out)]) == EXIT_CODES[ConfigError]
    assert main([*base, "-e", "1", "--oov", "pass", str(inp), str(out)]) == EXIT_CODES[ConfigError]
    assert not out.exists()  # nothing half-written
    out.write_text("x")
    assert main([*base, "-e", "1", str(inp), str(out)]) == EXIT_CODES[ConfigError]
    assert main([*base, "-e", "1", "--overwrite", str(inp), str(out)]) == 0
    assert main([*base, "-e", "1", str(tmp_path / "none.csv"), str(tmp_path / "o.csv")]) == EXIT_CODES[DataError]


def test_headerless_tsv_like_the_sms_file(tmp_path: Path, vectors: Path) -> None:
    inp = tmp_path / "SMSCollection"
    inp.write_text("ham\tthe food was good\nspam\tcall 555 now\n", encoding="utf-8")
    out = tmp_path / "out.tsv"
    args = ["privatize", "-e", "2", "-c", "column_2", "--format", "tsv", "--no-header", "--embeddings", str(vectors),
            "--no-progress", str(inp), str(out)]
    assert main(args) == 0
    # no header in, no header out: line n of the output is line n of the input (a column_1,... line
    # was written first, one line off from the input)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and [line.split("\t")[0] for line in lines] == ["ham", "spam"]
    frame = pl.read_csv(out, separator="\t", has_header=False, new_columns=["column_1", "column_2"])
    assert frame["column_1"].to_list() == ["ham", "spam"]


@pytest.mark.parametrize("dst", [".csv", ".txt", ".jsonl", ".parquet"])
def test_one_text_per_line_keeps_its_lines(tmp_path: Path, vectors: Path, dst: str) -> None:
    inp = tmp_path / "lines.txt"
    inp.write_text("the food was good\n\nthe staff\n", encoding="utf-8")
    out = tmp_path / f"out{dst}"
    args = ["privatize", "-e", "1e6", "--oov", "keep", "--no-header", "-c", "column_1", "--embeddings", str(vectors),
            "--no-progress", str(inp), str(out)]
    assert main(args) == 0
    if dst in (".csv", ".txt"):  # headerless in, headerless out (a CSV quotes the empty text: "")
        empty = '""' if dst == ".csv" else ""
        assert out.read_text(encoding="utf-8").splitlines() == ["the food was good", empty, "the staff"]
    else:  # JSON Lines and Parquet carry the column names by nature
        assert _read(out).columns == ["column_1"] and _read(out)["column_1"].to_list() == [
            "the food was good", "", "the staff"]


def test_tsv_quotes_are_text_like_the_sms_file(tmp_path: Path, vectors: Path) -> None:
    # the SMS collection is plain TSV: 54 messages start with a quote. Read with CSV quoting, their
    # quotes vanished and an unclosed one swallowed the next lines (5,572 rows out of 5,574)
    inp = tmp_path / "SMSCollection"
    inp.write_text('ham\t"Happy day" I know its early\nham\t"the food was good\nspam\tcall 555 "now"\n',
                   encoding="utf-8")
    out = tmp_path / "out.tsv"
    args = ["privatize", "-e", "1e6", "--oov", "keep", "-c", "column_2", "--format", "tsv", "--no-header",
            "--embeddings", str(vectors), "--no-progress", str(inp), str(out)]
    assert main(args) == 0
    frame = pl.read_csv(out, separator="\t", quote_char=None, has_header=False, new_columns=["column_1", "column_2"])
    assert frame["column_1"].to_list() == ["ham", "ham", "spam"]
    assert [t.count('"') for t in frame["column_2"]] == [2, 1, 2]
    # a tab-separated file with CSV quoting is read as csv; a value a TSV cannot hold is refused
    quoted = tmp_path / "quoted.tsv"
    quoted.write_text('text\tid\n"a\tb"\t1\n', encoding="utf-8")
    base = ["privatize", "-e", "2", "--embeddings", str(vectors), "--no-progress"]
    assert main([*base, str(quoted), str(tmp_path / "q.csv")]) == EXIT_CODES[DataError]
    assert main([*base, "--format", "csv", "--separator", "\t", str(quoted), str(tmp_path / "q.csv")]) == 0
    lines = tmp_path / "lines.csv"
    lines.write_text('text\n"two\nlines"\n', encoding="utf-8")
    assert main([*base, str(lines), str(tmp_path / "lines.tsv")]) == EXIT_CODES[DataError]
    assert not (tmp_path / "lines.tsv").exists()


def test_bom_blank_lines_and_latin1(tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["privatize", "-e", "2", "--embeddings", str(vectors), "--no-progress"]
    # Excel's "CSV UTF-8" starts with a byte-order mark: it was part of the first column's name
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufefftext,id\nthe food,1\n".encode())
    assert main([*base, str(bom), str(tmp_path / "bom_out.csv")]) == 0
    assert pl.read_csv(tmp_path / "bom_out.csv").columns == ["text", "id"]
    # one text per line: a blank line is an empty text (it was dropped, moving every later row up)
    lines = tmp_path / "lines.txt"
    lines.write_bytes(b"the food\r\n\r\nthe staff\r\n")
    assert main([*base, "--no-header", "-c", "column_1", str(lines), str(tmp_path / "lines.parquet")]) == 0
    assert pl.read_parquet(tmp_path / "lines.parquet")["column_1"].to_list()[1] == ""
    assert pl.read_parquet(tmp_path / "lines.parquet").height == 3
    # a first line longer than the csv module's 128 KiB field limit was a raw _csv.Error
    long = tmp_path / "long.txt"
    long.write_text("the food " * 20_000 + "\nthe staff\n", encoding="utf-8")
    assert main([*base, "--no-header", "-c", "column_1", str(long), str(tmp_path / "long.jsonl")]) == 0
    assert pl.read_ndjson(tmp_path / "long.jsonl").height == 2
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text\nthe café\n".encode("latin-1"))
    capsys.readouterr()
    assert main([*base, str(latin), str(tmp_path / "latin_out.csv")]) == EXIT_CODES[DataError]
    assert "not UTF-8 text" in capsys.readouterr().err


def test_json_lines_whose_rows_differ(tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["privatize", "-e", "1e6", "--oov", "keep", "--embeddings", str(vectors), "--no-progress",
            "--chunk-size", "1"]
    # fields in another order in a later chunk: the CSV put them under the first chunk's header by position
    order = tmp_path / "order.jsonl"
    order.write_text('{"text": "the food", "id": 1}\n{"id": 2, "text": "the staff"}\n{"id": 3}\n', encoding="utf-8")
    assert main([*base, "--missing", "skip", str(order), str(tmp_path / "order.csv")]) == 0  # row 3: no text
    assert pl.read_csv(tmp_path / "order.csv").rows() == [("the food", 1), ("the staff", 2), (None, 3)]
    # a field first seen after the first chunk cannot join a CSV or Parquet output; JSON Lines keeps it
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"text": "the food"}\n{"text": "the staff", "stars": 3}\n', encoding="utf-8")
    capsys.readouterr()
    assert main([*base, str(extra), str(tmp_path / "extra.csv")]) == EXIT_CODES[DataError]
    assert "['stars'] first appear after row 1" in capsys.readouterr().err
    assert main([*base, str(extra), str(tmp_path / "extra_out.jsonl")]) == 0
    # a type change between chunks was a raw pyarrow error from the Parquet writer
    typed = tmp_path / "typed.jsonl"
    typed.write_text('{"text": "the food", "id": 1}\n{"text": "the staff", "id": "a7"}\n', encoding="utf-8")
    assert main([*base, str(typed), str(tmp_path / "typed.parquet")]) == EXIT_CODES[DataError]
    assert "changes type between chunks" in capsys.readouterr().err
    assert not (tmp_path / "typed.parquet").exists()


@pytest.mark.parametrize(("content", "message"), [
    ('[{"text": "the food"},\n {"text": "the staff"}]\n', "is a JSON array, not JSON Lines"),
    ('{"text": "the food"}\n\n{"text": "the\n', "line 3 of .* is not valid JSON"),  # polars: "Syntax at character 0"
    ('{"text": "the food"}\n5\n', "line 2 of .* is not a JSON object: '5'"),
])
def test_json_lines_errors_name_the_line(tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str],
                                         content: str, message: str) -> None:
    inp = tmp_path / "in.json"
    inp.write_text(content, encoding="utf-8")
    args = ["privatize", "-e", "2", "--embeddings", str(vectors), "--no-progress", str(inp), str(tmp_path / "o.jsonl")]
    assert main(args) == EXIT_CODES[DataError]
    assert re.search(message, capsys.readouterr().err)


def test_stats_never_replace_the_data(tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --stats naming the input wrote JSON over it; a folder was a raw IsADirectoryError after the work,
    # with a temporary file left in the folder above
    inp = tmp_path / "in.csv"
    inp.write_text("text\nthe food\n", encoding="utf-8")
    original = inp.read_bytes()
    base = ["privatize", "-e", "2", "--embeddings", str(vectors), "--no-progress", str(inp)]
    out = tmp_path / "out.csv"
    assert main([*base, str(out), "--stats", str(inp)]) == EXIT_CODES[ConfigError]
    assert main([*base, str(out), "--stats", str(out)]) == EXIT_CODES[ConfigError]
    words = tmp_path / "x.words.parquet"  # the per-word table beside x.json
    assert main([*base, str(words), "--stats", str(tmp_path / "x.json")]) == EXIT_CODES[ConfigError]
    folder = tmp_path / "stats"
    folder.mkdir()
    assert main([*base, str(out), "--stats", str(folder)]) == EXIT_CODES[ArtifactError]
    assert "it is a folder" in capsys.readouterr().err
    # the output a folder: "exists; pass --overwrite", then a raw IsADirectoryError after the work
    for flags in ([], ["--overwrite"]):
        assert main([*base, str(folder), *flags]) == EXIT_CODES[ArtifactError]
        assert "cannot write the privatised file" in capsys.readouterr().err
    assert inp.read_bytes() == original and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "stats", "vec.npz"]


def test_another_separator_is_suggested(tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp = tmp_path / "semi.csv"
    inp.write_text("id;text\n1;the food\n", encoding="utf-8")
    base = ["privatize", "-e", "2", "--embeddings", str(vectors), "--no-progress", str(inp)]
    assert main([*base, str(tmp_path / "a.csv")]) == EXIT_CODES[DataError]
    # it said: did you mean 'id;text'?
    assert "its header looks separated by ';': pass --separator ';'" in capsys.readouterr().err
    assert main([*base, "--separator", ";", str(tmp_path / "b.csv")]) == 0


def test_bad_inputs_are_clear_errors(tmp_path: Path, vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["privatize", "-e", "2", "--embeddings", str(vectors), "--no-progress"]
    nested = tmp_path / "nested.jsonl"
    nested.write_text('{"text": ["the", "food"]}\n')
    assert main([*base, str(nested), str(tmp_path / "a.jsonl")]) == EXIT_CODES[DataError]  # was a polars traceback
    assert "not text" in capsys.readouterr().err
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"garbage")
    assert main([*base, str(broken), str(tmp_path / "b.csv")]) == EXIT_CODES[DataError]  # was a pyarrow traceback
    assert "cannot read" in capsys.readouterr().err
    assert main([*base, str(tmp_path), str(tmp_path / "c.csv")]) == EXIT_CODES[DataError]
    assert "is a directory" in capsys.readouterr().err  # said "does not exist"
    inp = tmp_path / "in.csv"
    _write(_frame(), inp)
    assert main([*base, "--seed", "-1", str(inp), str(tmp_path / "d.csv")]) == EXIT_CODES[ConfigError]
    assert "non-negative" in capsys.readouterr().err  # was a numpy traceback


def test_empty_inputs_give_empty_tables_and_valid_json(tmp_path: Path, vectors: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    base = ["privatize", "-e", "2", "--embeddings", str(vectors), "--no-progress"]
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,text\n")
    assert main([*base, str(header_only), str(tmp_path / "out.csv")]) == 0
    assert (tmp_path / "out.csv").read_text() == "id,text\n"  # was an empty file without its header
    assert main([*base, str(header_only), str(tmp_path / "out.parquet")]) == 0  # was "no rows to write"
    assert pl.read_parquet(tmp_path / "out.parquet").columns == ["id", "text"]
    # a Parquet file without rows: the CSV was an empty file, the Parquet "no rows to write"
    empty = tmp_path / "empty.parquet"
    pl.DataFrame(schema={"id": pl.Int64, "text": pl.String}).write_parquet(empty)
    assert main([*base, str(empty), str(tmp_path / "empty.csv")]) == 0
    assert (tmp_path / "empty.csv").read_text() == "id,text\n"
    assert main([*base, str(empty), str(tmp_path / "empty_out.parquet")]) == 0
    assert pl.read_parquet(tmp_path / "empty_out.parquet").schema == {"id": pl.Int64, "text": pl.String}
    blank = tmp_path / "blank.csv"
    blank.write_text('id,text\n1,""\n2,"   "\n')
    assert main([*base, str(blank), str(tmp_path / "blank_out.csv")]) == 0
    assert "no vocabulary words" in capsys.readouterr().err  # was "nan% of words unchanged"
    stats = (tmp_path / "blank_out.csv.privacy.json").read_text()
    assert json.loads(stats, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))[
        "unchanged_share"] is None
    assert (tmp_path / "blank_out.csv").stat().st_mode & 0o777 == 0o644  # mkstemp's 0600 made it private
