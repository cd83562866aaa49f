"""BuyAgain: recency, frequency and repurchase cycles, worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from discoverly.data import Interactions
from discoverly.errors import ConfigError
from discoverly.recommend import History
from discoverly.recommend.buy_again import BuyAgain, repurchase_cycles

from .conftest import DAY, T0


def test_repurchase_cycles_by_hand() -> None:
    days = sp.csr_matrix(np.array([[3.0, 1.0, 2.0]]))
    first = sp.csr_matrix(np.array([[0.0, 5.0, 10.0]]) * DAY + T0)
    last = sp.csr_matrix(np.array([[14.0, 5.0, 10.2]]) * DAY + T0)
    cycles = repurchase_cycles(days, first, last).toarray()
    # item 0: 14 days over 2 intervals = 7; item 1: a single day, no cycle; item 2: two days 0.2 days apart -> 1
    assert cycles[0].tolist() == pytest.approx([7.0, 0.0, 1.0])


def log_with_cycles() -> Interactions:
    """User 0 buys milk (item 0) every 7 days and bought a lamp (item 1) once, long ago;
    users 1..3 buy coffee (item 2) every 30 days; user 0 bought coffee once, 30 days ago."""
    users, items, days = [], [], []
    for d in range(0, 63, 7):
        users.append(0), items.append(0), days.append(d)
    users.append(0), items.append(1), days.append(1)
    for u in (1, 2, 3):
        for d in range(0, 90, 30):
            users.append(u), items.append(2), days.append(d)
    users.append(0), items.append(2), days.append(33)
    return Interactions.from_indices(users, items, T0 + np.array(days) * DAY, n_users=4, n_items=4)


def test_score_by_hand() -> None:
    log = log_with_cycles()
    model = BuyAgain(half_life_days=30.0, frequency_weight=1.0, due_weight=1.0, min_repeaters=3).fit(log)
    assert model.item_cycle_[2] == pytest.approx(30.0)  # median of three users' 30-day cycles
    assert math.isnan(model.item_cycle_[0])  # only one user repeats milk
    now = T0 + 63 * DAY
    s = model._score(History.of(log, np.array([0]), now=now))[0]
    # milk: 9 purchase days, last 7 days ago, own cycle 7 days -> due = 1
    assert s[0] == pytest.approx(9 * 2 ** (-7 / 30) * 2.0, rel=1e-5)
    # lamp: 1 day, 62 days ago, nobody repeats it -> no cycle, due = 0
    assert s[1] == pytest.approx(2 ** (-62 / 30), rel=1e-5)
    # coffee: 1 day, 30 days ago, the item's typical cycle of 30 days -> due = 1
    assert s[2] == pytest.approx(2 ** (-30 / 30) * 2.0, rel=1e-5)
    assert s[3] == -np.inf  # never bought
    # half a cycle after the last milk: due = exp(-log2(0.5)^2 / 2)
    early = model._score(History.of(log, np.array([0]), now=T0 + 59.5 * DAY))[0]
    assert early[0] == pytest.approx(9 * 2 ** (-3.5 / 30) * (1 + math.exp(-0.5)), rel=1e-5)


def test_recommend_ranks_own_items_and_fills_with_bestsellers() -> None:
    log = log_with_cycles()
    model = BuyAgain().fit(log)
    out = model.recommend([0], k=4, exclude_seen=False)
    assert out.ids(0)[:3] == [0, 2, 1]
    assert not out.fallback[0]
    # excluding seen items leaves nothing of its own: bestsellers fill the list
    seen_excluded = model.recommend([0], k=2)
    assert set(seen_excluded.ids(0)).isdisjoint({0, 1, 2})


def test_due_weight_zero_is_recency_times_frequency() -> None:
    log = log_with_cycles()
    model = BuyAgain(due_weight=0.0, frequency_weight=0.0, half_life_days=10.0).fit(log)
    s = model._score(History.of(log, np.array([0]), now=T0 + 63 * DAY))[0]
    assert s[0] == pytest.approx(2 ** (-7 / 10), rel=1e-5)


@pytest.mark.parametrize("kwargs", [{"half_life_days": 0}, {"frequency_weight": -1}, {"due_weight": -0.5},
                                    {"min_repeaters": 0}])
def test_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        BuyAgain(**kwargs)
