"""Spelling correction against a brute-force corrector written from its rule (mutation testing:
test_spelling.py checks the distance at one limit and a handful of corrections).

The rule (module docstring, docs/search.md): a token the catalogue does not know, at least
``min_length`` letters long and made of letters only, becomes the catalogue word at the smallest
optimal-string-alignment distance, at most 1 for words shorter than ``long_word`` letters and at
most ``max_distance`` for the others; the most frequent one on ties, then the first in
alphabetical order. Anything else is kept.
"""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverly.errors import ConfigError
from discoverly.search.spelling import SpellingCorrector, damerau_levenshtein, inject_typo

from .test_spelling import _osa_reference

osa = _osa_reference  # the textbook optimal-string-alignment table


def brute_force(word: str, counts: dict[str, int], *, max_distance: int = 2, min_length: int = 3,
                long_word: int = 6) -> str:
    known = {w: c for w, c in counts.items() if w and w.isalpha()}
    if word in known or len(word) < min_length or not word.isalpha():
        return word
    limit = max_distance if len(word) >= long_word else 1
    near = [(osa(word, w), -c, w) for w, c in known.items() if osa(word, w) <= limit]
    return min(near)[2] if near else word


@settings(max_examples=300, deadline=None)
@given(st.text("abc", max_size=8), st.text("abc", max_size=8), st.integers(0, 3))
def test_distance_is_capped_at_every_limit(a: str, b: str, limit: int) -> None:
    assert damerau_levenshtein(a, b, limit) == min(osa(a, b), limit + 1)


@pytest.mark.parametrize(("a", "b", "distance"), [
    ("ab", "ba", 1), ("abcd", "acbd", 1), ("ca", "abc", 3),  # OSA, not the unrestricted distance (2)
    ("", "abc", 3), ("abc", "", 3), ("kitten", "sitting", 3), ("abcdef", "abcdef", 0),
])
def test_distance_by_hand(a: str, b: str, distance: int) -> None:
    assert damerau_levenshtein(a, b, limit=5) == distance
    assert damerau_levenshtein(a, b, limit=1) == min(distance, 2)


def test_the_default_limit_is_three() -> None:
    assert damerau_levenshtein("abcde", "vwxyz") == 4  # five edits, reported as limit + 1
    assert damerau_levenshtein("abc", "xyz") == 3


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text("abcd", min_size=1, max_size=7), st.integers(1, 4), max_size=12),
       st.text("abcd", max_size=8), st.sampled_from([1, 2]), st.integers(2, 4), st.integers(3, 6))
def test_suggest_agrees_with_the_rule(counts: dict[str, int], word: str, max_distance: int, min_length: int,
                                      long_word: int) -> None:
    speller = SpellingCorrector(counts, max_distance=max_distance, min_length=min_length, long_word=long_word)
    expected = brute_force(word, counts, max_distance=max_distance, min_length=min_length, long_word=long_word)
    assert speller.suggest(word) == expected
    assert speller.suggest(word) == expected  # the cached answer is the same


@pytest.mark.parametrize(("word", "fixed"), [
    ("bakr", "baker"),    # one edit from "bake" (5), "baker" (9) and "bark" (1): the most frequent
    ("bakes", "baker"),   # "baker" and "bakes"->"bake" are both 1 away; "baker" is more frequent
    ("brak", "bark"),     # a transposition is one edit
    ("bakeey", "baker"),  # six letters: up to two edits ("bakeey" -> "baker": 2)
    ("bkee", "bkee"),     # five letters or fewer: one edit only ("bake" is 2 away)
    ("ba", "ba"),         # shorter than min_length
    ("bak3", "bak3"),     # not letters only
    ("bark", "bark"),     # known
])
def test_corrections_by_hand(word: str, fixed: str) -> None:
    speller = SpellingCorrector({"bake": 5, "baker": 9, "bark": 1, "12oz": 50, "": 80})
    assert speller.suggest(word) == fixed


def test_ties_go_to_the_first_word_in_alphabetical_order() -> None:
    speller = SpellingCorrector({"cat": 4, "bat": 4, "hat": 4, "rat": 3})
    assert speller.suggest("xat") == "bat"


def test_settings() -> None:
    for bad in (0, 3):
        with pytest.raises(ConfigError, match=f"max_distance must be 1 or 2, got {bad}"):
            SpellingCorrector({"milk": 1}, max_distance=bad)
    speller = SpellingCorrector.from_counts({"yogurt": 1435, "yoghurt": 3, "milk": 2098, "12oz": 5, "": 1},
                                            max_distance=1, min_length=4, long_word=5)
    assert (speller.max_distance, speller.min_length, speller.long_word) == (1, 4, 5)
    assert speller.counts == {"yogurt": 1435, "yoghurt": 3, "milk": 2098}
    assert "milk" in speller and "12oz" not in speller
    assert speller.suggest("yoguurtt") == "yoguurtt"  # two edits, max_distance=1
    assert speller.suggest("mlk") == "mlk"  # under min_length=4
    words, counts = speller.to_table()
    assert words == ["yogurt", "yoghurt", "milk"]
    assert counts.dtype == np.int64 and counts.tolist() == [1435, 3, 2098]
    assert SpellingCorrector({"milk": 2.0}).counts == {"milk": 2}


def test_correct_says_whether_anything_changed() -> None:
    speller = SpellingCorrector.from_counts({"yogurt": 1435, "yoghurt": 3, "milk": 2098})
    assert speller.correct(["yougurt", "milk"]) == (["yogurt", "milk"], True)
    assert speller.correct(["milk", "zzzz"]) == (["milk", "zzzz"], False)
    assert speller.correct([]) == ([], False)


@settings(max_examples=200, deadline=None)
@given(st.text("abcdefghij", min_size=0, max_size=9), st.integers(0, 2**32 - 1))
def test_a_typo_is_one_edit_that_keeps_the_first_letter(word: str, seed: int) -> None:
    typo = inject_typo(word, np.random.default_rng(seed))
    if len(word) < 4:
        assert typo == word
        return
    if len(set(word)) > 1:  # a word of one repeated letter may have no visible transposition
        assert typo != word
    if typo != word:
        assert osa(word, typo) == 1 and typo[0] == word[0]
    assert set(typo) <= set(word) | set(string.ascii_lowercase)  # lower-case letters only


def test_typos_of_every_kind() -> None:
    rng = np.random.default_rng(0)
    lengths = {len(inject_typo("strawberry", rng)) - len("strawberry") for _ in range(200)}
    assert lengths == {-1, 0, 1}  # deletions, substitutions or transpositions, insertions
    swaps = {inject_typo("abcd", np.random.default_rng(s)) for s in range(300)}
    assert {"acbd", "abdc"} <= swaps  # adjacent transpositions after the first letter
    assert "bacd" not in swaps


def test_the_four_kinds_of_typo_are_equally_likely() -> None:
    # "abcdefghij" has no repeated letter, so only a substitution by the same letter (1 in 26) is
    # redrawn: shares of 0.25 / (1 - 0.25 / 26) = 0.2524 for the other three kinds, 0.2428 for it
    rng = np.random.default_rng(1)
    word = "abcdefghij"
    kinds = {"deletion": 0, "insertion": 0, "substitution": 0, "transposition": 0}
    n = 4000
    for _ in range(n):
        typo = inject_typo(word, rng)
        assert set(typo) <= set(string.ascii_lowercase)
        if len(typo) < len(word):
            kinds["deletion"] += 1
        elif len(typo) > len(word):
            kinds["insertion"] += 1
        elif sorted(typo) == sorted(word):
            kinds["transposition"] += 1
        else:
            kinds["substitution"] += 1
    expected = {"deletion": 0.2524, "insertion": 0.2524, "substitution": 0.2428, "transposition": 0.2524}
    for kind, count in kinds.items():
        assert abs(count / n - expected[kind]) < 4 * np.sqrt(0.25 * 0.75 / n), (kind, count)
