"""EASE: the closed form on a tiny matrix, the frequent-item restriction, save/load, bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverly.data import Interactions
from discoverly.errors import ConfigError
from discoverly.recommend import BaseRecommender, History
from discoverly.recommend.ease import EASE, ease_weights

from .conftest import damage_saved_array, shop_log

DAY = 86_400
T0 = 1_600_000_000


def tiny() -> Interactions:
    # 5 users x 4 items; item 3 is bought by nobody
    pairs = [(0, 0), (0, 1), (1, 0), (1, 2), (2, 1), (2, 2), (3, 0), (3, 1), (3, 2), (4, 0)]
    users, items = zip(*pairs, strict=True)
    times = T0 + np.arange(len(pairs)) * DAY
    return Interactions.from_indices(list(users), list(items), times, n_users=5, n_items=4)


def test_equals_the_closed_form_computed_here() -> None:
    log = tiny()
    lam = 2.0
    x = np.zeros((5, 3))
    for u, i in zip(log.user_index, log.item_index, strict=True):
        x[u, i] = 1.0
    p = np.linalg.inv(x.T @ x + lam * np.eye(3))
    b = np.eye(3) - p / np.diag(p)  # B = I - P diag(1/diag(P))
    np.testing.assert_allclose(np.diag(b), 0.0, atol=1e-12)
    model = EASE(l2=lam).fit(log)
    assert model.cols_ is not None and model.cols_.tolist() == [0, 1, 2]  # item 3 has no events
    np.testing.assert_allclose(model.B_, b, rtol=1e-5, atol=1e-6)
    scores = model._score(History.of(log, np.arange(5)))
    np.testing.assert_allclose(scores[:, :3], x @ b, rtol=1e-5, atol=1e-6)
    assert np.isneginf(scores[:, 3]).all()
    # user 4 bought item 0 only: its scores are row 0 of B
    idx, _ = model.recommend_indices(History.of(log, np.array([4])), k=3)
    expected = [1 + int(j) for j in np.argsort(-b[0, 1:], kind="stable")]
    assert idx[0, :2].tolist() == expected


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12), st.floats(0.1, 100.0), st.integers(0, 10_000))
def test_ease_weights_match_the_inverse_for_random_grams(n: int, lam: float, seed: int) -> None:
    x = (np.random.default_rng(seed).random((30, n)) < 0.3).astype(float)
    g = x.T @ x
    p = np.linalg.inv(g + lam * np.eye(n))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(ease_weights(g, lam), expected, rtol=1e-7, atol=1e-10)




def test_ease_weights_leave_the_callers_gram_alone_and_name_a_gram_that_is_not_positive_definite() -> None:
    g = np.asfortranarray(np.array([[3.0, 1.0], [1.0, 2.0]]))  # already float64 and column-major
    b = ease_weights(g, 1.0)
    assert g.tolist() == [[3.0, 1.0], [1.0, 2.0]]
    # G + λI = [[4, 1], [1, 3]], P ∝ [[3, -1], [-1, 4]] and B_ij = -P_ij / P_jj
    np.testing.assert_allclose(b, [[0, 1 / 4], [1 / 3, 0]])
    with pytest.raises(ConfigError, match=r"not positive definite \(LAPACK info 1\); increase l2"):
        ease_weights(-3.0 * np.eye(2), 1.0)

@pytest.mark.parametrize("n, block", [(1, 4), (7, 3), (9, 4), (10, 512)])
def test_mirror_upper_copies_the_upper_triangle_exactly(n: int, block: int) -> None:
    from discoverly.recommend.ease import _mirror_upper

    upper = np.triu(np.random.default_rng(n).random((n, n)))
    p = np.asfortranarray(upper + np.tril(np.full((n, n), np.nan), -1))  # the lower triangle is never read
    _mirror_upper(p, block)
    assert np.array_equal(p, upper + np.triu(upper, 1).T)


def test_ease_weights_across_blocks_are_c_ordered_and_match_the_inverse() -> None:
    n = 1_100  # three blocks of the in-place symmetrisation
    x = (np.random.default_rng(3).random((400, n)) < 0.05).astype(float)
    g = x.T @ x
    b = ease_weights(g, 5.0)
    p = np.linalg.inv(g + 5.0 * np.eye(n))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    assert b.flags.c_contiguous  # scoring multiplies history rows by it
    np.testing.assert_allclose(b, expected, rtol=1e-7, atol=1e-10)

def test_large_catalogues_are_restricted_to_frequent_items_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    log = shop_log(rng=4)
    counts = log.item_counts()
    with caplog.at_level(logging.WARNING, logger="discoverly.recommend.ease"):
        model = EASE(max_items=10).fit(log)
    assert model.restricted_ and "restricted to the 10 most frequent" in caplog.text
    assert model.cols_ is not None and len(model.cols_) == 10
    assert counts[model.cols_].min() >= np.sort(counts)[::-1][9]
    scores = model._score(History.of(log, np.arange(4)))
    outside = np.setdiff1d(np.arange(log.n_items), model.cols_)
    assert np.isneginf(scores[:, outside]).all()
    full = EASE().fit(log)
    assert not full.restricted_


def closed_form(x: np.ndarray, lam: float) -> np.ndarray:
    """Steck's ``B = I − P diag(1/diag(P))``, ``P = (XᵀX + λI)⁻¹``, with numpy's inverse."""
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    return np.eye(x.shape[1]) - p / np.diag(p)


def log_of(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    users, items = zip(*pairs, strict=True)
    return Interactions.from_indices(list(users), list(items), T0 + np.arange(len(pairs)) * DAY,
                                     n_users=n_users, n_items=n_items)


def test_an_item_bought_on_several_days_counts_once_in_the_gram_and_the_scores() -> None:
    # user 0 buys item 0 on three days and item 1 on two: X is binary (Steck), not the day counts
    pairs = [(0, 0), (0, 0), (0, 0), (0, 1), (0, 1), (1, 0), (1, 2), (2, 1), (2, 2), (3, 0), (3, 1), (3, 2)]
    log = log_of(pairs, 4, 3)
    assert log.matrix("days").max() == 3
    x = np.zeros((4, 3))
    x[log.user_index, log.item_index] = 1.0
    model = EASE(l2=1.5).fit(log)
    np.testing.assert_allclose(model.B_, closed_form(x, 1.5), rtol=1e-5, atol=1e-6)
    scores = model._score(History.of(log, np.arange(4)))
    np.testing.assert_allclose(scores, x @ closed_form(x, 1.5), rtol=1e-5, atol=1e-6)


def test_the_restriction_keeps_the_most_frequent_ties_to_the_lower_index_and_fits_on_them_only(
        caplog: pytest.LogCaptureFixture) -> None:
    # buyers per item: 0: 2, 1: 4, 2: 3, 3: 4, 4: 3, 5: 1 -> the 3 most frequent are 1, 3 and, of the
    # tied 2 and 4, item 2; item 6 has no buyer
    buyers = {0: [0, 1], 1: [0, 1, 2, 3], 2: [1, 2, 4], 3: [0, 2, 3, 4], 4: [0, 3, 4], 5: [4]}
    log = log_of([(u, i) for i, us in buyers.items() for u in us], 5, 7)
    with caplog.at_level(logging.WARNING, logger="discoverly.recommend.ease"):
        model = EASE(l2=1.0, max_items=3).fit(log)
    assert model.cols_ is not None and model.cols_.tolist() == [1, 2, 3]
    assert model.restricted_ and "EASE: 6 items with events exceed max_items=3; restricted to the 3 most frequent " \
        "(64.7% of user-item pairs)" in caplog.text  # (4 + 3 + 4) / 17 pairs
    x = np.zeros((5, 7))
    x[log.user_index, log.item_index] = 1.0
    b = closed_form(x[:, [1, 2, 3]], 1.0)  # the other items' purchases are not in the Gram matrix
    np.testing.assert_allclose(model.B_, b, rtol=1e-5, atol=1e-6)
    scores = model._score(History.of(log, np.arange(5)))
    np.testing.assert_allclose(scores[:, [1, 2, 3]], x[:, [1, 2, 3]] @ b, rtol=1e-5, atol=1e-6)
    assert np.isneginf(scores[:, [0, 4, 5, 6]]).all()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="discoverly.recommend.ease"):
        exact = EASE(l2=1.0, max_items=6).fit(log)  # as many items as have events: nothing is left out
    assert not exact.restricted_ and exact.cols_ is not None and len(exact.cols_) == 6 and not caplog.text


def test_a_history_of_only_items_outside_the_restriction_gets_the_bestsellers() -> None:
    # user 5 bought only item 4, which max_items leaves out: x·B is all zeros, which ranked the
    # model's items in catalogue order (items 0, 1, 2 with score 0) as a personal list
    pairs = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 0), (4, 0), (4, 2), (5, 4)]
    log = log_of(pairs, 6, 5)
    model = EASE(l2=1.0, max_items=4).fit(log)
    assert model.cols_ is not None and model.cols_.tolist() == [0, 1, 2, 3]
    assert np.isneginf(model._score(History.of(log, np.array([5])))).all()
    recs = model.recommend([log.users.id(5)], k=3)
    # the bestsellers by distinct buyers (all 11 days are in the 14-day window): items 0 and 2 with 3,
    # then 1 and 3 with 2, ties to the lower index
    assert recs.indices[0].tolist() == [0, 2, 1] and (recs.scores[0] < 0).all()
    # the whole list is the fallback, and says so (it said False: only an empty history counted)
    both = model.recommend([log.users.id(5), log.users.id(0)], k=3)
    assert both.fallback.tolist() == [True, False]


def test_save_load_round_trip(tmp_path: Path) -> None:
    log = shop_log(rng=5)
    model = EASE(l2=50.0, max_items=20).fit(log)
    back = BaseRecommender.load(model.save(tmp_path / "ease"))
    assert isinstance(back, EASE) and back.restricted_ and back.config() == model.config()
    hist = History.of(log, np.arange(log.n_users))
    np.testing.assert_array_equal(back._score(hist), model._score(hist))


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="l2 must be positive"):
        EASE(l2=0)
    with pytest.raises(ConfigError):
        EASE(max_items=0)


@pytest.mark.parametrize("bad, name", [({"l2": float("inf")}, "l2"), ({"l2": float("nan")}, "l2"),
                                       ({"l2": "500"}, "l2"), ({"max_items": 2.5}, "max_items"),
                                       ({"max_items": "10"}, "max_items")])
def test_bad_types_and_non_finite_settings(bad: dict[str, object], name: str) -> None:
    # l2=inf gave B = NaN and every "personal" list was silently the bestsellers; max_items=2.5 was 2
    with pytest.raises(ConfigError, match=name):
        EASE(**bad)  # type: ignore[arg-type]


def test_a_damaged_artifact_is_an_artifact_error_at_load(tmp_path: Path) -> None:
    from discoverly.errors import ArtifactError

    log = shop_log(rng=5)
    path = EASE(l2=50.0).fit(log).save(tmp_path / "ease")
    damage_saved_array(path, "B", lambda a: a[:3, :3])  # it loaded, then failed with a matmul error at first use
    with pytest.raises(ArtifactError, match="damaged"):
        BaseRecommender.load(path)


def test_an_inverse_larger_than_the_memory_is_refused_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    from discoverly.engine import memory
    from discoverly.errors import ResourceLimitError

    log = shop_log(rng=5)
    n = int((log.item_counts() > 0).sum())
    monkeypatch.setattr(memory, "available_memory", lambda: 20 * n * n - 1)  # one byte short
    with pytest.raises(ResourceLimitError, match="max_items"):
        EASE(max_items=None).fit(log)
    with pytest.raises(ResourceLimitError, match=r"\(max_items=1000\)"):
        EASE(max_items=1000).fit(log)
    monkeypatch.setattr(memory, "available_memory", lambda: 20 * n * n)
    assert EASE(max_items=None).fit(log).cols_ is not None
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # unknown: no check
    assert EASE(max_items=None).fit(log).cols_ is not None
