"""Privatising text with metric differential privacy on word embeddings.

Every word is replaced by a vocabulary word drawn from a distribution centred on it in embedding
space, so that for any two words w, w' and any output y, ``P(y | w) ≤ exp(ε·d(w, w')) · P(y | w')``
(d: the distance between their vectors on the stated scale)::

    from discoverly.privacy import WordEmbeddings, TruncatedGumbel, MultivariateLaplace
    emb = WordEmbeddings.default()
    TruncatedGumbel(emb).privatize(["the food was great"], epsilon=3.0, rng=7)

Mechanisms: :class:`TruncatedGumbel` (density-aware, calibrated with a proof, O(log K) per token),
:class:`MultivariateLaplace` (exact BLAS or faiss search; spherical or Mahalanobis noise),
:class:`PublicTruncatedGumbel` (the public calibration, for comparison). Statistics (N_w, S_w) live
in :mod:`discoverly.privacy.statistics`, the text-classification utility study in
:mod:`discoverly.privacy.utility`.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "WordEmbeddings",
    "Neighbours",
    "neighbours",
    "Mechanism",
    "WordMechanism",
    "PrivatizedTexts",
    "MultivariateLaplace",
    "TruncatedGumbel",
    "PublicTruncatedGumbel",
    "Tokenizer",
    "TextStatistics",
    "word_statistics",
    "create_mechanism",
    "MECHANISMS",
]

_LAZY: dict[str, str] = {
    "WordEmbeddings": "discoverly.privacy.vocabulary",
    "Neighbours": "discoverly.privacy.nearest",
    "neighbours": "discoverly.privacy.nearest",
    "Mechanism": "discoverly.privacy.mechanism",
    "WordMechanism": "discoverly.privacy.mechanism",
    "PrivatizedTexts": "discoverly.privacy.mechanism",
    "MultivariateLaplace": "discoverly.privacy.laplace",
    "TruncatedGumbel": "discoverly.privacy.gumbel",
    "PublicTruncatedGumbel": "discoverly.privacy.public_gumbel",
    "Tokenizer": "discoverly.privacy.tokenize",
    "TextStatistics": "discoverly.privacy.statistics",
    "word_statistics": "discoverly.privacy.statistics",
    "create_mechanism": "discoverly.privacy.registry",
    "MECHANISMS": "discoverly.privacy.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'discoverly.privacy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
