"""Customer profiles: personal features by hand on a small log."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from discoverly.data import Catalog, read_interactions
from discoverly.errors import ConfigError
from discoverly.search.index import CatalogIndex, IndexConfig
from discoverly.search.personalize import CustomerProfiles, relatedness_in_index

DAY = 86_400
T0 = 1_700_000_000


@pytest.fixture(scope="module")
def setup() -> tuple[CatalogIndex, object]:
    catalog = Catalog(pl.DataFrame({
        "item": ["m1", "m2", "c1", "c2"], "title": ["milk a", "milk b", "cookie a", "cookie b"],
        "category": ["DAIRY", "DAIRY", "COOKIES", "COOKIES"], "brand": ["P", "N", "N", "N"],
        "price": [2.0, 4.0, 3.0, 3.0]}))
    index = CatalogIndex.build(catalog, IndexConfig(fields=("title",), dense=False))
    log = read_interactions(pl.DataFrame({
        "user": ["u", "u", "u", "v", "x"], "item": ["m1", "m1", "c1", "m2", "gone"],
        "time": [T0, T0 + 2 * DAY, T0 + 3 * DAY, T0, T0]}), user="user", item="item", time="time")
    return index, log


def test_features_by_hand(setup: tuple[CatalogIndex, object]) -> None:
    index, log = setup
    items = log.items  # type: ignore[attr-defined]
    related = sp.lil_matrix((len(items), len(items)), dtype=np.float32)
    related[items.index("m1"), items.index("m2")] = 2.0
    profiles = CustomerProfiles.fit(log, index, now=T0 + 10 * DAY, related=related.tocsr())  # type: ignore[arg-type]
    names = profiles.names()
    row = profiles.user_row("u")
    f = profiles.features(row, index.items.indices(["m1", "m2", "c1", "c2"]))
    col = {n: f[:, i] for i, n in enumerate(names)}
    np.testing.assert_allclose(col["u.item_days"], np.log1p([2, 0, 1, 0]))
    np.testing.assert_allclose(col["u.item_recency"][[0, 2]], [8.0, 7.0])
    assert np.isnan(col["u.item_recency"][1])
    np.testing.assert_allclose(col["u.item_share"], [2 / 3, 0, 1 / 3, 0])
    np.testing.assert_allclose(col["u.category.share"], [2 / 3, 2 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(col["u.category.items"], np.log1p([1, 1, 1, 1]))
    np.testing.assert_allclose(col["u.brand.share"], [2 / 3, 1 / 3, 1 / 3, 1 / 3])
    level = (2 * np.log(2.0) + np.log(3.0)) / 3
    np.testing.assert_allclose(col["u.price_diff"], np.log([2.0, 4.0, 3.0, 3.0]) - level, rtol=1e-5)
    np.testing.assert_allclose(col["u.related_sum"], [0, np.log1p(2) * 2.0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(col["u.related_max"], [0, 2.0, 0, 0])
    np.testing.assert_allclose(col["u.history"], np.log1p(2))
    np.testing.assert_allclose(col["u.novelty"], 2 / 3)


def test_unknown_and_history_less_customers(setup: tuple[CatalogIndex, object]) -> None:
    index, log = setup
    profiles = CustomerProfiles.fit(log, index, now=T0 + 10 * DAY)  # type: ignore[arg-type]
    assert profiles.user_row("nobody") == -1 and profiles.user_row(None) == -1
    assert not profiles.has_history(profiles.user_row("x"))  # bought only an item outside the catalogue
    f = profiles.features(-1, np.array([0, 1]))
    assert f.shape == (2, len(profiles.names()))
    assert (f[:, 0] == 0).all()
    early = CustomerProfiles.fit(log, index, now=T0 + 1)  # type: ignore[arg-type]
    assert early.has_history(early.user_row("u")) and not early.has_history(early.user_row("nobody"))
    assert early.history(early.user_row("u"))[1].sum() == 1  # only the first purchase is before now


def test_relatedness_shape_is_checked(setup: tuple[CatalogIndex, object]) -> None:
    index, log = setup
    with pytest.raises(ConfigError, match="compute it from the same interactions"):
        relatedness_in_index(sp.csr_matrix((2, 2)), log, index)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="sparse"):
        relatedness_in_index(np.zeros((5, 5)), log, index)  # type: ignore[arg-type]


def test_a_purchase_at_epoch_zero_keeps_its_recency() -> None:
    # a last purchase time of 0 (1970-01-01, or a log whose integer times start at 0) was dropped from
    # the last-purchase matrix, which then fell out of step with the days: an IndexError, or another
    # item's recency, silently
    catalog = Catalog(pl.DataFrame({"item": ["c1", "m1", "m2"], "title": ["cookie", "milk a", "milk b"],
                                    "category": ["C", "D", "D"], "price": [3.0, 2.0, 4.0]}))
    index = CatalogIndex.build(catalog, IndexConfig(fields=("title",), dense=False))
    log = read_interactions(pl.DataFrame({"user": ["u", "u", "u"], "item": ["m1", "c1", "m2"],
                                          "time": [0, 5 * DAY, 7 * DAY]}), user="user", item="item", time="time")
    profiles = CustomerProfiles.fit(log, index, now=10 * DAY)  # type: ignore[arg-type]
    f = profiles.features(profiles.user_row("u"), index.items.indices(["m1", "c1", "m2"]))
    recency = f[:, profiles.names().index("u.item_recency")]
    np.testing.assert_allclose(recency, [10.0, 5.0, 3.0])
