"""Catalog: the items (products, movies, papers) with their descriptive columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from discoverly.data.frames import require_columns, to_polars
from discoverly.data.vocabulary import Vocabulary
from discoverly.errors import DataError, UnknownIdError

__all__ = ["Catalog", "read_catalog"]

#: canonical column names a catalogue may map its own columns to
CANONICAL = ("item", "title", "description", "category", "brand", "price")


class Catalog:
    """An item table keyed by external item id; canonical columns are renamed, extras kept.

    Canonical columns: ``item`` (required), ``title``, ``description``, ``category``, ``brand``,
    ``price``; every other column of the source is kept as it is.
    """

    __slots__ = ("_row", "table")

    def __init__(self, table: pl.DataFrame) -> None:
        if "item" not in table.columns:
            raise DataError("a catalogue needs an 'item' column")
        if table["item"].null_count():
            rows = ", ".join(str(i) for i in table["item"].is_null().arg_true()[:5].to_list())
            raise DataError(f"the catalogue has {table['item'].null_count():,} row(s) without an item id "
                            f"(rows {rows}); drop them or fill them in")
        if table["item"].is_duplicated().any():
            dup = table.filter(table["item"].is_duplicated())["item"].unique(maintain_order=True).head(3).to_list()
            raise DataError(f"the catalogue has duplicate item ids, e.g. {dup}; keep one row per item")
        self.table = table
        self._row = {k: i for i, k in enumerate(table["item"].to_list())}

    def __len__(self) -> int:
        return self.table.height

    def __contains__(self, item: object) -> bool:
        return item in self._row

    def __repr__(self) -> str:
        return f"Catalog({len(self):,} items, columns: {', '.join(self.table.columns)})"

    @property
    def columns(self) -> list[str]:
        return self.table.columns

    def row(self, item: Any) -> dict[str, Any]:
        """One item's row as a dict; :class:`UnknownIdError` if the item is not in the catalogue."""
        try:
            return self.table.row(self._row[item], named=True)
        except KeyError:
            raise UnknownIdError(f"unknown item {item!r}: not in the catalogue of {len(self):,} items") from None

    def titles(self, items: Any) -> list[str | None]:
        """The titles of the given external item ids (``None`` where unknown or untitled)."""
        col = "title" if "title" in self.table.columns else None
        out: list[str | None] = []
        for it in (items.tolist() if isinstance(items, np.ndarray) else items):
            r = self._row.get(it)
            out.append(None if r is None or col is None else self.table[col][r])
        return out

    def aligned(self, vocab: Vocabulary) -> pl.DataFrame:
        """The catalogue rows in the order of ``vocab`` (null rows for items it does not describe)."""
        ids = vocab.to_series().alias("item")
        return pl.DataFrame({"item": ids}).join(self.table.with_columns(pl.col("item").cast(ids.dtype)),
                                                on="item", how="left", maintain_order="left")


def read_catalog(source: Any, *, item: str = "item", hint: str | None = None, **columns: str) -> Catalog:
    """Read a catalogue; map source columns to canonical ones, e.g. ``title="Description"``.

    ``hint`` replaces the advice a missing column's error gives (a command names its own flags)."""
    frame = to_polars(source, what="the catalogue", id_columns=(item,))
    unknown = set(columns) - set(CANONICAL)
    if unknown:
        raise DataError(f"unknown catalogue roles {sorted(unknown)}; expected some of {CANONICAL[1:]}")
    require_columns(frame, {"item": item, **columns}, what="the catalogue",
                    hint=hint or "Name the columns with item=, title=, description=, category=, brand=, price= "
                                 "(e.g. read_catalog(path, item='sku', title='name')).")
    renames = {src: dst for dst, src in {"item": item, **columns}.items() if src != dst}
    # a column already named like a role that another column was mapped to (title="name" beside a
    # "title" column) is not that role: the explicit mapping wins, the other column is left out
    shadowed = [dst for dst in renames.values() if dst in frame.columns and dst not in renames]
    return Catalog(frame.drop(shadowed).rename(renames))
