"""Small vocabularies with known geometry, and a private cache directory for every test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discoverly.privacy.vocabulary import WordEmbeddings


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Neighbour lists and tail masses are cached per test session, never in the user's home."""
    cache = tmp_path_factory.getbasetemp() / "discoverly-cache"
    monkeypatch.setenv("DISCOVERLY_CACHE_DIR", str(cache))
    return cache


def make_embeddings(n: int = 40, dim: int = 3, *, seed: int = 0, clusters: int = 4, spread: float = 0.6,
                    scale: float = 2.0) -> WordEmbeddings:
    """``n`` words in ``clusters`` blobs (dense and sparse regions), with made-up Zipf frequencies."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)) * scale
    sizes = np.maximum(1, np.round(np.linspace(2.0, 0.5, clusters) / np.linspace(2.0, 0.5, clusters).sum() * n))
    labels = np.repeat(np.arange(clusters), sizes.astype(int))[:n]
    labels = np.concatenate([labels, rng.integers(0, clusters, n - len(labels))])
    vectors = centres[labels] + rng.normal(size=(n, dim)) * spread * (1 + labels)[:, None] / clusters
    words = [f"w{i:03d}" for i in range(n)]
    zipf = np.linspace(6.5, 2.0, n)
    return WordEmbeddings(words, vectors.astype(np.float32), zipf=zipf, name=f"toy{n}x{dim}")


@pytest.fixture
def toy() -> WordEmbeddings:
    return make_embeddings()


@pytest.fixture
def sentence_vocab() -> WordEmbeddings:
    """Real-looking words (so text can be tokenised) on random vectors."""
    words = ["the", "a", "food", "meal", "dish", "was", "is", "great", "good", "fine", "awful", "bad",
             "service", "staff", "but", "and", "do", "n't", "'s", "john", "don't", "we", "'ve", "film"]
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(len(words), 4)).astype(np.float32)
    return WordEmbeddings(words, vectors, zipf=np.linspace(7, 3, len(words)), name="sentences")
