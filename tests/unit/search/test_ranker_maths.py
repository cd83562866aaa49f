"""The LambdaMART ranker's maths against values worked out independently (mutation testing: the
other tests only check that a signal is learned, so settings that never reached LightGBM, the
iteration early stopping keeps and the validation NDCG it reports survived).

* NDCG@10 is written by hand: per query, ``DCG = sum_i (2^rel_i - 1) / log2(i + 1)`` over the top
  ten by score (ties in input order, as LightGBM's stable sort), divided by the ideal DCG; the
  mean over queries.
* Early stopping is checked against the validation curve of rankers trained for exactly ``k``
  rounds without it (LightGBM is deterministic for a seed, so the first ``k`` trees are the same):
  the iteration kept is the first best of the curve, and training stops ``early_stopping_rounds``
  rounds after it without a strict improvement.
* The feature gains are summed from the trees written in the saved model text.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from discoverly.errors import ConfigError, DataError, MissingDependencyError, NotFittedError
from discoverly.search.ranker import LambdaRanker, RankerConfig, group_split

NAMES = ["a", "b.x", "c d"]
FAST = {"num_leaves": 4, "learning_rate": 0.3, "min_data_in_leaf": 5, "threads": 1}


def _groups(sizes: list[int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Queries of the given sizes; the item bought is the one with the largest feature 0 (plus noise)."""
    X = rng.normal(size=(sum(sizes), 3)).astype(np.float32)
    y = np.zeros(sum(sizes), dtype=np.float32)
    start = 0
    for n in sizes:
        rows = slice(start, start + n)
        y[start + int(np.argmax(X[rows, 0] + 0.7 * rng.normal(size=n)))] = 1.0
        start += n
    return X, y, np.asarray(sizes)


def ndcg_at_10(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> float:
    values = []
    start = 0
    for n in groups:
        s, rel = scores[start:start + n], labels[start:start + n]
        start += n
        order = sorted(range(n), key=lambda j: -s[j])[:10]  # sorted() is stable: ties keep input order
        dcg = sum((2.0 ** rel[j] - 1) / np.log2(i + 2) for i, j in enumerate(order))
        ideal = sorted(rel, reverse=True)[:10]
        idcg = sum((2.0 ** r - 1) / np.log2(i + 2) for i, r in enumerate(ideal))
        values.append(dcg / idcg if idcg > 0 else 1.0)
    return float(np.mean(values))


@pytest.fixture(scope="module")
def data() -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    train = _groups([8] * 40 + [5] * 20, rng)
    valid = _groups([12] * 20 + [15] * 10, rng)
    return train, valid


@pytest.mark.parametrize("patience", [1, 4])
def test_early_stopping_keeps_the_first_best_iteration_and_reports_its_ndcg(
        data, patience: int, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    (X, y, g), (Xv, yv, gv) = data
    stopped = LambdaRanker(NAMES, RankerConfig(n_estimators=60, early_stopping_rounds=patience, **FAST))
    with caplog.at_level("INFO", logger="discoverly.search.ranker"):
        stopped.fit(X, y, g, valid=(Xv, yv, gv), rng=3)
    assert capsys.readouterr().out == ""  # LightGBM's early-stopping lines would break `--json` output
    curve = []
    for k in range(1, 61):
        exact = LambdaRanker(NAMES, RankerConfig(n_estimators=k, early_stopping_rounds=0, **FAST)).fit(X, y, g, rng=3)
        curve.append(ndcg_at_10(exact.predict(Xv), yv, gv))
        if k == stopped.best_iteration:
            np.testing.assert_allclose(stopped.predict(Xv), exact.predict(Xv))  # only the kept trees predict
        best = int(np.argmax(curve)) + 1
        if k - best >= patience:
            break
    assert stopped.best_iteration == best < 60
    assert stopped.valid_ndcg == pytest.approx(curve[best - 1], abs=1e-9)
    assert stopped.valid_ndcg == pytest.approx(ndcg_at_10(stopped.predict(Xv), yv, gv), abs=1e-9)
    assert max(curve[best:]) <= curve[best - 1]
    assert f"lambdarank: {best} trees, validation NDCG@10 {stopped.valid_ndcg}" in caplog.messages


def test_no_early_stopping_keeps_every_tree(data) -> None:
    (X, y, g), (Xv, yv, gv) = data
    cfg = RankerConfig(n_estimators=25, early_stopping_rounds=0, **FAST)
    kept = LambdaRanker(NAMES, cfg).fit(X, y, g, valid=(Xv, yv, gv), rng=3)
    assert kept.best_iteration == 25
    assert kept.valid_ndcg == pytest.approx(ndcg_at_10(kept.predict(Xv), yv, gv), abs=1e-9)
    alone = LambdaRanker(NAMES, cfg).fit(X, y, g, rng=3)  # no validation: every tree, no NDCG
    assert alone.best_iteration == 25 and alone.valid_ndcg is None
    np.testing.assert_allclose(alone.predict(Xv), kept.predict(Xv))


def _model_text(ranker: LambdaRanker) -> str:
    _, arrays = ranker.to_parts("r")
    return bytes(arrays["r.model"]).decode("utf-8")


def test_every_setting_reaches_lightgbm(data) -> None:
    (X, y, g), (Xv, yv, gv) = data
    cfg = RankerConfig(num_leaves=3, learning_rate=0.15, n_estimators=7, min_data_in_leaf=6, feature_fraction=0.7,
                       bagging_fraction=0.6, lambdarank_truncation_level=5, early_stopping_rounds=0, threads=1)
    text = _model_text(LambdaRanker(NAMES, cfg).fit(X, y, g, valid=(Xv, yv, gv), rng=3))
    params = dict(re.findall(r"^\[(\w+): (.*)\]$", text, flags=re.M))
    expected = {"objective": "lambdarank", "metric": "ndcg", "eval_at": "10", "num_leaves": "3",
                "learning_rate": "0.15", "num_iterations": "7", "min_data_in_leaf": "6", "feature_fraction": "0.7",
                "bagging_fraction": "0.6", "bagging_freq": "1", "lambdarank_truncation_level": "5",
                "num_threads": "1", "deterministic": "1", "force_row_wise": "1", "verbosity": "-1"}
    assert {k: params.get(k) for k in expected} == expected
    trees = re.findall(r"^num_leaves=(\d+)$", text, flags=re.M)
    assert len(trees) == 7 and all(int(n) <= 3 for n in trees)
    assert set(re.findall(r"^shrinkage=(.*)$", text, flags=re.M)[1:]) == {"0.15"}  # the first tree is 1
    # the seed is drawn from rng: the same rng, the same model; another, another bagging
    again = _model_text(LambdaRanker(NAMES, cfg).fit(X, y, g, valid=(Xv, yv, gv), rng=3))
    other = _model_text(LambdaRanker(NAMES, cfg).fit(X, y, g, valid=(Xv, yv, gv), rng=4))
    assert again == text and other != text
    seed = int(np.random.default_rng(3).integers(2**31 - 1))
    assert params["seed"] == str(seed)
    default = _model_text(LambdaRanker(NAMES, cfg).fit(X, y, g, valid=(Xv, yv, gv)))  # rng=0 by default
    assert default == _model_text(LambdaRanker(NAMES, cfg).fit(X, y, g, valid=(Xv, yv, gv), rng=0))


def test_importance_is_the_gain_of_the_kept_trees(data) -> None:
    (X, y, g), (Xv, yv, gv) = data
    ranker = LambdaRanker(NAMES, RankerConfig(n_estimators=60, early_stopping_rounds=3, **FAST))
    ranker.fit(X, y, g, valid=(Xv, yv, gv), rng=3)
    text = _model_text(ranker)
    assert len(re.findall(r"^Tree=", text, flags=re.M)) == ranker.best_iteration
    gain = dict.fromkeys(NAMES, 0.0)
    for feats, gains in zip(re.findall(r"^split_feature=(.*)$", text, flags=re.M),
                            re.findall(r"^split_gain=(.*)$", text, flags=re.M), strict=True):
        for f, v in zip(feats.split(), gains.split(), strict=True):
            gain[NAMES[int(f)]] += float(v)
    got = ranker.importance()
    assert list(got) == sorted(NAMES, key=lambda n: -gain[n])  # original names, largest first
    for name in NAMES:
        assert got[name] == pytest.approx(gain[name], rel=1e-5)
    assert "feature_names=a b_x c_d" in text  # LightGBM's names; the ranker keeps the given ones


def test_parts_round_trip_keeps_everything(data) -> None:
    (X, y, g), (Xv, yv, gv) = data
    cfg = RankerConfig(n_estimators=30, early_stopping_rounds=3, **FAST)
    ranker = LambdaRanker(NAMES, cfg).fit(X, y, g, valid=(Xv, yv, gv), rng=3)
    manifest, arrays = ranker.to_parts("general")
    assert set(arrays) == {"general.model"} and arrays["general.model"].dtype == np.uint8
    assert manifest == {"features": NAMES, "config": cfg.to_dict(), "best_iteration": ranker.best_iteration,
                        "valid_ndcg": ranker.valid_ndcg}
    again = LambdaRanker.from_parts(manifest, arrays, "general")
    assert (again.feature_names, again.config, again.best_iteration, again.valid_ndcg) == (
        NAMES, cfg, ranker.best_iteration, ranker.valid_ndcg)
    np.testing.assert_array_equal(again.predict(Xv), ranker.predict(Xv))
    assert again.importance() == ranker.importance()


def test_predict_shapes_and_types(data) -> None:
    (X, y, g), _ = data
    ranker = LambdaRanker(NAMES, RankerConfig(n_estimators=3, early_stopping_rounds=0, **FAST)).fit(X, y, g, rng=0)
    empty = ranker.predict(np.zeros((0, 3)))
    assert empty.shape == (0,) and empty.dtype == np.float64
    one = ranker.predict(X[2:3])
    assert one.shape == (1,) and one[0] == ranker.predict(X[:5])[2]
    got = ranker.predict(X[:5].astype(np.float64).tolist())
    assert got.shape == (5,) and got.dtype == np.float64
    np.testing.assert_allclose(got, ranker.predict(X[:5]))


def test_graded_labels_are_learned_as_grades() -> None:
    # one feature orders three grades; a ranker that read the labels as bought / not bought would
    # not put grade 2 above grade 1 (both "bought")
    rng = np.random.default_rng(0)
    n = 200
    X = rng.normal(size=(n * 3, 3)).astype(np.float32)
    y = np.zeros(n * 3, dtype=np.float32)
    for q in range(n):
        rows = np.arange(q * 3, q * 3 + 3)
        y[rows[np.argsort(X[rows, 0])]] = [0, 1, 2]
    cfg = RankerConfig(num_leaves=4, learning_rate=0.3, n_estimators=30, min_data_in_leaf=5,
                       early_stopping_rounds=0, threads=1)
    ranker = LambdaRanker(NAMES, cfg).fit(X, y, np.full(n, 3), rng=0)
    s = ranker.predict(np.array([[-1.0, 0, 0], [0.0, 0, 0], [1.0, 0, 0]], dtype=np.float32))
    assert s[0] < s[1] < s[2]


def test_fit_checks_and_messages() -> None:
    ranker = LambdaRanker(["a", "b"])
    with pytest.raises(DataError, match=r"X must have 2 feature columns, got shape \(4,\)"):
        ranker.fit(np.zeros(4), np.ones(4), [4])
    with pytest.raises(DataError, match=r"group sizes sum to 4 and labels number 3, but X has 4 rows"):
        ranker.fit(np.zeros((4, 2)), np.ones(3), [4])
    with pytest.raises(DataError, match=r"group sizes sum to 5 and labels number 4, but X has 4 rows"):
        ranker.fit(np.zeros((4, 2)), np.ones(4), [2, 3])
    with pytest.raises(DataError, match=r"^no positive label among the training rows; the ranker has nothing to "
                                        r"learn$"):
        ranker.fit(np.zeros((4, 2)), -np.ones(4), [4])
    assert not ranker.fitted and ranker.best_iteration == 0 and ranker.valid_ndcg is None
    for call in (lambda: ranker.predict(np.zeros((1, 2))), ranker.importance, lambda: ranker.to_parts("r")):
        with pytest.raises(NotFittedError, match=r"^the ranker is not trained"):
            call()
    with pytest.raises(NotFittedError, match=r": call fit\(\) or load a trained engine$"):
        ranker.predict(np.zeros((1, 2)))


def test_a_missing_lightgbm_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    with pytest.raises(MissingDependencyError, match="'lightgbm' is needed for learning to rank but is not installed"):
        LambdaRanker(["a"]).fit(np.zeros((2, 1)), np.ones(2), [2])
    manifest = {"features": ["a"], "config": {}, "best_iteration": 1, "valid_ndcg": None}
    with pytest.raises(MissingDependencyError, match="'lightgbm' is needed for learning to rank but is not installed"):
        LambdaRanker.from_parts(manifest, {"r.model": np.zeros(1, np.uint8)}, "r")


def test_the_no_split_warning_says_what_to_do(caplog: pytest.LogCaptureFixture) -> None:
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    with caplog.at_level("WARNING", logger="discoverly.search.ranker"):
        LambdaRanker(["a", "b"], RankerConfig(min_data_in_leaf=50, n_estimators=3)).fit(X, np.ones(6), [3, 3])
    assert ("the ranker made no split on 6 training rows (2 groups; min_data_in_leaf=50): its scores are constant, "
            "so results keep the first stage's order. Train it on a larger log") in caplog.text


@pytest.mark.parametrize("settings", [
    {"num_leaves": 1}, {"n_estimators": 0}, {"learning_rate": 0.0}, {"learning_rate": 1.01},
])
def test_invalid_settings_are_refused(settings: dict) -> None:
    with pytest.raises(ConfigError, match="invalid ranker settings"):
        RankerConfig(**settings)


def test_boundary_settings_are_accepted() -> None:
    cfg = RankerConfig(num_leaves=2, n_estimators=1, learning_rate=1.0)
    assert cfg.to_dict() == {"num_leaves": 2, "learning_rate": 1.0, "n_estimators": 1, "min_data_in_leaf": 50,
                             "feature_fraction": 0.9, "bagging_fraction": 0.8, "lambdarank_truncation_level": 20,
                             "early_stopping_rounds": 50, "threads": 2}


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_group_split_fraction_must_be_a_share(fraction: float) -> None:
    with pytest.raises(ConfigError, match=f"valid_fraction must be in \\(0, 1\\), got {fraction}"):
        group_split(["a", "b"], fraction)


def test_group_split_draws_one_uniform_per_key_in_sorted_order() -> None:
    # keys are sorted as text, one uniform each from the generator: a key is validation when its
    # uniform is below the fraction
    keys = ["u3", "u1", "u2", "u1", "u10", "u3"]
    fraction = 0.5
    uniforms = np.random.default_rng(7).random(4)  # for "u1", "u10", "u2", "u3"
    chosen = dict(zip(["u1", "u10", "u2", "u3"], uniforms < fraction, strict=True))
    assert 0 < sum(chosen.values()) < 4  # no key forced to either side
    got = group_split(keys, fraction, rng=7)
    assert got.dtype == bool and got.tolist() == [chosen[k] for k in keys]
    gen, ref = np.random.default_rng(7), np.random.default_rng(7)
    assert group_split(keys, fraction, rng=gen).tolist() == got.tolist()  # a Generator is used as given,
    ref.random(4)
    assert gen.random() == ref.random()  # and advanced by the four draws


def test_group_split_share_of_keys() -> None:
    keys = np.repeat(np.arange(2000), 3)
    mask = group_split(keys, 0.3, rng=0)
    per_key = mask.reshape(2000, 3)
    assert (per_key == per_key[:, :1]).all()
    share = per_key[:, 0].mean()
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 2000)  # within four binomial standard errors


def test_group_split_forces_one_key_to_each_side() -> None:
    # with a tiny fraction no key would be drawn; with a fraction near one every key would: one is moved
    for fraction, moved in ((1e-9, True), (1 - 1e-9, False)):
        for seed in range(5):
            gen = np.random.default_rng(seed)
            gen.random(3)
            expected = [not moved] * 3
            expected[int(gen.integers(3))] = moved  # the key moved is drawn after the three uniforms
            assert group_split(["b", "c", "a", "b"], fraction, rng=seed).tolist() == [expected[k] for k in (1, 2, 0, 1)]
    for seed in range(5):  # two keys: one on each side
        assert group_split(["a", "b"], 1 - 1e-9, rng=seed).sum() == 1
        assert group_split(["a", "b"], 1e-9, rng=seed).sum() == 1
    assert group_split(["a", "a"], 1e-9, rng=0).tolist() == [False, False]  # one key: nothing to balance


def test_group_split_reads_ids_as_text_and_defaults_to_seed_zero() -> None:
    keys = [7, "7", 12, "12", 3]  # a customer id read as a number or as text is one customer
    mask = group_split(keys, 0.5)
    assert mask[0] == mask[1] and mask[2] == mask[3]
    assert mask.tolist() == group_split([str(k) for k in keys], 0.5, rng=0).tolist()
