"""Loading word vectors from every supported format, the scale, and clear errors."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from discoverly.errors import ConfigError, DataError, DatasetNotFoundError
from discoverly.privacy.vocabulary import WordEmbeddings


def test_npz_roundtrip(tmp_path: Path, toy: WordEmbeddings) -> None:
    path = tmp_path / "v.npz"
    np.savez(path, words=np.asarray(toy.words), vectors=toy.vectors.astype(np.float16), zipf=toy.zipf)
    loaded = WordEmbeddings.from_npz(path)
    assert loaded.words == toy.words
    assert loaded.vectors.dtype == np.float32
    np.testing.assert_allclose(loaded.vectors, toy.vectors, atol=2e-2)
    assert loaded.zipf is not None and loaded.fingerprint() != toy.fingerprint()


def test_npz_without_vectors_says_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, words=np.asarray(["a", "b"]))
    with pytest.raises(DataError, match="vectors"):
        WordEmbeddings.from_npz(path)


@pytest.mark.parametrize("header", [True, False])
def test_glove_and_word2vec_text(tmp_path: Path, header: bool) -> None:
    lines = ["cat 1 0 0", "dog 0.9 0.1 0", "car 0 0 1", "cat 5 5 5"]  # a repeated word keeps its first vector
    path = tmp_path / "vec.txt"
    path.write_text(("4 3\n" if header else "") + "\n".join(lines) + "\n", encoding="utf-8")
    emb = WordEmbeddings.from_text(path)
    assert emb.words == ("cat", "dog", "car")
    np.testing.assert_array_equal(emb.vectors[0], [1, 0, 0])
    assert WordEmbeddings.from_text(path, limit=2).words == ("cat", "dog")


def test_text_file_with_a_short_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "vec.txt"
    path.write_text("cat 1 0 0\ndog 1 0\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"vec.txt:2"):
        WordEmbeddings.from_text(path)


def test_spacy_style_vocab() -> None:
    # the shape of spaCy's Vocab: .vectors.key2row / .vectors.data and .strings[key]
    strings = {11: "the", 12: "The", 13: "food"}
    vectors = SimpleNamespace(key2row={11: 0, 12: 0, 13: 1}, data=np.eye(2, 3, dtype=np.float32))
    vocab = SimpleNamespace(vectors=vectors, strings=strings)
    emb = WordEmbeddings.from_spacy(SimpleNamespace(vocab=vocab))
    assert set(emb.words) == {"the", "The", "food"}
    assert not emb.is_lowercase
    np.testing.assert_array_equal(emb.vectors[emb.index("the")], emb.vectors[emb.index("The")])
    with pytest.raises(DataError, match="spaCy"):
        WordEmbeddings.from_spacy(object())


@pytest.mark.parametrize(
    ("words", "vectors", "match"),
    [
        (["a", "a"], np.zeros((2, 2)), "twice"),
        (["a", "b c"], np.zeros((2, 2)), "whitespace"),
        (["a", "b"], np.array([[0.0, np.nan], [1, 1]]), "NaN"),
        (["a", "b", "c"], np.zeros((2, 2)), "one vector per word"),
        (["a"], np.zeros((1, 2)), "at least 2"),
        (["a", "b"], np.zeros(2), "2-d"),
    ],
)
def test_bad_vocabularies_are_rejected(words: list[str], vectors: np.ndarray, match: str) -> None:
    with pytest.raises(DataError, match=match):
        WordEmbeddings(words, vectors)


def test_scales(toy: WordEmbeddings) -> None:
    unit = toy.scaled("unit")
    np.testing.assert_allclose(np.linalg.norm(unit.vectors, axis=1), 1.0, rtol=1e-5)
    assert unit.scale == "unit"
    double = toy.scaled(2.0)
    np.testing.assert_allclose(double.vectors, 2 * toy.vectors)
    assert double.scale == "raw×2"
    assert toy.scaled("raw") is toy
    with pytest.raises(ConfigError):
        toy.scaled("huge")
    with pytest.raises(ConfigError):
        toy.scaled(-1.0)


def test_lookup_subset_and_buckets(toy: WordEmbeddings) -> None:
    idx = toy.lookup(["w003", "nope", "w000"])
    assert idx.tolist() == [3, -1, 0]
    sub = toy.subset(["w005", "w001"])
    assert sub.words == ("w005", "w001") and len(toy.subset(10)) == 10
    buckets = toy.zipf_buckets()
    assert set(buckets.tolist()) <= {"<3", "3-4", "4-5", "≥5"}
    assert buckets[0] == "≥5" and buckets[-1] == "<3"


def test_median_nn_distance_matches_brute_force(toy: WordEmbeddings) -> None:
    d = np.linalg.norm(toy.vectors[:, None] - toy.vectors[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert toy.median_nn_distance == pytest.approx(float(np.median(d.min(axis=1))), rel=1e-5)


def test_default_needs_the_data_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="DISCOVERLY_DATA_DIR"):
        WordEmbeddings.default(tmp_path)


def test_a_folder_is_not_a_word_vector_file(tmp_path: Path) -> None:
    # `privatize --embeddings some/folder` said the folder "does not exist"
    for load in (WordEmbeddings.from_text, WordEmbeddings.from_npz):
        with pytest.raises(DataError, match="is a folder, not a word-vector file"):
            load(tmp_path)
        with pytest.raises(DataError, match="does not exist"):
            load(tmp_path / "nope.txt")


@pytest.mark.data
def test_default_vocabulary(shared_data: Path) -> None:
    emb = WordEmbeddings.default(shared_data)
    assert len(emb) == 14_296 and emb.dim == 300 and emb.is_lowercase
    assert emb.zipf is not None and "good" in emb


def test_subset_of_a_generator_names_the_missing_words(toy: WordEmbeddings) -> None:
    # the generator was used up by the lookup, so the message listed no words: "not in the vocabulary: []"
    with pytest.raises(DataError) as err:
        toy.subset(w for w in ["w001", "zz", "w002", "yy"])
    assert str(err.value) == "words not in the vocabulary: ['zz', 'yy']"
    assert toy.subset(w for w in ["w002", "w001"]).words == ("w002", "w001")


@pytest.mark.parametrize("factor", [np.float32(2.0), np.float64(2.0), np.int64(2), 2])
def test_a_numpy_scale_factor_is_a_number(toy: WordEmbeddings, factor: object) -> None:
    # np.float32(2.0) (e.g. 1 / a median of float32 norms) was "unknown vector scale"
    double = toy.scaled(factor)  # type: ignore[arg-type]
    np.testing.assert_allclose(double.vectors, 2 * toy.vectors)
    assert double.scale == "raw×2"


def test_a_word_with_spaces_is_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # GloVe 840B lists words such as '. . .' and 'at name@domain.com' (the numbers are the last fields);
    # a vocabulary word must be one token, so they are left out instead of failing the whole file
    path = tmp_path / "glove.txt"
    path.write_text("cat 1 0 0\n. . . 0 1 0\nat name@domain.com 0 0 1\ndog 0 1 1\n", encoding="utf-8")
    with caplog.at_level("INFO", logger="discoverly.privacy.vocabulary"):
        emb = WordEmbeddings.from_text(path)
    assert emb.words == ("cat", "dog") and "left out 2 words with spaces" in caplog.text
    np.testing.assert_array_equal(emb.vectors, np.array([[1, 0, 0], [0, 1, 1]], dtype=np.float32))
    extra = tmp_path / "extra.txt"  # an extra number is a damaged line, not a word
    extra.write_text("cat 1 0 0\ndog 1 0 0 0\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"extra.txt:2: expected a word and 3 numbers, found 4 fields"):
        WordEmbeddings.from_text(extra)
