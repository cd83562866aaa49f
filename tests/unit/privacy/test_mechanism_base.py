"""The shared base of every word mechanism, on stub mechanisms whose draws are known in advance:
which tokens reach ``_perturb``, where its outputs land in the text, the OOV policies, the seed,
the ε range, and the per-token record the statistics read. (Mutation testing: with the real
mechanisms at huge ε, a ``run`` that never called ``_perturb`` passed every test.)"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from discoverly.errors import ConfigError, DataError
from discoverly.privacy.mechanism import WordMechanism, as_generator, check_epsilon
from discoverly.privacy.vocabulary import WordEmbeddings

# sentence_vocab's rows: the=0 a=1 food=2 meal=3 dish=4 was=5 is=6 great=7 good=8 ... film=23 (24 words)


class Shift(WordMechanism):
    """Every word becomes the next vocabulary row (wrapping), returned as int32; draws nothing."""

    name = "shift"

    def __init__(self, embeddings: WordEmbeddings, **kw: object) -> None:
        super().__init__(embeddings, **kw)  # type: ignore[arg-type]
        self.calls: list[np.ndarray] = []

    def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        self.calls.append(indices.copy())
        return ((indices + 1) % len(self.embeddings)).astype(np.int32)

    def _params(self) -> dict[str, object]:
        return {"step": 1, "wrap": True}


class Uniform(WordMechanism):
    """Every word becomes a uniformly drawn row: its output is ``rng.integers(0, n, size)``."""

    name = "uniform"

    def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, len(self.embeddings), size=len(indices))


def test_run_sends_the_in_vocabulary_tokens_to_the_mechanism_and_puts_its_words_back(
        sentence_vocab: WordEmbeddings) -> None:
    mech = Shift(sentence_vocab, oov="keep")
    run = mech.run(["The food was great, zzz!", "", "555 film"], 2.5, rng=0)
    # the->a, food->meal, was->is, great->good; film (the last row) wraps to the first, 'the'
    assert run.texts == ["a meal is good, zzz!", "", "555 the"]
    assert len(mech.calls) == 1 and mech.calls[0].tolist() == [0, 2, 5, 7, 23]
    assert run.inputs.tolist() == [0, 2, 5, 7, 23]
    assert run.outputs.tolist() == [1, 3, 6, 8, 0] and run.outputs.dtype == np.int64
    assert (run.n_tokens, run.n_in_vocabulary, run.unchanged) == (7, 5, 0)
    assert run.oov == {"keep": 2} and run.epsilon == 2.5


def test_run_records_unchanged_tokens_and_no_oov_entry_without_oov_tokens(sentence_vocab: WordEmbeddings) -> None:
    class Identity(Shift):
        def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
            return np.where(indices == 2, 3, indices)  # only food changes (to meal)

    run = Identity(sentence_vocab).run(["the food was the food"], 1.0, rng=0)
    assert run.texts == ["the meal was the meal"]
    assert run.oov == {} and run.n_in_vocabulary == 5 and run.unchanged == 3


def test_run_without_vocabulary_words_does_not_need_the_mechanism(sentence_vocab: WordEmbeddings) -> None:
    mech = Shift(sentence_vocab, oov="mask")
    run = mech.run(["zzz 123", "!"], 1.0, rng=0)
    assert run.texts == ["<unk> <unk>", "!"]  # the default mask token, exactly
    assert run.oov == {"mask": 2} and run.n_in_vocabulary == 0 and run.unchanged == 0


def test_drop_removes_the_token_and_its_doubled_space(sentence_vocab: WordEmbeddings) -> None:
    run = Shift(sentence_vocab, oov="drop").run(["the 555 food, zzz"], 1.0, rng=0)
    assert run.texts == ["a meal, "] and run.oov == {"drop": 2}


def test_lowercase_false_looks_up_tokens_as_written(sentence_vocab: WordEmbeddings) -> None:
    assert Shift(sentence_vocab, oov="keep").run(["The food"], 1.0).texts == ["a meal"]  # default: lowercased
    mech = Shift(sentence_vocab, oov="keep", lowercase=False)
    assert mech.describe()["lowercase"] is False
    run = mech.run(["The food"], 1.0)
    assert run.texts == ["The meal"] and run.oov == {"keep": 1}  # 'The' is not the vocabulary's 'the'


def test_random_oov_replacement_is_uniform_over_the_whole_vocabulary(sentence_vocab: WordEmbeddings) -> None:
    n = len(sentence_vocab)
    run = Shift(sentence_vocab).run(["zzz " * 2400], 1.0, rng=11)
    assert run.oov == {"random": 2400} and run.n_in_vocabulary == 0
    counts = np.bincount([sentence_vocab.index(w) for w in run.texts[0].split()], minlength=n)
    assert counts.min() > 0  # the first row too
    # chi-square against the uniform distribution over all 24 words (100 expected each)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_seeded_draws_come_from_the_seed(sentence_vocab: WordEmbeddings) -> None:
    mech = Uniform(sentence_vocab)
    want = np.random.default_rng(42).integers(0, len(sentence_vocab), size=300)
    np.testing.assert_array_equal(mech.privatize_indices(np.zeros(300, dtype=np.int64), 1.0, rng=42), want)
    words = mech.privatize_words(["food"] * 300, 1.0, rng=42)
    assert words == [sentence_vocab.words[i] for i in want]
    gen, same = np.random.default_rng(42), np.random.default_rng(42)  # a Generator is used as it is
    for _ in range(2):
        np.testing.assert_array_equal(mech.privatize_indices([0, 0, 0], 1.0, rng=gen), same.integers(0, 24, size=3))


def test_privatize_indices_rows_and_dtypes(sentence_vocab: WordEmbeddings) -> None:
    mech = Shift(sentence_vocab)
    out = mech.privatize_indices(np.array([[0, 23], [5, 2]], dtype=np.int32), 1.0, rng=0)
    assert out.tolist() == [1, 0, 6, 3] and out.dtype == np.int64  # flattened; the stub's int32 widened
    assert mech.privatize_indices(np.array([], dtype=np.int64), 1.0).dtype == np.int64
    with pytest.raises(DataError) as err:
        mech.privatize_indices([0, 24], 1.0)  # one past the last row
    assert str(err.value) == "indices must be vocabulary rows in [0, 24), got values in [0, 24]"
    with pytest.raises(DataError, match=r"got values in \[-1, 3\]"):
        mech.privatize_indices([3, -1], 1.0)


def test_privatize_words_accepts_the_first_row_and_names_the_unknown_words(sentence_vocab: WordEmbeddings) -> None:
    mech = Shift(sentence_vocab)
    assert mech.privatize_words(["the", "film"], 1.0, rng=0) == ["a", "the"]
    with pytest.raises(DataError) as err:
        mech.privatize_words(["the", "u1", "food", "u2", "u3", "u4", "u5", "u6"], 1.0)
    assert str(err.value) == ("not in the vocabulary: ['u1', 'u2', 'u3', 'u4', 'u5']; privatize() handles "
                              "out-of-vocabulary text")
    with pytest.raises(DataError, match=r"^words must be a list of texts, got a single str"):
        mech.privatize_words("food", 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("eps", [1e-30, 1e30, 3])
def test_the_documented_epsilon_range_is_inclusive(eps: float) -> None:
    assert check_epsilon(eps) == float(eps) and type(check_epsilon(eps)) is float


@pytest.mark.parametrize("eps", [0, 0.0, -1.0, float("nan"), float("inf"), float("-inf")])
def test_epsilon_not_positive_or_not_finite_says_so(eps: float) -> None:
    with pytest.raises(ConfigError) as err:
        check_epsilon(eps)
    assert str(err.value) == (f"epsilon must be a finite number > 0, got {float(eps)}; larger ε means less noise "
                              "(weaker privacy). ε is stated per unit of distance on the vocabulary's vector scale")


def test_epsilon_messages_name_what_was_received() -> None:
    with pytest.raises(ConfigError) as err:
        check_epsilon("2")
    assert str(err.value) == "epsilon must be a positive number, got '2' (str)"
    with pytest.raises(ConfigError) as err:
        check_epsilon(2e30)
    assert str(err.value) == ("epsilon=2e+30 is outside the range the mechanisms compute reliably (1e-30 to 1e+30); "
                              "far inside it the output is already the input word (large ε) or independent of it "
                              "(small ε)")


def test_seed_messages() -> None:
    with pytest.raises(ConfigError) as err:
        as_generator(-3)
    assert str(err.value) == "a seed must be a non-negative integer, got -3"
    with pytest.raises(ConfigError) as err:
        as_generator(1.5)  # type: ignore[arg-type]
    assert str(err.value) == "rng must be an int seed, a numpy Generator or None, got float"


def test_constructor_messages(sentence_vocab: WordEmbeddings) -> None:
    with pytest.raises(ConfigError) as err:
        Shift("vectors.npz")  # type: ignore[arg-type]
    assert str(err.value) == ("embeddings must be a WordEmbeddings, got str; load one with WordEmbeddings.default() "
                              "/ from_npz / from_text / from_spacy")
    with pytest.raises(ConfigError) as err:
        Shift(sentence_vocab, oov="pass")
    assert str(err.value) == "unknown out-of-vocabulary policy 'pass'; use one of random, drop, mask, keep"


def test_describe_and_repr(sentence_vocab: WordEmbeddings) -> None:
    mech = Shift(sentence_vocab, oov="mask")
    assert mech.describe() == {"mechanism": "shift", "step": 1, "wrap": True, "oov": "mask",
                               "vocabulary": "sentences", "vocabulary_fingerprint": sentence_vocab.fingerprint(),
                               "n_words": 24, "dim": 4, "scale": "raw", "lowercase": True}
    assert repr(mech) == "Shift(WordEmbeddings('sentences', 24 words × 4, scale='raw'), step=1, wrap=True)"
    assert repr(Uniform(sentence_vocab)) == "Uniform(WordEmbeddings('sentences', 24 words × 4, scale='raw'))"
