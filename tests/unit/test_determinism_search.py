"""Search gives the same answers for the same inputs: whatever the catalogue's row order, and whatever
the process's string hashing (PYTHONHASHSEED)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from discoverly.data import Catalog
from discoverly.search.index import CatalogIndex, IndexConfig

#: many products share a text, so lexical scores tie and the tie-break decides the order
PRODUCTS = [(f"P{i:03d}", ["Whole Milk 1 GAL", "Whole Milk Half Gallon", "Skim Milk", "Milk Chocolate Bar"][i % 4],
             ["National", "Private"][i % 2]) for i in range(40)]


def _catalog(order: np.ndarray) -> Catalog:
    rows = [PRODUCTS[i] for i in order]
    return Catalog(pl.DataFrame({"item": [r[0] for r in rows], "title": [r[1] for r in rows],
                                 "brand": [r[2] for r in rows]}))


def test_catalogue_row_order_does_not_change_search_results() -> None:
    """The same products in another row order (a re-export sorted otherwise) give the same index and the
    same ranked items: ties among products with the same text went to the earlier row of the file."""
    answers = []
    for seed in (None, 1, 2):
        order = np.arange(len(PRODUCTS)) if seed is None else np.random.default_rng(seed).permutation(len(PRODUCTS))
        index = CatalogIndex.build(_catalog(order), IndexConfig(dense=False))
        found = []
        for query in ("whole milk", "milk", "milk private"):
            items, scores = index.lexical.search(index.normalizer.tokens(query), k=15)
            found.append((index.items.ids_of(items).tolist(), np.asarray(scores).tolist()))
        answers.append(found)
    assert answers[1] == answers[0]
    assert answers[2] == answers[0]


_CLASSIFIER = """
import hashlib, numpy as np
from discoverly.search.classify import QueryClassifier
rng = np.random.default_rng(0)
words = ["milk", "whole", "gal", "yogurt", "greek", "bread", "wheat", "cheese", "apple", "juice", "frozen", "pizza"]
texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 5)))) for _ in range(400)]
labels = [["dairy", "bakery", "produce", "frozen"][int(rng.integers(4))] for _ in texts]
clf = QueryClassifier().fit(texts, labels)
manifest, arrays, lists = clf.to_arrays()
h = hashlib.sha1()
for name in sorted(arrays):
    h.update(np.ascontiguousarray(arrays[name]).tobytes())
h.update("|".join(lists["features"]).encode())
h.update(clf.log_proba(texts[:100]).tobytes())
print(h.hexdigest())
"""


def test_query_classifier_is_the_same_in_every_process() -> None:
    """The query classifier numbered its features in a set's iteration order, which follows the
    process's string hashing: each run saved another artifact and gave log-probabilities that differed
    in the last bits (so near-tied categories could swap)."""
    digests = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", _CLASSIFIER], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests
    assert hashlib.sha1().hexdigest() not in digests


def test_query_classifier_trained_from_the_catalogue_is_the_same_every_time() -> None:
    """The catalogue's (text, category) pairs were grouped without keeping their order, so every
    training (every `search index` run) numbered the classifier's features differently: five trainings
    on the same catalogue gave five different artifacts."""
    from discoverly.search.engine import SearchEngine

    words = ["milk", "whole", "skim", "yogurt", "greek", "bread", "wheat", "cheese", "pizza", "juice", "apple"]
    rng = np.random.default_rng(0)
    n = 300
    table = pl.DataFrame({"item": [f"P{i:04d}" for i in range(n)],
                          "title": [" ".join(rng.choice(words, size=3)) for _ in range(n)],
                          "kind": [" ".join(rng.choice(words, size=2)) for _ in range(n)],
                          "category": [["DAIRY", "BAKERY", "FROZEN", "DRINKS"][i % 4] for i in range(n)]})
    engine = SearchEngine(CatalogIndex.build(Catalog(table), IndexConfig(dense=False)))
    trained = set()
    for _ in range(5):
        classifier = engine.train_classifier()
        assert classifier is not None
        _, arrays, lists = classifier.to_arrays()
        trained.add((tuple(lists["features"]), arrays["classify.data"].tobytes()))
    assert len(trained) == 1


def test_the_bm25s_peer_numbers_items_as_the_search_index_does() -> None:
    """The purchase protocol compares the bm25s peer's positions with the search index's: both must
    number the items alike for a catalogue in any row order (the index holds them by item id)."""
    pytest.importorskip("bm25s")
    from discoverly.search.benchmark import PlainBM25

    catalog = _catalog(np.random.default_rng(4).permutation(len(PRODUCTS)))
    index = CatalogIndex.build(catalog, IndexConfig(dense=False))
    peer = PlainBM25(catalog, ["title", "brand"])
    assert peer.items.to_list() == index.items.ids.tolist()
    found = peer.search(["skim milk"], k=5)[0]
    assert set(index.items.ids_of(found).tolist()) <= {p[0] for p in PRODUCTS if p[1] == "Skim Milk"}
