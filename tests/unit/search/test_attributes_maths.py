"""Sizes and brands at their edges (mutation testing: these survived test_attributes.py): the size
tolerance exactly at its bound, sizes of 1 and of 0, the per-item arrays' types, what a query's
attributes show, brands found after the first word, aliases of several words or of nothing, the
canonical name of a catalogue brand value, and the normaliser an extractor is given.

Expected values are worked out by hand: a size's base value is its value times the unit's factor
(``1 gal`` = 128 oz), and two sizes match when ``|a - b| <= tolerance * max(a, b)``.
"""

from __future__ import annotations

import numpy as np

from discoverly.search.attributes import AttributeExtractor, QueryAttributes, Size, size_arrays
from discoverly.search.normalize import TextNormalizer

NORM = TextNormalizer()


def test_the_tolerance_bound_is_inclusive() -> None:
    # |2 - 1| = 1 = 0.5 * max(2, 1); |4 - 3| = 1 = 0.25 * 4 (exact in binary)
    assert Size(2, "oz").matches(Size(1, "oz"), tolerance=0.5)
    assert Size(3, "ct").matches(Size(4, "ct"), tolerance=0.25)
    assert not Size(3, "ct").matches(Size(4, "ct"), tolerance=0.24)
    # across units: 1 qt = 32 oz, 1 pt = 16 oz
    assert Size(1, "qt").matches(Size(1, "pt"), tolerance=0.5)
    assert not Size(1, "qt").matches(Size(1, "pt"), tolerance=0.49)


def test_a_size_of_one_matches_itself() -> None:
    assert Size(1, "ct").matches(Size(1, "ct"))  # a single item: base 1
    assert Size(0.5, "oz").matches(Size(0.5, "oz"))
    assert Size(1, "oz").matches(Size(1, "floz"))


def test_a_size_of_zero_never_matches_whatever_the_tolerance() -> None:
    assert not Size(0, "oz").matches(Size(10, "oz"), tolerance=1.0)
    assert not Size(10, "oz").matches(Size(0, "oz"), tolerance=1.0)
    assert not Size(0, "oz").matches(Size(0, "oz"), tolerance=1.0)


def test_size_arrays_types_and_values() -> None:
    dims, base = size_arrays(["2 LB", "", None, "6 in", "2 LB", "1 dozen"], NORM)
    assert dims.dtype == np.int8 and base.dtype == np.float32
    assert dims.tolist() == [1, 0, 0, 3, 1, 2]
    np.testing.assert_array_equal(np.isnan(base), [False, True, True, False, False, False])
    np.testing.assert_allclose(base[[0, 3, 4, 5]], [32.0, 6.0, 32.0, 12.0])


def test_query_attributes_as_shown() -> None:
    assert QueryAttributes(brand="ben jerry", size=Size(16.0, "oz")).to_dict() == {"brand": "ben jerry",
                                                                                    "size": "16 oz"}
    assert QueryAttributes(size=Size(0.5, "gal")).to_dict() == {"brand": None, "size": "0.5 gal"}
    assert QueryAttributes().to_dict() == {"brand": None, "size": None}


def test_a_brand_after_the_first_word_is_taken_out_whole() -> None:
    ex = AttributeExtractor.from_values(["Ben & Jerry's", "Private"])
    got = ex.extract(NORM.tokens("vanilla ben & jerry's ice cream"))
    assert (got.brand, got.rest) == ("ben jerry", ["vanilla", "ice", "cream"])
    got = ex.extract(NORM.tokens("cookies private 2 lb"))
    assert (got.brand, got.size, got.rest) == ("private", Size(2.0, "lb"), ["cookie"])


def test_no_brands_still_reads_the_size() -> None:
    got = AttributeExtractor({}).extract(["milk", "1gal"])
    assert (got.brand, got.size, got.rest) == (None, Size(1.0, "gal"), ["milk"])
    got = AttributeExtractor.from_dict({}).extract(["milk"])
    assert (got.brand, got.size, got.rest) == (None, None, ["milk"])


def test_an_empty_value_does_not_end_the_brand_list() -> None:
    ex = AttributeExtractor.from_values(["Private", None, "", "National"])
    assert ex.extract(["national", "milk"]).brand == "national"


def test_aliases_of_several_words_and_of_nothing() -> None:
    ex = AttributeExtractor.from_values(["Ben & Jerry's"], aliases={"bj": "Ben & Jerry's", "store brand": "the"})
    assert ex.extract(["bj", "ice", "cream"]).brand == "ben jerry"
    got = ex.extract(NORM.tokens("store brand milk"))  # an alias of a stop word names no brand
    assert (got.brand, got.rest) == (None, ["store", "brand", "milk"])


def test_brand_of_a_catalogue_value() -> None:
    ex = AttributeExtractor.from_values(["Private"], aliases={"store brand": "Private"})
    assert ex.brand_of("Store Brand") == "private"  # an alias spelling in the catalogue
    assert ex.brand_of("Acme Foods") == "acme food"  # a brand the extractor was not built with
    assert ex.brand_of("&") is None and ex.brand_of("") is None and ex.brand_of(None) is None


def test_the_extractor_keeps_its_normaliser() -> None:
    norm = TextNormalizer(synonyms={"frzn": "frozen"})
    ex = AttributeExtractor.from_values(["Frzn Foods"], normalizer=norm)
    assert ex.normalizer is norm
    assert ex.brand_of("FRZN FOODS") == "frozen food"
    again = AttributeExtractor.from_dict(ex.to_dict(), normalizer=norm)
    assert again.normalizer is norm and again.brand_of("frzn foods") == "frozen food"
    plain = AttributeExtractor({("ben",): "ben"})
    assert plain.normalizer == TextNormalizer() and plain.brand_of("BEN") == "ben"
