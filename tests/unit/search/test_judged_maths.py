"""Judged evaluation (``evaluate_judged``) against nDCG and Recall computed by hand from the
module's definitions, with a stand-in engine whose orderings are fixed (mutation testing: the
real-engine test checks one hand value per mode and no graded gains)."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.data.catalog import Catalog
from discoverly.data.vocabulary import Vocabulary
from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.stats import bootstrap_ci
from discoverly.search.judged import JudgedDataset, dcg, evaluate_judged

IDS = ["a", "b", "c", "d", "e", "f"]


class StubEngine:
    """Scores (rerank) and rankings (retrieve) fixed per query text, over the products ``ids``."""

    def __init__(self, scores: dict[str, dict[str, float]], ranking: dict[str, list[str]],
                 ids: list[str] = IDS) -> None:
        self.scores, self.ranking, self.ids = scores, ranking, ids
        self.index = SimpleNamespace(items=Vocabulary(ids, name="item"))
        self.depths: list[int] = []
        self.methods: list[str] = []

    def understand(self, text: str) -> str:
        return text

    def score_items(self, ctx: str, items: np.ndarray, *, method: str) -> np.ndarray:
        self.methods.append(method)
        return np.array([self.scores[ctx][self.ids[i]] for i in items])

    def rank(self, ctx: str, user: Any, k: int, *, method: str) -> tuple[np.ndarray, np.ndarray, str]:
        self.depths.append(k)
        self.methods.append(method)
        items = np.array([self.ids.index(x) for x in self.ranking[ctx][:k]], dtype=np.int64)
        return items, np.zeros(items.size), method


def _data(judgements: list[tuple[str, str, float]] | None = None) -> JudgedDataset:
    rows = judgements or [("q1", "a", 3.0), ("q1", "b", 0.0), ("q1", "c", 1.0), ("q1", "d", 2.0),
                          ("q1", "x", 5.0),  # not in the index: dropped
                          ("q2", "e", 0.0),  # nothing relevant: skipped
                          ("q3", "f", 1.0),  # blank query text: skipped
                          ("q4", "f", 1.0), ("q4", "a", 0.5)]
    judg = pl.DataFrame({"query_id": [r[0] for r in rows], "item": [r[1] for r in rows],
                         "gain": [r[2] for r in rows]})
    queries = pl.DataFrame({"query_id": ["q1", "q2", "q3", "q4", "q5"], "query": ["one", "two", "  ", "four", "five"]})
    return JudgedDataset("toy", Catalog(pl.DataFrame({"item": IDS, "title": IDS})), queries, judg)


ENGINE = StubEngine(
    scores={"one": {"a": 0.2, "b": 0.9, "c": 0.5, "d": 0.4}, "four": {"f": 0.1, "a": 0.7}},
    ranking={"one": ["c", "e", "a", "b", "d"], "four": ["a", "b", "f", "c"]},
)


def test_dcg_by_hand() -> None:
    g = np.array([3.0, 2.0, 0.0, 1.0])
    assert dcg(g) == pytest.approx(3 + 2 / math.log2(3) + 0 + 1 / math.log2(5))
    assert dcg(g, k=2) == pytest.approx(3 + 2 / math.log2(3))
    assert dcg(g, k=10) == pytest.approx(dcg(g)) and dcg(g, k=0) == 0.0 and dcg(np.array([])) == 0.0


def test_rerank_ndcg_by_hand() -> None:
    got = evaluate_judged(ENGINE, _data(), mode="rerank")  # type: ignore[arg-type]
    # q1 ordered b, c, d, a: gains 0, 1, 2, 3 against the ideal 3, 2, 1, 0; q4 ordered a, f: 0.5, 1
    q1 = (1 / math.log2(3) + 2 / 2 + 3 / math.log2(5)) / (3 + 2 / math.log2(3) + 1 / 2)
    q4 = (0.5 + 1 / math.log2(3)) / (1 + 0.5 / math.log2(3))
    assert got["queries"] == 2 and got["mode"] == "rerank" and got["dataset"] == "toy"
    assert got["nDCG"]["value"] == pytest.approx((q1 + q4) / 2)
    assert got["nDCG"]["ci"] == pytest.approx(bootstrap_ci(np.array([q1, q4])).to_dict()["ci"])
    assert got["nDCG"]["n"] == 2
    assert "Recall@100" not in got
    first = evaluate_judged(ENGINE, _data(), mode="rerank", limit=1)  # type: ignore[arg-type]
    assert first["queries"] == 1 and first["nDCG"]["value"] == pytest.approx(q1)


def test_defaults_are_rerank_with_the_engines_own_method() -> None:
    engine = StubEngine(ENGINE.scores, ENGINE.ranking)
    got = evaluate_judged(engine, _data())  # type: ignore[arg-type]
    assert got["mode"] == "rerank" and got["method"] == "auto" and engine.methods == ["auto", "auto"]
    lexical = evaluate_judged(engine, _data(), mode="retrieve", method="lexical")  # type: ignore[arg-type]
    assert lexical["method"] == "lexical" and engine.methods[2:] == ["lexical", "lexical"]
    assert engine.depths == [100, 100] and {"nDCG@10", "Recall@100"} <= set(lexical)


def test_integer_judged_ids_find_the_indexed_products() -> None:
    # WANDS and ESCI ids may be read as integers while the index holds strings
    rows = [("q1", "a", 3.0), ("q1", "c", 1.0)]
    data = _data(rows)
    ints = JudgedDataset("toy", data.catalog, data.queries,
                         data.judgements.with_columns(pl.Series("item", [0, 2])))
    numbered = StubEngine({"one": {"0": 0.1, "2": 0.9}}, {}, ids=["0", "b", "2", "d", "e", "f"])
    got = evaluate_judged(numbered, ints)  # type: ignore[arg-type]
    # ordered 2, 0: gains 1, 3 against the ideal 3, 1
    assert got["queries"] == 1
    assert got["nDCG"]["value"] == pytest.approx((1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3)))


def test_missing_columns_are_named() -> None:
    data = _data()
    with pytest.raises(DataError, match=r"^the queries of toy lack columns \['query'\]$"):
        JudgedDataset("toy", data.catalog, data.queries.drop("query"), data.judgements)
    with pytest.raises(DataError, match=r"^the judgements of toy lack columns \['gain', 'item'\]$"):
        JudgedDataset("toy", data.catalog, data.queries, data.judgements.drop("gain", "item"))


def test_rerank_ties_keep_the_judged_order() -> None:
    engine = StubEngine(scores={"one": {"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}}, ranking={})
    data = _data([("q1", "c", 1.0), ("q1", "a", 0.0), ("q1", "d", 2.0)])
    got = evaluate_judged(engine, data, mode="rerank")  # type: ignore[arg-type]
    assert got["nDCG"]["value"] == pytest.approx((1 + 2 / 2) / (2 + 1 / math.log2(3)))


def test_retrieve_ndcg_at_k_and_recall_by_hand() -> None:
    engine = StubEngine(ENGINE.scores, ENGINE.ranking)
    got = evaluate_judged(engine, _data(), mode="retrieve", k=2, depth=3)  # type: ignore[arg-type]
    assert engine.depths == [3, 3]
    # q1 retrieves c, e, a (b, d beyond depth): nDCG@2 = 1 / (3 + 2/log2 3), Recall@3 = |{c, a}| / |{a, c, d}|
    # q4 retrieves a, b, f: nDCG@2 = 0.5 / (1 + 0.5/log2 3), Recall@3 = 1
    q1 = 1 / (3 + 2 / math.log2(3))
    q4 = 0.5 / (1 + 0.5 / math.log2(3))
    assert got["queries"] == 2 and set(got) == {"dataset", "mode", "method", "queries", "nDCG@2", "Recall@3"}
    assert got["nDCG@2"]["value"] == pytest.approx((q1 + q4) / 2)
    assert got["Recall@3"]["value"] == pytest.approx((2 / 3 + 1) / 2)
    assert got["Recall@3"]["ci"] == pytest.approx(bootstrap_ci(np.array([2 / 3, 1.0])).to_dict()["ci"])


def test_nothing_to_evaluate_and_bad_mode() -> None:
    with pytest.raises(DataError, match="no query of toy has a judged relevant product"):
        evaluate_judged(ENGINE, _data([("q2", "e", 0.0), ("q1", "x", 1.0)]))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'rerank' or 'retrieve'"):
        evaluate_judged(ENGINE, _data(), mode="both")  # type: ignore[arg-type]


def _dcg_by_hand(gains: list[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def test_many_queries_values_and_reproducible_intervals() -> None:
    gen = np.random.default_rng(2)
    rows, scores, expected = [], {}, []
    for q in range(12):
        gains = gen.choice([0.0, 0.01, 0.1, 1.0], size=4).tolist()
        gains[int(gen.integers(4))] = 1.0  # at least one relevant product
        s = gen.permutation(4).tolist()
        rows += [(f"q{q}", IDS[j], gains[j]) for j in range(4)]
        scores[f"text {q}"] = {IDS[j]: float(s[j]) for j in range(4)}
        ordered = [gains[j] for j in sorted(range(4), key=lambda j: -s[j])]
        expected.append(_dcg_by_hand(ordered) / _dcg_by_hand(sorted(gains, reverse=True)))
    judg = pl.DataFrame({"query_id": [r[0] for r in rows], "item": [r[1] for r in rows], "gain": [r[2] for r in rows]})
    queries = pl.DataFrame({"query_id": [f"q{q}" for q in range(12)], "query": [f"text {q}" for q in range(12)]})
    data = JudgedDataset("many", Catalog(pl.DataFrame({"item": IDS, "title": IDS})), queries, judg)
    # retrieving 1 to 3 products per query
    engine = StubEngine(scores, {t: sorted(s, key=lambda x: -s[x])[:1 + int(t.split()[1]) % 3]
                                 for t, s in scores.items()})
    for mode, key in (("rerank", "nDCG"), ("retrieve", "Recall@100")):
        got = evaluate_judged(engine, data, mode=mode, rng=3)  # type: ignore[arg-type]
        assert got == evaluate_judged(engine, data, mode=mode, rng=3)  # type: ignore[arg-type]
        assert got[key]["ci"] != evaluate_judged(engine, data, mode=mode)[key]["ci"]  # type: ignore[arg-type]
    rerank = evaluate_judged(engine, data, rng=3)  # type: ignore[arg-type]
    assert rerank["nDCG"]["value"] == pytest.approx(np.mean(expected))
    assert rerank["nDCG"]["ci"] == pytest.approx(list(bootstrap_ci(np.array(expected), rng=3).ci))
