"""The autoencoder's training loop against numbers computed independently in numpy: the initial
network (output bias, trend term), the multinomial loss with and without the auxiliary
reconstruction term and the history mask (``lr=0`` keeps the network at its start, so the first
epoch's recorded loss is the loss of the initial network), the input dropout, and early stopping
(the recorded validation hit rates, the epoch kept, patience)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from discoverly.recommend.autoencoder_examples import TREND_FEATURES, ExampleSet
from discoverly.recommend.autoencoder_training import TrainSettings, hit_rate_at, train_autoencoder

torch = pytest.importorskip("torch")

N_ITEMS = 8


def _examples(seed: int, n: int = 48) -> ExampleSet:
    """``n`` examples over ``N_ITEMS`` items at two cutoffs: 1-3 history items with positive
    values, 1-2 target items (weights summing to 1, unequal when two), random trend features."""
    gen = np.random.default_rng(seed)
    x, t = np.zeros((n, N_ITEMS)), np.zeros((n, N_ITEMS))
    for r in range(n):
        hist = gen.choice(N_ITEMS, size=int(gen.integers(1, 4)), replace=False)
        x[r, hist] = gen.uniform(0.2, 2.0, size=len(hist))
        group = (r % 2) * 4  # two tastes: items 0-3 or 4-7
        tgt = gen.choice(np.arange(group, group + 4), size=int(gen.integers(1, 3)), replace=False)
        t[r, tgt] = [1.0] if len(tgt) == 1 else [0.25, 0.75]
    trend = gen.uniform(0.0, 3.0, size=(2, N_ITEMS, len(TREND_FEATURES))).astype(np.float32)
    return ExampleSet(inputs=sp.csr_matrix(x, dtype=np.float32), targets=sp.csr_matrix(t, dtype=np.float32),
                      cutoff_id=np.arange(n) % 2, cutoffs=np.array([0, 1], dtype=np.int64), trend=trend,
                      users=np.arange(n), times=np.zeros(n, dtype=np.int64))


def _logits(w: dict[str, np.ndarray], ex: ExampleSet) -> np.ndarray:
    """The documented network in float64 numpy: tanh(W_in · x/|x| + b_h) · W_out + b_out + trend."""
    x = ex.inputs.toarray().astype(np.float64)
    norm = np.sqrt((x * x).sum(axis=1, keepdims=True))
    h = np.tanh(x / np.maximum(norm, 1e-12) @ w["W_in"] + w["b_h"])
    logits = h @ w["W_out"].T + w["b_out"]
    if "trend_w1" in w:
        f = ex.trend[ex.cutoff_id].astype(np.float64)  # (n, items, features)
        hid = np.maximum(f @ w["trend_w1"].T + w["trend_b1"], 0.0)
        logits += (hid @ w["trend_w2"].T + w["trend_b2"] + f @ w["trend_lin_w"].T + w["trend_lin_b"])[..., 0]
    return logits


def _log_softmax(z: np.ndarray) -> np.ndarray:
    top = z.max(axis=1, keepdims=True)
    return z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True))


SETTINGS = TrainSettings(hidden=4, epochs=1, batch_size=16, dropout=0.0, n_threads=1, seed=3)


def test_the_untrained_network_starts_from_the_target_frequencies_and_the_recent_sales() -> None:
    ex = _examples(0)
    res = train_autoencoder(ex, None, SETTINGS, epochs=0)
    assert res.epochs_run == 0 and res.train_loss == []
    counts = ex.targets.toarray().sum(axis=0) + 1e-3
    np.testing.assert_allclose(res.weights["b_out"], np.log(counts / counts.sum()), rtol=1e-5)
    # the trend term starts as the feature buyers_14d itself (the recent bestseller list)
    w = {k: v.astype(np.float64) for k, v in res.weights.items()}
    trend_only = _logits(w, ex) - _logits({k: v for k, v in w.items() if not k.startswith("trend")}, ex)
    np.testing.assert_allclose(trend_only, ex.trend[ex.cutoff_id][..., TREND_FEATURES.index("buyers_14d")],
                               rtol=1e-5, atol=1e-6)
    zero = train_autoencoder(ex, None, replace(SETTINGS, bias_init="zero"), epochs=0)
    assert not zero.weights["b_out"].any()
    # Glorot-uniform encoder and decoder: inside +-sqrt(6 / (items + hidden)), not all zero
    a = np.sqrt(6.0 / (N_ITEMS + SETTINGS.hidden))
    for k in ("W_in", "W_out"):
        assert np.abs(res.weights[k]).max() <= a and np.abs(res.weights[k]).min() < a / 2
        assert np.abs(res.weights[k]).max() > a / 2


@pytest.mark.parametrize("trend", [True, False])
def test_first_epoch_loss_is_the_multinomial_log_likelihood_of_the_initial_network(trend: bool) -> None:
    """``lr=0``: the weights never move, so the recorded loss is ``-Σ_i t_i log softmax_i`` of the
    initial network, averaged over the examples (batches of unequal size weighted by their size)."""
    ex = _examples(1, n=40)  # 40 = 32 + 8: the last batch is smaller
    s = replace(SETTINGS, lr=0.0, trend=trend, batch_size=32)
    res = train_autoencoder(ex, None, s)
    w = train_autoencoder(ex, None, s, epochs=0).weights
    np.testing.assert_array_equal(res.weights["W_out"], w["W_out"])
    logp = _log_softmax(_logits({k: v.astype(np.float64) for k, v in w.items()}, ex))
    expected = -(ex.targets.toarray() * logp).sum(axis=1).mean()
    assert res.train_loss == [pytest.approx(expected, rel=1e-5)]


def test_first_epoch_loss_with_the_reconstruction_term_and_the_history_mask() -> None:
    """The documented objective: ``-Σ t_i log p_i + w · (-(1/|history|) Σ_{i∈history} log p_i)``,
    the first term's softmax optionally over the items outside the history (targets kept)."""
    ex = _examples(2, n=40)
    s = replace(SETTINGS, lr=0.0, batch_size=32, reconstruct_weight=1.5)
    w = train_autoencoder(ex, None, s, epochs=0).weights
    logits = _logits({k: v.astype(np.float64) for k, v in w.items()}, ex)
    x, t = ex.inputs.toarray() > 0, ex.targets.toarray()
    recon = -np.array([_log_softmax(logits)[r, x[r]].mean() for r in range(len(x))])
    plain = -(t * _log_softmax(logits)).sum(axis=1)
    assert train_autoencoder(ex, None, s).train_loss == [pytest.approx((plain + 1.5 * recon).mean(), rel=1e-5)]
    masked_logits = np.where(x & (t == 0), -1e300, logits)  # exp() of it is 0
    masked = -(t * _log_softmax(masked_logits)).sum(axis=1)
    assert (masked < plain - 1e-3).sum() > 10  # the mask changes the loss of most examples
    got = train_autoencoder(ex, None, replace(s, mask_history=True)).train_loss
    assert got == [pytest.approx((masked + 1.5 * recon).mean(), rel=1e-5)]


def test_input_dropout_drops_about_that_share_and_renormalises() -> None:
    from discoverly.recommend.autoencoder_training import _batch_inputs

    gen = np.random.default_rng(0)
    values = gen.uniform(0.5, 2.0, size=(400, 10))
    x = sp.csr_matrix(values.astype(np.float32))
    idx, offsets, w = _batch_inputs(torch, x, 0.3, torch.Generator().manual_seed(0))
    assert idx.tolist() == x.indices.tolist() and offsets.tolist() == x.indptr[:-1].tolist()
    w = w.numpy().reshape(400, 10)
    dropped = w == 0
    assert 0.27 < dropped.mean() < 0.33
    kept = np.where(dropped, 0.0, values)
    norm = np.sqrt((kept * kept).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(w, kept / np.maximum(norm, 1e-12), rtol=1e-5, atol=1e-7)
    # without a generator (scoring, validation) nothing is dropped: rows are only normalised
    _, _, plain = _batch_inputs(torch, x, 0.3, None)
    np.testing.assert_allclose(plain.numpy().reshape(400, 10),
                               values / np.sqrt((values**2).sum(axis=1, keepdims=True)), rtol=1e-5)


def test_dropout_changes_the_first_epoch_loss_and_zero_dropout_does_not() -> None:
    ex = _examples(1, n=40)
    s = replace(SETTINGS, lr=0.0, batch_size=32)
    clean = train_autoencoder(ex, None, s).train_loss[0]
    assert train_autoencoder(ex, None, replace(s, dropout=0.5)).train_loss[0] != pytest.approx(clean, rel=1e-4)


def _hit_rate(scores: np.ndarray, seen: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """Plain Python: a hit when one of the ``k`` best unseen items is a target."""
    out = []
    for s, h, t in zip(scores, seen, targets, strict=True):
        ranked = sorted((j for j in range(len(s)) if not h[j]), key=lambda j: -s[j])[:k]
        out.append(float(any(t[j] > 0 for j in ranked)))
    return np.array(out)


def test_hit_rate_at_by_hand() -> None:
    gen = np.random.default_rng(5)
    scores = gen.normal(size=(30, 9)).astype(np.float32)
    seen = gen.random((30, 9)) < 0.3
    targets = (gen.random((30, 9)) < 0.15) & ~seen
    for k in (1, 3, 9, 20):
        got = hit_rate_at(scores, sp.csr_matrix(seen.astype(np.float32)), sp.csr_matrix(targets.astype(np.float32)), k)
        np.testing.assert_array_equal(got, _hit_rate(scores, seen, targets, k))
    assert 0 < _hit_rate(scores, seen, targets, 3).mean() < 1


def test_early_stopping_keeps_the_best_epoch_and_stops_after_patience() -> None:
    """The recorded validation hit rates are those of the network after each epoch; the weights
    returned are the first best epoch's (the same as training that many epochs without
    validation), and training stops ``patience`` epochs after it."""
    train, val = _examples(4, n=64), _examples(5, n=40)
    s = replace(SETTINGS, epochs=12, patience=2, lr=0.3, val_k=2, trend=False)
    res = train_autoencoder(train, val, s)
    assert len(res.val_metric) == res.epochs_run == len(res.train_loss)
    per_epoch = [train_autoencoder(train, None, s, epochs=e).weights for e in range(1, res.epochs_run + 1)]
    seen, targets = val.inputs.toarray() > 0, val.targets.toarray()
    rates = [_hit_rate(_logits({k: v.astype(np.float64) for k, v in w.items()}, val), seen, targets, 2).mean()
             for w in per_epoch]
    np.testing.assert_allclose(res.val_metric, rates)
    best = int(np.argmax(rates)) + 1  # the first of equal maxima
    assert res.best_epoch == best and res.val_metric_epoch0 is None
    assert res.epochs_run == min(s.epochs, best + s.patience)
    for k, v in per_epoch[best - 1].items():
        np.testing.assert_array_equal(res.weights[k], v)
    assert res.epochs_run > best  # the case where keeping the last epoch would differ
    assert not np.array_equal(per_epoch[-1]["W_out"], res.weights["W_out"])


def test_without_validation_the_last_epoch_is_kept() -> None:
    ex = _examples(4, n=64)
    res = train_autoencoder(ex, None, replace(SETTINGS, epochs=3, lr=0.05))
    assert res.best_epoch == res.epochs_run == 3 and len(res.train_loss) == 3 and res.val_metric == []
    again = train_autoencoder(ex, None, replace(SETTINGS, epochs=3, lr=0.05))
    other = train_autoencoder(ex, None, replace(SETTINGS, epochs=3, lr=0.05, seed=4))
    for k in res.weights:
        np.testing.assert_array_equal(res.weights[k], again.weights[k])
    assert not np.array_equal(res.weights["W_in"], other.weights["W_in"])


def test_equal_validation_rates_keep_the_first_epoch_and_epoch_0_uses_val_k() -> None:
    """With every unseen item shown (``val_k`` = all items) every epoch's hit rate is the same: the
    first of them is kept and the run stops ``patience`` epochs later; with ``min_epochs=0`` the
    untrained network wins the tie. The untrained network's rate is measured at ``val_k``."""
    train, val = _examples(4, n=64), _examples(5, n=40)
    s = replace(SETTINGS, epochs=8, patience=2, lr=0.3, val_k=N_ITEMS, trend=False)
    res = train_autoencoder(train, val, s)
    assert res.val_metric == [1.0, 1.0, 1.0] and res.best_epoch == 1 and res.epochs_run == 3
    np.testing.assert_array_equal(res.weights["W_out"], train_autoencoder(train, None, s, epochs=1).weights["W_out"])
    zero = train_autoencoder(train, val, replace(s, min_epochs=0))
    assert zero.val_metric_epoch0 == 1.0 and zero.best_epoch == 0 and zero.epochs_run == 2
    one = train_autoencoder(train, val, replace(s, min_epochs=0, val_k=1))
    w0 = train_autoencoder(train, None, s, epochs=0).weights
    rate0 = _hit_rate(_logits({k: v.astype(np.float64) for k, v in w0.items()}, val), val.inputs.toarray() > 0,
                      val.targets.toarray(), 1).mean()
    assert 0 < rate0 < 1 and one.val_metric_epoch0 == pytest.approx(rate0)


def test_each_epoch_visits_every_example_once_in_a_fresh_seeded_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches shrink on small sets so that an epoch takes at least 16 steps (never below 32
    examples), and every epoch reshuffles the examples with the seed."""
    from discoverly.recommend import autoencoder_training as training

    seen: list[list[int]] = []
    real = training._batch_inputs

    def spy(torch_: object, x: sp.csr_matrix, dropout: float, gen: object) -> object:
        if gen is not None:  # training batches (validation and scoring pass no generator)
            seen.append([int(v) for v in x.data[x.indptr[:-1]]])  # each row's first value is its number
        return real(torch_, x, dropout, gen)

    monkeypatch.setattr(training, "_batch_inputs", spy)
    n = 600
    ex = _examples(6, n=n)
    ids = ex.inputs.copy()
    ids.data[ids.indptr[:-1]] = np.arange(n)  # row r's first stored value is r
    ex = ExampleSet(inputs=ids, targets=ex.targets, cutoff_id=ex.cutoff_id, cutoffs=ex.cutoffs, trend=ex.trend,
                    users=ex.users, times=ex.times)
    train_autoencoder(ex, None, replace(SETTINGS, epochs=2, batch_size=512))
    size = -(-n // 16)  # 38: 15 batches of 38 and one of 30
    assert [len(b) for b in seen] == [size] * 15 + [n - 15 * size] + [size] * 15 + [n - 15 * size]
    first, second = np.concatenate(seen[:16]), np.concatenate(seen[16:])
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(n))
    assert not np.array_equal(first, second) and seen[0] != list(range(size))
    seen.clear()
    train_autoencoder(ex, None, replace(SETTINGS, epochs=2, batch_size=512))
    np.testing.assert_array_equal(np.concatenate(seen[:16]), first)
    seen.clear()
    train_autoencoder(_examples(6, n=40), None, replace(SETTINGS, epochs=1, batch_size=512))
    assert [len(b) for b in seen] == [32, 8]  # 40 examples: batches of at least 32


def test_the_model_refits_for_the_epoch_early_stopping_chose() -> None:
    """``fit``: the chosen epoch is the first best validation rate, the refit trains that many epochs
    on all cutoffs (the validation window included, so more examples and cutoffs)."""
    from discoverly.recommend.autoencoder import Autoencoder

    from .conftest import shop_log

    model = Autoencoder(hidden=16, epochs=5, patience=5, train_batch_size=64, lr=3e-3, rng=0).fit(shop_log(2, days=120))
    rec = model.training_
    rates = rec["val_hit_rate"]
    assert rec["epochs_run"] == len(rates) == len(rec["train_loss"]) == 5
    assert rec["best_epoch"] == int(np.argmax(rates)) + 1 >= 2  # measured: 2, tied with epochs 3 and 4
    assert rec["refit_epochs"] == rec["best_epoch"]
    assert rec["refit_examples"] > rec["examples"] and rec["refit_cutoffs"] > rec["cutoffs"]
