"""Turning files and data frames into polars tables, with clear errors on bad input."""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import polars as pl

from discoverly.errors import DataError

__all__ = ["to_polars", "require_columns", "parse_time_column", "SLASH_DATE", "EPOCH_UNITS", "MIN_EPOCH", "MAX_EPOCH",
           "DIGIT_DATES", "digit_dates_warning"]

log = logging.getLogger(__name__)

_READERS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "ndjson", ".ndjson": "ndjson", ".json": "ndjson",
}
#: how to turn a file of a known format that is not read into one that is (polars can read them)
_EXCEL = ("Excel or LibreOffice sheets are not read: save the sheet as 'CSV UTF-8', or convert it with "
          "polars (`pip install fastexcel`): pl.read_excel(path).write_parquet('log.parquet')")
_IPC = "Arrow/Feather files are not read: convert with polars, pl.read_ipc(path).write_parquet('log.parquet')"
_CONVERT = {".xlsx": _EXCEL, ".xls": _EXCEL, ".xlsm": _EXCEL, ".ods": _EXCEL,
            ".feather": _IPC, ".arrow": _IPC, ".ipc": _IPC,
            ".gz": "A gzip-compressed file is read when its name says the format inside, e.g. log.csv.gz",
            ".zip": "Zip archives are not read: unzip it first (gzip-compressed text, e.g. log.csv.gz, is read)"}


def to_polars(source: Any, *, what: str = "input", id_columns: Sequence[str | None] = (),
              text_columns: Sequence[str | None] = ()) -> pl.DataFrame:
    """A polars DataFrame from a path (CSV, TSV, Parquet, JSONL), polars, pandas or Arrow table.

    In a CSV or TSV file, ``id_columns`` are read as text first and become integers only when
    every value is a plain number without a leading zero, so ids such as ``"0042"`` stay distinct
    from ``"42"``; ``text_columns`` are always read as text."""
    if isinstance(source, pl.DataFrame):
        frame = source
    elif isinstance(source, pl.LazyFrame):
        frame = source.collect()
    elif isinstance(source, (str, Path)):
        frame = _read_file(Path(source), what, [c for c in id_columns if c], [c for c in text_columns if c])
    elif type(source).__module__.startswith("pandas"):
        frame = _from_pandas(source, what)
    elif type(source).__module__.startswith("pyarrow"):
        frame = pl.from_arrow(source)  # type: ignore[assignment]
    else:
        raise DataError(
            f"cannot read {what} from a {type(source).__name__}: pass a file path (CSV, Parquet, JSONL), "
            "a polars or pandas DataFrame, or a pyarrow Table")
    if frame.height == 0:
        raise DataError(f"{what} is empty: it has no rows")
    return frame


def _from_pandas(source: Any, what: str) -> pl.DataFrame:
    try:
        return pl.from_pandas(source)
    except Exception as exc:  # pyarrow refuses e.g. an object column holding both ints and strings
        kinds = {str(col): "/".join(sorted({type(v).__name__ for v in source[col].dropna()}))
                 for col in source.columns if source[col].dtype == object}
        mixed = [f"{col!r} ({types})" for col, types in kinds.items() if "/" in types]
        if not mixed:
            raise DataError(f"cannot read {what} from a pandas DataFrame: {exc}") from exc
        col = next(c for c, types in kinds.items() if "/" in types)
        raise DataError(
            f"cannot read {what} from a pandas DataFrame: column(s) {', '.join(mixed)} mix value types, as "
            "pandas.read_csv leaves them when it guesses types chunk by chunk. Convert them first, e.g. "
            f"df[{col!r}] = df[{col!r}].astype(str), or read the file with dtype=str") from exc


def _read_file(path: Path, what: str, id_columns: Sequence[str] = (), text_columns: Sequence[str] = ()
               ) -> pl.DataFrame:
    if not path.exists():
        raise DataError(f"{what} file {str(path)!r} does not exist")
    gz = path.suffix.lower() == ".gz"  # log.csv.gz: polars decompresses it while reading
    kind = _READERS.get(Path(path.stem).suffix.lower() if gz else path.suffix.lower())
    if kind == "parquet" and gz:
        raise DataError(f"{what} file {str(path)!r}: a gzip-compressed Parquet file is not read; decompress it "
                        "first (gunzip): Parquet compresses its own pages")
    parts: list[Path] = []
    if path.is_dir():  # a folder of Parquet parts (as Spark writes them) is one log, whatever its name
        if (path / "manifest.json").is_file():
            raise DataError(f"{what}: {str(path)!r} is a saved discoverly artifact (it has a manifest.json), "
                            "not a data file")
        parts = _parquet_parts(path)
        if not parts:
            raise DataError(f"{what}: {str(path)!r} is a folder, not a data file, and holds no .parquet files; "
                            f"give a file ({', '.join(sorted(_READERS))}) or a folder of Parquet files")
        kind = "parquet"
    if kind is None:
        hint = _CONVERT.get(path.suffix.lower())
        raise DataError(f"cannot tell the format of {str(path)!r} from its extension; "
                        f"use one of {', '.join(sorted(_READERS))} (text formats may be gzip-compressed, "
                        f"e.g. .csv.gz)" + (f". {hint}" if hint else ""))
    try:
        blank = not parts and kind != "parquet" and _blank(path)  # polars: 'empty CSV', 'Cannot infer NDJSON types'
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile, a truncated .gz
        if not gz:
            raise
        raise DataError(f"cannot read {what} file {str(path)!r}: it is named .gz but is not a whole gzip file "
                        f"({exc})") from None
    if blank:
        raise DataError(f"{what} file {str(path)!r} is empty: it holds nothing but white space")
    try:
        with ExitStack() as stack:
            source: Any = path
            if not path.is_dir() and not _utf8(str(path)):  # polars cannot open a name like caf\xe9.csv
                source = stack.enter_context(open(path, "rb"))
            if parts:
                if _utf8(str(path)):  # partition folders (day=2024-01-01/) become columns, as in Spark
                    return pl.read_parquet([str(p) for p in parts], hive_partitioning=True)
                return pl.concat([pl.read_parquet(stack.enter_context(open(p, "rb"))) for p in parts],
                                 how="vertical_relaxed")
            if kind == "parquet":
                return pl.read_parquet(source)
            if kind == "ndjson":
                with _open_bytes(path) as fh:
                    first = fh.read(64).lstrip()
                return pl.read_json(source) if first.startswith(b"[") else pl.read_ndjson(source)
            sep = _separator(path, "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ",")
            frame = pl.read_csv(source, separator=sep, infer_schema_length=10_000, try_parse_dates=False,
                                schema_overrides={c: pl.String for c in (*id_columns, *text_columns)})
            return _numeric_ids(frame, id_columns)
    except DataError:
        raise
    except Exception as exc:  # polars raises many kinds; report them as one data error
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            raise DataError(f"cannot read {what} file {str(path)!r}: it is not UTF-8 text ({exc}). Save it as "
                            "UTF-8 first, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv` or, in Excel, "
                            "'CSV UTF-8'") from exc
        raise DataError(f"cannot read {what} file {str(path)!r}: {exc}") from exc



def _open_bytes(path: Path) -> Any:
    """A binary file object of ``path``'s text, decompressed for a ``.gz`` name."""
    if path.suffix.lower() == ".gz":
        import gzip

        return gzip.open(path, "rb")
    return open(path, "rb")


def _blank(path: Path) -> bool:
    """Whether a text file holds nothing but white space (read only as far as the first other byte)."""
    with _open_bytes(path) as fh:
        while chunk := fh.read(1 << 16):
            if chunk.strip():
                return False
    return True

def _parquet_parts(folder: Path) -> list[Path]:
    """The Parquet files of a folder and its subfolders, leaving out hidden and ``_`` entries (Spark's
    ``.part-….crc`` checksums, ``_SUCCESS``, ``_temporary/``)."""
    return [p for p in sorted(folder.rglob("*.parquet"))
            if not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)]


def _utf8(text: str) -> bool:
    """Whether a path is valid UTF-8 (a name of another encoding holds surrogates once decoded)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_OTHER_SEPARATORS = (";", "\t", "|", ",")


def _separator(path: Path, default: str) -> str:
    """``default``, unless the header line lacks it and holds another common separator (e.g. the
    semicolons of a CSV saved by a spreadsheet in a locale with decimal commas)."""
    with _open_bytes(path) as fh:
        header = fh.readline(65_536).decode("utf-8", errors="replace").lstrip("\ufeff")
    if default in header:
        return default
    counts = {sep: header.count(sep) for sep in _OTHER_SEPARATORS if sep != default}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else default


_LEADING_ZERO = r"^\s*[+-]?0\d"


def _numeric_ids(frame: pl.DataFrame, id_columns: Sequence[str]) -> pl.DataFrame:
    """Id columns read as text become Int64 (or Float64, checked later) when every value is a
    number without a leading zero, as polars would have inferred them; otherwise they stay text."""
    for col in id_columns:
        if col not in frame.columns or frame[col].dtype != pl.String:
            continue
        text = frame[col].str.strip_chars()
        if text.str.contains(_LEADING_ZERO).any():
            continue
        number = text.cast(pl.Int64, strict=False)
        if number.null_count() != frame[col].null_count():  # e.g. 17850.0 as pandas writes an int column
            number = text.cast(pl.Float64, strict=False)
            exact = (number.abs() < 2.0**53) & (number == number.floor())  # an integral float names one id
            if number.null_count() != frame[col].null_count() or not exact.fill_null(True).all():
                continue  # text ids, or ids past Int64 whose float would merge neighbours: kept as text
        frame = frame.with_columns(number.alias(col))
    return frame


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


SLASH_DATE = r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(.*)$"


def _slash_dates_as_iso(series: pl.Series, what: str) -> pl.Series:
    """A column of slash dates (``12/1/2010 8:26``) rewritten as ISO dates, or the column unchanged
    when not every value is one. Day-first and month-first are told apart by a first or second
    number above 12; a column where neither ever is cannot be read either way without guessing,
    so it is an error (polars would silently guess day-first from the first value)."""
    values = series.drop_nulls()
    if values.len() == 0 or not values.head(1).str.contains(SLASH_DATE).all():
        return series
    parts = series.str.extract_groups(SLASH_DATE)  # one pass: a value that is not a slash date gives nulls
    if parts.struct.field("1").null_count() != series.null_count():
        return series
    first, second = (parts.struct.field(f).cast(pl.Int32) for f in ("1", "2"))
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    example = repr(values[0])
    neither = (first > 12) & (second > 12)
    if neither.any():  # 13/13/2011: no date either way, not a mix of two orders
        raise DataError(f"{what}: the time column {series.name!r} holds {series.filter(neither)[0]!r}, which is "
                        "a date neither as DD/MM/YYYY nor as MM/DD/YYYY; fix or remove it")
    if day_first and month_first:
        examples = f"{series.filter(first > 12)[0]!r} and {series.filter(second > 12)[0]!r}"
        raise DataError(f"{what}: the time column {series.name!r} mixes day-first (DD/MM/YYYY) and month-first "
                        f"(MM/DD/YYYY) dates, e.g. {examples}; convert it to ISO dates (YYYY-MM-DD) first")
    if not day_first and not month_first and not (first == second).all():
        raise DataError(f"{what}: the time column {series.name!r} holds dates such as {example} where no day is "
                        "above 12, so DD/MM/YYYY and MM/DD/YYYY cannot be told apart; convert it to ISO dates "
                        "(YYYY-MM-DD) first")
    day, month = (first, second) if day_first or not month_first else (second, first)
    iso = pl.DataFrame({"y": parts.struct.field("3"), "m": month.cast(pl.String).str.zfill(2),
                        "d": day.cast(pl.String).str.zfill(2), "rest": parts.struct.field("4")})
    return iso.select(pl.format("{}-{}-{}{}", "y", "m", "d", "rest").alias(series.name)).to_series()


#: the epoch seconds of 0001-01-01 and 9999-12-31 23:59:59: the range every reader accepts
MIN_EPOCH, MAX_EPOCH = -62_135_596_800, 253_402_300_799
#: epoch numbers above these are nanoseconds, microseconds, milliseconds (1e11 s is the year 5138)
EPOCH_UNITS = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))
#: integer times that may be dates written as digits rather than epoch numbers: (name, strptime format, lowest,
#: highest, and for month, day, hour, minute, second: the digits' place value and the valid range of the two
#: digits). 20110101 as epoch seconds is 1970-08-21; 20110101120000 as milliseconds is the year 2607.
DIGIT_DATES = (
    ("YYYYMMDD", "%Y%m%d", 19000101, 21001231, ((100, 1, 12), (1, 1, 31))),
    ("YYYYMMDDhhmmss", "%Y%m%d%H%M%S", 19000101000000, 21001231235959,
     ((10**8, 1, 12), (10**6, 1, 31), (10**4, 0, 23), (100, 0, 59), (1, 0, 59))),
)


def digit_dates_warning(what: str, name: str, example: int, fmt: str, pattern: str) -> str:
    """The warning for an integer time column whose every value reads as a date written as digits."""
    seconds = next(example // int(u) for limit, u in (*EPOCH_UNITS, (0, 1)) if abs(example) > limit)
    as_epoch = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return (f"{what}: every value of the time column {name!r} looks like a date written as {fmt} digits (e.g. "
            f"{example}), but integers are read as epoch numbers: {example} is {as_epoch} UTC. If they are dates, "
            f"convert the column first, e.g. pl.col({name!r}).cast(pl.String).str.to_datetime({pattern!r})")


def _digit_dates(values: pl.Series) -> tuple[str, str] | None:
    """(name, format) of :data:`DIGIT_DATES` when every integer of ``values`` (non-empty) is such a date."""
    low, high = values.min(), values.max()
    for fmt, pattern, lowest, highest, places in DIGIT_DATES:
        if isinstance(low, int) and isinstance(high, int) and lowest <= low and high <= highest:
            valid = pl.lit(True)
            for place, lo, hi in places:
                valid &= (pl.col("v") // place % 100).is_between(lo, hi)
            if values.to_frame("v").select(valid.all()).item():
                return fmt, pattern
    return None


def parse_time_column(series: pl.Series, *, what: str) -> pl.Series:
    """Epoch seconds (Int64) from datetimes, dates, ISO strings or epoch numbers; clear error on failure."""
    name = series.name
    dtype = series.dtype
    if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
        out = series.dt.epoch("s")
    elif dtype == pl.Date:
        out = series.cast(pl.Datetime("us")).dt.epoch("s")
    elif dtype.is_numeric():
        out = series.cast(pl.Float64).fill_nan(None)  # NaN is a missing time (reported below)
        big = out.drop_nulls().abs().max()
        # milliseconds, microseconds or nanoseconds since the epoch (1e11 s is the year 5138)
        unit = next((u for limit, u in EPOCH_UNITS if big > limit), 1.0) if isinstance(big, (int, float)) else 1.0
        # whole seconds rounded down, as a datetime before 1970 is read (-1.5 s is -2 s); integers exactly: through
        # float64 1_300_000_000_999_999_999 ns would round up into the next second
        out = (series // int(unit)).cast(pl.Int64) if dtype.is_integer() else (out / unit).floor()
        if dtype.is_integer() and not series.null_count() and len(series):  # missing values are an error below
            digits = _digit_dates(series)
            if digits is not None:
                log.warning(digit_dates_warning(what, name, int(series[0]), *digits))
        outside = (out < MIN_EPOCH) | (out > MAX_EPOCH)
        if outside.any():
            bad = outside.arg_true()
            rows = ", ".join(str(i) for i in bad[:5].to_list())
            raise DataError(f"{what}: {len(bad):,} value(s) of the time column {name!r} are not times between the "
                            f"years 1 and 9999 (rows {rows}: {', '.join(repr(v) for v in series.gather(bad[:3]))}). "
                            "Numbers are read as seconds, milliseconds, microseconds or nanoseconds since 1970")
        out = out.cast(pl.Int64)
    elif dtype == pl.String:
        try:
            text = _slash_dates_as_iso(series, what)
            parsed = text.str.strip_chars().str.to_datetime(strict=False, time_unit="us")
        except pl.exceptions.PolarsError:  # no format fits the first values, e.g. epoch seconds as text
            parsed = pl.Series(name, [None] * len(series), dtype=pl.Datetime("us"))
        if parsed.null_count() > series.null_count():
            # maybe epoch seconds written as text
            as_num = series.str.strip_chars().cast(pl.Float64, strict=False)
            if as_num.null_count() == series.null_count():
                whole = series.str.strip_chars().cast(pl.Int64, strict=False)  # read exactly when all are integers
                exact = whole.null_count() == series.null_count()
                return parse_time_column((whole if exact else as_num).alias(name), what=what)
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
