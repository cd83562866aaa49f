"""Text normalisation shared by queries and catalogue fields: case, accents, punctuation,
plurals and units.

The same :class:`TextNormalizer` turns a catalogue field and a shopper's query into tokens, so
"Whole Milk, 1 Gallon" and "WHOLE MILK 1 GAL" both become ``["whole", "milk", "1gal"]``::

    norm = TextNormalizer()
    norm.tokens("Strawberries 16 ounces")   # ['strawberry', '16oz']
    norm.tokens("half gallon milk")         # ['0.5gal', 'milk']

A quantity followed by a unit becomes one token ``<number><unit>`` with the unit in its canonical
spelling (:data:`UNIT_ALIASES`); a unit word on its own ("gallon of milk") becomes the canonical
unit ("gal"). Plurals are reduced by a few English suffix rules (:func:`singular`) rather than a
stemmer, so the tokens stay readable and can be shown back to the user.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

__all__ = ["TextNormalizer", "UNIT_ALIASES", "STOPWORDS", "singular", "format_number", "strip_markup"]

#: spelling of a unit -> its canonical spelling (lower case, no punctuation)
UNIT_ALIASES: dict[str, str] = {
    "oz": "oz", "ozs": "oz", "ounce": "oz", "ounces": "oz", "onz": "oz",
    "floz": "floz", "fl oz": "floz", "fluid ounce": "floz", "fluid ounces": "floz", "fl": "floz",
    "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
    "gal": "gal", "gals": "gal", "gallon": "gal", "gallons": "gal", "ga": "gal",
    "qt": "qt", "qts": "qt", "quart": "qt", "quarts": "qt",
    "pt": "pt", "pts": "pt", "pint": "pt", "pints": "pt",
    "l": "l", "ltr": "l", "liter": "l", "liters": "l", "litre": "l", "litres": "l",
    "ml": "ml", "milliliter": "ml", "milliliters": "ml", "millilitre": "ml", "millilitres": "ml",
    "g": "g", "gm": "g", "gr": "g", "gram": "g", "grams": "g",
    "kg": "kg", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
    "ct": "ct", "cnt": "ct", "count": "ct", "counts": "ct", "pc": "ct", "pcs": "ct", "piece": "ct", "pieces": "ct",
    "pk": "pk", "pack": "pk", "packs": "pk", "pkg": "pk",
    "dz": "dz", "doz": "dz", "dozen": "dz",
    "in": "in", "inch": "in", "inches": "in",
    "ft": "ft", "feet": "ft", "foot": "ft",
    "sqft": "sqft", "sq ft": "sqft",
}

#: unit words that are also ordinary words: only a unit right after a number
_AMBIGUOUS_UNITS = {"l", "g", "in", "gr", "ga", "fl", "pc", "count", "pack", "piece", "pieces", "foot", "feet"}

#: words that carry no meaning for product search
STOPWORDS: frozenset[str] = frozenset({
    "a", "an", "and", "the", "of", "for", "with", "w", "in", "on", "to", "or", "by", "at", "from", "&",
})

#: words that stand for a number before a unit ("half gallon")
_NUMBER_WORDS = {"half": "0.5", "quarter": "0.25", "one": "1", "two": "2", "three": "3", "four": "4",
                 "five": "5", "six": "6", "twelve": "12", "a": "1"}

# a number: 12, 1.5, .5, 1/2, 10 1/2 ; then optional space and a unit (longest spellings first)
_UNIT_PATTERN = "|".join(sorted((re.escape(u).replace(r"\ ", r"\s*") for u in UNIT_ALIASES), key=len, reverse=True))
_NUMBER = r"(?:\d+\s+\d+/\d+|\d+/\d+|\d*\.\d+|\d+)"
# (a digit may follow "in": "2in1" is looked at by _quantity)
_QUANTITY_RE = re.compile(rf"(?<![\w.])({_NUMBER})\s*(?:-\s*)?({_UNIT_PATTERN})\.?(?![a-z]|(?<!in)\d)")
#: what follows "in" when it is not inches but a number with no unit: "2 in 1 shampoo", "3-in-1 oil",
#: "2in1"; "10 IN 8 CT" (Complete Journey's package sizes) and "12 in. 2 pk" are inches
_NOT_INCHES_RE = re.compile(rf"\s*-?\s*(?>\d+(?:\.\d+)?)(?!\s*-?\s*(?:{_UNIT_PATTERN})\.?(?![a-z0-9]))")
_WORD_QUANTITY_RE = re.compile(rf"\b({'|'.join(_NUMBER_WORDS)})\s+(?:a\s+)?({_UNIT_PATTERN})\b")
_PLAIN_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_DECIMAL_COMMA_RE = re.compile(rf"(?<![\d.,])(\d+),(\d{{1,2}})(?=\s*(?:-\s*)?(?:{_UNIT_PATTERN})\.?(?![a-z0-9]))")
#: Chinese and Japanese characters: written without spaces, so each one is a token of its own
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]|\d+(?:\.\d+)?[^\W\d_{_CJK}]+|\d*\.\d+|[^\W_{_CJK}]+")
#: letters that have no accent to take off and would otherwise not match their ASCII spelling
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
                       "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH", "ı": "i", "\u2044": "/"})

#: what is not a letter, digit, point or space, turned into a space: \w keeps letters of any script; lower-case
#: ASCII text (most catalogues) takes the equivalent plain pattern, 1.16x instead of 1.34x the cost of the
#: ASCII-only normaliser (Complete Journey's 522k catalogue texts, same output)
_ASCII_PUNCT = re.compile(r"[^a-z0-9.\s]+")
_PUNCT = re.compile(r"[^\w.\s]+|_+")


#: an HTML tag or comment (catalogue exports keep descriptions as HTML: "<p>Soft <b>cotton</b></p>")
_TAG_RE = re.compile(r"<!--.*?-->|</?[a-zA-Z][^<>]{0,500}>", re.S)
_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")


def strip_markup(text: str) -> str:
    """``text`` without HTML tags (each a space) and with entities decoded (``&amp;`` -> ``&``), so
    that ``p``, ``br``, ``nbsp`` or ``amp`` do not become words of every description."""
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text:  # only complete entities: "&not" in "salt&notes" is not "¬"
        text = _ENTITY_RE.sub(lambda m: html.unescape(m.group()), text)
    return text


def format_number(text: str) -> str:
    """A number's canonical spelling: ``"10 1/2"`` -> ``"10.5"``, ``"1.0"`` -> ``"1"``, ``".5"`` -> ``"0.5"``."""
    if text.isdigit():
        return str(int(text))
    try:
        value = float(text) if "/" not in text else float(sum(Fraction(part) for part in text.split()))
    except (ValueError, ZeroDivisionError):
        return text
    if value >= 1e4:
        return str(round(value))
    out = f"{value:.4g}"  # 9999.99 and 0.00002 come out as "1e+04", "2e-05": written out, they stay one token
    return out if "e" not in out else format(Decimal(out), "f")


#: plurals the suffix rules get wrong
_IRREGULAR = {
    "leaves": "leaf", "loaves": "loaf", "halves": "half", "knives": "knife", "shelves": "shelf",
    "calves": "calf", "wives": "wife", "children": "child", "geese": "goose", "mice": "mouse",
    "teeth": "tooth", "shoes": "shoe", "toes": "toe", "canoes": "canoe",
}
#: singulars ending in "ie" whose plural would otherwise become "-y"
_IE_WORDS = frozenset({"cookies", "brownies", "pies", "ties", "movies", "smoothies", "veggies", "calories",
                       "hoodies", "rookies", "goalies", "selfies", "zombies", "pixies", "collies", "lies"})


@functools.lru_cache(maxsize=200_000)
def singular(word: str) -> str:
    """The singular of an English plural by suffix rules; words that are not plurals are kept.

    >>> [singular(w) for w in ("berries", "tomatoes", "boxes", "apples", "glass", "chips", "cookies", "olives")]
    ['berry', 'tomato', 'box', 'apple', 'glass', 'chip', 'cookie', 'olive']
    """
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    n = len(word)
    if n <= 3 or not word.isalpha() or not word.endswith("s"):
        return word
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and n > 4 and word not in _IE_WORDS:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zzes", "sses", "oes")):
        return word[:-2]
    return _IRREGULAR.get(word[:-1], word[:-1])  # "childrens" (from "children's") -> "child"


@dataclass(frozen=True)
class TextNormalizer:
    """Turns text into search tokens; its settings round-trip through :meth:`to_dict`.

    ``plurals`` reduces plurals to singular; ``stopwords`` are dropped; ``synonyms`` maps a token
    (after plural reduction) to its replacement, e.g. ``{"frzn": "frozen"}``.
    """

    plurals: bool = True
    stopwords: frozenset[str] = STOPWORDS
    synonyms: Mapping[str, str] = field(default_factory=dict)
    _memo: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def clean(self, text: Any) -> str:
        """Lower case, accents removed, units canonical, punctuation turned into spaces; letters of
        every script are kept."""
        if text is None:
            return ""
        s = unicodedata.normalize("NFKD", strip_markup(str(text)))
        if not s.isascii():  # accents and symbols off, as before; letters of other scripts are kept
            s = "".join(c for c in s.translate(_FOLD) if c.isascii() or c.isalnum())
        s = s.lower()
        s = s.replace("&", " and ").replace("'s ", " ").replace("'", "")
        s = _WORD_QUANTITY_RE.sub(lambda m: f"{_NUMBER_WORDS[m.group(1)]} {m.group(2)}", s)
        if "," in s:  # a decimal comma before a unit: "1,5 kg" is 1.5kg (it became "1", "5kg")
            s = _DECIMAL_COMMA_RE.sub(r"\1.\2", s)
        s = _QUANTITY_RE.sub(self._quantity, s)
        s = _ASCII_PUNCT.sub(" ", s) if s.isascii() else _PUNCT.sub(" ", s)
        s = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", s)
        return " ".join(s.split())

    @staticmethod
    def _quantity(m: re.Match[str]) -> str:
        unit = UNIT_ALIASES[re.sub(r"\s+", " ", m.group(2))]
        if m.group(2) == "in":
            spaced, glued_right = m.end(1) < m.start(2), m.string[m.end():m.end() + 1].isdigit()
            if spaced and glued_right:  # "4 in1": not a quantity
                return m.group()
            # "2 in 1" and "2in1" are not inches; "12in 2" is how tokens write 12 inches
            if (spaced or glued_right) and _NOT_INCHES_RE.match(m.string, m.end()):
                return f" {format_number(m.group(1))} in "
        return f" {format_number(m.group(1))}{unit} "

    def tokens(self, text: Any) -> list[str]:
        """The search tokens of ``text``: cleaned, split, stopwords dropped, plurals reduced."""
        out: list[str] = []
        memo = self._memo
        for tok in _TOKEN_RE.findall(self.clean(text)):
            got = memo.get(tok)
            if got is None:
                got = memo[tok] = self._word(tok)
            if got:
                if out and got in UNIT_ALIASES and got != "in" and _PLAIN_NUMBER_RE.fullmatch(out[-1]):
                    # "4.l", "4/l": a number and a unit split by punctuation read as the quantity
                    # "4l", which is what the tokens joined by spaces would read as (idempotent)
                    out[-1] += UNIT_ALIASES[got]
                    continue
                out.append(got)
        return self._join_inches(out) if "in" in out else out

    @staticmethod
    def _join_inches(out: list[str]) -> list[str]:
        """``"4.in"`` is 4 inches as ``"4 in"`` is, unless a number without a unit follows ("2 in 1"):
        the tokens read as clean() reads them joined by spaces ("in" is a token when it is not a stop word)."""
        j = 1
        while j < len(out):
            if (out[j] == "in" and _PLAIN_NUMBER_RE.fullmatch(out[j - 1])
                    and not _NOT_INCHES_RE.match(" " + " ".join(out[j + 1:j + 3]))):
                out[j - 1] += "in"
                del out[j]
            else:
                j += 1
        return out

    def _word(self, tok: str) -> str:
        """One raw token's final form; ``""`` for a stopword."""
        if tok in self.stopwords:
            return ""
        if tok[0] == "." or (tok[0].isdigit() and tok.replace(".", "", 1).isdigit()):
            return format_number(tok)
        if tok[0].isdigit():  # a quantity glued to a word ("0a00l"): the same canonical form as on its own
            return _QUANTITY_RE.sub(self._quantity, tok).strip()
        word = singular(tok) if self.plurals else tok
        # a unit word on its own, or its plural ("pkgs" as "pkg"); not one that is also an ordinary word
        unit = UNIT_ALIASES.get(tok) or UNIT_ALIASES.get(word)
        if unit and tok not in _AMBIGUOUS_UNITS and word not in _AMBIGUOUS_UNITS and unit not in self.stopwords:
            return self.synonyms.get(unit, unit)
        return self.synonyms.get(word, word)

    def many(self, texts: Iterable[Any]) -> list[list[str]]:
        """:meth:`tokens` of every text, with a cache for repeated texts (catalogue fields repeat a lot)."""
        cache: dict[Any, list[str]] = {}
        out = []
        for t in texts:
            got = cache.get(t)
            if got is None:
                got = cache[t] = self.tokens(t)
            out.append(got)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"plurals": self.plurals, "stopwords": sorted(self.stopwords), "synonyms": dict(self.synonyms)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TextNormalizer:
        return cls(plurals=bool(d.get("plurals", True)), stopwords=frozenset(d.get("stopwords", STOPWORDS)),
                   synonyms=dict(d.get("synonyms", {})))
