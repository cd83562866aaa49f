"""Normalisation: case, punctuation, plurals, units; the same tokens for query and catalogue."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverly.search.normalize import TextNormalizer, format_number, singular

NORM = TextNormalizer()


@pytest.mark.parametrize(("text", "tokens"), [
    ("Whole Milk, 1 Gallon", ["whole", "milk", "1gal"]),
    ("WHOLE MILK 1 GAL", ["whole", "milk", "1gal"]),
    ("whole milk 1gal.", ["whole", "milk", "1gal"]),
    ("half gallon milk", ["0.5gal", "milk"]),
    ("a gallon of milk", ["1gal", "milk"]),
    ("gallon of milk", ["gal", "milk"]),
    ("Strawberries 16 ounces", ["strawberry", "16oz"]),
    ("12 fl oz", ["12floz"]),
    ("10 1/2 OZ", ["10.5oz"]),
    (".42 OZ", ["0.42oz"]),
    ("1.0 L", ["1l"]),
    ("6-pack beer", ["6pk", "beer"]),
    ("Tomatoes 1.5 lbs.", ["tomato", "1.5lb"]),
    ("COOKIES: REGULAR", ["cookie", "regular"]),
    ("ICE CREAM/MILK/SHERBTS", ["ice", "cream", "milk", "sherbt"]),
    ("Café crème", ["cafe", "creme"]),
    ("Ben & Jerry's", ["ben", "jerry"]),
    ("", []),
    (None, []),
    # other scripts were dropped whole (an ASCII encode), so such a catalogue had no lexical search
    ("Молоко цельное 1 л", ["молоко", "цельное", "1", "л"]),
    ("Ελληνικό γιαούρτι", ["ελληνικο", "γιαουρτι"]),
    ("全脂牛奶", ["全", "脂", "牛", "奶"]),  # no spaces between words: one token per character
    ("Straße, æble", ["strasse", "aeble"]),  # were "strae", "ble"
    ("½ gal", ["0.5gal"]),  # was "12gal"
    ("Jerry’s “best”…", ["jerry", "best"]),  # symbols still vanish as before
    # an HTML description: its tags and entities were words ("p", "b", "nbsp", "amp") of every item
    ("<p>Soft <b>cotton</b>&nbsp;tee &amp; cap</p><br/>", ["soft", "cotton", "tee", "cap"]),
    ("salt&notes <5 mm", ["salt", "note", "5", "mm"]),  # not an entity, not a tag
    ("Milch 1,5 l", ["milch", "1.5l"]),  # a decimal comma before a unit: was "1", "5l"
    ("Käse 2,25 kg, 3 Stück", ["kase", "2.25kg", "3", "stuck"]),
    ("apples, 2 lb", ["apple", "2lb"]),
])
def test_tokens(text: str | None, tokens: list[str]) -> None:
    assert NORM.tokens(text) == tokens


@pytest.mark.parametrize(("plural", "single"), [
    ("berries", "berry"), ("tomatoes", "tomato"), ("boxes", "box"), ("apples", "apple"), ("glass", "glass"),
    ("chips", "chip"), ("cookies", "cookie"), ("olives", "olive"), ("leaves", "leaf"), ("cheeses", "cheese"),
    ("peaches", "peach"), ("asparagus", "asparagus"), ("hummus", "hummus"), ("shoes", "shoe"), ("bus", "bus"),
])
def test_singular(plural: str, single: str) -> None:
    assert singular(plural) == single


@pytest.mark.parametrize(("text", "number"), [("10 1/2", "10.5"), ("1.0", "1"), (".5", "0.5"), ("007", "7"),
                                              ("1/4", "0.25"), ("12", "12")])
def test_format_number(text: str, number: str) -> None:
    assert format_number(text) == number


def test_unit_spellings_agree_between_query_and_catalogue() -> None:
    assert NORM.tokens("52 FL OZ") == NORM.tokens("52 fluid ounces")
    assert NORM.tokens("2 LB") == NORM.tokens("2 pounds") == NORM.tokens("2lbs")
    assert NORM.tokens("12 CT") == NORM.tokens("12 count")


def test_synonyms_and_stopwords_are_configurable() -> None:
    norm = TextNormalizer(synonyms={"frzn": "frozen"}, stopwords=frozenset({"the"}))
    assert norm.tokens("FRZN pizza and the fries") == ["frozen", "pizza", "and", "fry"]
    assert TextNormalizer.from_dict(norm.to_dict()).tokens("FRZN pizza") == ["frozen", "pizza"]


def test_a_quantity_glued_to_a_word_is_canonical() -> None:
    assert NORM.tokens("0a00l") == NORM.tokens(" ".join(NORM.tokens("0a00l"))) == ["0a", "0l"]
    assert NORM.tokens("3x12oz") == NORM.tokens("3x 12 ounces")[:1] + NORM.tokens("12 ounces")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABC0123456789.,/&-'", max_size=40))
def test_tokens_are_clean_and_idempotent(text: str) -> None:
    toks = NORM.tokens(text)
    assert all(t and t == t.lower() and " " not in t for t in toks)
    assert not set(toks) & NORM.stopwords
    assert NORM.tokens(" ".join(toks)) == toks
