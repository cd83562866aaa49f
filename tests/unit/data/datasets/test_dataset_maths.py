"""Dataset, DatasetSpec and Download: the repr, the synthetic flag, titles without a catalogue, and
the spec helpers, on objects built by hand."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from discoverly.data import Interactions
from discoverly.data.catalog import Catalog
from discoverly.data.datasets import DATASETS, Dataset, DatasetSpec, Download


def _spec(files: tuple[str, ...]) -> DatasetSpec:
    return DatasetSpec(name="x", title="X", files=files, loader=lambda paths, **kw: None)  # type: ignore[arg-type,return-value]


def test_repr_names_the_data_set_its_events_and_its_catalogue(tiny_log: Interactions) -> None:
    catalog = Catalog(pl.DataFrame({"item": list(range(1234)), "title": [f"t{i}" for i in range(1234)]}))
    events = repr(tiny_log)
    assert repr(Dataset("shop", tiny_log, catalog)) == f"Dataset('shop': {events}, catalog of 1,234 items)"
    assert repr(Dataset("shop", tiny_log)) == f"Dataset('shop': {events})"
    generated = Dataset("gen", tiny_log, None, {"synthetic": True})
    assert repr(generated) == f"Dataset('gen' [synthetic]: {events})"


@pytest.mark.parametrize(
    "notes,synthetic",
    [
        ({}, False),
        ({"synthetic": True}, True),
        ({"synthetic": False}, False),
        ({"synthetic": 0}, False),
        ({"source": "synthetic"}, False),
    ],
)
def test_synthetic_is_the_notes_flag_as_a_bool(
    tiny_log: Interactions, notes: dict[str, object], synthetic: bool
) -> None:
    flag = Dataset("d", tiny_log, notes=notes).synthetic
    assert flag is synthetic


def test_titles_without_a_catalogue_are_none_and_with_one_come_from_it(tiny_log: Interactions) -> None:
    assert Dataset("d", tiny_log).titles([3, 1, 99]) == [None, None, None]
    catalog = Catalog(pl.DataFrame({"item": [1, 3], "title": ["one", "three"]}))
    assert Dataset("d", tiny_log, catalog).titles([3, 1, 99]) == ["three", "one", None]


def test_a_new_dataset_has_empty_notes_of_its_own(tiny_log: Interactions) -> None:
    a, b = Dataset("a", tiny_log), Dataset("b", tiny_log)
    assert a.notes == {} and a.users is None and a.catalog is None
    a.notes["x"] = 1
    assert b.notes == {}


def test_describe_files_and_paths_in(tmp_path: Path) -> None:
    two = _spec(("a/b.parquet", "a/c.parquet"))
    assert two.describe_files() == "a/b.parquet, a/c.parquet"
    assert _spec(()).describe_files() == "(generated, no files)"
    assert two.paths_in(tmp_path) == {
        "a/b.parquet": tmp_path / "a" / "b.parquet",
        "a/c.parquet": tmp_path / "a" / "c.parquet",
    }
    assert DATASETS["synthetic-store"].describe_files() == "(generated, no files)"
    assert DATASETS["movielens-100k"].describe_files() == "movielens/ml-100k/u.data, movielens/ml-100k/u.item"


def test_spec_and_download_defaults() -> None:
    spec = _spec(("f",))
    assert (spec.description, spec.license, spec.homepage, spec.download, spec.options) == ("", "", "", None, ())
    download = Download(url="http://x/a.zip", checksum="md5:00", target="a")
    assert (download.member_root, download.size) == ("", None)


def test_the_built_in_specs() -> None:
    assert {name: spec.options for name, spec in DATASETS.items()} == {
        "online-retail": (),
        "online-retail-2011": (),
        "complete-journey": ("exclude_departments",),
        "movielens-100k": ("min_rating",),
        "synthetic-store": ("n_customers", "n_items", "days", "rng", "start"),
    }
    assert [name for name, spec in DATASETS.items() if spec.download is not None] == ["movielens-100k"]
    ml = DATASETS["movielens-100k"].download
    # the archive's ml-100k/ folder becomes the folder the spec's files are in
    assert ml is not None and (ml.target, ml.member_root) == ("movielens/ml-100k", "ml-100k")
    assert all(f.startswith(ml.target + "/") for f in DATASETS["movielens-100k"].files)
    assert DATASETS["online-retail"].files == (
        "online_retail/online_retail.parquet",
        "online_retail/online_retail_II_2009-2010.parquet",
    )
    assert DATASETS["complete-journey"].files == (
        "completejourney/transactions.parquet",
        "completejourney/products.parquet",
    )
