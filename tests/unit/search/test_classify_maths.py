"""The query classifier's maths against scikit-learn's multinomial naive Bayes (mutation testing:
test_classify.py checks predictions and that probabilities sum to one, not their values).

The recipe (module docstring): each text is the set of its features — words ``w:``, adjacent word
pairs ``b:`` and the character trigrams ``c:`` of each all-letter word padded with ``<`` and ``>`` —
present (1) or absent (0); a multinomial naive Bayes with additive smoothing ``alpha`` over them,
class counts weighted by the example weights. The features below are written by hand.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.naive_bayes import MultinomialNB

from discoverly.errors import ConfigError, DataError, NotFittedError
from discoverly.search.classify import QueryClassifier
from discoverly.search.normalize import TextNormalizer

TEXTS = ["whole milk", "skim milk milk", "choc chip cookies", "frozen pizza 12 oz", "milk chocolate", "Pizzas"]
LABELS = ["DAIRY", "DAIRY", "COOKIES", "FROZEN", "COOKIES", "FROZEN"]
WEIGHTS = [1.0, 2.0, 1.0, 0.5, 3.0, 1.0]


def features_by_hand(text: str) -> set[str]:
    words = {
        "whole milk": ["whole", "milk"], "skim milk milk": ["skim", "milk", "milk"],
        "choc chip cookies": ["choc", "chip", "cookie"], "frozen pizza 12 oz": ["frozen", "pizza", "12oz"],
        "milk chocolate": ["milk", "chocolate"], "Pizzas": ["pizza"], "milk pizza": ["milk", "pizza"],
        "cookie 12oz": ["cookie", "12oz"], "zzz": ["zzz"], "": [],
    }[text]
    feats = {f"w:{w}" for w in words} | {f"b:{a}_{b}" for a, b in itertools.pairwise(words)}
    for w in words:
        if w.isalpha():
            padded = f"<{w}>"
            feats |= {f"c:{padded[i:i + 3]}" for i in range(len(padded) - 2)}
    return feats


def sklearn_log_proba(queries: list[str], alpha: float, weights: list[float] | None) -> tuple[list[str], np.ndarray]:
    vocab = sorted(set().union(*(features_by_hand(t) for t in TEXTS)))
    col = {f: i for i, f in enumerate(vocab)}

    def matrix(texts: list[str]) -> np.ndarray:
        X = np.zeros((len(texts), len(vocab)))
        for r, t in enumerate(texts):
            for f in features_by_hand(t):
                if f in col:
                    X[r, col[f]] = 1.0
        return X

    nb = MultinomialNB(alpha=alpha).fit(matrix(TEXTS), LABELS, sample_weight=weights)
    return list(nb.classes_), nb.predict_log_proba(matrix(queries))


QUERIES = ["milk pizza", "cookie 12oz", "zzz", "", "Pizzas", "skim milk milk"]


@pytest.mark.parametrize(("alpha", "weights"), [(0.1, None), (1.0, None), (0.3, WEIGHTS)])
def test_log_proba_is_multinomial_naive_bayes(alpha: float, weights: list[float] | None) -> None:
    clf = QueryClassifier(alpha=alpha).fit(TEXTS, LABELS, weights=weights)
    classes, expected = sklearn_log_proba(QUERIES, alpha, weights)
    assert clf.classes == classes == ["COOKIES", "DAIRY", "FROZEN"]
    np.testing.assert_allclose(clf.log_proba(QUERIES), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.proba(QUERIES), np.exp(expected), rtol=1e-5, atol=1e-7)


def test_the_features_of_a_text() -> None:
    clf = QueryClassifier()
    assert set(clf._feature_strings("choc chip cookies")) == features_by_hand("choc chip cookies")
    assert "c:<12" not in clf._feature_strings("frozen pizza 12 oz")  # a size has no trigrams
    assert QueryClassifier(char_ngrams=False)._feature_strings("choc chip") == ["w:choc", "w:chip", "b:choc_chip"]


def test_without_trigrams_a_typo_is_unknown() -> None:
    words_only = QueryClassifier(char_ngrams=False).fit(TEXTS, LABELS)
    prior = np.array([2, 2, 2]) / 6
    np.testing.assert_allclose(words_only.proba(["pizzza"])[0], prior, rtol=1e-9)
    assert QueryClassifier().fit(TEXTS, LABELS).predict(["pizzza"])[0][0][0] == "FROZEN"


def test_labels_that_are_empty_are_left_out() -> None:
    clf = QueryClassifier().fit([*TEXTS, "whole milk", "zzz"], [*LABELS, "  ", None],  # type: ignore[list-item]
                                weights=[*WEIGHTS, 100.0, 100.0])
    ref = QueryClassifier().fit(TEXTS, LABELS, weights=WEIGHTS)
    assert clf.classes == ref.classes
    np.testing.assert_allclose(clf.log_proba(QUERIES), ref.log_proba(QUERIES), rtol=1e-6)


def test_predict_top_k_in_order() -> None:
    clf = QueryClassifier().fit(TEXTS, LABELS)
    p = clf.proba(["milk pizza"])[0]
    order = sorted(range(3), key=lambda j: -p[j])
    got = clf.predict(["milk pizza"], k=2)
    assert got == [[(clf.classes[order[0]], pytest.approx(p[order[0]])), (clf.classes[order[1]],
                                                                           pytest.approx(p[order[1]]))]]
    assert [c for c, _ in clf.predict(["zzz"], k=3)[0]] == ["COOKIES", "DAIRY", "FROZEN"]  # equal prior: a-z


def test_settings_and_round_trip() -> None:
    for bad in (0.0, -1.0):
        with pytest.raises(ConfigError, match=f"alpha must be positive, got {bad}"):
            QueryClassifier(alpha=bad)
    norm = TextNormalizer(synonyms={"choc": "chocolate"})
    clf = QueryClassifier(alpha=0.5, char_ngrams=False, normalizer=norm).fit(TEXTS, LABELS)
    manifest, arrays, lists = clf.to_arrays()
    assert manifest == {"alpha": 0.5, "char_ngrams": False}
    assert lists["classes"] == ["COOKIES", "DAIRY", "FROZEN"]
    assert lists["features"][:3] == ["w:whole", "w:milk", "b:whole_milk"]  # in first-seen order
    again = QueryClassifier.from_arrays(manifest, arrays, lists, normalizer=norm)
    assert (again.alpha, again.char_ngrams, again.normalizer) == (0.5, False, norm)
    np.testing.assert_allclose(again.log_proba([*QUERIES, "choc"]), clf.log_proba([*QUERIES, "choc"]))
    with pytest.raises(NotFittedError, match="the query classifier is not fitted"):
        QueryClassifier().to_arrays()


def test_the_default_smoothing_is_a_tenth() -> None:
    clf = QueryClassifier().fit(TEXTS, LABELS)
    assert clf.alpha == 0.1
    np.testing.assert_allclose(clf.log_proba(QUERIES), sklearn_log_proba(QUERIES, 0.1, None)[1], rtol=1e-5, atol=1e-6)
    assert [len(p) for p in clf.predict(["milk", "pizza"])] == [1, 1]  # one category each by default


def test_a_single_feature() -> None:
    # every text is "12": one feature, seen twice in A and once in B; with alpha = 1,
    # P(12 | A) = (2 + 1) / (2 + 1 * 1) = 1 and P(12 | B) = (1 + 1) / (1 + 1) = 1: the prior decides
    clf = QueryClassifier(alpha=1.0).fit(["12", "12", "12"], ["A", "A", "B"])
    np.testing.assert_allclose(clf.proba(["12"])[0], [2 / 3, 1 / 3], rtol=1e-6)


def test_log_prior_is_stored_as_the_weighted_class_shares() -> None:
    clf = QueryClassifier().fit(TEXTS, LABELS, weights=WEIGHTS)
    _, arrays, _ = clf.to_arrays()
    shares = np.array([1.0 + 3.0, 1.0 + 2.0, 0.5 + 1.0]) / sum(WEIGHTS)  # COOKIES, DAIRY, FROZEN
    np.testing.assert_allclose(arrays["classify.log_prior"], np.log(shares), rtol=1e-12)


def test_a_long_query_keeps_finite_probabilities() -> None:
    # a 2,000-character query (the service's limit) of distinct known words has a joint
    # log-likelihood of several thousands below zero: without subtracting each row's own maximum the
    # exponentials underflow to 0 and the posteriors become nan
    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("bcdfghjklmnpqrstvwxz"), 6)) for _ in range(300)]
    clf = QueryClassifier().fit(words, [("A", "B", "C")[i % 3] for i in range(300)])
    long = " ".join(words)[:2000]
    joint = clf.log_proba([long])  # finite
    assert np.isfinite(joint).all()
    p = clf.proba([words[0], long])
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(p[0], clf.proba([words[0]])[0], rtol=1e-9)


def test_ties_among_many_categories_go_in_alphabetical_order() -> None:
    # forty categories with priors of 1, 2 or 3 shares: an unknown query gets the prior, and the
    # categories of one prior come in alphabetical order
    rng = np.random.default_rng(0)
    weights = rng.integers(1, 4, size=40).astype(float)
    classes = [f"C{j:02d}" for j in range(40)]
    clf = QueryClassifier().fit([f"item{j}" for j in range(40)], classes, weights=weights.tolist())
    expected = sorted(range(40), key=lambda j: (-weights[j], classes[j]))
    got = [c for c, _ in clf.predict(["zzz"], k=40)[0]]
    assert got == [classes[j] for j in expected]


def test_a_category_without_features_survives_the_round_trip() -> None:
    # "the" is a stop word: category ZZZ has no feature, the last column of the stored counts is empty
    clf = QueryClassifier().fit([*TEXTS, "the"], [*LABELS, "ZZZ"])
    manifest, arrays, lists = clf.to_arrays()
    again = QueryClassifier.from_arrays(manifest, arrays, lists)
    np.testing.assert_allclose(again.log_proba(QUERIES), clf.log_proba(QUERIES))
    assert clf.log_proba(QUERIES).shape == (len(QUERIES), 4)


def test_messages() -> None:
    with pytest.raises(DataError, match=r"^no labelled example to learn query categories from$"):
        QueryClassifier().fit(["a"], [""])
    with pytest.raises(NotFittedError, match=r"^the query classifier is not fitted: call fit\(\) or load a fitted "
                                             r"engine$"):
        QueryClassifier().log_proba(["a"])
