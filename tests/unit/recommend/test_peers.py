"""implicit as an oracle for discoverly's cosine, and the ImplicitNeighbours peer wrapper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from discoverly.data import Interactions
from discoverly.errors import ConfigError
from discoverly.recommend import BaseRecommender, History
from discoverly.recommend.relatedness import related_items

from .conftest import damage_saved_array

nn = pytest.importorskip("implicit.nearest_neighbours")

from discoverly.recommend.peers import ImplicitNeighbours  # noqa: E402


def random_purchases(seed: int, n_users: int = 80, n_items: int = 50) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < rng.uniform(0.02, 0.3, size=n_items)).astype(np.float32)
    return sp.csr_matrix(dense)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cosine_equals_implicits_cosine(seed: int) -> None:
    m = random_purchases(seed)
    n_items = m.shape[1]
    ours = related_items(m, "cosine", min_count=1, neighbours=n_items).scores.toarray()
    peer = nn.CosineRecommender(K=n_items + 1, num_threads=1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # implicit warns about its own COO intermediate
        peer.fit(m, show_progress=False)
    theirs = peer.similarity.toarray()
    np.fill_diagonal(theirs, 0.0)  # implicit keeps an item's similarity to itself
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_wrapper_scores_like_implicit(shop: Interactions) -> None:
    model = ImplicitNeighbours("bm25", K=20, num_threads=1).fit(shop)
    hist = History.of(shop, np.arange(5))
    scores = model._score(hist)
    expected = (hist.days @ model.similarity_).toarray()
    np.testing.assert_allclose(np.where(np.isfinite(scores), scores, 0.0), expected, rtol=1e-5)


def test_save_and_load(shop: Interactions, tmp_path: Path) -> None:
    model = ImplicitNeighbours("cosine", K=10, num_threads=1).fit(shop)
    back = BaseRecommender.load(model.save(tmp_path / "peer"))
    assert isinstance(back, ImplicitNeighbours) and back.config() == model.config()
    assert (back.similarity_ != model.similarity_).nnz == 0


@pytest.mark.parametrize("kwargs", [{"kind": "als"}, {"K": 0}, {"num_threads": -1}, {"K": 2.5}, {"K": "100"},
                                    {"kind": "bm25", "K1": float("nan")}, {"kind": "bm25", "K1": -1.0},
                                    {"kind": "bm25", "B": 5.0}, {"num_threads": "all"}])
def test_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        ImplicitNeighbours(**kwargs)


def test_a_damaged_artifact_is_an_artifact_error_at_load(shop: Interactions, tmp_path: Path) -> None:
    from discoverly.errors import ArtifactError

    path = ImplicitNeighbours("cosine", K=10, num_threads=1).fit(shop).save(tmp_path / "peer")
    damage_saved_array(path, "similarity_indptr", lambda a: a[:5])  # a matmul error at the first request before
    with pytest.raises(ArtifactError, match="damaged"):
        BaseRecommender.load(path)


def test_missing_implicit_is_a_missing_dependency_error(shop: Interactions, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from discoverly.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "implicit.nearest_neighbours", None)
    with pytest.raises(MissingDependencyError, match=r"discoverly\[peers\]"):
        ImplicitNeighbours("bm25", num_threads=1).fit(shop)


@pytest.mark.parametrize("kind, settings", [("cosine", {"K": 5}), ("bm25", {"K": 7, "K1": 2.0, "B": 0.3})])
def test_similarity_is_implicits_fitted_on_the_distinct_days(shop: Interactions, kind: str, settings: dict) -> None:
    import warnings

    model = ImplicitNeighbours(kind, **settings, num_threads=1).fit(shop)
    peer = nn.CosineRecommender(**settings) if kind == "cosine" else nn.BM25Recommender(**settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # implicit warns about its own COO intermediate
        peer.fit(sp.csr_matrix(shop.matrix("days"), dtype=np.float32), show_progress=False)
    assert model.similarity_ is not None
    assert shop.matrix("days").max() > 1  # repeat days count: the model is not fitted on the binary matrix
    np.testing.assert_allclose(model.similarity_.toarray(), peer.similarity.toarray(), rtol=1e-6)


def days_history(days: np.ndarray) -> History:
    """A History of the given users × items distinct-day counts (times are not used here)."""
    m = sp.csr_matrix(days)
    return History(m, m, m, 0)


def test_scores_are_the_positive_aggregates_and_minus_inf_elsewhere(shop: Interactions) -> None:
    model = ImplicitNeighbours("cosine", K=5, num_threads=1).fit(shop)
    assert model.similarity_ is not None
    n = shop.n_items
    days = np.zeros((3, n))
    days[0, 2] = 1  # one item on one day: the scores are its cosine row, all at most 1
    days[1, [0, 5]] = [2, 1]
    expected = days @ model.similarity_.toarray()
    assert ((expected[0] > 0) & (expected[0] < 1)).any()
    scores = model._score(days_history(days))
    assert np.array_equal(np.isneginf(scores), expected <= 0)  # row 2 has no history: no opinion at all
    np.testing.assert_allclose(scores[expected > 0], expected[expected > 0], rtol=1e-6)
    # a similarity with an explicit zero (0 -> 1) and a negative entry (0 -> 2): neither is an opinion
    model.similarity_ = sp.csr_matrix((np.array([0.0, -0.5, 0.25], dtype=np.float32), np.array([1, 2, 0]),
                                       np.array([0, 2, 3] + [3] * (n - 2))), shape=(n, n))
    assert np.isneginf(model._score(days_history(np.eye(1, n, 0)))).all()
    scores = model._score(days_history(np.eye(1, n, 1)))[0]
    assert scores[0] == np.float32(0.25) and np.isneginf(scores[1:]).all()
