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
    at_zero = CustomerProfiles.fit(log, index, now=0)  # type: ignore[arg-type]
    assert not at_zero.has_history(at_zero.user_row("u"))  # strictly before now: nothing yet


# -- a second log, worked by hand: facet values a customer never bought, prices the log cannot read,
# -- relatedness to items that are not candidates, persistence

@pytest.fixture(scope="module")
def shop() -> tuple[CatalogIndex, object]:
    # index positions (item-id order): a1 0, a2 1, a3 2, b1 3, n1 4, z1 5; categories A 0, B 1, Z 2 (n1 none);
    # brands P 0 (a1, a2), Q 1; z1's price 0 and n1's -1 have no log
    catalog = Catalog(pl.DataFrame({
        "item": ["a1", "a2", "a3", "b1", "z1", "n1"], "title": ["x a", "x b", "x c", "y", "z", "n"],
        "category": ["A", "A", "A", "B", "Z", None], "brand": ["P", "P", "Q", "Q", "Q", "Q"],
        "price": [1.0, 2.0, 4.0, 8.0, 0.0, -1.0]}))
    index = CatalogIndex.build(catalog, IndexConfig(fields=("title",), dense=False))
    log = read_interactions(pl.DataFrame({
        "user": ["u", "u", "u", "u", "u", "w", "late"],
        "item": ["a1", "a1", "a2", "z1", "n1", "b1", "a3"],
        "time": [T0, T0 + DAY, T0 + 2 * DAY, T0 + 2 * DAY + 3600, T0 + 3 * DAY, T0 + 4 * DAY, T0 + 20 * DAY]}),
        user="user", item="item", time="time")
    return index, log


def _related(log: object) -> sp.csr_matrix:
    items = log.items  # type: ignore[attr-defined]
    rel = sp.lil_matrix((len(items), len(items)), dtype=np.float32)
    for a, b, v in (("a1", "a3", 1.0), ("a2", "a3", 3.0), ("a1", "b1", 2.0), ("z1", "a2", 0.5)):
        rel[items.index(a), items.index(b)] = v
    return rel.tocsr()


def test_features_by_hand_second_log(shop: tuple[CatalogIndex, object]) -> None:
    index, log = shop
    profiles = CustomerProfiles.fit(log, index, now=T0 + 10 * DAY, related=_related(log))  # type: ignore[arg-type]
    assert [profiles.has_history(profiles.user_row(u)) for u in ("u", "w", "late")] == [True, True, False]
    for user in ("u", "w", "late"):
        hist, days, last = profiles.history(profiles.user_row(user))
        assert hist.size == days.size == last.size
    names = profiles.names()
    # u: a1 on 2 days (last day 1), a2 day 2, z1 day 2 + 1 h, n1 day 3: 5 purchase-days, 4 items;
    # a2 is not a candidate (z1 -> a2 must not count for anyone)
    f = profiles.features(profiles.user_row("u"), index.items.indices(["a3", "a1", "b1", "z1", "n1"]))
    assert f.dtype == np.float32 and f.shape == (5, len(names))
    col = {n: f[:, i].astype(np.float64) for i, n in enumerate(names)}
    nan = np.nan
    np.testing.assert_allclose(col["u.item_days"], np.log1p([0, 2, 0, 1, 1]), rtol=1e-6)
    np.testing.assert_allclose(col["u.item_recency"], [nan, 9, nan, 8 - 1 / 24, 7], rtol=1e-6)
    np.testing.assert_allclose(col["u.item_share"], [0, 2 / 4, 0, 1 / 4, 1 / 4], rtol=1e-6)
    np.testing.assert_allclose(col["u.category.share"], [3 / 5, 3 / 5, 0, 1 / 5, nan], rtol=1e-6)
    np.testing.assert_allclose(col["u.category.items"], np.log1p([2, 2, 0, 1, nan]), rtol=1e-6)
    np.testing.assert_allclose(col["u.brand.share"], [2 / 5, 3 / 5, 2 / 5, 2 / 5, 2 / 5], rtol=1e-6)
    np.testing.assert_allclose(col["u.brand.items"], np.log1p([2, 2, 2, 2, 2]), rtol=1e-6)
    level = (2 * np.log(1.0) + 1 * np.log(2.0)) / 3  # z1 and n1 have no log price
    np.testing.assert_allclose(col["u.price_diff"], [np.log(4) - level, -level, np.log(8) - level, nan, nan],
                               rtol=1e-6)
    np.testing.assert_allclose(col["u.related_sum"], [np.log1p(2) * 1 + np.log1p(1) * 3, 0, np.log1p(2) * 2, 0, 0],
                               rtol=1e-6)
    np.testing.assert_allclose(col["u.related_max"], [3, 0, 2, 0, 0])
    np.testing.assert_allclose(col["u.history"], np.log1p(4), rtol=1e-6)
    np.testing.assert_allclose(col["u.novelty"], 4 / 5, rtol=1e-6)
    # w bought only b1 (category B, code 1), once: other categories' shares are 0, not missing
    w = profiles.user_row("w")
    g = profiles.features(w, index.items.indices(["a3", "z1", "b1"]))
    gcol = {n: g[:, i].astype(np.float64) for i, n in enumerate(names)}
    np.testing.assert_allclose(gcol["u.item_share"], [0, 0, 1])
    np.testing.assert_allclose(gcol["u.category.share"], [0, 0, 1])
    np.testing.assert_allclose(gcol["u.category.items"], np.log1p([0, 0, 1]), rtol=1e-6)
    np.testing.assert_allclose(gcol["u.price_diff"], [np.log(4 / 8), nan, 0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gcol["u.novelty"], 1.0)
    # none of the candidates bought: shares 0 (no 0/0); one candidate alone is still a full row
    none = profiles.features(w, index.items.indices(["a3", "z1"]))
    np.testing.assert_allclose(none[:, names.index("u.item_share")], [0, 0])
    one = profiles.features(w, index.items.indices(["b1"]))
    np.testing.assert_allclose(one[0, :3], [np.log1p(1), 6, 1], rtol=1e-6)


def test_no_history_row_is_zeros_where_known_and_missing_elsewhere(shop: tuple[CatalogIndex, object]) -> None:
    index, log = shop
    profiles = CustomerProfiles.fit(log, index, now=T0 + 10 * DAY)  # type: ignore[arg-type]
    names = profiles.names()
    for row in (-1, profiles.user_row("late")):
        f = profiles.features(row, index.items.indices(["a1", "b1"]))
        expected = np.full(len(names), np.nan)
        expected[names.index("u.item_days")] = 0.0
        expected[names.index("u.history")] = 0.0
        np.testing.assert_array_equal(f, np.tile(expected, (2, 1)))
    assert profiles.features(-1, np.zeros(0, dtype=np.int64)).shape == (0, len(names))


def test_default_now_is_just_after_the_last_event(shop: tuple[CatalogIndex, object]) -> None:
    index, log = shop
    profiles = CustomerProfiles.fit(log, index)  # type: ignore[arg-type]
    assert profiles.now == T0 + 20 * DAY + 1
    late = profiles.user_row("late")
    assert profiles.has_history(late)
    f = profiles.features(late, index.items.indices(["a3"]))
    np.testing.assert_allclose(f[0, 1], 1 / DAY, rtol=1e-3)  # u.item_recency: one second ago


def test_repr_says_whether_relatedness_is_there(shop: tuple[CatalogIndex, object]) -> None:
    index, log = shop
    assert repr(CustomerProfiles.fit(log, index)) == "CustomerProfiles(3 customers, related=no)"  # type: ignore[arg-type]
    with_rel = CustomerProfiles.fit(log, index, related=_related(log))  # type: ignore[arg-type]
    assert repr(with_rel) == "CustomerProfiles(3 customers, related=yes)"


@pytest.mark.parametrize(("related", "now"), [(True, T0 + 10 * DAY), (False, T0 + 10 * DAY),
                                              (False, T0 + 2 * DAY + 1)])  # only a1 and a2 bought yet
def test_parts_round_trip(shop: tuple[CatalogIndex, object], related: bool, now: int) -> None:
    index, log = shop
    profiles = CustomerProfiles.fit(log, index, now=now,  # type: ignore[arg-type]
                                    related=_related(log) if related else None)
    manifest, arrays, tables = profiles.to_parts()
    assert manifest == {"now": now, "n_users": 3, "related": related}
    assert any(k.startswith("profile.related.") for k in arrays) == related
    assert tables["profile_users"]["user"].to_list() == ["late", "u", "w"]  # the vocabulary sorts ids
    back = CustomerProfiles.from_parts(manifest, arrays, tables, index)
    assert back.now == profiles.now and back.users.name == profiles.users.name
    assert back.users.ids.tolist() == profiles.users.ids.tolist()
    assert back.days.shape == profiles.days.shape == back.last.shape == (3, len(index))
    assert (back.related is not None) == related
    if back.related is not None and profiles.related is not None:
        assert back.related.shape == (len(index), len(index))
        np.testing.assert_array_equal(back.related.toarray(), profiles.related.toarray())
    cand = index.items.indices(["a3", "a1", "b1", "z1", "n1"])
    for user in ("u", "w", "late"):
        np.testing.assert_array_equal(back.features(back.user_row(user), cand),
                                      profiles.features(profiles.user_row(user), cand))


def test_relatedness_is_moved_onto_the_catalogue(setup: tuple[CatalogIndex, object]) -> None:
    from types import SimpleNamespace

    index, log = setup  # index positions c1 0, c2 1, m1 2, m2 3; "gone" is not in the catalogue
    items = log.items  # type: ignore[attr-defined]
    pairs = [("m1", "gone", 5.0), ("gone", "m2", 6.0), ("c1", "m1", 1.0), ("c1", "m1", 0.5), ("m1", "c1", 2.5)]
    mat = sp.coo_matrix(([v for *_, v in pairs], ([items.index(a) for a, *_ in pairs],
                                                  [items.index(b) for _, b, _ in pairs])),
                        shape=(len(items), len(items))).tocsr()
    out = relatedness_in_index(SimpleNamespace(scores=mat), log, index)  # type: ignore[arg-type]
    expected = np.zeros((4, 4))
    expected[0, 2] = 1.5
    expected[2, 0] = 2.5
    assert out.shape == (4, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out.toarray(), expected)
    with pytest.raises(ConfigError, match="got ndarray"):
        relatedness_in_index(np.zeros((5, 5)), log, index)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"the interactions have 4 items; compute it from the same interactions$"):
        relatedness_in_index(sp.csr_matrix((2, 2)), log, index)  # type: ignore[arg-type]
