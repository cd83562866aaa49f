"""Reading and writing tables of any size in chunks: CSV/TSV, Parquet and JSONL.

CSV columns are read as text so nothing is reinterpreted on the way through (a ZIP code stays
``"01234"``); Parquet keeps its schema; JSONL is parsed a block of lines at a time. A TSV file is
plain tab-separated lines without quoting (like the SMS collection, whose messages may start with a
quote): a ``"`` is text; a tab-separated file with CSV quoting is read as ``csv`` with a tab
separator. Output goes to a temporary file next to the target and is renamed into place only when
every chunk is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl

from discoverly.artifacts import staged_file
from discoverly.errors import DataError

__all__ = ["read_chunks", "write_chunks"]


def read_chunks(path: Path, fmt: str, *, chunk_size: int = 20_000, separator: str = ",",
                header: bool = True, new_fields: bool = True) -> Iterator[pl.DataFrame]:
    """Yield the table at ``path`` as polars frames of at most ``chunk_size`` rows.

    The rows of a JSON Lines file need not share their fields: every chunk has the fields seen so
    far, in the order first seen (missing ones null). ``new_fields=False`` (a CSV or Parquet output,
    whose columns are fixed by the first chunk) makes a field first seen after the first chunk a
    :class:`DataError`."""
    try:
        if fmt == "parquet":
            yield from _parquet(path, chunk_size)
        elif fmt == "jsonl":
            yield from _same_fields(path, _jsonl(path, chunk_size), new_fields)
        else:
            yield from _csv(path, chunk_size, separator, header, quoted=fmt != "tsv")
    except DataError:
        raise
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        if "utf8" in str(exc).lower().replace("-", ""):
            excel = " or, in Excel, 'CSV UTF-8'" if fmt in ("csv", "tsv") else ""
            raise DataError(f"cannot read {str(path)!r}: it is not UTF-8 text ({exc}). Save it as UTF-8 first, "
                            f"e.g. `iconv -f latin1 -t utf-8 IN > OUT`{excel}") from exc
        hint = (" If its fields are quoted like a CSV's, read it with --format csv --separator $'\\t'"
                if fmt == "tsv" else "")
        raise DataError(f"cannot read {str(path)!r} as {fmt}: {exc}.{hint}") from exc


def _parquet(path: Path, chunk_size: int) -> Iterator[pl.DataFrame]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    yielded = False
    for batch in file.iter_batches(batch_size=chunk_size):
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yielded = True
        yield frame
    if not yielded:  # no rows: an empty table that keeps its columns, as a CSV with only a header
        empty = pl.from_arrow(file.schema_arrow.empty_table())
        assert isinstance(empty, pl.DataFrame)
        yield empty


def _jsonl(path: Path, chunk_size: int) -> Iterator[pl.DataFrame]:
    buf: list[bytes] = []
    numbers: list[int] = []  # the line number of each of buf (blank lines are skipped)
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                buf.append(line)
                numbers.append(number)
            if len(buf) >= chunk_size:
                yield _ndjson(path, buf, numbers)
                buf, numbers = [], []
    if buf:
        yield _ndjson(path, buf, numbers)


def _same_fields(path: Path, frames: Iterator[pl.DataFrame], new_fields: bool) -> Iterator[pl.DataFrame]:
    """Every frame with the fields of the frames before it, in their order (absent ones null): a
    CSV written chunk by chunk put a later chunk's values under the first chunk's header by
    position, and a chunk whose rows lacked the text field was said not to have it at all."""
    schema: dict[str, pl.DataType] = {}
    rows = 0
    for frame in frames:
        new = [c for c in frame.columns if c not in schema]
        if new and schema and not new_fields:
            raise DataError(f"{str(path)!r}: the field(s) {new} first appear after row {rows:,}, but the output's "
                            "columns are fixed by the first chunk of rows; pass a --chunk-size larger than the "
                            "file's number of rows, or write JSON Lines")
        schema.update({c: frame.schema[c] for c in new})
        missing = [pl.lit(None, dtype=schema[c]).alias(c) for c in schema if c not in frame.columns]
        rows += frame.height
        yield frame.with_columns(missing).select(list(schema))


def _ndjson(path: Path, lines: list[bytes], numbers: list[int]) -> pl.DataFrame:
    """The JSON objects of ``lines``; a :class:`DataError` naming the first line that is not one
    (polars says only "Syntax at character 0")."""
    try:
        return pl.read_ndjson(io.BytesIO(b"".join(lines)))
    except pl.exceptions.PolarsError as exc:
        if numbers[0] == 1 and lines[0].lstrip().startswith(b"["):
            raise DataError(f"{str(path)!r} is a JSON array, not JSON Lines (one object per line); convert it, e.g. "
                            "`jq -c '.[]' in.json > in.jsonl`") from exc
        import json

        for number, line in zip(numbers, lines, strict=True):
            shown = line[:80].decode("utf-8", "replace").strip()
            try:
                value = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as bad:
                raise DataError(f"cannot read {str(path)!r}: it is not UTF-8 text (line {number}: {bad}). Save it "
                                "as UTF-8 first, e.g. `iconv -f latin1 -t utf-8 IN > OUT`") from exc
            except ValueError as bad:
                raise DataError(f"line {number} of {str(path)!r} is not valid JSON ({bad}): {shown!r}") from exc
            if not isinstance(value, dict):
                raise DataError(f"line {number} of {str(path)!r} is not a JSON object: {shown!r}") from exc
        raise


def _csv(path: Path, chunk_size: int, separator: str, header: bool, *, quoted: bool = True
         ) -> Iterator[pl.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name;
    # strict: a Latin-1 header ("café") was read as "caf\ufffd" and the file went through silently
    limit = csv.field_size_limit(2**31 - 1)  # a first line of one long text (> 128 KiB) was a raw _csv.Error
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            first = next(csv.reader(fh, delimiter=separator,
                                    quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE), None)
    except csv.Error as exc:
        raise DataError(f"cannot read the first line of {str(path)!r} as {'csv' if quoted else 'tsv'}: {exc}") from exc
    finally:
        csv.field_size_limit(limit)
    if first is None:
        raise DataError(f"{str(path)!r} is empty")
    names = first if header else [f"column_{i + 1}" for i in range(len(first))]
    if len(set(names)) != len(names):
        raise DataError(f"{str(path)!r} has repeated column names in its header: {names}")
    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(column_names=names, skip_rows=1 if header else 0, block_size=1 << 22),
        # one column: an empty line is an empty text, not nothing (rows keep their places)
        parse_options=pcsv.ParseOptions(delimiter=separator, quote_char='"' if quoted else False,
                                        newlines_in_values=quoted, ignore_empty_lines=len(names) > 1),
        convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                            strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    pending: list[pl.DataFrame] = []
    rows = 0
    yielded = False
    for batch in reader:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        pending.append(frame)
        rows += frame.height
        while rows >= chunk_size:
            whole = pl.concat(pending)
            yield whole.head(chunk_size)
            yielded = True
            rest = whole.slice(chunk_size)
            pending, rows = [rest], rest.height
    if rows:
        yield pl.concat(pending)
    elif not yielded:  # a header without rows: an empty table that keeps its columns
        yield pl.DataFrame(schema={n: pl.String for n in names})


def write_chunks(chunks: Iterable[pl.DataFrame], target: Path, fmt: str, *, separator: str = ",",
                 header: bool = True) -> Path:
    """Write every chunk to ``target`` (atomically: temp file, then rename); returns the path.
    ``header=False``: a CSV/TSV output has no header line (a headerless input's rows stay on their
    lines); JSONL and Parquet carry the column names by nature."""
    with staged_file(target) as tmp:  # a run killed outright leaves nothing the next run keeps
        if fmt == "parquet":
            _write_parquet(chunks, tmp)
        else:
            with open(tmp, "wb") as fh:
                first = True
                for frame in chunks:
                    if fmt == "jsonl":
                        frame.write_ndjson(fh)
                    elif fmt == "tsv":  # plain lines, no quoting: what the TSV reader above reads back
                        _check_tsv(frame)
                        frame.write_csv(fh, separator=separator, include_header=first and header,
                                        quote_style="never")
                    else:
                        frame.write_csv(fh, separator=separator, include_header=first and header)
                    first = False
    return target


def _check_tsv(frame: pl.DataFrame) -> None:
    """A :class:`DataError` for a value a TSV file cannot hold (a tab or a line break)."""
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            bad = frame[name].str.contains(r"[\t\r\n]").fill_null(False)
            if bad.any():
                raise DataError(f"column {name!r} has a value with a tab or a line break (e.g. "
                                f"{frame[name].filter(bad)[0][:60]!r}), which a TSV file cannot hold; write CSV, "
                                "Parquet or JSONL instead (the output's extension)")


def _write_parquet(chunks: Iterable[pl.DataFrame], tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for frame in chunks:
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            try:
                table = table.cast(writer.schema)
            except (pa.ArrowException, ValueError) as exc:  # JSON Lines: a field's type changed after a chunk
                raise DataError(f"a column changes type between chunks of the input ({exc}); a Parquet output "
                                "needs one type per column: pass a --chunk-size larger than the file's number of "
                                "rows, give the field one type in every row, or write JSON Lines or CSV") from exc
            writer.write_table(table)
        if writer is None:
            raise DataError("the input has no rows to write")
    finally:
        if writer is not None:
            writer.close()
