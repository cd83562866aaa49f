"""Word embeddings for the privacy mechanisms: the words, their vectors, and the scale ε is stated on.

Loaders cover the formats people have: the project's npz export (arrays ``words``, ``vectors`` and
optionally ``zipf``), GloVe and word2vec text files (with or without the ``"n d"`` header line), and a
loaded spaCy pipeline or vocabulary::

    emb = WordEmbeddings.default()                    # DISCOVERLY_DATA_DIR/embeddings/… (14,296 × 300)
    emb = WordEmbeddings.from_text("glove.6B.300d.txt", limit=50_000)
    emb.lookup(["good", "movie", "zzzz"])             # array([ 70, 451,  -1])

**The vector scale.** A metric-DP guarantee ``P(y | w) ≤ exp(ε·d(w, w')) · P(y | w')`` is only meaningful
together with the distance ``d`` it is stated on. ``scale="raw"`` (the default) keeps the vectors as they
are (for the default vocabulary: median norm ≈ 41, median nearest-neighbour distance ≈ 26);
``"unit"`` normalises every vector to length 1; a number multiplies every vector by it. The scale is
recorded in every mechanism's statistics and artifacts, and :attr:`WordEmbeddings.median_nn_distance`
gives the typical distance between a word and its nearest neighbour on that scale, so an ε can be
read as "``exp(ε · median_nn_distance)``-indistinguishable from a typical nearest neighbour".
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError, DatasetNotFoundError

__all__ = ["WordEmbeddings", "DEFAULT_EMBEDDINGS"]

log = logging.getLogger(__name__)

#: the word-vector file of the public data folder (see its README)
DEFAULT_EMBEDDINGS = "embeddings/en_core_web_md_3.7.1_words_300d_f16.npz"


class WordEmbeddings:
    """An immutable vocabulary of ``n`` words with ``d``-dimensional float32 vectors.

    ``zipf`` optionally holds each word's frequency on the Zipf scale (log10 of occurrences per
    billion words); privacy statistics are summarised by its buckets.
    """

    __slots__ = ("_fingerprint", "_index", "_nn_median", "name", "scale", "vectors", "words", "zipf")

    def __init__(self, words: Sequence[str] | np.ndarray, vectors: np.ndarray, *,
                 zipf: np.ndarray | None = None, name: str = "embeddings", scale: str = "raw") -> None:
        word_list = [str(w) for w in (words.tolist() if isinstance(words, np.ndarray) else words)]
        vec = np.asarray(vectors)
        if vec.ndim != 2:
            raise DataError(f"word vectors must be a 2-d array (words × dimensions), got shape {vec.shape}")
        if vec.shape[0] != len(word_list):
            raise DataError(f"{len(word_list)} words but {vec.shape[0]} vectors; there must be one vector per word")
        if len(word_list) < 2:
            raise DataError(f"a vocabulary needs at least 2 words to perturb between, got {len(word_list)}")
        if vec.shape[1] < 1:
            raise DataError("word vectors have 0 dimensions")
        vec = np.ascontiguousarray(vec, dtype=np.float32)
        if not np.isfinite(vec).all():
            bad = int(np.flatnonzero(~np.isfinite(vec).all(axis=1))[0])
            raise DataError(f"the vector of {word_list[bad]!r} (row {bad}) holds NaN or infinity; "
                            "remove that word or fix the file")
        index: dict[str, int] = {}
        for i, word in enumerate(word_list):
            if not word or any(ch.isspace() for ch in word):
                raise DataError(f"word {i} ({word!r}) is empty or contains whitespace; "
                                "a vocabulary word must be a single token")
            if word in index:
                raise DataError(f"the word {word!r} appears twice (rows {index[word]} and {i}); "
                                "keep one vector per word")
            index[word] = i
        if zipf is not None:
            zipf = np.asarray(zipf, dtype=np.float32)
            if zipf.shape != (len(word_list),):
                raise DataError(f"zipf must hold one number per word ({len(word_list)}), got shape {zipf.shape}")
        vec.setflags(write=False)
        self.words: tuple[str, ...] = tuple(word_list)
        self.vectors = vec
        self.zipf = zipf
        self.name = name
        self.scale = scale
        self._index = index
        self._fingerprint: str | None = None
        self._nn_median: float | None = None

    # ------------------------------------------------------------------ loaders
    @classmethod
    def from_npz(cls, path: str | os.PathLike[str], *, name: str | None = None) -> WordEmbeddings:
        """Arrays ``words`` and ``vectors`` (and optionally ``zipf``) from an ``.npz`` file (no pickle)."""
        p = _vector_file(path)
        try:
            with np.load(p, allow_pickle=False) as npz:
                missing = [k for k in ("words", "vectors") if k not in npz.files]
                if missing:
                    raise DataError(f"{str(p)!r} lacks the array(s) {missing}; expected 'words' and 'vectors' "
                                    f"(and optionally 'zipf'), found {npz.files}")
                words = npz["words"]
                vectors = npz["vectors"]
                zipf = npz["zipf"] if "zipf" in npz.files else None
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read word vectors from {str(p)!r}: {exc}") from exc
        return cls(words, vectors, zipf=zipf, name=name or p.stem)

    @classmethod
    def from_text(cls, path: str | os.PathLike[str], *, limit: int | None = None,
                  name: str | None = None) -> WordEmbeddings:
        """GloVe (``word v1 … vd`` per line) or word2vec text (the same after an ``"n d"`` header).

        ``limit`` keeps the first ``limit`` words (these files list frequent words first). A word
        seen twice keeps its first vector. A word with spaces in it is left out (no token of a text can
        be it; GloVe 840B has a few, such as ``. . .``).
        """
        p = _vector_file(path)
        if limit is not None and limit < 2:
            raise ConfigError(f"limit must be at least 2 words, got {limit}")
        words: list[str] = []
        rows: list[np.ndarray] = []
        seen: set[str] = set()
        dim: int | None = None
        spaced = 0
        with open(p, encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, start=1):
                parts = line.rstrip("\n").rstrip().split(" ")
                if lineno == 1 and len(parts) == 2 and all(x.isdigit() for x in parts):
                    dim = int(parts[1])  # word2vec header "n d"
                    continue
                if len(parts) < 2:
                    continue  # blank line
                if dim is None:
                    dim = len(parts) - 1
                if len(parts) - 1 > dim and not any(_is_number(x) for x in parts[1:-dim]):
                    spaced += 1  # a word with spaces (GloVe 840B's '. . .'), which no text token can be
                    continue
                if len(parts) - 1 != dim:
                    raise DataError(f"{p!s}:{lineno}: expected a word and {dim} numbers, found "
                                    f"{len(parts) - 1} fields after {parts[0]!r}")
                word = parts[0]
                if word in seen:
                    continue
                try:
                    row = np.asarray(parts[1:], dtype=np.float32)
                except ValueError as exc:
                    raise DataError(f"{p!s}:{lineno}: the vector of {word!r} is not numeric: {exc}") from exc
                seen.add(word)
                words.append(word)
                rows.append(row)
                if limit is not None and len(words) >= limit:
                    break
        if spaced:
            log.info("%s: left out %d words with spaces in them (no token of a text can be one)", p, spaced)
        if not rows:
            raise DataError(f"{str(p)!r} holds no word vectors")
        return cls(words, np.vstack(rows), name=name or p.stem)

    @classmethod
    def from_spacy(cls, source: Any, *, name: str | None = None) -> WordEmbeddings:
        """The vectors of a spaCy pipeline, a spaCy ``Vocab``, or a pipeline name to ``spacy.load``.

        Every string key that has a vector becomes a word (spaCy maps several keys, such as
        ``"the"``/``"The"``, to one row; they become separate words with the same vector).
        """
        if isinstance(source, str):
            spacy = require("spacy", package="spacy", purpose="loading spaCy word vectors")
            source = spacy.load(source)
        vocab = getattr(source, "vocab", source)
        vectors = getattr(vocab, "vectors", None)
        strings = getattr(vocab, "strings", None)
        if vectors is None or strings is None or not hasattr(vectors, "key2row"):
            raise DataError(f"cannot read spaCy vectors from a {type(source).__name__}: pass a spaCy pipeline "
                            "(spacy.load('en_core_web_md')), its .vocab, or the pipeline's name")
        data = np.asarray(getattr(vectors, "data", None))
        words: list[str] = []
        rows: list[int] = []
        for key, row in sorted(vectors.key2row.items(), key=lambda kv: (kv[1], kv[0])):
            word = strings[key]
            if word and not any(ch.isspace() for ch in word):
                words.append(word)
                rows.append(int(row))
        if not words:
            raise DataError("the spaCy vocabulary has no word vectors (a small 'sm' pipeline has none; use 'md' "
                            "or 'lg')")
        return cls(words, data[np.asarray(rows)], name=name or "spacy")

    @classmethod
    def default(cls, data_dir: str | os.PathLike[str] | None = None) -> WordEmbeddings:
        """The 14,296-word English vocabulary of the public data folder (``DISCOVERLY_DATA_DIR``)."""
        env = os.environ.get("DISCOVERLY_DATA_DIR", "")
        root = Path(data_dir) if data_dir is not None else Path(env)
        path = root / DEFAULT_EMBEDDINGS
        own = ("or give your own word vectors: WordEmbeddings.from_npz / from_text / from_spacy (CLI: --embeddings "
               "FILE, a .npz or a GloVe/word2vec text file)")
        if data_dir is None and not env:  # the path would be relative to wherever the command runs
            raise DatasetNotFoundError(f"the default word vectors are read from the public data folder, but "
                                       f"DISCOVERLY_DATA_DIR is not set: set it to the folder that holds "
                                       f"{DEFAULT_EMBEDDINGS}, {own}")
        if not path.is_file():
            raise DatasetNotFoundError(f"the default word vectors are expected at {str(path)!r}; set "
                                       f"DISCOVERLY_DATA_DIR to the public data folder, {own}")
        return cls.from_npz(path, name="en_core_web_md-3.7.1")

    # ------------------------------------------------------------------ derived vocabularies
    def scaled(self, scale: str | float) -> WordEmbeddings:
        """The same words on another vector scale: ``"raw"``, ``"unit"`` (length 1) or a factor."""
        if scale == "raw":
            return self
        if scale == "unit":
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            if (norms == 0).any():
                bad = self.words[int(np.flatnonzero(norms[:, 0] == 0)[0])]
                raise DataError(f"the vector of {bad!r} is zero and cannot be normalised to unit length")
            return WordEmbeddings(self.words, self.vectors / norms, zipf=self.zipf, name=self.name, scale="unit")
        if isinstance(scale, numbers.Real) and not isinstance(scale, (bool, np.bool_)):  # numpy scalars too
            if not np.isfinite(scale) or scale <= 0:
                raise ConfigError(f"a scale factor must be a positive number, got {scale}")
            label = f"raw×{float(scale):g}" if self.scale == "raw" else f"{self.scale}×{float(scale):g}"
            return WordEmbeddings(self.words, self.vectors * np.float32(scale), zipf=self.zipf, name=self.name,
                                  scale=label)
        raise ConfigError(f"unknown vector scale {scale!r}; use 'raw', 'unit' or a positive number")

    def subset(self, words: Iterable[str] | int) -> WordEmbeddings:
        """A smaller vocabulary: the first ``n`` words, or the given words in the given order."""
        if isinstance(words, (float, np.floating, bool, np.bool_)):
            raise ConfigError(f"subset takes a number of words or the words, got {words!r}")
        if isinstance(words, (int, np.integer)):
            if words < 2:
                raise ConfigError(f"a vocabulary needs at least 2 words, got {words}")
            idx = np.arange(min(words, len(self)))
        else:
            words = list(words)  # a generator is read once: the lookup and the message both need it
            idx = self.lookup(words)
            if (idx < 0).any():
                missing = [w for w, i in zip(words, idx, strict=False) if i < 0][:5]
                raise DataError(f"words not in the vocabulary: {missing}")
        return WordEmbeddings([self.words[i] for i in idx], self.vectors[idx],
                              zipf=None if self.zipf is None else self.zipf[idx], name=self.name, scale=self.scale)

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __repr__(self) -> str:
        return f"WordEmbeddings({self.name!r}, {len(self):,} words × {self.dim}, scale={self.scale!r})"

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def is_lowercase(self) -> bool:
        """True when no word has an upper-case letter (text is then lowercased before lookup)."""
        return all(w == w.lower() for w in self.words)

    def index(self, word: str) -> int:
        """The row of ``word``, or -1 when it is out of vocabulary."""
        return self._index.get(word, -1)

    def lookup(self, tokens: Sequence[str]) -> np.ndarray:
        """Rows of ``tokens`` as int64 (-1 for out-of-vocabulary tokens)."""
        get = self._index.get
        return np.fromiter((get(t, -1) for t in tokens), dtype=np.int64, count=len(tokens))

    def fingerprint(self) -> str:
        """A short content hash of the words and vectors (keys cached neighbour lists)."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            h.update("\n".join(self.words).encode("utf-8"))
            h.update(self.vectors.tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    @property
    def median_nn_distance(self) -> float:
        """The median distance between a word and its nearest other word, on this scale."""
        if self._nn_median is None:
            from discoverly.privacy.nearest import neighbours

            self._nn_median = float(np.median(neighbours(self, 1).distances[:, 1]))
        return self._nn_median

    def zipf_buckets(self, edges: Sequence[float] = (3.0, 4.0, 5.0)) -> np.ndarray:
        """Each word's Zipf-frequency bucket label (``"<3"``, ``"3-4"``, …, ``"≥5"``); ``"?"`` without zipf."""
        if self.zipf is None:
            return np.full(len(self), "?", dtype=object)
        labels = [f"<{edges[0]:g}"] + [f"{a:g}-{b:g}" for a, b in itertools.pairwise(edges)]
        labels.append(f"≥{edges[-1]:g}")
        return np.asarray(labels, dtype=object)[np.searchsorted(np.asarray(edges), self.zipf, side="right")]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _vector_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`Path`; a :class:`DataError` when it is missing or a folder."""
    p = Path(path)
    if p.is_dir():  # "does not exist" was wrong, and left a spaCy pipeline folder unexplained
        raise DataError(f"{str(p)!r} is a folder, not a word-vector file; give a .npz file or a GloVe/word2vec "
                        "text file (a spaCy pipeline's vectors: WordEmbeddings.from_spacy)")
    if not p.is_file():
        raise DataError(f"word-vector file {str(p)!r} does not exist")
    return p
