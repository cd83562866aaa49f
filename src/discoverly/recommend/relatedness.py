"""Item-to-item relatedness from a customers × items purchase matrix: pure functions, no state.

Everything here is computed only for pairs of items that co-occur (were bought by at least
``min_count`` common customers), item block by item block, so memory stays bounded however large
the catalogue. The functions are deterministic; the Spark engine reproduces them exactly.

Definitions (``M`` is the customers × items matrix handed in):

purchase
    A (customer, item) pair with a positive entry in ``M``. Repeat purchases of the same item by
    the same customer count once: the matrix is binarised first.
history cap (``max_history``)
    Optional. Customers with more than ``max_history`` distinct items (resellers, test accounts)
    are removed before anything is counted, as if absent from the data. ``None`` keeps everyone.
``N_X``
    buyers of item ``X`` (customers with a purchase of ``X``).
``N_XY``
    co-buyers: customers with a purchase of both ``X`` and ``Y``.
``n_c``
    the number of OTHER purchases of customer ``c`` given the purchase of ``X``: its number of
    distinct items minus one.
``P_Y``
    ``Y``'s share of all purchases: ``N_Y / (number of purchases)``.
``P(Y)``
    the probability that a customer buys ``Y``: ``N_Y / (customers with a purchase)``.

Scores of the pair "``X`` → ``Y``" (the row is ``X``, the query item; the column ``Y``, the item
related to it):

``cosine``
    ``N_XY / sqrt(N_X · N_Y)`` — cosine of the binary customer vectors (Linden et al., 2003).
``naive``
    ``P(Y|X) − P(Y) = N_XY / N_X − N_Y / customers``: how much more likely a buyer of ``X`` buys
    ``Y`` than anyone does.
``corrected``
    ``(N_XY − E_XY) / sqrt(E_XY)`` with ``E_XY = Σ_{c ∈ buyers(X)} [1 − (1 − P_Y)^{n_c}]``, the
    number of co-buyers expected if each of a buyer's other purchases were ``Y`` with probability
    ``P_Y`` independently. Heavy buyers (large ``n_c``) raise the expectation, so the items they
    buy stop dominating the lists.

Only pairs with ``N_XY >= min_count`` and ``X != Y`` are scored; only pairs with a positive score
are kept (a negative naive or corrected score says ``Y`` is bought with ``X`` *less* often than
chance, which is no reason to show it); per item ``X`` the ``neighbours`` best are kept. Scores
are rounded to float32 before ranking, and ties are broken by the lower item index.

``E_XY`` is exact: the buyers of ``X`` are grouped by ``n_c`` (:func:`expected_cooccurrence`
sums ``h_X(n) · (1 − (1 − P_Y)^n)`` over the distinct ``n`` of ``X``). The default fast path
(:func:`related_items`) evaluates the same sum through a Chebyshev expansion in ``P_Y`` whose
degree is chosen so that its error is below ``1e-13`` relative (see :class:`_ExpectationTable`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from discoverly.errors import ConfigError, DataError, MissingDependencyError

__all__ = ["SCORES", "PurchaseStats", "Relatedness", "ScoreName", "cooccurrence", "expected_cooccurrence",
           "pair_scores", "purchase_stats", "related_items"]

log = logging.getLogger(__name__)

ScoreName = Literal["cosine", "naive", "corrected"]
Engine = Literal["auto", "numpy", "numba"]
SCORES: tuple[str, ...] = ("cosine", "naive", "corrected")

#: upper bound on the co-occurrence entries materialised at once (per item block)
DEFAULT_BLOCK_ENTRIES = 8_000_000
#: relative accuracy of the fast expectation against the exact grouped sum
_TOLERANCE = 1e-13
#: pairs whose expectation is evaluated at once (bounds the temporary (pairs × degree) arrays)
_PAIR_CHUNK = 262_144


@dataclass(frozen=True)
class PurchaseStats:
    """The counts every score needs, taken from the binarised, capped matrix.

    ``matrix``: customers × items CSR of purchases (1.0), sorted indices; ``history_length``: distinct
    items per customer; ``buyers``: ``N_X`` per item; ``customers``: customers with a purchase;
    ``purchases``: number of purchases (nonzeros); ``dropped_customers``: removed by the cap.
    """

    matrix: sp.csr_matrix
    history_length: np.ndarray
    buyers: np.ndarray
    customers: int
    purchases: int
    dropped_customers: int = 0

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def share(self) -> np.ndarray:
        """``P_Y``: each item's share of all purchases."""
        return self.buyers / max(self.purchases, 1)


def purchase_stats(matrix: sp.spmatrix | sp.sparray | np.ndarray, *, max_history: int | None = None) -> PurchaseStats:
    """Binarise a customers × items matrix, apply the history cap, and count buyers and purchases."""
    if max_history is not None and max_history < 1:
        raise ConfigError(f"max_history must be a positive number of items or None, got {max_history}")
    try:
        m = sp.csr_matrix(matrix, copy=True)
    except (TypeError, ValueError) as exc:
        raise DataError(f"expected a customers × items matrix (scipy sparse or 2-d numpy), got {type(matrix).__name__}"
                        ) from exc
    if m.ndim != 2:
        raise DataError(f"expected a 2-d customers × items matrix, got shape {m.shape}")
    if m.nnz and np.any(m.data < 0):
        raise DataError("the purchase matrix has negative entries; pass purchase counts or a binary matrix")
    m.sum_duplicates()
    m.data = (m.data > 0).astype(np.float32)
    m.eliminate_zeros()
    m.sort_indices()
    length = np.diff(m.indptr).astype(np.int64)
    dropped = 0
    if max_history is not None and np.any(length > max_history):
        heavy = length > max_history
        dropped = int(heavy.sum())
        keep = sp.diags((~heavy).astype(np.float32))
        m = sp.csr_matrix(keep @ m)
        m.eliminate_zeros()
        m.sort_indices()
        length = np.diff(m.indptr).astype(np.int64)
        log.info("history cap %d removed %d customers", max_history, dropped)
    m.indices = m.indices.astype(np.int32, copy=False)
    m.indptr = m.indptr.astype(np.int64, copy=False)
    buyers = np.bincount(m.indices, minlength=m.shape[1]).astype(np.int64)
    return PurchaseStats(m, length, buyers, int(np.count_nonzero(length)), int(m.nnz), dropped)


# -- co-occurrence counts, block by block ---------------------------------------------------------

def _blocks(by_item: sp.csr_matrix, lengths: np.ndarray, rows: np.ndarray, budget: int, max_rows: int
            ) -> Iterator[np.ndarray]:
    """Consecutive groups of item rows whose co-occurrence rows hold at most ~``budget`` entries."""
    work = by_item @ lengths.astype(np.float64)  # an upper bound of each row's entries
    start = 0
    while start < len(rows):
        cum = np.cumsum(work[rows[start:start + max_rows]])
        stop = start + max(1, int(np.searchsorted(cum, budget, side="right")))
        yield rows[start:stop]
        start = stop


def _pair_structure(stats: PurchaseStats, min_count: int) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """The purchases that can form pairs with ``N_XY >= min_count``: customers × items and items ×
    customers CSR (items with fewer buyers and customers with a single such item removed), and the
    items that remain (ascending)."""
    if min_count < 1:
        raise ConfigError(f"min_count must be at least 1, got {min_count}")
    active = np.nonzero(stats.buyers >= min_count)[0]  # N_XY <= min(N_X, N_Y)
    m = stats.matrix
    if len(active) < stats.n_items:
        keep = np.zeros(stats.n_items, dtype=np.float32)
        keep[active] = 1.0
        m = sp.csr_matrix(m @ sp.diags(keep))
        m.eliminate_zeros()
    m = sp.csr_matrix(m[np.diff(m.indptr) >= 2])  # customers with a single (kept) item co-buy nothing
    m.sort_indices()
    by_item = sp.csr_matrix(m.T)
    by_item.sort_indices()
    return m, by_item, active


def _cooccurrence_blocks(stats: PurchaseStats, min_count: int, block_entries: int, max_rows: int = 1 << 14
                         ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Co-occurring pairs ``X != Y`` with ``N_XY >= min_count``, one block of query items ``X`` at a
    time: ``(first, x_local, y, n_xy, row_start)`` with ``x = first + x_local`` ascending, ``y``
    ascending within each row, and ``row_start[r]`` the position of row ``r``'s first pair."""
    m, by_item, active = _pair_structure(stats, min_count)
    if len(active) < 2:
        return
    for rows in _blocks(by_item, np.diff(m.indptr), active, block_entries, max_rows):
        a, b = int(rows[0]), int(rows[-1]) + 1
        c = sp.csr_matrix(by_item[a:b] @ m)
        c.sort_indices()
        x = np.repeat(np.arange(b - a, dtype=np.int64), np.diff(c.indptr))
        ok = c.data >= min_count
        ok &= c.indices != x + a
        x, y, n = x[ok], c.indices[ok], c.data[ok]
        if len(x):
            row_start = np.zeros(b - a + 1, dtype=np.int64)
            row_start[1:] = np.cumsum(np.bincount(x, minlength=b - a))
            yield a, x, y.astype(np.int64), n, row_start


def cooccurrence(matrix: sp.spmatrix | sp.sparray | np.ndarray, *, min_count: int = 1,
                 max_history: int | None = None) -> sp.csr_matrix:
    """The items × items matrix of co-buyers ``N_XY`` (``X != Y``, ``N_XY >= min_count``).

    Materialises every co-occurring pair: meant for inspection, tests and small data;
    :func:`related_items` never builds this matrix.
    """
    stats = purchase_stats(matrix, max_history=max_history)
    n = stats.n_items
    parts = [(a + x, y, c) for a, x, y, c, _ in _cooccurrence_blocks(stats, min_count, DEFAULT_BLOCK_ENTRIES)]
    if not parts:
        return sp.csr_matrix((n, n), dtype=np.int64)
    x, y, c = (np.concatenate(p) for p in zip(*parts, strict=True))
    return sp.csr_matrix((c.astype(np.int64), (x, y)), shape=(n, n))


# -- the expected number of co-buyers -------------------------------------------------------------

def _groups(stats: PurchaseStats) -> tuple[sp.csr_matrix, np.ndarray]:
    """Buyers of each item grouped by ``n_c``: an items × groups CSR of counts ``h_X(n)`` and the
    group values ``n`` (ascending; ``n = 0`` left out, it contributes nothing)."""
    others = stats.history_length - 1
    values, group_of_customer = np.unique(others, return_inverse=True)
    rows = np.repeat(np.arange(stats.matrix.shape[0]), np.diff(stats.matrix.indptr))
    g = sp.csr_matrix((np.ones(stats.matrix.nnz), (stats.matrix.indices, group_of_customer[rows])),
                      shape=(stats.n_items, len(values)))
    g.sum_duplicates()
    if len(values) and values[0] == 0:
        g = sp.csr_matrix(g[:, 1:])
        values = values[1:]
    g.sort_indices()
    return g, values.astype(np.float64)


def _log_keep(share: np.ndarray) -> np.ndarray:
    """``-log(1 - P_Y)``, so that ``(1 - P_Y)^n = exp(-n · u)``."""
    return -np.log1p(-np.minimum(share, 1.0 - 1e-16))


def expected_cooccurrence(stats: PurchaseStats, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``E_XY`` for the given pairs by the exact grouped sum ``Σ_n h_X(n) · (1 − (1 − P_Y)^n)``.

    Each pair costs O(distinct ``n_c`` among the buyers of ``X``). This is the reference the fast
    path of :func:`related_items` is tested against.
    """
    groups, values = _groups(stats)
    u = _log_keep(stats.share)
    x = np.asarray(x, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    out = np.empty(len(x), dtype=np.float64)
    for a in range(0, len(x), _PAIR_CHUNK):
        xs, ys = x[a:a + _PAIR_CHUNK], y[a:a + _PAIR_CHUNK]
        start = groups.indptr[xs]
        size = groups.indptr[xs + 1] - start
        owner = np.repeat(np.arange(len(xs)), size)
        offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
        pos = np.repeat(start, size) + offset
        terms = groups.data[pos] * -np.expm1(-values[groups.indices[pos]] * u[ys][owner])
        out[a:a + len(xs)] = np.bincount(owner, weights=terms, minlength=len(xs))
    return out


@dataclass
class _ExpectationTable:
    """Fast exact ``E_XY``: a Chebyshev expansion of each item's expectation in ``u = −log(1 − P_Y)``.

    For an item ``X``, ``E_X(u) = Σ_n h_X(n) (1 − e^{−u n}) = u · q_X(u)`` with
    ``q_X(u) = Σ_n h_X(n) · n · φ(u n)`` and ``φ(t) = (1 − e^{−t}) / t``, an entire function. On a
    piece ``[a, b]`` of the ``u`` axis, the Chebyshev coefficients of ``φ(u n)`` decay like those of
    ``e^{−t}`` on an interval of length ``R = (b − a) · max n``: below ``2·e^{R/4}·(R/4)^k / k!``.
    The degree is the smallest ``k`` that makes that bound ``< 1e-13 / max(1, b · max n)`` relative
    to ``q`` (which is at least ``q(0) · φ(b · max n)``), so the expansion agrees with the grouped
    sum to floating-point accuracy; the ``u`` axis is cut into pieces so that degrees stay ≤ 40.
    ``E_XY = u_Y · Σ_k c[X, piece(Y), k] · T_k(t_Y)``: a short dot product per pair.
    """

    coef: np.ndarray  # (items, pieces, degree + 1)
    basis: np.ndarray  # (items, degree + 1): T_k at each item's position within its piece
    piece: np.ndarray  # (items,) the piece of each item's u
    u: np.ndarray  # (items,)
    position: np.ndarray  # (items,) each item's u mapped to [-1, 1] within its piece

    @classmethod
    def build(cls, stats: PurchaseStats) -> _ExpectationTable:
        groups, values = _groups(stats)
        u = _log_keep(stats.share)
        n_max = float(values[-1]) if len(values) else 1.0
        u_max = float(u.max()) if len(u) else 0.0
        degree, width = _chebyshev_plan(u_max, n_max)
        pieces = max(1, math.ceil(u_max / width)) if u_max > 0 else 1
        edges = np.linspace(0.0, u_max if u_max > 0 else 1.0, pieces + 1)
        piece = np.clip(np.searchsorted(edges, u, side="right") - 1, 0, pieces - 1)
        k = np.arange(degree + 1)
        nodes = np.cos(np.pi * (k + 0.5) / (degree + 1))  # Chebyshev points of the first kind
        # T_j(node_i): the discrete cosine transform that turns values at nodes into coefficients
        cheb = np.cos(np.outer(k, np.arccos(nodes)))  # (degree+1 coefficients, degree+1 nodes)
        scale = np.full(degree + 1, 2.0 / (degree + 1))
        scale[0] = 1.0 / (degree + 1)
        transform = cheb * scale[:, None]
        coef = np.zeros((stats.n_items, pieces, degree + 1))
        for p in range(pieces):
            a, b = edges[p], edges[p + 1]
            at = a + (nodes + 1.0) * (b - a) / 2.0  # u at the nodes
            t = np.outer(values, at)  # (groups, nodes)
            phi = np.where(t > 1e-300, -np.expm1(-t) / np.where(t > 1e-300, t, 1.0), 1.0)
            q_at_nodes = groups @ (values[:, None] * phi)  # (items, nodes)
            coef[:, p, :] = np.asarray(q_at_nodes) @ transform.T
        a_y = edges[piece]
        b_y = edges[piece + 1]
        t_y = np.clip(2.0 * (u - a_y) / np.where(b_y > a_y, b_y - a_y, 1.0) - 1.0, -1.0, 1.0)
        basis = np.cos(np.outer(np.arccos(t_y), k))
        return cls(coef, basis, piece.astype(np.int64), u, t_y)

    def dense(self, first: int, stop: int, columns: np.ndarray) -> np.ndarray:
        """``E_XY`` for the items ``first .. stop-1`` (rows) and all ``columns``: one matrix product
        per piece of the ``u`` axis."""
        out = np.empty((stop - first, len(columns)), dtype=np.float64)
        for p in range(self.coef.shape[1]):
            cols = np.nonzero(self.piece[columns] == p)[0] if self.coef.shape[1] > 1 else slice(None)
            ys = columns[cols]
            out[:, cols] = (self.coef[first:stop, p, :] @ self.basis[ys].T) * self.u[ys]
        return out

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``E_XY`` for the pairs ``(x[i], y[i])``."""
        out = np.empty(len(x), dtype=np.float64)
        single = self.coef.shape[1] == 1
        for a in range(0, len(x), _PAIR_CHUNK):
            xs, ys = x[a:a + _PAIR_CHUNK], y[a:a + _PAIR_CHUNK]
            c = self.coef[xs, 0] if single else self.coef[xs, self.piece[ys]]
            out[a:a + len(xs)] = np.einsum("ij,ij->i", c, self.basis[ys]) * self.u[ys]
        return out


def _chebyshev_plan(u_max: float, n_max: float, max_degree: int = 40) -> tuple[int, float]:
    """Degree and piece width of the ``u`` axis for :class:`_ExpectationTable` (see there)."""
    if u_max <= 0:
        return 1, 1.0
    width = u_max
    while True:
        r = width * n_max
        target = _TOLERANCE / max(1.0, u_max * n_max)
        for degree in range(1, max_degree + 1):
            k = degree + 1
            log_bound = math.log(2.0) + r / 4.0 + k * math.log(max(r / 4.0, 1e-300)) - math.lgamma(k + 1)
            if log_bound < math.log(target):
                return degree, width * (1 + 1e-12)
        width /= 2.0


# -- scores ---------------------------------------------------------------------------------------

def pair_scores(score: ScoreName | str, stats: PurchaseStats, x: np.ndarray, y: np.ndarray, n_xy: np.ndarray,
                expected: np.ndarray | None = None) -> np.ndarray:
    """The ``score`` of each pair ``x → y`` with ``n_xy`` co-buyers (float64; see the module docs).

    ``expected`` is ``E_XY`` of the pairs for the corrected score (default: the exact grouped sum).
    """
    n_xy = np.asarray(n_xy, dtype=np.float64)
    nx = stats.buyers[x].astype(np.float64)
    ny = stats.buyers[y].astype(np.float64)
    if score == "cosine":
        return n_xy / np.sqrt(nx * ny)
    if score == "naive":
        return n_xy / nx - ny / max(stats.customers, 1)
    if score == "corrected":
        e = expected if expected is not None else expected_cooccurrence(stats, x, y)
        return (n_xy - e) / np.sqrt(e)
    raise ConfigError(f"unknown relatedness score {score!r}; expected one of {', '.join(SCORES)}")


@dataclass(frozen=True)
class Relatedness:
    """Related items of every item: items × items CSR matrices, row = query item ``X``.

    ``scores`` holds the kept scores (float32, positive), ``counts`` the co-buyers ``N_XY`` of the
    same pairs; each row keeps at most ``neighbours`` entries. ``buyers`` is ``N_X`` per item and
    ``params`` records how it was built.
    """

    scores: sp.csr_matrix
    counts: sp.csr_matrix
    buyers: np.ndarray
    params: dict[str, Any]

    def neighbours_of(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """Related item indices and scores of item index ``item``, best first."""
        a, b = self.scores.indptr[item], self.scores.indptr[item + 1]
        idx, sc = self.scores.indices[a:b], self.scores.data[a:b]
        order = np.lexsort((idx, -sc))
        return idx[order].astype(np.int64), sc[order]


def _top_per_row(x: np.ndarray, y: np.ndarray, s32: np.ndarray, keep: int, n_rows: int, col_bits: int
                 ) -> np.ndarray:
    """Positions of the ``keep`` best pairs of each row (score descending, then ``y`` ascending).

    ``x`` (local row, ascending) and ``y`` (ascending within a row) come from one block; scores are
    positive float32, whose bit patterns order like the values. Rows with at most ``keep`` pairs
    are kept whole; the others are ranked by one sort of 64-bit keys ``(row, ~score bits, y)``.
    """
    per_row = np.bincount(x, minlength=n_rows)
    big_row = per_row > keep
    if not big_row.any():
        return np.arange(len(x))
    in_big = big_row[x]
    small = np.nonzero(~in_big)[0]
    big = np.nonzero(in_big)[0]
    xb = x[big].astype(np.uint64)
    flipped = np.uint64(0xFFFFFFFF) - s32[big].view(np.uint32).astype(np.uint64)
    key = np.sort((xb << np.uint64(32 + col_bits)) | (flipped << np.uint64(col_bits)) | y[big].astype(np.uint64))
    counts = per_row[big_row]
    starts = np.cumsum(counts) - counts
    take = np.repeat(starts, keep) + np.tile(np.arange(keep), len(starts))
    key = key[take]
    # back to positions: pairs are sorted by (row, y), so (row << col_bits) + y ascends over the block
    wanted = (key >> np.uint64(32 + col_bits) << np.uint64(col_bits)) | (key & np.uint64((1 << col_bits) - 1))
    have = (x.astype(np.uint64) << np.uint64(col_bits)) | y.astype(np.uint64)
    pos = np.searchsorted(have, wanted)
    return np.sort(np.concatenate([small, pos]))


def related_items(matrix: sp.spmatrix | sp.sparray | np.ndarray, score: ScoreName | str = "corrected", *,
                  min_count: int = 2, neighbours: int = 100, max_history: int | None = None,
                  engine: Engine = "auto", block_entries: int = DEFAULT_BLOCK_ENTRIES,
                  progress: bool = False) -> Relatedness:
    """The ``neighbours`` most related items of every item by ``score`` (see the module docs).

    ``matrix`` is customers × items (binary or counts). ``engine``: ``"numpy"`` counts pairs in
    blocks of items with at most ~``block_entries`` co-occurrence entries each, so peak memory is
    bounded by the block and the result; ``"numba"`` (the ``fast`` extra) scores item by item in
    one compiled pass, 3-5× faster and never materialising co-occurrences; ``"auto"`` takes numba
    when it is installed. Both give identical results.
    """
    if score not in SCORES:
        raise ConfigError(f"unknown relatedness score {score!r}; expected one of {', '.join(SCORES)}")
    if neighbours < 1:
        raise ConfigError(f"neighbours must be at least 1, got {neighbours}")
    if engine not in ("auto", "numpy", "numba"):
        raise ConfigError(f"unknown engine {engine!r}; expected 'auto', 'numpy' or 'numba'")
    from discoverly.recommend import relatedness_kernel

    if engine == "numba" and relatedness_kernel.broken is not None:
        raise MissingDependencyError(f"engine='numba': numba is installed but cannot be imported "
                                     f"({relatedness_kernel.broken}); reinstall it: pip install -U 'discoverly[fast]'")
    if engine == "numba" and not relatedness_kernel.available():
        raise MissingDependencyError("engine='numba' needs numba. Install it with: pip install 'discoverly[fast]'")
    compiled = engine == "numba" or (engine == "auto" and relatedness_kernel.available())
    if compiled:
        try:
            relatedness_kernel.ready()
        except ImportError as exc:  # installed but broken, e.g. by a numpy newer than it supports
            if engine == "numba":
                raise MissingDependencyError(f"engine='numba': numba is installed but cannot be imported ({exc}); "
                                             "reinstall it: pip install -U 'discoverly[fast]'") from exc
            log.warning("numba is installed but cannot be imported (%s); item-to-item uses its numpy engine "
                        "(identical results, 3-4x slower). Reinstall it: pip install -U 'discoverly[fast]'",
                        relatedness_kernel.broken)
            compiled = False
    stats = purchase_stats(matrix, max_history=max_history)
    n_items = stats.n_items
    col_bits = max(1, int(n_items - 1).bit_length())
    if col_bits > 30:
        raise DataError(f"{n_items:,} items are more than relatedness supports (2^30)")
    params = {"score": score, "min_count": min_count, "neighbours": neighbours, "max_history": max_history,
              "customers": stats.customers, "purchases": stats.purchases,
              "dropped_customers": stats.dropped_customers, "engine": "numba" if compiled else "numpy"}
    if compiled:
        exp = _ExpectationTable.build(stats) if score == "corrected" else None
        m, by_item, active = _pair_structure(stats, min_count)
        x, y, s32, n = relatedness_kernel.related_top(
            by_item.indptr, by_item.indices, m.indptr, m.indices, active if len(active) >= 2 else active[:0],
            min_count, neighbours, score, stats.buyers, stats.customers,
            None if exp is None else exp.coef, None if exp is None else exp.position,
            None if exp is None else exp.piece, None if exp is None else exp.u, col_bits)
        order = np.lexsort((y, x))
        x, y, s32, n = x[order], y[order], s32[order], n[order]
        return Relatedness(_csr(x, y, s32, n_items), _csr(x, y, n, n_items), stats.buyers, params)
    max_rows = min(1 << 14, 1 << (32 - col_bits))
    table: _ExpectationTable | None = None
    active = np.nonzero(stats.buyers >= min_count)[0]
    if score == "corrected":
        table = _ExpectationTable.build(stats)
        max_rows = max(1, min(max_rows, _DENSE_CELLS // max(len(active), 1)))
    inv_sqrt = 1.0 / np.sqrt(np.maximum(stats.buyers, 1).astype(np.float64))
    base_rate = stats.buyers / max(stats.customers, 1)
    col_pos = np.full(n_items, -1, dtype=np.int64)
    col_pos[active] = np.arange(len(active))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    blocks = _cooccurrence_blocks(stats, min_count, block_entries, max_rows)
    for first, x, y, n, row_start in _progress(blocks, progress, n_items):
        n64 = n.astype(np.float64)
        if score == "cosine":
            s = n64 * inv_sqrt[x + first] * inv_sqrt[y]
        elif score == "naive":
            s = n64 / stats.buyers[x + first] - base_rate[y]
        else:
            assert table is not None
            n_rows = len(row_start) - 1
            if len(x) * 8 > n_rows * len(active):
                e = table.dense(first, first + n_rows, active)[x, col_pos[y]]
            else:
                e = table(x + first, y)
            s = (n64 - e) / np.sqrt(e)
        s32 = s.astype(np.float32)
        ok = s32 > 0
        if not ok.all():
            x, y, s32, n = x[ok], y[ok], s32[ok], n[ok]
        if not len(x):
            continue
        sel = _top_per_row(x, y, s32, neighbours, len(row_start) - 1, col_bits)
        parts.append((x[sel] + first, y[sel], s32[sel], n[sel]))
    if parts:
        x, y, s32, n = (np.concatenate(v) for v in zip(*parts, strict=True))
    else:
        x = y = np.zeros(0, dtype=np.int64)
        s32 = n = np.zeros(0, dtype=np.float32)
    return Relatedness(_csr(x, y, s32, n_items), _csr(x, y, n.astype(np.float32), n_items), stats.buyers, params)


#: cells of the dense expectation block of the corrected score (8 bytes each)
_DENSE_CELLS = 1 << 21


def _csr(x: np.ndarray, y: np.ndarray, v: np.ndarray, size: int) -> sp.csr_matrix:
    """CSR from pairs grouped by ascending row and ``y`` ascending within a row."""
    indptr = np.zeros(size + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(x, minlength=size))
    return sp.csr_matrix((v, y.astype(np.int32), indptr), shape=(size, size))


def _progress(blocks: Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]], on: bool, n_items: int
              ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    if not on:
        yield from blocks
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("relatedness", total=n_items)
        done = 0
        for block in blocks:
            yield block
            last = block[0] + len(block[4]) - 1
            bar.advance(task, last - done)
            done = last
