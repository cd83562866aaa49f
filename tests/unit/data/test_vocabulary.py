"""Vocabulary: external ids <-> contiguous indices."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discoverly.data import Vocabulary
from discoverly.errors import DataError, UnknownIdError


def test_index_and_id_round_trip() -> None:
    v = Vocabulary(["b", "a", "c"], name="item")
    assert [v.index(x) for x in ("b", "a", "c")] == [0, 1, 2]
    assert [v.id(i) for i in range(3)] == ["b", "a", "c"]
    assert len(v) == 3 and "a" in v and "z" not in v
    assert list(v) == ["b", "a", "c"]
    # -1 is the "no item" of padded results: it gave the last id, "c"
    for bad in (-1, 3):
        with pytest.raises(IndexError, match=f"item index {bad} is out of range: .* indices 0 to 2"):
            v.id(bad)
    assert v.id(np.int64(1)) == "a"


def test_from_values_sorts_unique_values() -> None:
    v = Vocabulary.from_values(pl.Series([3, 1, 3, 2]), name="user")
    assert list(v) == [1, 2, 3]
    assert v.index(2) == 1


def test_unknown_id_raises_with_the_vocabulary_name() -> None:
    v = Vocabulary(["x"], name="item")
    with pytest.raises(UnknownIdError, match="unknown item 'nope'"):
        v.index("nope")
    assert isinstance(UnknownIdError("x"), KeyError)


def test_an_id_known_in_another_case_or_without_spaces_is_suggested() -> None:
    v = Vocabulary(["85123A", "c1", 42], name="item")
    with pytest.raises(UnknownIdError, match=r"unknown item '85123a'.*did you mean '85123A'\?"):
        v.index("85123a")
    with pytest.raises(UnknownIdError, match="did you mean 'c1'"):
        v.index(" C1 ")
    with pytest.raises(UnknownIdError, match=r"of this data$"):  # nothing close: no suggestion
        v.index("zz")
    assert v.indices(["85123a", "c1"], missing=-1).tolist() == [-1, 1]  # a suggestion, never a silent match
    padded = Vocabulary(["0042", "7"], name="user")  # ids kept as text because of their leading zeros
    with pytest.raises(UnknownIdError, match="did you mean '0042'"):
        padded.index(42)
    with pytest.raises(UnknownIdError, match="did you mean '7'"):
        padded.index("007")


def test_indices_with_missing_marker() -> None:
    v = Vocabulary(["x", "y"])
    assert v.indices(["y", "q", "x"], missing=-1).tolist() == [1, -1, 0]
    with pytest.raises(UnknownIdError):
        v.indices(["q"])


def test_string_and_int_ids_are_coerced_both_ways() -> None:
    ints = Vocabulary([17850, 12345])
    assert ints.index("17850") == 0
    strs = Vocabulary(["10", "20"])
    assert strs.index(20) == 1
    assert ints.index(np.int64(12345)) == 1


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(DataError, match="twice"):
        Vocabulary(["a", "b", "a"], name="item")


def test_ids_view_is_read_only_and_ids_of_maps_arrays() -> None:
    v = Vocabulary(["a", "b", "c"])
    with pytest.raises(ValueError):
        v.ids[0] = "z"
    assert v.ids_of(np.array([[2, 0]])).tolist() == [["c", "a"]]
    assert v.to_series().to_list() == ["a", "b", "c"]


def test_equality() -> None:
    assert Vocabulary(["a", "b"]) == Vocabulary(["a", "b"])
    assert Vocabulary(["a", "b"]) != Vocabulary(["b", "a"])
    assert Vocabulary(["a"]) != Vocabulary(["a", "b"])


@given(st.lists(st.one_of(st.integers(-10**9, 10**9)), unique=True, min_size=1, max_size=50))
def test_every_id_round_trips(ids: list[int]) -> None:
    v = Vocabulary(ids)
    assert all(v.id(v.index(x)) == x for x in ids)
    assert sorted(v.indices(ids).tolist()) == list(range(len(ids)))
