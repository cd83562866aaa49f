"""Where a command's events come from: ``--dataset NAME`` or ``--interactions FILE`` with a column
mapping. Shared by ``discoverly fit``, ``evaluate`` and ``demo``; imports only light modules."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from discoverly.errors import ConfigError, DataError

if TYPE_CHECKING:
    from discoverly.data.catalog import Catalog
    from discoverly.data.interactions import Interactions

__all__ = ["CATALOG_HINT", "LoadedInput", "load_input", "show_progress", "split_list"]

#: what a catalogue's missing-column error advises on the command line (fit, evaluate, data report)
CATALOG_HINT = "Name its columns with --catalog-item and --catalog-title."


@dataclass
class LoadedInput:
    """A named log, its catalogue when there is one, and what loading did (for reports)."""

    name: str
    interactions: Interactions
    catalog: Catalog | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False


def show_progress() -> bool:
    """Progress bars are on when the command runs in a terminal (they draw on stderr)."""
    return sys.stderr.isatty()


def split_list(value: str | None, what: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; a clear error when nothing is left."""
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    if not items:
        raise ConfigError(f"{what} is empty; give a comma-separated list")
    return items


def load_input(
    *,
    dataset: str | None,
    interactions: Path | None,
    user: str = "user",
    item: str = "item",
    time: str = "timestamp",
    quantity: str | None = None,
    drop_negative: bool = False,
    catalog: Path | None = None,
    catalog_title: str | None = None,
    catalog_item: str | None = None,
    data_dir: Path | None = None,
    download: bool = False,
    progress: bool = False,
    catalog_hint: str = CATALOG_HINT,
) -> LoadedInput:
    """Load exactly one of a built-in data set or a log file (CSV, TSV, Parquet, JSONL);
    ``catalog_hint`` is the advice for a catalogue column that is missing (the command's flags)."""
    if (dataset is None) == (interactions is None):
        raise ConfigError("give exactly one of --dataset NAME (e.g. online-retail) or --interactions FILE "
                          "(with --user/--item/--time naming its columns)")
    if dataset is not None:
        from discoverly.data.datasets import load_dataset

        ds = load_dataset(dataset, data_dir, progress=progress, download=download)
        return LoadedInput(ds.name, ds.interactions, ds.catalog, dict(ds.notes), ds.synthetic)
    assert interactions is not None
    if not interactions.exists():
        raise DataError(f"the interaction log {str(interactions)!r} does not exist; give the path of a CSV, TSV, "
                        "Parquet or JSONL file")
    from discoverly.data.catalog import read_catalog
    from discoverly.data.read import read_interactions

    log = read_interactions(interactions, user=user, item=item, time=time, quantity=quantity,
                            negative="drop" if drop_negative else "error")
    notes: dict[str, Any] = {"files": [str(interactions)], "events": len(log), "users": log.n_users,
                             "items": log.n_items}
    cat = None
    if catalog is not None:
        roles = {"title": catalog_title} if catalog_title else {}
        cat = read_catalog(catalog, item=catalog_item or item, hint=catalog_hint, **roles)
        notes["catalog"] = str(catalog)
    return LoadedInput(interactions.stem, log, cat, notes)
