"""A time-aware autoencoder recommender (torch on CPU to train; numpy to recommend).

The network reads a customer's history before a cutoff (binary or recency/frequency weighted),
squeezes it through a bottleneck of ``hidden`` units and scores the catalogue with a softmax
(multinomial likelihood), with denoising dropout on the input.

``mode="time-aware"`` (the default) trains it on chronologically ordered examples: for many cutoffs
slid through the training period, the input is the history before the cutoff and the target is what
the customer bought in the ``window_days`` after it, *not* the input itself. Early stopping uses a
validation cutoff that lies ``window_days`` before the end of the log it is given, so ``fit`` never
looks past its own data; with ``refit`` the model is then retrained on all cutoffs (including the
validation window) for the chosen number of epochs. With ``trend`` the model also sees each item's
recent sales at the cutoff, so it knows what is selling *now*.

``mode="reconstruct"`` trains the same network to reproduce its input (the usual denoising
autoencoder; the seed's first attempt), with the same early stopping.

The model's items are the ``max_items`` most frequent (plus recent risers); other items get no
score (``-inf``), so recommendation lists are completed with recent bestsellers by the base class.

With ``n_models > 1`` the model is an ensemble: that many networks are trained on the same
examples with different seeds (each with its own early stopping and refit), and their logits are
averaged. The average is itself one network with ``n_models * hidden`` bottleneck units (the
encoders side by side, the decoders divided by ``n_models``), so scoring and the artifact format
do not change; only fit time, artifact size and scoring cost grow with ``n_models``.

With ``wide="learned"`` or ``"ease"`` the network has an item-item linear path beside the
bottleneck: ``logits = decoder(encoder(x)) + binary(x) · W_wide + trend + bias``, ``W_wide`` an
items × items matrix with a zero diagonal, trained on the same time-aware targets with the same
softmax loss. ``"learned"`` trains ``W_wide`` from zero with the L2 penalty ``wide_l2``;
``"ease"`` freezes it at EASE's ``B`` (:func:`~discoverly.recommend.ease.ease_weights` with
penalty ``ease_l2``) and learns only its scale; ``B`` is computed per cutoff, for every training
and validation cutoff on the binary histories of the events before it (so a training example's
prior never contains its own target window) and for serving on the whole log. It is stored
(already scaled) beside the other weights: 4·items² bytes more (36 MB for 3,000 items).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly._checks import is_whole
from discoverly.data.interactions import Interactions
from discoverly.dependencies import require
from discoverly.errors import ArtifactError, ConfigError, ResourceLimitError
from discoverly.recommend.autoencoder_examples import (
    DAY,
    ExampleSet,
    add_user_cutoffs,
    binary,
    build_examples,
    check_input,
    ease_priors,
    first_sales,
    input_values,
    select_items,
    training_cutoffs,
    trend_features,
    validation_plan,
)
from discoverly.recommend.autoencoder_training import WIDE_KINDS, TrainResult, TrainSettings, train_autoencoder
from discoverly.recommend.base import BaseRecommender
from discoverly.recommend.history import History
from discoverly.recommend.setting_checks import check_columns, check_shapes, flag, number, whole

__all__ = ["Autoencoder"]

log = logging.getLogger(__name__)

WEIGHTS_FILE = "weights.safetensors"
#: the seed of ensemble member ``j`` is ``rng + MEMBER_SEED_STEP * j`` (member 0 is the single
#: model; the step keeps the members of nearby seeds, e.g. rng 0 and rng 1, apart)
MEMBER_SEED_STEP = 1000
_WEIGHT_NAMES = ("W_in", "b_h", "W_out", "b_out")


def _seed(rng: int | np.random.Generator | None) -> int:
    if rng is None:
        return 0
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**31 - 1))
    if not is_whole(rng):
        raise ConfigError(f"rng must be an integer seed or a numpy Generator, got {type(rng).__name__}")
    if rng < 0:  # numpy refuses a negative seed (the customer cutoffs draw with it)
        raise ConfigError(f"rng must be a seed of 0 or more, got {rng}")
    return int(rng)


def _average(results: list[TrainResult], feats: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The weights and trend offset of one network whose logits are the mean of the networks'
    logits: encoders side by side (``len(results) * hidden`` units), decoders divided by their number."""
    n = len(results)
    offset = np.mean([r.trend_offset(feats) for r in results], axis=0).astype(np.float32)
    names = (*_WEIGHT_NAMES, "W_wide") if "W_wide" in results[0].weights else _WEIGHT_NAMES
    if n == 1:
        return {k: results[0].weights[k] for k in names}, offset
    w = [r.weights for r in results]
    weights = {"W_in": np.concatenate([x["W_in"] for x in w], axis=1),
               "b_h": np.concatenate([x["b_h"] for x in w]),
               "W_out": np.concatenate([x["W_out"] for x in w], axis=1) / np.float32(n),
               "b_out": np.mean([x["b_out"] for x in w], axis=0)}
    if "W_wide" in names:
        weights["W_wide"] = np.mean([x["W_wide"] for x in w], axis=0)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}, offset


class Autoencoder(BaseRecommender):
    """Autoencoder recommender; see the module docstring for what each mode does.

    Parameters: ``mode`` ("time-aware" | "reconstruct"); ``hidden`` bottleneck units;
    ``max_items`` model items (``None``: all); ``encoding`` of the input ("binary", "recency",
    "frequency", "recency-frequency") with ``half_life_days`` for recency; ``dropout`` on the
    input; ``window_days`` target window; ``stride_days`` between training cutoffs, at most
    ``max_cutoffs`` (most recent first), each with ``min_history_days`` of log before it;
    ``user_cutoffs`` more cutoffs per customer at their own event times (0: none), only times
    the customer returns after at least ``user_cutoff_gap_days`` without events (0: any time);
    ``target`` ("new": items not bought before the cutoff, as the default evaluation; "any");
    ``trend`` features; ``epochs`` (max) and ``patience`` for early stopping on HitRate@6 pooled
    over ``val_windows`` consecutive validation windows that close the log, with ``min_epochs=0``
    also considering the untrained network (epoch 0: the trend term, which starts as the recent
    bestseller list when ``bias_init="zero"``; with ``"targets"`` the output bias starts at the
    log frequency of the training targets, i.e. all-time popularity is added); ``lr``,
    ``weight_decay`` (on the personal part: encoder and decoder weights), ``train_batch_size``;
    ``refit`` on all data with the chosen epoch count; ``n_models`` networks with different seeds
    averaged (logits; 1: a single network); ``wide`` item-item linear path beside the bottleneck
    ("none"; "learned": trained from zero with L2 penalty ``wide_l2``; "ease": EASE's ``B`` with
    penalty ``ease_l2`` on the events before each cutoff, frozen, times a learned scale);
    ``reconstruct_weight`` of an auxiliary loss that also reconstructs the example's own history
    (time-aware mode; 0: off); ``mask_history`` leaves the history items out of the time-aware
    loss's softmax (the ranking never shows them); ``rng`` seed; ``n_threads`` torch threads;
    ``progress`` bar while training.
    """

    name = "autoencoder"

    def __init__(self, mode: Literal["time-aware", "reconstruct"] = "time-aware", *, hidden: int = 200,
                 max_items: int | None = 3000, encoding: str = "recency", half_life_days: float = 60.0,
                 dropout: float = 0.5, window_days: float = 14.0, stride_days: float = 7.0,
                 min_history_days: float = 7.0, max_cutoffs: int | None = 60, user_cutoffs: int = 0,
                 user_cutoff_gap_days: float = 0.0, target: Literal["new", "any"] = "new",
                 trend: bool = True, epochs: int = 20, patience: int = 3, min_epochs: int = 1,
                 val_windows: int = 1, bias_init: Literal["targets", "zero"] = "targets", lr: float = 3e-3,
                 weight_decay: float = 0.0, train_batch_size: int = 512, refit: bool = True,
                 n_models: int = 1, wide: Literal["none", "learned", "ease"] = "none", wide_l2: float = 0.0,
                 ease_l2: float = 100.0, reconstruct_weight: float = 0.0, mask_history: bool = False,
                 rng: int | np.random.Generator | None = 0, n_threads: int = 1,
                 progress: bool = False) -> None:
        super().__init__()
        if mode not in ("time-aware", "reconstruct"):
            raise ConfigError(f"mode must be 'time-aware' or 'reconstruct', got {mode!r}")
        check_input(encoding)
        for label, bvalue in (("trend", trend), ("refit", refit), ("mask_history", mask_history),
                              ("progress", progress)):
            flag(label, bvalue)
        if target not in ("new", "any"):
            raise ConfigError(f"target must be 'new' or 'any', got {target!r}")
        for label, value in (("hidden", hidden), ("epochs", epochs), ("patience", patience),
                             ("val_windows", val_windows), ("train_batch_size", train_batch_size),
                             ("n_threads", n_threads), ("n_models", n_models)):
            whole(label, value)
        if bias_init not in ("targets", "zero"):
            raise ConfigError(f"bias_init must be 'targets' or 'zero', got {bias_init!r}")
        if wide not in WIDE_KINDS:
            raise ConfigError(f"wide must be one of {', '.join(repr(k) for k in WIDE_KINDS)}, got {wide!r}")
        for label, fvalue in (("wide_l2", wide_l2), ("ease_l2", ease_l2), ("reconstruct_weight", reconstruct_weight),
                              ("user_cutoff_gap_days", user_cutoff_gap_days), ("min_history_days", min_history_days),
                              ("weight_decay", weight_decay), ("dropout", dropout)):
            number(label, fvalue)  # a number, and finite (inf and NaN made a network of NaN)
        if not wide_l2 >= 0:
            raise ConfigError(f"wide_l2 must be 0 or more, got {wide_l2}")
        if not ease_l2 > 0:
            raise ConfigError(f"ease_l2 must be positive (it makes the Gram matrix invertible), got {ease_l2}")
        if not reconstruct_weight >= 0:
            raise ConfigError(f"reconstruct_weight must be 0 or more, got {reconstruct_weight}")
        if reconstruct_weight > 0 and mode == "reconstruct":
            raise ConfigError("reconstruct_weight adds reconstruction to the time-aware targets; "
                              "mode='reconstruct' already reconstructs")
        if mask_history and mode == "reconstruct":
            raise ConfigError("mask_history masks the history in the time-aware loss; "
                              "mode='reconstruct' predicts the history itself")
        if min_epochs not in (0, 1) or isinstance(min_epochs, bool):
            raise ConfigError(f"min_epochs must be 0 (the untrained network is a candidate) or 1, got {min_epochs!r}")
        whole("user_cutoffs", user_cutoffs, minimum=0)
        if not user_cutoff_gap_days >= 0:
            raise ConfigError(f"user_cutoff_gap_days must be 0 or more, got {user_cutoff_gap_days}")
        if user_cutoff_gap_days > 0 and user_cutoffs == 0:  # a warning: a saved model's config must still load
            log.warning("user_cutoff_gap_days=%g filters the customer cutoffs, but user_cutoffs=0 adds none: it has "
                        "no effect; set user_cutoffs too, or leave the gap at 0", user_cutoff_gap_days)
        whole("max_items", max_items, optional=True)
        whole("max_cutoffs", max_cutoffs, optional=True)  # 0 or fewer: no training cutoff at all
        if not 0 <= dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        number("min_history_days", min_history_days, at_least=0)
        number("weight_decay", weight_decay, at_least=0)
        for label, fvalue in (("half_life_days", half_life_days), ("window_days", window_days),
                              ("stride_days", stride_days), ("lr", lr)):
            number(label, fvalue)
            if not fvalue > 0:
                raise ConfigError(f"{label} must be positive, got {fvalue}")
        for label, fvalue in (("window_days", window_days), ("stride_days", stride_days)):
            if fvalue * DAY < 1:  # the cutoffs and windows are whole seconds: under one they are empty
                raise ConfigError(f"{label} must be at least one second (1/86400 of a day), got {fvalue}")
        self.mode = mode
        self.hidden = int(hidden)
        self.max_items = None if max_items is None else int(max_items)
        self.encoding = encoding
        self.half_life_days = float(half_life_days)
        self.dropout = float(dropout)
        self.window_days = float(window_days)
        self.stride_days = float(stride_days)
        self.min_history_days = float(min_history_days)
        self.max_cutoffs = None if max_cutoffs is None else int(max_cutoffs)
        self.user_cutoffs = int(user_cutoffs)
        self.user_cutoff_gap_days = float(user_cutoff_gap_days)
        self.target = target
        self.trend = bool(trend)
        self.epochs = int(epochs)
        self.patience = int(patience)
        self.min_epochs = int(min_epochs)
        self.val_windows = int(val_windows)
        self.bias_init = bias_init
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.train_batch_size = int(train_batch_size)
        self.refit = bool(refit)
        self.n_models = int(n_models)
        self.wide = wide
        self.wide_l2 = float(wide_l2)
        self.ease_l2 = float(ease_l2)
        self.reconstruct_weight = float(reconstruct_weight)
        self.mask_history = bool(mask_history)
        self.rng = _seed(rng)
        self.n_threads = int(n_threads)
        self.progress = bool(progress)
        self.cols_: np.ndarray | None = None
        self.weights_: dict[str, np.ndarray] = {}
        self.offset_: np.ndarray | None = None
        self.training_: dict[str, Any] = {}
        self._pos: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {"mode": self.mode, "hidden": self.hidden, "max_items": self.max_items, "encoding": self.encoding,
                "half_life_days": self.half_life_days, "dropout": self.dropout, "window_days": self.window_days,
                "stride_days": self.stride_days, "min_history_days": self.min_history_days,
                "max_cutoffs": self.max_cutoffs, "user_cutoffs": self.user_cutoffs,
                "user_cutoff_gap_days": self.user_cutoff_gap_days, "target": self.target,
                "trend": self.trend, "epochs": self.epochs,
                "patience": self.patience, "min_epochs": self.min_epochs, "val_windows": self.val_windows,
                "bias_init": self.bias_init,
                "lr": self.lr, "weight_decay": self.weight_decay,
                "train_batch_size": self.train_batch_size, "refit": self.refit, "n_models": self.n_models,
                "wide": self.wide, "wide_l2": self.wide_l2, "ease_l2": self.ease_l2,
                "reconstruct_weight": self.reconstruct_weight, "mask_history": self.mask_history, "rng": self.rng,
                "n_threads": self.n_threads}

    def _settings(self, member: int = 0) -> TrainSettings:
        return TrainSettings(hidden=self.hidden, dropout=self.dropout, lr=self.lr, weight_decay=self.weight_decay,
                             epochs=self.epochs, patience=self.patience, batch_size=self.train_batch_size,
                             trend=self.trend, n_threads=self.n_threads, seed=self.rng + MEMBER_SEED_STEP * member,
                             min_epochs=self.min_epochs, bias_init=self.bias_init, wide=self.wide,
                             wide_l2=self.wide_l2, reconstruct_weight=self.reconstruct_weight,
                             mask_history=self.mask_history)

    def _with_priors(self, interactions: Interactions, cols: np.ndarray, ex: ExampleSet) -> ExampleSet:
        """``ex`` with EASE's ``B`` over ``cols`` at each of its cutoffs, from the events of
        ``interactions`` before it (``wide="ease"`` only; else ``ex``)."""
        if self.wide != "ease" or not len(ex):
            return ex
        # one items x items float32 matrix per cutoff, plus EASE's float64 buffers while computing one
        self._check_wide_memory(len(cols), 4 * len(cols) ** 2 * len(ex.cutoffs) + 20 * len(cols) ** 2,
                                f"EASE's B at each of {len(ex.cutoffs)} cutoffs")
        return replace(ex, wide=ease_priors(interactions, cols, ex.cutoffs, self.ease_l2))

    def _check_learned_wide(self, n: int) -> None:
        if self.wide == "learned":  # the weights, their gradient and Adam's two moments, float32
            self._check_wide_memory(n, 16 * n * n, "the learned items x items weights and their optimiser state")

    def _check_wide_memory(self, n: int, need: int, what: str) -> None:
        """Refuse, before allocating, a wide path that does not fit in the memory this machine has
        (``max_items=None`` on a large catalogue, or many cutoffs with ``wide="ease"``: numpy's
        MemoryError or torch's allocator error after minutes of work, or the OOM killer)."""
        from discoverly.engine.memory import available_memory

        free = available_memory()
        cutoffs = "use fewer training cutoffs (max_cutoffs, stride_days) " if self.wide == "ease" else ""
        if free is not None and need > free:
            raise ResourceLimitError(
                f"the autoencoder's wide path ({self.wide!r}) over {n:,} items needs about {need / 2**30:.1f} GiB "
                f"for {what}, more than the {free / 2**30:.1f} GiB this machine has available. Nothing was "
                f"allocated. Lower max_items (it costs items² per matrix), {cutoffs}or train without the wide path "
                "(wide='none')")

    # -- training ---------------------------------------------------------------------------
    def _examples(self, interactions: Interactions, cols: np.ndarray, last_cutoff: int, end: int) -> ExampleSet:
        """Training examples whose targets end by ``last_cutoff + window`` (time-aware) or the
        histories before ``end`` (reconstruct)."""
        common: dict[str, Any] = {"window_days": self.window_days, "input_kind": self.encoding,
                                  "half_life_days": self.half_life_days, "target": self.target}
        if self.mode == "time-aware":
            cutoffs = training_cutoffs(interactions, last_cutoff, stride_days=self.stride_days,
                                       min_history_days=self.min_history_days, max_cutoffs=self.max_cutoffs)
            ex = build_examples(interactions, cols, cutoffs, mode="time-aware", **common)
            if self.user_cutoffs:
                ex = add_user_cutoffs(interactions, cols, ex, per_user=self.user_cutoffs, latest=last_cutoff,
                                      rng=np.random.default_rng(self.rng), min_gap_days=self.user_cutoff_gap_days,
                                      **common)
            if len(ex):
                return ex
            if len(cutoffs):  # the log is long enough, but nobody comes back after a cutoff
                log.warning("no time-aware examples in %s: at none of its %d training cutoffs does a customer with "
                            "history buy %s in the following %g days (customers do not come back); training the "
                            "autoencoder to reconstruct histories instead", interactions, len(cutoffs),
                            "an item new to them" if self.target == "new" else "again", self.window_days)
            else:
                log.warning("the log (%s) is too short for time-aware examples with a %g-day window and %g days of "
                            "history; training the autoencoder to reconstruct histories instead", interactions,
                            self.window_days, self.min_history_days)
        return build_examples(interactions, cols, np.array([end], dtype=np.int64), mode="reconstruct", **common)

    def _fit(self, interactions: Interactions) -> None:
        t0 = time.perf_counter()
        window = int(self.window_days * DAY)
        v, end = validation_plan(interactions, self.window_days)
        # the validation windows: ``val_windows`` consecutive windows, the last one closing the log;
        # early stopping trains on the targets that close before the first of them
        val_cuts = v - window * np.arange(self.val_windows - 1, -1, -1, dtype=np.int64)
        first_v = int(val_cuts[0])
        early = interactions.before(first_v)
        base: dict[str, Any] = {"validation_cutoff": v, "validation_cutoffs": val_cuts.tolist()}
        records: list[dict[str, Any]] = [dict(base) for _ in range(self.n_models)]
        results: list[TrainResult | None] = [None] * self.n_models
        if len(early):
            cols = select_items(early, self.max_items)
            self._check_learned_wide(len(cols))
            val = build_examples(interactions, cols, val_cuts, mode="time-aware",
                                 window_days=self.window_days, input_kind=self.encoding,
                                 half_life_days=self.half_life_days, target=self.target)
            if len(val):
                train = self._examples(early if self.mode == "reconstruct" else interactions, cols,
                                       first_v - window, first_v)
                log.info("autoencoder (%s): %d training examples over %d cutoffs, %d validation users, %d items, "
                         "%d network(s)", self.mode, len(train), len(train.cutoffs), len(val), len(cols),
                         self.n_models)
                train = self._with_priors(early if self.mode == "reconstruct" else interactions, cols, train)
                val = self._with_priors(interactions, cols, val)
                for j in range(self.n_models):
                    result = train_autoencoder(train, val, self._settings(j), progress=self.progress)
                    results[j] = result
                    records[j] |= {"examples": len(train), "cutoffs": len(train.cutoffs), "validation_users": len(val),
                                   "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
                                   "val_hit_rate": result.val_metric, "val_hit_rate_epoch0": result.val_metric_epoch0,
                                   "train_loss": result.train_loss}
                    if "wide_scale" in result.weights:
                        records[j]["wide_scale"] = float(result.weights["wide_scale"][0])
        if results[0] is None:
            log.warning("no validation examples in the last %g days of %s (val_windows=%d of %g days; a validation "
                        "example is a customer with history who buys an item in the window): training the autoencoder "
                        "for a fixed %d epochs without early stopping", self.window_days * self.val_windows,
                        interactions, self.val_windows, self.window_days, self.epochs)
        if results[0] is None or self.refit:
            cols = select_items(interactions, self.max_items)
            self._check_learned_wide(len(cols))
            train = self._examples(interactions, cols, v, end)
            train = self._with_priors(interactions, cols, train)
            for j in range(self.n_models):
                early_result = results[j]
                epochs = self.epochs if early_result is None else max(self.min_epochs, early_result.best_epoch)
                refitted = train_autoencoder(train, None, self._settings(j), epochs=epochs, progress=self.progress)
                results[j] = refitted
                records[j] |= {"refit_examples": len(train), "refit_cutoffs": len(train.cutoffs),
                               "refit_epochs": epochs}
                if "wide_scale" in refitted.weights:
                    records[j]["refit_wide_scale"] = float(refitted.weights["wide_scale"][0])
        feats = trend_features(interactions, end, cols, first_sales(interactions))
        final = [r for r in results if r is not None]
        if self.wide == "ease":  # served: EASE's B on the whole log times each network's scale
            serve = ease_priors(interactions, cols, np.array([end], dtype=np.int64), self.ease_l2)[0]
            for r in final:
                r.weights["W_wide"] = np.float32(r.weights["wide_scale"][0]) * serve
        self.cols_ = cols.astype(np.int64)
        self._pos = None  # the item -> input column map of the previous columns, if any
        self.weights_, self.offset_ = _average(final, feats)
        record = records[0]
        if self.n_models > 1:
            record = record | {"members": records}
        self.training_ = record | {"items": len(cols), "seconds": time.perf_counter() - t0}

    # -- scoring ----------------------------------------------------------------------------
    def _hidden(self, history: History) -> np.ndarray:
        """The bottleneck activations ``(n, hidden)`` for the histories (the network's encoder in
        numpy, written for small batches: one sparse product, no per-call scipy reshuffling)."""
        return self._hidden_of(self._inputs(history))

    def _inputs(self, history: History) -> sp.csr_matrix:
        """The encoded input values ``(n, len(cols_))`` of the histories (CSR, un-normalised)."""
        assert self.cols_ is not None
        if self._pos is None or len(self._pos) != history.n_items:
            self._pos = np.full(history.n_items, -1, dtype=np.int64)
            self._pos[self.cols_] = np.arange(len(self.cols_))
        days = history.days
        last = history.last
        pos = self._pos[days.indices]
        keep = pos >= 0
        values = np.ones(int(keep.sum()), dtype=np.float64)
        if self.encoding in ("frequency", "recency-frequency"):
            values *= 1.0 + np.log(np.maximum(days.data[keep], 1.0))
        if self.encoding in ("recency", "recency-frequency"):
            if np.array_equal(last.indptr, days.indptr) and np.array_equal(last.indices, days.indices):
                last_time = last.data[keep]
            else:  # different patterns (not from one History): the general path
                x = input_values(days.tocsr(), last.tocsr(), history.now, self.encoding, self.half_life_days)
                return sp.csr_matrix(x[:, self.cols_].tocsr(), dtype=np.float32)
            values *= np.exp2(-(np.maximum(history.now - last_time, 0.0) / DAY) / self.half_life_days)
        kept = np.concatenate([[0], np.cumsum(keep)])
        indptr = kept[days.indptr]  # kept entries before each row start
        return sp.csr_matrix((values.astype(np.float32), pos[keep], indptr), shape=(len(history), len(self.cols_)))

    def _hidden_of(self, x: sp.csr_matrix) -> np.ndarray:
        w = self.weights_
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        norm = np.sqrt(np.bincount(rows, weights=np.asarray(x.data, dtype=np.float64) ** 2, minlength=x.shape[0]))
        x = sp.csr_matrix(((x.data / np.maximum(norm, 1e-12)[rows]).astype(np.float32), x.indices, x.indptr),
                          shape=x.shape)
        return np.tanh(np.asarray(x @ w["W_in"]) + w["b_h"])

    def _score(self, history: History) -> np.ndarray:
        assert self.cols_ is not None and self.offset_ is not None
        w = self.weights_
        x = self._inputs(history)
        logits = self._hidden_of(x) @ w["W_out"].T + (w["b_out"] + self.offset_)
        if "W_wide" in w:  # the item-item path reads the binary history
            logits += np.asarray(binary(x) @ w["W_wide"])
        out = np.full((len(history), history.n_items), -np.inf, dtype=np.float32)
        out[:, self.cols_] = logits
        out[history.lengths() == 0] = -np.inf  # no history: the base class answers with bestsellers
        return out

    # -- persistence ------------------------------------------------------------------------
    def _files(self) -> dict[str, bytes]:
        st = require("safetensors.numpy", extra="deep", purpose="saving the autoencoder's weights")
        assert self.cols_ is not None and self.offset_ is not None
        tensors = {**self.weights_, "cols": self.cols_, "offset": self.offset_}
        return {WEIGHTS_FILE: st.save(tensors, metadata={"format": "discoverly-autoencoder-v1"})}

    def _set_files(self, files: dict[str, bytes]) -> None:
        if WEIGHTS_FILE not in files:
            raise ArtifactError(f"the autoencoder artifact has no {WEIGHTS_FILE}; it was not saved by discoverly")
        st = require("safetensors.numpy", extra="deep", purpose="loading the autoencoder's weights")
        try:
            tensors = st.load(files[WEIGHTS_FILE])
        except Exception as exc:  # safetensors' own error for a truncated or foreign file
            raise ArtifactError(f"cannot read the autoencoder's {WEIGHTS_FILE} ({exc}); the file is damaged or not "
                                "a safetensors file: fit and save the model again") from exc
        missing = [k for k in (*_WEIGHT_NAMES, "cols", "offset") if k not in tensors]
        if missing:
            raise ArtifactError(f"{WEIGHTS_FILE} lacks the tensors {', '.join(missing)}")
        n, h = len(tensors["cols"]), tensors["b_h"].shape[0] if tensors["b_h"].ndim == 1 else -1
        check_shapes("autoencoder", {name: (tensors[name], shape) for name, shape in (
            ("W_in", (n, h)), ("b_h", (h,)), ("W_out", (n, h)), ("b_out", (n,)), ("offset", (n,)),
            ("W_wide", (n, n))) if name in tensors})
        if self.items is not None:
            check_columns("autoencoder", tensors["cols"], len(self.items))
        self.weights_ = {k: tensors[k] for k in (*_WEIGHT_NAMES, "W_wide") if k in tensors}
        self.cols_ = tensors["cols"].astype(np.int64)
        self._pos = None  # the item -> input column map of the previous columns, if any
        self.offset_ = tensors["offset"]

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        rec = self.training_
        table = pl.DataFrame({"epoch": np.arange(1, len(rec.get("train_loss", [])) + 1),
                              "train_loss": rec.get("train_loss", []),
                              "val_hit_rate": (rec.get("val_hit_rate", []) + [None] * len(rec.get("train_loss", [])))
                              [:len(rec.get("train_loss", []))]},
                             schema={"epoch": pl.Int64, "train_loss": pl.Float64, "val_hit_rate": pl.Float64})
        return {}, {"training": table}

    def _set_state(self, arrays: dict[str, np.ndarray], tables: dict[str, pl.DataFrame]) -> None:
        if "training" in tables:
            t = tables["training"]
            self.training_ = {"train_loss": t["train_loss"].to_list(),
                              "val_hit_rate": [v for v in t["val_hit_rate"].to_list() if v is not None]}
