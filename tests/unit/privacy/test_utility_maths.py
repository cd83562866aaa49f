"""The utility study's maths against hand values and the documented definitions (docs/privacy.md,
the module docstring): summary rows, paired comparisons, the deduplicated stratified split, ε
matching at a target N_w, and the N_w recorded per run (mutation testing: the other tests check
ranges and shapes only)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.stats import bootstrap_ci
from discoverly.privacy.gumbel import TruncatedGumbel
from discoverly.privacy.laplace import MultivariateLaplace
from discoverly.privacy.utility import (
    TextDataset,
    UtilityStudy,
    _split,
    corpus_tokens,
    match_epsilon,
    match_epsilons,
    run_utility_study,
)
from discoverly.privacy.vocabulary import WordEmbeddings

pytest.importorskip("sklearn")


def _study() -> UtilityStudy:
    # two seeds of mechanism "tg" and "lap" at target 0.5, one of "lap" at 0.3, and the clean run
    correct = {
        ("toy", "tfidf-logreg", "tg", 0.5): [np.array([1, 0, 1, 1, 0, 1], bool), np.array([0, 1, 1, 1, 0, 1], bool)],
        ("toy", "tfidf-logreg", "lap", 0.5): [np.array([1, 0, 0, 1, 0, 0], bool), np.array([1, 0, 0, 0, 1, 1], bool)],
        ("toy", "tfidf-logreg", "lap", 0.3): [np.array([0, 0, 0, 1, 1, 1], bool)],
        ("toy", "tfidf-logreg", "clean", 1.0): [np.array([1, 1, 1, 1, 1, 0], bool)],
    }
    rows = []
    for (data, clf, mech, target), runs in correct.items():
        for seed, c in enumerate(runs):
            rows.append({"dataset": data, "classifier": clf, "mechanism": mech, "target": target,
                         "epsilon": 2.0 + seed if mech != "clean" else math.inf, "seed": seed,
                         "N_w": target - 0.01 * seed, "test_accuracy": float(c.mean())})
    return UtilityStudy(pl.DataFrame(rows), correct)


def test_summary_by_hand() -> None:
    s = _study().summary(rng=5)
    assert s["mechanism"].to_list() == ["clean", "lap", "lap", "tg"]  # sorted by data set, classifier, ...
    tg = s.filter(pl.col("mechanism") == "tg").row(0, named=True)
    # seed-averaged correctness 0.5, 0.5, 1, 1, 0, 1 -> accuracy 2/3; seeds' accuracies 4/6 and 4/6
    assert tg["accuracy"] == pytest.approx(4 / 6) and tg["seeds"] == 2 and tg["seed_sd"] == 0.0
    assert tg["epsilon"] == pytest.approx(2.5) and tg["N_w"] == pytest.approx(0.495)
    lap = s.filter((pl.col("mechanism") == "lap") & (pl.col("target") == 0.5)).row(0, named=True)
    assert lap["accuracy"] == pytest.approx(2.5 / 6)
    assert lap["seed_sd"] == pytest.approx(math.sqrt(2 * (1 / 12) ** 2))  # accuracies 2/6, 3/6; ddof 1
    one = s.filter((pl.col("mechanism") == "lap") & (pl.col("target") == 0.3)).row(0, named=True)
    assert one["seeds"] == 1 and one["seed_sd"] == 0.0 and one["accuracy"] == pytest.approx(0.5)
    # the interval: a bootstrap over test examples of the seed-averaged correctness, inside [0, 1]
    for row in s.iter_rows(named=True):
        assert 0 <= row["ci_low"] <= row["accuracy"] <= row["ci_high"] <= 1
    again = _study().summary(rng=5)
    assert again.equals(s)
    # the groups draw from one generator in the order of the runs: "tg" first
    first = _study().summary(rng=np.random.default_rng(5)).filter(pl.col("mechanism") == "tg").row(0, named=True)
    est = bootstrap_ci(np.array([0.5, 0.5, 1, 1, 0, 1]), rng=np.random.default_rng(5))
    assert (first["ci_low"], first["ci_high"]) == pytest.approx((est.low, est.high))


def _exact_sign_flip_p(d: list[float]) -> float:
    nz = [x for x in d if x != 0]
    observed = abs(sum(nz))
    sums = [abs(sum(s * x for s, x in zip(signs, nz, strict=True))) for signs in itertools.product((-1, 1),
                                                                                                    repeat=len(nz))]
    return sum(s >= observed - 1e-9 for s in sums) / len(sums)


def test_comparisons_by_hand() -> None:
    study = _study()
    comp = study.comparisons("tg", "lap")
    assert comp.height == 1  # only target 0.5 is shared
    row = comp.row(0, named=True)
    a = np.array([0.5, 0.5, 1, 1, 0, 1])
    b = np.array([1, 0, 0, 0.5, 0.5, 0.5])
    assert (row["dataset"], row["classifier"], row["target"]) == ("toy", "tfidf-logreg", 0.5)
    assert row["difference"] == pytest.approx((a - b).mean())
    assert row["p_value"] == pytest.approx(_exact_sign_flip_p((a - b).tolist()))
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    flipped = study.comparisons("lap", "tg").row(0, named=True)
    assert flipped["difference"] == pytest.approx(-row["difference"])
    assert study.comparisons("tg", "nothing").height == 0


def test_split_is_a_stratified_60_20_20_of_the_distinct_texts() -> None:
    texts = [f"t{i}" for i in range(50)] + ["t3", "t7", "t3"]  # three repeats of earlier texts
    labels = np.array([i % 5 == 0 for i in range(50)] + [False, False, True], dtype=np.int64)  # 10 of 50 positive
    data = _split(texts, labels, "toy", np.random.default_rng(0), None)
    parts = [(data.train_texts, data.train_labels), (data.val_texts, data.val_labels),
             (data.test_texts, data.test_labels)]
    got = [t for p, _ in parts for t in p]
    assert sorted(got) == sorted(texts[:50])  # each distinct text once
    truth = {f"t{i}": int(i % 5 == 0) for i in range(50)}  # a repeat keeps its first label
    for p_texts, p_labels in parts:
        assert p_labels.tolist() == [truth[t] for t in p_texts]
    # per label: int(0.6 n), int(0.8 n) - int(0.6 n), the rest; 40 negatives and 10 positives
    assert [int((p_labels == 0).sum()) for _, p_labels in parts] == [24, 8, 8]
    assert [int((p_labels == 1).sum()) for _, p_labels in parts] == [6, 2, 2]
    assert [int(t[1:]) for t in data.train_texts] == sorted(int(t[1:]) for t in data.train_texts)  # in file order
    small = _split(texts, labels, "toy", np.random.default_rng(0), 7)
    assert len(small.train_texts) == 7 and set(small.train_texts) <= set(data.train_texts)
    assert small.test_texts == data.test_texts and small.val_texts == data.val_texts
    assert _split(texts, labels, "toy", np.random.default_rng(0), 30).train_texts == data.train_texts


def _task(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    filler = ["the", "food", "was", "service", "staff", "a", "meal", "dish"]
    texts, labels = [], []
    for _ in range(n):
        y = int(rng.integers(0, 2))
        words = [*rng.choice(filler, size=4).tolist(), str(rng.choice(["great", "good"] if y else ["awful", "bad"]))]
        texts.append(" ".join(words))
        labels.append(y)
    return texts, np.asarray(labels)


def test_gumbel_match_is_the_exact_expected_share_at_the_returned_epsilon(sentence_vocab: WordEmbeddings) -> None:
    mech = TruncatedGumbel(sentence_vocab)
    texts, _ = _task(200, 0)
    tokens = corpus_tokens(mech, texts)
    words = [w for t in texts for w in t.split()]
    assert tokens.tolist() == [sentence_vocab.index(w) for w in words]  # every filler word is in the vocabulary
    got = match_epsilons(mech, tokens, [0.25, 0.5, 0.75])
    for target, (eps, n_w) in got.items():
        # N_w at ε: the token-weighted mean of the documented exact P(w | w) (unchanged_probability)
        exact = float(np.mean(mech.unchanged_probability(eps)[tokens]))
        assert n_w == pytest.approx(exact, rel=1e-9)
        assert n_w == pytest.approx(target, abs=0.01)
    assert match_epsilon(mech, tokens, 0.5) == got[0.5]
    with pytest.raises(ConfigError, match="outside"):
        match_epsilons(mech, tokens, [0.001])


def test_matching_needs_vocabulary_tokens(sentence_vocab: WordEmbeddings) -> None:
    # texts with no vocabulary word (another language): was "N_w = 0.5 is outside [nan, nan]" for
    # truncated Gumbel and numpy's "Mean of empty slice" warning for Laplace
    for mech in (TruncatedGumbel(sentence_vocab), MultivariateLaplace(sentence_vocab)):
        tokens = corpus_tokens(mech, ["zzz qqq", "xyzzy"])
        assert tokens.size == 0
        with pytest.raises(DataError, match="no in-vocabulary tokens"):
            match_epsilons(mech, tokens, [0.5])


def test_laplace_match_reaches_the_target_on_fresh_draws(sentence_vocab: WordEmbeddings) -> None:
    mech = MultivariateLaplace(sentence_vocab)
    texts, _ = _task(300, 1)
    tokens = corpus_tokens(mech, texts)
    (eps, n_w), = match_epsilons(mech, tokens, [0.4]).values()
    fresh = [(mech.privatize_indices(tokens, eps, rng=s) == tokens).mean() for s in range(20)]
    assert np.mean(fresh) == pytest.approx(0.4, abs=0.03)
    assert n_w == pytest.approx(0.4, abs=0.03)
    lo, _ = match_epsilon(mech, tokens, 0.2)
    hi, _ = match_epsilon(mech, tokens, 0.6)
    assert lo < eps < hi


def test_study_records_the_realised_share_and_fixed_epsilons(sentence_vocab: WordEmbeddings) -> None:
    tr, va, te = (_task(n, s) for n, s in ((120, 2), (60, 3), (60, 4)))
    data = TextDataset("toy", tr[0], tr[1], va[0], va[1], te[0], te[1])
    mech = MultivariateLaplace(sentence_vocab)
    study = run_utility_study([data], {"lap": mech}, targets=[0.3, 0.6], seeds=[4, 9],
                              epsilons={("toy", "lap", 0.6): 7.5})
    runs = study.runs
    clean = runs.filter(pl.col("mechanism") == "clean").row(0, named=True)
    assert (clean["target"], clean["epsilon"], clean["N_w"], clean["seed"]) == (1.0, math.inf, 1.0, 0)
    fixed = runs.filter(pl.col("target") == 0.6)
    assert fixed["epsilon"].to_list() == [7.5, 7.5] and fixed["seed"].to_list() == [4, 9]
    for row in runs.filter(pl.col("mechanism") == "lap").iter_rows(named=True):
        run = mech.run(data.train_texts, row["epsilon"], rng=row["seed"])
        assert row["N_w"] == pytest.approx(run.unchanged / run.n_in_vocabulary)
        correct = study.correct[("toy", "tfidf-logreg", "lap", row["target"])][[4, 9].index(row["seed"])]
        assert row["test_accuracy"] == pytest.approx(correct.mean()) and correct.size == len(te[0])
    matched = runs.filter(pl.col("target") == 0.3)["epsilon"].unique().to_list()
    assert len(matched) == 1 and matched[0] == pytest.approx(match_epsilon(mech, corpus_tokens(mech, tr[0]), 0.3)[0])


def test_c_is_chosen_on_validation_accuracy_first_best_wins() -> None:
    from sklearn.linear_model import LogisticRegression

    from discoverly.privacy.utility import _logistic

    gen = np.random.default_rng(0)
    x = gen.normal(size=(90, 3))
    y = (x[:, 0] + 0.8 * gen.normal(size=90) > 0).astype(int)
    grid = (0.001, 0.01, 1.0, 100.0)
    fit = _logistic(x[:50], y[:50], x[50:70], y[50:70], x[70:], y[70:], grid)
    val = [float((LogisticRegression(C=c, max_iter=3000).fit(x[:50], y[:50]).predict(x[50:70]) == y[50:70]).mean())
           for c in grid]
    best = int(np.argmax(val))  # the first of equal accuracies
    assert fit.val_accuracy == max(val) and fit.c == grid[best]
    model = LogisticRegression(C=grid[best], max_iter=3000).fit(x[:50], y[:50])
    assert fit.test_correct.tolist() == (model.predict(x[70:]) == y[70:]).tolist()
    # the worse of two candidates is never chosen, whatever its C: a tiny C predicts the majority class
    y2 = (x[:, 0] > -0.6).astype(int)  # about 70% positive
    tiny = _logistic(x[:50], y2[:50], x[50:70], y2[50:70], x[70:], y2[70:], (0.5, 1e-4))
    acc = [float((LogisticRegression(C=c, max_iter=3000).fit(x[:50], y2[:50]).predict(x[50:70]) == y2[50:70]).mean())
           for c in (0.5, 1e-4)]
    assert acc[0] > acc[1] > 0.5 and tiny.c == 0.5 and tiny.val_accuracy == acc[0]


class _CountingEncoder:
    """Bag of words over a fixed word list; remembers how many texts each call encoded."""

    words = ("great", "good", "awful", "bad", "the", "food")

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return np.array([[t.split().count(w) for w in self.words] for t in texts], dtype=np.float32)


def test_embedding_classifier_runs_on_its_share_and_targets(sentence_vocab: WordEmbeddings) -> None:
    from discoverly.privacy.utility import OovOnly

    tr, va, te = (_task(n, s) for n, s in ((80, 5), (30, 6), (40, 7)))
    data = TextDataset("toy", tr[0], tr[1], va[0], va[1], te[0], te[1])
    enc = _CountingEncoder()
    study = run_utility_study([data], {"lap": MultivariateLaplace(sentence_vocab), "oov": OovOnly(sentence_vocab)},
                              targets=[0.3, 0.6], seeds=[1], classifiers=("tfidf", "minilm"), encoder=enc,
                              embedding_train=25, embedding_targets=[0.6])
    emb = study.runs.filter(pl.col("classifier") == "minilm-logreg")
    # clean, then Laplace at 0.6 only; never the OOV-only mechanism
    assert list(zip(emb["mechanism"].to_list(), emb["target"].to_list(), strict=True)) == [("clean", 1.0),
                                                                                        ("lap", 0.6)]
    assert enc.calls == [30, 40, 25, 25]  # validation and test once, then the first 25 training texts per run
    tfidf = study.runs.filter(pl.col("classifier") == "tfidf-logreg")
    assert tfidf.height == 1 + 2 * 2 and set(tfidf["mechanism"]) == {"clean", "lap", "oov"}
    oov = tfidf.filter(pl.col("mechanism") == "oov")
    assert oov["epsilon"].to_list() == [1.0, 1.0] and oov["N_w"].to_list() == [1.0, 1.0]
    for (_, clf, _, _), runs in study.correct.items():
        assert all(c.size == 40 for c in runs) and clf in ("tfidf-logreg", "minilm-logreg")
