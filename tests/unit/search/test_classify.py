"""Query classification into catalogue categories."""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.errors import DataError, NotFittedError
from discoverly.search.classify import QueryClassifier

TEXTS = ["whole milk", "skim milk", "chocolate milk", "strawberries", "blueberries", "raspberries",
         "chocolate chip cookies", "sandwich cookies", "frozen pizza", "frozen peas"]
LABELS = ["DAIRY", "DAIRY", "DAIRY", "PRODUCE", "PRODUCE", "PRODUCE", "COOKIES", "COOKIES", "FROZEN", "FROZEN"]


@pytest.fixture(scope="module")
def clf() -> QueryClassifier:
    return QueryClassifier().fit(TEXTS, LABELS)


def test_predicts_held_out_queries(clf: QueryClassifier) -> None:
    got = [p[0][0] for p in clf.predict(["milk", "strawbery", "oatmeal cookies", "frozen pizzas"])]
    assert got == ["DAIRY", "PRODUCE", "COOKIES", "FROZEN"]


def test_probabilities_are_a_distribution(clf: QueryClassifier) -> None:
    p = clf.proba(["milk", "zzzz unknown", ""])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-9)
    assert (p >= 0).all()
    prior = np.bincount([clf.classes.index(c) for c in LABELS]) / len(LABELS)
    np.testing.assert_allclose(p[1], prior, rtol=1e-9)  # nothing known: the prior


def test_weights_shift_the_prior() -> None:
    heavy = QueryClassifier().fit(TEXTS, LABELS, weights=[1.0] * 8 + [50.0, 50.0])
    assert heavy.predict(["zzz"])[0][0][0] == "FROZEN"


def test_round_trip(clf: QueryClassifier) -> None:
    manifest, arrays, lists = clf.to_arrays()
    again = QueryClassifier.from_arrays(manifest, arrays, lists)
    np.testing.assert_allclose(again.log_proba(["cookies", "milk"]), clf.log_proba(["cookies", "milk"]))


def test_errors() -> None:
    with pytest.raises(DataError, match="one label per text"):
        QueryClassifier().fit(["a"], [])
    with pytest.raises(DataError, match="no labelled example"):
        QueryClassifier().fit(["a"], [None])  # type: ignore[list-item]
    with pytest.raises(NotFittedError):
        QueryClassifier().predict(["a"])
