"""Finding data set files: explicit folder, DISCOVERLY_DATA_DIR, the cache; and the error when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from discoverly.data.datasets import CACHE_DIR_ENV, DATA_DIR_ENV, default_cache_dir, locate
from discoverly.errors import DatasetNotFoundError

FILES = ("movielens/ml-100k/u.data", "movielens/ml-100k/u.item")


def _make(root: Path) -> Path:
    folder = root / "movielens" / "ml-100k"
    folder.mkdir(parents=True)
    for name in ("u.data", "u.item"):
        (folder / name).write_text("x")
    return folder


def test_found_through_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _make(tmp_path)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    found = locate("movielens-100k", FILES)
    assert found["movielens/ml-100k/u.data"] == tmp_path / "movielens" / "ml-100k" / "u.data"


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_explicit_folder_may_point_at_the_root_or_inside_the_data_set(tmp_path: Path, depth: int) -> None:
    folder = _make(tmp_path)
    root = [tmp_path, tmp_path / "movielens", folder][depth]
    assert locate("movielens-100k", FILES, root)["movielens/ml-100k/u.item"] == folder / "u.item"


def test_explicit_file_path_uses_its_folder(tmp_path: Path) -> None:
    folder = _make(tmp_path)
    assert locate("movielens-100k", FILES, folder / "u.data")["movielens/ml-100k/u.data"] == folder / "u.data"


def test_explicit_folder_does_not_fall_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _make(tmp_path / "good")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "good"))
    with pytest.raises(DatasetNotFoundError, match="data_dir argument"):
        locate("movielens-100k", FILES, tmp_path / "empty")


def test_cache_is_searched_after_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _make(tmp_path / "cache")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache"
    assert locate("movielens-100k", FILES)["movielens/ml-100k/u.data"].is_file()


def test_all_files_are_needed(tmp_path: Path) -> None:
    folder = _make(tmp_path)
    (folder / "u.item").unlink()
    with pytest.raises(DatasetNotFoundError):
        locate("movielens-100k", FILES, tmp_path)


def test_error_names_the_files_the_places_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    with pytest.raises(DatasetNotFoundError) as err:
        locate("movielens-100k", FILES, how_to_get="Or download it.")
    msg = str(err.value)
    assert "movielens/ml-100k/u.data" in msg and str(tmp_path / "cache") in msg and "does not exist" in msg
    assert f"{DATA_DIR_ENV} is not set" in msg and "data_dir=" in msg and msg.endswith("Or download it.")
    assert isinstance(err.value, FileNotFoundError)


def test_default_cache_dir_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "discoverly" / "data"
