"""The ALS peer: the fold-in equals implicit's recalculate_user, determinism, save/load, cold items."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from discoverly.data import Interactions
from discoverly.errors import ConfigError
from discoverly.recommend import BaseRecommender, History
from discoverly.recommend.peers import ImplicitALS, fold_in

from .conftest import damage_saved_array, shop_log

implicit_als = pytest.importorskip("implicit.cpu.als")
threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture(scope="module")
def log() -> Interactions:
    return shop_log(rng=6)


@pytest.mark.parametrize("alpha", [1.0, 7.5])
def test_fold_in_equals_implicits_recalculate_user(log: Interactions, alpha: float) -> None:
    values = sp.csr_matrix(log.matrix("days"), dtype=np.float32)
    with threadpoolctl.threadpool_limits(1, "blas"):
        model = implicit_als.AlternatingLeastSquares(factors=8, regularization=0.3, alpha=alpha, iterations=3,
                                                     random_state=0, num_threads=1)
        model.fit(values, show_progress=False)
        users = np.arange(10)
        expected = model.recalculate_user(users, values[users])
    got = fold_in(values[users] * alpha, model.item_factors, 0.3)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_fold_in_of_an_empty_row_is_zero() -> None:
    y = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    rows = sp.csr_matrix(np.array([[0, 0, 0, 0, 0], [0, 2.0, 0, 0, 1.0]], dtype=np.float32))
    out = fold_in(rows, y, 0.1)
    assert out.shape == (2, 3) and (out[0] == 0).all() and (out[1] != 0).any()


def test_same_seed_same_model_and_cold_items_get_no_score(log: Interactions) -> None:
    # item n_items-2 never bought: add an empty column by widening the catalogue
    wider = Interactions.from_indices(log.user_index, log.item_index, log.timestamp.copy(), n_users=log.n_users,
                                      n_items=log.n_items + 1)
    a = ImplicitALS(factors=8, iterations=3, rng=3).fit(wider)
    b = ImplicitALS(factors=8, iterations=3, rng=3).fit(wider)
    hist = History.of(wider, np.arange(12))
    sa, sb = a._score(hist), b._score(hist)
    np.testing.assert_array_equal(sa, sb)
    assert sa.shape == (12, wider.n_items) and np.isneginf(sa[:, -1]).all() and np.isfinite(sa[:, :-1]).all()


def test_log_days_confidence_and_save_load(log: Interactions, tmp_path: Path) -> None:
    model = ImplicitALS(factors=8, iterations=3, confidence="log-days").fit(log)
    back = BaseRecommender.load(model.save(tmp_path / "als"))
    assert isinstance(back, ImplicitALS) and back.config() == model.config()
    hist = History.of(log, np.arange(log.n_users))
    np.testing.assert_array_equal(back._score(hist), model._score(hist))
    binary = ImplicitALS(factors=8, iterations=3).fit(log)
    assert not np.allclose(binary._score(hist), model._score(hist))


@pytest.mark.parametrize("bad", [{"factors": 0}, {"alpha": 0}, {"regularization": -1}, {"confidence": "counts"},
                                 {"rng": "x"}])
def test_bad_settings(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ImplicitALS(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad, name", [({"regularization": float("nan")}, "regularization"),
                                       ({"alpha": float("inf")}, "alpha"), ({"factors": 2.5}, "factors"),
                                       ({"iterations": "15"}, "iterations"), ({"rng": -1}, "rng")])
def test_bad_types_and_non_finite_settings(bad: dict[str, object], name: str) -> None:
    # NaN/inf failed inside implicit ("NaN encountered in factors"), a negative seed in numpy,
    # and 2.5 factors were silently 2
    with pytest.raises(ConfigError, match=name):
        ImplicitALS(**bad)  # type: ignore[arg-type]


def test_a_damaged_artifact_is_an_artifact_error_at_load(log: Interactions, tmp_path: Path) -> None:
    from discoverly.errors import ArtifactError

    path = ImplicitALS(factors=8, iterations=2).fit(log).save(tmp_path / "als")
    damage_saved_array(path, "item_factors", lambda a: a[:3])  # an IndexError at the first request before
    with pytest.raises(ArtifactError, match="damaged"):
        BaseRecommender.load(path)


def test_missing_implicit_is_a_missing_dependency_error(log: Interactions, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from discoverly.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "implicit.cpu.als", None)
    with pytest.raises(MissingDependencyError, match=r"discoverly\[peers\]"):
        ImplicitALS(factors=8, iterations=2).fit(log)


def hand_history(days: np.ndarray) -> History:
    """A History of the given users × items distinct-day counts (times are not used by ALS)."""
    m = sp.csr_matrix(days.astype(np.float64))
    return History(m, m, m, 0)


def test_confidences_are_one_or_one_plus_the_log_of_the_days() -> None:
    days = sp.csr_matrix(np.array([[1.0, 0, 2.0], [0, 3.0, 0]]))
    log_days = ImplicitALS(confidence="log-days")._values(days)
    np.testing.assert_allclose(log_days.toarray(), [[1.0, 0, 1 + np.log(2)], [0, 1 + np.log(3), 0]], rtol=1e-6)
    assert (ImplicitALS()._values(days).toarray() == (days.toarray() > 0)).all()  # binary: r_ui = 1
    assert days.toarray().tolist() == [[1.0, 0, 2.0], [0, 3.0, 0]]  # the caller's matrix is left alone


@pytest.mark.parametrize("confidence", ["binary", "log-days"])
def test_scores_are_the_fold_in_formula_computed_here(log: Interactions, confidence: str) -> None:
    # x_u = (YᵀY + λI + Σ_{i∈u} (c_ui − 1) y_i y_iᵀ)⁻¹ Σ_{i∈u} c_ui y_i with c_ui = α r_ui, scores x_u Yᵀ,
    # one user at a time in plain numpy; rows with 0, 1 and several items, one bought on 3 days
    lam, alpha = 0.3, 7.5
    model = ImplicitALS(factors=6, regularization=lam, alpha=alpha, iterations=3, confidence=confidence,
                        n_threads=1).fit(log)
    assert model.item_factors_ is not None
    days = np.zeros((4, log.n_items))
    days[1, 5] = 1
    days[2, [0, 3, 7]] = [1, 3, 2]
    days[3, 9] = 3
    scores = model._score(hand_history(days))
    y = model.item_factors_.astype(np.float64)
    assert np.isneginf(scores[0]).all()  # no history: no opinion (the bestsellers answer)
    for u in range(1, 4):
        items = np.nonzero(days[u])[0]
        r = np.ones(len(items)) if confidence == "binary" else 1 + np.log(days[u, items])
        c = alpha * r
        a = y.T @ y + lam * np.eye(6)
        b = np.zeros(6)
        for ci, i in zip(c, items, strict=True):
            a += (ci - 1) * np.outer(y[i], y[i])
            b += ci * y[i]
        np.testing.assert_allclose(scores[u], y @ np.linalg.solve(a, b), rtol=1e-3, atol=1e-4)


def test_fit_passes_every_setting_to_implicit(log: Interactions) -> None:
    settings = {"factors": 6, "regularization": 0.7, "alpha": 3.0, "iterations": 4}
    ours = ImplicitALS(**settings, rng=5, n_threads=1).fit(log)
    values = sp.csr_matrix((log.matrix("days") > 0).astype(np.float32))
    with threadpoolctl.threadpool_limits(1, "blas"):
        theirs = implicit_als.AlternatingLeastSquares(**settings, random_state=5, num_threads=1)
        theirs.fit(values, show_progress=False)
    np.testing.assert_allclose(ours.item_factors_, theirs.item_factors, rtol=1e-4, atol=1e-5)


def test_a_history_of_only_items_without_training_events_gets_the_bestsellers(log: Interactions) -> None:
    # the last item of the wider catalogue was never bought before training: it has zero factors, so a
    # history of only that item folded in to zero factors and every score was 0 (a "personal" list of
    # the first items of the catalogue)
    wider = Interactions.from_indices(log.user_index, log.item_index, log.timestamp.copy(), n_users=log.n_users,
                                      n_items=log.n_items + 1)
    model = ImplicitALS(factors=8, iterations=3, n_threads=1).fit(wider)
    days = np.zeros((2, wider.n_items))
    days[:, -1] = 2
    days[1, 4] = 1  # with one item that has factors, the list is personal again
    scores = model._score(hand_history(days))
    assert np.isneginf(scores[0]).all() and np.isfinite(scores[1, :-1]).all()
