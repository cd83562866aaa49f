"""Concept mining against the recipe of its module docstring, re-written here with plain loops (and the
log-likelihood ratio as ``2 * sum O ln(O / E)`` and through scipy), on small random corpora and at the
edges of each threshold."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from discoverly.graph.concepts import GENERIC_HEADS, ConceptExtractor, _llr, candidate_runs

WORDS = ["zebra", "mussel", "coral", "reef", "kelp", "forest", "sea", "urchin", "the", "of", "data", "model"]


def g2(k11: float, k12: float, k21: float, k22: float) -> float:
    """Dunning's G^2 of a 2x2 table: 2 * sum O ln(O / E), E from the margins."""
    table = [[k11, k12], [k21, k22]]
    n = k11 + k12 + k21 + k22
    rows, cols = [k11 + k12, k21 + k22], [k11 + k21, k12 + k22]
    return 2 * sum(table[i][j] * math.log(table[i][j] * n / (rows[i] * cols[j]))
                   for i in range(2) for j in range(2) if table[i][j] > 0)


def reference(texts: list[str], *, min_df: int, max_df: float, max_n: int, min_llr: float, unigrams: bool,
              min_head_ratio: float, max_nested: float) -> dict[str, int]:
    runs = [candidate_runs(t) for t in texts]
    tf: Counter[tuple[str, ...]] = Counter()
    df: Counter[tuple[str, ...]] = Counter()
    ends: Counter[str] = Counter()
    for doc in runs:
        in_doc = set()
        for run in doc:
            ends[run[-1]] += 1
            for n in range(1, max_n + 1):
                for i in range(len(run) - n + 1):
                    tf[tuple(run[i:i + n])] += 1
                    in_doc.add(tuple(run[i:i + n]))
        for g in in_doc:
            df[g] += 1
    n_grams = {n: sum(c for g, c in tf.items() if len(g) == n) for n in range(1, max_n + 1)}
    kept = {}
    for g in df:
        if df[g] < min_df or ends[g[-1]] / tf[(g[-1],)] < min_head_ratio:
            continue
        if len(g) == 1:
            if unigrams and df[g] <= max_df * len(texts) and g[0] not in GENERIC_HEADS:
                kept[g] = df[g]
            continue
        n = n_grams[len(g)]
        for cut in range(1, len(g)):
            left, right, both = tf[g[:cut]], tf[g[cut:]], tf[g]
            more_than_chance = both / n > (left / n) * (right / n)
            if more_than_chance and g2(both, left - both, right - both, n - left - right + both) >= min_llr:
                kept[g] = df[g]
                break

    def contains(longer: tuple[str, ...], short: tuple[str, ...]) -> bool:
        return any(longer[i:i + len(short)] == short for i in range(len(longer) - len(short) + 1))

    out = {}
    for g, d in kept.items():
        outer = [tf[h] for h in kept if len(h) > len(g) and contains(h, g)]
        if not outer or max(outer) < max_nested * tf[g]:
            out[" ".join(g)] = d
    return out


def random_corpus(seed: int, n_docs: int = 40) -> list[str]:
    rng = np.random.default_rng(seed)
    p = np.array([6, 6, 3, 3, 2, 2, 2, 1, 4, 3, 1, 1], dtype=float)
    docs = []
    for _ in range(n_docs):
        words = list(rng.choice(WORDS, size=int(rng.integers(2, 9)), p=p / p.sum()))
        if rng.random() < 0.4:  # a collocation planted in some documents
            at = int(rng.integers(0, len(words) + 1))
            words[at:at] = ["zebra", "mussel"]
        docs.append(" ".join(words))
    return docs


def test_llr_is_dunnings_g2() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        t = rng.integers(1, 60, size=4).astype(float)
        want = chi2_contingency(t.reshape(2, 2), lambda_="log-likelihood", correction=False)[0]
        assert _llr(*t) == pytest.approx(want, rel=1e-9)
        assert _llr(*t) == pytest.approx(g2(*t), rel=1e-9)
    assert _llr(5, 0, 0, 95) == pytest.approx(g2(5, 0, 0, 95), rel=1e-12)  # empty cells count as 0
    assert _llr(5, 0, 0, 95) == pytest.approx(2 * (5 * math.log(20) + 95 * math.log(100 / 95)), rel=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_vocabulary_is_the_recipes(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    settings = {"min_df": int(rng.integers(1, 5)), "max_df": float(rng.choice([0.2, 0.5, 1.0])),
                "max_n": int(rng.integers(1, 4)), "min_llr": float(rng.choice([0.5, 3.84, 10.83])),
                "unigrams": bool(rng.random() < 0.7), "min_head_ratio": float(rng.choice([0.2, 0.5, 0.8])),
                "max_nested": float(rng.choice([0.5, 0.8, 1.0]))}
    docs = random_corpus(seed)
    want = reference(docs, **settings)
    ext = ConceptExtractor(**settings).fit(docs)  # type: ignore[arg-type]
    assert dict(zip(ext.vocabulary, ext.document_frequency.tolist(), strict=True)) == want, settings
    # most documents first, then alphabetical
    assert ext.vocabulary == sorted(want, key=lambda c: (-want[c], c))
    assert ext.document_frequency.dtype == np.int64
    capped = ConceptExtractor(**settings, max_concepts=2).fit(docs)  # type: ignore[arg-type]
    assert capped.vocabulary == ext.vocabulary[:2]
    # tagging: every vocabulary phrase inside one of a document's runs, nested ones included
    for doc, tags in zip(docs, ext.transform(docs), strict=True):
        inside = {" ".join(run[i:i + n]) for run in candidate_runs(doc) for n in range(1, len(run) + 1)
                  for i in range(len(run) - n + 1)}
        assert set(tags) == inside & set(want) and len(tags) == len(set(tags))


def corpus_with(phrase_docs: int, other_docs: int, filler: str = "kelp forest") -> list[str]:
    return ["zebra mussel"] * phrase_docs + [f"{filler} {i}" for i in range(other_docs)]


def test_min_df_is_inclusive() -> None:
    docs = corpus_with(5, 15)
    assert "zebra mussel" in ConceptExtractor(min_df=5, max_df=1.0, min_llr=0.1).fit(docs).vocabulary
    assert "zebra mussel" not in ConceptExtractor(min_df=6, max_df=1.0, min_llr=0.1).fit(docs).vocabulary


def test_max_df_is_inclusive_for_single_words() -> None:
    docs = ["urchin barrens"] * 4 + [f"kelp {i}" for i in range(16)]  # 'barrens' in 4 of 20 documents = 0.2
    assert "barrens" in ConceptExtractor(min_df=2, max_df=0.2, min_llr=1e9).fit(docs).vocabulary
    assert "barrens" not in ConceptExtractor(min_df=2, max_df=0.19, min_llr=1e9).fit(docs).vocabulary
    assert "barrens" not in ConceptExtractor(min_df=2, max_df=0.2, min_llr=1e9, unigrams=False).fit(docs).vocabulary


def test_min_llr_is_inclusive_and_the_parts_must_attract() -> None:
    docs = ["zebra mussel reef"] * 4 + ["zebra coral", "mussel sea", "reef kelp"] * 3
    # 'zebra mussel' is 4 of the 17 two-word sequences; 'zebra' and 'mussel' occur 7 times each
    want = reference(docs, min_df=2, max_df=1.0, max_n=2, min_llr=0.0, unigrams=False, min_head_ratio=0.0,
                     max_nested=1.1)
    assert "zebra mussel" in want
    bigrams = 4 * 2 + 3 * 3
    llr = g2(4, 7 - 4, 7 - 4, bigrams - 7 - 7 + 4)
    at = {"min_df": 2, "max_df": 1.0, "max_n": 2, "unigrams": False, "min_head_ratio": 0.0, "max_nested": 1.1}
    assert "zebra mussel" in ConceptExtractor(min_llr=llr * (1 - 1e-12), **at).fit(docs).vocabulary  # type: ignore[arg-type]
    assert "zebra mussel" not in ConceptExtractor(min_llr=llr * 1.001, **at).fit(docs).vocabulary  # type: ignore[arg-type]
    # two words that co-occur less often than chance are not a collocation, however large their G^2
    repel = ["reef kelp"] * 2 + ["reef sea"] * 30 + ["urchin kelp"] * 30
    assert g2(2, 30, 30, 0) > 10.83
    assert "reef kelp" not in ConceptExtractor(min_df=2, max_df=1.0, min_llr=10.83, **{
        k: at[k] for k in ("max_n", "unigrams", "min_head_ratio", "max_nested")}).fit(repel).vocabulary  # type: ignore[arg-type]


def test_min_head_ratio_is_inclusive() -> None:
    # 'reef' ends 3 of its 6 runs (ratio 0.5), 'coral' ends none of its runs
    docs = ["coral reef"] * 3 + ["reef kelp"] * 3
    at = {"min_df": 1, "max_df": 1.0, "min_llr": 1e9}
    assert "reef" in ConceptExtractor(min_head_ratio=0.5, **at).fit(docs).vocabulary  # type: ignore[arg-type]
    assert "reef" not in ConceptExtractor(min_head_ratio=0.51, **at).fit(docs).vocabulary  # type: ignore[arg-type]
    assert "coral" not in ConceptExtractor(min_head_ratio=0.01, **at).fit(docs).vocabulary  # type: ignore[arg-type]
    assert "kelp" in ConceptExtractor(min_head_ratio=1.0, **at).fit(docs).vocabulary  # type: ignore[arg-type]


def test_a_fragment_is_dropped_at_exactly_max_nested() -> None:
    # 'sea urchin' occurs 5 times, 4 of them inside 'purple sea urchin' (ratio 0.8); the recipe's tables for a
    # three-word phrase count among all three-word sequences, so the corpus needs a few more of them
    docs = ["purple sea urchin"] * 4 + ["sea urchin"] + ["kelp forest canopy"] * 20
    at = {"min_df": 1, "max_df": 1.0, "min_llr": 0.1, "unigrams": False}
    assert "sea urchin" not in ConceptExtractor(max_nested=0.8, **at).fit(docs).vocabulary  # type: ignore[arg-type]
    kept = ConceptExtractor(max_nested=0.81, **at).fit(docs).vocabulary  # type: ignore[arg-type]
    assert {"sea urchin", "purple sea urchin"} <= set(kept)


def test_max_n_bounds_the_phrases_mined_and_tagged() -> None:
    docs = ["purple sea urchin barrens"] * 6 + ["kelp forest canopy shade"] * 20
    at = {"min_df": 1, "max_df": 1.0, "min_llr": 0.1, "unigrams": False, "max_nested": 1.1}
    for max_n in (2, 3, 4):
        vocab = ConceptExtractor(max_n=max_n, **at).fit(docs).vocabulary  # type: ignore[arg-type]
        assert max(len(c.split()) for c in vocab) == max_n
    ext = ConceptExtractor.from_vocabulary(["sea urchin barrens", "urchin"])
    assert ext.max_n == 3
    assert ext.transform(["purple sea urchin barrens"]) == [["sea urchin barrens", "urchin"]]
    assert ConceptExtractor.from_vocabulary(["sea urchin barrens"], max_n=2).transform(["sea urchin barrens"]) == [[]]


def test_settings_are_checked_at_their_edges() -> None:
    ConceptExtractor(min_df=1, max_df=1.0, max_n=1)
    for bad in ({"min_df": 0}, {"max_df": 1.01}, {"max_df": 0.0}, {"max_n": 0}):
        with pytest.raises(Exception, match="need min_df >= 1, 0 < max_df <= 1, max_n >= 1"):
            ConceptExtractor(**bad)  # type: ignore[arg-type]


def test_a_phrase_whose_g2_is_exactly_min_llr_is_kept() -> None:
    docs = ["zebra mussel reef"] * 4 + ["zebra coral", "mussel sea", "reef kelp"] * 3
    at = {"min_df": 2, "max_df": 1.0, "max_n": 2, "unigrams": False, "min_head_ratio": 0.0, "max_nested": 1.1}
    exactly = _llr(4, 3, 3, 17 - 10)  # the threshold (G^2 itself is checked against scipy above)
    assert exactly == pytest.approx(g2(4, 3, 3, 7), rel=1e-12)
    assert "zebra mussel" in ConceptExtractor(min_llr=exactly, **at).fit(docs).vocabulary  # type: ignore[arg-type]


def test_max_df_of_a_single_document() -> None:
    # one document: a word in it is in 100% of the documents, more than max_df=0.5
    assert ConceptExtractor(min_df=1, max_df=0.5, min_head_ratio=0.0).fit(["kelp"]).vocabulary == []
    assert ConceptExtractor(min_df=1, max_df=1.0, min_head_ratio=0.0).fit(["kelp"]).vocabulary == ["kelp"]


def test_yake_candidates_are_kept_between_min_df_and_max_df(monkeypatch: pytest.MonkeyPatch) -> None:
    # 20 documents: min_df=3 and max_df=0.25 keep the phrases in 3 to 5 of them
    counts = Counter({"kelp forest": 2, "sea urchin": 3, "coral reef": 5, "ocean": 6, "zebra mussel": 4})
    monkeypatch.setattr(ConceptExtractor, "_yake_candidates", lambda self, texts: counts)
    ext = ConceptExtractor(method="yake", min_df=3, max_df=0.25).fit(["x"] * 20)
    assert ext.vocabulary == ["coral reef", "zebra mussel", "sea urchin"]
    assert ext.document_frequency.tolist() == [5, 4, 3]
