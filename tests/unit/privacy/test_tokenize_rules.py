"""The tokenizer's rules, each checked on a text whose right answer is written out by hand.

From the module docstring: a token is a run of letters/digits with inner apostrophes or a leading
one; everything between tokens is kept; a token with an apostrophe that is not a word is split in
two when both halves are words (``shouldn't`` -> ``should n't``, ``john's`` -> ``john 's``), and a
stray leading apostrophe stays punctuation. Dropped tokens do not leave doubled whitespace.
"""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.errors import ConfigError, DataError
from discoverly.privacy.tokenize import Tokenizer, check_texts
from discoverly.privacy.vocabulary import WordEmbeddings

WORDS = ["should", "n't", "ca", "'t", "we", "'ve", "'s", "a", "john", "o'clock", "don't", "do", "food", "the",
         "call", "now", "ok"]


@pytest.fixture
def clitic_vocab() -> WordEmbeddings:
    vectors = np.random.default_rng(0).normal(size=(len(WORDS), 3)).astype(np.float32)
    return WordEmbeddings(WORDS, vectors, name="clitics")


def _words(emb: WordEmbeddings, tok: Tokenizer, text: str) -> list[str | None]:
    t = tok.tokenize([text])
    return [emb.words[i] if i >= 0 else None for i in t.index]


@pytest.mark.parametrize(
    ("text", "words", "joined"),
    [
        # "n't": the part before it and "n't" are both words
        ("shouldn't", ["should", "n't"], "should n't"),
        ("can't", ["ca", "n't"], "ca n't"),
        # an apostrophe three letters from the end that is not "n't": cut at the apostrophe
        ("we've", ["we", "'ve"], "we 've"),
        # a one-letter word before the apostrophe
        ("a's", ["a", "'s"], "a 's"),
        # the last apostrophe is the cut: the first half keeps its own
        ("o'clock's", ["o'clock", "'s"], "o'clock 's"),
        # a word with an apostrophe that is a word itself is never split ("do" and "n't" are words too)
        ("don't", ["don't"], "don't"),
        ("we don't", ["we", "don't"], "we don't"),
    ],
)
def test_clitics_split_at_the_rule_s_cut(clitic_vocab: WordEmbeddings, text: str, words: list[str],
                                         joined: str) -> None:
    tok = Tokenizer(clitic_vocab)
    assert _words(clitic_vocab, tok, text) == words
    t = tok.tokenize([text])
    assert tok.detokenize(t, words) == [joined]


def test_a_token_whose_halves_are_not_both_words_stays_one_oov_token(clitic_vocab: WordEmbeddings) -> None:
    tok = Tokenizer(clitic_vocab)
    # "'s" is a word, "zanzibar" is not: no split; "'zzz" is a leading apostrophe before a non-word
    for text in ["zanzibar's", "'zzz", "shouldn'x"]:
        t = tok.tokenize([text])
        assert t.index.tolist() == [-1], text  # -1 marks an out-of-vocabulary token
        assert t.pieces == [["", text, ""]]


def test_every_token_of_a_longer_text_is_checked_for_clitics(clitic_vocab: WordEmbeddings) -> None:
    tok = Tokenizer(clitic_vocab)
    text = "the food, we've john's don't a's now"
    t = tok.tokenize([text])
    words = [clitic_vocab.words[i] if i >= 0 else None for i in t.index]
    assert words == ["the", "food", "we", "'ve", "john", "'s", "don't", "a", "'s", "now"]
    assert t.offsets.tolist() == [0, 10]
    assert tok.detokenize(t, words) == ["the food, we 've john 's don't a 's now"]
    # the second of two tokens (one in three pieces would skip it)
    assert _words(clitic_vocab, tok, "the we've") == ["the", "we", "'ve"]


def test_a_stray_leading_apostrophe_joins_the_gap_before_it(clitic_vocab: WordEmbeddings) -> None:
    tok = Tokenizer(clitic_vocab)
    t = tok.tokenize(["the 'food' now"])
    assert [clitic_vocab.words[i] for i in t.index] == ["the", "food", "now"]
    assert t.pieces == [["", "the", " '", "food", "' ", "now", ""]]
    assert tok.detokenize(t, ["a", "call", "ok"]) == ["a 'call' ok"]


def test_the_tokenizer_keeps_its_vocabulary(clitic_vocab: WordEmbeddings) -> None:
    tok = Tokenizer(clitic_vocab)
    assert tok.embeddings is clitic_vocab
    assert tok.lowercase


@pytest.mark.parametrize(
    ("text", "replacements", "expected"),
    [
        # a dropped first token: no leading space
        ("555 call now", [None, "call", "now"], "call now"),
        # punctuation right before the dropped token: the space after it stays
        ("call,555 now", ["call", None, "now"], "call, now"),
        # space before, punctuation after: only the doubled space goes
        ("call 555 , now", ["call", None, "now"], "call , now"),
        # every token dropped: only the gaps that are not doubled whitespace
        ("555 666", [None, None], ""),
        # a dropped last token keeps the gap after it
        ("call 555!", ["call", None], "call !"),
    ],
)
def test_dropping_tokens(clitic_vocab: WordEmbeddings, text: str, replacements: list[str | None],
                         expected: str) -> None:
    tok = Tokenizer(clitic_vocab)
    t = tok.tokenize([text])
    assert tok.detokenize(t, replacements) == [expected]


def test_an_empty_replacement_is_put_back_as_empty_text(clitic_vocab: WordEmbeddings) -> None:
    tok = Tokenizer(clitic_vocab)
    t = tok.tokenize(["call 555 now", "?!", ""])
    assert tok.detokenize(t, ["call", "", "now"]) == ["call  now", "?!", ""]


def test_a_wrong_number_of_replacements_says_both_numbers(clitic_vocab: WordEmbeddings) -> None:
    tok = Tokenizer(clitic_vocab)
    t = tok.tokenize(["call now", "ok"])
    with pytest.raises(ConfigError, match=r"^2 replacements for 3 tokens$"):
        tok.detokenize(t, ["a", "b"])


def test_check_texts_messages_in_full() -> None:
    with pytest.raises(DataError) as none:
        check_texts(None, what="reviews")
    assert str(none.value) == "reviews is None; pass a list of strings"
    with pytest.raises(DataError) as number:
        check_texts(42)
    assert str(number.value) == "texts must be a list of strings, got a int"
    with pytest.raises(DataError) as cell:
        check_texts(["fine", None])
    assert str(cell.value) == ("texts[1] is a missing value (None/null), not a string; every cell must be text "
                               "(drop or fill missing cells first; the CLI has --missing skip|empty)")
    with pytest.raises(DataError) as other:
        check_texts(["fine", 3.5])
    assert str(other.value).startswith("texts[1] is a float (3.5), not a string")


def test_decomposed_accents_stay_part_of_their_word() -> None:
    """NFD text ("re" + U+0301 + "sume" + U+0301, as macOS writes it) was cut at every combining accent:
    on the default vocabulary "résumé" became the vocabulary word "re" (perturbed as such), the OOV
    token "sume" and two accents kept in the output as punctuation."""
    import unicodedata

    words = ["re", "sume", "café", "résumé", "the"]
    emb = WordEmbeddings(words, np.random.default_rng(1).normal(size=(len(words), 3)).astype(np.float32))
    tok = Tokenizer(emb)
    nfd = unicodedata.normalize("NFD", "The résumé, café")
    assert nfd != "The résumé, café"
    t = tok.tokenize([nfd, "re sume"])
    assert [emb.words[i] for i in t.index] == ["the", "résumé", "café", "re", "sume"]
    assert t.pieces[0] == ["", "the", " ", "résumé", ", ", "café", ""]
    assert tok.detokenize(t, ["a", "b", "c", "d", "e"]) == ["a b, c", "d e"]
    # unknown accented words are one OOV token each, with no accent left over between tokens
    t = tok.tokenize([unicodedata.normalize("NFD", "naïve José")])
    assert t.index.tolist() == [-1, -1] and t.pieces == [["", "naïve", " ", "josé", ""]]


@pytest.mark.parametrize(
    ("text", "words", "kept"),
    [
        # quotation marks around a word are punctuation, kept as written (they came out as straight quotes)
        ("the \u2018food\u2019 now", ["the", "food", "now"], "the \u2018food\u2019 now"),
        ("\u2018food\u2019", ["food"], "\u2018food\u2019"),
        ("the dogs\u2019 food", ["the", None, "food"], "the dogs\u2019 food"),
        # inside a word a curly apostrophe is the apostrophe the vocabulary has
        ("don\u2019t", ["don't"], "don't"),
        ("john\u2019s food", ["john", "'s", "food"], "john 's food"),
        ("we\u02bcve", ["we", "'ve"], "we 've"),
        # straight quotes as before
        ("the 'food' now", ["the", "food", "now"], "the 'food' now"),
    ],
)
def test_curly_quotes_around_words_stay_as_written(clitic_vocab: WordEmbeddings, text: str,
                                                   words: list[str | None], kept: str) -> None:
    tok = Tokenizer(clitic_vocab)
    assert _words(clitic_vocab, tok, text) == words
    t = tok.tokenize([text])
    same = [clitic_vocab.words[i] if i >= 0 else p for i, p in zip(t.index, t.pieces[0][1::2], strict=True)]
    assert tok.detokenize(t, same) == [kept]
    assert tok.detokenize(t, ["X"] * t.n_tokens)[0].count("X") == t.n_tokens


def test_combining_marks_stay_with_their_word() -> None:
    # \w matches no combining mark: a Devanagari word was cut at each vowel sign, and the signs were kept
    # verbatim in the output as punctuation; a lower-cased İ (i + U+0307) cut 'istanbul' in two
    words = ["\u0928\u092e\u0938\u094d\u0924\u0947", "i\u0307stanbul", "food", "don", "'t"]
    emb = WordEmbeddings(words, np.random.default_rng(0).normal(size=(len(words), 3)).astype(np.float32))
    tok = Tokenizer(emb, lowercase=True)
    for text, rows, out in [
        ("\u0928\u092e\u0938\u094d\u0924\u0947 food!", [0, 2], "X X!"),
        ("\u0130stanbul food", [1, 2], "X X"),
        ("food\u0301 food", [-1, 2], "X X"),       # a mark no composed letter takes: on its word, not left over
        ("\u0301food", [2], "\u0301X"),           # nothing before it: it stays where it is
        ("'don't'", [3, 4], "'XX'"),              # no marks: as before (an empty gap between two tokens)
    ]:
        t = tok.tokenize([text])
        assert t.index.tolist() == rows, text
        assert "".join(t.pieces[0]) == text.lower(), text
        assert tok.detokenize(t, ["X"] * t.n_tokens) == [out], text
