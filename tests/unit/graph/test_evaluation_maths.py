"""The hidden-edge protocol's maths checked against independent versions written from the module
docstring and docs/graph.md: the split, the relevant sets (with co-citations), Recall@k, MRR, the
intervals and the paired tests (mutation testing: several wrong versions passed the other tests)."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.stats import bootstrap_ci
from discoverly.graph.evaluation import (
    ProxyResult,
    compare_engines,
    evaluate_similar,
    proxy_relevance,
    split_citations,
)
from discoverly.graph.similar import SimilarItems

# ---------------------------------------------------------------------- the split


def test_split_sizes_round_the_shares_and_keep_each_edge_as_given() -> None:
    gen = np.random.default_rng(5)
    citing, cited = gen.integers(0, 20, 37), gen.integers(0, 20, 37)
    s = split_citations(citing, cited, test=0.1, valid=0.2, rng=1)
    assert s.to_dict() == {"train": 26, "valid": 7, "test": 4}  # round(3.7), round(7.4), the rest
    # every input edge (citing, cited), in its direction and multiplicity, is in exactly one part
    given = sorted(zip(citing.tolist(), cited.tolist(), strict=True))
    got = sorted(tuple(e) for part in (s.train, s.valid, s.test) for e in part.tolist())
    assert got == given
    assert all(part.shape[1:] == (2,) for part in (s.train, s.valid, s.test))


def test_split_edge_cases_of_the_shares() -> None:
    src, dst = np.arange(10), np.arange(1, 11)
    tiny = split_citations(src, dst, test=0.01, valid=0.0)  # ten edges are enough; at least one is hidden
    assert tiny.to_dict() == {"train": 9, "valid": 0, "test": 1}
    assert split_citations(src, dst, test=0.5, valid=0.4).to_dict() == {"train": 1, "valid": 4, "test": 5}
    for test, valid in ((0.0, 0.1), (1.0, 0.0), (0.5, 0.5), (0.1, -0.1), (0.1, 1.0)):
        with pytest.raises(ConfigError, match="test"):
            split_citations(src, dst, test=test, valid=valid)
    with pytest.raises(DataError, match="9 citation edges"):
        split_citations(src[:9], dst[:9])
    # paper indices read as floats (a column with nulls once) still come back as integer indices
    floats = split_citations(src.astype(float), dst.astype(float), test=0.2, valid=0.2)
    assert all(part.dtype == np.int64 for part in (floats.train, floats.valid, floats.test))


def test_split_is_reproducible_from_a_seed_or_a_generator() -> None:
    src, dst = np.arange(50), np.arange(50)[::-1]
    a = split_citations(src, dst, rng=3)
    b = split_citations(src, dst, rng=np.random.default_rng(3))
    c = split_citations(src, dst, rng=4)
    assert a.test.tolist() == b.test.tolist() and a.valid.tolist() == b.valid.tolist()
    assert a.test.tolist() != c.test.tolist()
    # the hidden share is uniform over edges: over many seeds every edge is a test edge ~10% of the time
    counts = np.zeros(50)
    for seed in range(400):
        counts[split_citations(src, dst, rng=seed).test[:, 0]] += 1
    assert counts.sum() == 400 * 5 and counts.min() > 15 and counts.max() < 70


# ---------------------------------------------------------------------- relevant sets


def _relevance_by_definition(visible: list[tuple[int, int]], hidden: list[tuple[int, int]],
                             cocited: bool = True) -> dict[int, list[int]]:
    """The docstring's definition, by brute force: hidden cites / cited-by, plus the pairs co-cited
    (cited by a common paper) with the hidden edges but not without them; never the paper itself."""
    rel: dict[int, set[int]] = defaultdict(set)
    for a, b in hidden:
        rel[a].add(b)
        rel[b].add(a)
    if cocited and hidden:
        def co(edges: list[tuple[int, int]]) -> set[tuple[int, int]]:
            cites: dict[int, set[int]] = defaultdict(set)
            for c, x in edges:
                cites[c].add(x)
            return {(x, y) for s in cites.values() for x in s for y in s if x != y}

        for x, y in co(visible + hidden) - co(visible):
            rel[x].add(y)
    return {p: sorted(s - {p}) for p, s in sorted(rel.items()) if s - {p}}


@pytest.mark.parametrize("seed", range(12))
def test_relevance_matches_the_definition_on_random_graphs(seed: int) -> None:
    gen = np.random.default_rng(seed)
    n = 9
    edges = [tuple(e) for e in gen.integers(0, n, size=(22, 2)).tolist()]  # duplicates and self-citations too
    cut = int(gen.integers(3, 8))
    visible, hidden = edges[cut:], edges[:cut]
    for cocited in (True, False):
        got = proxy_relevance(np.array(visible), np.array(hidden), n, cocited=cocited)
        assert {p: v.tolist() for p, v in got.items()} == _relevance_by_definition(visible, hidden, cocited)
        assert all(v.dtype == np.int64 for v in got.values())


def test_relevance_by_hand_a_paper_cited_twice_and_a_duplicate_hidden_edge() -> None:
    # visible: 0 cites 1 twice (a duplicate row) and 2; hidden: 0 cites 3 (so 3 becomes co-cited with
    # 1 and 2 through 0) and again 0 cites 1 (already visible: a direct relation, no new co-citation)
    visible = np.array([[0, 1], [0, 1], [0, 2]])
    hidden = np.array([[0, 3], [0, 1]])
    got = {p: v.tolist() for p, v in proxy_relevance(visible, hidden, 4).items()}
    assert got == {0: [1, 3], 1: [0, 3], 2: [3], 3: [0, 1, 2]}
    assert proxy_relevance(visible, np.zeros((0, 2), np.int64), 4) == {}
    # a hidden self-citation relates a paper to nothing
    assert proxy_relevance(visible, np.array([[2, 2]]), 4) == {}
    # edges read as floats (a column with nulls once) give the same relevant sets
    as_float = proxy_relevance(visible.astype(float), hidden.astype(float), 4)
    assert {p: v.tolist() for p, v in as_float.items()} == {0: [1, 3], 1: [0, 3], 2: [3], 3: [0, 1, 2]}
    assert all(type(p) is int for p in as_float)
    # papers past the last visible one: the matrices span all n papers
    got = {p: v.tolist() for p, v in proxy_relevance(np.array([[0, 1]]), np.array([[0, 5]]), 6).items()}
    assert got == {0: [5], 1: [5], 5: [0, 1]}


# ---------------------------------------------------------------------- Recall@k and MRR

# papers on a quarter circle at these angles (degrees): every pair's distance differs, so the
# cosine ranking of each source is known without the engine (nearest angle first)
ANGLES = [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 50.0, 80.0]


def _engine(**kw: object) -> SimilarItems:
    rad = np.radians(ANGLES)
    return SimilarItems([f"p{i}" for i in range(len(ANGLES))], graph=np.stack([np.cos(rad), np.sin(rad)], axis=1),
                        weight=0.0, **kw)  # type: ignore[arg-type]


def _ranking(p: int, linked: set[int] = frozenset()) -> list[int]:  # type: ignore[assignment]
    others = [q for q in range(len(ANGLES)) if q != p and q not in linked]
    return sorted(others, key=lambda q: abs(ANGLES[q] - ANGLES[p]))


def _by_hand(rel: dict[int, list[int]], k: int, depth: int, linked: dict[int, set[int]] | None = None
             ) -> tuple[list[float], list[float]]:
    recall, rr = [], []
    for p, relevant in rel.items():
        ranked = _ranking(p, (linked or {}).get(p, set()))[:depth]
        recall.append(len(set(ranked[:k]) & set(relevant)) / len(relevant))
        first = [i for i, q in enumerate(ranked) if q in relevant]
        rr.append(1 / (first[0] + 1) if first else 0.0)
    return recall, rr


def test_ranking_helper_agrees_with_the_angles() -> None:
    assert _ranking(0) == [1, 2, 3, 4, 5, 6, 7]
    assert _ranking(3) == [2, 1, 0, 4, 5, 6, 7]  # 4, 6, 7, 8 degrees away
    assert _ranking(7) == [6, 5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize(("k", "depth"), [(1, 1), (2, 3), (3, 7), (5, 5)])
def test_recall_and_mrr_by_hand(k: int, depth: int) -> None:
    rel = {0: [2, 6], 3: [0, 5, 7], 5: [4], 7: [1], 1: [0, 2, 3, 4, 5]}
    res = evaluate_similar(_engine(), {p: np.array(v) for p, v in rel.items()}, k=k, depth=depth, batch=2)
    recall, rr = _by_hand(rel, k, depth)
    assert res.per_paper_recall.tolist() == pytest.approx(recall)
    assert res.per_paper_rr.tolist() == pytest.approx(rr)
    assert res.recall.value == pytest.approx(np.mean(recall)) and res.mrr.value == pytest.approx(np.mean(rr))
    assert res.recall.n == res.mrr.n == len(rel) and res.k == k


def test_recall_and_mrr_by_hand_worked_example() -> None:
    # source 3 ranks 2, 1, 0, 4, 5, 6, 7; relevant {0, 5, 7}: Recall@3 = 1/3 (0 at rank 3), RR = 1/3;
    # source 0 ranks 1, 2, ...; relevant {2, 6}: Recall@3 = 1/2, RR = 1/2
    res = evaluate_similar(_engine(), {3: np.array([0, 5, 7]), 0: np.array([2, 6])}, k=3, depth=7)
    assert res.per_paper_recall.tolist() == pytest.approx([1 / 3, 1 / 2])
    assert res.per_paper_rr.tolist() == pytest.approx([1 / 3, 1 / 2])
    # MRR looks beyond k but not beyond depth: relevant {7} is 7th for source 0
    deep = evaluate_similar(_engine(), {0: np.array([7])}, k=1, depth=7)
    shallow = evaluate_similar(_engine(), {0: np.array([7])}, k=1, depth=6)
    assert deep.per_paper_recall.tolist() == [0.0] and deep.per_paper_rr.tolist() == pytest.approx([1 / 7])
    assert shallow.per_paper_rr.tolist() == [0.0]
    assert evaluate_similar(_engine(), {0: np.array([1])}, k=1, depth=1).per_paper_rr.tolist() == [1.0]


def test_filtered_recall_by_hand() -> None:
    links = np.array([[3, 2], [1, 3], [0, 1]])
    linked = {3: {1, 2}, 2: {3}, 1: {0, 3}, 0: {1}}
    rel = {3: [0, 4, 5], 0: [2, 3], 1: [2]}
    res = evaluate_similar(_engine(links=links), {p: np.array(v) for p, v in rel.items()}, k=2, depth=4,
                           exclude_linked=True)
    recall, rr = _by_hand(rel, 2, 4, linked)
    assert res.per_paper_recall.tolist() == pytest.approx(recall) and res.per_paper_rr.tolist() == pytest.approx(rr)
    assert recall == [2 / 3, 1.0, 1.0]  # 3 -> 0, 4 | 5 ... ; 0 -> 2, 3 ; 1 -> 2, ...


def test_default_cutoffs_are_recall_at_10_and_mrr_within_100() -> None:
    # 110 papers 0.5 degrees apart: from paper 0, paper j is ranked j-th
    rad = np.radians(0.5 * np.arange(110))
    engine = SimilarItems([f"p{i}" for i in range(110)], graph=np.stack([np.cos(rad), np.sin(rad)], axis=1),
                          weight=0.0)
    res = evaluate_similar(engine, {0: np.array([10, 11, 100, 101])})
    assert res.k == 10 and "recall@10" in res.to_dict()
    assert res.per_paper_recall.tolist() == [0.25] and res.per_paper_rr.tolist() == pytest.approx([1 / 10])
    assert evaluate_similar(engine, {0: np.array([100])}).per_paper_rr.tolist() == pytest.approx([1 / 100])
    assert evaluate_similar(engine, {0: np.array([101])}).per_paper_rr.tolist() == [0.0]


def test_k_and_depth_bounds() -> None:
    rel = {0: np.array([1])}
    assert evaluate_similar(_engine(), rel, k=1, depth=1).per_paper_recall.tolist() == [1.0]
    assert evaluate_similar(_engine(), rel, k=4, depth=4).k == 4
    for k, depth in ((0, 5), (-1, 5), (5, 4)):
        with pytest.raises(ConfigError, match="1 <= k <= depth"):
            evaluate_similar(_engine(), rel, k=k, depth=depth)
    with pytest.raises(DataError, match=r"^no source papers with relevant papers to evaluate$"):
        evaluate_similar(_engine(), {}, k=1, depth=1)
    with pytest.raises(ConfigError, match=r"^exclude_linked=True needs an engine with links: build it with "
                                          r"SimilarItems\(\.\.\., links=<the visible citation edges>\)$"):
        evaluate_similar(_engine(), rel, k=1, depth=1, exclude_linked=True)


def test_intervals_are_the_bootstrap_of_the_per_paper_values() -> None:
    rel = {p: np.array([(p + 1) % 8, (p + 5) % 8]) for p in range(8)}
    res = evaluate_similar(_engine(), rel, k=2, depth=7, rng=11)
    gen = np.random.default_rng(11)  # recall first, then MRR, from one generator
    assert res.recall == bootstrap_ci(res.per_paper_recall, rng=gen)
    assert res.mrr == bootstrap_ci(res.per_paper_rr, rng=gen)
    assert res.recall.level == 0.95 and res.recall.low < res.recall.value < res.recall.high
    again = evaluate_similar(_engine(), rel, k=2, depth=7, rng=np.random.default_rng(11))
    assert again.recall == res.recall and again.mrr == res.mrr
    d = res.to_dict()
    assert d == {"name": "engine", "k": 2, "recall@2": res.recall.to_dict(), "mrr": res.mrr.to_dict()}


# ---------------------------------------------------------------------- paired tests


def _result(name: str, recall: list[float]) -> ProxyResult:
    v = np.array(recall)
    est = bootstrap_ci(v)
    return ProxyResult(name, 10, est, est, v, v)


def _exact_sign_flip_p(d: list[float]) -> float:
    nz = [x for x in d if x != 0]
    observed = abs(sum(nz))
    sums = [abs(sum(s * x for s, x in zip(signs, nz, strict=True)))
            for signs in itertools.product((-1, 1), repeat=len(nz))]
    return sum(s >= observed - 1e-9 for s in sums) / len(sums)


def test_paired_tests_of_every_pair_by_hand() -> None:
    a = [1.0, 0.5, 1.0, 0.0, 1.0, 0.5]
    b = [0.0, 0.5, 0.0, 0.0, 1.0, 0.0]
    c = [1.0, 1.0, 1.0, 1.0, 0.0, 0.5]
    out = compare_engines({"a": _result("a", a), "b": _result("b", b), "c": _result("c", c)})
    assert list(out) == ["a - b", "a - c", "b - c"]
    for key, (x, y) in {"a - b": (a, b), "a - c": (a, c), "b - c": (b, c)}.items():
        d = [u - v for u, v in zip(x, y, strict=True)]
        assert out[key].difference.value == pytest.approx(sum(d) / len(d))
        assert out[key].p_value == pytest.approx(_exact_sign_flip_p(d))
    assert out["a - b"].difference.value == pytest.approx(2.5 / 6)
    assert out["a - b"].p_value == pytest.approx(2 / 8)  # three nonzero differences, all positive
    assert compare_engines({"a": _result("a", a)}) == {}
    # the intervals of the differences are reproducible from the seed given
    two = {"a": _result("a", a), "c": _result("c", c)}
    seven = compare_engines(two, rng=7)["a - c"].difference
    assert seven == compare_engines(two, rng=7)["a - c"].difference
    assert seven.ci != compare_engines(two, rng=8)["a - c"].difference.ci
