"""Spelling correction against the catalogue vocabulary."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverly.search.spelling import SpellingCorrector, damerau_levenshtein, inject_typo

COUNTS = {"yogurt": 1435, "yoghurt": 3, "milk": 2098, "strawberry": 310, "cookie": 2791, "cooker": 20, "pizza": 1433}


def _osa_reference(a: str, b: str) -> int:
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i, j in itertools.product(range(1, len(a) + 1), range(1, len(b) + 1)):
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
        if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
            d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@given(st.text("abcd", max_size=7), st.text("abcd", max_size=7))
def test_distance_agrees_with_reference_below_the_limit(a: str, b: str) -> None:
    ref = _osa_reference(a, b)
    got = damerau_levenshtein(a, b, limit=3)
    assert got == ref if ref <= 3 else got == 4


@pytest.mark.parametrize(("typo", "fixed"), [
    ("yougurt", "yogurt"), ("yogrut", "yogurt"), ("strawbery", "strawberry"), ("pizzza", "pizza"),
    ("cokie", "cookie"), ("milk", "milk"), ("mlk", "milk"), ("mk", "mk"), ("qqqqqq", "qqqqqq"), ("12oz", "12oz"),
])
def test_corrections(typo: str, fixed: str) -> None:
    speller = SpellingCorrector(COUNTS)
    assert speller.suggest(typo) == fixed


def test_correct_reports_changes_and_keeps_known_words() -> None:
    speller = SpellingCorrector(COUNTS)
    assert speller.correct(["yougurt", "milk"]) == (["yogurt", "milk"], True)
    assert speller.correct(["milk"]) == (["milk"], False)


@given(st.sampled_from(sorted(COUNTS)), st.integers(0, 2**32 - 1))
def test_injected_typos_are_one_edit_away(word: str, seed: int) -> None:
    typo = inject_typo(word, np.random.default_rng(seed))
    assert typo != word
    assert damerau_levenshtein(word, typo) == 1
