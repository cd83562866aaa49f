"""N_w and S_w against plain-Python counts written from docs/privacy.md: for a word w and n draws,
N_w is the share of the draws that return w and S_w the number of distinct outputs. The draws come
from stub mechanisms with known outputs (or hand-made per-token records), so every expected value
below is a count, not the code's own output. (Mutation testing: S_w, the text-stream counts, the
bucket summaries and most of word_statistics survived changes.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.privacy.mechanism import PrivatizedTexts, WordMechanism
from discoverly.privacy.statistics import (
    TextStatistics,
    _json,
    plot_curves,
    privacy_curves,
    sample_words,
    summarize,
    word_statistics,
)
from discoverly.privacy.vocabulary import WordEmbeddings

from .conftest import make_embeddings


class Scripted(WordMechanism):
    """Word w's j-th draw is ``script[w][j]``, however the draws are batched."""

    name = "scripted"

    def __init__(self, embeddings: WordEmbeddings, script: dict[int, list[int]]) -> None:
        super().__init__(embeddings)
        self.script = script
        self.seen: dict[int, int] = {}

    def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        out = []
        for w in indices.tolist():
            j = self.seen.get(w, 0)
            out.append(self.script[w][j])
            self.seen[w] = j + 1
        return np.asarray(out, dtype=np.int64)


SCRIPT = {7: [7, 7, 7, 7, 7, 7],       # N_w 6/6, S_w 1
          0: [0, 1, 0, 2, 0, 1],       # 3/6, 3
          33: [1, 2, 3, 4, 5, 6],      # 0/6, 6
          17: [17, 39, 17, 39, 17, 17],  # 4/6, 2
          25: [24, 25, 26, 24, 24, 24]}  # 1/6, 3


def _bucket(z: float) -> str:
    """The Zipf bucket of docs/privacy.md's summaries: <3, 3-4, 4-5, ≥5 (a boundary value goes up)."""
    return "<3" if z < 3 else "3-4" if z < 4 else "4-5" if z < 5 else "≥5"


@pytest.mark.parametrize("chunk", [12, 200_000])  # 2 words per block of draws, or all at once
def test_word_statistics_are_the_share_unchanged_and_the_distinct_count(toy: WordEmbeddings, chunk: int) -> None:
    words = [7, 0, 33, 17, 25]
    frame = word_statistics(Scripted(toy, SCRIPT), 1.0, words, draws=6, rng=0, chunk=chunk)
    n_w = [sum(o == w for o in SCRIPT[w]) / 6 for w in words]
    s_w = [len(set(SCRIPT[w])) for w in words]
    assert n_w == [1.0, 0.5, 0.0, 4 / 6, 1 / 6] and s_w == [1, 3, 6, 2, 3]
    assert frame.columns == ["word", "index", "zipf", "bucket", "draws", "N_w", "S_w"]
    assert frame["word"].to_list() == ["w007", "w000", "w033", "w017", "w025"]
    assert frame["index"].to_list() == words and frame["draws"].to_list() == [6] * 5
    np.testing.assert_allclose(frame["N_w"].to_numpy(), n_w)
    assert frame["S_w"].to_list() == s_w
    zipf = np.linspace(6.5, 2.0, 40)[words]
    np.testing.assert_allclose(frame["zipf"].to_numpy(), zipf)
    assert frame["bucket"].to_list() == [_bucket(z) for z in zipf] == ["≥5", "≥5", "<3", "4-5", "3-4"]


def test_word_statistics_defaults_to_every_word_and_one_draw_is_one_output(toy: WordEmbeddings) -> None:
    script = {w: [w if w % 3 else (w + 1) % 40] for w in range(40)}
    frame = word_statistics(Scripted(toy, script), 1.0, draws=1, rng=0)
    assert frame["index"].to_list() == list(range(40))
    assert frame["N_w"].to_list() == [float(w % 3 != 0) for w in range(40)]
    assert frame["S_w"].to_list() == [1] * 40
    with pytest.raises(ConfigError, match="draws must be at least 1, got 0"):
        word_statistics(Scripted(toy, script), 1.0, draws=0)


def test_word_statistics_without_zipf(toy: WordEmbeddings) -> None:
    plain = WordEmbeddings(toy.words, toy.vectors, name="plain")
    frame = word_statistics(Scripted(plain, SCRIPT), 1.0, [33, 7], draws=6)
    assert frame["zipf"].is_nan().all() and frame["bucket"].to_list() == ["?", "?"]
    assert frame["S_w"].to_list() == [6, 1]


def _batch(inputs: list[int], outputs: list[int], n_tokens: int, oov: dict[str, int], texts: int) -> PrivatizedTexts:
    return PrivatizedTexts(["x"] * texts, np.asarray(inputs, dtype=np.int64), np.asarray(outputs, dtype=np.int64),
                           n_tokens, oov)


BATCHES = [([0, 2, 2, 17], [0, 3, 2, 18], 6, {"keep": 2}, 2),
           ([2, 0, 23, 2], [4, 0, 23, 3], 4, {}, 1),
           ([], [], 2, {"keep": 2}, 1)]


def test_text_statistics_against_plain_counts(sentence_vocab: WordEmbeddings) -> None:
    stats_ = TextStatistics(Scripted(sentence_vocab, {}), 2.0, seed=9, chunk_size=500)
    for b in BATCHES:
        stats_.update(_batch(*b))
    # plain Python: occurrences, unchanged draws and the set of outputs of every input word
    occ: dict[int, int] = {}
    same: dict[int, int] = {}
    outs: dict[int, set[int]] = {}
    for inputs, outputs, *_ in BATCHES:
        for i, o in zip(inputs, outputs, strict=True):
            occ[i] = occ.get(i, 0) + 1
            same[i] = same.get(i, 0) + (i == o)
            outs.setdefault(i, set()).add(o)
    seen = sorted(occ)
    per = stats_.per_word()
    assert per.columns == ["word", "zipf", "bucket", "occurrences", "N_w", "S_w"]
    assert per["word"].to_list() == [sentence_vocab.words[i] for i in seen] == ["the", "food", "n't", "film"]
    assert per["occurrences"].to_list() == [occ[i] for i in seen] == [2, 4, 1, 1]
    assert per["N_w"].to_list() == [same[i] / occ[i] for i in seen] == [1.0, 0.25, 0.0, 1.0]
    assert per["S_w"].to_list() == [len(outs[i]) for i in seen] == [1, 3, 1, 1]
    zipf = np.linspace(7, 3, 24)[seen]
    np.testing.assert_allclose(per["zipf"].to_numpy(), zipf, rtol=1e-6)
    assert per["bucket"].to_list() == [_bucket(z) for z in zipf]

    s = stats_.summary()
    assert (s["texts"], s["tokens"], s["in_vocabulary"], s["out_of_vocabulary"]) == (4, 12, 8, 4)
    assert s["oov_rate"] == pytest.approx(4 / 12) and s["oov_handling"] == {"keep": 4} and s["oov_kept"] == 4
    assert s["unchanged_tokens"] == 4 and s["unchanged_share"] == 0.5
    assert (s["epsilon"], s["seed"], s["chunk_size"], s["mechanism"]) == (2.0, 9, 500, "scripted")
    assert s["guarantee"].startswith("metric DP: P(y|w) <= exp(2 * d(w, w'))")
    by = {}
    for i in seen:
        by.setdefault(_bucket(np.linspace(7, 3, 24)[i]), []).append(i)
    want = [{"bucket": b, "words": len(ws), "occurrences": sum(occ[i] for i in ws),
             "mean_N_w": pytest.approx(np.mean([same[i] / occ[i] for i in ws])),
             "mean_S_w": pytest.approx(np.mean([len(outs[i]) for i in ws]))} for b, ws in sorted(by.items())]
    assert [r["bucket"] for r in want] == ["3-4", "4-5", "≥5"]
    assert s["by_bucket"] == want


def test_text_statistics_of_a_stream_without_vocabulary_words(tmp_path: Path, sentence_vocab: WordEmbeddings) -> None:
    stats_ = TextStatistics(Scripted(sentence_vocab, {}), 1.0)
    stats_.update(_batch([], [], 3, {"random": 3}, 2))
    s = stats_.summary()
    assert (s["tokens"], s["in_vocabulary"], s["unchanged_tokens"], s["oov_rate"]) == (3, 0, 0, 1.0)
    assert s["unchanged_share"] is None and "by_bucket" not in s and "chunk_size" not in s and s["seed"] is None
    assert stats_.per_word().height == 0
    path = stats_.write(tmp_path / "s.json")
    assert json.loads(path.read_text())["unchanged_share"] is None


def test_the_per_word_file_holds_the_per_word_table(tmp_path: Path, sentence_vocab: WordEmbeddings) -> None:
    stats_ = TextStatistics(Scripted(sentence_vocab, {}), 1.0)
    stats_.update(_batch(*BATCHES[0]))
    stats_.write(tmp_path / "s.json")
    assert pl.read_parquet(tmp_path / "s.words.parquet").equals(stats_.per_word())


def test_summarize_means_by_group_and_over_all_buckets() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(size=40)
    frame = pl.DataFrame({"mechanism": ["m"] * 43, "epsilon": [1.0] * 43, "bucket": ["a"] * 40 + ["b"] * 3,
                          "N_w": [*a.tolist(), 0.5, 0.5, 0.5], "S_w": [*range(40), 4, 4, 4]})
    out = summarize(frame)
    assert out.columns == ["mechanism", "epsilon", "bucket", "words", "N_w", "N_w_low", "N_w_high",
                           "S_w", "S_w_low", "S_w_high"]
    assert out["bucket"].to_list() == ["a", "all", "b"] and out["words"].to_list() == [40, 43, 3]
    np.testing.assert_allclose(out["N_w"].to_numpy(), [a.mean(), (a.sum() + 1.5) / 43, 0.5])
    np.testing.assert_allclose(out["S_w"].to_numpy(), [19.5, (780 + 12) / 43, 4.0])
    b = out.row(2, named=True)  # a constant group has a zero-width interval
    assert (b["N_w_low"], b["N_w_high"], b["S_w_low"], b["S_w_high"]) == (0.5, 0.5, 4.0, 4.0)
    # the 95% percentile bootstrap interval of a mean: check against scipy's, to Monte Carlo accuracy
    row = out.row(0, named=True)
    for col, values in (("N_w", a), ("S_w", np.arange(40.0))):
        ref = stats.bootstrap((values,), np.mean, method="percentile", n_resamples=20_000, random_state=1)
        width = ref.confidence_interval.high - ref.confidence_interval.low
        assert row[f"{col}_low"] == pytest.approx(ref.confidence_interval.low, abs=0.1 * width)
        assert row[f"{col}_high"] == pytest.approx(ref.confidence_interval.high, abs=0.1 * width)


def test_summarize_by_other_keys_has_no_all_bucket() -> None:
    frame = pl.DataFrame({"mechanism": ["x", "y", "x"], "N_w": [0.2, 0.4, 0.6], "S_w": [1, 2, 3]})
    out = summarize(frame, by=["mechanism"])
    assert out["mechanism"].to_list() == ["x", "y"] and out["words"].to_list() == [2, 1]
    np.testing.assert_allclose(out["N_w"].to_numpy(), [0.4, 0.4])
    np.testing.assert_allclose(out["S_w"].to_numpy(), [2.0, 2.0])


def test_sample_words_takes_up_to_per_bucket_from_every_bucket(toy: WordEmbeddings) -> None:
    zipf = np.linspace(6.5, 2.0, 40)
    members = {}
    for i, z in enumerate(zipf):
        members.setdefault(_bucket(z), []).append(i)
    got = sample_words(toy, per_bucket=3, rng=4)
    labels = sorted(members)  # "3-4", "4-5", "<3", "≥5": one sorted block per bucket, in this order
    assert len(got) == 3 * len(labels) and len(set(got.tolist())) == len(got)
    for j, label in enumerate(labels):
        block = got[3 * j: 3 * j + 3].tolist()
        assert block == sorted(block) and set(block) <= set(members[label])
    assert sorted(sample_words(toy, per_bucket=100, rng=4).tolist()) == list(range(40))  # small buckets: all
    assert sorted(sample_words(toy).tolist()) == list(range(40))  # default: up to 100 per bucket
    assert sample_words(toy, per_bucket=3).tolist() == sample_words(toy, per_bucket=3, rng=0).tolist()
    plain = WordEmbeddings(toy.words, toy.vectors, name="plain")
    assert sample_words(plain, per_bucket=5, rng=0).tolist() == sorted(sample_words(plain, per_bucket=5, rng=0))
    assert len(sample_words(plain, per_bucket=5, rng=0)) == 5


def test_sample_words_differs_by_seed_and_repeats_with_it() -> None:
    emb = make_embeddings(n=200, seed=1)
    a, b = sample_words(emb, per_bucket=5, rng=1), sample_words(emb, per_bucket=5, rng=1)
    assert a.tolist() == b.tolist() and a.tolist() != sample_words(emb, per_bucket=5, rng=2).tolist()


class Uniform(WordMechanism):
    """Every draw is ``rng.integers(0, n)``: the draws of a seed are known without the code under test."""

    name = "uniform"

    def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, len(self.embeddings), size=len(indices))


def _plain(out: np.ndarray, words: list[int]) -> tuple[list[float], list[int]]:
    return ([sum(o == w for o in row) / len(row) for w, row in zip(words, out.tolist(), strict=True)],
            [len(set(row)) for row in out.tolist()])


def test_word_statistics_draw_from_the_seed(toy: WordEmbeddings) -> None:
    words = [3, 0, 3, 39]
    out = np.random.default_rng(0).integers(0, 40, size=4 * 100).reshape(4, 100)  # default rng=0, draws=100
    frame = word_statistics(Uniform(toy), 1.0, words)
    n_w, s_w = _plain(out, words)
    assert frame["draws"].to_list() == [100] * 4 and frame["S_w"].to_list() == s_w
    np.testing.assert_allclose(frame["N_w"].to_numpy(), n_w)
    assert frame["S_w"].dtype == pl.Int64 and frame["index"].dtype == pl.Int64


def test_privacy_curves_share_one_generator_and_label_the_rows(toy: WordEmbeddings,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    words = [5, 1]
    frame = privacy_curves({"u": Uniform(toy)}, [0.5, 2], words, draws=7, rng=3)
    assert capsys.readouterr().err == ""  # no progress unless asked
    gen = np.random.default_rng(3)
    first, second = (gen.integers(0, 40, size=14).reshape(2, 7) for _ in range(2))
    assert frame["mechanism"].to_list() == ["u"] * 4 and frame["epsilon"].to_list() == [0.5, 0.5, 2.0, 2.0]
    assert frame["draws"].to_list() == [7] * 4 and frame["index"].to_list() == words * 2
    n1, s1 = _plain(first, words)
    n2, s2 = _plain(second, words)
    np.testing.assert_allclose(frame["N_w"].to_numpy(), n1 + n2)
    assert frame["S_w"].to_list() == s1 + s2
    again = privacy_curves({"u": Uniform(toy)}, [0.5, 2], words, draws=7)  # default rng=0
    assert again["S_w"].to_list() == privacy_curves({"u": Uniform(toy)}, [0.5, 2], words, draws=7, rng=0)[
        "S_w"].to_list()
    privacy_curves({"u": Uniform(toy)}, [0.5, 2], words, draws=7, progress=True)
    assert re.match(r"privacy statistics .* 2/2 ", capsys.readouterr().err.strip())


def test_summarize_draws_its_intervals_from_its_seed() -> None:
    rng = np.random.default_rng(1)
    frame = pl.DataFrame({"mechanism": ["m"] * 30, "epsilon": [1.0] * 30, "bucket": ["a"] * 30,
                          "N_w": rng.uniform(size=30), "S_w": rng.integers(1, 20, size=30)})
    base = summarize(frame)
    assert base.equals(summarize(frame)) and base.equals(summarize(frame, rng=0))
    other = summarize(frame, rng=1)
    for col in ("N_w_low", "N_w_high", "S_w_low", "S_w_high"):
        assert base[col].to_list() != other[col].to_list(), col
    assert base["N_w"].to_list() == other["N_w"].to_list()


def test_text_statistics_types_and_a_vocabulary_without_zipf(toy: WordEmbeddings) -> None:
    plain = WordEmbeddings(toy.words, toy.vectors, name="plain")
    stats_ = TextStatistics(Scripted(plain, {}), 1.0)
    assert stats_.summary()["oov_rate"] == 0.0 and stats_.summary()["tokens"] == 0  # nothing seen yet
    stats_.update(_batch([4, 4, 9], [4, 5, 9], 3, {}, 1))
    per = stats_.per_word()
    assert per["zipf"].is_nan().all() and per["bucket"].to_list() == ["?", "?"]
    assert per.schema["occurrences"] == pl.Int64 and per.schema["S_w"] == pl.Int64
    assert per["occurrences"].to_list() == [2, 1] and per["S_w"].to_list() == [2, 1]
    assert stats_.summary()["by_bucket"] == [{"bucket": "?", "words": 2, "occurrences": 3, "mean_N_w": 0.75,
                                              "mean_S_w": 1.5}]


def test_write_is_indented_json_with_numpy_numbers_and_clear_errors(tmp_path: Path,
                                                                     sentence_vocab: WordEmbeddings) -> None:
    class WithNumpyParams(Scripted):
        def _params(self) -> dict[str, object]:
            return {"mean_k": np.float32(2.5), "max_k": np.int32(8)}  # neither is a Python number

    stats_ = TextStatistics(WithNumpyParams(sentence_vocab, {}), 1.0)
    stats_.update(_batch(*BATCHES[0]))
    path = stats_.write(tmp_path / "s.json")
    text = path.read_text()
    assert text.startswith('{\n  "mechanism": "scripted",\n  "mean_k": 2.5,\n  "max_k": 8,')
    with pytest.raises(ArtifactError, match=r"^cannot write the privacy statistics to "):
        stats_.write(tmp_path)  # a folder
    (tmp_path / "t.words.parquet").mkdir()
    with pytest.raises(ArtifactError) as err:
        stats_.write(tmp_path / "t.json")
    assert str(err.value).startswith(f"cannot write the per-word statistics to {str(tmp_path / 't.words.parquet')!r}: ")
    with pytest.raises(TypeError, match="cannot write object to JSON"):
        json.dumps({"x": object()}, default=_json)


def test_plot_curves_draws_each_mechanism_and_bucket_from_its_rows() -> None:
    pytest.importorskip("matplotlib")
    rows = []
    for mech, base in (("a", 0.1), ("b", 0.5)):
        for bucket, shift in (("<3", 0.0), ("≥5", 0.2), ("all", 0.1)):
            for eps in (3.0, 1.0):  # unsorted: the plot sorts by ε
                v = base + shift + eps / 100
                rows.append({"mechanism": mech, "epsilon": eps, "bucket": bucket, "N_w": v, "N_w_low": v - 0.01,
                             "N_w_high": v + 0.01, "S_w": 10 * v, "S_w_low": 10 * v - 1, "S_w_high": 10 * v + 1})
    summary = pl.DataFrame(rows).filter(~((pl.col("mechanism") == "b") & (pl.col("bucket") == "<3")))
    fig = plot_curves(summary)  # default metric N_w
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert list(lines) == ["a (<3)", "a (≥5)", "a (all)", "b (≥5)", "b (all)"]  # no line for an empty group
    assert lines["a (<3)"].get_xdata().tolist() == [1.0, 3.0]
    np.testing.assert_allclose(lines["a (≥5)"].get_ydata(), [0.31, 0.33])
    np.testing.assert_allclose(lines["b (all)"].get_ydata(), [0.61, 0.63])
    assert [ln.get_linewidth() for ln in lines.values()] == [1.0, 1.0, 2.4, 1.0, 2.4]
    assert lines["a (<3)"].get_color() == lines["a (all)"].get_color() != lines["b (all)"].get_color()
    assert [ln.get_linestyle() for ln in lines.values()] == ["-", "--", "-.", "--", "-."]
    assert ax.get_ylabel() == "N_w: share of draws unchanged" and ax.get_yscale() == "linear"
    assert ax.get_xlabel() == "ε (per unit distance, raw vector scale)" and ax.get_xscale() == "log"
    assert len(ax.collections) == 5  # one shaded interval per line
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.10) and band[:, 1].max() == pytest.approx(0.14)
    one = plot_curves(summary, "S_w", bucket="all").axes[0]
    assert [ln.get_label() for ln in one.get_lines()] == ["a", "b"]
    assert one.get_ylabel() == "S_w: distinct outputs" and one.get_yscale() == "log"
    np.testing.assert_allclose(one.get_lines()[1].get_ydata(), [6.1, 6.3])
    with pytest.raises(ConfigError) as err:
        plot_curves(summary, "N_W")
    assert str(err.value) == "metric must be 'N_w' or 'S_w', got 'N_W'"


def test_odd_arguments_are_errors_that_say_what_was_given(toy: WordEmbeddings) -> None:
    # a float, a negative count or an empty frame ended in numpy's TypeError, ValueError or a polars error
    emb = WordEmbeddings([f"w{i}" for i in range(6)], np.eye(6, dtype=np.float32))
    with pytest.raises(ConfigError, match=r"^draws must be a whole number, got 2.5$"):
        word_statistics(Scripted(toy, SCRIPT), 1.0, [7], draws=2.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^per_bucket must be a whole number of words of at least 1, got -1$"):
        sample_words(emb, per_bucket=-1)
    assert sample_words(emb, per_bucket=np.int64(2)).size == 2  # one bucket without zipf: numpy counts work
    with pytest.raises(DataError, match="no word statistics to summarise"):
        summarize(pl.DataFrame(schema={"mechanism": pl.String, "epsilon": pl.Float64, "bucket": pl.String,
                                       "N_w": pl.Float64, "S_w": pl.Int64}))
    with pytest.raises(ConfigError, match=r"^subset takes a number of words or the words, got 2.0$"):
        emb.subset(2.0)  # type: ignore[arg-type]
    assert emb.subset(np.int64(3)).words == ("w0", "w1", "w2")
