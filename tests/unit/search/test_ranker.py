"""LambdaMART ranker and the group-aware split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverly.errors import DataError, NotFittedError
from discoverly.search.ranker import LambdaRanker, RankerConfig, group_split


def _groups(n_groups: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = rng.normal(size=(n_groups * size, 3)).astype(np.float32)
    y = np.zeros(n_groups * size, dtype=np.float32)
    for g in range(n_groups):
        rows = slice(g * size, (g + 1) * size)
        y[g * size + int(np.argmax(X[rows, 0] + 0.1 * X[rows, 1]))] = 1.0  # the signal is feature 0
    return X, y, np.full(n_groups, size)


def test_learns_the_signal_and_round_trips() -> None:
    rng = np.random.default_rng(0)
    X, y, g = _groups(300, 10, rng)
    Xv, yv, gv = _groups(60, 10, rng)
    cfg = RankerConfig(n_estimators=60, min_data_in_leaf=5, threads=1)
    ranker = LambdaRanker(["a", "b", "c"], cfg).fit(X, y, g, valid=(Xv, yv, gv), rng=0)
    assert ranker.valid_ndcg is not None and ranker.valid_ndcg > 0.8
    assert next(iter(ranker.importance())) == "a"
    manifest, arrays = ranker.to_parts("r")
    again = LambdaRanker.from_parts(manifest, arrays, "r")
    np.testing.assert_allclose(again.predict(Xv), ranker.predict(Xv))


def test_a_ranker_that_learned_nothing_says_so(caplog: pytest.LogCaptureFixture) -> None:
    X, y, g = _groups(3, 4, np.random.default_rng(0))  # 12 rows: no leaf can hold min_data_in_leaf=50
    with caplog.at_level("WARNING", logger="discoverly.search.ranker"):
        ranker = LambdaRanker(["a", "b", "c"]).fit(X, y, g, rng=0)
    assert "made no split on 12 training rows (3 groups" in caplog.text
    assert np.unique(ranker.predict(X)).size == 1
    caplog.clear()
    X, y, g = _groups(300, 10, np.random.default_rng(0))
    with caplog.at_level("WARNING", logger="discoverly.search.ranker"):
        LambdaRanker(["a", "b", "c"], RankerConfig(n_estimators=5, min_data_in_leaf=5)).fit(X, y, g, rng=0)
    assert "no split" not in caplog.text


def test_errors_are_explained() -> None:
    ranker = LambdaRanker(["a", "b"])
    with pytest.raises(DataError, match="feature columns"):
        ranker.fit(np.zeros((4, 3)), np.zeros(4), [4])
    with pytest.raises(DataError, match="sum to"):
        ranker.fit(np.zeros((4, 2)), np.ones(4), [3])
    with pytest.raises(DataError, match="no positive"):
        ranker.fit(np.zeros((4, 2)), np.zeros(4), [4])
    with pytest.raises(NotFittedError):
        ranker.predict(np.zeros((1, 2)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=2, max_size=60), st.integers(0, 1000))
def test_group_split_never_splits_a_key(keys: list[int], seed: int) -> None:
    mask = group_split(keys, 0.3, rng=seed)
    assert mask.shape == (len(keys),)
    for key in set(keys):
        sides = {bool(m) for k, m in zip(keys, mask, strict=True) if k == key}
        assert len(sides) == 1
    if len(set(keys)) > 1:
        assert mask.any() and not mask.all()
