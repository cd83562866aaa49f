"""The autoencoder's network and training loop (torch, CPU), with early stopping on a validation cutoff.

Network: ``h = tanh(W_in · normalize(dropout(x)) + b_h)``, ``logits = W_out · h + b_out + trend``,
trained with the multinomial log-likelihood ``-Σ_i t_i log softmax(logits)_i`` (Liang et al.'s
Mult-DAE, with the targets of :mod:`~discoverly.recommend.autoencoder_examples`). The optional
``trend`` term is a tiny per-item MLP over the item's recent sales at the example's cutoff, so the
model knows what is selling *now* when it predicts the next two weeks.

The optional auxiliary **reconstruction** loss (``reconstruct_weight``) adds the Mult-DAE objective
of the example's own history, ``-mean_i∈history log softmax(logits)_i``, to the time-aware one: the
same network also learns which items go together from every purchase, not only from the few new
items of each target window (the targets and the history share one softmax; serving drops the
history items anyway).

With ``mask_history`` the time-aware loss normalises over the items *outside* the example's history
(the targets are always kept): ``-Σ_i t_i log softmax_{j ∉ history}(logits)_i``. The ranking never
shows a history item, so the unmasked loss spends its gradient pushing the history below the
targets, the more so the longer the history, and the reconstruction term pulls the same items up;
masked, the two no longer pull against each other. Serving is unchanged.

The optional **wide** path adds an item-item linear term beside the bottleneck,
``logits += binary(x) · W_wide`` (``W_wide`` items × items with a zero diagonal; the whole history,
no dropout): with ``wide="learned"`` ``W_wide`` starts at zero and is trained with the rest (L2
penalty ``wide_l2``); with ``wide="ease"`` it is a frozen item-item matrix per cutoff, given by the
caller in :attr:`ExampleSet.wide` (EASE's ``B`` on the events before that cutoff), times one
learned scale, which starts at 1.

Deterministic for a seed and a thread count: every random draw (initialisation, shuffling, input
dropout) comes from one local ``torch.Generator``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from discoverly.dependencies import require
from discoverly.errors import ConfigError
from discoverly.recommend.autoencoder_examples import TREND_FEATURES, ExampleSet, binary

__all__ = ["TrainSettings", "TrainResult", "train_autoencoder", "hit_rate_at", "WIDE_KINDS"]

log = logging.getLogger(__name__)

#: an epoch takes at least this many optimiser steps (the batch shrinks on small logs) ...
MIN_STEPS = 16
#: ... but batches never get smaller than this
MIN_BATCH = 32
#: learning rate of the wide path's scale (``wide="ease"``): one scalar, which has to travel from 1
#: to the logits' scale within the epoch or two that early stopping usually keeps
WIDE_SCALE_LR = 0.05
#: the logit a masked history item gets (``mask_history``): its softmax weight underflows to 0
MASKED = -1e9
#: the wide path's settings
WIDE_KINDS = ("none", "learned", "ease")


@dataclass(frozen=True)
class TrainSettings:
    """Hyperparameters of one training run."""

    hidden: int = 200
    dropout: float = 0.5
    lr: float = 3e-3
    weight_decay: float = 0.0
    epochs: int = 20
    patience: int = 3
    batch_size: int = 512
    trend: bool = True
    trend_hidden: int = 16
    n_threads: int = 2
    seed: int = 0
    #: 0: the untrained network ("epoch 0": the trend term alone, plus a near-zero personal part)
    #: is a candidate of early stopping; 1: at least one epoch is trained
    min_epochs: int = 1
    #: the output bias at initialisation: "targets" (log frequency of the training targets) or
    #: "zero" (the untrained network then ranks by the trend term alone: the recent bestsellers)
    bias_init: str = "targets"
    #: the validation metric's list length (HitRate@k, as in the evaluation protocol)
    val_k: int = 6
    #: the item-item wide path: "none", "learned" (trained from zero) or "ease" (a given frozen
    #: matrix times a learned scale); see the module docstring
    wide: str = "none"
    #: L2 penalty (Adam weight decay) on the learned wide matrix
    wide_l2: float = 0.0
    #: weight of the auxiliary reconstruction loss: the mean log-likelihood of the example's own
    #: history items under the same softmax (0: the time-aware targets alone)
    reconstruct_weight: float = 0.0
    #: leave the example's own history items (targets excepted) out of the time-aware loss's
    #: softmax: the target window competes only with the items the ranking can show
    mask_history: bool = False


@dataclass
class TrainResult:
    """Weights as numpy arrays (``W_in (n, h)``, ``b_h``, ``W_out (n, h)``, ``b_out``), the trend MLP
    (``trend_*`` arrays, empty without trend), the wide path (``W_wide (n, n)``: input item ×
    output item, absent without it), and the training record."""

    weights: dict[str, np.ndarray]
    best_epoch: int
    epochs_run: int
    train_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    #: the validation metric of the untrained network (with ``min_epochs=0`` only)
    val_metric_epoch0: float | None = None

    def trend_offset(self, feats: np.ndarray) -> np.ndarray:
        """The trend term of the logits for items with features ``feats`` (``n_items, n_feat``)."""
        w = self.weights
        if "trend_w1" not in w:
            return np.zeros(len(feats), dtype=np.float32)
        hid = np.maximum(feats @ w["trend_w1"].T + w["trend_b1"], 0.0)
        out = hid @ w["trend_w2"].T + w["trend_b2"] + feats @ w["trend_lin_w"].T + w["trend_lin_b"]
        return out.ravel().astype(np.float32)


@contextmanager
def _threads(n: int) -> Iterator[Any]:
    torch = require("torch", purpose="the autoencoder recommender")
    before = torch.get_num_threads()
    cpus = os.cpu_count() or 1
    if n > cpus:  # more threads than CPUs only contend (n_threads=1000 made the fit crawl); a saved config still loads
        log.warning("n_threads=%d is more than the %d CPUs here; training uses %d", n, cpus, cpus)
    torch.set_num_threads(max(1, min(int(n), cpus)))
    try:
        yield torch
    finally:
        torch.set_num_threads(before)


def _build_net(torch: Any, n_items: int, n_feat: int, s: TrainSettings, gen: Any, bias: np.ndarray) -> Any:
    nn = torch.nn

    class Net(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.EmbeddingBag(n_items, s.hidden, mode="sum")
            self.b_h = nn.Parameter(torch.zeros(s.hidden))
            self.decoder = nn.Linear(s.hidden, n_items)
            self.trend: Any = (nn.Sequential(nn.Linear(n_feat, s.trend_hidden), nn.ReLU(),
                                             nn.Linear(s.trend_hidden, 1)) if s.trend else None)
            self.trend_linear: Any = nn.Linear(n_feat, 1) if s.trend else None
            # the wide path: a learned items x items matrix, or a frozen one per cutoff (computed
            # outside, ``wide_off``) times a learned scale
            self.wide: Any = nn.EmbeddingBag(n_items, n_items, mode="sum") if s.wide == "learned" else None
            self.wide_scale: Any = nn.Parameter(torch.ones(())) if s.wide == "ease" else None

        def forward(self, idx: Any, offsets: Any, weights: Any, trend_off: Any | None,
                    wide_off: Any | None = None) -> Any:
            h = torch.tanh(self.encoder(idx, offsets, per_sample_weights=weights) + self.b_h)
            logits = self.decoder(h)
            # the wide path reads the whole history (``idx``), binary, whatever the input dropout kept
            if self.wide is not None:
                logits = logits + self.wide(idx, offsets)
            if wide_off is not None:
                logits = logits + self.wide_scale * wide_off
            return logits if trend_off is None else logits + trend_off

        def trend_offset(self, feats: Any) -> Any:
            return (self.trend(feats) + self.trend_linear(feats)).squeeze(-1)

    net = Net()
    with torch.no_grad():
        a = math.sqrt(6.0 / (n_items + s.hidden))
        net.encoder.weight.uniform_(-a, a, generator=gen)
        net.decoder.weight.uniform_(-a, a, generator=gen)
        net.decoder.bias.copy_(torch.from_numpy(bias))
        if net.trend is not None:
            b = 1.0 / math.sqrt(n_feat)
            net.trend[0].weight.uniform_(-b, b, generator=gen)
            net.trend[0].bias.zero_()
            net.trend[2].weight.zero_()
            net.trend[2].bias.zero_()
            # start from "what sold in the last 14 days sells next": log1p(buyers_14d) as the offset
            net.trend_linear.weight.zero_()
            net.trend_linear.weight[0, TREND_FEATURES.index("buyers_14d")] = 1.0
            net.trend_linear.bias.zero_()
        if net.wide is not None:
            net.wide.weight.zero_()  # starts as the network without the wide path
    return net


def _batch_inputs(torch: Any, x: sp.csr_matrix, dropout: float, gen: Any | None) -> tuple[Any, Any, Any]:
    """EmbeddingBag arguments for CSR rows ``x``: dropout (training only), then L2 row normalisation."""
    idx = torch.from_numpy(x.indices.astype(np.int64))
    offsets = torch.from_numpy(x.indptr[:-1].astype(np.int64))
    w = torch.from_numpy(x.data.astype(np.float32))
    if gen is not None and dropout > 0 and len(w):
        w = w * (torch.rand(len(w), generator=gen) >= dropout).to(w.dtype)
    rows = torch.from_numpy(np.repeat(np.arange(x.shape[0]), np.diff(x.indptr)))
    norm = torch.zeros(x.shape[0]).index_add_(0, rows, w * w).sqrt().clamp_min(1e-12)
    return idx, offsets, w / norm[rows]


def _trend_offsets(torch: Any, net: Any, trend: Any, cut_ids: np.ndarray) -> Any | None:
    if net.trend is None:
        return None
    uniq, inv = np.unique(cut_ids, return_inverse=True)
    off = net.trend_offset(trend[torch.from_numpy(uniq.astype(np.int64))])
    return off[torch.from_numpy(inv.astype(np.int64))]


def _wide_offsets(torch: Any, ex: ExampleSet, rows: np.ndarray | slice) -> Any | None:
    """``binary(x) · prior[cutoff]`` for the examples ``rows`` (``wide="ease"``; else ``None``)."""
    if ex.wide is None:
        return None
    x = ex.inputs[rows]
    ones = binary(x)
    cut = ex.cutoff_id[rows]
    out = np.empty(x.shape, dtype=np.float32)
    for c in np.unique(cut):
        mask = cut == c
        out[mask] = ones[np.nonzero(mask)[0]] @ ex.wide[c]
    return torch.from_numpy(out)


def _reconstruction_loss(torch: Any, logp: Any, x: sp.csr_matrix) -> Any:
    """``-mean over rows of (1/|history|) Σ_{i in history} log p_i``: the history items (binary,
    whatever the input dropout removed) as a denoising target beside the time-aware one."""
    lengths = np.diff(x.indptr)
    rows = torch.from_numpy(np.repeat(np.arange(x.shape[0]), lengths))
    cols = torch.from_numpy(x.indices.astype(np.int64))
    per_item = torch.from_numpy(np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32))
    return -(logp[rows, cols] * per_item).sum() / x.shape[0]


def _history_masked(torch: Any, logits: Any, x: sp.csr_matrix, t: sp.csr_matrix) -> Any:
    """``logits`` with each row's history items (the pattern of ``x``), its targets ``t`` excepted,
    at ``MASKED`` (a copy: the unmasked logits stay for the reconstruction term)."""
    hist = binary(x)
    hist = (hist - hist.multiply(binary(t))).tocsr()
    hist.eliminate_zeros()
    rows = torch.from_numpy(np.repeat(np.arange(x.shape[0]), np.diff(hist.indptr)))
    cols = torch.from_numpy(hist.indices.astype(np.int64))
    return logits.index_put((rows, cols), torch.tensor(MASKED, dtype=logits.dtype))


def hit_rate_at(scores: np.ndarray, seen: sp.csr_matrix, targets: sp.csr_matrix, k: int) -> np.ndarray:
    """Per row, 1.0 when one of the top-``k`` unseen items is a target item."""
    scores = scores.copy()
    rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf
    kk = min(k, scores.shape[1])
    top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    hit = np.asarray(targets[np.arange(scores.shape[0])[:, None], top].todense()) > 0
    return np.asarray(hit.any(axis=1), dtype=np.float64)


def _logits(torch: Any, net: Any, ex: ExampleSet, trend: Any, batch_size: int) -> np.ndarray:
    out = np.empty((len(ex), ex.inputs.shape[1]), dtype=np.float32)
    with torch.no_grad():
        net.eval()
        for a in range(0, len(ex), batch_size):
            x = ex.inputs[a:a + batch_size]
            idx, offsets, w = _batch_inputs(torch, x, 0.0, None)
            off = _trend_offsets(torch, net, trend, ex.cutoff_id[a:a + x.shape[0]])
            wide = _wide_offsets(torch, ex, slice(a, a + x.shape[0]))
            out[a:a + x.shape[0]] = net(idx, offsets, w, off, wide).numpy()
        net.train()
    return out


def _val_metric(torch: Any, net: Any, val: ExampleSet, trend_val: Any, k: int) -> float:
    """HitRate@``k`` over the validation examples (pooled over their cutoffs)."""
    return float(hit_rate_at(_logits(torch, net, val, trend_val, 1024), val.inputs, val.targets, k).mean())


def _progress(enabled: bool, total: int) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]autoencoder[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), disable=not enabled, transient=True, console=Console(stderr=True))


def train_autoencoder(train: ExampleSet, val: ExampleSet | None, settings: TrainSettings, *,
                      epochs: int | None = None, progress: bool = False) -> TrainResult:
    """Train on ``train``; with a non-empty ``val``, stop early on its HitRate@``val_k`` and return
    the best epoch's weights (with ``min_epochs=0`` possibly the untrained network, ``best_epoch``
    0), else train ``epochs`` (default ``settings.epochs``; 0 returns the untrained network) epochs.
    With ``wide="ease"`` the example sets carry their per-cutoff priors (``ExampleSet.wide``,
    ``n_cutoffs × items × items``); they are refused otherwise."""
    s = settings
    n_items = train.inputs.shape[1]
    if s.wide not in WIDE_KINDS:
        raise ConfigError(f"wide must be one of {', '.join(WIDE_KINDS)}, got {s.wide!r}")
    for label, ex in (("training", train), ("validation", val)):
        if ex is None or not len(ex):
            continue
        if (ex.wide is not None) != (s.wide == "ease"):
            raise ConfigError(f"the {label} examples need per-cutoff wide priors (ExampleSet.wide) with "
                              "wide='ease' and only then")
        if ex.wide is not None and ex.wide.shape != (len(ex.cutoffs), n_items, n_items):
            raise ConfigError(f"the {label} examples' wide priors must be {len(ex.cutoffs)} x {n_items} x {n_items} "
                              f"(cutoffs x items x items), got {ex.wide.shape}")
    with _threads(s.n_threads) as torch:
        gen = torch.Generator().manual_seed(int(s.seed))
        counts = np.asarray(train.targets.sum(axis=0)).ravel() + 1e-3
        bias = (np.log(counts / counts.sum()) if s.bias_init == "targets" else np.zeros(n_items)).astype(np.float32)
        net = _build_net(torch, n_items, train.trend.shape[2], s, gen, bias)
        # weight decay on the personal part only (encoder and decoder weights): it pulls the model
        # towards its bias and trend term, which it starts from; the wide matrix has its own L2,
        # the wide scale its own learning rate
        personal = [net.encoder.weight, net.decoder.weight]
        wide = [net.wide.weight] if net.wide is not None else []
        scale = [net.wide_scale] if net.wide_scale is not None else []
        rest = [p for p in net.parameters() if all(p is not q for q in (*personal, *wide, *scale))]
        groups: list[dict[str, Any]] = [{"params": personal, "weight_decay": s.weight_decay},
                                        {"params": rest, "weight_decay": 0.0}]
        if wide:
            groups.append({"params": wide, "weight_decay": s.wide_l2})
        if scale:
            groups.append({"params": scale, "weight_decay": 0.0, "lr": WIDE_SCALE_LR})
        opt = torch.optim.Adam(groups, lr=s.lr, foreach=True)
        trend_train = torch.from_numpy(train.trend)
        trend_val = torch.from_numpy(val.trend) if val is not None else None
        use_val = val is not None and len(val) > 0
        n_epochs = s.epochs if epochs is None else int(epochs)
        result = TrainResult(weights={}, best_epoch=0, epochs_run=0)
        best_metric, best_state, since_best = -1.0, None, 0
        if use_val and s.min_epochs == 0:
            assert val is not None
            best_metric = _val_metric(torch, net, val, trend_val, s.val_k)
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            result.val_metric_epoch0 = best_metric
            log.info("epoch 0 (untrained): validation HitRate@%d %.4f", s.val_k, best_metric)
        # small logs: shrink the batch so that an epoch still takes MIN_STEPS optimiser steps
        batch_size = min(s.batch_size, max(MIN_BATCH, -(-len(train) // MIN_STEPS)))
        n_batches = -(-len(train) // batch_size)
        with _progress(progress, n_epochs * n_batches) as bar:
            task = bar.add_task("starting", total=n_epochs * n_batches)
            # no terminal (a log file, a pipe, a CI job): the bar would draw nothing, so one line per epoch
            lines = progress and not bar.console.is_terminal and not bar.console.is_jupyter
            for epoch in range(1, n_epochs + 1):
                order = torch.randperm(len(train), generator=gen).numpy()
                total, weight = 0.0, 0
                for a in range(0, len(train), batch_size):
                    rows = np.sort(order[a:a + batch_size])
                    x = train.inputs[rows]
                    idx, offsets, w = _batch_inputs(torch, x, s.dropout, gen)
                    t = train.targets[rows]
                    t_rows = torch.from_numpy(np.repeat(np.arange(len(rows)), np.diff(t.indptr)))
                    t_cols = torch.from_numpy(t.indices.astype(np.int64))
                    logits = net(idx, offsets, w, _trend_offsets(torch, net, trend_train, train.cutoff_id[rows]),
                                 _wide_offsets(torch, train, rows))
                    logp_t = torch.log_softmax(_history_masked(torch, logits, x, t) if s.mask_history else logits,
                                               dim=1)
                    loss = -(logp_t[t_rows, t_cols] * torch.from_numpy(t.data.astype(np.float32))).sum() / len(rows)
                    if s.reconstruct_weight > 0:  # reads the unmasked log-softmax
                        logp = torch.log_softmax(logits, dim=1) if s.mask_history else logp_t
                        loss = loss + s.reconstruct_weight * _reconstruction_loss(torch, logp, x)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    if net.wide is not None:  # an item never predicts itself
                        with torch.no_grad():
                            net.wide.weight.fill_diagonal_(0.0)
                    total += loss.item() * len(rows)
                    weight += len(rows)
                    bar.update(task, advance=1, description=f"epoch {epoch} loss {total / weight:.4f}")
                result.train_loss.append(total / max(weight, 1))
                result.epochs_run = epoch
                if not use_val:
                    if lines:
                        bar.console.print(f"autoencoder epoch {epoch}/{n_epochs}: loss {result.train_loss[-1]:.4f}",
                                          markup=False, highlight=False)
                    continue
                assert val is not None
                metric = _val_metric(torch, net, val, trend_val, s.val_k)
                result.val_metric.append(metric)
                if lines:
                    bar.console.print(f"autoencoder epoch {epoch}/{n_epochs}: loss {result.train_loss[-1]:.4f}, "
                                      f"validation HitRate@{s.val_k} {metric:.4f}", markup=False, highlight=False)
                log.info("epoch %d: loss %.4f, validation HitRate@%d %.4f", epoch, result.train_loss[-1], s.val_k,
                         metric)
                if metric > best_metric:
                    best_metric, since_best, result.best_epoch = metric, 0, epoch
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    since_best += 1
                    if since_best >= s.patience:
                        bar.update(task, completed=n_epochs * n_batches)
                        break
        if best_state is not None:
            net.load_state_dict(best_state)
        else:
            result.best_epoch = result.epochs_run
        result.weights = _numpy_weights(net)
    return result


def _numpy_weights(net: Any) -> dict[str, np.ndarray]:
    w = {
        "W_in": net.encoder.weight.detach().numpy().copy(),
        "b_h": net.b_h.detach().numpy().copy(),
        "W_out": net.decoder.weight.detach().numpy().copy(),
        "b_out": net.decoder.bias.detach().numpy().copy(),
    }
    if net.trend is not None:
        w |= {"trend_w1": net.trend[0].weight.detach().numpy().copy(),
              "trend_b1": net.trend[0].bias.detach().numpy().copy(),
              "trend_w2": net.trend[2].weight.detach().numpy().copy(),
              "trend_b2": net.trend[2].bias.detach().numpy().copy(),
              "trend_lin_w": net.trend_linear.weight.detach().numpy().copy(),
              "trend_lin_b": net.trend_linear.bias.detach().numpy().copy()}
    if net.wide is not None:
        w["W_wide"] = net.wide.weight.detach().numpy().copy()
    elif net.wide_scale is not None:  # the caller multiplies it with the prior it serves
        w["wide_scale"] = np.array([float(net.wide_scale.detach())])
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in w.items()}
