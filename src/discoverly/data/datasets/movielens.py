"""MovieLens 100K: 100,000 ratings (1-5) by 943 users of 1,682 movies, 1997-09 .. 1998-04.

Users and items are the integer ids of ``u.data``; the rating is kept as the event's
``quantity`` (its weight), so ``interactions.matrix("quantity")`` is the rating matrix and
``matrix("binary")`` says who rated what. ``min_rating`` keeps only ratings at or above it (a
common way to turn ratings into "liked" events); the drop is counted in ``notes``.

The catalogue (from ``u.item``, latin-1, ``|``-separated) has ``title``, ``year``,
``release_date``, ``imdb_url``, ``category`` (the genres joined by ``|``) and ``genres`` (a
list). ``Dataset.users`` holds ``u.user`` (age, gender, occupation, zip code).
"""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path
from typing import Any

import polars as pl

from discoverly.data.catalog import Catalog
from discoverly.data.datasets.dataset import Dataset, Download
from discoverly.data.read import interactions_from_polars
from discoverly.errors import ConfigError, DataError

__all__ = ["RATINGS", "MOVIES", "USERS", "GENRES", "DOWNLOAD", "load_movielens_100k"]

logger = logging.getLogger(__name__)

RATINGS = "movielens/ml-100k/u.data"
MOVIES = "movielens/ml-100k/u.item"
USERS = "movielens/ml-100k/u.user"

#: the genre columns of ``u.item``, in order (as listed in ``u.genre``)
GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")

#: GroupLens's archive and the MD5 it publishes next to it (ml-100k.zip.md5)
DOWNLOAD = Download(
    url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    checksum="md5:0e33842e24a9c977be4e0107933c0723",
    target="movielens/ml-100k",
    member_root="ml-100k",
    size=4_924_029,
)


def _read_pipe_table(path: Path, columns: list[str]) -> pl.DataFrame:
    text = path.read_bytes().decode("latin-1")
    try:
        return pl.read_csv(io.StringIO(text), separator="|", has_header=False, new_columns=columns,
                           quote_char=None, infer_schema_length=0)
    except Exception as exc:  # polars raises several kinds for malformed text
        raise DataError(f"cannot read the MovieLens file {path}: {exc}") from exc


def load_movielens_100k(paths: dict[str, Path], *, min_rating: float | None = None,
                        name: str = "movielens-100k", **_: Any) -> Dataset:
    """Load MovieLens 100K ratings, movies (catalogue) and users."""
    t0 = time.perf_counter()
    ratings_path, movies_path = paths[RATINGS], paths[MOVIES]
    try:
        ratings = pl.read_csv(ratings_path, separator="\t", has_header=False,
                              new_columns=["user", "item", "rating", "time"],
                              schema_overrides={"user": pl.Int64, "item": pl.Int64, "rating": pl.Float64,
                                                "time": pl.Int64})
    except Exception as exc:
        raise DataError(f"cannot read the MovieLens ratings {ratings_path} (expected tab-separated "
                        f"user, item, rating, unix time): {exc}") from exc
    rows_read = ratings.height
    missing = {col: int(n) for col, n in ratings.null_count().row(0, named=True).items()}
    if any(missing.values()):
        raise DataError(f"the MovieLens ratings {ratings_path} have empty fields {missing}; is the file complete?")
    dropped: dict[str, int] = {}
    if min_rating is not None:
        try:
            stars = float(min_rating)
        except (TypeError, ValueError):
            raise ConfigError(f"min_rating must be a number of stars such as 4, got {min_rating!r}") from None
        ratings = ratings.filter(pl.col("rating") >= stars)
        dropped["below_min_rating"] = rows_read - ratings.height
        if ratings.height == 0:
            raise DataError(f"no ratings are at or above min_rating={min_rating}")
    interactions = interactions_from_polars(ratings, user="user", item="item", time="time", quantity="rating")

    movie_cols = ["item", "title", "release_date", "video_release_date", "imdb_url", *GENRES]
    movies = _read_pipe_table(movies_path, movie_cols)
    flags = pl.concat_list([pl.when(pl.col(g) == "1").then(pl.lit(g)) for g in GENRES]).list.drop_nulls()
    catalog_table = movies.select(
        pl.col("item").cast(pl.Int64),
        pl.col("title").str.strip_chars(),
        # the last (yyyy) of the title: "Land Before Time III (1995) (V)" ends with its medium, not its year
        pl.col("title").str.extract_all(r"\(\d{4}\)").list.last().str.slice(1, 4).cast(pl.Int32, strict=False)
        .alias("year"),
        # dd-Mon-yyyy only: %Y alone would read "1-Jan-95" as the year 95
        pl.when(pl.col("release_date").str.contains(r"^\d{1,2}-[A-Za-z]{3}-\d{4}$"))
        .then(pl.col("release_date").str.to_date("%d-%b-%Y", strict=False)).alias("release_date"),
        pl.col("imdb_url"),
        flags.list.join("|").alias("category"),
        flags.alias("genres"),
    ).sort("item")
    users = None
    users_path = paths.get(USERS) or ratings_path.parent / "u.user"
    if users_path.is_file():
        users = _read_pipe_table(users_path, ["user", "age", "gender", "occupation", "zip_code"]).with_columns(
            pl.col("user").cast(pl.Int64), pl.col("age").cast(pl.Int32))
    seconds = time.perf_counter() - t0
    notes: dict[str, Any] = {
        "source": "MovieLens 100K (GroupLens)",
        "files": [str(ratings_path), str(movies_path)] + ([str(users_path)] if users is not None else []),
        "rows_read": rows_read,
        "missing_values": missing,
        "dropped": dropped,
        "min_rating": min_rating,
        "events": len(interactions),
        "users": interactions.n_users,
        "items": interactions.n_items,
        "quantity": "the rating, 1-5 stars",
        "load_seconds": round(seconds, 3),
    }
    logger.info("loaded MovieLens 100K: %s in %.2fs", interactions, seconds)
    return Dataset(name, interactions, Catalog(catalog_table), notes, users)
