"""The utility study on a small synthetic task, ε matching, and the public data loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discoverly.errors import ConfigError, DatasetNotFoundError
from discoverly.privacy.gumbel import TruncatedGumbel
from discoverly.privacy.laplace import MultivariateLaplace
from discoverly.privacy.utility import (
    OovOnly,
    TextDataset,
    corpus_tokens,
    load_textclf,
    match_epsilons,
    run_utility_study,
)
from discoverly.privacy.vocabulary import WordEmbeddings

pytest.importorskip("sklearn")


def _task(vocab: WordEmbeddings, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    pos, neg, filler = ["great", "good", "fine"], ["awful", "bad"], ["the", "food", "was", "service", "staff", "a"]
    texts, labels = [], []
    for _ in range(n):
        y = int(rng.integers(0, 2))
        words = [*list(rng.choice(filler, size=4)), str(rng.choice(pos if y else neg)), "zzz"]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(y)
    return texts, np.asarray(labels)


@pytest.fixture
def task(sentence_vocab: WordEmbeddings) -> TextDataset:
    tr, va, te = (_task(sentence_vocab, n, s) for n, s in ((300, 0), (100, 1), (200, 2)))
    return TextDataset("toy", tr[0], tr[1], va[0], va[1], te[0], te[1])


def test_match_epsilons(sentence_vocab: WordEmbeddings, task: TextDataset) -> None:
    for mech in (TruncatedGumbel(sentence_vocab), MultivariateLaplace(sentence_vocab)):
        tokens = corpus_tokens(mech, task.train_texts)
        got = match_epsilons(mech, tokens, [0.3, 0.7])
        assert got[0.3][0] < got[0.7][0]
        for target, (eps, n_w) in got.items():
            assert n_w == pytest.approx(target, abs=0.03), (mech.name, target, eps)
    with pytest.raises(ConfigError):
        match_epsilons(mech, tokens, [1.5])


def test_study(sentence_vocab: WordEmbeddings, task: TextDataset) -> None:
    mechs = {"truncated-gumbel": TruncatedGumbel(sentence_vocab), "multivariate-laplace":
             MultivariateLaplace(sentence_vocab), "oov-only": OovOnly(sentence_vocab)}
    study = run_utility_study([task], mechs, targets=[0.5], seeds=[0, 1])
    assert study.runs.height == 1 + 3 * 2
    summary = study.summary()
    clean = summary.filter(summary["mechanism"] == "clean").row(0, named=True)
    assert clean["accuracy"] > 0.95  # the task is learnable from clean text
    for row in summary.filter(summary["mechanism"] != "clean").iter_rows(named=True):
        assert 0 <= row["ci_low"] <= row["accuracy"] <= row["ci_high"] <= 1
        if row["mechanism"] != "oov-only":
            assert row["N_w"] == pytest.approx(0.5, abs=0.08)
    comp = study.comparisons("truncated-gumbel", "multivariate-laplace")
    assert comp.height == 1 and 0 <= comp["p_value"].item() <= 1


def test_study_without_clean_runs(sentence_vocab: WordEmbeddings, task: TextDataset) -> None:
    study = run_utility_study([task], {"oov-only": OovOnly(sentence_vocab)}, targets=[1.0], seeds=[0, 1], clean=False)
    assert study.runs["mechanism"].to_list() == ["oov-only", "oov-only"]
    assert study.runs["N_w"].to_list() == [1.0, 1.0]  # every vocabulary word kept


def test_loaders_need_the_data(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError):
        load_textclf("sst2", tmp_path)


@pytest.mark.data
@pytest.mark.parametrize("name", ["sst2", "sms_spam", "uci_sentiment"])
def test_public_text_sets(shared_data: Path, name: str) -> None:
    data = load_textclf(name, shared_data, max_train=500)
    assert len(data.train_texts) == 500 == len(data.train_labels)
    assert set(np.unique(data.test_labels).tolist()) == {0, 1}
    assert len(data.val_texts) > 100 and len(data.test_texts) > 100
    if name != "sst2":  # deduplicated before splitting
        assert not set(data.test_texts) & (set(data.val_texts) | set(data.train_texts))
    with pytest.raises(ConfigError):
        load_textclf("imdb", shared_data)
