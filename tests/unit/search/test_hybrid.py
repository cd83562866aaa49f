"""Reciprocal-rank fusion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverly.errors import ConfigError
from discoverly.search.hybrid import reciprocal_rank_fusion, rrf_scores


def test_fusion_by_hand() -> None:
    items, scores = reciprocal_rank_fusion([np.array([1, 2, 3]), np.array([3, 4])], weights=[1.0, 2.0], k0=1.0)
    # 1: 1/2; 2: 1/3; 3: 1/4 + 2/2 = 1.25; 4: 2/3
    assert items.tolist() == [3, 4, 1, 2]
    np.testing.assert_allclose(scores, [1.25, 2 / 3, 0.5, 1 / 3])


def test_fusion_edge_cases() -> None:
    assert reciprocal_rank_fusion([np.array([]), np.array([])])[0].size == 0
    assert reciprocal_rank_fusion([np.array([5, 6])], k=1)[0].tolist() == [5]
    with pytest.raises(ConfigError):
        rrf_scores([np.array([1])], weights=[1.0, 1.0])


@given(st.lists(st.lists(st.integers(0, 30), unique=True, max_size=12), min_size=1, max_size=3))
def test_fused_items_are_the_union_sorted_by_score(lists: list[list[int]]) -> None:
    arrays = [np.array(x, dtype=np.int64) for x in lists]
    items, scores = reciprocal_rank_fusion(arrays)
    assert set(items.tolist()) == set().union(*map(set, lists))
    assert len(set(items.tolist())) == items.size
    assert np.all(np.diff(scores) <= 1e-12)
