"""The built-in data sets by name, and :func:`load_dataset`."""

from __future__ import annotations

import difflib
import logging
import os
from pathlib import Path
from typing import Any

from discoverly.data.datasets import complete_journey, movielens, online_retail
from discoverly.data.datasets.dataset import Dataset, DatasetSpec
from discoverly.data.datasets.download import fetch
from discoverly.data.datasets.locate import default_cache_dir, find_files, locate, search_roots
from discoverly.errors import ConfigError, DatasetNotFoundError

__all__ = ["DATASETS", "load_dataset", "dataset_spec", "find_dataset", "did_you_mean"]

logger = logging.getLogger(__name__)


def _load_synthetic(paths: dict[str, Path], **options: Any) -> Dataset:
    from discoverly.data.synthetic import synthetic_store

    return synthetic_store(**options)


_UCI_HOWTO = ("The UCI files are Excel workbooks without a published checksum, so discoverly does not download "
              "them: get them from {page}, save each sheet as Parquet with the original column names, and put "
              "the files in <data dir>/online_retail/")

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (
    DatasetSpec(
        name="online-retail",
        title="Online Retail I + II (2009-12 .. 2011-12, combined)",
        files=(online_retail.FILE_2010_2011, online_retail.FILE_2009_2010),
        loader=lambda paths, **kw: online_retail.load_online_retail(paths, combined=True, **kw),
        description="A UK online gift retailer's invoice lines; both UCI files, deduplicated over their overlap.",
        license="CC BY 4.0",
        homepage="https://archive.ics.uci.edu/dataset/502/online+retail+ii",
    ),
    DatasetSpec(
        name="online-retail-2011",
        title="Online Retail (2010-12 .. 2011-12)",
        files=(online_retail.FILE_2010_2011,),
        loader=lambda paths, **kw: online_retail.load_online_retail(paths, combined=False, **kw),
        description="The original UCI Online Retail file alone.",
        license="CC BY 4.0",
        homepage="https://archive.ics.uci.edu/dataset/352/online+retail",
    ),
    DatasetSpec(
        name="complete-journey",
        title="The Complete Journey (84.51°, 2017)",
        files=(complete_journey.TRANSACTIONS, complete_journey.PRODUCTS),
        loader=complete_journey.load_complete_journey,
        description="Grocery purchases of 2,469 households with a product catalogue and demographics.",
        license="educational use",
        homepage="https://www.8451.com/area51",
        options=("exclude_departments",),
    ),
    DatasetSpec(
        name="movielens-100k",
        title="MovieLens 100K",
        files=(movielens.RATINGS, movielens.MOVIES),
        loader=movielens.load_movielens_100k,
        description="100,000 movie ratings by 943 users; the rating is the event's quantity.",
        license="MovieLens research licence (no redistribution)",
        homepage="https://grouplens.org/datasets/movielens/100k/",
        download=movielens.DOWNLOAD,
        options=("min_rating",),
    ),
    DatasetSpec(
        name="synthetic-store",
        title="Synthetic store (generated)",
        files=(),
        loader=_load_synthetic,
        description="A generated shop: Zipf popularity, heavy buyers, complements, seasonality, new items.",
        license="generated",
        options=("n_customers", "n_items", "days", "rng", "start"),
    ),
)}

_ALIASES = {"ml-100k": "movielens-100k", "movielens": "movielens-100k", "completejourney": "complete-journey",
            "online-retail-ii": "online-retail", "synthetic": "synthetic-store"}


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of a built-in data set; :class:`ConfigError` naming the choices otherwise."""
    key = _ALIASES.get(_key(name), _key(name))
    if key in DATASETS:
        return DATASETS[key]
    raise ConfigError(f"unknown data set {name!r}; the built-in data sets are {', '.join(DATASETS)}."
                      f"{did_you_mean(name)} To read your own log use read_interactions(path, user=, item=, time=)")


def did_you_mean(name: str) -> str:
    """`` Did you mean 'online-retail'?`` naming the (at most two) built-in data sets nearest to an
    unknown ``name``, aliases included; empty when none is near."""
    close = difflib.get_close_matches(_key(name), list(DATASETS) + list(_ALIASES), n=4, cutoff=0.5)
    names = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))[:2]  # an alias and its data set: once
    return f" Did you mean {' or '.join(map(repr, names))}?" if names else ""


def find_dataset(name: str, data_dir: str | os.PathLike[str] | None = None, *,
                 cache_dir: str | os.PathLike[str] | None = None) -> dict[str, Path] | None:
    """The located files of a data set, or ``None`` when they are not found (never downloads)."""
    spec = dataset_spec(name)
    if not spec.files:
        return {}
    for root, _origin in search_roots(data_dir, cache_dir):
        found = find_files(spec.files, root)
        if found is not None:
            return found
    return None


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = False,
    download: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Dataset:
    """Load a built-in data set by name: ``online-retail``, ``online-retail-2011``, ``complete-journey``,
    ``movielens-100k`` or ``synthetic-store``.

    Files are looked up in ``data_dir`` when given, else in ``$DISCOVERLY_DATA_DIR`` and then the
    download cache. With ``download=True`` a data set that has a public archive with a published
    checksum (MovieLens 100K) is downloaded into the cache when absent. ``options`` go to the
    loader (e.g. ``min_rating=4`` for MovieLens, ``exclude_departments=()`` for Complete Journey,
    ``n_customers=``/``rng=`` for the synthetic store).

    >>> ds = load_dataset("synthetic-store", n_customers=30, n_items=20, days=30, rng=1)
    >>> ds.synthetic, len(ds.interactions) > 0
    (True, True)
    """
    spec = dataset_spec(name)
    unknown = set(options) - set(spec.options)
    if unknown:
        allowed = ", ".join(spec.options) or "none"
        raise ConfigError(f"unknown option(s) {sorted(unknown)} for data set {spec.name!r}; it accepts: {allowed}")
    if not spec.files:
        return spec.loader({}, **options)
    how_to_get = ""
    if spec.download is not None:
        how_to_get = (f"Or allow the download from {spec.download.url} (load_dataset(..., download=True); "
                      "CLI: --download)")
    elif spec.name.startswith("online-retail"):
        how_to_get = _UCI_HOWTO.format(page=spec.homepage)
    elif spec.homepage:
        how_to_get = f"The data set is published at {spec.homepage}"
    try:
        paths = locate(spec.name, spec.files, data_dir, cache_dir=cache_dir, how_to_get=how_to_get)
    except DatasetNotFoundError:
        if not (download and spec.download is not None):
            raise
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        if not (cache / spec.download.target).is_dir():  # fetch downloads nothing into a folder that is there
            logger.warning("%s not found locally; downloading %s into %s", spec.name, spec.download.url, cache)
        folder = fetch(spec.download, cache, progress=progress)
        try:
            paths = locate(spec.name, spec.files, cache)
        except DatasetNotFoundError:  # fetch keeps a folder that is there: an incomplete one is not re-downloaded
            raise DatasetNotFoundError(
                f"data set {spec.name!r}: the download cache folder {folder} lacks some of the file(s) "
                f"{', '.join(spec.files)}; delete that folder and load again with download=True") from None
    logger.info("loading %s from %s", spec.name, ", ".join(str(p) for p in paths.values()))
    return spec.loader(paths, **options)



