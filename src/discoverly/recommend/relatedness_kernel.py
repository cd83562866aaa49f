"""The compiled path of :func:`discoverly.recommend.relatedness.related_items` (optional, numba).

It computes exactly what the vectorised numpy path computes — same counts, same float64 scores
rounded to float32, same positive-only rule, same ranking (score descending, then lower item
index) — but item by item in one pass: the co-buyers of an item are accumulated in a dense
counter, scored, and cut to the best ``neighbours`` at once, so no co-occurrence entry is ever
materialised. The numpy path is 3-5× slower (see benchmarks/item_to_item.md);
both are tested against each other.

Installed with the ``fast`` extra (``pip install 'discoverly[fast]'``); without numba the numpy
path runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["available", "related_top"]

SCORE_CODES = {"cosine": 0, "naive": 1, "corrected": 2}

_compiled: Any = None
#: why numba, though installed, could not be loaded (e.g. a numpy newer than it supports), or None
broken: str | None = None


def available() -> bool:
    """Whether numba is installed (the compiled path can run) and did not fail to load."""
    return broken is None and importlib.util.find_spec("numba") is not None


def ready() -> None:
    """Load (or compile) the kernel now; an ``ImportError`` when numba cannot be imported, which
    :func:`available` then reports."""
    global _compiled, broken
    if _compiled is None:
        try:
            _compiled = _warm()
        except ImportError as exc:
            broken = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise


def _build() -> Any:
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(item_ptr: np.ndarray, item_cust: np.ndarray, cust_ptr: np.ndarray, cust_item: np.ndarray,
               rows: np.ndarray, min_count: int, keep: int, score: int, buyers: np.ndarray, customers: float,
               coef: np.ndarray, position: np.ndarray, piece: np.ndarray, u: np.ndarray, col_bits: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        n_items = buyers.shape[0]
        acc = np.zeros(n_items, dtype=np.int32)
        touched = np.empty(n_items, dtype=np.int32)
        cand_y = np.empty(n_items, dtype=np.int32)
        cand_s = np.empty(n_items, dtype=np.float32)
        cand_bits = cand_s.view(np.uint32)
        cand_n = np.empty(n_items, dtype=np.int32)
        value = np.empty(n_items, dtype=np.float64)
        t_prev = np.empty(n_items, dtype=np.float64)
        t_cur = np.empty(n_items, dtype=np.float64)
        twice = np.empty(n_items, dtype=np.float64)
        count_of = np.zeros(n_items, dtype=np.int32)
        score_of = np.zeros(n_items, dtype=np.float32)
        cap = rows.shape[0] * keep
        out_x = np.empty(cap, dtype=np.int64)
        out_y = np.empty(cap, dtype=np.int64)
        out_s = np.empty(cap, dtype=np.float32)
        out_n = np.empty(cap, dtype=np.float32)
        degree = coef.shape[2]
        mask = (np.uint64(1) << np.uint64(col_bits)) - np.uint64(1)
        total = 0
        for r in range(rows.shape[0]):
            x = rows[r]
            t = 0
            for p in range(item_ptr[x], item_ptr[x + 1]):
                c = item_cust[p]
                for q in range(cust_ptr[c], cust_ptr[c + 1]):
                    y = cust_item[q]
                    if acc[y] == 0:
                        touched[t] = y
                        t += 1
                    acc[y] += 1
            # the pairs that count, then their scores in a loop the compiler can vectorise
            pairs = 0
            for j in range(t):
                y = touched[j]
                n = acc[y]
                acc[y] = 0
                if n >= min_count and y != x:
                    cand_y[pairs] = y
                    cand_n[pairs] = n
                    pairs += 1
            nx = float(buyers[x])
            if score == 0:
                for j in range(pairs):
                    value[j] = cand_n[j] / np.sqrt(nx * buyers[cand_y[j]])
            elif score == 1:
                for j in range(pairs):
                    value[j] = cand_n[j] / nx - buyers[cand_y[j]] / customers
            else:
                # E_XY = u_Y Σ_k c[X, piece(Y), k] T_k(t_Y), T_k by the three-term recurrence
                for j in range(pairs):
                    y = cand_y[j]
                    t_prev[j] = 1.0
                    t_cur[j] = position[y]
                    twice[j] = 2.0 * position[y]
                    value[j] = coef[x, piece[y], 0] + coef[x, piece[y], 1] * position[y]
                for k in range(2, degree):
                    if coef.shape[1] == 1:  # one piece: a loop the compiler vectorises
                        c = coef[x, 0, k]
                        for j in range(pairs):
                            t_next = twice[j] * t_cur[j] - t_prev[j]
                            t_prev[j] = t_cur[j]
                            t_cur[j] = t_next
                            value[j] += c * t_next
                    else:
                        for j in range(pairs):
                            t_next = twice[j] * t_cur[j] - t_prev[j]
                            t_prev[j] = t_cur[j]
                            t_cur[j] = t_next
                            value[j] += coef[x, piece[cand_y[j]], k] * t_next
                for j in range(pairs):
                    e = value[j] * u[cand_y[j]]
                    value[j] = (cand_n[j] - e) / np.sqrt(e)
            m = 0
            for j in range(pairs):
                s32 = np.float32(value[j])
                if s32 > 0:
                    y = cand_y[j]
                    cand_y[m] = y
                    cand_s[m] = s32
                    count_of[y] = cand_n[j]
                    score_of[y] = s32
                    m += 1
            if m <= keep:
                for j in range(m):
                    out_x[total] = x
                    out_y[total] = cand_y[j]
                    out_s[total] = cand_s[j]
                    out_n[total] = count_of[cand_y[j]]
                    total += 1
            else:
                keys = np.empty(m, dtype=np.uint64)
                for j in range(m):
                    bits = np.uint64(cand_bits[j])
                    keys[j] = ((np.uint64(0xFFFFFFFF) - bits) << np.uint64(col_bits)) | np.uint64(cand_y[j])
                # keys are distinct (one per item): the keep smallest are the keep best, in any order
                keys = np.partition(keys, keep - 1)
                for j in range(keep):
                    y = np.int64(keys[j] & mask)
                    out_x[total] = x
                    out_y[total] = y
                    out_s[total] = score_of[y]
                    out_n[total] = count_of[y]
                    total += 1
        return out_x, out_y, out_s, out_n, total

    return kernel


def related_top(item_ptr: np.ndarray, item_cust: np.ndarray, cust_ptr: np.ndarray, cust_item: np.ndarray,
                rows: np.ndarray, min_count: int, keep: int, score: str, buyers: np.ndarray, customers: int,
                coef: np.ndarray | None, position: np.ndarray | None, piece: np.ndarray | None,
                u: np.ndarray | None, col_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kept pairs ``(x, y, score, N_XY)`` of the query items ``rows`` (see the module docs).

    ``item_ptr``/``item_cust`` are the items × customers CSR structure, ``cust_ptr``/``cust_item``
    the customers × items one; the expectation table (Chebyshev coefficients ``coef``, each item's
    ``position`` in its ``piece`` of the ``u`` axis, and ``u``) is only needed for the corrected
    score.
    """
    ready()
    if coef is None or position is None or piece is None or u is None:
        coef = np.zeros((1, 1, 1))
        position = np.zeros(1)
        piece = np.zeros(1, dtype=np.int64)
        u = np.zeros(1)
    out_x, out_y, out_s, out_n, total = _compiled(*_typed(
        item_ptr, item_cust, cust_ptr, cust_item, rows, min_count, keep, SCORE_CODES[score], buyers, customers,
        coef, position, piece, u, col_bits))
    return out_x[:total], out_y[:total], out_s[:total], out_n[:total]


def _typed(item_ptr: np.ndarray, item_cust: np.ndarray, cust_ptr: np.ndarray, cust_item: np.ndarray,
           rows: np.ndarray, min_count: int, keep: int, score: int, buyers: np.ndarray, customers: float,
           coef: np.ndarray, position: np.ndarray, piece: np.ndarray, u: np.ndarray, col_bits: int) -> tuple[Any, ...]:
    """The kernel's arguments in the one signature it is compiled for (the warm-up's)."""
    i32, i64, f64 = np.int32, np.int64, np.float64
    return (np.ascontiguousarray(item_ptr, i64), np.ascontiguousarray(item_cust, i32),
            np.ascontiguousarray(cust_ptr, i64), np.ascontiguousarray(cust_item, i32), np.ascontiguousarray(rows, i64),
            int(min_count), int(keep), int(score), np.ascontiguousarray(buyers, i64), float(customers),
            np.ascontiguousarray(coef, f64), np.ascontiguousarray(position, f64), np.ascontiguousarray(piece, i64),
            np.ascontiguousarray(u, f64), int(col_bits))


def _warm() -> Any:
    """The kernel, loaded from numba's cache or compiled, with Ctrl-C and SIGTERM held meanwhile: an
    interrupt raised inside numba's loading or compiling could crash the process with a segmentation
    fault (about 1 in 8 interrupts in that second) instead of stopping it. The held signal takes
    effect as soon as the kernel is ready."""
    with _signals_held():
        kernel = _build()
        empty_i32, empty_i64 = np.zeros(0, np.int32), np.zeros(0, np.int64)
        kernel(*_typed(np.zeros(2, np.int64), empty_i32, np.zeros(1, np.int64), empty_i32, empty_i64, 1, 1, 0,
                       np.zeros(1, np.int64), 1.0, np.zeros((1, 1, 1)), np.zeros(1), np.zeros(1, np.int64),
                       np.zeros(1), 1))
    return kernel


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Note SIGINT / SIGTERM instead of acting on them, and raise them again after the block. (A
    per-thread signal mask is not enough: the system hands the signal to another thread, e.g. one of
    polars' pool, and Python still raises it in the main thread.)"""
    if threading.current_thread() is not threading.main_thread():
        yield  # Python runs signal handlers in the main thread only: nothing interrupts this one
        return
    received: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    before = {sig: signal.signal(sig, lambda sig, frame: received.append(sig)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in before.items():  # None: a handler installed outside Python
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for number in dict.fromkeys(received):
            signal.raise_signal(number)
