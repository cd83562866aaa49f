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


@pytest.mark.parametrize("query", ["the milk", "xyzzy"])
def test_a_query_with_a_search_word_has_no_notice(dense_engine: SearchEngine, query: str) -> None:
    assert query_notice(dense_engine.search(query, k=3)) is None
