"""A query of stop words only is answered with a notice that its results are not matches."""

from __future__ import annotations

from typing import Any

import pytest

from discoverly.data import Catalog
from discoverly.search.engine import SearchEngine
from discoverly.search.index import IndexConfig
from discoverly.search.notice import query_notice


@pytest.fixture(scope="module")
def dense_engine(catalog: Catalog, encoder: Any) -> SearchEngine:
    return SearchEngine.build(catalog, encoder=encoder)


@pytest.mark.parametrize("query", ["the of and", "!!! ?", "The AND of"])
def test_stop_words_only_say_the_dense_results_are_not_matches(dense_engine: SearchEngine, query: str) -> None:
    # dense search answered "the of and" with three items, tokens: [] and no word about it
    res = dense_engine.search(query, k=3)
    assert res.understood["tokens"] == [] and len(res) == 3
    notice = query_notice(res)
    assert notice is not None and "has no search words" in notice and "nearest items to the whole text" in notice
    assert repr(query) in notice


def test_no_results_and_no_search_words(catalog: Catalog) -> None:
    res = SearchEngine.build(catalog, index_config=IndexConfig(dense=False)).search("the of and", k=3)
    assert len(res) == 0
    notice = query_notice(res)
    assert notice is not None and "so no item matches it" in notice


@pytest.mark.parametrize("query", ["the milk", "milk xyzzy"])
def test_a_query_with_a_search_word_has_no_notice(dense_engine: SearchEngine, query: str) -> None:
    res = dense_engine.search(query, k=3)
    assert res.understood["known_words"] is True and query_notice(res) is None


def test_a_query_of_unknown_words_says_the_results_are_by_meaning_alone(dense_engine: SearchEngine,
                                                                        catalog: Catalog) -> None:
    # "xyzzy" was answered by dense neighbours with no word that none of them matches it
    res = dense_engine.search("xyzzy", k=3)
    assert res.understood["tokens"] == ["xyzzy"] and res.understood["known_words"] is False and len(res) == 3
    notice = query_notice(res)
    assert notice is not None and "no word of the query 'xyzzy' is a word of the catalogue" in notice
    assert "nearest items by meaning" in notice
    bare = SearchEngine.build(catalog, index_config=IndexConfig(dense=False)).search("xyzzy", k=3)
    assert len(bare) == 0 and "check the spelling" in (query_notice(bare) or "")
