"""Spelling correction against the catalogue's own vocabulary (symmetric-delete lookup).

A query token the catalogue does not know is replaced by the known token within the smallest
Damerau-Levenshtein distance (at most 1 for short words, 2 for longer ones), the most frequent
one on ties. Numbers, sizes and tokens shorter than ``min_length`` are never changed::

    speller = SpellingCorrector.from_counts({"yogurt": 1435, "yoghurt": 3, "milk": 2098})
    speller.correct(["yougurt", "milk"])    # (['yogurt', 'milk'], True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from discoverly.errors import ConfigError

__all__ = ["SpellingCorrector", "damerau_levenshtein", "inject_typo"]


def damerau_levenshtein(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance of ``a`` and ``b`` (``limit`` + 1 once it exceeds ``limit``)."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if abs(la - lb) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        best = cur[0]
        for j in range(1, lb + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            best = min(best, v)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[lb], limit + 1)


def _deletes(word: str, depth: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        nxt = set()
        for w in frontier:
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1:])
        out |= nxt
        frontier = nxt
    return out


class SpellingCorrector:
    """Corrects unknown tokens to the catalogue's vocabulary; ``counts`` are token frequencies."""

    def __init__(self, counts: Mapping[str, int], *, max_distance: int = 2, min_length: int = 3,
                 long_word: int = 6) -> None:
        if max_distance not in (1, 2):
            raise ConfigError(f"max_distance must be 1 or 2, got {max_distance}")
        self.counts = {w: int(c) for w, c in counts.items() if w and w.isalpha()}
        self.max_distance = max_distance
        self.min_length = min_length
        self.long_word = long_word
        self._index: dict[str, list[str]] | None = None
        self._cache: dict[str, str] = {}

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], **options: int) -> SpellingCorrector:
        return cls(counts, **options)

    def _deletes_index(self) -> dict[str, list[str]]:
        if self._index is None:  # built on first use: loading an engine stays fast
            index: dict[str, list[str]] = {}
            for w in self.counts:
                for d in _deletes(w, self.max_distance):
                    index.setdefault(d, []).append(w)
            self._index = index
        return self._index

    def __contains__(self, word: str) -> bool:
        return word in self.counts

    def suggest(self, word: str) -> str:
        """The correction of one token (the token itself when known or not correctable)."""
        if word in self.counts or len(word) < self.min_length or not word.isalpha():
            return word
        got = self._cache.get(word)
        if got is not None:
            return got
        limit = self.max_distance if len(word) >= self.long_word else 1
        index = self._deletes_index()
        candidates: set[str] = set()
        for d in _deletes(word, limit):
            candidates.update(index.get(d, ()))
        best, best_key = word, (limit + 1, 0)
        for c in candidates:
            dist = damerau_levenshtein(word, c, limit)
            if dist > limit:
                continue
            key = (dist, -self.counts[c])
            if key < best_key or (key == best_key and c < best):
                best, best_key = c, key
        if len(self._cache) < 100_000:
            self._cache[word] = best
        return best

    def correct(self, tokens: Sequence[str]) -> tuple[list[str], bool]:
        """The corrected tokens and whether any token changed."""
        out = [self.suggest(t) for t in tokens]
        return out, out != list(tokens)

    def to_table(self) -> tuple[list[str], np.ndarray]:
        words = list(self.counts)
        return words, np.array([self.counts[w] for w in words], dtype=np.int64)


def inject_typo(word: str, rng: np.random.Generator) -> str:
    """``word`` with one random edit (deletion, insertion, substitution or transposition of
    adjacent letters), as a shopper's typo; words shorter than 4 letters are returned unchanged."""
    if len(word) < 4:
        return word
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(10):
        kind = int(rng.integers(4))
        i = int(rng.integers(1, len(word)))  # keep the first letter, as most typos do
        if kind == 0:
            out = word[:i] + word[i + 1:]
        elif kind == 1:
            out = word[:i] + letters[int(rng.integers(26))] + word[i:]
        elif kind == 2:
            out = word[:i] + letters[int(rng.integers(26))] + word[i + 1:]
        else:
            i = min(i, len(word) - 2)
            out = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if out != word:
            return out
    return word
