"""Lexical retrieval: one bm25s index per catalogue field, combined with per-field weights.

The score of an item is ``sum_f weight_f * BM25_f(query, item.field_f)``: a field that names the
product (its type, its title) can count more than one that only describes it (its department).
The per-field scores are also features of the learning-to-rank model. bm25s computes the
per-term score matrices; they are stored as plain arrays (CSC data/indices/indptr and the token
list), so an index reloads without re-tokenising the catalogue::

    lex = LexicalRetriever(["title", "category"], weights={"title": 2.0})
    lex.fit({"title": [["whole", "milk"], ...], "category": [["dairy"], ...]})
    items, scores = lex.search(["milk"], k=10)
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from discoverly.dependencies import require
from discoverly.errors import ConfigError, NotFittedError

__all__ = ["LexicalRetriever", "ranked", "top_positions"]

log = logging.getLogger(__name__)


class LexicalRetriever:
    """BM25 per field (bm25s, Lucene variant) and their weighted sum."""

    def __init__(self, fields: Sequence[str], *, weights: Mapping[str, float] | None = None,
                 k1: float = 1.2, b: float = 0.75) -> None:
        if not fields:
            raise ConfigError("a lexical index needs at least one field")
        unknown = set(weights or {}) - set(fields)
        if unknown:
            raise ConfigError(f"weights name fields that are not indexed: {sorted(unknown)}; fields are {list(fields)}")
        bad = {f: w for f, w in (weights or {}).items() if not (np.isfinite(w) and w >= 0)}
        if bad:
            raise ConfigError(f"field weights must be finite and >= 0 (0 leaves a field out of the score), got {bad}")
        if k1 < 0 or not 0 <= b <= 1:
            raise ConfigError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.fields = tuple(fields)
        self.weights = np.array([float((weights or {}).get(f, 1.0)) for f in self.fields], dtype=np.float32)
        self.k1 = k1
        self.b = b
        self._models: list[Any] = []
        self._doc_terms: list[sp.csr_matrix] = []
        self.n_docs = 0

    # -- building ------------------------------------------------------------------------------
    def fit(self, field_tokens: Mapping[str, Sequence[Sequence[str]]], *, progress: bool = False) -> LexicalRetriever:
        """Index the tokens of every field (one token list per item, same item order in each field)."""
        bm25s = require("bm25s", purpose="lexical retrieval")
        missing = set(self.fields) - set(field_tokens)
        if missing:
            raise ConfigError(f"no tokens given for fields {sorted(missing)}")
        lengths = {len(field_tokens[f]) for f in self.fields}
        if len(lengths) != 1:
            raise ConfigError(f"every field needs one token list per item; got lengths {sorted(lengths)}")
        self.n_docs = lengths.pop()
        self._models = []
        cls = _fast_bm25_class(bm25s)
        for f in self.fields:
            vocab: dict[str, int] = {}
            ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in field_tokens[f]]
            if not vocab:  # a field without a single token: bm25s needs a non-empty vocabulary
                vocab[""] = 0
            model = cls(k1=self.k1, b=self.b, method="lucene")
            model.index((ids, vocab), show_progress=progress)
            self._models.append(model)
        self._doc_terms = [self._doc_term_matrix(m) for m in self._models]
        log.info("indexed %d items in %d fields", self.n_docs, len(self.fields))
        return self

    @staticmethod
    def _doc_term_matrix(model: Any) -> sp.csr_matrix:
        s = model.scores
        n_terms = len(s["indptr"]) - 1
        csc = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(int(s["num_docs"]), n_terms))
        return csc.tocsr()

    def _check(self) -> None:
        if not self._models:
            raise NotFittedError("the lexical index is empty: call fit() or load an index first")

    # -- scoring -------------------------------------------------------------------------------
    def token_ids(self, tokens: Sequence[str]) -> list[np.ndarray]:
        """Per field, the ids of the query tokens that field's vocabulary knows."""
        self._check()
        out = []
        for m in self._models:
            vocab = m.vocab_dict
            out.append(np.array([vocab[t] for t in tokens if t and t in vocab], dtype=np.int32))
        return out

    def field_scores(self, tokens: Sequence[str], ids: list[np.ndarray] | None = None) -> np.ndarray:
        """BM25 of every item in every field, shape ``(n_fields, n_items)`` float32."""
        ids = self.token_ids(tokens) if ids is None else ids
        out = np.zeros((len(self.fields), self.n_docs), dtype=np.float32)
        for f, (m, tid) in enumerate(zip(self._models, ids, strict=True)):
            # bm25s' own scoring (get_scores_from_ids) accumulates with np.add.at; within one
            # token's column the documents are distinct, so a plain fancy-index add is the same
            # sum and several times faster (tests compare both)
            s = m.scores
            row = out[f]
            for t in tid.tolist():
                a, b = s["indptr"][t], s["indptr"][t + 1]
                row[s["indices"][a:b]] += s["data"][a:b]
        return out

    def scores(self, tokens: Sequence[str], *, weights: np.ndarray | None = None) -> np.ndarray:
        """The weighted sum over fields of BM25, one score per item."""
        w = self.weights if weights is None else np.asarray(weights, dtype=np.float32)
        return w @ self.field_scores(tokens)

    def search(self, tokens: Sequence[str], k: int = 10, *,
               prior: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best items (indices, scores), items with no matching token left out.

        ``prior`` (one value per item in [0, 1)) only orders items of equal score, e.g. by
        popularity, so a cut through a large tie keeps the items people buy.
        """
        s = self.scores(tokens)
        return ranked(s, k, prior=prior)

    def coverage(self, ids: list[np.ndarray], docs: np.ndarray, *, n_query: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Per field and item in ``docs``: the share of the query's distinct tokens the field
        holds, and whether the field holds exactly the query's tokens (an exact field match).
        ``ids`` are the query's token ids per field (:meth:`token_ids`); ``n_query`` is the number
        of distinct query tokens (default: the most any field knows), so a token no field knows
        still counts as uncovered."""
        docs = np.asarray(docs, dtype=np.int64)
        if n_query is None:
            n_query = max((np.unique(t).size for t in ids), default=0)
        cov = np.zeros((len(self.fields), docs.size), dtype=np.float32)
        exact = np.zeros((len(self.fields), docs.size), dtype=np.float32)
        if n_query == 0 or docs.size == 0:
            return cov, exact
        for f, (dt, tid) in enumerate(zip(self._doc_terms, ids, strict=True)):
            if tid.size == 0:
                continue
            starts = dt.indptr[docs]
            lens = dt.indptr[docs + 1] - starts
            total = int(lens.sum())
            if total == 0:
                continue
            mark = np.zeros(dt.shape[1], dtype=bool)
            mark[tid] = True
            ends = np.cumsum(lens)
            local = ends - lens
            hit = mark[dt.indices[np.repeat(starts - local, lens) + np.arange(total)]]
            csum = np.concatenate(([0], np.cumsum(hit)))
            hits = csum[ends] - csum[local]
            q = int(mark.sum())
            cov[f] = hits / n_query
            exact[f] = (q == n_query) & (hits == q) & (lens == hits)
        return cov, exact

    def vocabulary(self) -> dict[str, int]:
        """Every token of every field with its document frequency summed over fields."""
        self._check()
        counts: dict[str, int] = {}
        for m in self._models:
            df = np.diff(m.scores["indptr"])
            for tok, tid in m.vocab_dict.items():
                if tok:
                    counts[tok] = counts.get(tok, 0) + int(df[tid])
        return counts

    # -- persistence ---------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, list[str]]]:
        """Manifest entries, arrays and per-field token lists that :meth:`from_arrays` reads back."""
        self._check()
        arrays: dict[str, np.ndarray] = {}
        vocabs: dict[str, list[str]] = {}
        for f, m in zip(self.fields, self._models, strict=True):
            for part in ("data", "indices", "indptr"):
                arrays[f"lexical.{f}.{part}"] = np.asarray(m.scores[part])
            inv = sorted(m.vocab_dict.items(), key=lambda kv: kv[1])
            vocabs[f] = [tok for tok, _ in inv]
        manifest = {"fields": list(self.fields), "weights": self.weights.tolist(), "k1": self.k1, "b": self.b,
                    "n_docs": self.n_docs}
        return manifest, arrays, vocabs

    @classmethod
    def from_arrays(cls, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                    vocabs: Mapping[str, Sequence[str]]) -> LexicalRetriever:
        bm25s = require("bm25s", purpose="lexical retrieval")
        fields = list(manifest["fields"])
        obj = cls(fields, weights=dict(zip(fields, manifest["weights"], strict=True)),
                  k1=manifest["k1"], b=manifest["b"])
        obj.n_docs = int(manifest["n_docs"])
        for f in fields:
            m = bm25s.BM25(k1=obj.k1, b=obj.b, method="lucene")
            m.scores = {"data": arrays[f"lexical.{f}.data"], "indices": arrays[f"lexical.{f}.indices"],
                        "indptr": arrays[f"lexical.{f}.indptr"], "num_docs": obj.n_docs}
            m.vocab_dict = {tok: i for i, tok in enumerate(vocabs[f])}
            m.nonoccurrence_array = None
            obj._models.append(m)
        obj._doc_terms = [obj._doc_term_matrix(m) for m in obj._models]
        return obj


_FAST_BM25: dict[int, type] = {}


def _fast_bm25_class(bm25s: Any) -> type:
    """A ``bm25s.BM25`` whose index build is vectorised with numpy.

    bm25s builds its score matrix in a Python loop over documents (about 4 s per field of 92k
    products here); its documented extension point is ``build_index_from_ids``, which this
    subclass overrides with the same arithmetic done on whole arrays. Queries are scored by bm25s
    itself, and the tests compare the matrices with those of plain ``bm25s.BM25``.
    """
    key = id(bm25s)
    if key in _FAST_BM25:
        return _FAST_BM25[key]
    # bm25s sets its own logger to DEBUG on import, which prints its debug lines wherever logging
    # is configured (the CLI, the service); let it follow the application's level instead
    logging.getLogger("bm25s").setLevel(logging.NOTSET)

    class VectorizedBM25(bm25s.BM25):  # type: ignore[misc,name-defined]
        def build_index_from_ids(self, unique_token_ids: Any, corpus_token_ids: Any,
                                 show_progress: bool = True, leave_progress: bool = False) -> dict[str, Any]:
            if self.method not in ("lucene", "robertson", "atire"):
                return super().build_index_from_ids(unique_token_ids, corpus_token_ids,  # type: ignore[no-any-return]
                                                    show_progress=show_progress, leave_progress=leave_progress)
            self.nonoccurrence_array = None
            n_docs = len(corpus_token_ids)
            n_vocab = len(unique_token_ids)
            lengths = np.fromiter((len(d) for d in corpus_token_ids), dtype=np.int64, count=n_docs)
            flat = np.fromiter(itertools.chain.from_iterable(corpus_token_ids), dtype=np.int64,
                               count=int(lengths.sum()))
            doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
            avg_len = lengths.mean() if n_docs else 0.0
            keys, tf = np.unique(doc * max(n_vocab, 1) + flat, return_counts=True)
            d, t = keys // max(n_vocab, 1), keys % max(n_vocab, 1)
            df = np.bincount(t, minlength=n_vocab)
            idf_fn = bm25s.scoring._select_idf_scorer(self.idf_method)
            idf = np.zeros(n_vocab, dtype=self.dtype)
            nz = np.flatnonzero(df)
            idf[nz] = [idf_fn(int(x), N=n_docs) for x in df[nz]]
            tfc_fn = bm25s.scoring._select_tfc_scorer(self.method)
            tfc = tfc_fn(tf_array=tf.astype(self.dtype), l_d=lengths[d], l_avg=avg_len, k1=self.k1, b=self.b,
                         delta=self.delta)
            scores = (idf[t] * tfc).astype(self.dtype)
            order = np.lexsort((d, t))
            indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
            return {"data": scores[order], "indices": d[order].astype(self.int_dtype), "indptr": indptr,
                    "num_docs": n_docs}

    _FAST_BM25[key] = VectorizedBM25
    return VectorizedBM25


def ranked(scores: np.ndarray, k: int, *, prior: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items of highest positive score, best first; ties ordered by ``prior`` (higher
    first, e.g. popularity, so a cut through a large tie keeps the items people buy), then by index."""
    pos = np.flatnonzero(scores > 0)
    if pos.size == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    top = top_positions(scores[pos], k, tiebreak=None if prior is None else prior[pos])
    return pos[top], scores[pos[top]].astype(np.float32)


def top_positions(s: np.ndarray, k: int, *, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Positions of the ``k`` largest values of ``s``, best first; ties by ``tiebreak`` (higher
    first), then by lower position. Linear time apart from sorting the ``k`` selected."""
    n = s.size
    tb = np.zeros(n, dtype=np.float32) if tiebreak is None else np.asarray(tiebreak)
    if k >= n:
        return np.lexsort((np.arange(n), -tb, -s))
    kth = np.partition(s, n - k)[n - k]
    above = np.flatnonzero(s > kth)
    tied = np.flatnonzero(s == kth)
    if tiebreak is not None and tied.size > k - above.size:
        tied = tied[np.argsort(-tb[tied], kind="stable")]
    sel = np.concatenate([above, tied[: k - above.size]])
    return sel[np.lexsort((sel, -tb[sel], -s[sel]))]
