"""synthetic_log: exact size, determinism, chunking, Parquet, and the skew it promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.data import read_interactions
from discoverly.data.synthetic_log import synthetic_log, synthetic_log_chunks, write_synthetic_log
from discoverly.errors import ConfigError


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return synthetic_log(200_000, rng=3)


def test_exact_size_columns_and_types(frame: pl.DataFrame) -> None:
    assert frame.height == 200_000
    assert frame.schema == pl.Schema({"user": pl.Int64, "item": pl.String, "timestamp": pl.Datetime("us"),
                                      "quantity": pl.Float32})
    assert frame["item"].str.starts_with("P").all()
    assert (frame["quantity"] >= 1).all()
    log = read_interactions(frame, quantity="quantity")
    assert len(log) == 200_000
    assert log.n_items <= round(5.2 * np.sqrt(200_000))


def test_same_seed_same_log_and_chunks_add_up() -> None:
    a, b = synthetic_log(30_000, rng=7), synthetic_log(30_000, rng=7)
    assert a.equals(b)
    assert not a.equals(synthetic_log(30_000, rng=8))
    chunks = list(synthetic_log_chunks(30_000, rng=7, chunk_events=4_000))
    assert len(chunks) > 3 and sum(c.height for c in chunks) == 30_000
    users = [set(c["user"].unique().to_list()) for c in chunks]
    assert all(not (users[i] & users[i + 1]) for i in range(len(users) - 1))  # whole customers per chunk


def test_skew_heavy_buyers_and_baskets(frame: pl.DataFrame) -> None:
    pairs = frame.select("user", "item").unique()
    per_customer = pairs.group_by("user").len()["len"].to_numpy()
    per_item = np.sort(pairs.group_by("item").len()["len"].to_numpy())[::-1]
    baskets = frame.group_by("user", "timestamp").len()["len"].to_numpy()
    assert np.percentile(per_customer, 99) > 5 * np.median(per_customer)  # heavy buyers
    assert np.percentile(baskets, 99) > 5 * np.median(baskets)  # heavy-tailed baskets
    assert per_item[: len(per_item) // 100].sum() > 0.04 * per_item.sum()  # the top 1% of items: > 4% of buyers
    assert frame.height / pairs.height > 1.2  # repeat purchases


def test_complements_co_occur_in_baskets() -> None:
    # with complements, the first two lines of baskets repeat the same few pairs (group members)
    def distinct_pair_share(prob: float) -> float:
        f = synthetic_log(60_000, rng=1, n_items=400, complement_prob=prob, theme_affinity=0.0)
        first_two = (f.group_by("user", "timestamp", maintain_order=True)
                     .agg(pl.col("item").head(2)).filter(pl.col("item").list.len() == 2))
        pairs = first_two.select(pl.col("item").list.sort().list.join("|"))
        return pairs.n_unique() / pairs.height
    assert distinct_pair_share(0.6) < distinct_pair_share(0.0) - 0.2


def test_write_parquet_atomically(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    facts = write_synthetic_log(path, 25_000, rng=2, chunk_events=6_000)
    assert facts["events"] == 25_000 and path.is_file()
    assert pl.read_parquet(path).equals(synthetic_log(25_000, rng=2, chunk_events=6_000))
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("bad", [{"n_events": 0}, {"n_items": 3}, {"complement_prob": 1.0}, {"zipf_exponent": -1},
                                 {"basket_median": 0.5}])
def test_bad_parameters(bad: dict[str, float]) -> None:
    args = {"n_events": 1000, **bad}
    with pytest.raises(ConfigError, match="synthetic_log"):
        synthetic_log(**args)
