"""Brand and size attributes: read them from a query so they can filter or boost the ranking.

Sizes are parsed from the size tokens :class:`~discoverly.search.normalize.TextNormalizer` makes
("12oz", "1gal", "6pk") and converted to a base unit per dimension, so "1 gal" and "128 oz" are the
same size. Brands are the catalogue's own brand values, matched as whole token sequences (longest
first)::

    ex = AttributeExtractor.from_values(["Private", "National", "Ben & Jerry's"])
    ex.extract(norm.tokens("ben jerry ice cream 16 oz"))
    # QueryAttributes(brand='ben jerry', size=Size(16.0, 'oz'), rest=['ice', 'cream'])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from discoverly.search.normalize import TextNormalizer

__all__ = ["Size", "QueryAttributes", "AttributeExtractor", "parse_size", "DIMENSIONS"]

#: canonical unit -> (dimension, factor to the dimension's base unit). Ounces of weight and fluid
#: ounces share one dimension: catalogues write "OZ" for both.
_UNITS: dict[str, tuple[str, float]] = {
    "oz": ("mass_volume", 1.0), "floz": ("mass_volume", 1.0), "lb": ("mass_volume", 16.0),
    "g": ("mass_volume", 0.035274), "kg": ("mass_volume", 35.274),
    "gal": ("mass_volume", 128.0), "qt": ("mass_volume", 32.0), "pt": ("mass_volume", 16.0),
    "l": ("mass_volume", 33.814), "ml": ("mass_volume", 0.033814),
    "ct": ("count", 1.0), "pk": ("count", 1.0), "dz": ("count", 12.0),
    "in": ("length", 1.0), "ft": ("length", 12.0), "sqft": ("area", 1.0),
}

#: dimension name -> its code in the per-item ``size_dim`` arrays (0 = no size)
DIMENSIONS: dict[str, int] = {"mass_volume": 1, "count": 2, "length": 3, "area": 4}

_SIZE_TOKEN = re.compile(r"^(\d+(?:\.\d+)?)([a-z]+)$")


@dataclass(frozen=True)
class Size:
    """A package size: a value in a canonical unit, comparable across units of one dimension."""

    value: float
    unit: str

    @property
    def dimension(self) -> str:
        return _UNITS[self.unit][0]

    @property
    def base(self) -> float:
        """The value in the dimension's base unit (ounces, count, inches, square feet)."""
        return self.value * _UNITS[self.unit][1]

    def matches(self, other: Size, *, tolerance: float = 0.03) -> bool:
        """True when both sizes have one dimension and differ by at most ``tolerance`` (relative)."""
        if self.dimension != other.dimension or self.base <= 0 or other.base <= 0:
            return False
        return abs(self.base - other.base) <= tolerance * max(self.base, other.base)

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


def parse_size(tokens: Iterable[str]) -> Size | None:
    """The first size among normalised tokens (``"16oz"`` -> ``Size(16, "oz")``), or ``None``."""
    for tok in tokens:
        m = _SIZE_TOKEN.match(tok)
        if m and m.group(2) in _UNITS:
            return Size(float(m.group(1)), m.group(2))
    return None


def size_arrays(texts: Sequence[str | None], normalizer: TextNormalizer) -> tuple[np.ndarray, np.ndarray]:
    """Per text: the size's dimension code (0 = none) and base value (``nan`` = none)."""
    dims = np.zeros(len(texts), dtype=np.int8)
    base = np.full(len(texts), np.nan, dtype=np.float32)
    cache: dict[str | None, Size | None] = {}
    for i, t in enumerate(texts):
        if t not in cache:
            cache[t] = parse_size(normalizer.tokens(t)) if t else None
        s = cache[t]
        if s is not None:
            dims[i] = DIMENSIONS[s.dimension]
            base[i] = s.base
    return dims, base


@dataclass(frozen=True)
class QueryAttributes:
    """What was read from a query: a brand (the catalogue's normalised brand name), a size, and
    the tokens left once both are taken out."""

    brand: str | None = None
    size: Size | None = None
    rest: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"brand": self.brand, "size": None if self.size is None else str(self.size)}


class AttributeExtractor:
    """Finds catalogue brands (longest token sequence first) and a size in normalised query tokens.

    ``brands`` maps a brand's token sequence to its canonical name; build it from a catalogue's
    brand column with :meth:`from_values`. ``aliases`` adds other spellings of a brand, e.g.
    ``{"store brand": "Private"}``.
    """

    def __init__(self, brands: Mapping[tuple[str, ...], str], *, normalizer: TextNormalizer | None = None) -> None:
        self.normalizer = normalizer or TextNormalizer()
        self.brands = dict(brands)
        self._longest = max((len(k) for k in self.brands), default=0)

    @classmethod
    def from_values(cls, values: Iterable[str | None], *, aliases: Mapping[str, str] | None = None,
                    normalizer: TextNormalizer | None = None) -> AttributeExtractor:
        norm = normalizer or TextNormalizer()
        brands: dict[tuple[str, ...], str] = {}
        for v in values:
            if v is None:
                continue
            key = tuple(norm.tokens(v))
            if key:
                brands.setdefault(key, " ".join(key))
        for alias, target in (aliases or {}).items():
            key, canonical = tuple(norm.tokens(alias)), " ".join(norm.tokens(target))
            if key and canonical:
                brands[key] = canonical
        return cls(brands, normalizer=norm)

    def brand_of(self, value: str | None) -> str | None:
        """The canonical brand name of a catalogue brand value (``None`` when empty)."""
        if value is None:
            return None
        key = tuple(self.normalizer.tokens(value))
        return self.brands.get(key, " ".join(key) or None)

    def extract(self, tokens: Sequence[str]) -> QueryAttributes:
        """The brand and size in ``tokens`` (normalised) and the remaining tokens."""
        toks = list(tokens)
        brand = None
        rest: list[str] = []
        i = 0
        while i < len(toks):
            hit = None
            if brand is None:
                for n in range(min(self._longest, len(toks) - i), 0, -1):
                    key = tuple(toks[i:i + n])
                    if key in self.brands:
                        hit = (n, self.brands[key])
                        break
            if hit is not None:
                brand = hit[1]
                i += hit[0]
                continue
            rest.append(toks[i])
            i += 1
        size = parse_size(rest)
        if size is not None:
            rest = [t for t in rest if parse_size([t]) is None]
        return QueryAttributes(brand=brand, size=size, rest=rest)

    def to_dict(self) -> dict[str, list[list[str] | str]]:
        return {"keys": [list(k) for k in self.brands], "names": list(self.brands.values())}

    @classmethod
    def from_dict(cls, d: Mapping[str, list], *, normalizer: TextNormalizer | None = None) -> AttributeExtractor:
        return cls({tuple(k): v for k, v in zip(d.get("keys", []), d.get("names", []), strict=True)},
                   normalizer=normalizer)
