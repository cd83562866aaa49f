"""Dataset: a loaded data set (events, catalogue, user attributes) and what cleaning did to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.data.interactions import Interactions

__all__ = ["Dataset", "DatasetSpec", "Download"]


@dataclass(frozen=True)
class Dataset:
    """A data set ready for modelling.

    ``interactions`` holds the cleaned events, ``catalog`` the items (or ``None``), ``users`` a
    table of user attributes keyed by a ``user`` column (or ``None``), and ``notes`` records what
    the loader did: the source files, rows read, and every drop with its count, in the order the
    steps ran (each count is of the rows left by the previous step).

    >>> from discoverly.data.synthetic import synthetic_store
    >>> ds = synthetic_store(n_customers=50, n_items=40, days=60, rng=0)
    >>> ds.name, ds.synthetic
    ('synthetic-store', True)
    """

    name: str
    interactions: Interactions
    catalog: Catalog | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    users: pl.DataFrame | None = None

    @property
    def synthetic(self) -> bool:
        """True when the events were generated, not read from a real log."""
        return bool(self.notes.get("synthetic", False))

    def titles(self, items: Any) -> list[str | None]:
        """Titles of external item ids (``None`` where there is no catalogue or no title)."""
        if self.catalog is None:
            return [None for _ in items]
        return self.catalog.titles(items)

    def __repr__(self) -> str:
        label = " [synthetic]" if self.synthetic else ""
        cat = f", catalog of {len(self.catalog):,} items" if self.catalog is not None else ""
        return f"Dataset({self.name!r}{label}: {self.interactions!r}{cat})"


@dataclass(frozen=True)
class Download:
    """Where a data set can be fetched from, with the checksum its publisher gives for it.

    ``checksum`` is ``"md5:<hex>"`` or ``"sha256:<hex>"``. The archive (a zip) is extracted, its
    ``member_root`` folder becoming ``target`` inside the cache directory.
    """

    url: str
    checksum: str
    target: str
    member_root: str = ""
    size: int | None = None


#: a loader receives the located files (by their relative name in the spec) and options
Loader = Callable[..., Dataset]


@dataclass(frozen=True)
class DatasetSpec:
    """A built-in data set: its files (relative to the data folder), loader, and where to get it."""

    name: str
    title: str
    files: tuple[str, ...]
    loader: Loader
    description: str = ""
    license: str = ""
    homepage: str = ""
    download: Download | None = None
    options: tuple[str, ...] = ()

    def describe_files(self) -> str:
        return ", ".join(self.files) if self.files else "(generated, no files)"

    def paths_in(self, root: Path) -> dict[str, Path]:
        return {rel: root / rel for rel in self.files}
