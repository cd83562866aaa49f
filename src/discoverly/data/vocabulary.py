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
        try:
            return self._lookup[key]
        except KeyError:
            alt = _coerce(key)
            if alt is not None and alt in self._lookup:
                return self._lookup[alt]
            near = self._near(key)
            hint = f"; did you mean {near!r}?" if near is not None else ""
            raise UnknownIdError(
                f"unknown {self.name} {key!r}: not among the {len(self):,} {self.name}s of this data{hint}") from None

    def _near(self, key: Any) -> Any:
        """A known id that differs from ``key`` only in case or surrounding spaces (``85123a`` for
        ``85123A``), else ``None``: a few dictionary lookups, cheap enough for every unknown id."""
        if not isinstance(key, str):
            return None
        for variant in (key.strip(), key.strip().upper(), key.strip().lower()):
            if variant != key and variant in self._lookup:
                return variant
        return None

    def indices(self, keys: Iterable[Any], *, missing: int | None = None) -> np.ndarray:
        """Indices of many ids; unknown ids raise, or give ``missing`` (e.g. ``-1``) when set."""
        out = []
        for key in keys:
            try:
                out.append(self.index(key))
            except UnknownIdError:
                if missing is None:
                    raise
                out.append(missing)
        return np.asarray(out, dtype=np.int64)

    def id(self, index: int) -> Any:
        """The external id at ``index``."""
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
