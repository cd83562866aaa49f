"""The autoencoder: examples without leakage, shapes, determinism, the time-aware objective beating
reconstruction where the future differs from the past, save/load, and bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from discoverly.data import Interactions
from discoverly.errors import ArtifactError, ConfigError
from discoverly.evaluate import split
from discoverly.recommend import BaseRecommender, History, create
from discoverly.recommend.autoencoder import Autoencoder
from discoverly.recommend.autoencoder_examples import (
    DAY,
    TREND_FEATURES,
    ExampleSet,
    add_user_cutoffs,
    build_examples,
    ease_priors,
    input_values,
    select_items,
    training_cutoffs,
    validation_plan,
)
from discoverly.recommend.autoencoder_training import TrainSettings, hit_rate_at, train_autoencoder
from discoverly.recommend.ease import ease_weights

from .conftest import shop_log

pytest.importorskip("torch")
pytest.importorskip("safetensors")

T0 = 1_600_000_000 - 1_600_000_000 % DAY  # midnight UTC
FAST = {"hidden": 16, "epochs": 3, "train_batch_size": 64}


def releases_log(rng: int = 0, n_users: int = 120, weeks: int = 16, per_week: int = 4) -> Interactions:
    """A store of new releases: every week ``per_week`` items come out and sell for three weeks; an
    active customer buys two of the items on sale that week. Nothing sells after its third week, so
    a customer's past says little about the next two weeks, but what sells *now* says a lot."""
    gen = np.random.default_rng(rng)
    users, items, times = [], [], []
    for week in range(weeks):
        fresh = np.arange(max(0, week - 2) * per_week, (week + 1) * per_week)
        for u in range(n_users):
            if gen.random() < 0.5:
                continue
            for item in gen.choice(fresh, size=2, replace=False).tolist():
                users.append(u)
                items.append(item)
                times.append(T0 + week * 7 * DAY + int(gen.integers(0, 7 * DAY)))
    return Interactions.from_indices(users, items, np.array(times), n_users=n_users, n_items=weeks * per_week)


# -- examples ----------------------------------------------------------------------------------
def test_input_values_by_hand() -> None:
    now = T0 + 100 * DAY
    days = sp.csr_matrix(np.array([[1.0, 0.0, 3.0], [0.0, 2.0, 0.0]]))
    last = sp.csr_matrix(np.array([[now - 10 * DAY, 0.0, now - 20 * DAY], [0.0, now, 0.0]]))
    binary = input_values(days, last, now, "binary", 10.0).toarray()
    np.testing.assert_array_equal(binary, [[1, 0, 1], [0, 1, 0]])
    recency = input_values(days, last, now, "recency", 10.0).toarray()
    np.testing.assert_allclose(recency, [[0.5, 0, 0.25], [0, 1, 0]], rtol=1e-6)
    freq = input_values(days, last, now, "frequency", 10.0).toarray()
    np.testing.assert_allclose(freq, [[1, 0, 1 + np.log(3)], [0, 1 + np.log(2), 0]], rtol=1e-6)
    both = input_values(days, last, now, "recency-frequency", 10.0).toarray()
    np.testing.assert_allclose(both, recency * freq, rtol=1e-6)
    with pytest.raises(ConfigError, match="input encoding"):
        input_values(days, last, now, "tfidf", 10.0)


def test_time_aware_examples_take_inputs_before_and_new_targets_after_the_cutoff() -> None:
    # user 0 buys item 0 on day 0 and items 0, 1 on day 10; user 1 buys item 2 on day 1 and item 3 on day 30
    log = Interactions.from_indices([0, 1, 0, 0, 1], [0, 2, 0, 1, 3],
                                    np.array([T0, T0 + DAY, T0 + 10 * DAY, T0 + 10 * DAY + 5, T0 + 30 * DAY]),
                                    n_users=2, n_items=4)
    cols = np.arange(4)
    cut = T0 + 5 * DAY
    ex = build_examples(log, cols, np.array([cut]), mode="time-aware", window_days=14, input_kind="binary",
                        half_life_days=30)
    # only user 0 has events before the cutoff and a new item in [day 5, day 19): item 1 (item 0 is a repeat)
    assert ex.users.tolist() == [0]
    assert ex.inputs.toarray().tolist() == [[1, 0, 0, 0]]
    assert ex.targets.toarray().tolist() == [[0, 1, 0, 0]]
    anyitem = build_examples(log, cols, np.array([cut]), mode="time-aware", window_days=14, input_kind="binary",
                             half_life_days=30, target="any")
    np.testing.assert_allclose(anyitem.targets.toarray(), [[0.5, 0.5, 0, 0]])
    recon = build_examples(log, cols, np.array([T0 + 20 * DAY]), mode="reconstruct", window_days=14,
                           input_kind="binary", half_life_days=30)
    assert recon.users.tolist() == [0, 1]
    np.testing.assert_array_equal(recon.inputs.toarray() > 0, recon.targets.toarray() > 0)
    # trend features at the cutoff: item 0 had 1 buyer in the last 7 days, item 3 is not sold yet
    assert ex.trend.shape == (1, 4, 6)
    assert ex.trend[0, 0, 0] == pytest.approx(np.log1p(1))
    assert ex.trend[0, 3, 5] == 1.0 and ex.trend[0, 0, 5] == 0.0


def test_customer_cutoffs_equal_global_cutoffs_at_the_same_time() -> None:
    """An example at a customer's own event time has exactly the input and target a global cutoff
    at that time gives that customer (all encodings at once: recency and frequency)."""
    log = shop_log(rng=7, days=60)
    cols = np.arange(log.n_items)
    grid = np.array([T0 + 10 * DAY, T0 + 20 * DAY, T0 + 30 * DAY])
    kw = {"window_days": 14.0, "input_kind": "recency-frequency", "half_life_days": 20.0, "target": "new"}
    base = build_examples(log, cols, grid, mode="time-aware", **kw)
    both = add_user_cutoffs(log, cols, base, per_user=3, latest=int(grid[-1]), rng=np.random.default_rng(0), **kw)
    extra = np.arange(len(base), len(both))
    assert len(extra) > 20
    assert (np.bincount(both.users[extra]) <= 3).all()
    assert (both.times[extra] >= grid[0]).all() and (both.times[extra] <= grid[-1]).all()
    np.testing.assert_array_equal(both.cutoff_id[extra], np.searchsorted(grid, both.times[extra], side="right") - 1)
    for e in extra[:25]:
        t, u = int(both.times[e]), int(both.users[e])
        one = build_examples(log, cols, np.array([t]), mode="time-aware", **kw)
        row = int(np.nonzero(one.users == u)[0][0])
        np.testing.assert_allclose(both.inputs[e].toarray(), one.inputs[row].toarray(), rtol=1e-6)
        np.testing.assert_allclose(both.targets[e].toarray(), one.targets[row].toarray(), rtol=1e-6)
    same = add_user_cutoffs(log, cols, base, per_user=3, latest=int(grid[-1]), rng=np.random.default_rng(0), **kw)
    np.testing.assert_array_equal(same.times, both.times)


def test_customer_cutoffs_with_a_gap_start_only_where_the_customer_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    """With ``min_gap_days`` every customer cutoff lies at least that long after the customer's
    previous event (a return after a pause, not a moment inside a visit), and it is still the
    example a global cutoff at that time gives."""
    log = shop_log(rng=7, days=60)
    cols = np.arange(log.n_items)
    grid = np.array([T0 + 10 * DAY, T0 + 20 * DAY, T0 + 30 * DAY])
    kw = {"window_days": 14.0, "input_kind": "binary", "half_life_days": 20.0, "target": "new"}
    base = build_examples(log, cols, grid, mode="time-aware", **kw)
    u, t = log.user_index.astype(np.int64), log.timestamp.astype(np.int64)

    def gaps(ex: ExampleSet) -> np.ndarray:
        extra = np.arange(len(base), len(ex))
        return np.array([(ex.times[e] - t[(u == ex.users[e]) & (t < ex.times[e])].max()) / DAY for e in extra])

    anytime = add_user_cutoffs(log, cols, base, per_user=50, latest=int(grid[-1]), rng=np.random.default_rng(0),
                               **kw)
    paused = add_user_cutoffs(log, cols, base, per_user=50, latest=int(grid[-1]), rng=np.random.default_rng(0),
                              min_gap_days=3.0, **kw)
    g_any, g_paused = gaps(anytime), gaps(paused)
    assert (g_any < 3).sum() > 20  # without the gap, many cutoffs follow the customer's last event closely
    assert len(g_paused) > 10 and (g_paused >= 3).all()
    # every time of the customer that qualifies is taken (per_user is large) and none is lost
    assert len(g_paused) == (g_any >= 3).sum()
    for e in range(len(base), len(paused), max(1, (len(paused) - len(base)) // 10)):
        one = build_examples(log, cols, np.array([int(paused.times[e])]), mode="time-aware", **kw)
        row = int(np.nonzero(one.users == paused.users[e])[0][0])
        np.testing.assert_array_equal(paused.targets[e].toarray(), one.targets[row].toarray())
    with pytest.raises(ConfigError, match="user_cutoff_gap_days"):
        Autoencoder(user_cutoffs=4, user_cutoff_gap_days=-1.0)
    with caplog.at_level("WARNING", logger="discoverly.recommend.autoencoder"):
        Autoencoder(user_cutoff_gap_days=1.0)  # no effect, said so; not an error: saved configs must load
    assert "user_cutoffs=0 adds none" in caplog.text
    assert Autoencoder(user_cutoffs=4, user_cutoff_gap_days=2.0).config()["user_cutoff_gap_days"] == 2.0


def test_training_cutoffs_leave_the_validation_window_alone() -> None:
    log = shop_log(rng=3, days=120)
    v, end = validation_plan(log, 14)
    assert v % DAY == 0 and end - 15 * DAY < v < end
    cuts = training_cutoffs(log, v - 14 * DAY, stride_days=7, min_history_days=7, max_cutoffs=None)
    assert len(cuts) > 5 and (np.diff(cuts) == 7 * DAY).all()
    assert cuts.max() + 14 * DAY <= v  # every training target window closes before validation starts
    assert cuts.min() - int(log.timestamp[0]) >= 7 * DAY
    assert len(training_cutoffs(log, v - 14 * DAY, stride_days=7, min_history_days=7, max_cutoffs=3)) == 3
    with pytest.raises(ConfigError):
        training_cutoffs(log, v, stride_days=0, min_history_days=7, max_cutoffs=None)
    # a stride of a minute with no cap: 160,000 cutoffs, each a pass over the log (the fit never ended)
    with pytest.raises(ConfigError, match=r"makes 1\d\d,\d{3} training cutoffs, more than 10,000; set max_cutoffs"):
        training_cutoffs(log, v - 14 * DAY, stride_days=1 / 1440, min_history_days=7, max_cutoffs=None)
    assert len(training_cutoffs(log, v - 14 * DAY, stride_days=1 / 1440, min_history_days=7, max_cutoffs=50)) == 50


def test_select_items_keeps_recent_risers() -> None:
    # items 0..9 popular long ago; item 10 sold only in the last days, to two buyers
    users = list(range(10)) * 10
    items = [i for i in range(10) for _ in range(10)]
    times = [T0 + i for i in range(100)]
    users += [0, 1]
    items += [10, 10]
    times += [T0 + 60 * DAY, T0 + 60 * DAY + 1]
    log = Interactions.from_indices(users, items, np.array(times), n_users=10, n_items=12)
    assert select_items(log, None).tolist() == list(range(11))  # item 11 never sold
    top = select_items(log, 3)
    assert len(top) == 3 and 10 in top.tolist()


def test_hit_rate_at_excludes_seen_items() -> None:
    scores = np.array([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]]))
    targets = sp.csr_matrix(np.array([[0, 0, 1, 0], [1, 0, 0, 0]]))
    assert hit_rate_at(scores, seen, targets, 2).tolist() == [1.0, 0.0]


# -- the model ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shop() -> Interactions:
    return shop_log(rng=2, days=120)


@pytest.fixture(scope="module")
def fitted(shop: Interactions) -> Autoencoder:
    return Autoencoder(**FAST).fit(shop)


def test_scores_have_the_catalogue_shape_and_no_opinion_on_items_it_does_not_model(fitted: Autoencoder,
                                                                                     shop: Interactions) -> None:
    hist = History.of(shop, np.arange(5))
    scores = fitted._score(hist)
    assert scores.shape == (5, shop.n_items) and scores.dtype == np.float32
    assert fitted.cols_ is not None
    modelled = np.zeros(shop.n_items, dtype=bool)
    modelled[fitted.cols_] = True
    assert np.isfinite(scores[:, modelled]).all() and np.isneginf(scores[:, ~modelled]).all()
    rec = fitted.training_
    assert rec["best_epoch"] >= 1 and rec["examples"] > 0 and rec["cutoffs"] > 1
    assert rec["validation_cutoff"] < fitted.trained_until


def test_same_seed_same_model_other_seed_other_model(shop: Interactions) -> None:
    a = Autoencoder(**FAST, rng=5).fit(shop)
    b = Autoencoder(**FAST, rng=5).fit(shop)
    c = Autoencoder(**FAST, rng=6).fit(shop)
    hist = History.of(shop, np.arange(10))
    np.testing.assert_array_equal(a._score(hist), b._score(hist))
    assert not np.array_equal(a._score(hist), c._score(hist))
    gen_seeded = Autoencoder(**FAST, rng=np.random.default_rng(1))
    assert isinstance(gen_seeded.rng, int) and gen_seeded.config()["rng"] == gen_seeded.rng


def test_numpy_scoring_matches_the_trained_network(shop: Interactions) -> None:
    """Without trend and refit, the validation hit rate the training loop recorded (torch) equals
    the one computed from the served model's numpy scores on the same validation examples."""
    model = Autoencoder(**FAST, trend=False, refit=False, encoding="recency-frequency").fit(shop)
    v = model.training_["validation_cutoff"]
    assert model.cols_ is not None
    val = build_examples(shop, model.cols_, np.array([v]), mode="time-aware", window_days=14,
                         input_kind="recency-frequency", half_life_days=model.half_life_days)
    hist = History.of(shop.before(v), val.users, now=v)
    scores = model._score(hist)[:, model.cols_]
    recorded = model.training_["val_hit_rate"][model.training_["best_epoch"] - 1]
    assert hit_rate_at(scores, val.inputs, val.targets, 6).mean() == pytest.approx(recorded)


def test_histories_with_unsorted_matrices_score_the_same(fitted: Autoencoder, shop: Interactions) -> None:
    hist = History.of(shop, np.arange(20))
    last = hist.last.copy()
    for r in range(last.shape[0]):  # reverse each row's entries: a valid CSR with unsorted indices
        sl = slice(last.indptr[r], last.indptr[r + 1])
        last.indices[sl] = last.indices[sl][::-1]
        last.data[sl] = last.data[sl][::-1]
    other = History(hist.days, hist.first, last, hist.now)
    np.testing.assert_allclose(fitted._score(other), fitted._score(hist), rtol=1e-5, atol=1e-5)


def test_time_aware_beats_reconstruction_when_the_future_differs_from_the_past() -> None:
    log = releases_log(rng=0)
    cutoff = T0 + 13 * 7 * DAY
    s = split(log, cutoff, window_days=14, variant="new-items")
    rates = {}
    for name in ("autoencoder", "autoencoder-reconstruct", "bestsellers"):
        settings = {"hidden": 32, "epochs": 8, "train_batch_size": 64, "lr": 1e-2} if "auto" in name else {}
        model = create(name, **settings).fit(s.train)
        top = model.recommend(s.users.tolist(), 6, history=s.history).indices
        hits = [np.isin(top[r], s.targets[r].indices).any() for r in range(s.n_users)]
        rates[name] = float(np.mean(hits))
    assert s.n_users > 30
    # reconstruction recommends what the customer's past co-occurs with: items no longer on sale
    assert rates["autoencoder"] > rates["autoencoder-reconstruct"] + 0.3, rates
    # and the time-aware model learns more than "what sold in the last two weeks"
    assert rates["autoencoder"] > rates["bestsellers"] + 0.2, rates


def test_save_load_round_trip_gives_identical_scores(fitted: Autoencoder, shop: Interactions,
                                                     tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "ae")
    assert (path / "weights.safetensors").is_file()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["config"]["mode"] == "time-aware" and "weights.safetensors" in manifest["files"]
    back = BaseRecommender.load(path)
    assert isinstance(back, Autoencoder) and back.config() == fitted.config()
    hist = History.of(shop, np.arange(shop.n_users))
    np.testing.assert_array_equal(back._score(hist), fitted._score(hist))
    assert back.training_["train_loss"] == pytest.approx(fitted.training_["train_loss"])
    (path / "weights.safetensors").unlink()
    with pytest.raises(ArtifactError):
        BaseRecommender.load(path)


def test_bad_input_is_handled_like_the_foundation(fitted: Autoencoder, shop: Interactions) -> None:
    out = fitted.recommend(["nobody", 0], k=4)
    assert out.fallback.tolist() == [True, False]
    # a history made only of items the model does not know (here: none) gets the fallback too
    empty = History.empty(1, shop.n_items, now=fitted.trained_until or 0)
    assert np.isneginf(fitted._score(empty)).all()
    # items never sold in training are never recommended
    cold = Interactions.from_indices([0, 1, 1], [0, 0, 1], np.array([T0, T0 + 1, T0 + 2]), n_users=2, n_items=5)
    small = Autoencoder(**FAST).fit(cold)
    idx, _ = small.recommend_indices(History.of(cold, np.array([0, 1])), k=5, exclude_seen=False)
    assert set(idx[idx >= 0].tolist()) <= {0, 1}


def test_short_logs_fall_back_to_reconstruction_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    log = Interactions.from_indices([0, 0, 1, 1, 2], [0, 1, 1, 2, 0],
                                    np.array([T0, T0 + 1, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY]), n_users=3,
                                    n_items=3)
    with caplog.at_level("WARNING"):
        model = Autoencoder(**FAST).fit(log)
    assert "without early stopping" in caplog.text
    assert model.recommend([0], k=2).indices.shape == (1, 2)


@pytest.mark.parametrize("bad", [{"mode": "predict"}, {"encoding": "tfidf"}, {"target": "old"}, {"hidden": 0},
                                 {"dropout": 1.0}, {"window_days": 0}, {"max_items": 0}, {"rng": "seed"}])
def test_bad_settings_raise_config_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Autoencoder(**bad)  # type: ignore[arg-type]


def test_progress_bar_runs(shop: Interactions) -> None:
    model = Autoencoder(hidden=8, epochs=1, refit=False, progress=True).fit(shop)
    assert model.training_["epochs_run"] == 1


@pytest.mark.parametrize("bad", [{"hidden": "x"}, {"hidden": 2.5}, {"hidden": True}, {"epochs": "3"},
                                 {"max_items": "100"}, {"max_items": 1.5}, {"user_cutoffs": float("nan")},
                                 {"user_cutoffs": 1.5}, {"trend": "False"}, {"refit": "false"}, {"progress": "no"},
                                 {"mask_history": "false"}])
def test_settings_of_the_wrong_type_raise_config_errors_naming_them(bad: dict[str, object]) -> None:
    # int("x") was a bare ValueError, 2.5 hidden units were silently 2, and refit="false" (what
    # --param refit=False gives) was silently true
    (name, value), = bad.items()
    with pytest.raises(ConfigError, match=f"{name} has the wrong type.*{value!r}"):
        Autoencoder(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [{"lr": float("inf")}, {"lr": float("nan")}, {"weight_decay": float("nan")},
                                 {"weight_decay": -1.0}, {"half_life_days": float("inf")},
                                 {"reconstruct_weight": float("inf")}, {"ease_l2": float("inf")},
                                 {"wide_l2": float("inf")}, {"min_history_days": -5.0}, {"max_cutoffs": 0},
                                 {"stride_days": 1e-6}, {"window_days": 1e-6},
                                 {"max_cutoffs": -1}, {"rng": -1}])
def test_settings_out_of_range_raise_config_errors_naming_them(bad: dict[str, object]) -> None:
    # lr, weight_decay, reconstruct_weight or ease_l2 of inf/NaN trained a network of NaN whose
    # "personal" lists were silently the bestsellers; max_cutoffs <= 0 silently switched to
    # reconstruction; a negative rng failed in numpy with user_cutoffs
    (name, _), = bad.items()
    with pytest.raises(ConfigError, match=name):
        Autoencoder(**bad)  # type: ignore[arg-type]


def test_whole_floats_and_numpy_numbers_are_accepted_as_before() -> None:
    model = Autoencoder(hidden=16.0, epochs=np.int64(2), max_items=None, max_cutoffs=None,  # type: ignore[arg-type]
                        trend=np.bool_(False), lr=np.float32(0.01))  # type: ignore[arg-type]
    assert model.hidden == 16 and model.epochs == 2 and model.trend is False and model.max_cutoffs is None


def test_progress_without_a_terminal_prints_one_line_per_epoch(shop: Interactions,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    # the bar draws nothing when the output is not a terminal (a pipe, a log file): there were only blank lines
    Autoencoder(hidden=8, epochs=2, patience=5, progress=True).fit(shop)
    out = capsys.readouterr()
    assert "autoencoder epoch 1/2: loss" in out.err and "validation HitRate@6" in out.err  # stderr, as progress
    assert "autoencoder epoch 2/2: loss" in out.err and "autoencoder epoch" not in out.out
    Autoencoder(hidden=8, epochs=1, refit=False).fit(shop)
    assert "autoencoder epoch" not in capsys.readouterr().err


def test_a_log_where_nobody_comes_back_says_so(caplog: pytest.LogCaptureFixture) -> None:
    # 40 customers, one visit each two days apart: long enough for cutoffs, but no customer with a
    # history buys anything after a cutoff; the warning said the log was "too short"
    users = np.repeat(np.arange(40), 2)
    items = (users + np.tile([0, 1], 40)) % 9
    times = T0 + users * 2 * DAY + np.tile([0, 60], 40)
    log = Interactions.from_indices(users, items, times, n_users=40, n_items=9)
    with caplog.at_level("WARNING"):
        model = Autoencoder(**FAST).fit(log)
    assert "customers do not come back" in caplog.text and "too short" not in caplog.text
    assert model.recommend([0], k=2).indices.shape == (1, 2)


def test_damaged_weights_raise_artifact_errors(fitted: Autoencoder, tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "ae")
    weights = path / "weights.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])  # truncated: safetensors' own error before
    with pytest.raises(ArtifactError, match=r"weights\.safetensors"):
        BaseRecommender.load(path)
    weights.write_bytes(b"not a safetensors file" * 10)
    with pytest.raises(ArtifactError, match=r"weights\.safetensors"):
        BaseRecommender.load(path)
    st = pytest.importorskip("safetensors.numpy")
    tensors = st.load(good)
    tensors["cols"] = tensors["cols"][:-2].copy()  # loaded, then a matmul error at the first request
    weights.write_bytes(st.save(tensors))
    with pytest.raises(ArtifactError, match="damaged"):
        BaseRecommender.load(path)
    tensors = st.load(good)
    tensors["cols"] = tensors["cols"] + 10_000  # positions past the catalogue: an IndexError before
    weights.write_bytes(st.save(tensors))
    with pytest.raises(ArtifactError, match="damaged"):
        BaseRecommender.load(path)


def test_missing_torch_is_a_missing_dependency_error(shop: Interactions, monkeypatch: pytest.MonkeyPatch) -> None:
    from discoverly.errors import MissingDependencyError

    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"discoverly\[deep\]"):
        Autoencoder(**FAST).fit(shop)


# -- early stopping options (issue 3 follow-up) -------------------------------------------------
def _release_sets() -> tuple[ExampleSet, ExampleSet]:
    log = releases_log(rng=1)
    cols = np.arange(log.n_items)
    kw = {"mode": "time-aware", "window_days": 14.0, "input_kind": "binary", "half_life_days": 30.0}
    train = build_examples(log, cols, T0 + 7 * DAY * np.arange(2, 10), **kw)  # type: ignore[arg-type]
    val = build_examples(log, cols, np.array([T0 + 12 * 7 * DAY]), **kw)  # type: ignore[arg-type]
    return train, val


def test_min_epochs_0_keeps_the_untrained_network_when_training_only_hurts() -> None:
    """The untrained network is the trend term (what sold in the last 14 days); a wild learning
    rate wrecks every trained epoch, so metric-based early stopping must pick epoch 0 and return
    the initial weights, while ``min_epochs=1`` has to take a trained epoch."""
    train, val = _release_sets()
    wild = TrainSettings(hidden=16, epochs=3, patience=3, batch_size=64, lr=30.0, n_threads=1, min_epochs=0,
                         bias_init="zero")
    res = train_autoencoder(train, val, wild)
    assert res.best_epoch == 0 and res.epochs_run == 3
    assert res.val_metric_epoch0 is not None and res.val_metric_epoch0 > max(res.val_metric)
    untrained = train_autoencoder(train, None, wild, epochs=0)
    assert untrained.epochs_run == 0
    for k in ("W_out", "b_out", "trend_lin_w"):
        np.testing.assert_array_equal(res.weights[k], untrained.weights[k])
    forced = train_autoencoder(train, val, replace(wild, min_epochs=1))
    assert forced.best_epoch >= 1 and forced.val_metric_epoch0 is None


def test_min_epochs_0_and_val_windows_in_the_model() -> None:
    log = releases_log(rng=1)
    one = Autoencoder(hidden=16, epochs=1, train_batch_size=64, lr=30.0, min_epochs=0, bias_init="zero").fit(log)
    assert one.training_["best_epoch"] == 0 and one.training_["refit_epochs"] == 0
    # untrained with a zero bias: the served offset is log1p(buyers in the last 14 days) at the log's end
    assert one.cols_ is not None and one.offset_ is not None
    end = int(log.timestamp[-1]) + 1
    recent = np.log1p(log.between(end - 14 * DAY, end).item_counts()[one.cols_])
    np.testing.assert_allclose(one.offset_, recent, rtol=1e-6)
    assert not one.weights_["b_out"].any()
    assert len(one.training_["validation_cutoffs"]) == 1
    shop = shop_log(rng=2, days=120)
    single = Autoencoder(hidden=16, epochs=2, train_batch_size=64).fit(shop)
    three = Autoencoder(hidden=16, epochs=2, train_batch_size=64, val_windows=3).fit(shop)
    cuts = three.training_["validation_cutoffs"]
    assert len(cuts) == 3 and cuts[-1] == three.training_["validation_cutoff"]
    assert np.diff(cuts).tolist() == [14 * DAY, 14 * DAY]
    # three windows pool more validation users; training stops before the first window
    assert three.training_["validation_users"] > 1.5 * single.training_["validation_users"]
    assert three.training_["examples"] < single.training_["examples"]
    assert three.config()["val_windows"] == 3 and one.config()["min_epochs"] == 0


def test_weight_decay_shrinks_the_personal_part_only() -> None:
    train, _ = _release_sets()
    base = TrainSettings(hidden=16, epochs=3, batch_size=64, lr=0.05, n_threads=1)
    plain = train_autoencoder(train, None, base)
    decayed = train_autoencoder(train, None, replace(base, weight_decay=100.0))
    assert np.abs(decayed.weights["W_out"]).mean() < 0.2 * np.abs(plain.weights["W_out"]).mean()
    # the trend term (initialised to log1p(buyers_14d)) is not decayed towards zero
    j = TREND_FEATURES.index("buyers_14d")
    assert decayed.weights["trend_lin_w"][0, j] > 0.5


@pytest.mark.parametrize("bad", [{"min_epochs": 2}, {"val_windows": 0}, {"bias_init": "ones"}])
def test_bad_early_stopping_settings_raise_config_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Autoencoder(**bad)  # type: ignore[arg-type]


# -- ensembles (n_models) ------------------------------------------------------------------------
def test_ensemble_scores_are_the_mean_of_its_members_logits(shop: Interactions) -> None:
    """``n_models=2`` is the average of the logits of the single models with seeds ``rng`` and
    ``rng + MEMBER_SEED_STEP``, served as one network of ``2 * hidden`` units."""
    from discoverly.recommend.autoencoder import MEMBER_SEED_STEP

    pair = Autoencoder(**FAST, n_models=2, rng=3).fit(shop)
    first = Autoencoder(**FAST, rng=3).fit(shop)
    second = Autoencoder(**FAST, rng=3 + MEMBER_SEED_STEP).fit(shop)
    assert pair.weights_["W_in"].shape == (len(pair.cols_ if pair.cols_ is not None else []), 2 * FAST["hidden"])
    assert pair.weights_["W_out"].shape == pair.weights_["W_in"].shape
    hist = History.of(shop, np.arange(30))
    mean = (first._score(hist) + second._score(hist)) / 2
    got = pair._score(hist)
    finite = np.isfinite(mean)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    np.testing.assert_allclose(got[finite], mean[finite], rtol=1e-4, atol=1e-4)
    # each member keeps its own early-stopping record; member 0 is the single model
    members = pair.training_["members"]
    assert len(members) == 2 and members[0]["best_epoch"] == first.training_["best_epoch"]
    assert members[1]["best_epoch"] == second.training_["best_epoch"]
    assert pair.config()["n_models"] == 2 and "members" not in first.training_


def test_ensemble_is_deterministic_and_round_trips(shop: Interactions, tmp_path: Path) -> None:
    a = Autoencoder(**FAST, n_models=3, rng=4).fit(shop)
    b = Autoencoder(**FAST, n_models=3, rng=4).fit(shop)
    c = Autoencoder(**FAST, n_models=3, rng=5).fit(shop)
    hist = History.of(shop, np.arange(shop.n_users))
    np.testing.assert_array_equal(a._score(hist), b._score(hist))
    assert not np.array_equal(a._score(hist), c._score(hist))
    back = BaseRecommender.load(a.save(tmp_path / "ens"))
    assert isinstance(back, Autoencoder) and back.n_models == 3
    np.testing.assert_array_equal(back._score(hist), a._score(hist))


def test_bad_ensemble_size_raises_a_config_error() -> None:
    with pytest.raises(ConfigError, match="n_models"):
        Autoencoder(n_models=0)


# -- the wide item-item path (wide) ---------------------------------------------------------------
@pytest.mark.parametrize("wide", ["learned", "ease"])
def test_wide_path_has_the_item_item_shape_a_zero_diagonal_and_is_deterministic(shop: Interactions,
                                                                                wide: str) -> None:
    a = Autoencoder(**FAST, wide=wide, rng=2).fit(shop)  # type: ignore[arg-type]
    b = Autoencoder(**FAST, wide=wide, rng=2).fit(shop)  # type: ignore[arg-type]
    assert a.cols_ is not None
    w = a.weights_["W_wide"]
    assert w.shape == (len(a.cols_), len(a.cols_)) and w.dtype == np.float32
    assert not np.diag(w).any() and np.abs(w).sum() > 0
    hist = History.of(shop, np.arange(shop.n_users))
    np.testing.assert_array_equal(a._score(hist), b._score(hist))
    assert a.config()["wide"] == wide


def test_ease_wide_path_is_eases_matrix_times_the_learned_scale(shop: Interactions) -> None:
    model = Autoencoder(**FAST, wide="ease", ease_l2=30.0).fit(shop)
    assert model.cols_ is not None
    x = shop.matrix("binary")[:, model.cols_]
    b = ease_weights((x.T @ x).toarray(), 30.0)
    scale = model.training_["refit_wide_scale"]
    assert scale != 1.0 and model.training_["wide_scale"] != 1.0  # the scale was trained
    np.testing.assert_allclose(model.weights_["W_wide"], scale * b, rtol=1e-4, atol=1e-6)


def test_wide_path_changes_the_scores_and_numpy_scoring_matches_the_network(shop: Interactions) -> None:
    """The served (numpy) model reproduces the hit rate the training loop recorded with the wide
    path, and removing the wide matrix from the served model changes its scores."""
    model = Autoencoder(**FAST, trend=False, refit=False, wide="learned", wide_l2=1e-4).fit(shop)
    v = model.training_["validation_cutoff"]
    assert model.cols_ is not None
    val = build_examples(shop, model.cols_, np.array([v]), mode="time-aware", window_days=14,
                         input_kind=model.encoding, half_life_days=model.half_life_days)
    hist = History.of(shop.before(v), val.users, now=v)
    scores = model._score(hist)[:, model.cols_]
    recorded = model.training_["val_hit_rate"][model.training_["best_epoch"] - 1]
    assert hit_rate_at(scores, val.inputs, val.targets, 6).mean() == pytest.approx(recorded)
    without = Autoencoder(**FAST, trend=False, refit=False, wide="learned", wide_l2=1e-4).fit(shop)
    without.weights_.pop("W_wide")
    assert not np.allclose(without._score(hist)[:, model.cols_], scores)


def test_wide_path_round_trips_and_averages_in_an_ensemble(shop: Interactions, tmp_path: Path) -> None:
    from discoverly.recommend.autoencoder import MEMBER_SEED_STEP

    pair = Autoencoder(**FAST, wide="learned", n_models=2, rng=3).fit(shop)
    first = Autoencoder(**FAST, wide="learned", rng=3).fit(shop)
    second = Autoencoder(**FAST, wide="learned", rng=3 + MEMBER_SEED_STEP).fit(shop)
    np.testing.assert_allclose(pair.weights_["W_wide"], (first.weights_["W_wide"] + second.weights_["W_wide"]) / 2,
                               rtol=1e-5, atol=1e-6)
    back = BaseRecommender.load(pair.save(tmp_path / "wide"))
    assert isinstance(back, Autoencoder) and back.wide == "learned" and "W_wide" in back.weights_
    hist = History.of(shop, np.arange(shop.n_users))
    np.testing.assert_array_equal(back._score(hist), pair._score(hist))


@pytest.mark.parametrize("bad", [{"wide": "deep"}, {"wide_l2": -1.0}, {"ease_l2": 0.0}])
def test_bad_wide_settings_raise_config_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Autoencoder(**bad)  # type: ignore[arg-type]


def test_train_autoencoder_wants_per_cutoff_priors_exactly_with_wide_ease() -> None:
    train, val = _release_sets()
    n = train.inputs.shape[1]
    priors = np.zeros((len(train.cutoffs), n, n), dtype=np.float32)
    settings = TrainSettings(hidden=8, epochs=1, batch_size=64, n_threads=1)
    with pytest.raises(ConfigError, match="wide priors"):
        train_autoencoder(train, None, replace(settings, wide="ease"))
    with pytest.raises(ConfigError, match="wide priors"):
        train_autoencoder(replace(train, wide=priors), None, settings)
    with pytest.raises(ConfigError, match="validation examples"):
        train_autoencoder(replace(train, wide=priors), val, replace(settings, wide="ease"))
    with pytest.raises(ConfigError, match="must be"):
        train_autoencoder(replace(train, wide=priors[:, :, :1]), None, replace(settings, wide="ease"))
    with pytest.raises(ConfigError, match="wide must be"):
        train_autoencoder(train, None, replace(settings, wide="wider"))


def test_ease_priors_use_only_the_events_before_each_cutoff(shop: Interactions) -> None:
    cols = np.arange(0, shop.n_items, 2)
    cuts = np.array([T0, int(shop.timestamp[len(shop) // 2]), int(shop.timestamp[-1]) + 1])
    priors = ease_priors(shop, cols, cuts, 25.0)
    assert priors.shape == (3, len(cols), len(cols)) and priors.dtype == np.float32
    for j, c in enumerate(cuts[1:], start=1):
        x = shop.before(int(c)).matrix("binary")[:, cols]
        np.testing.assert_allclose(priors[j], ease_weights((x.T @ x).toarray(), 25.0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(priors[1], priors[2])
    assert not priors[0].any()  # nothing before the first cutoff: no item-item structure yet


# -- the auxiliary reconstruction loss (reconstruct_weight) ---------------------------------------
def test_reconstruction_loss_by_hand() -> None:
    import torch

    from discoverly.recommend.autoencoder_training import _reconstruction_loss

    logp = torch.log_softmax(torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]), dim=1)
    x = sp.csr_matrix(np.array([[0.3, 0.0, 0.9], [0.0, 2.0, 0.0]], dtype=np.float32))  # values do not matter
    expected = -((logp[0, 0] + logp[0, 2]) / 2 + logp[1, 1]) / 2
    assert float(_reconstruction_loss(torch, logp, x)) == pytest.approx(float(expected), rel=1e-6)
    # an empty history adds nothing (and does not divide by zero)
    empty = sp.csr_matrix((2, 3), dtype=np.float32)
    assert float(_reconstruction_loss(torch, logp, empty)) == 0.0


def _history_log_likelihood(weights: dict[str, np.ndarray], x: sp.csr_matrix) -> float:
    """Mean log-softmax of the examples' own history items under trained weights (no trend term),
    through the served model's own encoder."""
    served = Autoencoder()
    served.weights_ = weights
    logits = (served._hidden_of(x.tocsr()) @ weights["W_out"].T + weights["b_out"]).astype(np.float64)
    dense = x.toarray()
    top = logits.max(axis=1, keepdims=True)
    logp = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
    return float(logp[dense > 0].mean())


def test_reconstruct_weight_teaches_the_history_items() -> None:
    train, _ = _release_sets()
    base = TrainSettings(hidden=16, epochs=5, batch_size=64, lr=0.02, n_threads=1, trend=False, dropout=0.0)
    plain = train_autoencoder(train, None, base)
    aux = train_autoencoder(train, None, replace(base, reconstruct_weight=2.0))
    again = train_autoencoder(train, None, replace(base, reconstruct_weight=2.0))
    for k in aux.weights:
        np.testing.assert_array_equal(aux.weights[k], again.weights[k])
    # the auxiliary loss raises the likelihood of what the customers already bought
    gain = _history_log_likelihood(aux.weights, train.inputs) - _history_log_likelihood(plain.weights, train.inputs)
    assert gain > 0.5  # measured: 3.4 nats with weight 2


def test_reconstruct_weight_is_kept_by_the_model_and_round_trips(shop: Interactions, tmp_path: Path) -> None:
    aux = Autoencoder(**FAST, rng=4, reconstruct_weight=1.0).fit(shop)
    plain = Autoencoder(**FAST, rng=4).fit(shop)
    hist = History.of(shop, np.arange(shop.n_users))
    assert not np.allclose(aux._score(hist)[:, aux.cols_], plain._score(hist)[:, plain.cols_])
    back = BaseRecommender.load(aux.save(tmp_path / "aux"))
    assert isinstance(back, Autoencoder) and back.config()["reconstruct_weight"] == 1.0
    np.testing.assert_array_equal(back._score(hist), aux._score(hist))


@pytest.mark.parametrize("bad", [{"reconstruct_weight": -1.0}, {"reconstruct_weight": 1.0, "mode": "reconstruct"}])
def test_bad_reconstruct_weight_raises_a_config_error(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="reconstruct"):
        Autoencoder(**bad)  # type: ignore[arg-type]


# -- the history left out of the time-aware softmax (mask_history) ----------------------------------
def test_history_masked_by_hand() -> None:
    import torch

    from discoverly.recommend.autoencoder_training import MASKED, _history_masked

    logits = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.0, 2.0]])
    x = sp.csr_matrix(np.array([[0.3, 0.0, 0.9, 0.0], [0.0, 2.0, 0.0, 1.0]], dtype=np.float32))
    t = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32))  # row 1: a target it had
    masked = _history_masked(torch, logits, x, t)
    expected = logits.clone()
    expected[0, 0] = expected[0, 2] = expected[1, 1] = MASKED  # (1, 3) is history and a target: kept
    assert torch.equal(masked, expected)
    assert logits[0, 0] == 1.0  # the reconstruction term still reads the unmasked logits
    logp = torch.log_softmax(masked, dim=1)
    assert float(logp[0, 1]) == pytest.approx(float(torch.log_softmax(torch.tensor([2.0, 4.0]), 0)[0]), rel=1e-6)


def test_mask_history_stops_pushing_the_history_down() -> None:
    """Unmasked, the time-aware targets (items new to the customer) push every history item down
    in the softmax; masked, nothing in the loss reads the history's logits, so the history keeps a
    higher likelihood, and the time-aware targets' own likelihood among the unseen items is no worse."""
    train, _ = _release_sets()
    base = TrainSettings(hidden=16, epochs=5, batch_size=64, lr=0.02, n_threads=1, trend=False, dropout=0.0)
    plain = train_autoencoder(train, None, base)
    masked = train_autoencoder(train, None, replace(base, mask_history=True))
    again = train_autoencoder(train, None, replace(base, mask_history=True))
    for k in masked.weights:
        np.testing.assert_array_equal(masked.weights[k], again.weights[k])
    gain = _history_log_likelihood(masked.weights, train.inputs) - _history_log_likelihood(plain.weights, train.inputs)
    assert gain > 0.3  # measured: 0.58 nats (0 if the mask changed nothing)

    def unseen_target_ll(weights: dict[str, np.ndarray]) -> float:
        served = Autoencoder()
        served.weights_ = weights
        logits = (served._hidden_of(train.inputs) @ weights["W_out"].T + weights["b_out"]).astype(np.float64)
        logits[train.inputs.toarray() > 0] = -np.inf
        top = logits.max(axis=1, keepdims=True)
        logp = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        return float(logp[train.targets.toarray() > 0].mean())

    assert unseen_target_ll(masked.weights) >= unseen_target_ll(plain.weights) - 0.05  # measured: -2.878 vs -2.877


def test_mask_history_is_kept_by_the_model_and_round_trips(shop: Interactions, tmp_path: Path) -> None:
    masked = Autoencoder(**FAST, rng=4, mask_history=True, reconstruct_weight=1.0).fit(shop)
    plain = Autoencoder(**FAST, rng=4, reconstruct_weight=1.0).fit(shop)
    hist = History.of(shop, np.arange(shop.n_users))
    assert not np.allclose(masked._score(hist)[:, masked.cols_], plain._score(hist)[:, plain.cols_])
    back = BaseRecommender.load(masked.save(tmp_path / "masked"))
    assert isinstance(back, Autoencoder) and back.config()["mask_history"] is True
    np.testing.assert_array_equal(back._score(hist), masked._score(hist))
    with pytest.raises(ConfigError, match="mask_history"):
        Autoencoder(mode="reconstruct", mask_history=True)


@pytest.mark.parametrize("wide", ["learned", "ease"])
def test_a_wide_path_larger_than_the_memory_is_refused_before_allocating(shop: Interactions, wide: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # max_items=None on Complete Journey's 67,000 items wants ~67 GiB for the learned path and
    # ~880 GiB for wide="ease" (4 * items² bytes per cutoff): an allocation failure deep in the fit
    from discoverly.engine import memory
    from discoverly.errors import ResourceLimitError

    monkeypatch.setattr(memory, "available_memory", lambda: 1_000)
    with pytest.raises(ResourceLimitError, match="max_items"):
        Autoencoder(**FAST, wide=wide).fit(shop)  # type: ignore[arg-type]
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # unknown: no check
    assert "W_wide" in Autoencoder(**FAST, wide=wide).fit(shop).weights_  # type: ignore[arg-type]


def test_more_threads_than_cpus_use_the_cpus(caplog: pytest.LogCaptureFixture) -> None:
    """n_threads=1000 was handed to torch as it was: a thousand threads contending for two cores."""
    import os

    import torch

    from discoverly.recommend.autoencoder_training import _threads

    before = torch.get_num_threads()
    cpus = os.cpu_count() or 1
    with caplog.at_level("WARNING"), _threads(1000):
        assert torch.get_num_threads() == cpus
    assert f"n_threads=1000 is more than the {cpus} CPUs here" in caplog.text
    assert torch.get_num_threads() == before
    caplog.clear()
    with _threads(1):
        assert torch.get_num_threads() == 1
    assert not caplog.text


def test_refitting_one_instance_scores_like_a_fresh_model() -> None:
    # the item -> input column map was cached by catalogue size only, so a second fit that models other
    # items read every history through the first fit's columns (1,000 of 2,400 scores off, no warning)
    settings = {**FAST, "epochs": 2, "max_items": 20, "rng": 0}
    log = shop_log(rng=2, days=120)
    early = log.before(int(log.timestamp[len(log) // 3]))
    model = Autoencoder(**settings).fit(early)
    first_cols = model.cols_.copy()
    model._score(History.of(early, np.arange(5)))  # builds the column map of the first fit
    model.fit(log)
    fresh = Autoencoder(**settings).fit(log)
    assert not np.array_equal(first_cols, model.cols_)  # the second fit models other items
    hist = History.of(log, np.arange(log.n_users))
    np.testing.assert_array_equal(model._score(hist), fresh._score(hist))
    other = Autoencoder(**settings).fit(early)  # the saved network read into a model that has scored
    other._score(History.of(early, np.arange(5)))
    other._set_files(fresh._files())
    np.testing.assert_array_equal(other._score(hist), fresh._score(hist))
