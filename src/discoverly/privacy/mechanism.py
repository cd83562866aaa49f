"""The ``Mechanism`` role and the text handling every word-level mechanism shares.

A mechanism replaces every word of a text by a vocabulary word drawn from a distribution that
depends on the word's position in embedding space; ``privatize(texts, epsilon, rng)`` is the whole
interface::

    mech = TruncatedGumbel(WordEmbeddings.default())
    mech.privatize(["the food was great"], epsilon=3.0, rng=7)   # e.g. ['the meal was fantastic']

Subclasses implement one method, :meth:`WordMechanism._perturb` (vocabulary rows in, vocabulary
rows out); this base does the rest: input checks, tokenising, the out-of-vocabulary policy
(:mod:`discoverly.privacy.tokenize`), reassembly, and the per-token record the statistics need.

Everything after the per-word draw — putting words back into text, lowercasing, the OOV
replacement (which never looks at the OOV token) — is post-processing that does not read the
private input again, so it keeps each word's guarantee.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from discoverly._checks import is_whole
from discoverly.errors import ConfigError, DataError
from discoverly.privacy.tokenize import OOV_POLICIES, Tokenizer, check_texts
from discoverly.privacy.vocabulary import WordEmbeddings

__all__ = ["Mechanism", "WordMechanism", "PrivatizedTexts", "RngLike", "as_generator", "check_epsilon"]

RngLike = int | np.random.Generator | None

#: the ε values accepted (distances are float32; ε·d beyond this range overflows to NaN or a degenerate draw)
EPSILON_RANGE = (1e-30, 1e30)


def as_generator(rng: RngLike) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator (used as is) or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if is_whole(rng):
        if rng < 0:
            raise ConfigError(f"a seed must be a non-negative integer, got {rng}")
        return np.random.default_rng(int(rng))
    raise ConfigError(f"rng must be an int seed, a numpy Generator or None, got {type(rng).__name__}")


def check_epsilon(epsilon: Any) -> float:
    """ε as a float, or a :class:`ConfigError` that says what a valid ε is."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real):
        raise ConfigError(f"epsilon must be a positive number, got {epsilon!r} ({type(epsilon).__name__})")
    eps = float(epsilon)
    if not math.isfinite(eps) or eps <= 0:
        raise ConfigError(f"epsilon must be a finite number > 0, got {eps}; larger ε means less noise "
                          "(weaker privacy). ε is stated per unit of distance on the vocabulary's vector scale")
    if not EPSILON_RANGE[0] <= eps <= EPSILON_RANGE[1]:  # float32 distances × ε overflow outside it
        raise ConfigError(f"epsilon={eps:g} is outside the range the mechanisms compute reliably "
                          f"({EPSILON_RANGE[0]:g} to {EPSILON_RANGE[1]:g}); far inside it the output is already "
                          "the input word (large ε) or independent of it (small ε)")
    return eps


@runtime_checkable
class Mechanism(Protocol):
    """Anything that privatises a batch of texts at a privacy level ε with a seed or generator."""

    name: str

    def privatize(self, texts: Sequence[str], epsilon: float, rng: RngLike = None) -> list[str]: ...


@dataclass
class PrivatizedTexts:
    """The privatised texts and, for the statistics, what happened to every token."""

    texts: list[str]
    inputs: np.ndarray  # vocabulary rows of the in-vocabulary input tokens
    outputs: np.ndarray  # the rows they became (same length)
    n_tokens: int  # all tokens, OOV included
    oov: dict[str, int] = field(default_factory=dict)  # OOV tokens by what the policy did
    epsilon: float = float("nan")

    @property
    def n_in_vocabulary(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def unchanged(self) -> int:
        return int((self.inputs == self.outputs).sum())


class WordMechanism(ABC):
    """Base of the word-level mechanisms: text in, text out, one vocabulary word per word."""

    name: ClassVar[str] = "word-mechanism"

    def __init__(self, embeddings: WordEmbeddings, *, oov: str = "random", mask_token: str = "<unk>",
                 lowercase: bool | None = None) -> None:
        if not isinstance(embeddings, WordEmbeddings):
            raise ConfigError(f"embeddings must be a WordEmbeddings, got {type(embeddings).__name__}; load one with "
                              "WordEmbeddings.default() / from_npz / from_text / from_spacy")
        if oov not in OOV_POLICIES:
            raise ConfigError(f"unknown out-of-vocabulary policy {oov!r}; use one of {', '.join(OOV_POLICIES)}")
        self.embeddings = embeddings
        self.oov = oov
        self.mask_token = mask_token
        self.tokenizer = Tokenizer(embeddings, lowercase=lowercase)

    # ------------------------------------------------------------------ the one method to implement
    @abstractmethod
    def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        """Output vocabulary rows for input rows ``indices`` (int64, all valid), one draw each."""

    def _params(self) -> dict[str, Any]:
        """The mechanism's own settings, for :meth:`describe`."""
        return {}

    def prepare(self, epsilon: float | Sequence[float]) -> None:  # noqa: B027 - optional hook
        """Do any per-ε precomputation now, for one ε or several (otherwise it happens on first use)."""

    def guarantee(self, epsilon: float) -> str:
        """The privacy statement at ``epsilon``, in words."""
        eps = check_epsilon(epsilon)
        return (f"metric DP: P(y|w) <= exp({eps:g} * d(w, w')) * P(y|w') for all words w, w', y, with d the "
                f"Euclidean distance between word vectors on the {self.embeddings.scale!r} scale")

    # ------------------------------------------------------------------ public API
    def privatize(self, texts: Sequence[str], epsilon: float, rng: RngLike = None) -> list[str]:
        """Privatised copies of ``texts``: every word replaced by a draw of the mechanism."""
        return self.run(texts, epsilon, rng).texts

    def privatize_indices(self, indices: Any, epsilon: float, rng: RngLike = None) -> np.ndarray:
        """One draw per vocabulary row in ``indices`` (the token-id interface, no text handling)."""
        eps = check_epsilon(epsilon)
        idx = np.asarray(indices)
        if idx.size == 0:
            return np.empty(0, dtype=np.int64)
        if idx.dtype.kind not in "iu":
            raise DataError(f"indices must be integer vocabulary rows, got dtype {idx.dtype}")
        idx = idx.astype(np.int64, copy=False).ravel()
        n = len(self.embeddings)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise DataError(f"indices must be vocabulary rows in [0, {n}), got values in [{idx.min()}, {idx.max()}]")
        return np.asarray(self._perturb(idx, eps, as_generator(rng)), dtype=np.int64)

    def privatize_words(self, words: Sequence[str], epsilon: float, rng: RngLike = None) -> list[str]:
        """One draw per vocabulary word (no tokenising); unknown words are an error."""
        words = check_texts(words, what="words")
        idx = self.embeddings.lookup(words)
        if (idx < 0).any():
            bad = [w for w, i in zip(words, idx, strict=True) if i < 0][:5]
            raise DataError(f"not in the vocabulary: {bad}; privatize() handles out-of-vocabulary text")
        out = self.privatize_indices(idx, epsilon, rng)
        vocab = self.embeddings.words
        return [vocab[i] for i in out]

    def run(self, texts: Sequence[str], epsilon: float, rng: RngLike = None) -> PrivatizedTexts:
        """Privatise ``texts`` and keep the per-token record (inputs, outputs, OOV counts)."""
        eps = check_epsilon(epsilon)
        items = check_texts(texts)
        gen = as_generator(rng)
        tok = self.tokenizer.tokenize(items)
        known = ~tok.oov
        inputs = tok.index[known]
        outputs = self._perturb(inputs, eps, gen) if inputs.size else inputs.copy()
        vocab = self.embeddings.words
        replacements: list[str | None] = [None] * tok.n_tokens
        pos = np.flatnonzero(known)
        for p, o in zip(pos.tolist(), outputs.tolist(), strict=True):
            replacements[p] = vocab[o]
        n_oov = int(tok.n_tokens - inputs.size)
        oov_counts = {self.oov: n_oov} if n_oov else {}
        if n_oov:
            oov_pos = np.flatnonzero(~known).tolist()
            if self.oov == "random":
                draws = gen.integers(0, len(vocab), size=n_oov)
                for p, o in zip(oov_pos, draws.tolist(), strict=True):
                    replacements[p] = vocab[o]
            elif self.oov == "mask":
                for p in oov_pos:
                    replacements[p] = self.mask_token
            elif self.oov == "keep":
                parts = [tok_piece for piece in tok.pieces for tok_piece in piece[1::2]]
                for p in oov_pos:
                    replacements[p] = parts[p]
            # "drop": leave None
        out_texts = self.tokenizer.detokenize(tok, replacements)
        return PrivatizedTexts(out_texts, inputs, np.asarray(outputs, dtype=np.int64), tok.n_tokens, oov_counts, eps)

    def describe(self) -> dict[str, Any]:
        """Everything needed to reproduce the mechanism: name, parameters, vocabulary and scale."""
        emb = self.embeddings
        return {"mechanism": self.name, **self._params(), "oov": self.oov, "vocabulary": emb.name,
                "vocabulary_fingerprint": emb.fingerprint(), "n_words": len(emb), "dim": emb.dim,
                "scale": emb.scale, "lowercase": self.tokenizer.lowercase}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({self.embeddings!r}{', ' if params else ''}{params})"
