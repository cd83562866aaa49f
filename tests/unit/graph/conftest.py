"""Small literatures for the graph tests: two communities (parsing, translation) that cite inside."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from discoverly.graph.papers import Papers

PARSING = ["dependency parsing", "constituency parsing", "parser evaluation", "treebank annotation"]
TRANSLATION = ["machine translation", "word alignment", "phrase tables", "translation evaluation"]


def tiny_records(n_per_side: int = 12) -> list[dict[str, object]]:
    """``2 * n_per_side`` papers; papers of one side cite earlier papers of the same side."""
    rng = np.random.default_rng(7)
    records: list[dict[str, object]] = []
    for side, (prefix, phrases, venue) in enumerate((("P", PARSING, "ParseConf"), ("T", TRANSLATION, "TransConf"))):
        for i in range(n_per_side):
            a, b = rng.choice(len(phrases), size=2, replace=False)
            refs = [f"{prefix}{j}" for j in rng.choice(i, size=min(i, 3), replace=False)] if i else []
            records.append({
                "id": f"{prefix}{i}",
                "title": f"Improved {phrases[a]} with {phrases[b]} number {i}",
                "abstract": f"We study {phrases[a]}. Our {phrases[b]} results beat baselines on {phrases[a]}.",
                "authors": [{"name": f"Author {prefix}{i % 4}", "affiliation": f"Univ {side}"},
                            {"name": f"Author {prefix}{(i + 1) % 4}", "affiliation": ""}],
                "venue": venue,
                "year": 2000 + i,
                "references": refs,
            })
    return records


@pytest.fixture
def tiny_papers() -> Papers:
    return Papers.from_records(tiny_records())


class HashEncoder:
    """A deterministic stand-in for the sentence encoder: hashed bag of words, unit length."""

    name = "hash-encoder"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls = 0

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


@pytest.fixture
def hash_encoder() -> HashEncoder:
    return HashEncoder()
