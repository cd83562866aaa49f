"""Vocabulary: external ids (strings or integers) <-> contiguous integer indices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

from discoverly.errors import DataError, UnknownIdError

__all__ = ["Vocabulary"]


class Vocabulary:
    """An immutable, ordered mapping of external ids to indices ``0 .. len-1``.

    Ids keep their type (``str`` or ``int``); lookups of unknown ids raise
    :class:`~discoverly.errors.UnknownIdError` or, with ``missing=-1``, give ``-1``.

    >>> v = Vocabulary(["b", "a", "c"])
    >>> v.index("a"), v.id(2), len(v)
    (1, 'c', 3)
    """

    __slots__ = ("_ids", "_lookup", "name")

    def __init__(self, ids: Iterable[Any] | np.ndarray | pl.Series, *, name: str = "id") -> None:
        if isinstance(ids, pl.Series):
            arr = ids.to_numpy()
        else:
            arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
        if arr.dtype.kind == "U" or arr.dtype.kind == "O":
            arr = arr.astype(object)
        self._ids: np.ndarray = arr
        self.name = name
        self._lookup: dict[Any, int] = {}
        for i, key in enumerate(arr.tolist()):
            if key in self._lookup:
                raise DataError(f"{name} vocabulary has the id {key!r} twice; ids must be unique")
            self._lookup[key] = i

    @classmethod
    def from_values(cls, values: pl.Series | np.ndarray | Sequence[Any], *, name: str = "id") -> Vocabulary:
        """The sorted unique values of ``values`` as a vocabulary."""
        series = values if isinstance(values, pl.Series) else pl.Series(values)
        return cls(series.unique().sort(), name=name)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._lookup

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._ids.tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and len(self) == len(other) and bool(np.all(self._ids == other._ids))

    def __hash__(self) -> int:
        return hash((len(self), tuple(self._ids[:8].tolist())))

    def __repr__(self) -> str:
        head = ", ".join(repr(x) for x in self._ids[:3].tolist())
        more = ", …" if len(self) > 3 else ""
        return f"Vocabulary({self.name}: [{head}{more}], n={len(self)})"

    @property
    def ids(self) -> np.ndarray:
        """The external ids in index order (read-only view)."""
        view = self._ids.view()
        view.flags.writeable = False
        return view

    def index(self, key: Any) -> int:
        """The index of one external id; :class:`UnknownIdError` when unknown."""
        found = self._find(key)
        if found < 0:
            near = self._near(key)
            hint = f"; did you mean {near!r}?" if near is not None else ""
            raise UnknownIdError(
                f"unknown {self.name} {key!r}: not among the {len(self):,} {self.name}s of this data{hint}")
        return found

    def _find(self, key: Any) -> int:
        """The index of ``key`` (or of its string/int twin, see :func:`_coerce`), ``-1`` when unknown."""
        found = self._lookup.get(key)
        if found is None:
            alt = _coerce(key)
            found = self._lookup.get(alt, -1) if alt is not None else -1
        return found

    def _near(self, key: Any) -> Any:
        """A known id that differs from ``key`` only in case, surrounding spaces or leading zeros
        (``85123a`` for ``85123A``, ``42`` for ``0042``), else ``None``; only for error messages."""
        text = str(key).strip() if isinstance(key, (str, int, np.integer)) else None
        if text is None:
            return None
        variants = [text, text.upper(), text.lower()]
        if text.isdigit():
            variants += [text.lstrip("0") or "0"] + [text.zfill(w) for w in range(len(text) + 1, 13)]
        for variant in variants:
            if variant != key and self._find(variant) >= 0:
                return variant
        return None

    def indices(self, keys: Iterable[Any], *, missing: int | None = None) -> np.ndarray:
        """Indices of many ids; unknown ids raise, or give ``missing`` (e.g. ``-1``) when set."""
        if missing is None:
            return np.asarray([self.index(key) for key in keys], dtype=np.int64)
        out = np.asarray([self._find(key) for key in keys], dtype=np.int64)
        out[out < 0] = missing
        return out

    def id(self, index: int) -> Any:
        """The external id at ``index`` (0 to ``len - 1``; ``-1``, the "no item" of padded results,
        is an error here, not the last id)."""
        if not 0 <= index < len(self._ids):
            raise IndexError(f"{self.name} index {index} is out of range: this vocabulary has {len(self._ids):,} "
                             f"ids, indices 0 to {len(self._ids) - 1:,}")
        return self._ids[index].item() if hasattr(self._ids[index], "item") else self._ids[index]

    def ids_of(self, indices: np.ndarray) -> np.ndarray:
        """External ids for an array of indices (any shape)."""
        return self._ids[np.asarray(indices)]

    def to_series(self) -> pl.Series:
        return pl.Series(self.name, self._ids.tolist())


def _coerce(key: Any) -> Any:
    """A string id for an int key and vice versa, so ``'17850'`` finds ``17850``."""
    if isinstance(key, str):
        try:
            return int(key)
        except ValueError:
            return None
    if isinstance(key, (int, np.integer)):
        return str(int(key))
    return None
