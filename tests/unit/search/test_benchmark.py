"""The personalised product-search protocol's maths (``discoverly.search.benchmark``) on tiny inputs,
checked against the definitions in its docstring and docs/search.md: query text, target ranks,
NDCG@10 / MRR / Recall@100, the re-rank by past purchases, and the summary's intervals and paired
tests (mutation testing: these were only reached through the whole protocol, which checks ranges)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from discoverly.evaluate.stats import bootstrap_ci
from discoverly.search.benchmark import (
    METRICS,
    SystemRun,
    query_metrics,
    query_text,
    rerank_by_counts,
    summarize,
    target_ranks,
)
from discoverly.search.experiment import _group_ranks


def test_query_text_is_lower_case_words() -> None:
    assert query_text("COOKIES: REGULAR") == "cookies regular"
    assert query_text("SOFT DRINKS 12/18&15PK CAN CAR") == "soft drinks 12 18 15pk can car"
    assert query_text("  1.5 OZ  ") == "1.5 oz"
    assert query_text("MILK . WHOLE") == "milk whole"  # a lone dot is not a word
    # a decimal size after other words keeps its point (Complete Journey has "6 PK .5 L", "12 CT .9 OZ"):
    # it was "6 pk 5 l", a size ten times larger than the product's
    assert query_text("6 PK .5 L") == "6 pk .5 l" and query_text(".5 L") == ".5 l"
    assert query_text("12 CT .9 OZ") == "12 ct .9 oz"
    assert query_text("") == "" and query_text(None) == ""


def test_target_ranks_are_one_based_first_occurrence_and_zero_when_absent() -> None:
    lists = [np.array([5, 3, 9]), np.array([3]), np.array([], dtype=np.int64), np.array([7, 8, 8]), [4, 2]]
    got = target_ranks(lists, [9, 3, 1, 8, 1])
    assert got.tolist() == [3, 1, 0, 2, 0] and got.dtype == np.int64
    with pytest.raises(ValueError):  # one target per list, never silently cut short
        target_ranks(lists, [9, 3])


def test_metrics_by_hand() -> None:
    ranks = np.array([0, 1, 2, 3, 10, 11, 100, 101])
    m = query_metrics(ranks)
    assert set(m) == set(METRICS)
    ndcg = [0.0, 1.0, 1 / math.log2(3), 0.5, 1 / math.log2(11), 0.0, 0.0, 0.0]
    mrr = [0.0, 1.0, 0.5, 1 / 3, 0.1, 1 / 11, 0.01, 0.0]
    recall = [0.0, 1, 1, 1, 1, 1, 1, 0]
    assert m["NDCG@10"].tolist() == pytest.approx(ndcg)
    assert m["MRR"].tolist() == pytest.approx(mrr)
    assert m["Recall@100"].tolist() == recall
    small = query_metrics(np.array([0, 1, 2, 3, 4]), k=2, depth=3)
    assert small["NDCG@2"].tolist() == pytest.approx([0.0, 1.0, 1 / math.log2(3), 0.0, 0.0])
    assert small["MRR"].tolist() == pytest.approx([0.0, 1.0, 0.5, 1 / 3, 0.0])
    assert small["Recall@3"].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert SystemRun("s", "query", ranks).metrics()["MRR"].tolist() == pytest.approx(mrr)


def test_rerank_by_past_counts_is_stable() -> None:
    history = {0: {30: 2, 10: 5}, 1: {}}

    def counts(row: int, items: np.ndarray) -> np.ndarray:
        assert row >= 0
        return np.array([history[row].get(int(i), 0) for i in items])

    lists = [np.array([20, 30, 10, 40, 50]), np.array([1, 2, 3]), np.array([7, 6]), np.array([], dtype=np.int64)]
    got = rerank_by_counts(lists, counts, [0, 1, -1, 0])
    assert [g.tolist() for g in got] == [[10, 30, 20, 40, 50], [1, 2, 3], [7, 6], []]
    # a customer with history at row 0 is re-ranked too; a single item stays as it is
    assert rerank_by_counts([np.array([30, 10])], counts, [0])[0].tolist() == [10, 30]
    assert rerank_by_counts([np.array([30])], counts, [0])[0].tolist() == [30]
    with pytest.raises(ValueError):  # one customer row per list
        rerank_by_counts(lists, counts, [0])
    # a long list (the peer's are 1,000 deep) with many equal counts keeps its order among equals
    gen = np.random.default_rng(0)
    long = gen.permutation(300)
    many = {int(i): int(c) for i, c in zip(long, gen.integers(0, 3, 300), strict=True)}
    got = rerank_by_counts([long], lambda row, items: np.array([many[int(i)] for i in items]), [5])[0]
    assert got.tolist() == sorted(long.tolist(), key=lambda i: -many[i])  # Python's sort is stable


def test_group_ranks_count_ties_half() -> None:
    scores = np.array([0.9, 0.5, 0.7, 0.1, 0.3, 0.3, 0.3, 0.3, 2.0, 1.0])
    y = np.array([0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    sizes = np.array([3, 5, 2])
    # group 1: one score above the positive; group 2: 3 others tie with it (expected rank 1 + 3/2,
    # rounded down); group 3 has no positive
    assert _group_ranks(scores, y, sizes).tolist() == [2, 2, 0]
    assert _group_ranks(np.array([1.0, 1.0, 1.0]), np.array([0, 1, 0]), np.array([3])).tolist() == [2]


def _exact_sign_flip_p(units: list[float]) -> float:
    nz = [x for x in units if x != 0]
    if not nz:
        return 1.0
    observed = abs(sum(nz))
    sums = [abs(sum(s * x for s, x in zip(signs, nz, strict=True))) for signs in itertools.product((-1, 1),
                                                                                                    repeat=len(nz))]
    return sum(s >= observed - 1e-9 for s in sums) / len(sums)


def _ndcg(ranks: list[int]) -> list[float]:
    return [1 / math.log2(r + 1) if 0 < r <= 10 else 0.0 for r in ranks]


def test_summary_rows_and_paired_tests_by_hand() -> None:
    gen = np.random.default_rng(4)
    ranks = {key: gen.integers(0, 13, 14).tolist() for key in (("peer", "query"), ("ltr", "query"),
                                                                ("ltr", "variant"), ("new", "query"))}
    ranks[("new", "query")][0] = 50  # beyond NDCG@10 and within MRR's depth
    runs = [SystemRun(s, v, np.array(r)) for (s, v), r in ranks.items()]
    mask = gen.random(14) < 0.7
    subsets = {"all": np.ones(14, dtype=bool), "some": mask}
    out = summarize(runs, subsets, rng=3, compare_to=["missing", "peer"], compare_systems=["peer", "ltr", "new"])
    assert len(out["rows"]) == len(runs) * len(subsets) * len(METRICS)
    for row in out["rows"]:
        r = np.array(ranks[(row["system"], row["variant"])])[subsets[row["subset"]]]
        per_query = query_metrics(r)[row["metric"]]
        assert row["value"] == pytest.approx(per_query.mean())
        assert row["n"] == r.size
        assert row["ci"] == list(bootstrap_ci(per_query, rng=3).ci)
    # tests: NDCG@10 of each compared system against each reference, same variant, never a system
    # against itself or a missing one
    keys = [(t["a"], t["b"], t["variant"], t["subset"]) for t in out["tests"]]
    assert keys == [("ltr", "peer", "query", "all"), ("ltr", "peer", "query", "some"),
                    ("new", "peer", "query", "all"), ("new", "peer", "query", "some")]
    for t in out["tests"]:
        keep = subsets[t["subset"]]
        a = np.array(_ndcg(ranks[(t["a"], "query")]))[keep]
        b = np.array(_ndcg(ranks[("peer", "query")]))[keep]
        assert t["metric"] == "NDCG@10"
        assert t["difference"]["value"] == pytest.approx((a - b).mean())
        assert t["p_value"] == pytest.approx(_exact_sign_flip_p((a - b).tolist()))
        # the interval of the difference: a bootstrap of the per-query differences from the seed given
        assert t["difference"]["ci"] == pytest.approx(list(bootstrap_ci(a - b, rng=3).ci))
        assert t["difference"]["ci"] != pytest.approx(list(bootstrap_ci(a - b, rng=0).ci))


def test_summary_resamples_and_flips_whole_customers() -> None:
    a = SystemRun("ltr", "query", np.array([1, 1, 0, 2, 1, 3, 0, 1]))
    b = SystemRun("peer", "query", np.array([2, 0, 0, 2, 1, 1, 5, 1]))
    groups = np.array(["u1", "u1", "u2", "u3", "u3", "u3", "u4", "u5"])
    subsets = {"all": np.ones(8, dtype=bool), "tail": np.arange(8) >= 3}
    out = summarize([a, b], subsets, rng=0, compare_to=["peer"], compare_systems=["ltr"], groups=groups)
    for row in out["rows"]:
        if row["system"] == "ltr" and row["metric"] == "MRR":
            keep = subsets[row["subset"]]
            v = query_metrics(a.ranks)["MRR"][keep]
            assert row["value"] == pytest.approx(v.mean())  # the mean over queries, not over customers
            assert row["ci"] == list(bootstrap_ci(v, rng=0, groups=groups[keep]).ci)
            assert row["ci"] != list(bootstrap_ci(v, rng=0).ci)
    for t in out["tests"]:
        keep = subsets[t["subset"]]
        d = np.array(_ndcg(a.ranks.tolist())) - np.array(_ndcg(b.ranks.tolist()))
        per_customer = {}
        for g, x in zip(groups[keep].tolist(), d[keep].tolist(), strict=True):
            per_customer[g] = per_customer.get(g, 0.0) + x
        assert t["p_value"] == pytest.approx(_exact_sign_flip_p(list(per_customer.values())))
        assert t["difference"]["value"] == pytest.approx(d[keep].mean())
