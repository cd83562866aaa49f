"""Dense retrieval against brute force with numpy, on vectors fixed by hand (mutation testing:
the other tests use hashed bags of words and check the first one or two items only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from discoverly.errors import ArtifactError, ConfigError, NotFittedError
from discoverly.search.dense import DenseRetriever, EmbeddingCache


def _unit(*v: float) -> np.ndarray:
    a = np.array(v, dtype=np.float32)
    return a / np.linalg.norm(a)


VECTORS = {
    "milk": _unit(1, 0, 0),
    "skim milk": _unit(0.9, 0.1, 0),
    "cream": _unit(0.6, 0.8, 0),
    "pizza": _unit(0, 0.2, 1),
    "hose": _unit(-1, 0, 0.1),
}


class TableEncoder:
    """Fixed vectors per text; counts what it is asked to embed."""

    name = "table"
    dim = 3

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([VECTORS.get(t, _unit(0, 1, 0)) for t in texts], dtype=np.float32).reshape(-1, self.dim)


# item -> text: items 1, 4 and 6 share "milk"; 2 and 5 share "cream"
ITEMS = ["hose", "milk", "cream", "skim milk", "milk", "cream", "milk", "pizza"]


def brute_force(query: np.ndarray, k: int, prior: np.ndarray | None = None) -> tuple[list[int], np.ndarray]:
    sims = np.array([VECTORS[t] @ query for t in ITEMS])
    tb = np.zeros(len(ITEMS)) if prior is None else prior
    order = np.lexsort((np.arange(len(ITEMS)), -tb, -sims))[:k]
    return order.tolist(), sims[order]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7, 8, 20])
def test_search_is_the_brute_force_top_k(k: int) -> None:
    dense = DenseRetriever(TableEncoder()).fit(ITEMS)
    q = _unit(1, 0.3, 0)
    items, sims = dense.search(q, k=k)
    want_items, want_sims = brute_force(q, k)
    assert items.tolist() == want_items
    np.testing.assert_allclose(sims, want_sims, rtol=1e-6)
    assert items.dtype == np.int64 and sims.dtype == np.float32
    prior = np.array([0.0, 0.1, 0.0, 0.0, 0.7, 0.9, 0.3, 0.0])
    items, _ = dense.search(q, k=k, prior=prior)
    assert items.tolist() == brute_force(q, k, prior)[0]


def test_search_edges() -> None:
    dense = DenseRetriever(TableEncoder()).fit(ITEMS)
    q = _unit(1, 0, 0)
    for k in (0, -3):
        items, sims = dense.search(q, k=k)
        assert items.size == 0 and sims.size == 0
    items, sims = dense.search(np.zeros(3, np.float32), k=3)
    assert items.size == 0 and sims.size == 0 and items.dtype == np.int64 and sims.dtype == np.float32
    assert dense.search(q, k=100)[0].size == len(ITEMS)  # more than there are: every item once
    np.testing.assert_allclose(dense.similarity(q, np.array([3, 0, 1])),
                               [VECTORS["skim milk"] @ q, VECTORS["hose"] @ q, 1.0], rtol=1e-6)
    with pytest.raises(NotFittedError, match="call fit"):
        DenseRetriever(TableEncoder()).similarity(q, np.array([0]))


def test_distinct_texts_and_the_cache_reuse() -> None:
    enc = TableEncoder()
    dense = DenseRetriever(enc).fit(ITEMS)
    assert dense.texts == sorted(set(ITEMS)) and dense.n_docs == len(ITEMS)
    assert [dense.texts[t] for t in dense.doc_text] == ITEMS
    assert dense.stats["texts"] == 5 and dense.stats["embedded"] == 5 and dense.stats["cached"] == 0
    cache = EmbeddingCache("table", ["milk", "cream", "gone"], np.stack([VECTORS["milk"], VECTORS["cream"],
                                                                        _unit(1, 1, 1)]))
    np.testing.assert_array_equal(cache.lookup(["cream", "pizza", "milk"]), [1, -1, 0])
    again = DenseRetriever(enc).fit(ITEMS, cache=cache)
    assert enc.calls[-1] == ["hose", "pizza", "skim milk"]  # only the texts the cache lacks
    assert (again.stats["embedded"], again.stats["cached"]) == (3, 2)
    np.testing.assert_allclose(again.vectors, dense.vectors, rtol=1e-6)
    calls = len(enc.calls)
    full = DenseRetriever(enc).fit(ITEMS, cache=dense.cache())
    assert len(enc.calls) == calls and full.stats["embedded"] == 0 and np.isnan(full.stats["texts_per_second"])
    np.testing.assert_array_equal(full.vectors, dense.vectors)
    with pytest.raises(ConfigError, match="2 texts but 1 vectors"):
        EmbeddingCache("table", ["a", "b"], np.zeros((1, 3)))


def test_a_cache_of_another_model_is_refused() -> None:
    # its "milk" vector was used as this model's: a query for milk no longer found the milk items
    # (and a cache of another dimension failed with numpy's broadcasting ValueError)
    for vectors in (np.array([[0, 0, 1.0]]), np.ones((1, 5))):
        other = EmbeddingCache("another-model", ["milk"], vectors)
        with pytest.raises(ArtifactError, match="vectors of 'another-model', but the encoder is 'table'"):
            DenseRetriever(TableEncoder()).fit(ITEMS, cache=other)
    assert DenseRetriever(TableEncoder()).fit(ITEMS, cache=EmbeddingCache("another-model")).stats["embedded"] == 5


def test_query_vectors_are_cached_least_recently_used_first() -> None:
    enc = TableEncoder()
    dense = DenseRetriever(enc, query_cache_size=2)
    for text in ("milk", "cream", "milk", "pizza", "milk", "cream"):
        np.testing.assert_array_equal(dense.encode_query(text), VECTORS[text])
    # milk, cream: embedded; milk: cached; pizza: embedded, evicts cream (milk was used later);
    # milk: cached; cream: embedded again
    assert enc.calls == [["milk"], ["cream"], ["pizza"], ["cream"]]
    off = DenseRetriever(enc, query_cache_size=0)
    off.encode_query("milk")
    off.encode_query("milk")
    assert enc.calls[-2:] == [["milk"], ["milk"]]


def test_round_trip_and_the_model_check() -> None:
    dense = DenseRetriever(TableEncoder()).fit(ITEMS)
    manifest, arrays, texts = dense.to_arrays()
    again = DenseRetriever.from_arrays(manifest, arrays, texts, encoder=TableEncoder())
    q = _unit(0.2, 0.1, 1)
    for a, b in zip(again.search(q, k=6), dense.search(q, k=6), strict=True):
        np.testing.assert_array_equal(a, b)
    assert again.stats == dense.stats
    other = TableEncoder()
    other.name = "other"
    with pytest.raises(ArtifactError, match="embedded with 'table'"):
        DenseRetriever.from_arrays(manifest, arrays, texts, encoder=other)
