"""The synthetic store: deterministic per seed, and it has the structure it promises."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from discoverly.data.quality import profile
from discoverly.data.synthetic import SYNTHETIC_LABEL, synthetic_store
from discoverly.errors import ConfigError


@pytest.fixture(scope="module")
def store():  # type: ignore[no-untyped-def]
    return synthetic_store(n_customers=800, n_items=200, days=365, rng=11)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = synthetic_store(n_customers=120, n_items=60, days=90, rng=5)
    b = synthetic_store(n_customers=120, n_items=60, days=90, rng=np.random.default_rng(5))
    c = synthetic_store(n_customers=120, n_items=60, days=90, rng=6)
    assert a.interactions.fingerprint() == b.interactions.fingerprint()
    assert a.catalog is not None and b.catalog is not None
    assert a.catalog.table.equals(b.catalog.table)
    assert a.interactions.fingerprint() != c.interactions.fingerprint()


def test_labelled_synthetic_with_every_customer(store) -> None:  # type: ignore[no-untyped-def]
    assert store.synthetic and store.notes["label"] == SYNTHETIC_LABEL and "[synthetic]" in repr(store)
    assert store.interactions.n_users == 800
    assert store.catalog is not None and len(store.catalog) == 200
    assert store.catalog.table["title"].n_unique() == 200
    log = store.interactions
    assert log.start is not None and log.start.year == 2023 and log.end is not None and log.end.year == 2023


def test_popularity_skew_and_heavy_buyers(store) -> None:  # type: ignore[no-untyped-def]
    p = profile(store)
    assert p.per_item.gini > 0.4 and p.per_item.top10_share > 0.3
    assert p.per_customer.top1_share > 0.05 and p.per_customer.max > 10 * p.per_customer.median
    assert p.repeat_event_share > 0.1


def test_complements_are_bought_together(store) -> None:  # type: ignore[no-untyped-def]
    log = store.interactions
    groups = store.catalog.aligned(log.items)["complement_group"].to_numpy()
    baskets = pl.DataFrame({"u": log.user_index, "t": log.timestamp, "g": groups[log.item_index],
                            "i": log.item_index})
    pairs = baskets.join(baskets, on=["u", "t"]).filter(pl.col("i") < pl.col("i_right"))
    same_group = float((pairs["g"] == pairs["g_right"]).mean())  # type: ignore[arg-type]
    chance = 1.0 / int(groups.max() + 1)
    assert same_group > 10 * chance


def test_seasonal_themes_peak_in_their_season(store) -> None:  # type: ignore[no-untyped-def]
    log = store.interactions
    category = store.catalog.aligned(log.items)["category"].to_numpy()[log.item_index]
    month = pl.Series(log.timestamp * 1_000_000).cast(pl.Datetime("us")).dt.month().to_numpy()
    christmas = category == "Christmas"
    winter, summer = np.isin(month, [11, 12]), np.isin(month, [5, 6])
    assert christmas[winter].mean() > 2 * christmas[summer].mean()


def test_new_items_are_not_sold_before_launch(store) -> None:  # type: ignore[no-untyped-def]
    log = store.interactions
    launch = store.catalog.aligned(log.items)["launch_date"].cast(pl.Datetime("us")).dt.epoch("s").to_numpy()
    assert (launch > launch.min()).sum() > 10  # some items launch during the year
    day_start = log.timestamp - log.timestamp % 86_400
    assert np.all(day_start >= launch[log.item_index])


@pytest.mark.parametrize("kwargs,match", [
    ({"n_customers": 0}, "n_customers"), ({"n_items": 2}, "n_items"), ({"days": 0}, "days"),
    ({"complement_prob": 1.5}, "complement_prob"), ({"complement_prob": 0.6, "repeat_prob": 0.5}, "below 1"),
])
def test_bad_parameters(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        synthetic_store(**kwargs)  # type: ignore[arg-type]


def test_tiny_store_still_works() -> None:
    ds = synthetic_store(n_customers=3, n_items=4, days=1, rng=0)
    assert ds.interactions.n_users == 3 and len(ds.interactions) >= 3
