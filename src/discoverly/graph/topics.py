"""Topics: LDA (scikit-learn) over title, abstract and body, each topic named by one word.

A topic's label is its *most characteristic frequent term*: among the ``label_candidates`` words
with the highest probability in the topic, the one with the largest contribution to the topic's
divergence from the corpus, ``p(w|t) * log(p(w|t) / p(w))``. Plain top-probability labels repeat
the field's commonest words ("language", "model") across topics; lift alone picks rare words. Labels are made
unique across topics. Each document gets its dominant topic, plus any other topic holding at least
``min_share`` of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError, NotFittedError
from discoverly.graph.concepts import GENERIC_WORDS, STOP_WORDS

__all__ = ["TopicModel"]

log = logging.getLogger(__name__)


@dataclass
class TopicModel:
    """Latent Dirichlet allocation with labelled topics.

    ``n_topics`` (default 10) is the number of topics; ``rng`` seeds scikit-learn's LDA.
    ``learning_method`` ("batch" or "online"), ``max_iter`` (passes over the corpus),
    ``batch_size`` (online mini-batch) and ``max_doc_update_iter`` (E-step iterations per document)
    are scikit-learn's settings; their cost and topic quality on AAN are in ``benchmarks/graph.md``.
    After ``fit``: ``labels`` (one word per topic), ``top_terms`` (the ``n_terms`` most probable
    words of each topic) and ``term_weights`` (topics x vocabulary, rows sum to 1).
    """

    n_topics: int = 10
    max_features: int = 20_000
    min_df: int = 3
    max_df: float = 0.5
    max_iter: int = 10
    learning_method: str = "batch"
    batch_size: int = 2048
    max_doc_update_iter: int = 100
    label_candidates: int = 15
    n_terms: int = 10
    min_share: float = 0.3
    rng: int | None = 0
    labels: list[str] = field(default_factory=list, init=False)
    top_terms: list[list[str]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if self.n_topics < 2:
            raise ConfigError(f"n_topics must be at least 2, got {self.n_topics}")
        if self.learning_method not in ("batch", "online"):
            raise ConfigError(f"learning_method must be 'batch' or 'online', got {self.learning_method!r}")
        if self.max_iter < 1 or self.batch_size < 1 or self.max_doc_update_iter < 1:
            raise ConfigError("max_iter, batch_size and max_doc_update_iter must be at least 1")
        if not 0 < self.min_share <= 1:
            raise ConfigError(f"min_share must be in (0, 1], got {self.min_share}")

    def fit(self, texts: Sequence[str]) -> TopicModel:
        """Fit LDA on ``texts`` and label the topics."""
        sk_text = require("sklearn.feature_extraction.text", extra="graph", purpose="LDA topics")
        sk_lda = require("sklearn.decomposition", extra="graph", purpose="LDA topics")
        docs = list(texts)
        min_df = self.min_df if len(docs) >= 10 * self.min_df else 1
        self._vectorizer = sk_text.CountVectorizer(
            lowercase=True, stop_words=sorted(STOP_WORDS | GENERIC_WORDS),
            token_pattern=r"(?u)\b[^\W\d_](?:[^\W\d_]|-)+\b",  # letters of any alphabet: "schrödinger" was dropped
            max_features=self.max_features, min_df=min_df, max_df=self.max_df if len(docs) >= 20 else 1.0)
        try:
            counts = self._vectorizer.fit_transform(docs)
        except ValueError as exc:  # empty vocabulary
            raise DataError(f"cannot fit topics: the texts have no usable words ({exc}); give titles or abstracts, "
                            "or build without topics (graph build --topics 0; build_graph_folder(topics=False))"
                            ) from exc
        self._lda = sk_lda.LatentDirichletAllocation(
            n_components=self.n_topics, max_iter=self.max_iter, learning_method=self.learning_method,
            batch_size=self.batch_size, max_doc_update_iter=self.max_doc_update_iter, random_state=self.rng, n_jobs=1)
        self._lda.fit(counts)
        vocab = np.asarray(self._vectorizer.get_feature_names_out())
        weights = self._lda.components_ / self._lda.components_.sum(axis=1, keepdims=True)
        self.term_weights = weights
        corpus = np.asarray(counts.sum(axis=0)).ravel().astype(np.float64)
        corpus /= corpus.sum()
        score = weights * np.log(np.maximum(weights, 1e-12) / np.maximum(corpus, 1e-12))
        self.labels = []
        used: set[str] = set()
        for t in range(self.n_topics):
            order = np.argsort(-weights[t])
            cands = order[: self.label_candidates]
            best = next((vocab[i] for i in cands[np.argsort(-score[t, cands])] if vocab[i] not in used), None)
            if best is None:  # every candidate taken: fall back to the next most probable unused word
                best = next((vocab[i] for i in order if vocab[i] not in used), f"topic-{t}")
            used.add(str(best))
            self.labels.append(str(best))
        self.top_terms = [[str(vocab[i]) for i in np.argsort(-weights[t])[: self.n_terms]]
                          for t in range(self.n_topics)]
        log.info("topics: %s", ", ".join(self.labels))
        return self

    def _check(self) -> None:
        if not hasattr(self, "_lda"):
            raise NotFittedError("this TopicModel is not fitted; call fit(texts) first")

    def distribution(self, texts: Sequence[str]) -> np.ndarray:
        """Topic shares of each text, shape ``(len(texts), n_topics)``, rows sum to 1."""
        self._check()
        dist = self._lda.transform(self._vectorizer.transform(list(texts)))
        return np.asarray(dist, dtype=np.float64)

    def assign(self, texts: Sequence[str]) -> list[list[str]]:
        """The topic labels of each text: its dominant topic, then any other with >= ``min_share``.
        A text with no word of the model's vocabulary (e.g. a paper without title or abstract) has
        no topic: LDA gives it the prior's even shares, which made it a paper of the first topic
        (of every topic, with 2 or 3)."""
        self._check()
        counts = self._vectorizer.transform(list(texts))  # once: the shares and the word counts
        dist = np.asarray(self._lda.transform(counts), dtype=np.float64)
        words = np.asarray(counts.sum(axis=1)).ravel()
        out: list[list[str]] = []
        for row, n_words in zip(dist, words, strict=True):
            if n_words == 0:
                out.append([])
                continue
            order = np.argsort(-row)
            keep = [order[0], *[t for t in order[1:] if row[t] >= self.min_share]]
            out.append([self.labels[t] for t in keep])
        return out

    def dominant(self, texts: Sequence[str]) -> np.ndarray:
        """Index of the dominant topic of each text."""
        return np.argmax(self.distribution(texts), axis=1)
