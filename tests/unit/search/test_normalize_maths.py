"""Normalisation's edges that the table of test_normalize.py leaves open (mutation testing: these
survived): numbers' canonical spelling at both ends of the ``.4g`` range, a number and a unit split by
punctuation, a dot between letters, units written with several spaces, decimal commas and
punctuation in text of another script, ``&`` and ``'s`` when ``and`` is not a stop word or plurals
are kept, entities that stand for accented letters, :meth:`TextNormalizer.many` and the settings'
round trip.

Every expected value is written by hand from the rules in the module's docstring and
docs/search.md, never taken from the code's output.
"""

from __future__ import annotations

import pytest

from discoverly.search.attributes import Size, parse_size
from discoverly.search.normalize import STOPWORDS, TextNormalizer, format_number

NORM = TextNormalizer()


@pytest.mark.parametrize(("text", "number"), [
    ("1.50", "1.5"),           # four significant digits at most, trailing zeros dropped
    ("1234.56", "1235"),
    ("10000.0", "10000"),      # from 10,000 on: the whole number, rounded
    ("10000.7", "10001"),
    ("12345.6", "12346"),
    # .4g writes these in scientific notation ("1e+04", "2e-05"); the tokens then fell apart into
    # "1e", "4" and a size of 9999.99 ml was read as 4 ml
    ("9999.99", "10000"),
    ("9999.5", "10000"),
    ("0.00002", "0.00002"),
    ("0.000012344", "0.00001234"),
])
def test_format_number_is_positional_with_four_significant_digits(text: str, number: str) -> None:
    assert format_number(text) == number


@pytest.mark.parametrize(("text", "tokens"), [
    ("9999.99 ml", ["10000ml"]),
    ("0.00002 kg", ["0.00002kg"]),
    ("TV 9999.99", ["tv", "10000"]),
])
def test_extreme_quantities_stay_one_token(text: str, tokens: list[str]) -> None:
    assert NORM.tokens(text) == tokens


def test_extreme_sizes_are_read_as_written() -> None:
    assert parse_size(NORM.tokens("9999.99 ml")) == Size(10000.0, "ml")  # was Size(4, "ml")
    assert parse_size(NORM.tokens("0.00002 kg")) == Size(0.00002, "kg")  # was Size(5, "kg")


@pytest.mark.parametrize(("text", "tokens"), [
    # a number and a unit split by punctuation join into the quantity, in place, whatever precedes it
    ("whole milk 4/l bottle", ["whole", "milk", "4l", "bottle"]),
    ("4.l", ["4l"]),
    # a dot that is not between two digits separates words: "No.5" is not 0.5
    ("Chanel No.5", ["chanel", "no", "5"]),
    ("v.8 juice", ["v", "8", "juice"]),
    # a plain number gets its canonical spelling too
    ("lemon 1.50", ["lemon", "1.5"]),
    ("1.2.3", ["1.2", "0.3"]),
    # several spaces inside a unit's spelling
    ("12 fl  oz", ["12floz"]),
    ("200 sq   ft", ["200sqft"]),
    # text that stays non-ASCII takes the general punctuation rule and still reads decimal commas
    ("молоко 1,5 l", ["молоко", "1.5l"]),
    ("Молоко, кефир; сыр", ["молоко", "кефир", "сыр"]),
    ("Молоко & кефир", ["молоко", "кефир"]),  # "&" is "and", a stop word, in any script
    ("Ben's 牛奶", ["ben", "牛", "奶"]),  # a possessive "'s" goes
    # entities of accented letters, named and numeric, are decoded before the accents come off
    ("Caf&eacute; cr&#232;me", ["cafe", "creme"]),
    ("Cr&#xE8;me", ["creme"]),
])
def test_tokens_edges(text: str, tokens: list[str]) -> None:
    assert NORM.tokens(text) == tokens


def test_ampersand_is_the_word_and() -> None:
    keep_and = TextNormalizer(stopwords=frozenset())
    assert keep_and.tokens("Ben & Jerry") == ["ben", "and", "jerry"] == keep_and.tokens("Ben and Jerry")


def test_possessive_s_is_dropped_even_when_plurals_are_kept() -> None:
    norm = TextNormalizer(plurals=False)
    assert norm.tokens("Jerry's cookies") == ["jerry", "cookies"]
    assert norm.tokens("Jerrys cookies") == ["jerrys", "cookies"]


def test_many_is_tokens_of_each_text() -> None:
    texts = ["Whole Milk 1 GAL", None, "Whole Milk 1 GAL", "Strawberries 16 OZ", ""]
    expected = [["whole", "milk", "1gal"], [], ["whole", "milk", "1gal"], ["strawberry", "16oz"], []]
    assert NORM.many(texts) == expected
    assert NORM.many([]) == []


def test_settings_round_trip_and_defaults() -> None:
    norm = TextNormalizer(plurals=False, stopwords=frozenset({"the", "of"}), synonyms={"frzn": "frozen"})
    d = norm.to_dict()
    assert d == {"plurals": False, "stopwords": ["of", "the"], "synonyms": {"frzn": "frozen"}}
    again = TextNormalizer.from_dict(d)
    assert again == norm
    assert again.plurals is False and again.stopwords == frozenset({"the", "of"})
    assert TextNormalizer.from_dict({"plurals": True}).plurals is True
    default = TextNormalizer.from_dict({})
    assert default == TextNormalizer()
    assert default.plurals is True and default.stopwords == STOPWORDS and dict(default.synonyms) == {}


@pytest.mark.parametrize("text", ["9999.99", "0.00002 kg", "1.2.3", "TV 9999.99 ml", "milk 4/l"])
def test_tokens_are_idempotent(text: str) -> None:
    toks = NORM.tokens(text)
    assert NORM.tokens(" ".join(toks)) == toks


@pytest.mark.parametrize(("text", "tokens", "size"), [
    # "N in M" with no unit after M names a product of several uses, not N inches
    ("2 in 1 shampoo", ["2", "1", "shampoo"], None),
    ("3-in-1 oil", ["3", "1", "oil"], None),
    ("2in1 shampoo", ["2", "1", "shampoo"], None),
    ("Laptop 2-IN-1", ["laptop", "2", "1"], None),
    ("2 in 1.5", ["2", "1.5"], None),
    # a unit after M: the inches stand (Complete Journey writes package sizes as "10 IN 8 CT")
    ("10 IN 8 CT", ["10in", "8ct"], Size(10.0, "in")),
    ("5 IN-10 PK", ["5in", "10pk"], Size(5.0, "in")),
    ("10in8 ct", ["10in", "8ct"], Size(10.0, "in")),
    ("12 in. 2 pk", ["12in", "2pk"], Size(12.0, "in")),
    ("12 in pizza", ["12in", "pizza"], Size(12.0, "in")),
    ("10 in 12 ct", ["10in", "12ct"], Size(10.0, "in")),
    # "12in" glued, then a number: how the tokens of 12 inches and a number read joined by spaces
    ("12in 2", ["12in", "2"], Size(12.0, "in")),
    ("12 in.2", ["12in", "2"], Size(12.0, "in")),
    # spaced on the left, glued on the right: not a quantity, as before (a Complete Journey size)
    ("4 IN1", ["4", "in1"], None),
])
def test_n_in_m_is_not_inches_unless_a_unit_follows(text: str, tokens: list[str], size: Size | None) -> None:
    assert NORM.tokens(text) == tokens
    assert NORM.tokens(" ".join(tokens)) == tokens
    assert parse_size(NORM.tokens(text)) == size


def test_n_in_m_keeps_the_word_in_when_in_is_not_a_stopword() -> None:
    keep = TextNormalizer(stopwords=frozenset())
    assert keep.tokens("2 in 1 shampoo") == ["2", "in", "1", "shampoo"]
    assert keep.tokens("2in1") == ["2", "in", "1"]
    # a number and "in" split by punctuation are still the quantity, when no bare number follows
    assert keep.tokens("4.in") == ["4in"]
    assert keep.tokens("4.in 5") == ["4", "in", "5"]
    for text in ("2 in 1 shampoo", "4.in", "4.in 5", "4.in 1 ct", "4.2in14.l", "1.5in2. in ", "1.5 in 12in1",
                 "2in4.IN/ct2-", "inct 12in12.in"):
        toks = keep.tokens(text)
        assert keep.tokens(" ".join(toks)) == toks


@pytest.mark.parametrize(("plural", "singular_form", "token"), [
    # the plural of a unit word is that unit, as its singular is: "pkgs" was the word "pkg", "pkg" the unit "pk"
    ("pkgs", "pkg", "pk"), ("cnts", "cnt", "ct"), ("dozens", "dozen", "dz"), ("ltrs", "ltr", "l"),
    ("gallons", "gallon", "gal"),
    # the plural of a unit word that is also an ordinary word is that word, as its singular is:
    # "MULTI-PACKS" was the unit "pk" while a shopper's "multi pack" kept the word "pack"
    ("packs", "pack", "pack"), ("counts", "count", "count"), ("pieces", "piece", "piece"),
])
def test_a_unit_words_plural_reads_as_its_singular(plural: str, singular_form: str, token: str) -> None:
    assert NORM.tokens(plural) == NORM.tokens(singular_form) == [token]
    assert NORM.tokens(f"yogurt multi-{plural}") == ["yogurt", "multi", token]


def test_without_plural_reduction_a_units_plural_spelling_still_counts() -> None:
    keep = TextNormalizer(plurals=False)
    assert keep.tokens("packs") == ["pk"]  # "packs" is itself a spelling of the unit
    assert keep.tokens("pkgs") == ["pkgs"]  # not a spelling, and plurals are kept
    assert TextNormalizer(synonyms={"pk": "package"}).tokens("pkgs") == ["package"]
