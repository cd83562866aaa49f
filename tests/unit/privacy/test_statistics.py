"""N_w and S_w per word and by bucket, over a text stream, and the plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.privacy.gumbel import TruncatedGumbel
from discoverly.privacy.laplace import MultivariateLaplace
from discoverly.privacy.statistics import (
    TextStatistics,
    plot_curves,
    privacy_curves,
    sample_words,
    summarize,
    word_statistics,
)
from discoverly.privacy.vocabulary import WordEmbeddings


def test_word_statistics_against_the_closed_form(toy: WordEmbeddings) -> None:
    mech = TruncatedGumbel(toy, mean_k=3.0, max_k=8, band_k=16)
    frame = word_statistics(mech, 2.0, draws=2000, rng=0)
    assert frame.height == len(toy)
    expected = mech.unchanged_probability(2.0)
    np.testing.assert_allclose(frame["N_w"].to_numpy(), expected, atol=4 * np.sqrt(0.25 / 2000))
    s = frame["S_w"].to_numpy()
    assert (s >= 1).all() and (s <= len(toy)).all()


def test_s_w_counts_distinct_outputs(toy: WordEmbeddings) -> None:
    mech = TruncatedGumbel(toy, max_k=8, band_k=16)
    frame = word_statistics(mech, 1e6, [0, 1], draws=50, rng=0)  # nearly the identity
    assert frame["S_w"].to_list() == [1, 1] or frame["N_w"].min() > 0.9


def test_curves_summary_and_plot(toy: WordEmbeddings) -> None:
    pytest.importorskip("matplotlib")
    words = sample_words(toy, per_bucket=5, rng=0)
    assert len(words) == len(set(words.tolist()))
    mechs = {"gumbel": TruncatedGumbel(toy, max_k=8, band_k=16), "laplace": MultivariateLaplace(toy)}
    frame = privacy_curves(mechs, [0.5, 5.0], words, draws=50, rng=0)
    assert frame.height == 2 * 2 * len(words)
    summary = summarize(frame)
    assert set(summary["bucket"].to_list()) >= {"all"}
    row = summary.filter(pl.col("bucket") == "all").row(0, named=True)
    assert row["N_w_low"] <= row["N_w"] <= row["N_w_high"]
    fig = plot_curves(summary, "N_w")
    assert fig.axes[0].get_xscale() == "log"
    plot_curves(summary, "S_w", bucket="all")


def test_text_statistics(tmp_path: Path, sentence_vocab: WordEmbeddings) -> None:
    mech = TruncatedGumbel(sentence_vocab, oov="drop")
    stats = TextStatistics(mech, 1e6, seed=4)
    for batch in (["the food was great 123"], ["the staff was bad", "zzz"]):
        stats.update(mech.run(batch, 1e6, rng=4))
    s = stats.summary()
    assert (s["texts"], s["tokens"], s["in_vocabulary"], s["out_of_vocabulary"]) == (3, 10, 8, 2)
    assert s["oov_handling"] == {"drop": 2} and s["oov_kept"] == 0 and s["seed"] == 4
    assert s["unchanged_share"] == 1.0
    per = stats.per_word()
    assert per.filter(pl.col("word") == "the")["occurrences"].item() == 2
    path = stats.write(tmp_path / "stats.json")
    assert json.loads(path.read_text())["mechanism"] == "truncated-gumbel"
    assert (tmp_path / "stats.words.parquet").exists()
