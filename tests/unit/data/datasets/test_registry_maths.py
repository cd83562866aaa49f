"""load_dataset and locate beyond the happy path: the suggestion for an unknown name, the cache
folder argument, the download path (with a stand-in for the network), and the log lines."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from discoverly.data.datasets import CACHE_DIR_ENV, DATA_DIR_ENV, DATASETS, Download, load_dataset, locate, registry
from discoverly.data.datasets.registry import did_you_mean
from discoverly.errors import DatasetNotFoundError

FILES = ("movielens/ml-100k/u.data", "movielens/ml-100k/u.item")
_U_DATA = "1\t1\t5\t881250949\n2\t1\t3\t881250950\n"
_U_ITEM = "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"


def _movielens(root: Path) -> Path:
    folder = root / "movielens" / "ml-100k"
    folder.mkdir(parents=True)
    (folder / "u.data").write_text(_U_DATA)
    (folder / "u.item").write_text(_U_ITEM)
    return folder


@pytest.mark.parametrize(
    "name,suggestion",
    [
        ("store", " Did you mean 'synthetic-store'?"),  # near enough at a ratio of 0.5, not at difflib's 0.6
        ("retail", " Did you mean 'online-retail' or 'online-retail-2011'?"),
        ("online-store", " Did you mean 'online-retail' or 'online-retail-2011'?"),  # a third is near: two named
        ("movie-store", " Did you mean 'movielens-100k' or 'synthetic-store'?"),
        ("MOVIELENS_1M", " Did you mean 'movielens-100k'?"),  # an alias and its data set: named once
    ],
)
def test_did_you_mean_names_at_most_two_data_sets(name: str, suggestion: str) -> None:
    assert did_you_mean(name) == suggestion


def test_the_cache_dir_argument_is_searched_after_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _movielens(tmp_path / "mycache")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "default-cache"))
    ds = load_dataset("movielens-100k", cache_dir=tmp_path / "mycache")
    assert ds.notes["files"][:2] == [str(folder / "u.data"), str(folder / "u.item")]
    assert locate("movielens-100k", FILES, cache_dir=tmp_path / "mycache") == {
        rel: tmp_path / "mycache" / rel for rel in FILES
    }
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("movielens-100k")  # the default cache holds nothing
    assert f"{tmp_path / 'default-cache'} (the download cache, which does not exist)" in str(err.value)


def test_a_data_set_without_a_homepage_or_download_adds_nothing_to_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = dataclasses.replace(DATASETS["complete-journey"], name="bare", homepage="", options=())
    monkeypatch.setitem(registry.DATASETS, "bare", spec)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("bare", tmp_path / "empty")
    assert str(err.value).endswith(
        f"looked in {tmp_path / 'empty'} (the data_dir argument). To fix: set "
        f"{DATA_DIR_ENV} to the folder that holds completejourney/, or pass data_dir= "
        "(CLI: --data-dir)"
    )


class _FakeFetch:
    """Stands in for the network: records its calls and writes the archive's files, or nothing."""

    def __init__(self, writes: bool = True) -> None:
        self.calls: list[tuple[Download, Path, dict[str, Any]]] = []
        self.writes = writes

    def __call__(self, spec: Download, cache: Path, **kwargs: Any) -> Path:
        self.calls.append((spec, cache, kwargs))
        if self.writes:
            _movielens(Path(cache))
        return Path(cache) / spec.target


def test_download_goes_into_the_default_cache_and_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = _FakeFetch()
    monkeypatch.setattr(registry, "fetch", fake)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR_ENV, str(cache))
    with (
        caplog.at_level(logging.INFO, logger="discoverly.data.datasets.registry"),
        caplog.at_level(logging.DEBUG, logger="discoverly.data.datasets.locate"),
    ):
        ds = load_dataset("movielens-100k", download=True)
    assert fake.calls == [(DATASETS["movielens-100k"].download, cache, {"progress": False})]
    assert len(ds.interactions) == 2
    folder = cache / "movielens" / "ml-100k"
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "discoverly.data.datasets.registry"] == [
        (
            "WARNING",
            "movielens-100k not found locally; downloading "
            f"https://files.grouplens.org/datasets/movielens/ml-100k.zip into {cache}",
        ),
        ("INFO", f"loading movielens-100k from {folder / 'u.data'}, {folder / 'u.item'}"),
    ]
    found = [r.getMessage() for r in caplog.records if r.name == "discoverly.data.datasets.locate"]
    assert len(found) == 1 and found[0].startswith(f"found movielens-100k in {cache} ")  # after the download


def test_download_into_an_explicit_cache_with_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeFetch()
    monkeypatch.setattr(registry, "fetch", fake)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "default"))
    ds = load_dataset("ml-100k", cache_dir=str(tmp_path / "mine"), download=True, progress=True, min_rating=4)
    assert fake.calls == [(DATASETS["movielens-100k"].download, tmp_path / "mine", {"progress": True})]
    assert len(ds.interactions) == 1 and not (tmp_path / "default").exists()


def test_an_incomplete_download_cache_folder_says_to_delete_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """A cache folder that lost a file is kept by the download (fetch never overwrites a folder that is there): the
    error says so, instead of asking for the download=True that was given; and no "downloading ..." warning
    announces a download that does not happen."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    cache = tmp_path / "cache"
    folder = _movielens(cache)
    (folder / "u.item").unlink()
    with pytest.raises(DatasetNotFoundError) as err, caplog.at_level("WARNING", logger="discoverly.data.datasets"):
        load_dataset("movielens-100k", cache_dir=cache, download=True)
    assert caplog.messages == []
    assert str(err.value) == (
        f"data set 'movielens-100k': the download cache folder {folder} lacks some of the file(s) "
        "movielens/ml-100k/u.data, movielens/ml-100k/u.item; delete that folder and load again with download=True"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["u.data"]  # nothing downloaded, nothing deleted


def test_a_download_that_leaves_no_files_is_reported_with_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "fetch", _FakeFetch(writes=False))
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(
        DatasetNotFoundError,
        match=r"^data set 'movielens-100k': the download cache folder "
        + re.escape(str(tmp_path / "movielens" / "ml-100k"))
        + " lacks some",
    ):
        load_dataset("movielens-100k", cache_dir=tmp_path, download=True)


def test_locate_logs_where_it_found_the_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = _movielens(tmp_path)
    with caplog.at_level(logging.DEBUG, logger="discoverly.data.datasets.locate"):
        locate("movielens-100k", FILES, folder)
    assert [r.getMessage() for r in caplog.records if r.name == "discoverly.data.datasets.locate"] == [
        f"found movielens-100k in {folder} (the data_dir argument)"
    ]
