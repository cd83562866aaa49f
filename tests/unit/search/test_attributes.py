"""Sizes and brands read from queries."""

from __future__ import annotations

import pytest

from discoverly.search.attributes import AttributeExtractor, Size, parse_size, size_arrays
from discoverly.search.normalize import TextNormalizer

NORM = TextNormalizer()


@pytest.mark.parametrize(("text", "dimension", "base"), [
    ("1 gal", "mass_volume", 128.0), ("128 oz", "mass_volume", 128.0), ("2 lb", "mass_volume", 32.0),
    ("half gallon", "mass_volume", 64.0), ("12 ct", "count", 12.0), ("1 dozen", "count", 12.0),
    ("1 l", "mass_volume", 33.814), ("6 in", "length", 6.0),
])
def test_parse_size_converts_to_base_units(text: str, dimension: str, base: float) -> None:
    size = parse_size(NORM.tokens(text))
    assert size is not None
    assert size.dimension == dimension
    assert size.base == pytest.approx(base)


def test_sizes_match_across_units_within_tolerance() -> None:
    assert Size(1, "gal").matches(Size(128, "oz"))
    assert Size(1, "l").matches(Size(33.8, "floz"))
    assert not Size(1, "gal").matches(Size(100, "oz"))
    assert not Size(12, "ct").matches(Size(12, "oz"))
    assert parse_size(["milk"]) is None


def test_size_arrays_per_item() -> None:
    dims, base = size_arrays(["1 GAL", None, "12 CT", "LARGE"], NORM)
    assert dims.tolist() == [1, 0, 2, 0]
    assert base[0] == pytest.approx(128.0) and base[2] == pytest.approx(12.0)


def test_brand_longest_match_aliases_and_rest() -> None:
    ex = AttributeExtractor.from_values(["Ben & Jerry's", "Ben", "Private", None],
                                        aliases={"store brand": "Private"})
    got = ex.extract(NORM.tokens("ben & jerry's ice cream 16 oz"))
    assert got.brand == "ben jerry"
    assert got.size == Size(16.0, "oz")
    assert got.rest == ["ice", "cream"]
    assert ex.extract(NORM.tokens("store brand cookies")).brand == "private"
    assert ex.extract(NORM.tokens("cookies")).brand is None
    assert ex.brand_of("PRIVATE") == "private"
    again = AttributeExtractor.from_dict(ex.to_dict())
    assert again.extract(NORM.tokens("ben cookies")).brand == "ben"
