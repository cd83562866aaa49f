"""The autoencoder's training examples against a plain-Python version of the recipe (docs/autoencoder.md).

No torch needed: these are the numpy/scipy parts. The boundaries are the point: an input is what a
customer did strictly before the cutoff, a target what they did in ``[cutoff, cutoff + window)``;
an event exactly at the cutoff is a target, never an input, and one exactly at the window's end is
neither.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from discoverly.data import Interactions
from discoverly.errors import ConfigError
from discoverly.recommend.autoencoder_examples import (
    DAY,
    ExampleSet,
    add_user_cutoffs,
    binary,
    build_examples,
    ease_priors,
    first_sales,
    input_values,
    select_items,
    training_cutoffs,
    trend_features,
    validation_plan,
)
from discoverly.recommend.ease import ease_weights

T0 = 1_600_000_000 - 1_600_000_000 % DAY  # midnight UTC
KINDS = ("binary", "recency", "frequency", "recency-frequency")

Event = tuple[int, int, int]  # (user, item, time)


def reference(events: list[Event], user: int, cutoff: int, window_days: float, kind: str, half_life_days: float,
              target: str, n_items: int, mode: str = "time-aware") -> tuple[list[float], list[float]] | None:
    """One customer's example at ``cutoff``, from the docs: input over the events strictly before
    the cutoff (binary 1; recency 0.5 ** (age of the last event / half-life); frequency 1 + ln(distinct
    days); recency-frequency their product); target the items bought in [cutoff, cutoff + window),
    without the input's items for target="new", each 1/len; None when either side is empty."""
    mine = [(i, t) for u, i, t in events if u == user]
    past = [(i, t) for i, t in mine if t < cutoff]
    end = cutoff + int(window_days * DAY)
    x = [0.0] * n_items
    for item in {i for i, _ in past}:
        last = max(t for i, t in past if i == item)
        days = len({t // DAY for i, t in past if i == item})
        recency = 0.5 ** (max(cutoff - last, 0) / DAY / half_life_days)
        frequency = 1 + math.log(days)
        x[item] = {"binary": 1.0, "recency": recency, "frequency": frequency,
                   "recency-frequency": recency * frequency}[kind]
    if mode == "reconstruct":
        wanted = {i for i, _ in past}
    else:
        wanted = {i for i, t in mine if cutoff <= t < end}
        if target == "new":
            wanted -= {i for i, _ in past}
    if not past or not wanted:
        return None
    return x, [1.0 / len(wanted) if i in wanted else 0.0 for i in range(n_items)]


def as_log(events: list[Event], n_users: int, n_items: int) -> Interactions:
    u, i, t = zip(*events, strict=True)
    return Interactions.from_indices(list(u), list(i), np.array(t), n_users=n_users, n_items=n_items)


# user 0: item 0 on day 0 and day 2, item 1 one second before the cutoff (day 10), item 2 exactly at
#   the cutoff (a target), item 3 one second before the window closes, item 4 exactly when it closes;
# user 1: item 1 on day 3, item 1 again inside the window (a repeat), item 2 inside the window;
# user 2: only after the cutoff; user 3: only before it; user 4: item 0 before, nothing new after
CUT = T0 + 10 * DAY
WINDOW = 7.0
EVENTS: list[Event] = [
    (0, 0, T0), (0, 0, T0 + 2 * DAY + 5), (0, 1, CUT - 1), (0, 2, CUT), (0, 3, CUT + 7 * DAY - 1),
    (0, 4, CUT + 7 * DAY),
    (1, 1, T0 + 3 * DAY), (1, 1, CUT + DAY), (1, 2, CUT + 2 * DAY),
    (2, 3, CUT + DAY),
    (3, 4, T0 + DAY),
    (4, 0, T0 + 4 * DAY), (4, 0, CUT + 3 * DAY),
]


def rows_of(ex: ExampleSet) -> dict[tuple[int, int], tuple[list[float], list[float]]]:
    return {(int(ex.times[r]), int(ex.users[r])): (ex.inputs[r].toarray().ravel().tolist(),
                                                  ex.targets[r].toarray().ravel().tolist()) for r in range(len(ex))}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", ["new", "any"])
def test_global_cutoff_examples_equal_the_recipe_at_the_boundaries(kind: str, target: str) -> None:
    log = as_log(EVENTS, 5, 5)
    # before the log (no input), one second in (a single event before it), day 3, the main cutoff
    cutoffs = np.array([T0 - DAY, T0 + 1, T0 + 3 * DAY, CUT])
    ex = build_examples(log, np.arange(5), cutoffs, mode="time-aware", window_days=WINDOW, input_kind=kind,
                        half_life_days=4.0, target=target)  # type: ignore[arg-type]
    got = rows_of(ex)
    want = {}
    for c in cutoffs.tolist():
        for u in range(5):
            r = reference(EVENTS, u, c, WINDOW, kind, 4.0, target, 5)
            if r is not None:
                want[(c, u)] = r
    assert sorted(got) == sorted(want)
    for key, (x, y) in want.items():
        np.testing.assert_allclose(got[key][0], x, rtol=1e-6, err_msg=str(key))
        np.testing.assert_allclose(got[key][1], y, rtol=1e-6, err_msg=str(key))
    # spelled out for user 0 at CUT: inputs items 0 and 1 (not 2, bought at the cutoff); targets 2 and 3 (not 4)
    x, y = got[(CUT, 0)]
    assert [v > 0 for v in x] == [True, True, False, False, False]
    assert [v > 0 for v in y] == [False, False, True, True, False]  # no repeat among them: same for "any"
    assert np.array_equal(ex.cutoff_id, np.searchsorted(cutoffs, ex.times))
    assert ex.cutoffs.tolist() == cutoffs.tolist()


def test_targets_any_keeps_repeats_and_new_drops_them() -> None:
    log = as_log(EVENTS, 5, 5)
    kw = {"mode": "time-aware", "window_days": WINDOW, "input_kind": "binary", "half_life_days": 4.0}
    new = rows_of(build_examples(log, np.arange(5), np.array([CUT]), target="new", **kw))  # type: ignore[arg-type]
    anything = rows_of(build_examples(log, np.arange(5), np.array([CUT]), target="any", **kw))  # type: ignore[arg-type]
    assert new[(CUT, 1)][1] == [0, 0, 1, 0, 0]  # item 1 is a repeat of user 1
    assert anything[(CUT, 1)][1] == [0, 0.5, 0.5, 0, 0]
    assert (CUT, 4) not in new and anything[(CUT, 4)][1] == [1, 0, 0, 0, 0]  # user 4 only repeats item 0


def test_unnormalised_targets_are_ones() -> None:
    log = as_log(EVENTS, 5, 5)
    ex = build_examples(log, np.arange(5), np.array([CUT]), mode="time-aware", window_days=WINDOW,
                        input_kind="binary", half_life_days=4.0, normalize_targets=False)
    assert rows_of(ex)[(CUT, 0)][1] == [0, 0, 1, 1, 0]


def test_reconstruction_examples_use_the_history_before_the_cutoff_as_target() -> None:
    log = as_log(EVENTS, 5, 5)
    ex = build_examples(log, np.arange(5), np.array([CUT]), mode="reconstruct", window_days=WINDOW,
                        input_kind="recency", half_life_days=4.0)
    got = rows_of(ex)
    assert sorted(u for _, u in got) == [0, 1, 3, 4]  # everyone with a purchase before the cutoff
    for (c, u), (x, y) in got.items():
        want = reference(EVENTS, u, c, WINDOW, "recency", 4.0, "any", 5, mode="reconstruct")
        assert want is not None
        np.testing.assert_allclose(x, want[0], rtol=1e-6)
        np.testing.assert_allclose(y, want[1], rtol=1e-6)


def test_examples_over_a_subset_of_items() -> None:
    """Columns are the model's items: events of other items are neither input nor target, and a
    customer whose target lies only outside the columns has no example."""
    log = as_log(EVENTS, 5, 5)
    cols = np.array([0, 2, 4])
    ex = build_examples(log, cols, np.array([CUT]), mode="time-aware", window_days=WINDOW, input_kind="binary",
                        half_life_days=4.0)
    got = rows_of(ex)
    # user 0: input item 0 (item 1 is not a column), target item 2 (3 is not a column, 4 outside the window)
    assert got[(CUT, 0)] == ([1, 0, 0], [0, 1, 0])
    assert sorted(got) == [(CUT, 0)]  # user 1's input (item 1) is outside the columns


def test_trend_features_by_hand() -> None:
    """Distinct buyers in [c - 7d, c), [c - 14d, c), [c - 28d, c) and before c (log1p), log1p of the
    days since the first sale, and whether the item has no sale before c."""
    c = T0 + 40 * DAY
    events = [(0, 0, c - 7 * DAY), (1, 0, c - 7 * DAY - 1), (2, 0, c - 14 * DAY), (3, 0, c - 28 * DAY - 1),
              (0, 1, c - 1), (0, 1, c - 2),  # one buyer twice
              (3, 1, c - 14 * DAY - 1),  # in the 28 days, not in the 14
              (1, 2, c)]  # first sold exactly at the cutoff: unsold at c
    log = as_log(events, 4, 3)
    cols = np.array([0, 1, 2])
    feats = trend_features(log.before(c), c, cols, first_sales(log))
    np.testing.assert_allclose(feats[0], [np.log1p(1), np.log1p(3), np.log1p(3), np.log1p(4),
                                          np.log1p((28 * DAY + 1) / DAY), 0.0], rtol=1e-6)
    np.testing.assert_allclose(feats[1], [np.log1p(1), np.log1p(1), np.log1p(2), np.log1p(2),
                                          np.log1p((14 * DAY + 1) / DAY), 0.0], rtol=1e-6)
    np.testing.assert_allclose(feats[2], [0, 0, 0, 0, 0, 1.0])
    assert first_sales(log).tolist() == [c - 28 * DAY - 1, c - 14 * DAY - 1, c]
    ex = build_examples(log, cols, np.array([c]), mode="time-aware", window_days=7, input_kind="binary",
                        half_life_days=4.0)
    np.testing.assert_allclose(ex.trend[0], feats)


def test_validation_plan_by_hand() -> None:
    # last event at day 30, 10:00 -> the log ends one second later; its day ends at midnight of day 31
    log = as_log([(0, 0, T0), (0, 1, T0 + 30 * DAY + 36_000)], 1, 2)
    assert validation_plan(log, 14) == (T0 + 31 * DAY - 14 * DAY, T0 + 30 * DAY + 36_001)
    # a log ending exactly at midnight - 1 s: its end is midnight itself
    log = as_log([(0, 0, T0), (0, 1, T0 + 30 * DAY - 1)], 1, 2)
    assert validation_plan(log, 7) == (T0 + 23 * DAY, T0 + 30 * DAY)


def test_training_cutoffs_at_the_history_boundary() -> None:
    log = as_log([(0, 0, T0), (0, 1, T0 + 100 * DAY)], 1, 2)
    # last cutoff day 30, stride 7, at least 9 days of history: 30, 23, 16, 9 (9 - 0 = 9 days is enough)
    cuts = training_cutoffs(log, T0 + 30 * DAY, stride_days=7, min_history_days=9, max_cutoffs=None)
    assert cuts.tolist() == [T0 + d * DAY for d in (9, 16, 23, 30)]
    # the most recent ones are kept
    assert training_cutoffs(log, T0 + 30 * DAY, stride_days=7, min_history_days=9,
                            max_cutoffs=2).tolist() == [T0 + 23 * DAY, T0 + 30 * DAY]
    assert training_cutoffs(log, T0 + 30 * DAY, stride_days=7, min_history_days=9, max_cutoffs=0).tolist() == []
    assert training_cutoffs(log, T0 + 8 * DAY, stride_days=7, min_history_days=9, max_cutoffs=None).tolist() == []
    # exactly 10,000 cutoffs are allowed, 10,001 are not
    assert len(training_cutoffs(log, T0 + 9_999 * 60, stride_days=1 / 1440, min_history_days=0,
                                max_cutoffs=None)) == 10_000
    with pytest.raises(ConfigError, match="makes 10,001 training cutoffs"):
        training_cutoffs(log, T0 + 10_000 * 60, stride_days=1 / 1440, min_history_days=0, max_cutoffs=None)
    # the same count with a day of history required before the first cutoff
    assert len(training_cutoffs(log, T0 + DAY + 9_999 * 60, stride_days=1 / 1440, min_history_days=1,
                                max_cutoffs=None)) == 10_000
    with pytest.raises(ConfigError, match="makes 10,001 training cutoffs"):
        training_cutoffs(log, T0 + DAY + 10_000 * 60, stride_days=1 / 1440, min_history_days=1, max_cutoffs=None)
    # a stride of one second is allowed; under a second is not, and says so
    assert training_cutoffs(log, T0 + 30 * DAY, stride_days=1 / DAY, min_history_days=0,
                            max_cutoffs=3).tolist() == [T0 + 30 * DAY - 2, T0 + 30 * DAY - 1, T0 + 30 * DAY]
    with pytest.raises(ConfigError, match=r"^stride_days must be at least one second \(1/86400 of a day\), got 1e-06$"):
        training_cutoffs(log, T0 + 30 * DAY, stride_days=1e-6, min_history_days=0, max_cutoffs=3)


def test_binary_inputs_keep_the_pattern() -> None:
    import scipy.sparse as sp

    x = sp.csr_matrix(np.array([[0.5, 0.0, 2.0], [0.0, 0.0, 0.0], [0.0, 3.0, 0.0]], dtype=np.float32))
    b = binary(x)
    assert b.shape == (3, 3) and b.dtype == np.float32
    assert b.toarray().tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]


def test_select_items_recent_window_is_the_last_28_days_of_the_log() -> None:
    """Item 2 (3 buyers exactly 28 days before the log's end) is the recent riser; item 3 (4 buyers a
    second earlier) is not recent, only second of all time: two items are 0 (all time) and 2 (recent)."""
    last = T0 + 100 * DAY
    end = last + 1  # the log ends a second after its last event
    events = [(u, 0, T0) for u in range(5)] + [(u, 1, T0 + 1) for u in range(3)]
    events += [(u, 3, end - 28 * DAY - 1) for u in range(4)] + [(u, 2, end - 28 * DAY) for u in range(3)]
    events += [(0, 4, last - 1), (1, 4, last)]
    log = as_log(sorted(events, key=lambda e: e[2]), 5, 5)
    assert select_items(log, 2).tolist() == [0, 2]
    assert select_items(log, 3).tolist() == [0, 2, 3]


def test_input_values_where_the_patterns_differ_and_now_varies_by_row() -> None:
    import scipy.sparse as sp

    days = sp.csr_matrix(np.array([[2.0, 1.0], [0.0, 1.0]]))
    # the last-time matrix lacks the explicit entry of (0, 1): its time is 0 -> a very old event
    last = sp.csr_matrix((np.array([T0 - 4 * DAY, T0 - 2 * DAY]), np.array([0, 1]), np.array([0, 1, 2])),
                         shape=(2, 2))
    now = np.array([T0, T0 - 3 * DAY])  # row 1's event lies after its "now": age 0, weight 1
    got = input_values(days, last, now, "recency-frequency", 2.0).toarray()
    np.testing.assert_allclose(got, [[0.25 * (1 + math.log(2)), 0.5 ** (T0 / DAY / 2)], [0, 1.0]], rtol=1e-6)


def test_ease_priors_leave_out_an_event_exactly_at_the_cutoff() -> None:
    """The prior of the examples at a cutoff sees only events strictly before it: two customers who
    buy items 0 and 1 together exactly at the cutoff add nothing to that cutoff's prior."""
    c = T0 + 5 * DAY
    events = [(0, 0, T0), (0, 1, T0 + DAY), (1, 0, c), (1, 1, c), (2, 0, c), (2, 1, c)]
    log = as_log(events, 3, 2)
    priors = ease_priors(log, np.arange(2), np.array([c, c + 1]), 1.0)
    gram_before = np.array([[1.0, 1.0], [1.0, 1.0]])  # user 0 only
    gram_all = np.array([[3.0, 3.0], [3.0, 3.0]])
    np.testing.assert_allclose(priors[0], ease_weights(gram_before, 1.0), rtol=1e-6)
    np.testing.assert_allclose(priors[1], ease_weights(gram_all, 1.0), rtol=1e-6)


# -- customer cutoffs ------------------------------------------------------------------------------

def user_reference(events: list[Event], base_cutoffs: list[int], latest: int, window_days: float, kind: str,
                   half_life_days: float, target: str, n_items: int, min_gap_days: float
                   ) -> dict[tuple[int, int], tuple[list[float], list[float]]]:
    """Every customer cutoff the docs allow (per_user large): a customer's own event time, not
    their first, at most ``latest``, not before the first global cutoff, at least ``min_gap_days``
    after their previous event time; the example is the recipe's at that time."""
    out = {}
    for user in sorted({u for u, _, _ in events}):
        times = sorted({t for u, _, t in events if u == user})
        for prev, t in itertools.pairwise(times):
            if t > latest or t < base_cutoffs[0] or t - prev < min_gap_days * DAY:
                continue
            r = reference(events, user, t, window_days, kind, half_life_days, target, n_items)
            if r is not None:
                out[(t, user)] = r
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("target", "gap"), [("new", 0.0), ("any", 0.0), ("new", 2.0)])
@pytest.mark.parametrize("grid", [[T0 + DAY, CUT], [T0 - DAY, CUT], [CUT - 1, CUT + DAY]])
def test_customer_cutoffs_equal_the_recipe(kind: str, target: str, gap: float, grid: list[int]) -> None:
    """(The grids: the first global cutoff after the first event, before the log, and exactly at a
    customer's event time.)"""
    log = as_log(EVENTS, 5, 5)
    base = build_examples(log, np.arange(5), np.array(grid), mode="time-aware", window_days=WINDOW,
                          input_kind=kind, half_life_days=4.0, target=target)  # type: ignore[arg-type]
    latest = CUT + 3 * DAY
    both = add_user_cutoffs(log, np.arange(5), base, per_user=100, latest=latest, window_days=WINDOW,
                            input_kind=kind, half_life_days=4.0, target=target,  # type: ignore[arg-type]
                            rng=np.random.default_rng(0), min_gap_days=gap)
    assert both.cutoffs is base.cutoffs and both.trend is base.trend
    extra = ExampleSet(both.inputs[len(base):], both.targets[len(base):], both.cutoff_id[len(base):], both.cutoffs,
                       both.trend, both.users[len(base):], both.times[len(base):])
    got = rows_of(extra)
    want = user_reference(EVENTS, grid, latest, WINDOW, kind, 4.0, target, 5, gap)
    assert sorted(got) == sorted(want)
    for key, (x, y) in want.items():
        np.testing.assert_allclose(got[key][0], x, rtol=1e-6, err_msg=str(key))
        np.testing.assert_allclose(got[key][1], y, rtol=1e-6, err_msg=str(key))
    # trend features: the latest global cutoff at or before the example's time
    assert extra.cutoff_id.tolist() == [int(np.searchsorted(grid, t, side="right")) - 1 for t in extra.times.tolist()]
    assert both.inputs[:len(base)].toarray().tolist() == base.inputs.toarray().tolist()


@pytest.mark.parametrize("shift", [-(T0 + 20 * 365 * DAY), 4_000_000_000 - 4_000_000_000 % DAY])
def test_customer_cutoffs_in_any_era(shift: int) -> None:
    """The same log in 1950 (negative epoch seconds) and after 2106 (past 32 bits) gives the recipe's
    examples (times were packed into 32 bits and clipped: every customer cutoff was lost)."""
    events = [(u, i, t + shift) for u, i, t in EVENTS]
    grid, latest = [T0 + DAY + shift, CUT + shift], CUT + 3 * DAY + shift
    log = as_log(events, 5, 5)
    base = build_examples(log, np.arange(5), np.array(grid), mode="time-aware", window_days=WINDOW,
                          input_kind="recency", half_life_days=4.0, target="new")
    both = add_user_cutoffs(log, np.arange(5), base, per_user=100, latest=latest, window_days=WINDOW,
                            input_kind="recency", half_life_days=4.0, target="new", rng=np.random.default_rng(0))
    got = rows_of(ExampleSet(both.inputs[len(base):], both.targets[len(base):], both.cutoff_id[len(base):],
                             both.cutoffs, both.trend, both.users[len(base):], both.times[len(base):]))
    want = user_reference(events, grid, latest, WINDOW, "recency", 4.0, "new", 5, 0.0)
    assert len(want) == 4 and sorted(got) == sorted(want)
    # and the global cutoffs' examples
    got.update(rows_of(base))
    want.update({(c, u): r for c in grid for u in range(5)
                 if (r := reference(events, u, c, WINDOW, "recency", 4.0, "new", 5)) is not None})
    assert sorted(got) == sorted(want)
    for key, (x, y) in want.items():
        np.testing.assert_allclose(got[key][0], x, rtol=1e-6, err_msg=str(key))
        np.testing.assert_allclose(got[key][1], y, rtol=1e-6, err_msg=str(key))


def test_customer_cutoffs_spelled_out() -> None:
    """User 0 at CUT - 1 (its item 1): input item 0 (days 0 and 2), target items 1 and 2 in the week
    from CUT - 1 (item 3 comes exactly when that week ends). At CUT (item 2): input 0 and 1, target 2
    and 3 (item 4 comes exactly when this week ends)."""
    log = as_log(EVENTS, 5, 5)
    base = build_examples(log, np.arange(5), np.array([T0 + DAY]), mode="time-aware", window_days=WINDOW,
                          input_kind="frequency", half_life_days=4.0)
    both = add_user_cutoffs(log, np.arange(5), base, per_user=100, latest=CUT, window_days=WINDOW,
                            input_kind="frequency", half_life_days=4.0, target="new", rng=np.random.default_rng(0))
    got = rows_of(ExampleSet(both.inputs[len(base):], both.targets[len(base):], both.cutoff_id[len(base):],
                             both.cutoffs, both.trend, both.users[len(base):], both.times[len(base):]))
    x, y = got[(CUT - 1, 0)]
    np.testing.assert_allclose(x, [1 + math.log(2), 0, 0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(y, [0, 0.5, 0.5, 0, 0], rtol=1e-6)
    x, y = got[(CUT, 0)]
    np.testing.assert_allclose(x, [1 + math.log(2), 1, 0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(y, [0, 0, 0.5, 0.5, 0], rtol=1e-6)
    assert (CUT + DAY, 1) not in got  # later than latest


def test_customer_cutoffs_per_user_cap_and_none() -> None:
    log = as_log(EVENTS, 5, 5)
    base = build_examples(log, np.arange(5), np.array([T0 + DAY]), mode="time-aware", window_days=WINDOW,
                          input_kind="binary", half_life_days=4.0)
    one = add_user_cutoffs(log, np.arange(5), base, per_user=1, latest=CUT + 5 * DAY, window_days=WINDOW,
                           input_kind="binary", half_life_days=4.0, target="any", rng=np.random.default_rng(0))
    assert np.bincount(one.users[len(base):]).max() == 1
    assert add_user_cutoffs(log, np.arange(5), base, per_user=0, latest=CUT, window_days=WINDOW,
                            input_kind="binary", half_life_days=4.0, target="new",
                            rng=np.random.default_rng(0)) is base


def test_select_items_ranks_by_buyers_and_keeps_recent_risers() -> None:
    # items 0..3 have 4, 3, 2, 1 distinct buyers long ago; item 4 two buyers in the last 28 days
    events = [(u, i, T0 + u) for i, n in enumerate([4, 3, 2, 1]) for u in range(n)]
    events += [(0, 4, T0 + 90 * DAY), (1, 4, T0 + 90 * DAY + 1)]
    log = as_log(sorted(events, key=lambda e: e[2]), 4, 6)
    assert select_items(log, 2).tolist() == [0, 4]  # 4 is first in the recent ranking, 0 in the all-time one
    assert select_items(log, 3).tolist() == [0, 1, 4]
    assert select_items(log, 10).tolist() == [0, 1, 2, 3, 4]  # item 5 never sold


def test_customer_cutoffs_over_a_subset_of_items() -> None:
    """Events of items outside the columns are neither input nor target; a customer whose earlier
    events are all outside the columns has no input there, so no example."""
    cols = np.array([0, 2, 4])
    log = as_log(EVENTS, 5, 5)
    base = build_examples(log, cols, np.array([T0 + DAY]), mode="time-aware", window_days=WINDOW,
                          input_kind="binary", half_life_days=4.0)
    both = add_user_cutoffs(log, cols, base, per_user=100, latest=CUT + 3 * DAY, window_days=WINDOW,
                            input_kind="binary", half_life_days=4.0, target="any", rng=np.random.default_rng(0))
    got = rows_of(ExampleSet(both.inputs[len(base):], both.targets[len(base):], both.cutoff_id[len(base):],
                             both.cutoffs, both.trend, both.users[len(base):], both.times[len(base):]))
    # the candidate times are the customers' event times of column items: not user 0's CUT - 1 (item 1)
    assert sorted(got) == sorted([(T0 + 2 * DAY + 5, 0), (CUT, 0), (CUT + 3 * DAY, 4)])
    assert got[(CUT, 0)] == ([1, 0, 0], [0, 1, 0])  # input item 0 (not 1); target 2 (not 3, nor 4 at CUT + 7 days)
    assert got[(T0 + 2 * DAY + 5, 0)] == ([1, 0, 0], [1, 0, 0])
    assert got[(CUT + 3 * DAY, 4)] == ([1, 0, 0], [1, 0, 0])
    # user 1 bought only item 1 before CUT + 2 days, its one column event: no example


def test_customer_cutoff_gap_is_at_least_min_gap_days() -> None:
    # item 0 at day 0, item 1 exactly two days later, item 2 one day after that
    log = as_log([(0, 0, T0), (0, 1, T0 + 2 * DAY), (0, 2, T0 + 3 * DAY)], 1, 3)
    base = build_examples(log, np.arange(3), np.array([T0 + DAY]), mode="time-aware", window_days=WINDOW,
                          input_kind="binary", half_life_days=4.0)
    both = add_user_cutoffs(log, np.arange(3), base, per_user=5, latest=T0 + 10 * DAY, window_days=WINDOW,
                            input_kind="binary", half_life_days=4.0, target="new", rng=np.random.default_rng(0),
                            min_gap_days=2.0)
    assert both.times[len(base):].tolist() == [T0 + 2 * DAY]  # a gap of exactly two days is enough
    assert both.inputs[len(base):].toarray().tolist() == [[1, 0, 0]]
    np.testing.assert_allclose(both.targets[len(base):].toarray(), [[0, 0.5, 0.5]])


def test_frequency_inputs_of_customer_cutoffs_with_a_large_column_index() -> None:
    """Distinct days are counted per (example, column) pair, also where that pair's number is large
    (here column 89,999 of 90,000, next to column 89,997): two days before the cutoff, 1 + ln 2."""
    n = 90_000
    log = as_log([(0, n - 1, T0), (0, n - 3, T0), (0, n - 1, T0 + DAY), (0, 0, T0 + 2 * DAY), (0, 1, T0 + 3 * DAY)],
                 1, n)
    cols = np.arange(n)
    base = build_examples(log, cols, np.array([T0 + DAY]), mode="time-aware", window_days=WINDOW,
                          input_kind="frequency", half_life_days=4.0)
    both = add_user_cutoffs(log, cols, base, per_user=5, latest=T0 + 2 * DAY, window_days=WINDOW,
                            input_kind="frequency", half_life_days=4.0, target="new", rng=np.random.default_rng(0))
    order = np.argsort(both.times[len(base):])
    assert both.times[len(base):][order].tolist() == [T0 + DAY, T0 + 2 * DAY]
    x = both.inputs[len(base):][order]
    assert x[0, n - 1] == pytest.approx(1.0) and x[0, n - 3] == pytest.approx(1.0)  # one day before T0 + DAY
    assert x[1, n - 1] == pytest.approx(1 + math.log(2), rel=1e-6) and x[1, n - 3] == pytest.approx(1.0)
    assert x.getrow(0).nnz == 2 and x.getrow(1).nnz == 2


def test_cutoffs_without_examples_do_not_stop_the_later_ones() -> None:
    """A cutoff with an empty window, then one where nobody is active on both sides, then one whose
    window holds a single event: only the last gives an example."""
    events = [(0, 0, T0), (0, 1, T0 + 20 * DAY), (1, 3, T0 + 22 * DAY), (0, 2, T0 + 30 * DAY)]
    log = as_log(events, 2, 4)
    ex = build_examples(log, np.arange(4), np.array([T0 + 10 * DAY, T0 + 21 * DAY, T0 + 25 * DAY]),
                        mode="time-aware", window_days=WINDOW, input_kind="binary", half_life_days=4.0)
    assert ex.times.tolist() == [T0 + 25 * DAY] and ex.users.tolist() == [0] and ex.cutoff_id.tolist() == [2]
    assert ex.inputs.toarray().tolist() == [[1, 1, 0, 0]] and ex.targets.toarray().tolist() == [[0, 0, 1, 0]]


def test_no_examples_at_all_is_an_empty_example_set() -> None:
    log = as_log([(0, 0, T0), (1, 1, T0 + DAY)], 2, 3)
    cutoffs = np.array([T0 + DAY // 2])  # user 0 before, user 1 after: nobody on both sides
    ex = build_examples(log, np.arange(3), cutoffs, mode="time-aware", window_days=WINDOW, input_kind="binary",
                        half_life_days=4.0)
    assert len(ex) == 0 and ex.inputs.shape == (0, 3) and ex.targets.shape == (0, 3)
    assert ex.inputs.dtype == np.float32 and ex.targets.dtype == np.float32
    assert ex.cutoff_id.shape == (0,) and ex.cutoff_id.dtype == np.int32
    assert ex.cutoffs.tolist() == cutoffs.tolist() and ex.cutoffs.dtype == np.int64
    assert ex.trend.shape == (1, 3, 6) and ex.trend[0, 0, 3] == pytest.approx(np.log1p(1))
    assert ex.users.shape == (0,) and ex.users.dtype == np.int64
    assert ex.times.shape == (0,) and ex.times.dtype == np.int64


def test_input_values_leave_the_callers_matrices_alone_and_are_float32() -> None:
    import scipy.sparse as sp

    days = sp.csr_matrix(np.array([[2.0, 0.0, 1.0]], dtype=np.float32))
    last = sp.csr_matrix(np.array([[T0 - 2 * DAY, 0.0, T0]]))
    for kind in KINDS:
        got = input_values(days, last, T0, kind, 2.0)
        assert got.dtype == np.float32
    assert days.toarray().tolist() == [[2.0, 0.0, 1.0]]
    with pytest.raises(ConfigError,
                       match=r"^unknown input encoding 'tfidf'; expected one of binary, recency, frequency, "
                             r"recency-frequency$"):
        input_values(days, last, T0, "tfidf", 2.0)


def test_input_values_where_the_last_times_sit_in_other_columns() -> None:
    """Same number of entries per row, other columns: each item's last time is looked up, not taken
    by position (item 1 has no last time here: 0, a very old event)."""
    import scipy.sparse as sp

    days = sp.csr_matrix(np.array([[1.0, 1.0, 0.0]]))
    last = sp.csr_matrix(np.array([[T0 - 2 * DAY, 0.0, T0]]))
    got = input_values(days, last, T0, "recency", 2.0).toarray()
    np.testing.assert_allclose(got, [[0.5, 0.5 ** (T0 / DAY / 2), 0.0]], rtol=1e-6)
