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
                header: bool = True) -> Iterator[pl.DataFrame]:
    """Yield the table at ``path`` as polars frames of at most ``chunk_size`` rows."""
    try:
        if fmt == "parquet":
            yield from _parquet(path, chunk_size)
        elif fmt == "jsonl":
            yield from _jsonl(path, chunk_size)
        else:
            yield from _csv(path, chunk_size, separator, header, quoted=fmt != "tsv")
    except DataError:
        raise
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        if "utf8" in str(exc).lower().replace("-", ""):
            raise DataError(f"cannot read {str(path)!r}: it is not UTF-8 text ({exc}). Save it as UTF-8 first, "
                            "e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv` or, in Excel, 'CSV UTF-8'") from exc
        hint = (" If its fields are quoted like a CSV's, read it with --format csv --separator $'\\t'"
                if fmt == "tsv" else "")
        raise DataError(f"cannot read {str(path)!r} as {fmt}: {exc}.{hint}") from exc


def _parquet(path: Path, chunk_size: int) -> Iterator[pl.DataFrame]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size):
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield frame


def _jsonl(path: Path, chunk_size: int) -> Iterator[pl.DataFrame]:
    buf: list[bytes] = []
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                buf.append(line)
            if len(buf) >= chunk_size:
                yield pl.read_ndjson(io.BytesIO(b"".join(buf)))
                buf = []
    if buf:
        yield pl.read_ndjson(io.BytesIO(b"".join(buf)))


def _csv(path: Path, chunk_size: int, separator: str, header: bool, *, quoted: bool = True
         ) -> Iterator[pl.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = next(csv.reader(fh, delimiter=separator, quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE),
                     None)
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


def write_chunks(chunks: Iterable[pl.DataFrame], target: Path, fmt: str, *, separator: str = ",") -> Path:
    """Write every chunk to ``target`` (atomically: temp file, then rename); returns the path."""
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
                        frame.write_csv(fh, separator=separator, include_header=first, quote_style="never")
                    else:
                        frame.write_csv(fh, separator=separator, include_header=first)
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
    import pyarrow.parquet as pq

    writer = None
    try:
        for frame in chunks:
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
        if writer is None:
            raise DataError("the input has no rows to write")
    finally:
        if writer is not None:
            writer.close()
