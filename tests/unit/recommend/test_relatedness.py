"""Relatedness scores: hand-worked examples, a brute-force reference, and the fast expectation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discoverly.errors import ConfigError, DataError
from discoverly.recommend import relatedness as R  # noqa: N812

A, B, C, D = 0, 1, 2, 3


@pytest.fixture
def four_customers() -> sp.csr_matrix:
    """Four customers, four items (A, B, C, D)::

        c0: A B          2 distinct items -> n_c = 1 other purchase for each of its items
        c1: A   C D      3 items          -> n_c = 2
        c2: A B C D      4 items          -> n_c = 3 (it bought A three times: still one purchase)
        c3:   B          1 item           -> n_c = 0

    10 purchases; buyers N_A = 3 (c0 c1 c2), N_B = 3 (c0 c2 c3), N_C = N_D = 2 (c1 c2).
    Shares of all purchases: P_A = P_B = 3/10, P_C = P_D = 2/10. Customers with a purchase: 4.
    """
    rows = [0, 0, 1, 1, 1, 2, 2, 2, 2, 3]
    cols = [A, B, A, C, D, A, B, C, D, B]
    # counts > 1 must be treated as one purchase: c2 bought A three times
    data = [1, 1, 1, 1, 1, 3, 1, 1, 1, 1]
    return sp.csr_matrix((np.array(data, dtype=float), (rows, cols)), shape=(4, 4))


def test_expected_cobuyers_by_hand(four_customers: sp.csr_matrix) -> None:
    stats = R.purchase_stats(four_customers)
    assert stats.purchases == 10 and stats.customers == 4
    assert stats.buyers.tolist() == [3, 3, 2, 2]
    # E_AB: buyers of A are c0 (n=1), c1 (n=2), c2 (n=3); P_B = 0.3
    #   (1 - 0.7^1) + (1 - 0.7^2) + (1 - 0.7^3) = 0.3 + 0.51 + 0.657 = 1.467
    #   (the n·p approximation would say 0.3 · (1 + 2 + 3) = 1.8)
    # E_BA: buyers of B are c0 (n=1), c2 (n=3), c3 (n=0); P_A = 0.3
    #   0.3 + 0.657 + 0 = 0.957
    # E_CD: buyers of C are c1 (n=2), c2 (n=3); P_D = 0.2
    #   (1 - 0.8^2) + (1 - 0.8^3) = 0.36 + 0.488 = 0.848
    e = R.expected_cooccurrence(stats, np.array([A, B, C]), np.array([B, A, D]))
    assert e == pytest.approx([1.467, 0.957, 0.848], abs=1e-12)


def test_corrected_score_by_hand(four_customers: sp.csr_matrix) -> None:
    rel = R.related_items(four_customers, "corrected", min_count=2, neighbours=10)
    # N_AB = N_BA = 2 (c0, c2); N_CD = 2 (c1, c2); N_AC = N_AD = 2 (c1, c2); N_BC = N_BD = 1 (< min_count)
    # corrected(A→B) = (2 - 1.467) / sqrt(1.467) = 0.44006...; corrected(B→A) = (2 - 0.957) / sqrt(0.957)
    assert rel.scores[A, B] == pytest.approx((2 - 1.467) / math.sqrt(1.467), rel=1e-6)
    assert rel.scores[B, A] == pytest.approx((2 - 0.957) / math.sqrt(0.957), rel=1e-6)
    assert rel.scores[C, D] == pytest.approx((2 - 0.848) / math.sqrt(0.848), rel=1e-6)
    assert rel.scores[B, C] == 0 and rel.scores[B, D] == 0  # below min_count
    assert rel.counts[A, B] == 2 and rel.counts[C, D] == 2
    # the score is asymmetric: B's buyers include c3, who bought nothing else
    assert rel.scores[B, A] > rel.scores[A, B]


def test_naive_score_by_hand(four_customers: sp.csr_matrix) -> None:
    rel = R.related_items(four_customers, "naive", min_count=1, neighbours=10)
    # P(C|A) - P(C) = 2/3 - 2/4 = 1/6;  P(D|C) - P(D) = 2/2 - 2/4 = 1/2
    assert rel.scores[A, C] == pytest.approx(1 / 6, rel=1e-6)
    assert rel.scores[C, D] == pytest.approx(1 / 2, rel=1e-6)
    # P(B|A) - P(B) = 2/3 - 3/4 < 0: bought together less often than by chance, so not related
    assert rel.scores[A, B] == 0
    # P(A|B) - P(A) = 2/3 - 3/4 < 0 as well; P(B|C) - P(B) = 1/2 - 3/4 < 0
    assert rel.scores[B, A] == 0 and rel.scores[C, B] == 0


def test_cosine_score_by_hand(four_customers: sp.csr_matrix) -> None:
    rel = R.related_items(four_customers, "cosine", min_count=1, neighbours=10)
    assert rel.scores[A, B] == pytest.approx(2 / 3, rel=1e-6)  # 2 / sqrt(3 · 3)
    assert rel.scores[C, D] == pytest.approx(1.0, rel=1e-6)  # 2 / sqrt(2 · 2)
    assert rel.scores[B, C] == pytest.approx(1 / math.sqrt(6), rel=1e-6)
    assert (rel.scores != rel.scores.T).nnz == 0  # symmetric
    idx, _ = rel.neighbours_of(A)
    # A: C and D both 2/sqrt(6) = 0.816 (tie -> lower index first), then B 0.667
    assert idx.tolist() == [C, D, B]


def test_neighbours_and_min_count(four_customers: sp.csr_matrix) -> None:
    rel = R.related_items(four_customers, "cosine", min_count=1, neighbours=1)
    assert np.diff(rel.scores.indptr).max() == 1
    assert rel.neighbours_of(A)[0].tolist() == [C]
    none = R.related_items(four_customers, "cosine", min_count=5)
    assert none.scores.nnz == 0


def test_history_cap_removes_heavy_customers(four_customers: sp.csr_matrix) -> None:
    stats = R.purchase_stats(four_customers, max_history=3)
    assert stats.dropped_customers == 1  # c2 has 4 items
    assert stats.buyers.tolist() == [2, 2, 1, 1] and stats.purchases == 6
    rel = R.related_items(four_customers, "cosine", max_history=3, min_count=1)
    assert rel.counts[A, B] == 1 and rel.params["dropped_customers"] == 1


def test_purchase_stats_leave_the_callers_matrix_alone_and_read_any_positive_entry() -> None:
    # unsorted indices, a duplicate (0, 1), an explicit zero (1, 0) and a fractional quantity (1, 2)
    m = sp.csr_matrix((np.array([2.0, 1.0, 1.0, 0.0, 0.5]), np.array([1, 0, 1, 0, 2]), np.array([0, 3, 5])),
                      shape=(2, 3))
    before = (m.data.copy(), m.indices.copy(), m.indptr.copy())
    stats = R.purchase_stats(m)
    assert stats.buyers.tolist() == [1, 1, 1] and stats.purchases == 3  # the explicit zero is no purchase
    assert stats.history_length.tolist() == [2, 1] and stats.customers == 2
    for a, b in zip(before, (m.data, m.indices, m.indptr), strict=True):
        assert np.array_equal(a, b)  # the caller's matrix is not summed, sorted or binarised in place
    # an item nobody bought still has its place
    assert R.purchase_stats(sp.csr_matrix((2, 5))).buyers.tolist() == [0] * 5


def test_history_cap_of_one_item() -> None:
    m = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    stats = R.purchase_stats(m, max_history=1)  # the customer with two items goes; one item is allowed
    assert stats.dropped_customers == 1 and stats.buyers.tolist() == [1, 0, 1]
    assert R.purchase_stats(m, max_history=2).dropped_customers == 0  # exactly at the cap stays
    with pytest.raises(ConfigError, match=r"^max_history must be a positive number of items or None, got 0$"):
        R.purchase_stats(m, max_history=0)


@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_corrected_with_a_history_cap_matches_brute_force_on_the_capped_matrix(engine: str) -> None:
    rng = np.random.default_rng(4)
    dense = (rng.random((30, 12)) < 0.3).astype(float)
    dense[:3] = 1.0  # three customers with all 12 items: removed by the cap
    capped = dense.copy()
    capped[dense.sum(1) > 8] = 0.0
    rel = R.related_items(sp.csr_matrix(dense), "corrected", min_count=2, neighbours=5, max_history=8,
                          engine=engine)  # type: ignore[arg-type]
    assert rel.params["dropped_customers"] == int((dense.sum(1) > 8).sum()) >= 3
    for i, row in enumerate(brute_force(sp.csr_matrix(capped), "corrected", 2, 5)):
        idx, sc = rel.neighbours_of(i)
        assert idx.tolist() == [j for j, _ in row]
        np.testing.assert_allclose(sc, [s for _, s in row], rtol=1e-5)


def test_expected_cobuyers_when_everyone_bought_two_items_or_more() -> None:
    # c0: A B (n = 1), c1: A B C (n = 2); P_B = 2/5
    # E_AB = (1 - 0.6^1) + (1 - 0.6^2) = 0.4 + 0.64 = 1.04
    m = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]))
    stats = R.purchase_stats(m)
    np.testing.assert_allclose(R.expected_cooccurrence(stats, np.array([A]), np.array([B])), [1.04], rtol=1e-12)
    table = R._ExpectationTable.build(stats)
    np.testing.assert_allclose(table(np.array([A]), np.array([B])), [1.04], rtol=1e-12)


def test_bad_matrix_messages() -> None:
    with pytest.raises(DataError,
                       match=r"^expected a customers × items matrix \(scipy sparse or 2-d numpy\), got str$"):
        R.purchase_stats("not a matrix")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"^the purchase matrix has negative entries; pass purchase counts"):
        R.purchase_stats(np.array([[1.0, -1.0]]))


def test_cooccurrence_matrix(four_customers: sp.csr_matrix) -> None:
    c = R.cooccurrence(four_customers).toarray()
    expected = np.array([[0, 2, 2, 2], [2, 0, 1, 1], [2, 1, 0, 2], [2, 1, 2, 0]])
    assert (c == expected).all()
    assert (R.cooccurrence(four_customers, min_count=2).toarray() == expected * (expected >= 2)).all()


def test_cooccurrence_matrix_with_a_history_cap_and_without_pairs(four_customers: sp.csr_matrix) -> None:
    # max_history=3 removes c2 (4 items): c0 A B, c1 A C D, c3 B are left
    capped = R.cooccurrence(four_customers, max_history=3).toarray()
    assert capped.tolist() == [[0, 1, 1, 1], [1, 0, 0, 0], [1, 0, 0, 1], [1, 0, 1, 0]]
    none = R.cooccurrence(four_customers, min_count=3)  # no pair has 3 co-buyers
    assert none.shape == (4, 4) and none.nnz == 0 and none.dtype == np.int64


def test_pair_scores_by_hand(four_customers: sp.csr_matrix) -> None:
    """The scores of given pairs (the reference the Spark engine is checked against), by hand."""
    stats = R.purchase_stats(four_customers)
    x, y, n_xy = np.array([A, B, C]), np.array([B, A, D]), np.array([2, 2, 2])
    cosine = R.pair_scores("cosine", stats, x, y, n_xy)
    np.testing.assert_allclose(cosine, [2 / 3, 2 / 3, 1.0], rtol=1e-12)  # N_XY / sqrt(N_X N_Y)
    naive = R.pair_scores("naive", stats, x, y, n_xy)
    np.testing.assert_allclose(naive, [2 / 3 - 3 / 4, 2 / 3 - 3 / 4, 2 / 2 - 2 / 4], rtol=1e-12)
    expected = [1.467, 0.957, 0.848]  # E_AB, E_BA, E_CD of test_expected_cobuyers_by_hand
    corrected = R.pair_scores("corrected", stats, x, y, n_xy)
    np.testing.assert_allclose(corrected, [(2 - e) / math.sqrt(e) for e in expected], rtol=1e-12)
    given = R.pair_scores("corrected", stats, x, y, n_xy, expected=np.array([1.0, 4.0, 0.25]))
    np.testing.assert_allclose(given, [1.0, -1.0, 3.5], rtol=1e-12)  # (2 - E) / sqrt(E) of the E handed in
    with pytest.raises(ConfigError, match="unknown relatedness score 'lift'"):
        R.pair_scores("lift", stats, x, y, n_xy)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"score": "jaccard"}, ConfigError,
     "unknown relatedness score 'jaccard'; expected one of cosine, naive, corrected"),
    ({"min_count": 0}, ConfigError, "min_count must be at least 1, got 0"),
    ({"neighbours": 0}, ConfigError, "neighbours must be at least 1, got 0"),
    ({"max_history": 0}, ConfigError, "max_history must be a positive number of items or None, got 0"),
])
def test_bad_parameters(four_customers: sp.csr_matrix, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=f"^{message}$"):
        R.related_items(four_customers, **kwargs)


def test_defaults_and_params(four_customers: sp.csr_matrix) -> None:
    """The documented defaults (min_count=2, 100 neighbours, no history cap) and what ``params`` records."""
    rel = R.related_items(four_customers)
    assert rel.params == {"score": "corrected", "min_count": 2, "neighbours": 100, "max_history": None,
                          "customers": 4, "purchases": 10, "dropped_customers": 0, "engine": rel.params["engine"]}
    assert rel.counts[B, C] == 0 and rel.counts[A, B] == 2  # N_BC = 1 < 2
    assert rel.buyers.tolist() == [3, 3, 2, 2]
    idx, sc = rel.neighbours_of(A)
    assert idx.dtype == np.int64 and sc.dtype == np.float32


@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_buyers_are_recorded_by_both_engines(four_customers: sp.csr_matrix, engine: str) -> None:
    rel = R.related_items(four_customers, "cosine", min_count=1, engine=engine)  # type: ignore[arg-type]
    assert rel.buyers.tolist() == [3, 3, 2, 2]  # N_X per item


def test_numba_engine_without_numba_says_how_to_install_it(four_customers: sp.csr_matrix,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from discoverly.errors import MissingDependencyError
    from discoverly.recommend import relatedness_kernel as kernel_module

    monkeypatch.setattr(kernel_module, "broken", None)
    monkeypatch.setattr(kernel_module, "available", lambda: False)
    with pytest.raises(MissingDependencyError,
                       match=r"^engine='numba' needs numba\. Install it with: pip install 'discoverly\[fast\]'$"):
        R.related_items(four_customers, engine="numba")
    assert R.related_items(four_customers, engine="auto").params["engine"] == "numpy"


def test_blocks_are_the_longest_runs_of_rows_within_the_budget() -> None:
    """Item rows are cut greedily into blocks whose co-occurrence entries (bounded by the rows'
    customers' history lengths) stay within the budget; a row over it on its own is a block alone."""
    # items x customers: every item bought by one customer with 2 items -> 2 entries per row
    by_item = sp.csr_matrix(np.eye(4))
    lengths = np.array([2, 2, 2, 2])
    rows = np.arange(4)
    assert [b.tolist() for b in R._blocks(by_item, lengths, rows, budget=4, max_rows=10)] == [[0, 1], [2, 3]]
    assert [b.tolist() for b in R._blocks(by_item, lengths, rows, budget=5, max_rows=10)] == [[0, 1], [2, 3]]
    assert [b.tolist() for b in R._blocks(by_item, lengths, rows, budget=6, max_rows=10)] == [[0, 1, 2], [3]]
    assert [b.tolist() for b in R._blocks(by_item, lengths, rows, budget=1, max_rows=10)] == [[0], [1], [2], [3]]
    assert [b.tolist() for b in R._blocks(by_item, lengths, rows, budget=100, max_rows=3)] == [[0, 1, 2], [3]]


def test_two_items_are_enough_for_a_pair() -> None:
    # two customers bought both items: N_01 = 2, the only pair there is
    m = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]]))
    assert R.cooccurrence(m, min_count=2).toarray().tolist() == [[0, 2], [2, 0]]
    for engine in ("numpy", "auto"):
        rel = R.related_items(m, "cosine", min_count=2, engine=engine)  # type: ignore[arg-type]
        assert rel.scores[0, 1] == pytest.approx(2 / math.sqrt(6), rel=1e-6)  # 2 / sqrt(3 · 2)
        assert rel.scores[1, 0] == pytest.approx(2 / math.sqrt(6), rel=1e-6)


def test_fast_expectation_of_one_piece_by_hand(four_customers: sp.csr_matrix) -> None:
    stats = R.purchase_stats(four_customers)
    table = R._ExpectationTable.build(stats)
    assert table.coef.shape[1] == 1  # small u · n: one Chebyshev piece
    np.testing.assert_allclose(table(np.array([A, B, C]), np.array([B, A, D])), [1.467, 0.957, 0.848], rtol=1e-12)
    # rows 1..3 only (a later block of query items), all columns
    np.testing.assert_allclose(table.dense(1, 4, np.arange(4))[0, A], 0.957, rtol=1e-12)  # E_BA


def test_expected_cobuyers_of_an_item_whose_buyers_bought_nothing_else() -> None:
    # c0: A B, c1: C only -> C's one buyer has n_c = 0: E_CY = 0 for every Y
    m = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    stats = R.purchase_stats(m)
    # E_AB = 1 - (1 - 1/3)^1 = 1/3; E_CA = 0
    np.testing.assert_allclose(R.expected_cooccurrence(stats, np.array([A, C]), np.array([B, A])), [1 / 3, 0.0],
                               atol=1e-15)


def test_cooccurrence_matrix_keeps_the_catalogue_shape_and_integer_counts() -> None:
    m = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))  # item 2: no co-buyer
    c = R.cooccurrence(m)
    assert c.shape == (3, 3) and c.dtype == np.int64
    assert c.toarray().tolist() == [[0, 2, 0], [2, 0, 0], [0, 0, 0]]


@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_corrected_on_a_wide_catalogue_matches_brute_force(engine: str) -> None:
    """150 items, many with exactly ``min_count`` buyers, split into small blocks: the numpy engine's
    dense expectation block, its column lookup and its later blocks against the definitions."""
    rng = np.random.default_rng(11)
    dense = (rng.random((40, 150)) < 0.08).astype(float)
    dense[0, :] = 1.0  # a heavy buyer: every item has a buyer
    dense[1, ::3] = 1.0
    m = sp.csr_matrix(dense)
    rel = R.related_items(m, "corrected", min_count=2, neighbours=4, block_entries=400,
                          engine=engine)  # type: ignore[arg-type]
    for i, row in enumerate(brute_force(m, "corrected", 2, 4)):
        idx, sc = rel.neighbours_of(i)
        assert idx.tolist() == [j for j, _ in row]
        np.testing.assert_allclose(sc, [s for _, s in row], rtol=1e-5)



@pytest.mark.parametrize("n_items", [9, 17, 33])  # 2^k + 1: the last item's index needs every bit of its column
@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_the_last_item_of_a_power_of_two_plus_one_catalogue_ranks_right(n_items: int, engine: str) -> None:
    """Rows with more pairs than ``neighbours`` are ranked by 64-bit keys (row, score, column): the
    column takes (n_items - 1).bit_length() bits, and with one bit fewer the last item would spill into
    the score bits (mutation testing: ``n_items - 2`` survived)."""
    rng = np.random.default_rng(n_items)
    dense = (rng.random((60, n_items)) < 0.5).astype(float)
    dense[:40, -1] = 1.0  # the last item is bought by most customers: it is in every row, with a high count
    m = sp.csr_matrix(dense)
    for score in R.SCORES:
        rel = R.related_items(m, score, min_count=1, neighbours=3, engine=engine)  # type: ignore[arg-type]
        for i, row in enumerate(brute_force(m, score, 1, 3)):
            idx, sc = rel.neighbours_of(i)
            assert idx.tolist() == [j for j, _ in row], (score, i)
            np.testing.assert_allclose(sc, [s for _, s in row], rtol=1e-5, atol=1e-9)

@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_corrected_with_the_u_axis_in_several_pieces_matches_brute_force(engine: str) -> None:
    """An item in every basket (100 of the 120 customers bought nothing else) and a customer who
    bought everything: u = −log(1 − P_Y) times the largest basket is too wide for one Chebyshev
    expansion of degree ≤ 40, so the expectation table has two pieces and the popular item's pairs
    are evaluated on the second one (mutation testing: every change to the kernel's several-pieces
    loop survived)."""
    rng = np.random.default_rng(5)
    dense = (rng.random((120, 40)) < 0.1).astype(float)
    dense[20:, :] = 0.0
    dense[:, 0] = 1.0
    dense[0, :] = 1.0
    m = sp.csr_matrix(dense)
    assert R._ExpectationTable.build(R.purchase_stats(m)).coef.shape[1] == 2
    rel = R.related_items(m, "corrected", min_count=1, neighbours=40, engine=engine)  # type: ignore[arg-type]
    rows = brute_force(m, "corrected", 1, 40)
    assert sum(j == 0 for row in rows for j, _ in row) >= 20  # the popular item's pairs are kept
    for i, row in enumerate(rows):
        idx, sc = rel.neighbours_of(i)
        assert idx.tolist() == [j for j, _ in row], i
        np.testing.assert_allclose(sc, [s for _, s in row], rtol=1e-5, atol=1e-9)  # N − E cancels to ~1e-12


def test_bad_matrices() -> None:
    with pytest.raises(DataError, match="negative"):
        R.related_items(sp.csr_matrix(np.array([[1.0, -1.0]])))
    with pytest.raises(DataError):
        R.related_items("not a matrix")  # type: ignore[arg-type]


def test_empty_and_dense_input() -> None:
    rel = R.related_items(sp.csr_matrix((3, 4)), "corrected")
    assert rel.scores.shape == (4, 4) and rel.scores.nnz == 0
    dense = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]])
    assert R.related_items(dense, "cosine", min_count=1).scores.nnz > 0


# -- a brute-force reference --------------------------------------------------------------------

def brute_force(m: sp.csr_matrix, score: str, min_count: int, neighbours: int) -> list[list[tuple[int, float]]]:
    """The definitions of the module docs, item pair by item pair, customer by customer."""
    x = (m.toarray() > 0).astype(float)
    n_items = x.shape[1]
    buyers = x.sum(0)
    length = x.sum(1)
    share = buyers / x.sum()
    customers = (length > 0).sum()
    out = []
    for i in range(n_items):
        row = []
        for j in range(n_items):
            n_ij = float(x[:, i] @ x[:, j])
            if i == j or n_ij < min_count:
                continue
            if score == "cosine":
                s = n_ij / math.sqrt(buyers[i] * buyers[j])
            elif score == "naive":
                s = n_ij / buyers[i] - buyers[j] / customers
            else:
                e = sum(1 - (1 - share[j]) ** (length[c] - 1) for c in np.nonzero(x[:, i])[0])
                s = (n_ij - e) / math.sqrt(e)
            s32 = float(np.float32(s))
            if s32 > 0:
                row.append((-s32, j))
        row.sort()
        out.append([(j, -s) for s, j in row[:neighbours]])
    return out


@st.composite
def purchase_matrices(draw: st.DrawFn) -> sp.csr_matrix:
    n_users = draw(st.integers(2, 25))
    n_items = draw(st.integers(2, 15))
    cells = draw(st.lists(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1), st.integers(1, 3)),
                          min_size=1, max_size=120))
    r, c, v = zip(*cells, strict=True)
    return sp.csr_matrix((np.array(v, dtype=float), (r, c)), shape=(n_users, n_items))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=purchase_matrices(), score=st.sampled_from(R.SCORES), min_count=st.integers(1, 3),
       neighbours=st.integers(1, 6), block_entries=st.integers(1, 300))
@pytest.mark.parametrize("engine", ["numpy", "auto"])  # "auto" is the compiled kernel where numba is installed
def test_matches_brute_force(m: sp.csr_matrix, score: str, min_count: int, neighbours: int,
                             block_entries: int, engine: str) -> None:
    rel = R.related_items(m, score, min_count=min_count, neighbours=neighbours, block_entries=block_entries,
                          engine=engine)  # type: ignore[arg-type]
    expected = brute_force(m, score, min_count, neighbours)
    for i, row in enumerate(expected):
        idx, sc = rel.neighbours_of(i)
        assert idx.tolist() == [j for j, _ in row]
        # atol: a score that is 0 in exact arithmetic comes out as rounding noise (2e-16 vs 7e-16) in both
        np.testing.assert_allclose(sc, [s for _, s in row], rtol=1e-5, atol=1e-9)


def test_fast_expectation_equals_the_grouped_sum() -> None:
    """Heavy buyers and one very popular item: the Chebyshev path against the exact sum."""
    rng = np.random.default_rng(7)
    n_users, n_items = 300, 400
    lengths = np.minimum(rng.zipf(1.6, n_users), n_items)
    lengths[:3] = [n_items, 350, 300]  # three very heavy buyers
    rows, cols = [], []
    popularity = 1.0 / np.arange(1, n_items + 1)
    popularity /= popularity.sum()
    for u, n in enumerate(lengths):
        items = rng.choice(n_items, size=n, replace=False, p=popularity)
        rows += [u] * n
        cols += items.tolist()
    rows += list(range(n_users))  # item 0 bought by everyone: a large share P_Y
    cols += [0] * n_users
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))
    stats = R.purchase_stats(m)
    table = R._ExpectationTable.build(stats)
    x, y = np.nonzero(R.cooccurrence(m).toarray())
    exact = R.expected_cooccurrence(stats, x, y)
    np.testing.assert_allclose(table(x, y), exact, rtol=1e-12)
    dense = table.dense(0, n_items, np.arange(n_items))[x, y]
    np.testing.assert_allclose(dense, exact, rtol=1e-12)


def test_chebyshev_plan_splits_a_wide_range() -> None:
    degree, width = R._chebyshev_plan(u_max=0.5, n_max=5000.0)  # u·n up to 2500: needs pieces
    assert degree <= 40 and width < 0.5
    degree, width = R._chebyshev_plan(u_max=1e-3, n_max=100.0)
    assert degree < 12 and width >= 1e-3


def test_wide_range_expectation_stays_exact() -> None:
    """One item is a fifth of all purchases and one customer bought 300 items: ``u · n`` reaches
    ~67, beyond one Chebyshev piece; the pieces must still agree with the exact sum."""
    rng = np.random.default_rng(3)
    n_users, n_items = 100, 301
    rows = list(range(n_users)) + [0] * 300 + list(range(1, n_users))
    cols = [0] * n_users + list(range(1, 301)) + rng.integers(1, n_items, n_users - 1).tolist()
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))
    stats = R.purchase_stats(m)
    table = R._ExpectationTable.build(stats)
    assert table.coef.shape[1] > 1
    xi, yi = np.nonzero(R.cooccurrence(m).toarray())
    np.testing.assert_allclose(table(xi, yi), R.expected_cooccurrence(stats, xi, yi), rtol=1e-12)
    np.testing.assert_allclose(table.dense(0, n_items, np.arange(n_items))[xi, yi],
                               R.expected_cooccurrence(stats, xi, yi), rtol=1e-12)


def test_expectation_pieces_hold_items_inside_them() -> None:
    """Ten popular items with shares from 1% to 10% and a customer with 300 items: the ``u`` axis is
    cut into pieces and several items lie strictly inside the upper one (not only the most popular
    item at its end), so each item must be read from its own piece."""
    rng = np.random.default_rng(5)
    n_users, n_items = 120, 310
    rows, cols = [], []
    for j in range(10):  # item j bought by 10 + 10·j customers
        buyers = rng.choice(n_users, size=10 + 10 * j, replace=False)
        rows += buyers.tolist()
        cols += [j] * len(buyers)
    rows += [0] * 300 + list(range(1, n_users))  # the heavy buyer, and one more item for everyone else
    cols += list(range(10, 310)) + rng.integers(10, n_items, n_users - 1).tolist()
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))
    stats = R.purchase_stats(m)
    table = R._ExpectationTable.build(stats)
    assert table.coef.shape[1] > 1 and (table.piece == table.coef.shape[1] - 1).sum() > 1
    xi, yi = np.nonzero(R.cooccurrence(m).toarray())
    exact = R.expected_cooccurrence(stats, xi, yi)
    np.testing.assert_allclose(table(xi, yi), exact, rtol=1e-12)
    np.testing.assert_allclose(table.dense(0, n_items, np.arange(n_items))[xi, yi], exact, rtol=1e-12)


@pytest.mark.parametrize("engine", ["numpy", "auto"])
@pytest.mark.parametrize("score", R.SCORES)
def test_nothing_to_relate(engine: str, score: str) -> None:
    """No purchases at all, or customers with one item each: empty lists of the catalogue's shape."""
    for m in (sp.csr_matrix((3, 4)), sp.csr_matrix(np.eye(4)[:3])):
        rel = R.related_items(m, score, min_count=1, engine=engine)  # type: ignore[arg-type]
        assert rel.scores.shape == (4, 4) and rel.scores.nnz == 0 and rel.counts.nnz == 0
        assert rel.scores.dtype == np.float32


@pytest.mark.parametrize("score", R.SCORES)
def test_numpy_engine_one_item_per_block_by_hand(four_customers: sp.csr_matrix, score: str) -> None:
    """``block_entries=1``: every query item is a block of its own, so each block starts past item 0."""
    rel = R.related_items(four_customers, score, min_count=1, neighbours=10, engine="numpy", block_entries=1)
    want = {"cosine": {(A, B): 2 / 3, (C, D): 1.0, (B, C): 1 / math.sqrt(6), (D, A): 2 / math.sqrt(6)},
            "naive": {(A, C): 1 / 6, (C, D): 1 / 2, (D, C): 1 / 2, (A, B): 0.0},
            "corrected": {(B, A): (2 - 0.957) / math.sqrt(0.957), (C, D): (2 - 0.848) / math.sqrt(0.848)}}[score]
    for (x, y), value in want.items():
        assert rel.scores[x, y] == pytest.approx(value, rel=1e-6), (x, y)


@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_a_score_of_exactly_zero_is_not_kept(engine: str) -> None:
    # c0: X Y, c1: X, c2: Y, c3: Z -> naive(X -> Y) = 1/2 - 2/4 = 0 exactly: no reason to show Y
    m = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    rel = R.related_items(m, "naive", min_count=1, engine=engine)  # type: ignore[arg-type]
    assert rel.scores.nnz == 0 and rel.counts.nnz == 0


def test_progress_bar_changes_nothing(four_customers: sp.csr_matrix) -> None:
    quiet = R.related_items(four_customers, "corrected", min_count=1, engine="numpy", block_entries=1)
    shown = R.related_items(four_customers, "corrected", min_count=1, engine="numpy", block_entries=1, progress=True)
    assert (quiet.scores != shown.scores).nnz == 0 and (quiet.counts != shown.counts).nnz == 0


def test_deterministic(four_customers: sp.csr_matrix) -> None:
    a = R.related_items(four_customers, "corrected", min_count=1)
    b = R.related_items(four_customers.tocoo(), "corrected", min_count=1)
    assert (a.scores != b.scores).nnz == 0


# -- the compiled engine gives the numpy engine's answers -----------------------------------------

@pytest.mark.parametrize("score", R.SCORES)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_numba_engine_equals_numpy_engine(score: str, seed: int) -> None:
    pytest.importorskip("numba")
    rng = np.random.default_rng(seed)
    n_users, n_items = int(rng.integers(20, 120)), int(rng.integers(5, 80))
    dense = (rng.random((n_users, n_items)) < rng.uniform(0.03, 0.4)).astype(float)
    dense[0, :] = 1.0  # one customer bought everything (a heavy buyer)
    m = sp.csr_matrix(dense)
    kw = {"min_count": int(rng.integers(1, 4)), "neighbours": int(rng.integers(1, 10))}
    a = R.related_items(m, score, engine="numpy", **kw)
    b = R.related_items(m, score, engine="numba", **kw)
    assert a.params["engine"] == "numpy" and b.params["engine"] == "numba"
    assert np.array_equal(a.scores.indptr, b.scores.indptr) and np.array_equal(a.scores.indices, b.scores.indices)
    np.testing.assert_allclose(b.scores.data, a.scores.data, rtol=1e-6)
    assert np.array_equal(a.counts.data, b.counts.data)


def test_numba_engine_on_the_hand_example(four_customers: sp.csr_matrix) -> None:
    pytest.importorskip("numba")
    rel = R.related_items(four_customers, "corrected", min_count=2, engine="numba")
    assert rel.scores[B, A] == pytest.approx((2 - 0.957) / math.sqrt(0.957), rel=1e-6)


def test_unknown_engine(four_customers: sp.csr_matrix) -> None:
    with pytest.raises(ConfigError, match="engine"):
        R.related_items(four_customers, engine="cuda")  # type: ignore[arg-type]


def test_an_interrupt_while_the_kernel_loads_waits_until_it_is_ready(four_customers: sp.csr_matrix,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C inside numba's cache loading or compiling crashed the process (segmentation fault,
    about 1 in 8 interrupts there); it is now held until the kernel is ready, then raised."""
    import os
    import signal

    from discoverly.recommend import relatedness_kernel as kernel_module

    pytest.importorskip("numba")
    real_build, done = kernel_module._build, []

    def build_interrupted() -> object:
        os.kill(os.getpid(), signal.SIGINT)  # arrives while numba loads the kernel
        kernel = real_build()
        done.append(True)
        return kernel

    monkeypatch.setattr(kernel_module, "_compiled", None)
    monkeypatch.setattr(kernel_module, "_build", build_interrupted)
    # Python's own Ctrl-C handler, also when pytest was started in the background (``cmd &`` in a
    # script starts it with SIGINT ignored, and the interrupt never came)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            R.related_items(four_customers, "corrected", min_count=2, engine="numba")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert done == [True]  # the interrupt came after the loading, not inside it
    monkeypatch.setattr(kernel_module, "_build", real_build)
    rel = R.related_items(four_customers, "corrected", min_count=2, engine="numba")
    assert rel.scores[B, A] == pytest.approx((2 - 0.957) / math.sqrt(0.957), rel=1e-6)


def test_a_numba_that_cannot_be_imported_falls_back_to_numpy(four_customers: sp.csr_matrix,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """numba installed but broken (a numpy newer than it supports: "Numba needs NumPy 2.2 or less") was
    a raw ImportError from every item-to-item fit, although the numpy engine gives the same answers."""
    from discoverly.errors import MissingDependencyError
    from discoverly.recommend import relatedness_kernel as kernel_module

    pytest.importorskip("numba")

    def broken_numba() -> object:
        raise ImportError("Numba needs NumPy 2.2 or less. Got NumPy 2.3.")

    monkeypatch.setattr(kernel_module, "_compiled", None)
    monkeypatch.setattr(kernel_module, "broken", None)
    monkeypatch.setattr(kernel_module, "_build", broken_numba)
    with caplog.at_level("WARNING"):
        rel = R.related_items(four_customers, "corrected", min_count=2, engine="auto")
    assert rel.params["engine"] == "numpy" and "numba is installed but cannot be imported" in caplog.text
    expected = R.related_items(four_customers, "corrected", min_count=2, engine="numpy")
    assert (rel.scores != expected.scores).nnz == 0
    assert not kernel_module.available()  # tried once, not at every fit
    with pytest.raises(MissingDependencyError, match=r"numba is installed but cannot be imported .*NumPy 2.2"):
        R.related_items(four_customers, "corrected", min_count=2, engine="numba")  # (it said: install numba)
    monkeypatch.setattr(kernel_module, "broken", None)
    with pytest.raises(MissingDependencyError, match=r"numba is installed but cannot be imported .*NumPy 2.2"):
        R.related_items(four_customers, "corrected", min_count=2, engine="numba")
