"""read_interactions: any log (file or data frame) with a column mapping -> Interactions."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from discoverly.data.frames import parse_time_column, require_columns, to_polars
from discoverly.data.interactions import Interactions
from discoverly.data.vocabulary import Vocabulary
from discoverly.errors import DataError

__all__ = ["read_interactions", "interactions_from_polars"]


def read_interactions(
    source: Any,
    *,
    user: str = "user",
    item: str = "item",
    time: str = "timestamp",
    quantity: str | None = None,
    negative: str = "error",
) -> Interactions:
    """Read a log of events into :class:`Interactions`.

    ``source`` is a path (CSV, TSV, Parquet, JSONL), a polars/pandas DataFrame or an Arrow table;
    ``user``, ``item``, ``time`` and optionally ``quantity`` name its columns. Times may be
    datetimes, ISO strings or epoch seconds. Negative quantities (returns) raise a
    :class:`~discoverly.errors.DataError` unless ``negative="drop"``.

    >>> import polars as pl
    >>> log = pl.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "x"],
    ...                     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"]})
    >>> read_interactions(log)
    Interactions(3 events, 2 users, 2 items, 2024-01-01..2024-01-03)
    """
    frame = to_polars(source, what="the interaction log", id_columns=(user, item))
    require_columns(frame, {"user": user, "item": item, "time": time, "quantity": quantity},
                    what="the interaction log")
    return interactions_from_polars(frame, user=user, item=item, time=time, quantity=quantity, negative=negative)


def interactions_from_polars(
    frame: pl.DataFrame, *, user: str, item: str, time: str, quantity: str | None = None,
    negative: str = "error",
) -> Interactions:
    what = "the interaction log"
    if negative not in ("error", "drop"):
        raise DataError(f"negative must be 'error' or 'drop', got {negative!r}")
    for role, col in (("user", user), ("item", item)):
        if frame[col].dtype.is_float():  # a NaN id is a missing one (polars holds NaN equal to itself)
            frame = frame.with_columns(pl.col(col).fill_nan(None))
        nulls = frame[col].null_count()
        if nulls:
            rows = ", ".join(str(i) for i in frame[col].is_null().arg_true()[:5].to_list())
            raise DataError(f"{what}: the {role} column {col!r} has {nulls:,} missing value(s) (rows {rows}); "
                            "drop those rows first")
        if frame[col].dtype not in (pl.String, pl.Categorical) and not frame[col].dtype.is_integer():
            whole_floats = frame[col].dtype.is_float() and (frame[col].is_finite()
                                                            & (frame[col] == frame[col].round(0))).all()
            # decimal(38,0) ids, as databases and Spark write them, are whole numbers too
            whole_decimals = frame[col].dtype.is_decimal() and (frame[col] == frame[col].round(0)).all()
            if whole_floats or whole_decimals:
                whole = frame[col].cast(pl.Int64, strict=False)
                if whole.null_count():
                    raise DataError(f"{what}: the {role} column {col!r} has ids beyond the 64-bit integer range; "
                                    "cast them to strings first")
                frame = frame.with_columns(whole.alias(col))
            else:
                raise DataError(f"{what}: the {role} column {col!r} has type {frame[col].dtype}; "
                                "ids must be strings or integers")
    ts = parse_time_column(frame[time], what=what)
    cols = {"u": frame[user], "i": frame[item], "t": ts}
    if quantity is not None:
        q = frame[quantity]
        if not q.dtype.is_numeric():
            q = q.cast(pl.Float64, strict=False)
            if q.null_count() > frame[quantity].null_count():
                raise DataError(f"{what}: the quantity column {quantity!r} is not numeric")
        if q.dtype.is_float():
            q = q.fill_nan(None)
        if q.null_count():
            rows = ", ".join(str(i) for i in q.is_null().arg_true()[:5].to_list())
            raise DataError(f"{what}: the quantity column {quantity!r} has {q.null_count():,} missing value(s) "
                            f"(rows {rows}); drop those rows or fill them in")
        if q.dtype.is_float() and q.is_infinite().any():
            rows = ", ".join(str(i) for i in q.is_infinite().arg_true()[:5].to_list())
            raise DataError(f"{what}: the quantity column {quantity!r} has infinite value(s) (rows {rows}); "
                            "drop those rows or fix them")
        neg = (q < 0)
        if neg.any() and negative == "error":
            rows = ", ".join(str(i) for i in neg.arg_true()[:5].to_list())
            raise DataError(f"{what}: {int(neg.sum()):,} row(s) have a negative {quantity!r} (rows {rows}), "
                            "e.g. returns or cancellations. Remove them, or pass negative='drop' "
                            "(CLI: --drop-negative) to skip them")
        cols["q"] = q.cast(pl.Float32)
    table = pl.DataFrame(cols)
    if quantity is not None and negative == "drop":
        table = table.filter(pl.col("q") >= 0)
        if table.height == 0:
            raise DataError(f"{what}: no rows are left after dropping negative quantities")
    users = Vocabulary.from_values(table["u"], name="user")
    items = Vocabulary.from_values(table["i"], name="item")
    u_idx = _encode(table["u"], users)
    i_idx = _encode(table["i"], items)
    return Interactions(users, items, u_idx, i_idx, table["t"].to_numpy(),
                        table["q"].to_numpy() if "q" in table.columns else None)


def _encode(values: pl.Series, vocab: Vocabulary) -> np.ndarray:
    """Vectorised id -> index via a join against the (sorted) vocabulary."""
    ids = vocab.to_series().alias("id")
    lut = pl.DataFrame({"id": ids, "idx": np.arange(len(vocab), dtype=np.int32)})
    joined = pl.DataFrame({"id": values.cast(ids.dtype)}).join(lut, on="id", how="left", maintain_order="left")
    return joined["idx"].to_numpy()
