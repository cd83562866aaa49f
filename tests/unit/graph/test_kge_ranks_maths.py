"""Filtered ranks of ``rank_triples`` on hand-made DistMult vectors whose ranks are worked out by hand:
the Hits@10 boundary (a rank of exactly 10 is a hit, 11 is not), test triples that are not among the known
triples (nothing to filter but the others), triples and vectors given with other numpy types, and no triples.

With ``r = (1, 0)`` DistMult scores ``score(h, r, t) = h[0] * t[0]``. Entity 0 is ``(1, 0)`` and entity
``j = 1..12`` is ``(20 - j, 0)``: the tails of ``(0, r, ?)`` score ``19, 18, ..., 8`` for entities 1..12 and
1 for entity 0, so tail ``j`` ranks ``j`` (nothing filtered); the heads of ``(?, r, j)`` score ``x[0] * (20 - j)``
with ``x[0]`` largest for entity 1 and smallest for entity 0, so head 0 ranks last, 13th."""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.errors import DataError
from discoverly.graph.kge import KGEmbedding, rank_triples


def ladder(dtype: type = np.float32) -> KGEmbedding:
    ent = np.array([[1, 0]] + [[20 - j, 0] for j in range(1, 13)], dtype=dtype)
    return KGEmbedding("distmult", ent, np.array([[1, 0]], dtype=dtype))


def test_a_rank_of_ten_is_a_hit_at_ten_and_eleven_is_not() -> None:
    test = np.array([[0, 0, 10], [0, 0, 11]])
    got = rank_triples(ladder(), test, test)
    # tails 10 and 11 rank 10 (nine tails above; 11 is below) and 11 (tail 10 is filtered, ten above);
    # heads: entity 0 is last of 13
    np.testing.assert_allclose(1 / got.reciprocal_ranks, [10, 10, 13, 13])
    got = rank_triples(ladder(), test, test[1:])  # only (0, r, 11) known: tail 10 above tail 11 is not filtered
    np.testing.assert_allclose(1 / got.reciprocal_ranks, [10, 11, 13, 13])
    assert got.hits_at_10 == 0.25 and got.hits_at_1 == 0.0
    assert got.mrr == pytest.approx((1 / 10 + 1 / 11 + 2 / 13) / 4)


@pytest.mark.parametrize("candidates", [None, np.r_[1, 0, 2:13]])
def test_test_triples_need_not_be_among_the_known_ones(candidates: np.ndarray | None) -> None:
    # the candidates put entity 1 (the best tail and head) first; nothing known: the raw ranks 10 and 13
    test = np.array([[0, 0, 10]])
    assert (1 / rank_triples(ladder(), test, np.zeros((0, 3), np.int64), candidates=candidates).reciprocal_ranks
            == pytest.approx([10, 13]))
    # other true triples are filtered whether or not the test triple is known: tails 1 and 2 of (0, r, ?),
    # head 3 of (?, r, 10); (3, r, 1) and (5, r', 10) are in neither list
    known = np.array([[0, 0, 1], [0, 0, 2], [3, 0, 10], [3, 0, 1], [5, 1, 10]])
    got = rank_triples(ladder(), test, known, candidates=candidates)
    np.testing.assert_allclose(1 / got.reciprocal_ranks, [8, 12])


def test_triples_and_candidates_as_floats_and_vectors_as_float64_rank_alike() -> None:
    # triples and candidates read from a frame with float columns, vectors kept as float64 (built by hand)
    test = np.array([[0, 0, 10], [0, 0, 11]])
    want = 1 / rank_triples(ladder(), test, test[1:]).reciprocal_ranks
    np.testing.assert_allclose(want, [10, 11, 13, 13])
    got = rank_triples(ladder(np.float64), test.astype(np.float64), test[1:].astype(np.float64),
                       candidates=np.arange(13.0))
    np.testing.assert_allclose(1 / got.reciprocal_ranks, want)


def test_no_test_triples_is_an_error() -> None:
    for empty in (np.zeros((0, 3), np.int64), []):
        with pytest.raises(DataError, match=r"^no test triples to rank$"):
            rank_triples(ladder(), np.asarray(empty), np.array([[0, 0, 1]]))


def test_a_test_triple_whose_tail_is_the_first_candidate_is_ranked() -> None:
    # (3, r, 0): tail 0 scores 17 * 1, below every other tail (17 * (20 - j)): 13th; head 3 of (?, r, 0) scores
    # 17, below heads 1 and 2 (19, 18): 3rd
    test = np.array([[3, 0, 0]])
    for candidates in (None, np.arange(13)):
        np.testing.assert_allclose(1 / rank_triples(ladder(), test, test, candidates=candidates).reciprocal_ranks,
                                   [13, 3])


def test_test_triples_outside_the_candidates_are_refused_with_what_to_do() -> None:
    test = np.array([[0, 0, 10], [1, 0, 12]])  # the tail of the second is not a candidate
    with pytest.raises(DataError) as err:
        rank_triples(ladder(), test, test, candidates=np.arange(12))
    assert str(err.value) == ("1 of 2 test triples have a head or tail that is not among the 12 candidates "
                              "(e.g. (1, 0, 12)); both ends of a test triple are ranked, so give candidates that "
                              "include them")
