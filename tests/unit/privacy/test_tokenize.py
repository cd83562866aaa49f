"""Text -> tokens -> text: gaps kept, lowercasing, clitics, and the input checks."""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.errors import DataError
from discoverly.privacy.tokenize import Tokenizer, check_texts
from discoverly.privacy.vocabulary import WordEmbeddings


def test_identity_replacement_keeps_punctuation_and_spacing(sentence_vocab: WordEmbeddings) -> None:
    tok = Tokenizer(sentence_vocab)
    texts = ["The food  was GREAT, but... the staff?!", "", "  a\tdish\n"]
    t = tok.tokenize(texts)
    words = [p for piece in t.pieces for p in piece[1::2]]
    assert tok.detokenize(t, words) == [x.lower() for x in texts]
    assert t.offsets.tolist() == [0, 7, 7, 9]
    assert sentence_vocab.words[t.index[0]] == "the"


def test_clitics_and_apostrophes(sentence_vocab: WordEmbeddings) -> None:
    tok = Tokenizer(sentence_vocab)
    t = tok.tokenize(["we 've", "don't", "do n't", "john's", "john’s", "'food'"])
    words = [sentence_vocab.words[i] if i >= 0 else None for i in t.index]
    # "don't" is a word itself; "john's" is split into two words; the stray quote stays punctuation
    assert words == ["we", "'ve", "don't", "do", "n't", "john", "'s", "john", "'s", "food"]
    assert tok.detokenize(t, [w or "?" for w in words])[3] == "john 's"
    assert tok.detokenize(t, [w or "?" for w in words])[5] == "'food'"


def test_numbers_and_unknown_words_are_oov(sentence_vocab: WordEmbeddings) -> None:
    t = Tokenizer(sentence_vocab).tokenize(["call 555-1234 zanzibar"])
    assert t.oov.tolist() == [True, True, True, True]


def test_case_is_kept_for_a_cased_vocabulary() -> None:
    emb = WordEmbeddings(["Paris", "paris"], np.eye(2, dtype=np.float32))
    tok = Tokenizer(emb)
    assert not tok.lowercase
    assert tok.tokenize(["Paris paris"]).index.tolist() == [0, 1]


def test_dropping_does_not_leave_double_spaces(sentence_vocab: WordEmbeddings) -> None:
    tok = Tokenizer(sentence_vocab)
    t = tok.tokenize(["call 555 now, ok"])
    assert tok.detokenize(t, ["call", None, "now", "ok"]) == ["call now, ok"]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("just one string", "single str"),
        ([], "empty"),
        (None, "None"),
        (["fine", None], r"texts\[1\] is a missing value"),
        (["fine", 3.5], r"texts\[1\] is a float"),
        (42, "list of strings"),
    ],
)
def test_bad_texts_get_clear_errors(value: object, match: str) -> None:
    with pytest.raises(DataError, match=match):
        check_texts(value)


def test_series_are_accepted() -> None:
    import polars as pl

    assert check_texts(pl.Series(["a", "b"])) == ["a", "b"]
