"""Turning files and data frames into polars tables, with clear errors on bad input."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import polars as pl

from discoverly.errors import DataError

__all__ = ["to_polars", "require_columns", "parse_time_column"]

_READERS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "ndjson", ".ndjson": "ndjson", ".json": "ndjson",
}


def to_polars(source: Any, *, what: str = "input") -> pl.DataFrame:
    """A polars DataFrame from a path (CSV, TSV, Parquet, JSONL), polars, pandas or Arrow table."""
    if isinstance(source, pl.DataFrame):
        frame = source
    elif isinstance(source, pl.LazyFrame):
        frame = source.collect()
    elif isinstance(source, (str, Path)):
        frame = _read_file(Path(source), what)
    elif type(source).__module__.startswith("pandas"):
        frame = pl.from_pandas(source)
    elif type(source).__module__.startswith("pyarrow"):
        frame = pl.from_arrow(source)  # type: ignore[assignment]
    else:
        raise DataError(
            f"cannot read {what} from a {type(source).__name__}: pass a file path (CSV, Parquet, JSONL), "
            "a polars or pandas DataFrame, or a pyarrow Table")
    if frame.height == 0:
        raise DataError(f"{what} is empty: it has no rows")
    return frame


def _read_file(path: Path, what: str) -> pl.DataFrame:
    if not path.exists():
        raise DataError(f"{what} file {str(path)!r} does not exist")
    kind = _READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"cannot tell the format of {str(path)!r} from its extension; "
                        f"use one of {', '.join(sorted(_READERS))}")
    try:
        if kind == "parquet":
            return pl.read_parquet(path)
        if kind == "ndjson":
            with open(path, "rb") as fh:
                first = fh.read(64).lstrip()
            return pl.read_json(path) if first.startswith(b"[") else pl.read_ndjson(path)
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        return pl.read_csv(path, separator=sep, infer_schema_length=10_000, try_parse_dates=False)
    except DataError:
        raise
    except Exception as exc:  # polars raises many kinds; report them as one data error
        raise DataError(f"cannot read {what} file {str(path)!r}: {exc}") from exc


_COLUMN_HINT = "Name the columns with user=, item=, time= (CLI: --user, --item, --time)."


def require_columns(frame: pl.DataFrame, columns: dict[str, str | None], *, what: str,
                    hint: str = _COLUMN_HINT) -> None:
    """Check that every mapped column exists; suggest the nearest names when one does not."""
    missing = [(role, col) for role, col in columns.items() if col is not None and col not in frame.columns]
    if not missing:
        return
    parts = []
    for role, col in missing:
        close = difflib.get_close_matches(col, frame.columns, n=2, cutoff=0.5)
        guess = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        parts.append(f"the {role} column {col!r} is missing{guess}")
    raise DataError(f"{what}: {'; '.join(parts)}. Columns present: {', '.join(frame.columns)}. {hint}")


def parse_time_column(series: pl.Series, *, what: str) -> pl.Series:
    """Epoch seconds (Int64) from datetimes, dates, ISO strings or epoch numbers; clear error on failure."""
    name = series.name
    dtype = series.dtype
    if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
        out = series.dt.epoch("s")
    elif dtype == pl.Date:
        out = series.cast(pl.Datetime("us")).dt.epoch("s")
    elif dtype.is_numeric():
        out = series.cast(pl.Float64)
        big = out.drop_nulls().abs().max()
        if isinstance(big, (int, float)) and big > 1e11:  # milliseconds since the epoch
            out = out / 1000.0
        out = out.cast(pl.Int64)
    elif dtype == pl.String:
        try:
            parsed = series.str.strip_chars().str.to_datetime(strict=False, time_unit="us")
        except pl.exceptions.PolarsError:  # no format fits the first values, e.g. epoch seconds as text
            parsed = pl.Series(name, [None] * len(series), dtype=pl.Datetime("us"))
        if parsed.null_count() > series.null_count():
            # maybe epoch seconds written as text
            as_num = series.str.strip_chars().cast(pl.Float64, strict=False)
            if as_num.null_count() == series.null_count():
                return parse_time_column(as_num.alias(name), what=what)
            # name the values that fit neither reading of the column (the one that fits more of it)
            reading = as_num if as_num.null_count() < parsed.null_count() else parsed
            bad = (reading.is_null() & series.is_not_null()).arg_true()
            rows = ", ".join(str(i) for i in bad[:5].to_list())
            examples = ", ".join(repr(v) for v in series.gather(bad[:3]).to_list())
            raise DataError(
                f"{what}: {len(bad):,} value(s) of the time column {name!r} cannot be read as times "
                f"(rows {rows}{'…' if len(bad) > 5 else ''}: {examples}). "
                "Expected ISO strings such as '2011-11-01 08:26:00' or epoch seconds.")
        out = parsed.dt.epoch("s")
    else:
        raise DataError(f"{what}: the time column {name!r} has type {dtype}; expected datetimes, ISO strings "
                        "or epoch seconds")
    if out.null_count():
        rows = ", ".join(str(i) for i in out.is_null().arg_true()[:5].to_list())
        raise DataError(f"{what}: the time column {name!r} has {out.null_count():,} missing value(s) "
                        f"(rows {rows}); drop those rows or fill them in")
    return out.alias(name)
