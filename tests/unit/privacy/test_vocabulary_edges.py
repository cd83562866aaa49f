"""WordEmbeddings' exact messages, Zipf bucket boundaries, derived vocabularies and loaders' corners
(mutation testing: the messages, the bucket edges, the scale labels and several loader branches
survived changes)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from discoverly.errors import ConfigError, DataError, DatasetNotFoundError
from discoverly.privacy.vocabulary import WordEmbeddings


def vocab(zipf: list[float] | None = None, n: int = 4) -> WordEmbeddings:
    v = np.arange(n * 2, dtype=np.float32).reshape(n, 2) + 1
    return WordEmbeddings([f"w{i}" for i in range(n)], v, zipf=None if zipf is None else np.asarray(zipf), name="v")


def test_zipf_bucket_edges_go_up() -> None:
    emb = vocab([2.999, 3.0, 4.0, 4.999, 5.0, 7.5], n=6)
    assert emb.zipf_buckets().tolist() == ["<3", "3-4", "4-5", "4-5", "≥5", "≥5"]
    assert emb.zipf_buckets((2.5, 4.5)).tolist() == ["2.5-4.5", "2.5-4.5", "2.5-4.5", "≥4.5", "≥4.5", "≥4.5"]
    assert vocab().zipf_buckets().tolist() == ["?"] * 4


@pytest.mark.parametrize(
    ("words", "vectors", "zipf", "message"),
    [
        (["a", "a"], np.zeros((2, 2)), None, "the word 'a' appears twice (rows 0 and 1); keep one vector per word"),
        (["a", ""], np.zeros((2, 2)), None,
         "word 1 ('') is empty or contains whitespace; a vocabulary word must be a single token"),
        (["a", "b\tc"], np.zeros((2, 2)), None,
         "word 1 ('b\\tc') is empty or contains whitespace; a vocabulary word must be a single token"),
        (["a", "b", "c"], np.array([[0.0, 1], [1, 1], [np.inf, 0]]), None,
         "the vector of 'c' (row 2) holds NaN or infinity; remove that word or fix the file"),
        (["a", "b", "c"], np.zeros((2, 5)), None, "3 words but 2 vectors; there must be one vector per word"),
        (["a"], np.zeros((1, 2)), None, "a vocabulary needs at least 2 words to perturb between, got 1"),
        (["a", "b"], np.zeros((2, 2, 1)), None,
         "word vectors must be a 2-d array (words × dimensions), got shape (2, 2, 1)"),
        (["a", "b"], np.zeros((2, 0)), None, "word vectors have 0 dimensions"),
        (["a", "b"], np.zeros((2, 2)), [1.0, 2.0, 3.0], "zipf must hold one number per word (2), got shape (3,)"),
    ],
)
def test_bad_vocabulary_messages(words: list[str], vectors: np.ndarray, zipf: list[float] | None,
                                 message: str) -> None:
    with pytest.raises(DataError) as err:
        WordEmbeddings(words, vectors, zipf=None if zipf is None else np.asarray(zipf))
    assert str(err.value) == message


def test_construction_keeps_what_it_was_given() -> None:
    emb = WordEmbeddings(np.asarray(["b", "a"]), np.array([[1, 2], [3, 4]], dtype=np.int64), zipf=np.array([5, 6]),
                         name="tiny", scale="unit")
    assert emb.words == ("b", "a") and emb.name == "tiny" and emb.scale == "unit" and emb.dim == 2 and len(emb) == 2
    assert emb.vectors.dtype == np.float32 and not emb.vectors.flags.writeable
    assert emb.zipf is not None and emb.zipf.dtype == np.float32 and emb.zipf.tolist() == [5.0, 6.0]
    assert "a" in emb and "c" not in emb and emb.index("a") == 1 and emb.index("c") == -1
    assert emb.lookup(["a", "c", "b"]).tolist() == [1, -1, 0] and emb.lookup([]).dtype == np.int64
    assert repr(WordEmbeddings([f"w{i}" for i in range(1200)], np.zeros((1200, 3)), name="big")) == \
        "WordEmbeddings('big', 1,200 words × 3, scale='raw')"
    assert WordEmbeddings(["a", "b"], np.zeros((2, 1))).name == "embeddings"


def test_is_lowercase() -> None:
    assert WordEmbeddings(["don't", "42", "é"], np.zeros((3, 1))).is_lowercase
    assert not WordEmbeddings(["a", "É"], np.zeros((2, 1))).is_lowercase


def test_fingerprint_follows_words_and_vectors() -> None:
    a = WordEmbeddings(["x", "y"], np.array([[1.0], [2.0]]))
    assert a.fingerprint() == WordEmbeddings(["x", "y"], np.array([[1.0], [2.0]]), name="other").fingerprint()
    assert len(a.fingerprint()) == 16 and a.fingerprint() is a.fingerprint()
    assert a.fingerprint() != WordEmbeddings(["y", "x"], np.array([[1.0], [2.0]])).fingerprint()
    assert a.fingerprint() != WordEmbeddings(["x", "y"], np.array([[1.0], [2.5]])).fingerprint()
    # the boundary between words counts: "ab","c" is not "a","bc"
    assert (WordEmbeddings(["ab", "c"], np.zeros((2, 1))).fingerprint()
            != WordEmbeddings(["a", "bc"], np.zeros((2, 1))).fingerprint())


def test_scaled_labels_and_refusals() -> None:
    emb = vocab([1, 2, 3, 4])
    unit = emb.scaled("unit")
    assert unit.scale == "unit" and unit.words == emb.words and unit.zipf is emb.zipf and unit.name == "v"
    np.testing.assert_allclose(unit.vectors, emb.vectors / np.linalg.norm(emb.vectors, axis=1, keepdims=True))
    half = unit.scaled(0.5)
    assert half.scale == "unit×0.5" and half.name == "v" and half.zipf is emb.zipf
    np.testing.assert_allclose(half.vectors, unit.vectors * 0.5)
    assert emb.scaled(3).scale == "raw×3"
    for bad in (0, -2.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError) as err:
            emb.scaled(bad)
        assert str(err.value) == f"a scale factor must be a positive number, got {bad}"
    with pytest.raises(ConfigError) as err:
        emb.scaled(True)  # type: ignore[arg-type]
    assert str(err.value) == "unknown vector scale True; use 'raw', 'unit' or a positive number"
    zero = WordEmbeddings(["a", "b"], np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(DataError) as err2:
        zero.scaled("unit")
    assert str(err2.value) == "the vector of 'b' is zero and cannot be normalised to unit length"


def test_subset_by_count_and_by_words() -> None:
    emb = vocab([1, 2, 3, 4]).scaled(2.0)
    first = emb.subset(2)
    assert first.words == ("w0", "w1") and first.scale == "raw×2" and first.name == "v"
    assert first.zipf is not None and first.zipf.tolist() == [1.0, 2.0]
    np.testing.assert_array_equal(first.vectors, emb.vectors[:2])
    assert emb.subset(99).words == emb.words
    picked = emb.subset(["w3", "w1"])
    assert picked.words == ("w3", "w1") and picked.zipf is not None and picked.zipf.tolist() == [4.0, 2.0]
    np.testing.assert_array_equal(picked.vectors, emb.vectors[[3, 1]])
    assert vocab().subset(2).zipf is None
    with pytest.raises(ConfigError) as err:
        emb.subset(1)
    assert str(err.value) == "a vocabulary needs at least 2 words, got 1"
    with pytest.raises(DataError) as err2:
        emb.subset(["w0", "a", "b", "c", "d", "e", "f"])
    assert str(err2.value) == "words not in the vocabulary: ['a', 'b', 'c', 'd', 'e']"


def test_from_text_corners(tmp_path: Path) -> None:
    path = tmp_path / "glove.small.txt"
    path.write_text("cat 1 0\n\n  \ndog 0 1  \n", encoding="utf-8")  # blank lines, trailing spaces
    emb = WordEmbeddings.from_text(path)
    assert emb.words == ("cat", "dog") and emb.name == "glove.small" and emb.zipf is None
    assert WordEmbeddings.from_text(path, name="g").name == "g"
    header = tmp_path / "w2v.txt"
    header.write_text("2 3\ncat 1 0\n", encoding="utf-8")  # the header says 3 numbers per word
    with pytest.raises(DataError) as err:
        WordEmbeddings.from_text(header)
    assert str(err.value) == f"{header}:2: expected a word and 3 numbers, found 2 fields after 'cat'"
    bad = tmp_path / "bad.txt"
    bad.write_text("cat 1 0\ndog 1 x\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{bad}:2: the vector of 'dog' is not numeric: "):
        WordEmbeddings.from_text(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        WordEmbeddings.from_text(empty)
    assert str(err.value) == f"{str(empty)!r} holds no word vectors"
    with pytest.raises(ConfigError) as err3:
        WordEmbeddings.from_text(path, limit=1)
    assert str(err3.value) == "limit must be at least 2 words, got 1"
    three = tmp_path / "three.txt"
    three.write_text("a 1\nb 2\nc 3\n", encoding="utf-8")
    assert WordEmbeddings.from_text(three, limit=2).words == ("a", "b")
    assert WordEmbeddings.from_text(three, limit=3).words == ("a", "b", "c")


def test_from_npz_corners(tmp_path: Path) -> None:
    path = tmp_path / "vecs.npz"
    np.savez(path, words=np.asarray(["a", "b"]), vectors=np.eye(2, dtype=np.float32))
    emb = WordEmbeddings.from_npz(path)
    assert emb.name == "vecs" and emb.zipf is None and WordEmbeddings.from_npz(path, name="n").name == "n"
    only = tmp_path / "only.npz"
    np.savez(only, words=np.asarray(["a", "b"]))
    with pytest.raises(DataError) as err:
        WordEmbeddings.from_npz(only)
    assert str(err.value).endswith(f"{str(only)!r} lacks the array(s) ['vectors']; expected 'words' and "
                                   "'vectors' (and optionally 'zipf'), found ['words']")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(DataError, match=rf"^cannot read word vectors from {str(junk)!r}: "):
        WordEmbeddings.from_npz(junk)


def test_from_spacy_corners() -> None:
    strings = {1: "b", 2: "a", 3: "two words", 4: ""}
    vectors = SimpleNamespace(key2row={1: 1, 2: 0, 3: 0, 4: 1}, data=np.array([[1.0, 0.0], [0.0, 1.0]]))
    emb = WordEmbeddings.from_spacy(SimpleNamespace(vectors=vectors, strings=strings))  # a Vocab itself
    assert emb.words == ("a", "b") and emb.name == "spacy"  # by row, words with spaces or empty left out
    np.testing.assert_array_equal(emb.vectors, [[1.0, 0.0], [0.0, 1.0]])
    empty = SimpleNamespace(vectors=SimpleNamespace(key2row={}, data=np.zeros((0, 2))), strings={})
    with pytest.raises(DataError) as err:
        WordEmbeddings.from_spacy(empty, name="x")
    assert str(err.value) == ("the spaCy vocabulary has no word vectors (a small 'sm' pipeline has none; use 'md' "
                              "or 'lg')")
    with pytest.raises(DataError) as err:
        WordEmbeddings.from_spacy(SimpleNamespace(vocab=SimpleNamespace(strings={})))
    assert str(err.value) == ("cannot read spaCy vectors from a SimpleNamespace: pass a spaCy pipeline "
                              "(spacy.load('en_core_web_md')), its .vocab, or the pipeline's name")


def test_default_message_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        WordEmbeddings.default(tmp_path)
    want = str(tmp_path / "embeddings" / "en_core_web_md_3.7.1_words_300d_f16.npz")
    own = ("or give your own word vectors: WordEmbeddings.from_npz / from_text / from_spacy (CLI: --embeddings FILE, "
           "a .npz or a GloVe/word2vec text file)")
    assert str(err.value) == (f"the default word vectors are expected at {want!r}; set DISCOVERLY_DATA_DIR to the "
                              f"public data folder, {own}")
    # unset: the message named 'embeddings/en_core_web_md_3.7.1_words_300d_f16.npz', a path relative to the
    # folder the command ran in, and only the Python way to give other vectors
    monkeypatch.delenv("DISCOVERLY_DATA_DIR", raising=False)
    with pytest.raises(DatasetNotFoundError) as err:
        WordEmbeddings.default()
    assert str(err.value) == ("the default word vectors are read from the public data folder, but DISCOVERLY_DATA_DIR "
                              "is not set: set it to the folder that holds "
                              f"embeddings/en_core_web_md_3.7.1_words_300d_f16.npz, {own}")
    folder = tmp_path / "embeddings"
    folder.mkdir()
    np.savez(folder / "en_core_web_md_3.7.1_words_300d_f16.npz", words=np.asarray(["a", "b"]),
             vectors=np.eye(2, dtype=np.float16))
    emb = WordEmbeddings.default(tmp_path)
    assert emb.name == "en_core_web_md-3.7.1" and emb.words == ("a", "b")
    monkeypatch.setenv("DISCOVERLY_DATA_DIR", str(tmp_path))
    assert WordEmbeddings.default().words == ("a", "b")


def test_median_nn_distance_by_hand() -> None:
    # points 0, 1, 3, 7 on a line: nearest-neighbour distances 1, 1, 2, 4 -> median 1.5
    emb = WordEmbeddings(list("abcd"), np.array([[0.0], [1.0], [3.0], [7.0]]))
    assert emb.median_nn_distance == 1.5
    assert emb.scaled(2.0).median_nn_distance == 3.0


def test_more_loader_and_lookup_corners(tmp_path: Path) -> None:
    # a repeated word in the middle is skipped, not the end of the file
    path = tmp_path / "rep.txt"
    path.write_text("a 1\nb 2\na 3\nc 4\n", encoding="utf-8")
    assert WordEmbeddings.from_text(path).words == ("a", "b", "c")
    # a byte that is not UTF-8 is replaced, not a UnicodeDecodeError
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9 1 0\nb 0 1\n")
    assert WordEmbeddings.from_text(latin).words == ("caf\ufffd", "b")
    # the first row is a word like any other; a vector of length exactly 1 can be normalised
    emb = WordEmbeddings(["a", "b", "c"], np.array([[1.0, 0.0], [3.0, 4.0], [0.0, 2.0]]))
    assert emb.subset(["a", "c"]).words == ("a", "c")
    np.testing.assert_allclose(emb.scaled("unit").vectors, [[1, 0], [0.6, 0.8], [0, 1]])
    # spaCy keys sharing a row come in key order; a Vocab without key2row is refused
    vectors = SimpleNamespace(key2row={5: 0, 4: 0, 1: 1}, data=np.eye(2))
    spacy = WordEmbeddings.from_spacy(SimpleNamespace(vectors=vectors, strings={5: "x", 4: "y", 1: "b"}))
    assert spacy.words == ("y", "x", "b")
    with pytest.raises(DataError, match="cannot read spaCy vectors from a SimpleNamespace"):
        WordEmbeddings.from_spacy(SimpleNamespace(vectors=SimpleNamespace(data=np.eye(2)), strings={}))
    with pytest.raises(DataError) as err:
        WordEmbeddings.from_text(tmp_path)
    assert str(err.value) == (f"{str(tmp_path)!r} is a folder, not a word-vector file; give a .npz file or a "
                              "GloVe/word2vec text file (a spaCy pipeline's vectors: WordEmbeddings.from_spacy)")
    with pytest.raises(DataError) as err:
        WordEmbeddings.from_npz(tmp_path / "nope.npz")
    assert str(err.value) == f"word-vector file {str(tmp_path / 'nope.npz')!r} does not exist"
