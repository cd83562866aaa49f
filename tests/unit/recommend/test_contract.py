"""The contract every registered recommender keeps (parametrised over ``registry.MODELS``).

A model registered by any issue is tested here automatically. Models whose optional dependency is
not installed are skipped; a model whose module is missing fails. To keep the suite quick, a
model may get smaller settings in ``FAST`` below (the contract must hold for any settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from discoverly.data import Interactions
from discoverly.errors import DataError, MissingDependencyError, NotFittedError
from discoverly.recommend import BaseRecommender, History, Recommendations, recent_bestsellers, registry

from .conftest import shop_log

#: smaller settings per registry name, only to keep the suite fast
FAST: dict[str, dict[str, Any]] = {
    "autoencoder": {"epochs": 2, "hidden": 16},
    "autoencoder-reconstruct": {"epochs": 2, "hidden": 16},
}

K = 5
NAMES = sorted(registry.MODELS)


def make(name: str) -> BaseRecommender:
    try:
        return registry.create(name, **FAST.get(name, {}))
    except MissingDependencyError as exc:
        pytest.skip(f"{name}: {exc}")


@pytest.fixture(scope="module")
def log() -> Interactions:
    return shop_log(rng=1)


@pytest.fixture(scope="module")
def fitted(log: Interactions) -> dict[str, BaseRecommender]:
    return {}


def fit(name: str, log: Interactions, cache: dict[str, BaseRecommender]) -> BaseRecommender:
    if name not in cache:
        model = make(name)
        try:
            cache[name] = model.fit(log)
        except MissingDependencyError as exc:
            pytest.skip(f"{name}: {exc}")
    return cache[name]


def check_lists(out: Recommendations, k: int) -> None:
    assert out.indices.shape == (len(out), k) and out.scores.shape == (len(out), k)
    for row in range(len(out)):
        idx = out.indices[row]
        valid = idx >= 0
        assert (valid[:-1] >= valid[1:]).all(), "padding must come last"
        got = idx[valid]
        assert len(set(got.tolist())) == len(got), f"duplicate items in row {row}: {got}"
        sc = out.scores[row][valid]
        assert np.isfinite(sc).all(), f"non-finite scores in row {row}: {sc}"
        assert (np.diff(sc) <= 1e-6 * np.maximum(1.0, np.abs(sc[:-1]))).all(), f"row {row} not sorted: {sc}"


@pytest.mark.parametrize("name", NAMES)
def test_registered_class_round_trips_its_config(name: str) -> None:
    model = make(name)
    again = type(model)(**model.config())
    assert again.config() == model.config()
    assert isinstance(model, BaseRecommender)


@pytest.mark.parametrize("name", NAMES)
def test_recommend_contract(name: str, log: Interactions, fitted: dict[str, BaseRecommender]) -> None:
    model = fit(name, log, fitted)
    users = [0, 1, 2, "nobody", 5, 6, 7, 8, 9, 10]
    out = model.recommend(users, k=K)
    assert isinstance(out, Recommendations) and out.kind == "user" and out.query == users
    check_lists(out, K)
    # the catalogue is large enough: every list is full (model + bestseller fill)
    assert (out.indices >= 0).all()
    seen = log.matrix("binary")
    for row, user in enumerate(users):
        if user == "nobody":
            continue
        own = set(seen.indices[seen.indptr[user]:seen.indptr[user + 1]].tolist())
        assert own.isdisjoint(out.indices[row].tolist()), f"{name} recommended a seen item to user {user}"
    # the fallback: the unknown customer, and anyone of whose history the model has no opinion (its
    # list without the bestseller fill is empty: e.g. buy-again once seen items are excluded)
    bare = model.recommend(users, k=K, fill=False)
    assert out.fallback.tolist() == [u == "nobody" or not (row >= 0).any() for u, row in zip(users, bare.indices,
                                                                                          strict=True)]
    if name in ("popularity", "bestsellers"):  # an opinion of every item
        assert out.fallback.tolist() == [u == "nobody" for u in users]


@pytest.mark.parametrize("name", NAMES)
def test_unknown_and_historyless_users_get_the_fallback(name: str, log: Interactions,
                                                        fitted: dict[str, BaseRecommender]) -> None:
    model = fit(name, log, fitted)
    unknown = model.recommend(["nobody", "no one"], k=K)
    assert unknown.fallback.all()
    check_lists(unknown, K)
    assert (unknown.indices[0] == unknown.indices[1]).all()
    assert unknown.indices[0].tolist() == recent_bestsellers(log, now=int(log.timestamp[-1]) + 1)[0][:K].tolist()
    empty = History.empty(1, log.n_items, now=int(log.timestamp[-1]) + 1)
    blank = model.recommend([0], k=K, history=empty)
    assert blank.fallback.all() and blank.indices[0].tolist() == unknown.indices[0].tolist()


@pytest.mark.parametrize("name", NAMES)
def test_recommend_indices_without_fill(name: str, log: Interactions, fitted: dict[str, BaseRecommender]) -> None:
    model = fit(name, log, fitted)
    users = np.arange(12)
    hist = History.of(log, users)
    idx, sc = model.recommend_indices(hist, k=K)
    seen = log.matrix("binary")[users]
    for r in range(len(users)):
        got = idx[r][idx[r] >= 0]
        assert len(set(got.tolist())) == len(got)
        assert not np.isin(got, seen.indices[seen.indptr[r]:seen.indptr[r + 1]]).any()
        assert np.isfinite(sc[r][idx[r] >= 0]).all() and np.isnan(sc[r][idx[r] < 0]).all()
    allowed_seen, _ = model.recommend_indices(hist, k=K, exclude_seen=False)
    assert allowed_seen.shape == (len(users), K)


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(name: str, log: Interactions, fitted: dict[str, BaseRecommender],
                              tmp_path: Path) -> None:
    model = fit(name, log, fitted)
    path = model.save(tmp_path / name)
    back = BaseRecommender.load(path)
    assert type(back) is type(model) and back.config() == model.config()
    users = [0, 3, "nobody", 11]
    a = model.recommend(users, k=K)
    b = back.recommend(users, k=K)
    assert (a.indices == b.indices).all()
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
    anyway = back.recommend(users, k=K, exclude_seen=False)
    check_lists(anyway, K)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output(name: str, log: Interactions) -> None:
    users = [0, 4, 8, 12, 16]
    a = make(name).fit(log).recommend(users, k=K)
    b = make(name).fit(log).recommend(users, k=K)
    assert (a.indices == b.indices).all()
    np.testing.assert_array_equal(a.scores, b.scores)


@pytest.mark.parametrize("name", NAMES)
def test_related_if_supported(name: str, log: Interactions, fitted: dict[str, BaseRecommender]) -> None:
    model = fit(name, log, fitted)
    if not model.computes_related():
        pytest.skip(f"{name} does not compute related items")
    out = model.related([0, 1, 2], k=K)
    assert out.kind == "item"
    for row, item in enumerate([0, 1, 2]):
        assert item not in out.ids(row)
    check_lists(out, K)


@pytest.mark.parametrize("name", NAMES)
def test_errors_before_fit_and_on_empty_data(name: str) -> None:
    model = make(name)
    with pytest.raises(NotFittedError):
        model.recommend([0], k=3)
    empty = Interactions.from_indices([], [], np.zeros(0, dtype=np.int64), n_users=1, n_items=1)
    with pytest.raises(DataError):
        model.fit(empty)
