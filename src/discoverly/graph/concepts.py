"""Concepts: specific key phrases ("dependency parsing", "asthma") mined into a controlled vocabulary.

The default method, ``"collocations"``, needs no model:

1. Text is lower-cased and split into *candidate runs*: maximal word sequences without stop words,
   generic academic words ("approach", "using", "novel"), digits or punctuation (as in RAKE).
2. Every n-gram (n <= ``max_n``) inside a run is a candidate. A multi-word candidate becomes a
   concept when it occurs in at least ``min_df`` documents and its parts are a statistical
   collocation: Dunning's log-likelihood ratio of its best two-part split is at least ``min_llr``
   (10.83 = p < 0.001 for a chi-squared with one degree of freedom).
3. A single word becomes a concept when it occurs in at least ``min_df`` documents and in at most
   ``max_df`` of them (very frequent words of a field, such as "language" in computational
   linguistics, are topics, not concepts).
   Every concept must end in a plausible noun-phrase head: a word that ends at least
   ``min_head_ratio`` of the runs it occurs in (English noun phrases end in their head noun, so
   this drops modifiers such as "statistical" and run-initial verbs such as "integrating").
   Single words too general to stand alone ("model", "analysis", :data:`GENERIC_HEADS`) are
   concepts only inside a phrase.
   A phrase that occurs mostly (``max_nested`` of the time) inside one longer concept is a fragment
   of it ("sense disambiguation" inside "word sense disambiguation") and is dropped.
4. Each document is tagged with every vocabulary phrase that occurs inside one of its runs
   (nested phrases included, so a paper on "statistical machine translation" is also about
   "machine translation").

``method="yake"`` uses the YAKE! keyword extractor from PyPI per document instead and keeps the
phrases that at least ``min_df`` documents share. Precision of both on an inspected sample is in
``docs/graph.md``.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from discoverly.dependencies import require
from discoverly.errors import ConfigError, NotFittedError

__all__ = ["ConceptExtractor", "STOP_WORDS", "GENERIC_WORDS", "GENERIC_HEADS", "candidate_runs"]

log = logging.getLogger(__name__)

STOP_WORDS = frozenset([
    "a", "about", "above", "across", "after", "again", "against", "all", "almost", "alone", "along", "already",
    "also", "although", "always", "am", "among", "an", "and", "another", "any", "anyone", "anything", "are",
    "around", "as", "at", "be", "became", "because", "become", "becomes", "been", "before", "being", "below",
    "between", "beyond", "both", "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "done",
    "down", "during", "each", "either", "else", "enough", "etc", "even", "ever", "every", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his",
    "how", "however", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "least", "less", "many",
    "may", "me", "might", "more", "most", "much", "must", "my", "myself", "neither", "no", "nor", "not", "now",
    "of", "off", "often", "on", "once", "one", "only", "onto", "or", "other", "others", "otherwise", "our",
    "ours", "ourselves", "out", "over", "own", "per", "perhaps", "rather", "same", "several", "shall", "she",
    "should", "since", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves",
    "then", "there", "therefore", "these", "they", "this", "those", "though", "through", "throughout", "thus",
    "to", "together", "too", "toward", "towards", "under", "until", "up", "upon", "us", "very", "via", "was",
    "we", "well", "were", "what", "whatever", "when", "where", "whether", "which", "while", "who", "whom",
    "whose", "why", "will", "with", "within", "without", "would", "yet", "you", "your", "yours", "yourself",
    "versus", "vs",
])

#: words of academic writing that are never a concept on their own and break candidate runs
GENERIC_WORDS = frozenset([
    "approach", "approaches", "based", "using", "use", "used", "uses", "new", "novel", "study", "studies",
    "toward", "method", "methods", "methodology", "framework", "result", "results", "paper", "papers", "work",
    "works", "problem", "problems", "issue", "issues", "case", "cases", "part", "parts", "improving",
    "improved", "improvement", "improvements", "improve", "efficient", "effective", "simple", "general",
    "generic", "large", "small", "first", "second", "third", "two", "three", "four", "five", "multiple",
    "different", "various", "certain", "specific", "particular", "good", "better", "best", "high", "low",
    "higher", "lower", "fast", "faster", "automatic", "automatically", "robust", "preliminary", "initial",
    "experiment", "experiments", "experimental", "evaluation", "evaluating", "evaluate", "comparison",
    "comparing", "compare", "comparative", "report", "reports", "description", "describing", "overview",
    "introduction", "survey", "towards", "application", "applications", "applied", "system", "systems",
    "technique", "techniques", "tool", "tools", "toolkit", "task", "tasks", "aspect", "aspects", "issue",
    "role", "effect", "effects", "investigation", "investigating", "exploring", "explore", "exploiting",
    "exploit", "beyond", "revisited", "revisiting", "proceedings", "workshop", "conference", "session",
    "tutorial", "invited", "talk", "panel", "abstract", "demo", "demonstration", "some", "way", "ways", "kind",
    "kinds", "type", "types", "level", "levels", "within", "without",
])

#: nouns too general to be a concept alone, though fine inside a phrase ("language model", "data sparsity")
GENERIC_HEADS = frozenset([
    "model", "models", "modeling", "modelling", "analysis", "analyses", "processing", "learning", "data",
    "information", "structure", "structures", "context", "contexts", "resource", "resources", "summary",
    "estimates", "estimate", "estimation", "mechanism", "mechanisms", "network", "networks", "search", "shared",
    "university", "development", "research", "theory", "construction", "building", "design", "perspective",
    "representation", "representations", "features", "feature", "constraints", "constraint", "correspondence",
    "resolution", "identification", "detection", "recognition", "extraction", "classification", "selection",
    "discrimination", "profiling", "environment", "interface", "interfaces", "project", "program", "programs",
    "architecture", "performance", "training", "process", "processes", "relations", "relation", "level", "set",
    "sets", "pairs", "pair", "domain", "domains", "text", "texts", "words", "word", "language", "languages",
])

# letters of any alphabet ("naïve", "schrödinger"): with [a-z] an accented letter split the word in two
# ("naïve bayes" became the runs "na" and "ve bayes")
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:[-'][^\W_]+)*")
_BREAK = re.compile(r"[^\w\s'-]+|_+")


def candidate_runs(text: str) -> list[list[str]]:
    """Maximal sequences of content words of ``text`` (lower-cased), split at stop words and punctuation."""
    runs: list[list[str]] = []
    for chunk in _BREAK.split(text.lower()):
        run: list[str] = []
        for tok in chunk.split():
            m = _WORD.fullmatch(tok.strip("'-"))
            word = m.group(0) if m else ""
            if word.endswith("'s"):
                word = word[:-2]
            if not word or word in STOP_WORDS or word in GENERIC_WORDS or len(word) < 2:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(word)
        if run:
            runs.append(run)
    return runs


def _llr(k11: float, k12: float, k21: float, k22: float) -> float:
    """Dunning's log-likelihood ratio (G^2) of a 2x2 contingency table."""
    def h(*ks: float) -> float:
        total = sum(ks)
        return sum(k * math.log(k / total) for k in ks if k > 0)

    return 2.0 * (h(k11, k12, k21, k22) - h(k11 + k12, k21 + k22) - h(k11 + k21, k12 + k22))


@dataclass
class ConceptExtractor:
    """Mines a controlled vocabulary of concepts from a corpus and tags documents with it.

    ``fit(texts)`` builds the vocabulary, ``transform(texts)`` tags documents, ``fit_transform``
    does both. ``vocabulary`` lists the concepts, ``document_frequency`` their document counts.
    """

    method: str = "collocations"
    min_df: int = 5
    max_df: float = 0.05
    max_n: int = 3
    min_llr: float = 10.83
    unigrams: bool = True
    min_head_ratio: float = 0.5
    max_nested: float = 0.8
    max_concepts: int | None = None
    vocabulary: list[str] = field(default_factory=list, init=False)
    document_frequency: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), init=False)

    def __post_init__(self) -> None:
        if self.method not in ("collocations", "yake"):
            raise ConfigError(f"unknown concept method {self.method!r}; use 'collocations' or 'yake'")
        if self.min_df < 1 or not 0 < self.max_df <= 1 or self.max_n < 1:
            raise ConfigError(f"need min_df >= 1, 0 < max_df <= 1, max_n >= 1; got min_df={self.min_df}, "
                              f"max_df={self.max_df}, max_n={self.max_n}")

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str]) -> ConceptExtractor:
        if self.method == "yake":
            df = self._yake_candidates(texts)
            keep = {p: c for p, c in df.items() if c >= self.min_df and c <= self.max_df * len(texts)}
        else:
            keep = self._collocations(texts)
        ranked = sorted(keep.items(), key=lambda kv: (-kv[1], kv[0]))
        if self.max_concepts is not None:
            ranked = ranked[: self.max_concepts]
        self.vocabulary = [p for p, _ in ranked]
        self.document_frequency = np.array([c for _, c in ranked], dtype=np.int64)
        self._index = {p: i for i, p in enumerate(self.vocabulary)}
        log.info("concept vocabulary: %d phrases (%s)", len(self.vocabulary), self.method)
        return self

    def _collocations(self, texts: Sequence[str]) -> dict[str, int]:
        df: Counter[tuple[str, ...]] = Counter()
        tf: Counter[tuple[str, ...]] = Counter()
        heads: Counter[str] = Counter()
        for text in texts:
            seen: set[tuple[str, ...]] = set()
            for run in candidate_runs(text):
                heads[run[-1]] += 1
                for n in range(1, self.max_n + 1):
                    for i in range(len(run) - n + 1):
                        g = tuple(run[i:i + n])
                        tf[g] += 1
                        seen.add(g)
            df.update(seen)
        total = {n: sum(c for g, c in tf.items() if len(g) == n) for n in range(1, self.max_n + 1)}
        n_docs = max(1, len(texts))
        kept: dict[tuple[str, ...], int] = {}
        for g, d in df.items():
            if d < self.min_df or heads[g[-1]] < self.min_head_ratio * tf[(g[-1],)]:
                continue
            if len(g) == 1:
                if self.unigrams and d <= self.max_df * n_docs and g[0] not in GENERIC_HEADS:
                    kept[g] = d
                continue
            n_all = total[len(g)]
            best = 0.0
            for cut in range(1, len(g)):
                k11 = tf[g]
                left, right = tf[g[:cut]], tf[g[cut:]]
                k12 = max(left - k11, 0)
                k21 = max(right - k11, 0)
                k22 = max(n_all - k11 - k12 - k21, 0)
                # the parts must co-occur more often than chance, not less
                if k11 * n_all > left * right:
                    best = max(best, min(_llr(k11, k12, k21, k22), float("inf")))
            if best >= self.min_llr:
                kept[g] = d
        # drop fragments: phrases that mostly occur inside one longer concept
        inside: Counter[tuple[str, ...]] = Counter()
        for g in kept:
            for n in range(1, len(g)):
                for i in range(len(g) - n + 1):
                    sub = g[i:i + n]
                    if sub in kept:
                        inside[sub] = max(inside[sub], tf[g])
        return {" ".join(g): d for g, d in kept.items() if inside[g] < self.max_nested * tf[g]}

    def _yake_candidates(self, texts: Sequence[str]) -> Counter[str]:
        yake = require("yake", extra="graph", purpose="YAKE! keyword extraction")
        extractor = yake.KeywordExtractor(lan="en", n=self.max_n, top=10)
        df: Counter[str] = Counter()
        for text in texts:
            if not text.strip():
                continue
            phrases = {" ".join(w for r in candidate_runs(kw) for w in r) for kw, _ in extractor.extract_keywords(text)}
            df.update(p for p in phrases if p)
        return df

    # -- tagging --------------------------------------------------------------------------------
    def transform(self, texts: Sequence[str]) -> list[list[str]]:
        """The concepts of each text (vocabulary phrases occurring inside its candidate runs)."""
        if not hasattr(self, "_index"):
            raise NotFittedError("this ConceptExtractor has no vocabulary yet; call fit(texts) first")
        out: list[list[str]] = []
        for text in texts:
            found: dict[str, None] = {}
            for run in candidate_runs(text):
                for n in range(min(self.max_n, len(run)), 0, -1):
                    for i in range(len(run) - n + 1):
                        phrase = " ".join(run[i:i + n])
                        if phrase in self._index:
                            found[phrase] = None
            out.append(list(found))
        return out

    def fit_transform(self, texts: Sequence[str]) -> list[list[str]]:
        return self.fit(texts).transform(texts)

    @classmethod
    def from_vocabulary(cls, phrases: Sequence[str], *, max_n: int | None = None) -> ConceptExtractor:
        """An extractor that tags with a given controlled vocabulary (e.g. one curated by hand)."""
        words = [" ".join(w for r in candidate_runs(p) for w in r) for p in phrases]
        if not any(words):  # an empty file given as --vocabulary tagged nothing, silently
            raise ConfigError(f"the concept vocabulary has no usable phrase ({len(phrases)} given): give phrases "
                              "of content words, one a line, e.g. 'dependency parsing' (stop words alone are dropped)")
        longest = max((len(w.split()) for w in words if w), default=1)
        ext = cls(max_n=max_n or longest)
        ext.vocabulary = [w for w in dict.fromkeys(words) if w]
        ext.document_frequency = np.zeros(len(ext.vocabulary), dtype=np.int64)
        ext._index = {p: i for i, p in enumerate(ext.vocabulary)}
        return ext
