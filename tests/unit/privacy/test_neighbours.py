"""Exact neighbour lists against brute force, the faiss backend, and the on-disk cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discoverly.errors import ArtifactError, ConfigError
from discoverly.privacy.nearest import Neighbours, distance_blocks, exact_neighbours, neighbours
from discoverly.privacy.vocabulary import WordEmbeddings

from .conftest import make_embeddings


def _brute(emb: WordEmbeddings) -> np.ndarray:
    v = emb.vectors.astype(np.float64)
    return np.linalg.norm(v[:, None] - v[None], axis=2)


def test_lists_are_exact_and_start_with_the_word(toy: WordEmbeddings) -> None:
    nb = exact_neighbours(toy, 7, block=9)  # several blocks
    d = _brute(toy)
    assert nb.indices.shape == (len(toy), 8)
    np.testing.assert_array_equal(nb.indices[:, 0], np.arange(len(toy)))
    assert (nb.distances[:, 0] == 0).all()
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(nb.distances[:, 1:], np.sort(d, axis=1)[:, :7], rtol=1e-4, atol=1e-5)
    assert nb.min_distance == pytest.approx(d.min(), rel=1e-4)
    np.fill_diagonal(d, 0)
    assert nb.max_distance == pytest.approx(d.max(), rel=1e-4)


def test_faiss_backend_agrees(toy: WordEmbeddings) -> None:
    pytest.importorskip("faiss")
    a = exact_neighbours(toy, 5)
    b = exact_neighbours(toy, 5, backend="faiss")
    np.testing.assert_allclose(a.distances, b.distances, rtol=1e-4, atol=1e-4)
    assert (a.indices[:, 0] == b.indices[:, 0]).all()


def test_distance_blocks(toy: WordEmbeddings) -> None:
    rows = np.array([3, 0, 17])
    got = np.vstack([d for _, d in distance_blocks(toy.vectors, rows, block=2)])
    np.testing.assert_allclose(got, _brute(toy)[rows], rtol=1e-4, atol=1e-4)


def test_k_must_fit_the_vocabulary(toy: WordEmbeddings) -> None:
    with pytest.raises(ConfigError):
        exact_neighbours(toy, len(toy))
    with pytest.raises(ConfigError):
        exact_neighbours(toy, 3, backend="annoy")


def test_cache_is_reused_and_sliced(tmp_path: Path, toy: WordEmbeddings) -> None:
    first = neighbours(toy, 10, cache=tmp_path)
    assert len(list(tmp_path.glob("neighbours-*"))) == 1
    again = neighbours(toy, 4, cache=tmp_path)  # served from the k=10 lists
    assert len(list(tmp_path.glob("neighbours-*"))) == 1
    np.testing.assert_array_equal(again.indices, first.indices[:, :5])


def test_loading_lists_of_another_vocabulary_fails(tmp_path: Path, toy: WordEmbeddings) -> None:
    path = exact_neighbours(toy, 3).save(tmp_path / "nb")
    other = make_embeddings(seed=9)
    with pytest.raises(ArtifactError, match="another vocabulary"):
        Neighbours.load(path, embeddings=other)
    assert Neighbours.load(path, embeddings=toy).k == 3
