"""The MovieLens 100K loader on hand-made files in GroupLens's format (``u.data`` tab-separated,
``u.item`` and ``u.user`` ``|``-separated and latin-1): every column, dtype, count and note
worked out by hand."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from discoverly.data.datasets import load_dataset, movielens
from discoverly.data.datasets.movielens import GENRES, MOVIES, RATINGS, load_movielens_100k
from discoverly.errors import DataError

_GENRES_OFF = ["0"] * len(GENRES)


def _movie(item: int, title: str, release: str, url: str, *genres: str) -> str:
    flags = ["1" if g in genres else "0" for g in GENRES]
    return "|".join([str(item), title, release, "", url, *flags]) + "\n"


_U_ITEM = (
    _movie(
        1,
        "Toy Story (1995)",
        "01-Jan-1995",
        "http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)",
        "Animation",
        "Children's",
        "Comedy",
    )
    + _movie(4, '"Great Day" in Harlem, A (1994)', "14-Oct-1994", "http://x/4", "Documentary")  # a quote is text
    + _movie(7, "Twelve Monkeys (1995)", "1995-01-01", "http://x/7", "Sci-Fi", "Drama")  # not dd-Mon-yyyy
    + _movie(9, "Land Before Time III (1995) (V)", "01-Jan-1995", "http://x/9", "Western", "unknown")
)
_U_DATA = (
    "1\t1\t5\t874965758\n"  # 1997-09-22 22:02:38 UTC
    "1\t4\t2\t874965478\n"  # 1997-09-22 21:57:58 UTC
    "3\t1\t4\t893286638\n"  # 1998-04-22 23:10:38 UTC
    "3\t9\t3\t881250949\n"
)
_U_USER = "1|24|M|technician|85711\n3|23|M|writer|01002\n"


def _write(folder: Path, ratings: str = _U_DATA, movies: str = _U_ITEM, users: str | None = _U_USER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text(ratings)
    (folder / "u.item").write_bytes(movies.encode("latin-1"))
    if users is not None:
        (folder / "u.user").write_bytes(users.encode("latin-1"))
    return folder


def _paths(folder: Path) -> dict[str, Path]:
    return {RATINGS: folder / "u.data", MOVIES: folder / "u.item"}


def test_ratings_times_and_counts_worked_out_by_hand(tmp_path: Path) -> None:
    _write(tmp_path / "movielens" / "ml-100k")
    ds = load_dataset("movielens-100k", tmp_path)
    log = ds.interactions
    assert list(log.users) == [1, 3] and list(log.items) == [1, 4, 9]
    assert log.matrix("quantity").toarray().tolist() == [[5, 2, 0], [4, 0, 3]]
    assert log.start == dt.datetime(1997, 9, 22, 21, 57, 58) and log.end == dt.datetime(1998, 4, 22, 23, 10, 38)
    notes = ds.notes
    assert (notes["rows_read"], notes["events"], notes["users"], notes["items"]) == (4, 4, 2, 3)
    assert notes["missing_values"] == {"user": 0, "item": 0, "rating": 0, "time": 0}
    assert notes["source"] == "MovieLens 100K (GroupLens)"
    assert notes["quantity"] == "the rating, 1-5 stars"
    folder = tmp_path / "movielens" / "ml-100k"
    assert notes["files"] == [str(folder / "u.data"), str(folder / "u.item"), str(folder / "u.user")]
    assert ds.name == "movielens-100k"


def test_min_rating_between_stars(tmp_path: Path) -> None:
    _write(tmp_path / "movielens" / "ml-100k")
    ds = load_dataset("movielens-100k", tmp_path, min_rating=3.5)
    assert ds.notes["dropped"] == {"below_min_rating": 2} and ds.notes["min_rating"] == 3.5
    log = ds.interactions  # the 5 and the 4, both of movie 1
    assert list(log.items) == [1] and log.matrix("quantity").toarray().tolist() == [[5], [4]]
    assert (ds.notes["rows_read"], ds.notes["events"], ds.notes["users"], ds.notes["items"]) == (4, 2, 2, 1)
    exact = load_dataset("movielens-100k", tmp_path, min_rating=2)  # at or above: the 2 stays
    assert exact.notes["dropped"] == {"below_min_rating": 0} and len(exact.interactions) == 4


def test_the_catalogue_columns_and_their_types(tmp_path: Path) -> None:
    _write(tmp_path / "movielens" / "ml-100k")
    catalog = load_dataset("movielens-100k", tmp_path).catalog
    assert catalog is not None
    table = catalog.table
    assert table.schema == pl.Schema(
        {
            "item": pl.Int64,
            "title": pl.String,
            "year": pl.Int32,
            "release_date": pl.Date,
            "imdb_url": pl.String,
            "category": pl.String,
            "genres": pl.List(pl.String),
        }
    )
    assert table["item"].to_list() == [1, 4, 7, 9]
    assert table["title"].to_list() == [
        "Toy Story (1995)",
        '"Great Day" in Harlem, A (1994)',
        "Twelve Monkeys (1995)",
        "Land Before Time III (1995) (V)",
    ]
    assert table["imdb_url"].to_list() == [
        "http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)",
        "http://x/4",
        "http://x/7",
        "http://x/9",
    ]
    # the year is the last (yyyy) of the title: "(1995) (V)" ends with the medium (it was None)
    assert table["year"].to_list() == [1995, 1994, 1995, 1995]
    # a release date that is not dd-Mon-yyyy is missing, not an error
    assert table["release_date"].to_list() == [dt.date(1995, 1, 1), dt.date(1994, 10, 14), None, dt.date(1995, 1, 1)]
    # genres in u.genre's order, whatever order they were listed in
    assert table["genres"].to_list() == [
        ["Animation", "Children's", "Comedy"],
        ["Documentary"],
        ["Drama", "Sci-Fi"],
        ["unknown", "Western"],
    ]
    assert table["category"].to_list() == [
        "Animation|Children's|Comedy",
        "Documentary",
        "Drama|Sci-Fi",
        "unknown|Western",
    ]


def test_users_keep_zip_codes_as_text(tmp_path: Path) -> None:
    _write(tmp_path / "movielens" / "ml-100k")
    users = load_dataset("movielens-100k", tmp_path).users
    assert users is not None
    assert users.schema == pl.Schema(
        {"user": pl.Int64, "age": pl.Int32, "gender": pl.String, "occupation": pl.String, "zip_code": pl.String}
    )
    assert users.rows() == [(1, 24, "M", "technician", "85711"), (3, 23, "M", "writer", "01002")]


def test_without_u_user_the_notes_name_two_files(tmp_path: Path) -> None:
    folder = _write(tmp_path / "movielens" / "ml-100k", users=None)
    ds = load_dataset("movielens-100k", tmp_path)
    assert ds.users is None and ds.notes["files"] == [str(folder / "u.data"), str(folder / "u.item")]


def test_an_explicit_users_path_and_name(tmp_path: Path) -> None:
    folder = _write(tmp_path / "ml", users="1|99|F|other|00000\n")
    elsewhere = tmp_path / "users.txt"
    elsewhere.write_text("1|30|F|artist|10003\n3|40|M|doctor|94110\n")
    # the loader takes paths by their name in the data folder, as the registry finds them
    ds = load_movielens_100k({**_paths(folder), "movielens/ml-100k/u.user": elsewhere}, name="ml")
    assert ds.name == "ml" and ds.users is not None and ds.users["age"].to_list() == [30, 40]
    assert ds.notes["files"][-1] == str(elsewhere)
    beside = load_movielens_100k(_paths(folder))  # without it: the u.user beside u.data
    assert beside.users is not None and beside.users.row(0) == (1, 99, "F", "other", "00000")


def test_load_seconds_and_the_log_line_come_from_one_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "movielens" / "ml-100k")
    ticks = iter([50.0, 50.0404])
    monkeypatch.setattr(movielens, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    with caplog.at_level(logging.INFO, logger="discoverly.data.datasets.movielens"):
        ds = load_dataset("movielens-100k", tmp_path)
    assert ds.notes["load_seconds"] == 0.04  # 0.0404 to the millisecond
    loaded = [r.getMessage() for r in caplog.records if r.name == "discoverly.data.datasets.movielens"]
    assert loaded == [f"loaded MovieLens 100K: {ds.interactions} in 0.04s"]
    assert str(ds.interactions) == "Interactions(4 events, 2 users, 3 items, 1997-09-22..1998-04-22)"


@pytest.mark.parametrize(
    "ratings",
    [
        "x\t1\t5\t881250949\n",  # a user that is not a number
        "1\t1\tfive\t881250949\n",  # a rating that is not a number
        "1\t1\t5\tyesterday\n",  # a time that is not unix seconds
        "",  # an empty file
    ],
)
def test_a_ratings_file_that_is_not_u_data_is_a_data_error(tmp_path: Path, ratings: str) -> None:
    folder = _write(tmp_path / "movielens" / "ml-100k", ratings=ratings)
    with pytest.raises(DataError) as err:
        load_dataset("movielens-100k", tmp_path)
    assert str(err.value).startswith(
        f"cannot read the MovieLens ratings {folder / 'u.data'} (expected "
        "tab-separated user, item, rating, unix time): "
    )


@pytest.mark.parametrize(
    "which,text",
    [
        ("u.item", ""),
        ("u.item", "1|Toy Story (1995)|01-Jan-1995\n"),  # too few columns
        ("u.user", "1|24|M|technician|85711|extra\n"),
    ],
)
def test_a_pipe_file_that_cannot_be_read_names_itself(tmp_path: Path, which: str, text: str) -> None:
    folder = _write(tmp_path / "movielens" / "ml-100k")
    (folder / which).write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError) as err:
        load_dataset("movielens-100k", tmp_path)
    assert str(err.value).startswith(f"cannot read the MovieLens file {folder / which}: ")
    assert isinstance(err.value.__cause__, Exception)


def test_a_release_date_with_a_two_digit_year_is_missing_not_the_year_95(tmp_path: Path) -> None:
    movies = (_movie(1, "Toy Story (1995)", "1-Jan-95", "http://x/1", "Comedy")
              + _movie(4, "Heat (1995)", "5-Jan-1995", "http://x/4", "Drama")  # one-digit day: read
              + _movie(9, "Babe (1995)", "", "http://x/9", "Drama"))
    folder = _write(tmp_path / "ml", movies=movies)
    table = load_movielens_100k(_paths(folder)).catalog.table
    assert table["release_date"].to_list() == [None, dt.date(1995, 1, 5), None]
