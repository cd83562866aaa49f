"""Per-user ranking metrics, checked by hand, plus their invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverly.errors import ConfigError
from discoverly.evaluate.metrics import (
    coverage,
    coverage_bootstrap,
    hit_rate,
    hits,
    ndcg,
    per_user_metrics,
    recall,
)


def targets(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    r = [i for i, row in enumerate(rows) for _ in row]
    c = [x for row in rows for x in row]
    return sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), n_items))


# three users, six items; lists of length 3 (user 2's list is short: padded with -1)
TOP = np.array([[0, 1, 2], [3, 4, 5], [5, -1, -1]])
TARGETS = targets([[1, 2, 4], [0], [5, 0]], 6)


def test_hits_marks_targets_and_never_padding() -> None:
    assert hits(TOP, TARGETS).tolist() == [[False, True, True], [False, False, False], [True, False, False]]
    # padding is never a hit even when the user's targets include item 0 (index arithmetic edge)
    assert not hits(np.array([[-1]]), targets([[0]], 3)).any()


def test_hit_rate_by_hand() -> None:
    assert hit_rate(TOP, TARGETS, 1).tolist() == [0.0, 0.0, 1.0]
    assert hit_rate(TOP, TARGETS, 2).tolist() == [1.0, 0.0, 1.0]


def test_recall_by_hand() -> None:
    np.testing.assert_allclose(recall(TOP, TARGETS, 3), [2 / 3, 0.0, 1 / 2])
    np.testing.assert_allclose(recall(TOP, TARGETS, 1), [0.0, 0.0, 1 / 2])


def test_ndcg_by_hand() -> None:
    # user 0: hits at ranks 2 and 3 of 3 targets: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3 + 1/log2 4)
    u0 = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    # user 2: hit at rank 1, two targets: ideal puts both first
    u2 = 1 / (1 + 1 / math.log2(3))
    np.testing.assert_allclose(ndcg(TOP, TARGETS, 3), [u0, 0.0, u2])
    # with k=1 the ideal list holds one target only
    np.testing.assert_allclose(ndcg(TOP, TARGETS, 1), [0.0, 0.0, 1.0])


def test_per_user_metrics_matches_the_single_functions() -> None:
    out = per_user_metrics(TOP, TARGETS, [1, 3])
    assert sorted(out) == sorted(["HitRate@1", "Recall@1", "NDCG@1", "HitRate@3", "Recall@3", "NDCG@3"])
    np.testing.assert_allclose(out["HitRate@3"], hit_rate(TOP, TARGETS, 3))
    np.testing.assert_allclose(out["Recall@1"], recall(TOP, TARGETS, 1))
    np.testing.assert_allclose(out["NDCG@3"], ndcg(TOP, TARGETS, 3))


def test_users_without_targets_are_nan() -> None:
    t = targets([[1], []], 3)
    top = np.array([[1, 0], [1, 0]])
    for f in (hit_rate, recall, ndcg):
        v = f(top, t, 2)
        assert v[0] == 1.0 and math.isnan(v[1])
    # the one-pass path too, without a 0/0 warning (pytest turns warnings into errors)
    for name, v in per_user_metrics(top, t, [1, 2]).items():
        assert v[0] == 1.0 and math.isnan(v[1]), name


def test_hits_is_boolean_even_without_targets() -> None:
    assert hits(TOP, TARGETS).dtype == np.bool_
    none = hits(TOP, sp.csr_matrix((3, 6)))
    assert none.dtype == np.bool_ and none.shape == (3, 3) and not none.any()


def test_duplicate_target_entries_count_once() -> None:
    t = sp.csr_matrix((np.ones(3), ([0, 0, 0], [1, 1, 2])), shape=(1, 4))
    np.testing.assert_allclose(recall(np.array([[1, 3]]), t, 2), [0.5])


def test_coverage_by_hand() -> None:
    # items shown in the top 1: {0, 3, 5}; top 3: {0..5}
    assert coverage(TOP, 1, 6) == pytest.approx(3 / 6)
    assert coverage(TOP, 3, 6) == pytest.approx(1.0)
    mask = np.array([True, True, False, False, False, False])
    assert coverage(TOP, 1, 6, recommendable=mask) == pytest.approx(1 / 2)
    # one recommendable item, shown: full coverage; nothing recommendable: undefined
    assert coverage(TOP, 1, 6, recommendable=np.arange(6) == 3) == 1.0
    assert math.isnan(coverage(TOP, 1, 6, recommendable=np.zeros(6, dtype=bool)))


def test_coverage_bootstrap_interval_contains_plausible_values() -> None:
    rng = np.random.default_rng(0)
    top = rng.integers(0, 400, size=(300, 6))
    est = coverage_bootstrap(top, 6, 1000, rng=1)
    assert est.value == pytest.approx(coverage(top, 6, 1000))
    assert 0 <= est.low < est.value < est.high <= 1  # re-centred on the value despite the resampling bias
    assert est.n == 300
    # when every user sees the same few items, there is nothing to vary
    same = coverage_bootstrap(np.tile(np.arange(6), (50, 1)), 6, 10)
    assert (same.value, same.low, same.high) == pytest.approx((0.6, 0.6, 0.6))


def reference_coverage_bootstrap(top: np.ndarray, k: int, mask: np.ndarray, level: float, n_boot: int,
                                 seed: int) -> tuple[float, float, float]:
    """The documented recipe, written out with Python sets: resample users with replacement (one
    ``integers(0, n, (n_boot, n))`` draw), count the distinct recommendable items shown, take the
    quantiles, shift them by ``value - mean`` and clip to [0, 1]."""
    shown = [{int(i) for i in row[:k] if i >= 0 and mask[i]} for row in top]
    denom = int(mask.sum())
    value = len(set().union(*shown)) / denom
    draws = np.random.default_rng(seed).integers(0, len(top), size=(n_boot, len(top)))
    values = np.array([len(set().union(*(shown[u] for u in d))) / denom for d in draws])
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha]) + (value - values.mean())
    return value, max(0.0, float(low)), min(1.0, float(high))


# 40 users, 100 items, lists of 4 with padding; item 0 is shown; the last user's list is all padding
BOOT_TOP = np.random.default_rng(3).integers(-1, 100, size=(40, 4))
BOOT_TOP[-1] = -1
BOOT_TOP[0, 0] = 0
BOOT_MASK = np.arange(100) % 4 != 1  # items 1, 5, 9, ... are not recommendable


@pytest.mark.parametrize(("k", "level", "n_boot", "seed"), [(3, 0.9, 50, 7), (4, 0.95, 200, 0)])
def test_coverage_bootstrap_matches_the_recipe(k: int, level: float, n_boot: int, seed: int) -> None:
    est = coverage_bootstrap(BOOT_TOP, k, 100, recommendable=BOOT_MASK, level=level, n_boot=n_boot, rng=seed)
    expected = reference_coverage_bootstrap(BOOT_TOP, k, BOOT_MASK, level, n_boot, seed)
    assert (est.value, est.low, est.high) == pytest.approx(expected, abs=1e-12)
    assert est.low < est.value < est.high and est.n == 40
    # a Generator is used as given
    again = coverage_bootstrap(BOOT_TOP, k, 100, recommendable=BOOT_MASK, level=level, n_boot=n_boot,
                               rng=np.random.default_rng(seed))
    assert (again.low, again.high) == (est.low, est.high)


def test_coverage_bootstrap_defaults_are_200_replicates_seed_0_at_95_percent() -> None:
    est = coverage_bootstrap(BOOT_TOP, 4, 100)
    assert (est.value, est.low, est.high) == pytest.approx(
        reference_coverage_bootstrap(BOOT_TOP, 4, np.ones(100, dtype=bool), 0.95, 200, 0), abs=1e-12)


def test_coverage_bootstrap_interval_is_clipped_to_1() -> None:
    # every user sees a different item: full coverage, but resamples miss ~37% of the users, so the
    # re-centred upper quantile lies above 1 before clipping
    est = coverage_bootstrap(np.arange(30)[:, None], 1, 30, n_boot=100)
    assert est.value == 1.0 and est.high == 1.0 and est.low < 1.0


def test_coverage_bootstrap_degenerate_inputs() -> None:
    one = coverage_bootstrap(np.array([[2, 4, -1]]), 3, 5)  # one user: every resample is that user
    assert (one.value, one.low, one.high, one.n) == pytest.approx((0.4, 0.4, 0.4, 1))
    empty = coverage_bootstrap(np.empty((0, 3), dtype=np.int64), 3, 5)  # no users: nothing to resample
    assert empty.value == 0.0 and math.isnan(empty.low) and math.isnan(empty.high) and empty.n == 0
    unmasked = coverage_bootstrap(TOP, 3, 6, recommendable=np.zeros(6, dtype=bool))  # nothing recommendable
    assert all(math.isnan(x) for x in (unmasked.value, unmasked.low, unmasked.high)) and unmasked.n == 3
    assert unmasked.to_dict()["n"] == 3
    assert one.to_dict() == {"value": 0.4, "ci": [0.4, 0.4], "n": 1}


def test_coverage_bootstrap_in_several_chunks() -> None:
    # more than 10,000 users: the replicates are drawn in chunks of 2,000,000 // n users each
    est = coverage_bootstrap(np.tile([0, 2], (20_001, 1)), 2, 4, n_boot=110)
    assert (est.value, est.low, est.high) == pytest.approx((0.5, 0.5, 0.5))


@pytest.mark.parametrize(("bad", "message"), [
    (lambda: hit_rate(TOP, TARGETS, 0), "k must be at least 1, got 0"),
    (lambda: hit_rate(TOP, TARGETS, 4), "k=4 but the lists hold only 3 items"),
    (lambda: hits(TOP[:2], TARGETS), r"top has 2 rows \(users\) but targets has 3; .*same users in the same order"),
    (lambda: hits(np.array([0, 1]), TARGETS), r"2-d .* got shape \(2,\)"),
    (lambda: hits(np.array([[9]] * 3), TARGETS), "item index 9 but targets has only 6 items"),
    (lambda: hits(np.array([[6]] * 3), TARGETS), "item index 6 but targets has only 6 items"),  # one past the end
    (lambda: coverage(TOP, 1, 6, recommendable=np.ones(3, dtype=bool)), r"mask of 6 items, got shape \(3,\)"),
])
def test_bad_inputs_raise_config_errors(bad, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        bad()


@st.composite
def ranked_lists(draw: st.DrawFn) -> tuple[np.ndarray, sp.csr_matrix, int]:
    n_items = draw(st.integers(2, 12))
    n_users = draw(st.integers(1, 8))
    k = draw(st.integers(1, n_items))
    rows, tgt = [], []
    for _ in range(n_users):
        perm = draw(st.permutations(list(range(n_items))))
        length = draw(st.integers(0, k))
        rows.append(list(perm[:length]) + [-1] * (k - length))
        tgt.append(draw(st.lists(st.integers(0, n_items - 1), min_size=1, max_size=n_items, unique=True)))
    return np.array(rows, dtype=np.int64), targets(tgt, n_items), k


@settings(max_examples=60, deadline=None)
@given(ranked_lists())
def test_metrics_are_within_0_and_1_and_ordered(data: tuple[np.ndarray, sp.csr_matrix, int]) -> None:
    top, t, k = data
    out = per_user_metrics(top, t, list(range(1, k + 1)))
    for name, v in out.items():
        assert np.all((v >= 0) & (v <= 1 + 1e-12)), name
    for j in range(1, k + 1):
        assert np.all(out[f"HitRate@{j}"] >= out[f"Recall@{j}"] - 1e-12)
        assert np.all(out[f"HitRate@{j}"] >= out[f"NDCG@{j}"] - 1e-12)
        if j > 1:  # longer lists never find fewer targets
            assert np.all(out[f"HitRate@{j}"] >= out[f"HitRate@{j - 1}"])
            assert np.all(out[f"Recall@{j}"] >= out[f"Recall@{j - 1}"] - 1e-12)
    assert 0 <= coverage(top, k, t.shape[1]) <= 1


@settings(max_examples=60, deadline=None)
@given(ranked_lists())
def test_a_perfect_list_scores_one(data: tuple[np.ndarray, sp.csr_matrix, int]) -> None:
    _, t, _ = data
    sizes = np.diff(t.indptr)
    k = int(sizes.max())
    perfect = np.full((t.shape[0], k), -1, dtype=np.int64)
    for r in range(t.shape[0]):
        row = t.indices[t.indptr[r]:t.indptr[r + 1]]
        perfect[r, :len(row)] = row
    out = per_user_metrics(perfect, t, [k])
    np.testing.assert_allclose(out[f"NDCG@{k}"], 1.0)
    np.testing.assert_allclose(out[f"Recall@{k}"], 1.0)
