"""The protocol on a hand-made log: who is tested, on which targets, in each variant."""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.data import Interactions
from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.protocol import VARIANTS, check_cutoff, parse_variants, split

from .conftest import CUTOFF, DAY


def rows(m) -> list[list[int]]:  # type: ignore[no-untyped-def]
    return [sorted(m.indices[m.indptr[r]:m.indptr[r + 1]].tolist()) for r in range(m.shape[0])]


def test_any_item_tests_users_active_before_and_in_the_window(hand_log: Interactions) -> None:
    s = split(hand_log, CUTOFF, variant="any-item")
    assert s.users.tolist() == [0, 1, 5]
    assert rows(s.targets) == [[1, 2], [0], [4]]
    assert s.n_repeat_only == 0
    assert not s.exclude_seen
    assert s.label == "2020-09-23"


def test_new_items_drops_repeats_and_repeat_only_users(hand_log: Interactions) -> None:
    s = split(hand_log, CUTOFF, variant="new-items")
    assert s.users.tolist() == [0, 5]
    assert rows(s.targets) == [[2], [4]]
    assert s.n_repeat_only == 1  # u1 only bought item 0 again
    assert s.exclude_seen


def test_histories_hold_only_events_before_the_cutoff(hand_log: Interactions) -> None:
    s = split(hand_log, CUTOFF, variant="any-item")
    assert rows(s.history.days) == [[0, 1], [0], [2]]
    assert s.history.now == CUTOFF
    assert s.activity().tolist() == [2, 1, 1]
    assert len(s.train) == 6 and int(s.train.timestamp.max()) < CUTOFF


def test_recommendable_items_are_those_sold_before_the_cutoff(hand_log: Interactions) -> None:
    s = split(hand_log, CUTOFF)
    assert s.recommendable.tolist() == [True, True, True, False, False]


def test_a_shorter_window_tests_fewer_users(hand_log: Interactions) -> None:
    s = split(hand_log, CUTOFF, window_days=2.5, variant="any-item")  # days 10, 11, 12 until noon
    assert s.users.tolist() == [0, 1]
    assert rows(s.targets) == [[1, 2], [0]]


def test_truncated_window_is_reported(hand_log: Interactions, caplog: pytest.LogCaptureFixture) -> None:
    s = split(hand_log, CUTOFF + 10 * DAY, variant="any-item", window_days=14)
    assert s.truncated
    assert not split(hand_log, CUTOFF).truncated
    # evaluate() says it once a cutoff, not once per variant
    from discoverly.evaluate import evaluate

    caplog.clear()
    evaluate(hand_log, ["popularity", "bestsellers"], cutoffs=CUTOFF + 10 * DAY, k=1, n_boot=10)
    assert sum("ends after the log's last event" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize(("cutoff", "message"), [
    (CUTOFF - 30 * DAY, "nothing to fit on"),
    (CUTOFF + 40 * DAY, "choose an earlier cutoff"),
])
def test_bad_cutoffs_explain_the_log_span(hand_log: Interactions, cutoff: int, message: str) -> None:
    with pytest.raises(DataError, match=message) as err:
        split(hand_log, cutoff)
    assert "cutoff" in str(err.value)


def test_no_returning_customer_is_an_error() -> None:
    log = Interactions.from_indices([0, 1], [1, 1], np.array([0, 12 * DAY]) + CUTOFF - 10 * DAY)
    with pytest.raises(DataError, match="no user was active both before"):
        split(log, CUTOFF)


def test_new_items_with_only_repeats_points_to_any_item() -> None:
    log = Interactions.from_indices([0, 0], [1, 1], np.array([0, 20 * DAY]) + CUTOFF - 10 * DAY)
    with pytest.raises(DataError, match="any-item"):
        split(log, CUTOFF)


def test_parse_variants(hand_log: Interactions) -> None:
    assert parse_variants("both") == VARIANTS
    assert parse_variants("any-item") == ("any-item",)
    assert parse_variants(["any-item", "new-items", "any-item"]) == ("any-item", "new-items")
    with pytest.raises(ConfigError, match="new-items"):
        parse_variants("old-items")
    with pytest.raises(ConfigError):
        split(hand_log, CUTOFF, window_days=0)


@pytest.mark.parametrize("window_days", [0, -3, float("nan"), float("inf")])
def test_a_window_that_is_no_number_of_days_is_refused_by_every_entry_point(hand_log: Interactions,
                                                                              window_days: float) -> None:
    # check_cutoff said 'no events in the 0 days' (a DataError); NaN and infinity were a raw ValueError/OverflowError
    for entry in (split, check_cutoff):
        with pytest.raises(ConfigError, match=r"window_days must be a positive number of days, got"):
            entry(hand_log, CUTOFF, window_days=window_days)
