"""Popularity and RecentBestsellers worked out by hand on a log with an item nobody bought."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discoverly.data import Interactions
from discoverly.recommend.popularity import Popularity, RecentBestsellers

DAY = 86_400
T0 = 1_700_000_000


@pytest.fixture
def log() -> Interactions:
    # tiny_log's ten events (day d is event d) plus a sixth item that nobody bought
    users = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
    items = [0, 1, 2, 0, 1, 1, 2, 3, 4, 0]
    times = np.array([T0 + d * DAY for d in range(10)])
    return Interactions.from_indices(users, items, times, n_users=4, n_items=6)


def test_popularity_scores_distinct_buyers_and_never_offers_an_unbought_item(log: Interactions) -> None:
    model = Popularity().fit(log)
    assert model.item_scores_.tolist() == [3, 3, 2, 1, 1, 0]  # distinct buyers of items 0..5
    assert model.item_scores_.dtype == np.float32
    # a new user gets every bought item, best first (ties by item index); item 5 never appears
    assert model.recommend([99], k=6).ids(0) == [0, 1, 2, 3, 4]
    assert model.recommend([3], k=6).ids(0) == [1, 2, 3, 4]  # user 3 has item 0
    assert model.recommend([0], k=6).ids(0) == [3, 4]  # user 0 has items 0, 1, 2


def test_bestsellers_rank_the_window_then_all_time(log: Interactions) -> None:
    # last event day 9, so a 2-day window holds days 8 and 9: items 4 and 0, one buyer each;
    # item 0 (3 buyers all time) beats item 4 (1), then the rest by all-time buyers 1 (3), 2 (2), 3 (1)
    model = RecentBestsellers(window_days=2).fit(log)
    assert model.recommend([99], k=6).ids(0) == [0, 4, 1, 2, 3]
    assert model.recommend([0], k=6).ids(0) == [4, 3]
    assert model.window_buyers_.tolist() == [1, 1, 0, 0, 0]
    assert model.item_scores_[5] == -np.inf
    assert model.config() == {"window_days": 2.0}
    # a wider window changes the list: days 5..9 hold items 1, 2, 3, 4, 0 once each → all-time order
    assert RecentBestsellers(window_days=5).fit(log).recommend([99], k=6).ids(0) == [0, 1, 2, 3, 4]


def test_new_users_get_the_models_own_window_not_the_default(log: Interactions) -> None:
    model = RecentBestsellers(window_days=2).fit(log)
    assert model._fallback.tolist() == [0, 4, 1, 2, 3]
    # the default 14-day window would put item 1 (3 buyers) before item 4
    assert Popularity().fit(log)._fallback[:2].tolist() == [0, 1]


@pytest.mark.parametrize("model", [Popularity(), RecentBestsellers(window_days=2)])
def test_a_saved_model_recommends_the_same(log: Interactions, tmp_path: Path,
                                           model: Popularity) -> None:
    model.fit(log)
    loaded = type(model).load(model.save(tmp_path / model.name))
    np.testing.assert_array_equal(loaded.item_scores_, model.item_scores_)
    for row in range(3):
        assert loaded.recommend([0, 3, 99], k=6).ids(row) == model.recommend([0, 3, 99], k=6).ids(row)


def test_popularity_ranks_by_all_time_buyers_where_the_recent_bestsellers_differ() -> None:
    """On a log whose recent bestsellers equal its all-time order, a blank Popularity score was masked by
    the bestseller fallback (mutation testing: emptying Popularity._score survived)."""
    # items 0 and 1 sold to many customers in the first days; items 2 and 3 to few, in the last ones
    pairs = [(u, 0, u) for u in range(6)] + [(u, 1, u) for u in range(4)] + [(6, 2, 28), (7, 2, 28), (8, 3, 29)]
    users, items, days = zip(*pairs, strict=True)
    log = Interactions.from_indices(list(users), list(items), np.array([T0 + d * DAY for d in days]),
                                    n_users=9, n_items=4)
    assert Popularity().fit(log).recommend([8], k=3).ids(0) == [0, 1, 2]  # all time: 6, 4, 2 buyers
    assert RecentBestsellers().fit(log).recommend([8], k=3).ids(0) == [2, 0, 1]  # the last 14 days first
    half = RecentBestsellers(window_days=0.5).fit(log)  # a window shorter than a day is a window
    assert half.recommend([99], k=2).ids(0) == [3, 0]  # day 29 only: item 3
