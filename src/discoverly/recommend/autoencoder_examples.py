"""Training examples for the autoencoder: inputs before a cutoff, targets after it.

The time-aware autoencoder learns from *chronologically ordered* examples. For a cutoff ``c`` the
input is a customer's history before ``c`` (as seen at ``c``), and the target is what the customer
bought in ``[c, c + window)``. Sliding ``c`` through the training period gives many examples. The
reconstruction variant (the seed's first attempt) uses the history before ``c`` as both input and
target.

Everything here is numpy/scipy: the same :func:`input_values` turns a :class:`History` into the
network's input at recommend time, so training and serving see exactly the same features.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from discoverly.data.interactions import Interactions
from discoverly.errors import ConfigError

__all__ = ["DAY", "INPUTS", "TREND_FEATURES", "ExampleSet", "build_examples", "input_values",
           "select_items", "trend_features", "validation_plan"]

log = logging.getLogger(__name__)

DAY = 86_400
#: the input encodings of a history
INPUTS = ("binary", "recency", "frequency", "recency-frequency")
#: per item and cutoff: distinct buyers in the last 7/14/28 days and before the cutoff (log1p),
#: log1p of the days since the item's first sale, and whether it had no sale yet
TREND_FEATURES = ("buyers_7d", "buyers_14d", "buyers_28d", "buyers_all", "age_days", "unsold")

InputKind = Literal["binary", "recency", "frequency", "recency-frequency"]


def check_input(kind: str) -> None:
    if kind not in INPUTS:
        raise ConfigError(f"unknown input encoding {kind!r}; expected one of {', '.join(INPUTS)}")


def input_values(days: sp.csr_matrix, last: sp.csr_matrix, now: int, kind: str,
                 half_life_days: float) -> sp.csr_matrix:
    """The input matrix (float32, same pattern as ``days``) for histories seen at ``now``.

    ``binary``: 1 per item with an event; ``recency``: ``0.5 ** (age / half_life)`` of the item's
    last event; ``frequency``: ``1 + log(distinct days)``; ``recency-frequency``: their product.
    Rows are *not* normalised here (the network L2-normalises after the input dropout).
    """
    check_input(kind)
    out = days.astype(np.float32, copy=True)
    out.sort_indices()
    if kind in ("frequency", "recency-frequency"):
        out.data = (1.0 + np.log(np.maximum(out.data, 1.0))).astype(np.float32)
    else:
        out.data = np.ones_like(out.data)
    if kind in ("recency", "recency-frequency"):
        lt = last.tocsr(copy=True)
        lt.sort_indices()
        if lt.nnz == out.nnz and np.array_equal(lt.indices, out.indices) and np.array_equal(lt.indptr, out.indptr):
            last_time = lt.data
        else:  # different patterns (explicit zeros dropped somewhere): look the entries up
            rows = np.repeat(np.arange(out.shape[0]), np.diff(out.indptr))
            last_time = np.asarray(lt[rows, out.indices]).ravel()
        age_days = np.maximum(now - last_time, 0.0) / DAY
        out.data *= np.exp2(-age_days / half_life_days).astype(np.float32)
    return out


def select_items(interactions: Interactions, max_items: int | None, *, recent_days: float = 28.0) -> np.ndarray:
    """The model's items: the most frequent (distinct buyers), always keeping the recent risers.

    Items are ranked by the better of their all-time rank and their rank in the last
    ``recent_days``, so a new release that sells well right now is kept even if its all-time count
    is still small. Returns sorted item indices (items without any event are never kept).
    """
    all_time = interactions.item_counts()
    end = int(interactions.timestamp[-1]) + 1
    recent = interactions.between(end - int(recent_days * DAY), end).item_counts()
    candidates = np.nonzero(all_time > 0)[0]
    if max_items is None or len(candidates) <= max_items:
        return candidates
    rank_all = np.empty(interactions.n_items, dtype=np.int64)
    rank_all[np.lexsort((np.arange(interactions.n_items), -all_time))] = np.arange(interactions.n_items)
    rank_recent = np.empty(interactions.n_items, dtype=np.int64)
    rank_recent[np.lexsort((np.arange(interactions.n_items), -recent))] = np.arange(interactions.n_items)
    rank_recent[recent == 0] = interactions.n_items
    best = np.minimum(rank_all, rank_recent)[candidates]
    keep = candidates[np.lexsort((rank_all[candidates], best))[:max_items]]
    return np.sort(keep)


def trend_features(past: Interactions, cutoff: int, cols: np.ndarray, first_sale: np.ndarray) -> np.ndarray:
    """``(len(cols), len(TREND_FEATURES))`` float32 features of the items at ``cutoff`` from the
    events in ``past`` (which must all lie before ``cutoff``)."""
    feats = np.zeros((len(cols), len(TREND_FEATURES)), dtype=np.float32)
    if len(past):
        for j, d in enumerate((7, 14, 28)):
            window = past.between(cutoff - d * DAY, cutoff)
            if len(window):
                feats[:, j] = np.log1p(window.item_counts()[cols])
        feats[:, 3] = np.log1p(past.item_counts()[cols])
    first = first_sale[cols]
    sold = first < cutoff
    feats[:, 4] = np.where(sold, np.log1p(np.maximum(cutoff - first, 0) / DAY), 0.0)
    feats[:, 5] = (~sold).astype(np.float32)
    return feats


def first_sales(interactions: Interactions) -> np.ndarray:
    """Per item, the epoch seconds of its first event (``int64`` max when it has none)."""
    first = np.full(interactions.n_items, np.iinfo(np.int64).max, dtype=np.int64)
    items, idx = np.unique(interactions.item_index, return_index=True)  # log is time-sorted
    first[items] = interactions.timestamp[idx]
    return first


@dataclass(frozen=True)
class ExampleSet:
    """Examples over the model's items (columns): one row per (user, cutoff).

    ``inputs`` are un-normalised input values, ``targets`` non-negative weights (rows sum to 1),
    ``cutoff_id`` indexes ``cutoffs`` and the rows of ``trend`` (``n_cutoffs, n_cols, n_feat``).
    """

    inputs: sp.csr_matrix
    targets: sp.csr_matrix
    cutoff_id: np.ndarray
    cutoffs: np.ndarray
    trend: np.ndarray
    users: np.ndarray

    def __len__(self) -> int:
        return self.inputs.shape[0]


def validation_plan(interactions: Interactions, window_days: float) -> tuple[int, int]:
    """``(validation_cutoff, end)``: the cutoff whose ``window_days`` window closes the log
    (aligned to midnight UTC) and the end of the log."""
    end = int(interactions.timestamp[-1]) + 1
    end_day = -(-end // DAY) * DAY
    return int(end_day - window_days * DAY), end


def training_cutoffs(interactions: Interactions, last_cutoff: int, *, stride_days: float,
                     min_history_days: float, max_cutoffs: int | None) -> np.ndarray:
    """Cutoffs ``last_cutoff, last_cutoff - stride, …`` (ascending) that leave at least
    ``min_history_days`` of history before them."""
    start = int(interactions.timestamp[0])
    step = int(stride_days * DAY)
    if step <= 0:
        raise ConfigError(f"stride_days must be positive, got {stride_days}")
    out: list[int] = []
    c = last_cutoff
    while c - start >= min_history_days * DAY and (max_cutoffs is None or len(out) < max_cutoffs):
        out.append(c)
        c -= step
    return np.array(sorted(out), dtype=np.int64)


def build_examples(interactions: Interactions, cols: np.ndarray, cutoffs: np.ndarray, *,
                   mode: Literal["time-aware", "reconstruct"], window_days: float, input_kind: str,
                   half_life_days: float, target: Literal["new", "any"] = "new",
                   normalize_targets: bool = True) -> ExampleSet:
    """Examples at each cutoff (see the module docstring); users with an empty input or target
    (over ``cols``) are skipped."""
    n_cols = len(cols)
    first_sale = first_sales(interactions)
    inputs: list[sp.csr_matrix] = []
    targets: list[sp.csr_matrix] = []
    cut_ids: list[np.ndarray] = []
    users: list[np.ndarray] = []
    trend = np.zeros((len(cutoffs), n_cols, len(TREND_FEATURES)), dtype=np.float32)
    need_days = input_kind in ("frequency", "recency-frequency")
    need_last = input_kind in ("recency", "recency-frequency")
    for j, c in enumerate(cutoffs.tolist()):
        past = interactions.before(c)
        trend[j] = trend_features(past, c, cols, first_sale)
        if len(past) == 0:
            continue
        seen = past.matrix("binary")[:, cols]
        if mode == "time-aware":
            future = interactions.between(c, c + int(window_days * DAY))
            if len(future) == 0:
                continue
            tgt = future.matrix("binary")[:, cols]
            if target == "new":
                tgt = (tgt - tgt.multiply(seen)).tocsr()
                tgt.eliminate_zeros()
        else:
            tgt = seen
        rows = np.nonzero((np.diff(seen.indptr) > 0) & (np.diff(tgt.indptr) > 0))[0]
        if len(rows) == 0:
            continue
        days = past.matrix("days")[rows][:, cols] if need_days else seen[rows]
        last = past.matrix("last_time")[rows][:, cols] if need_last else days
        inputs.append(input_values(days.tocsr(), last.tocsr(), c, input_kind, half_life_days))
        t = tgt[rows].astype(np.float32).tocsr()
        t.data[:] = 1.0
        if normalize_targets:
            t = sp.diags(1.0 / np.diff(t.indptr).astype(np.float32)) @ t
        targets.append(t.tocsr().astype(np.float32))
        cut_ids.append(np.full(len(rows), j, dtype=np.int32))
        users.append(rows.astype(np.int64))
    if not inputs:
        empty = sp.csr_matrix((0, n_cols), dtype=np.float32)
        return ExampleSet(empty, empty, np.zeros(0, np.int32), np.asarray(cutoffs, np.int64), trend,
                          np.zeros(0, np.int64))
    ex = ExampleSet(sp.vstack(inputs, format="csr"), sp.vstack(targets, format="csr"),
                    np.concatenate(cut_ids), np.asarray(cutoffs, np.int64), trend, np.concatenate(users))
    log.debug("built %d %s examples over %d cutoffs and %d items", len(ex), mode, len(cutoffs), n_cols)
    return ex
