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
from discoverly.recommend.ease import ease_weights

__all__ = ["DAY", "INPUTS", "TREND_FEATURES", "ExampleSet", "add_user_cutoffs", "binary", "build_examples",
           "ease_priors", "input_values", "select_items", "trend_features", "validation_plan"]

log = logging.getLogger(__name__)

DAY = 86_400
#: the input encodings of a history
INPUTS = ("binary", "recency", "frequency", "recency-frequency")
#: per item and cutoff: distinct buyers in the last 7/14/28 days and before the cutoff (log1p),
#: log1p of the days since the item's first sale, and whether it had no sale yet
#: the most training cutoffs a fit builds (each holds an example per active customer): 27 years of daily cutoffs
MAX_TRAINING_CUTOFFS = 10_000
TREND_FEATURES = ("buyers_7d", "buyers_14d", "buyers_28d", "buyers_all", "age_days", "unsold")

InputKind = Literal["binary", "recency", "frequency", "recency-frequency"]


def check_input(kind: str) -> None:
    if kind not in INPUTS:
        raise ConfigError(f"unknown input encoding {kind!r}; expected one of {', '.join(INPUTS)}")


def binary(x: sp.csr_matrix) -> sp.csr_matrix:
    """The encoded inputs ``x`` as 0/1 (float32, same pattern): what the wide path reads."""
    return sp.csr_matrix((np.ones(len(x.indices), dtype=np.float32), x.indices, x.indptr), shape=x.shape)


def input_values(days: sp.csr_matrix, last: sp.csr_matrix, now: int | np.ndarray, kind: str,
                 half_life_days: float) -> sp.csr_matrix:
    """The input matrix (float32, same pattern as ``days``) for histories seen at ``now`` (one time
    for all rows, or one per row).

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
        now_each = now if np.isscalar(now) else np.repeat(np.asarray(now), np.diff(out.indptr))
        age_days = np.maximum(now_each - last_time, 0.0) / DAY
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
    ``cutoff_id`` indexes ``cutoffs`` and the rows of ``trend`` (``n_cutoffs, n_cols, n_feat``)
    and of ``wide`` (``n_cutoffs, n_cols, n_cols``: the item-item prior of the wide path at each
    cutoff, see :func:`ease_priors`; ``None`` without it).
    """

    inputs: sp.csr_matrix
    targets: sp.csr_matrix
    cutoff_id: np.ndarray
    cutoffs: np.ndarray
    trend: np.ndarray
    users: np.ndarray
    #: each example's own cutoff time (a global cutoff, or a customer's event time)
    times: np.ndarray
    wide: np.ndarray | None = None

    def __len__(self) -> int:
        return self.inputs.shape[0]


def ease_priors(interactions: Interactions, cols: np.ndarray, cutoffs: np.ndarray, l2: float) -> np.ndarray:
    """EASE's ``B`` over ``cols`` at each cutoff, ``(len(cutoffs), n, n)`` float32, each from the
    binary histories of the events strictly before its cutoff only, so that a training example's
    prior never contains the co-purchases of its own target window."""
    first = interactions.matrix("first_time")[:, cols].tocsr()
    out = np.empty((len(cutoffs), len(cols), len(cols)), dtype=np.float32)
    for j, c in enumerate(np.asarray(cutoffs, dtype=np.int64)):
        x = first.copy()
        x.data = (x.data < c).astype(np.float32)
        x.eliminate_zeros()
        out[j] = ease_weights((x.T @ x).toarray(), l2)
    return out


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
    if step <= 0:  # positive but under a second ("must be positive, got 1e-06" read as a contradiction)
        raise ConfigError(f"stride_days must be at least one second (1/86400 of a day), got {stride_days}")
    room = last_cutoff - start - min_history_days * DAY
    n = 0 if room < 0 else int(room // step) + 1
    if max_cutoffs is not None:
        n = min(n, max(max_cutoffs, 0))
    if n > MAX_TRAINING_CUTOFFS:  # a stride of seconds made millions of cutoffs: the fit never ended
        raise ConfigError(f"stride_days={stride_days:g} over this log makes {n:,} training cutoffs, more than "
                          f"{MAX_TRAINING_CUTOFFS:,}; set max_cutoffs (default 60) or a longer stride_days")
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
                          np.zeros(0, np.int64), np.zeros(0, np.int64))
    cut_id = np.concatenate(cut_ids)
    ex = ExampleSet(sp.vstack(inputs, format="csr"), sp.vstack(targets, format="csr"), cut_id,
                    np.asarray(cutoffs, np.int64), trend, np.concatenate(users), np.asarray(cutoffs, np.int64)[cut_id])
    log.debug("built %d %s examples over %d cutoffs and %d items", len(ex), mode, len(cutoffs), n_cols)
    return ex


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, s + n)`` for each start ``s`` and length ``n``."""
    total = int(lengths.sum())
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + (np.arange(total) - offsets)


def add_user_cutoffs(interactions: Interactions, cols: np.ndarray, base: ExampleSet, *, per_user: int,
                     latest: int, window_days: float, input_kind: str, half_life_days: float,
                     target: Literal["new", "any"], rng: np.random.Generator,
                     min_gap_days: float = 0.0) -> ExampleSet:
    """``base`` plus examples at customer-specific cutoffs: for each customer, up to ``per_user``
    of their own event times (not their first, at most ``latest``, not before ``base``'s first
    cutoff, and at least ``min_gap_days`` after the customer's previous event), drawn with
    ``rng``. Input: the customer's events before that time; target: their events in the
    ``window_days`` after it. The trend features are those of the latest cutoff of
    ``base`` at or before the example's time (so both kinds of example share one definition).

    Global cutoffs only see customers active on both sides of a few fixed dates; customer cutoffs
    also learn from customers who come back rarely, or whose whole history is one visit (the rest
    of the visit is the target), which matters where few customers return (MovieLens).
    ``min_gap_days > 0`` keeps only the times a customer comes back after a pause: most event
    times of a long visit lie inside it, while the customers a global cutoff evaluates mostly
    return after days away.
    """
    if per_user <= 0 or len(base.cutoffs) == 0:
        return base
    n_cols = len(cols)
    pos = np.full(interactions.n_items, -1, dtype=np.int64)
    pos[cols] = np.arange(n_cols)
    keep = pos[interactions.item_index] >= 0
    u = interactions.user_index[keep].astype(np.int64)
    c = pos[interactions.item_index[keep]]
    t = interactions.timestamp[keep].astype(np.int64)
    order = np.lexsort((t, u))
    u, c, t = u[order], c[order], t[order]
    if len(t) == 0:
        return base
    # (customer, time) packed into one sortable int64: the time counted from the log's first event,
    # in as many bits as the log's span plus a window needs (any era, before 1970 or after 2106)
    window = int(window_days * DAY)
    t0 = int(t.min())
    bits = int(t.max() - t0 + window + 1).bit_length()
    if int(u.max()).bit_length() + bits > 62:
        raise ConfigError(f"customer cutoffs: {len(np.unique(u)):,} customers over {(t.max() - t0) / DAY:,.0f} "
                          "days do not fit the 63-bit (customer, time) key; set user_cutoffs=0")
    key = (u << bits) | (t - t0)
    # candidate cutoffs: each customer's distinct event times after their first one
    cand = np.unique(key)
    cand_u, cand_t = cand >> bits, (cand & ((1 << bits) - 1)) + t0
    first_of_user = np.r_[True, cand_u[1:] != cand_u[:-1]]
    gap = np.r_[0, np.diff(cand_t)]
    ok = ~first_of_user & (cand_t <= latest) & (cand_t >= base.cutoffs[0]) & (gap >= min_gap_days * DAY)
    cand_u, cand_t = cand_u[ok], cand_t[ok]
    if len(cand_u) == 0:
        return base
    pick = np.lexsort((rng.random(len(cand_u)), cand_u))
    cand_u, cand_t = cand_u[pick], cand_t[pick]
    rank = np.arange(len(cand_u)) - np.searchsorted(cand_u, cand_u, side="left")
    ex_u, ex_t = cand_u[rank < per_user], cand_t[rank < per_user]
    user_start = np.searchsorted(u, ex_u, side="left")
    n_before = np.searchsorted(key, (ex_u << bits) | (ex_t - t0), side="left") - user_start
    n_window = np.searchsorted(key, (ex_u << bits) | (ex_t + window - t0), side="left") - user_start - n_before
    m = len(ex_u)
    # inputs: (example, column) pairs of the events before the cutoff
    idx = _ranges(user_start, n_before)
    ex_of = np.repeat(np.arange(m), n_before)
    pair = ex_of * n_cols + c[idx]
    pairs, inverse = np.unique(pair, return_inverse=True)
    last_time = np.full(len(pairs), -np.inf)  # every pair has an event; times may be negative (before 1970)
    np.maximum.at(last_time, inverse, t[idx].astype(np.float64))
    day_pairs = np.unique(pair * 100_000 + t[idx] // DAY % 100_000)
    n_days = np.bincount(np.searchsorted(pairs, day_pairs // 100_000), minlength=len(pairs)).astype(np.float64)
    rows, cc = pairs // n_cols, pairs % n_cols
    days_m = sp.csr_matrix((n_days, (rows, cc)), shape=(m, n_cols))
    last_m = sp.csr_matrix((last_time, (rows, cc)), shape=(m, n_cols))
    inputs = input_values(days_m, last_m, ex_t, input_kind, half_life_days)
    # targets: the events in the window, new to the customer unless target="any"
    tidx = _ranges(user_start + n_before, n_window)
    tpair = np.unique(np.repeat(np.arange(m), n_window) * n_cols + c[tidx])
    if target == "new":
        tpair = tpair[~np.isin(tpair, pairs)]
    tgt = sp.csr_matrix((np.ones(len(tpair), dtype=np.float32), (tpair // n_cols, tpair % n_cols)),
                        shape=(m, n_cols))
    cut_id = np.searchsorted(base.cutoffs, ex_t, side="right") - 1
    good = (np.diff(tgt.indptr) > 0) & (np.diff(inputs.indptr) > 0) & (cut_id >= 0)
    sel = np.nonzero(good)[0]
    if len(sel) == 0:
        return base
    tgt = tgt[sel]
    tgt = (sp.diags(1.0 / np.diff(tgt.indptr).astype(np.float32)) @ tgt).tocsr().astype(np.float32)
    log.debug("added %d customer-cutoff examples to %d global ones", len(sel), len(base))
    return ExampleSet(sp.vstack([base.inputs, inputs[sel]], format="csr"),
                      sp.vstack([base.targets, tgt], format="csr"),
                      np.concatenate([base.cutoff_id, cut_id[sel].astype(np.int32)]), base.cutoffs, base.trend,
                      np.concatenate([base.users, ex_u[sel]]), np.concatenate([base.times, ex_t[sel]]))
