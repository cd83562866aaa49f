"""Text -> tokens -> text, and what happens to words outside the vocabulary.

A *token* is a run of letters or digits, with inner apostrophes (``don't``, ``o'clock``) or a
leading one (``'ve``, ``'s`` in pre-tokenised text such as SST-2). Everything between tokens
(spaces, punctuation, symbols) is kept as it is, so the output reads like the input with words
swapped. Text is read in Unicode's composed form (NFC), so an accent written as a separate combining
character stays part of its word. Tokens are lowercased before lookup when the vocabulary is lowercase
(the default vocabulary is). A token with an apostrophe that is not a word itself is split into two words when
both halves are (``john's`` -> ``john 's``, ``shouldn't`` -> ``should n't``).

**Out-of-vocabulary tokens never pass through unchanged by default.** Names, numbers (phone
numbers, amounts, dates), misspellings and rare words are exactly the tokens most likely to identify
someone, and a mechanism cannot perturb a word it has no vector for. The policy (``oov=``) is:

- ``"random"`` (default): replace it by a vocabulary word drawn uniformly at random — the output
  carries no information about the token (ε = 0 for that token) and keeps the text's length;
- ``"drop"``: remove it (also ε = 0 for its content, but reveals where tokens were removed);
- ``"mask"``: replace it by ``mask_token`` (default ``"<unk>"``, which is not a vocabulary word);
- ``"keep"``: pass it through unchanged — **no privacy for those tokens**; opt-in only, and counted
  as ``oov_kept`` in the statistics so it cannot go unnoticed.

Every run reports how many tokens were out of vocabulary and what the policy did with them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from discoverly.errors import ConfigError, DataError
from discoverly.privacy.vocabulary import WordEmbeddings

__all__ = ["Tokenizer", "TokenizedTexts", "OOV_POLICIES", "check_texts"]

OOV_POLICIES = ("random", "drop", "mask", "keep")

_TOKEN = re.compile(r"((?:\w+(?:'\w+)*)|(?:'\w+))")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})


def check_texts(texts: Any, *, what: str = "texts") -> list[str]:
    """``texts`` as a list of str, or a clear :class:`DataError` (a bare string, None cells, numbers)."""
    if isinstance(texts, (str, bytes)):
        raise DataError(f"{what} must be a list of texts, got a single {type(texts).__name__}; "
                        f"wrap it in a list: privatize([text], ...)")
    if texts is None:
        raise DataError(f"{what} is None; pass a list of strings")
    if hasattr(texts, "to_list"):  # polars / pandas Series
        texts = texts.to_list()
    try:
        items = list(texts)
    except TypeError as exc:
        raise DataError(f"{what} must be a list of strings, got a {type(texts).__name__}") from exc
    if not items:
        raise DataError(f"{what} is empty: there is no text to privatise")
    for i, t in enumerate(items):
        if not isinstance(t, str):
            kind = "a missing value (None/null)" if t is None else f"a {type(t).__name__} ({t!r:.40})"
            raise DataError(f"{what}[{i}] is {kind}, not a string; every cell must be text "
                            "(drop or fill missing cells first; the CLI has --missing skip|empty)")
        items[i] = t
    return items


@dataclass
class TokenizedTexts:
    """Texts cut into alternating gaps and tokens, with every token's vocabulary row (-1: OOV)."""

    pieces: list[list[str]]  # per text: [gap, token, gap, token, …, gap]
    index: np.ndarray  # (n_tokens,) int64 vocabulary rows of all tokens, -1 when out of vocabulary
    offsets: np.ndarray  # (n_texts + 1,) where each text's tokens start in ``index``

    @property
    def n_tokens(self) -> int:
        return int(self.index.shape[0])

    @property
    def oov(self) -> np.ndarray:
        return self.index < 0


class Tokenizer:
    """Cuts text into tokens the vocabulary can look up and puts replaced tokens back.

    ``lowercase=None`` lowercases exactly when the vocabulary is lowercase.
    """

    def __init__(self, embeddings: WordEmbeddings, *, lowercase: bool | None = None) -> None:
        self.embeddings = embeddings
        self.lowercase = embeddings.is_lowercase if lowercase is None else lowercase
        self._index = embeddings._index
        self._split_cache: dict[str, list[str] | None] = {}

    def tokenize(self, texts: Sequence[str]) -> TokenizedTexts:
        pieces: list[list[str]] = []
        tokens: list[str] = []
        offsets = [0]
        index = self._index
        for text in texts:
            written = text
            if not written.isascii():  # composed form: "cafe" + U+0301 (NFD) is the one token "café", not
                written = unicodedata.normalize("NFC", written)  # "cafe" and an accent kept as punctuation
            if self.lowercase:
                written = written.lower()
            norm = written.translate(_APOSTROPHES)  # one character for one: positions stay those of `written`
            parts = _TOKEN.split(norm)
            if len(parts) > 1:
                if norm != written:  # the gaps as written: a curly quote around a word stays curly
                    at = 0
                    for j, part in enumerate(parts):
                        if j % 2 == 0:
                            parts[j] = written[at:at + len(part)]
                        at += len(part)
                if not norm.isascii():
                    parts = _attach_marks(parts)
                toks = parts[1::2]
                if any(t not in index and "'" in t for t in toks):
                    parts = self._split_clitics(parts, written)
                tokens.extend(parts[1::2])
            pieces.append(parts)
            offsets.append(len(tokens))
        get = index.get
        rows = np.fromiter((get(t, -1) for t in tokens), dtype=np.int64, count=len(tokens))
        return TokenizedTexts(pieces, rows, np.asarray(offsets, dtype=np.int64))

    def _split_clitics(self, parts: list[str], written: str) -> list[str]:
        out = [parts[0]]
        at = len(parts[0])  # where parts[j] starts in `written`
        for j in range(1, len(parts), 2):
            tok, gap = parts[j], parts[j + 1]
            split = self._split(tok) if (tok not in self._index and "'" in tok) else None
            if split is None:
                out += [tok, gap]
            elif len(split) == 1:  # a stray leading apostrophe: keep it as punctuation, as written (’ or ')
                out[-1] += written[at]
                out += [split[0], gap]
            else:
                out += [split[0], " ", split[1], gap]
            at += len(tok) + len(gap)
        return out

    def _split(self, tok: str) -> list[str] | None:
        if tok in self._split_cache:
            return self._split_cache[tok]
        idx = self._index
        found: list[str] | None = None
        if tok.startswith("'") and tok[1:] in idx:
            found = [tok[1:]]
        elif tok.endswith("n't") and tok[:-3] in idx and "n't" in idx:
            found = [tok[:-3], "n't"]
        else:
            cut = tok.rfind("'")
            if cut > 0 and tok[:cut] in idx and tok[cut:] in idx:
                found = [tok[:cut], tok[cut:]]
        if len(self._split_cache) < 100_000:
            self._split_cache[tok] = found
        return found

    def detokenize(self, tokenized: TokenizedTexts, replacements: Sequence[str | None]) -> list[str]:
        """Put ``replacements`` (one per token; ``None`` drops the token) back between the gaps."""
        if len(replacements) != tokenized.n_tokens:
            raise ConfigError(f"{len(replacements)} replacements for {tokenized.n_tokens} tokens")
        out: list[str] = []
        offsets = tokenized.offsets
        for t, parts in enumerate(tokenized.pieces):
            a, b = int(offsets[t]), int(offsets[t + 1])
            if a == b:
                out.append("".join(parts))
                continue
            reps = replacements[a:b]
            if None in reps:
                new = _drop(parts, reps)
            else:
                new = list(parts)
                new[1::2] = [r or "" for r in reps]
            out.append("".join(new))
        return out


def _attach_marks(parts: list[str]) -> list[str]:
    """``parts`` (gap, token, gap, ...) with the combining marks that follow a token made part of it.

    ``\\w`` matches no combining mark, so a word of a script whose vowel signs are marks (Devanagari
    ``नमस्ते``) or a lower-cased ``İstanbul`` (``i`` + U+0307) was cut into pieces, and the marks were
    kept verbatim in the output as if they were punctuation. Marks at the start of a text, with no
    token before them, stay where they are."""
    gaps = parts[2::2]
    if not any(g and unicodedata.category(g[0])[0] == "M" for g in gaps):
        return parts
    out = [parts[0]]
    glue = False
    for j in range(1, len(parts), 2):
        tok, gap = parts[j], parts[j + 1]
        if glue:  # the gap before was marks only: this token goes on the same word
            out.pop()
            out[-1] += tok
        else:
            out.append(tok)
        n = 0
        while n < len(gap) and unicodedata.category(gap[n])[0] == "M":
            n += 1
        out[-1] += gap[:n]
        out.append(gap[n:])
        glue = 0 < n == len(gap) and j + 2 < len(parts)
    return out


def _drop(parts: list[str], reps: Sequence[str | None]) -> list[str]:
    """Interleave, removing dropped tokens and the doubled whitespace they would leave behind."""
    out = [parts[0]]
    for j, rep in enumerate(reps):
        gap = parts[2 * j + 2]
        if rep is None:
            prev = out[-1]
            if not prev or prev[-1].isspace():
                gap = gap.lstrip()
            out[-1] = prev + gap
        else:
            out += [rep, gap]
    return out
