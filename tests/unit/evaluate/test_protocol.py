"""The protocol on a hand-made log: who is tested, on which targets, in each variant."""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.data import Interactions
from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.protocol import VARIANTS, Split, check_cutoff, parse_variants, split

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


# --- closing mutation-testing gaps: labels, JSON counts, window edges, messages -----------------


def test_labels_are_utc_dates_or_date_times(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")  # the machine's time zone must not leak into labels
    time.tzset()
    try:
        assert Split.label_of(CUTOFF) == "2020-09-23"
        assert Split.label_of(CUTOFF + DAY // 2 + 61) == "2020-09-23T12:01:01"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_describe_counts_for_reports_and_json(hand_log: Interactions) -> None:
    s = split(hand_log, CUTOFF, variant="new-items")
    assert s.describe() == {"cutoff": "2020-09-23", "variant": "new-items", "window_days": 14.0,
                            "n_users": 2, "n_targets": 2, "n_repeat_only": 1, "train_events": 6,
                            "truncated_window": False}
    assert s.target_sizes().tolist() == [1, 1]
    assert s.targets.data.tolist() == [1.0, 1.0]  # binary, whatever the counts
    s = split(hand_log, CUTOFF, variant="any-item")
    assert s.target_sizes().tolist() == [2, 1, 1] and set(s.targets.data.tolist()) == {1.0}


def test_default_window_is_14_days() -> None:
    # one returning customer whose window purchase is 14 days after the cutoff: outside [T, T + 14d)
    log = Interactions.from_indices([0, 0], [0, 1], np.array([CUTOFF - DAY, CUTOFF + 14 * DAY]))
    for entry in (split, check_cutoff):
        with pytest.raises(DataError, match="no events in the 14 days from the cutoff 2020-09-23"):
            entry(log, CUTOFF)
    assert split(log, CUTOFF, window_days=14 + 1 / DAY).users.tolist() == [0]


def test_a_half_day_window_is_a_window(hand_log: Interactions) -> None:
    s = split(hand_log, CUTOFF + DAY, window_days=0.5, variant="any-item")  # day 11 until noon
    assert s.users.tolist() == [0] and s.window_days == 0.5


@pytest.mark.parametrize(("window_days", "truncated"), [(15, False), (16, False), (16 + 1 / DAY, True)])
def test_truncated_means_the_last_day_of_the_window_has_no_events(hand_log: Interactions, window_days: float,
                                                                 truncated: bool) -> None:
    # the log's last event is on day 25; the window from day 10 ends on day 10 + window_days
    assert split(hand_log, CUTOFF, window_days=window_days, variant="any-item").truncated is truncated


def test_truncated_window_warning_names_the_dates(hand_log: Interactions,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    split(hand_log, CUTOFF + 10 * DAY, variant="any-item")  # warn=True by default
    assert [r.getMessage() for r in caplog.records] == [
        "the 14-day window after 2020-10-03 ends after the log's last event (2020-10-08); targets cover fewer days"]
    caplog.clear()
    split(hand_log, CUTOFF + 10 * DAY, variant="any-item", warn=False)
    assert not caplog.records


def test_error_messages_name_what_was_received(hand_log: Interactions) -> None:
    with pytest.raises(DataError, match=r"nothing to fit on \(the log spans 2020-09-14 \.\. 2020-10-08\)"):
        split(hand_log, CUTOFF - 30 * DAY)
    with pytest.raises(DataError, match="cannot evaluate on an empty interaction log"):
        split(Interactions.from_indices([], [], np.array([], dtype=np.int64)), CUTOFF)
    with pytest.raises(DataError, match="cannot evaluate on an empty interaction log"):
        check_cutoff(Interactions.from_indices([], [], np.array([], dtype=np.int64)), CUTOFF)
    with pytest.raises(ConfigError, match=r"unknown variant 'old-items'; expected one of new-items, any-item$"):
        split(hand_log, CUTOFF, variant="old-items")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="expected one of new-items, any-item or 'both'"):
        parse_variants("old-items")
    with pytest.raises(ConfigError, match="no evaluation variant given; expected new-items, any-item or both"):
        parse_variants([])
