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


def test_the_error_in_full_for_an_explicit_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError) as err:
        locate("movielens-100k", FILES, tmp_path / "empty")
    assert str(err.value) == (
        f"data set 'movielens-100k' not found: expected the file(s) movielens/ml-100k/u.data, "
        f"movielens/ml-100k/u.item; looked in {tmp_path / 'empty'} (the data_dir argument). To fix: set "
        f"{DATA_DIR_ENV} to the folder that holds movielens/, or pass data_dir= (CLI: --data-dir)")


def test_the_error_in_full_when_nothing_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    with pytest.raises(DatasetNotFoundError) as err:
        locate("x", ("online_retail/a.parquet",))
    assert str(err.value) == (
        f"data set 'x' not found: expected the file(s) online_retail/a.parquet; looked in {tmp_path / 'env'} "
        f"(${DATA_DIR_ENV}, which does not exist); {tmp_path / 'cache'} (the download cache). To fix: set "
        f"{DATA_DIR_ENV} to the folder that holds online_retail/, or pass data_dir= (CLI: --data-dir)")
    monkeypatch.delenv(DATA_DIR_ENV)
    with pytest.raises(DatasetNotFoundError) as unset:
        locate("x", ("online_retail/a.parquet",), how_to_get="Get it there")
    assert str(unset.value) == (
        f"data set 'x' not found: expected the file(s) online_retail/a.parquet; looked in {tmp_path / 'cache'} "
        f"(the download cache). To fix: {DATA_DIR_ENV} is not set: set it to the folder that holds online_retail/, "
        "or pass data_dir= (CLI: --data-dir). Get it there")
    # set to "": skipped as a place to look, and the advice said "set it to …" as if it pointed somewhere
    monkeypatch.setenv(DATA_DIR_ENV, "")
    with pytest.raises(DatasetNotFoundError) as empty:
        locate("x", ("online_retail/a.parquet",), how_to_get="Get it there")
    assert str(empty.value) == str(unset.value)


def test_search_roots_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from discoverly.data.datasets.locate import search_roots

    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    assert search_roots() == [(tmp_path / "env", f"${DATA_DIR_ENV}"), (tmp_path / "cache", "the download cache")]
    assert search_roots(cache_dir=tmp_path / "c2")[1] == (tmp_path / "c2", "the download cache")
    assert search_roots(tmp_path / "d") == [(tmp_path / "d", "the data_dir argument")]
    monkeypatch.setenv(DATA_DIR_ENV, "")  # an empty variable is not a folder
    assert search_roots() == [(tmp_path / "cache", "the download cache")]
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert search_roots("~/data") == [(tmp_path / "home" / "data", "the data_dir argument")]


def test_default_cache_dir_without_any_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "discoverly" / "data"
    monkeypatch.setenv(CACHE_DIR_ENV, "~/c")
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.setenv(CACHE_DIR_ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", "~/x")
    assert default_cache_dir() == tmp_path / "x" / "discoverly" / "data"


def test_the_first_root_holding_every_file_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    partial = _make(tmp_path / "env")
    (partial / "u.item").unlink()
    _make(tmp_path / "cache")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    found = locate("movielens-100k", FILES)
    assert found == {rel: tmp_path / "cache" / rel for rel in FILES}
    (tmp_path / "env" / "movielens" / "ml-100k" / "u.item").mkdir()  # a folder of that name is not the file
    assert locate("movielens-100k", FILES) == found
