"""Query classification: which catalogue category does a query ask for?

A multinomial naive Bayes model over word, word-pair and character-trigram features, trained on
(text, category) pairs from two sources: the catalogue itself (each item's descriptive text
labelled with its category) and the search log (each query labelled with the category of the item
bought after it). Character trigrams make it robust to typos and unseen inflections. The model is
stored as sparse arrays (no pickle)::

    clf = QueryClassifier().fit(texts, labels, weights=weights)
    clf.predict(["choc chip cookies"], k=3)   # [[('COOKIES/CONES', 0.91), ...]]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from discoverly.errors import ConfigError, DataError, NotFittedError
from discoverly.search.normalize import TextNormalizer

__all__ = ["QueryClassifier"]


class QueryClassifier:
    """Naive Bayes over sparse text features; ``alpha`` is the additive smoothing."""

    def __init__(self, *, alpha: float = 0.1, char_ngrams: bool = True,
                 normalizer: TextNormalizer | None = None) -> None:
        if alpha <= 0:
            raise ConfigError(f"alpha must be positive, got {alpha}")
        self.alpha = alpha
        self.char_ngrams = char_ngrams
        self.normalizer = normalizer or TextNormalizer()
        self.classes: list[str] = []
        self._features: dict[str, int] = {}
        self._log_ratio: sp.csr_matrix | None = None  # features x classes: log(1 + count / alpha)
        self._class_const = np.zeros(0)  # per class: log(alpha) - log(total + alpha * n_features)
        self._log_prior = np.zeros(0)

    # -- features ------------------------------------------------------------------------------
    def _feature_strings(self, text: str) -> list[str]:
        toks = self.normalizer.tokens(text)
        feats = [f"w:{t}" for t in toks]
        feats += [f"b:{a}_{b}" for a, b in itertools.pairwise(toks)]
        if self.char_ngrams:
            for t in toks:
                if t.isalpha():
                    padded = f"<{t}>"
                    feats += [f"c:{padded[i:i + 3]}" for i in range(len(padded) - 2)]
        return feats

    def _matrix(self, texts: Sequence[str], *, grow: bool) -> sp.csr_matrix:
        rows: list[int] = []
        cols: list[int] = []
        for r, text in enumerate(texts):
            # first-occurrence order, not a set's: feature numbers must not depend on the process's string hashing
            for f in dict.fromkeys(self._feature_strings(text)):
                c = self._features.get(f)
                if c is None and grow:
                    c = self._features[f] = len(self._features)
                if c is not None:
                    rows.append(r)
                    cols.append(c)
        data = np.ones(len(rows), dtype=np.float32)
        return sp.csr_matrix((data, (rows, cols)), shape=(len(texts), len(self._features)))

    # -- fitting and prediction ----------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[str], *,
            weights: Sequence[float] | None = None) -> QueryClassifier:
        """Learn from ``texts`` labelled with ``labels``; ``weights`` counts each example (default 1)."""
        if len(texts) != len(labels):
            raise DataError(f"{len(texts)} texts but {len(labels)} labels; give one label per text")
        keep = [i for i, lab in enumerate(labels) if lab is not None and str(lab).strip()]
        if not keep:
            raise DataError("no labelled example to learn query categories from")
        texts = [texts[i] for i in keep]
        labs = [str(labels[i]) for i in keep]
        w = np.ones(len(keep)) if weights is None else np.asarray(weights, dtype=np.float64)[keep]
        self.classes = sorted(set(labs))
        cls_index = {c: i for i, c in enumerate(self.classes)}
        y = np.array([cls_index[c] for c in labs])
        self._features = {}
        X = self._matrix(texts, grow=True)
        Y = sp.csr_matrix((w, (y, np.arange(len(y)))), shape=(len(self.classes), len(y)))
        counts = (Y @ X).T.tocsr()  # features x classes, weighted counts
        counts.sum_duplicates()
        n_feat = max(len(self._features), 1)
        totals = np.asarray(counts.sum(axis=0)).ravel()
        self._class_const = np.log(self.alpha) - np.log(totals + self.alpha * n_feat)
        ratio = counts.copy()
        ratio.data = np.log1p(ratio.data / self.alpha).astype(np.float32)
        self._log_ratio = ratio
        prior = np.bincount(y, weights=w, minlength=len(self.classes))
        self._log_prior = np.log(prior / prior.sum())
        return self

    def _check(self) -> sp.csr_matrix:
        if self._log_ratio is None:
            raise NotFittedError("the query classifier is not fitted: call fit() or load a fitted engine")
        return self._log_ratio

    def log_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Log posterior of every class, shape ``(len(texts), n_classes)``; a text with no known
        feature gets the prior."""
        ratio = self._check()
        X = self._matrix(texts, grow=False)
        n_active = np.asarray(X.sum(axis=1)).ravel()
        joint = np.asarray((X @ ratio).todense()) + n_active[:, None] * self._class_const[None, :] + self._log_prior
        joint -= joint.max(axis=1, keepdims=True)
        return joint - np.log(np.exp(joint).sum(axis=1, keepdims=True))

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.exp(self.log_proba(texts))

    def predict(self, texts: Sequence[str], k: int = 1) -> list[list[tuple[str, float]]]:
        """The ``k`` most probable categories of each text with their probabilities."""
        p = self.proba(texts)
        top = np.argsort(-p, axis=1, kind="stable")[:, :k]
        return [[(self.classes[j], float(p[i, j])) for j in row] for i, row in enumerate(top)]

    # -- persistence ---------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, list[str]]]:
        ratio = self._check()
        manifest = {"alpha": self.alpha, "char_ngrams": self.char_ngrams}
        arrays = {"classify.data": ratio.data, "classify.indices": ratio.indices, "classify.indptr": ratio.indptr,
                  "classify.class_const": self._class_const, "classify.log_prior": self._log_prior}
        feats = sorted(self._features, key=self._features.__getitem__)
        return manifest, arrays, {"classes": self.classes, "features": feats}

    @classmethod
    def from_arrays(cls, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                    lists: Mapping[str, Sequence[str]], *, normalizer: TextNormalizer | None = None) -> QueryClassifier:
        obj = cls(alpha=float(manifest["alpha"]), char_ngrams=bool(manifest["char_ngrams"]), normalizer=normalizer)
        obj.classes = list(lists["classes"])
        obj._features = {f: i for i, f in enumerate(lists["features"])}
        obj._log_ratio = sp.csr_matrix((arrays["classify.data"], arrays["classify.indices"], arrays["classify.indptr"]),
                                       shape=(len(obj._features), len(obj.classes)))
        obj._class_const = arrays["classify.class_const"]
        obj._log_prior = arrays["classify.log_prior"]
        return obj
