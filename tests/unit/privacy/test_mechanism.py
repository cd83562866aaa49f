"""The shared text interface every mechanism passes: vocabulary-only output, determinism, the OOV
policy, bad input, and monotonicity of N_w in ε."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discoverly.errors import ConfigError, DataError
from discoverly.privacy.gumbel import TruncatedGumbel
from discoverly.privacy.laplace import MultivariateLaplace
from discoverly.privacy.mechanism import Mechanism, WordMechanism
from discoverly.privacy.public_gumbel import PublicTruncatedGumbel
from discoverly.privacy.registry import create_mechanism
from discoverly.privacy.tokenize import Tokenizer
from discoverly.privacy.vocabulary import WordEmbeddings

from .conftest import make_embeddings

NAMES = ["truncated-gumbel", "multivariate-laplace", "mahalanobis"]


def build(name: str, emb: WordEmbeddings, **kw: object) -> WordMechanism:
    extra: dict[str, object] = {"max_k": 8, "band_k": 12} if name == "truncated-gumbel" else {}
    return create_mechanism(name, emb, **extra, **kw)


@pytest.fixture(scope="module")
def vocab() -> WordEmbeddings:
    return make_embeddings(n=24, dim=4, seed=5)


@pytest.mark.parametrize("name", NAMES)
def test_is_a_mechanism(name: str, sentence_vocab: WordEmbeddings) -> None:
    assert isinstance(build(name, sentence_vocab), Mechanism)


@pytest.mark.parametrize("name", NAMES)
def test_text_round_trip_outputs_vocabulary_words_only(name: str, sentence_vocab: WordEmbeddings) -> None:
    mech = build(name, sentence_vocab)
    texts = ["The food was great, but the staff was AWFUL!", "John's dish 42 zzz", ""]
    out = mech.privatize(texts, 1.0, rng=3)
    assert len(out) == 3 and out[2] == ""
    toks = Tokenizer(sentence_vocab).tokenize(out)
    assert (toks.index >= 0).all()  # every token of the output is a vocabulary word (OOV -> random word)
    assert out[0].count(",") == 1 and out[0].endswith("!")


@given(words=st.lists(st.integers(0, 23), min_size=1, max_size=30), eps=st.floats(0.05, 50.0),
       seed=st.integers(0, 2**32 - 1), name=st.sampled_from(NAMES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_property_vocabulary_only_and_same_seed_same_output(vocab: WordEmbeddings, words: list[int], eps: float,
                                                             seed: int, name: str) -> None:
    mech = _cached(name, vocab)
    text = " ".join(vocab.words[i] for i in words) + " unknownword 123"
    a = mech.privatize([text], eps, rng=seed)
    b = mech.privatize([text], eps, rng=seed)
    assert a == b
    out_words = a[0].split()
    assert len(out_words) == len(words) + 2
    assert all(w in vocab for w in out_words)


_CACHE: dict[str, WordMechanism] = {}


def _cached(name: str, emb: WordEmbeddings) -> WordMechanism:
    if name not in _CACHE:
        _CACHE[name] = build(name, emb)
    return _CACHE[name]


@pytest.mark.parametrize("name", NAMES)
def test_larger_epsilon_never_lowers_n_w_on_average(name: str, vocab: WordEmbeddings) -> None:
    mech = build(name, vocab)
    words = np.repeat(np.arange(len(vocab)), 400)
    grid = [0.3, 1.0, 3.0, 10.0, 30.0]
    shares = [float((mech.privatize_indices(words, e, rng=i) == words).mean()) for i, e in enumerate(grid)]
    # 9,600 draws per ε: a real decrease would exceed this margin (3 standard errors)
    assert all(b >= a - 3 * np.sqrt(0.25 / len(words)) for a, b in itertools.pairwise(shares))
    assert shares[-1] > shares[0] + 0.2


@pytest.mark.parametrize("eps", [0, -1.0, float("nan"), float("inf"), "2", None, True])
def test_bad_epsilon(eps: object, sentence_vocab: WordEmbeddings) -> None:
    mech = MultivariateLaplace(sentence_vocab)
    with pytest.raises(ConfigError, match="epsilon"):
        mech.privatize(["the food"], eps, rng=0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("texts", "match"), [([], "empty"), ("the food", "single str"),
                                              (["ok", None], "missing value"), (["ok", 7], "int")])
def test_bad_texts(texts: object, match: str, sentence_vocab: WordEmbeddings) -> None:
    mech = TruncatedGumbel(sentence_vocab)
    with pytest.raises(DataError, match=match):
        mech.privatize(texts, 1.0, rng=0)  # type: ignore[arg-type]


def test_bad_indices_and_words(sentence_vocab: WordEmbeddings) -> None:
    mech = TruncatedGumbel(sentence_vocab)
    with pytest.raises(DataError, match="vocabulary rows"):
        mech.privatize_indices([0, 99], 1.0)
    with pytest.raises(DataError, match="integer"):
        mech.privatize_indices(np.array([0.5]), 1.0)
    with pytest.raises(DataError, match="not in the vocabulary"):
        mech.privatize_words(["food", "zebra"], 1.0)
    assert mech.privatize_indices([], 1.0).size == 0
    assert mech.privatize_words(["food"], 1e6, rng=0)[0] in sentence_vocab


@pytest.mark.parametrize("policy", ["random", "drop", "mask", "keep"])
def test_oov_policies_are_applied_and_counted(policy: str, sentence_vocab: WordEmbeddings) -> None:
    mech = TruncatedGumbel(sentence_vocab, oov=policy)
    run = mech.run(["the food 555 was zanzibar"], 1e6, rng=0)  # huge ε: in-vocabulary words stay
    assert run.oov == {policy: 2} and run.n_tokens == 5 and run.n_in_vocabulary == 3
    text = run.texts[0]
    if policy == "keep":
        assert "555" in text and "zanzibar" in text
    elif policy == "mask":
        assert text.count("<unk>") == 2
    elif policy == "drop":
        assert text.split() == ["the", "food", "was"]
    else:
        assert "555" not in text and "zanzibar" not in text and len(text.split()) == 5


def test_unknown_options_are_config_errors(sentence_vocab: WordEmbeddings) -> None:
    with pytest.raises(ConfigError, match="did you mean"):
        create_mechanism("truncated-gumble", sentence_vocab)
    with pytest.raises(ConfigError, match="bad option"):
        create_mechanism("truncated-gumbel", sentence_vocab, no_such_option=1)
    with pytest.raises(ConfigError, match="out-of-vocabulary"):
        TruncatedGumbel(sentence_vocab, oov="pass")
    with pytest.raises(ConfigError, match="rng"):
        TruncatedGumbel(sentence_vocab).privatize(["food"], 1.0, rng="seed")  # type: ignore[arg-type]


def test_describe_records_the_scale_and_parameters(sentence_vocab: WordEmbeddings) -> None:
    mech = TruncatedGumbel(sentence_vocab.scaled("unit"), mean_k=2.0)
    info = mech.describe()
    assert info["scale"] == "unit" and info["mean_k"] == 2.0 and info["mechanism"] == "truncated-gumbel"
    assert "'unit' scale" in mech.guarantee(2.0)
    public = PublicTruncatedGumbel(make_embeddings(n=30, seed=2, scale=6.0), max_k=10)
    assert public.describe()["calibration"] == "public"


@pytest.mark.parametrize("epsilon", [1e31, 1e308, 1e-31])
def test_epsilon_outside_the_float32_range_is_refused(toy: WordEmbeddings, epsilon: float) -> None:
    # 1e308 gave RuntimeWarnings, and above ~7e38 NaN output distributions and N_w; tiny ε sent every
    # Laplace draw to row 0
    with pytest.raises(ConfigError, match="outside the range"):
        TruncatedGumbel(toy, max_k=8, band_k=16).output_distribution(0, epsilon)
