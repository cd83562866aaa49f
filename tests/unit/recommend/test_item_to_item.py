"""ItemToItem: related lists, the aggregation of a user's recent items, and persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from discoverly.data import Interactions
from discoverly.errors import ConfigError, NotFittedError, UnknownIdError
from discoverly.recommend import BaseRecommender, History
from discoverly.recommend.item_to_item import ItemToItem
from discoverly.recommend.recency import aligned_values, recent_item_weights
from discoverly.recommend.relatedness import related_items

from .conftest import DAY, T0


def test_related_reads_the_relatedness_matrix(shop: Interactions) -> None:
    model = ItemToItem("corrected", min_count=2, neighbours=10).fit(shop)
    rel = related_items(shop.matrix("binary"), "corrected", min_count=2, neighbours=10)
    out = model.related([0, 5], k=3)
    assert out.kind == "item" and out.indices.shape == (2, 3)
    for row, item in enumerate([0, 5]):
        idx, sc = rel.neighbours_of(item)
        assert out.ids(row) == idx[:3].tolist()
        np.testing.assert_allclose(out.scores[row][: len(sc[:3])], sc[:3])
    assert not out.fallback.any()
    assert out.to_polars().columns == ["item", "rank", "related_item", "score", "fallback"]


def test_related_of_unknown_item_raises(shop: Interactions) -> None:
    model = ItemToItem("cosine").fit(shop)
    with pytest.raises(UnknownIdError, match="unknown item"):
        model.related(["no such item"])
    with pytest.raises(KeyError):  # UnknownIdError is also a KeyError
        model.related([10_000])


def test_related_of_an_isolated_item() -> None:
    # item 2 is only bought by a customer who bought nothing else
    log = Interactions.from_indices([0, 0, 1, 1, 2], [0, 1, 0, 1, 2], np.arange(5) * DAY + T0)
    model = ItemToItem("cosine", min_count=1).fit(log)
    plain = model.related([2], k=2)
    assert plain.ids(0) == [] and not plain.fallback[0]
    filled = model.related([2], k=2, fill=True)
    assert filled.fallback[0] and 2 not in filled.ids(0) and len(filled.ids(0)) == 2


def test_recommend_aggregates_recent_items_by_hand() -> None:
    """Three items; user 9 bought item 0 (10 days ago) and item 1 (today)."""
    day0 = T0 + 100 * DAY
    users = [0, 0, 1, 1, 2, 2, 9, 9]
    items = [0, 2, 0, 2, 1, 2, 0, 1]
    times = [T0, T0, T0, T0, T0, T0, day0 - 10 * DAY, day0]
    log = Interactions.from_indices(users, items, np.array(times), n_users=10, n_items=4)
    model = ItemToItem("cosine", min_count=1, half_life_days=10.0, recent_items=None).fit(log)
    sim = model.similarity_.toarray()
    now = day0 + 1
    hist = History.of(log, np.array([9]), now=now)
    w0, w1 = 2 ** (-(10 * DAY + 1) / DAY / 10), 2 ** (-1 / DAY / 10)
    scores = model._score(hist)
    assert scores[0, 2] == pytest.approx(w0 * sim[0, 2] + w1 * sim[1, 2], rel=1e-5)
    assert scores[0, 3] == -np.inf  # no opinion on item 3
    # only the most recent item speaks with recent_items=1
    one = ItemToItem("cosine", min_count=1, half_life_days=10.0, recent_items=1).fit(log)
    assert one._score(hist)[0, 2] == pytest.approx(w1 * sim[1, 2], rel=1e-5)


def test_normalize_scales_each_list_to_one(shop: Interactions) -> None:
    model = ItemToItem("corrected", normalize=True).fit(shop)
    w = model._weights
    best = np.array([w.data[a:b].max() for a, b in zip(w.indptr[:-1], w.indptr[1:], strict=True) if b > a])
    np.testing.assert_allclose(best, 1.0)


def test_recent_item_weights_keep_the_latest() -> None:
    days = sp.csr_matrix(np.array([[1.0, 2.0, 1.0, 0.0]]))
    first = sp.csr_matrix(np.array([[1.0, 5.0, 9.0, 0.0]]) * DAY)
    last = sp.csr_matrix(np.array([[1.0, 8.0, 9.0, 0.0]]) * DAY)
    hist = History(days, first, last, now=11 * DAY)
    w = recent_item_weights(hist, recent_items=2, half_life_days=2.0).toarray()
    assert w[0, 0] == 0  # the oldest item is left out
    assert w[0, 1] == pytest.approx(2 ** (-3 / 2)) and w[0, 2] == pytest.approx(2 ** (-2 / 2))
    flat = recent_item_weights(hist, recent_items=None, half_life_days=None).toarray()
    assert flat.tolist() == [[1.0, 1.0, 1.0, 0.0]]


def test_aligned_values_when_patterns_differ() -> None:
    pattern = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))
    values = sp.csr_matrix(np.array([[0.0, 7.0, 0.0], [0.0, 0.0, 5.0]]))  # (0, 0) and (1, 1) missing
    assert aligned_values(pattern, values).tolist() == [0.0, 7.0, 0.0, 5.0]


def test_save_and_load(shop: Interactions, tmp_path: Path) -> None:
    model = ItemToItem("naive", neighbours=7, normalize=True).fit(shop)
    model.save(tmp_path / "m")
    back = BaseRecommender.load(tmp_path / "m")
    assert isinstance(back, ItemToItem) and back.config() == model.config()
    assert (back.similarity_ != model.similarity_).nnz == 0
    assert (back.counts_ != model.counts_).nnz == 0
    a, b = model.related([1, 2], k=5), back.related([1, 2], k=5)
    assert (a.indices == b.indices).all()


@pytest.mark.parametrize("kwargs", [
    {"score": "lift"}, {"min_count": 0}, {"neighbours": 0}, {"recent_items": 0}, {"half_life_days": 0.0},
    {"max_history": 0},
])
def test_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        ItemToItem(**kwargs)


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        ItemToItem().related([0])
    with pytest.raises(ConfigError):
        ItemToItem("cosine", min_count=1).fit(Interactions.from_indices([0, 0], [0, 1])).related([0], k=0)
