"""The Spark job and the local path on Online Retail agree: the same vocabularies, the same co-buyer
counts (exactly), the same related items with the same float32 scores, float64 scores within 1e-9
relative of the exact local definition, and the same popularity rankings.

Online Retail (2010-12 … 2011-12) with the documented history cap of 500 items (both paths apply
it) and ``min_count=2``: the Spark job runs in local[2] mode; the local path is
:func:`discoverly.recommend.relatedness.related_items` (its default engine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from discoverly.data.datasets import load_dataset
from discoverly.recommend.base import recent_bestsellers
from discoverly.recommend.relatedness import (
    SCORES,
    cooccurrence,
    expected_cooccurrence,
    pair_scores,
    purchase_stats,
    related_items,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.data,
              # py4j drops local result sockets without closing them (a ResourceWarning in __del__)
              pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")]

MIN_COUNT = 2
MAX_HISTORY = 500
NEIGHBOURS = 50


@pytest.fixture(scope="module")
def both(spark: Any, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyspark import StorageLevel

    from discoverly.engine.spark.events import read_events
    from discoverly.engine.spark.popularity import item_popularity
    from discoverly.engine.spark.purchases import index_events, purchases
    from discoverly.engine.spark.relatedness import co_buyers

    log = load_dataset("online-retail-2011", shared_data).interactions
    path = tmp_path_factory.mktemp("or") / "online_retail.parquet"
    log.to_polars().write_parquet(path)
    events = read_events(spark, str(path), quantity="quantity")
    indexed = index_events(events)
    pairs = purchases(indexed.events).persist(StorageLevel.MEMORY_AND_DISK)
    base = co_buyers(pairs, min_count=MIN_COUNT, max_history=MAX_HISTORY)
    return {"log": log, "indexed": indexed, "pairs": pairs, "base": base,
            "popularity": item_popularity(pairs, indexed.n_items, now=indexed.trained_until, window_days=14.0)}


def _ids(frame: Any) -> list[Any]:
    table = frame.toArrow()
    order = np.argsort(table.column("index").to_numpy())
    return [table.column("id")[int(i)].as_py() for i in order]


def test_vocabularies_and_counts_agree(both: dict[str, Any]) -> None:
    log, indexed, base = both["log"], both["indexed"], both["base"]
    assert indexed.n_events == len(log)
    assert indexed.trained_until == int(log.timestamp[-1]) + 1
    assert _ids(indexed.users) == log.users.ids.tolist()
    assert _ids(indexed.items) == log.items.ids.tolist()
    stats = purchase_stats(log.matrix("binary"), max_history=MAX_HISTORY)
    assert base.params["customers"] == stats.customers
    assert base.params["purchases"] == stats.purchases
    assert base.params["dropped_customers"] == stats.dropped_customers > 0  # the cap is exercised
    table = base.cooc.toArrow()
    n = log.n_items
    spark_counts = sp.csr_matrix((table.column("n_xy").to_numpy(), (table.column("x").to_numpy(),
                                  table.column("y").to_numpy())), shape=(n, n))
    local_counts = cooccurrence(log.matrix("binary"), min_count=MIN_COUNT, max_history=MAX_HISTORY)
    assert spark_counts.nnz == local_counts.nnz > 1_000_000
    assert (spark_counts != local_counts).nnz == 0  # exactly the same co-buyer counts


@pytest.mark.parametrize("score", SCORES)
def test_related_items_agree(both: dict[str, Any], score: str) -> None:
    from discoverly.engine.spark.relatedness import collect_relatedness, related_pairs

    log, indexed = both["log"], both["indexed"]
    job = related_pairs(both["pairs"], score, neighbours=NEIGHBOURS, salt_buckets=4, prepared=both["base"])
    remote, s64 = collect_relatedness(job, indexed.n_items)
    local = related_items(log.matrix("binary"), score, min_count=MIN_COUNT, neighbours=NEIGHBOURS,
                          max_history=MAX_HISTORY)
    # the same neighbours of every item (same entries), the same co-buyer counts
    assert remote.scores.nnz == local.scores.nnz > 50_000
    assert np.array_equal(remote.scores.indptr, local.scores.indptr)
    assert np.array_equal(remote.scores.indices, local.scores.indices)
    assert np.array_equal(remote.counts.data, local.counts.data)
    assert np.array_equal(remote.buyers, local.buyers)
    # float32 scores as stored: equal (the local fast expectation is within 1e-13 of the exact sum)
    assert np.allclose(remote.scores.data, local.scores.data, rtol=1e-6, atol=0)
    assert np.mean(remote.scores.data == local.scores.data) > 0.999
    # float64 scores: within 1e-9 relative of the exact definition (grouped-sum E_XY)
    x = np.repeat(np.arange(indexed.n_items), np.diff(remote.scores.indptr))
    y = remote.scores.indices.astype(np.int64)
    stats = purchase_stats(log.matrix("binary"), max_history=MAX_HISTORY)
    expected = expected_cooccurrence(stats, x, y) if score == "corrected" else None
    exact = pair_scores(score, stats, x, y, remote.counts.data, expected)
    assert np.max(np.abs(s64 - exact) / np.abs(exact)) < 1e-9
    # and ranked the same way: per item, the same lists in the same order
    for item in np.nonzero(np.diff(local.scores.indptr))[0][::97]:
        assert np.array_equal(remote.neighbours_of(int(item))[0], local.neighbours_of(int(item))[0])


def test_popularity_agrees(both: dict[str, Any]) -> None:
    from discoverly.engine.spark.popularity import recent_order

    log = both["log"]
    all_time, recent = both["popularity"]
    assert np.array_equal(all_time, log.item_counts())
    order, buyers = recent_order(all_time, recent, limit=500)
    local_order, local_buyers = recent_bestsellers(log, limit=500)
    assert np.array_equal(order, local_order)
    assert np.array_equal(buyers, local_buyers)
