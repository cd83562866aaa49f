"""The utility study: does a classifier trained on privatised text still work on real text?

Protocol (the reference work's): the *training* text is privatised, the validation and test text
stay clean; a classifier is trained on the privatised training text, its hyperparameter (the
inverse regularisation C) is chosen on the clean validation split only, and its accuracy is measured
on the clean test split. Two classifiers: logistic regression on TF-IDF uni- and bigrams, and
logistic regression on sentence embeddings (:class:`discoverly.text_embedding.TextEncoder`).

Mechanisms are compared at **matched N_w** — the share of in-vocabulary training tokens that come
back unchanged — not only at matched ε: for each target N_w every mechanism gets the ε that
produces it on that training corpus (closed form for the truncated Gumbel mechanism, a
common-random-numbers bisection for the others). Each (mechanism, target) is run with several seeds;
the reported interval is a 95% bootstrap interval over test examples of the seed-averaged
correctness, and the comparison of two mechanisms is a paired test on the same test examples::

    data = load_textclf("sst2", max_train=6000)
    result = run_utility_study([data], {"truncated-gumbel": tg, "multivariate-laplace": lap},
                               targets=[0.2, 0.4, 0.6], seeds=range(5))
    result.summary(); result.comparisons("truncated-gumbel", "multivariate-laplace")

Data sets (``DISCOVERLY_DATA_DIR/textclf``): SST-2 (train subsample; dev = validation; test), the
UCI SMS spam collection and the UCI sentiment sentences (Amazon + IMDB + Yelp), the last two
deduplicated and split 60/20/20 with a fixed seed (the same split for every mechanism and seed).
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl

from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError, DatasetNotFoundError
from discoverly.evaluate.stats import bootstrap_ci, paired_test
from discoverly.privacy.gumbel import TruncatedGumbel
from discoverly.privacy.mechanism import RngLike, WordMechanism, as_generator, check_epsilon
from discoverly.privacy.progress import ticker

__all__ = ["TextDataset", "load_textclf", "DATASETS", "match_epsilon", "match_epsilons", "run_utility_study",
           "UtilityStudy", "OovOnly", "corpus_tokens"]

log = logging.getLogger(__name__)

DATASETS = ("sst2", "sms_spam", "uci_sentiment")


@dataclass(frozen=True)
class TextDataset:
    """Texts and binary labels of a train / validation / test split."""

    name: str
    train_texts: list[str]
    train_labels: np.ndarray
    val_texts: list[str]
    val_labels: np.ndarray
    test_texts: list[str]
    test_labels: np.ndarray


def _root(data_dir: str | os.PathLike[str] | None) -> Path:
    root = Path(data_dir) if data_dir is not None else Path(os.environ.get("DISCOVERLY_DATA_DIR", ""))
    if not str(root) or not (root / "textclf").is_dir():
        raise DatasetNotFoundError(f"the text-classification data sets are expected in {str(root / 'textclf')!r}; "
                                   "set DISCOVERLY_DATA_DIR to the public data folder")
    return root / "textclf"


def _tsv(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise DatasetNotFoundError(f"expected the file {str(path)!r}")
    return pl.read_csv(path, separator="\t", quote_char=None, infer_schema=False)


def _split(texts: list[str], labels: np.ndarray, name: str, gen: np.random.Generator,
           max_train: int | None) -> TextDataset:
    """A stratified 60/20/20 split of the distinct texts (a text that occurs twice, as many SMS
    templates do, would otherwise be in training and test at once)."""
    seen: dict[str, int] = {}
    for i, text in enumerate(texts):
        seen.setdefault(text, i)
    first = np.fromiter(seen.values(), dtype=np.int64)
    texts = [texts[i] for i in first]
    labels = labels[first]
    parts: list[list[int]] = [[], [], []]
    for label in np.unique(labels):
        idx = gen.permutation(np.flatnonzero(labels == label))
        a, b = int(0.6 * len(idx)), int(0.8 * len(idx))
        for p, chunk in enumerate((idx[:a], idx[a:b], idx[b:])):
            parts[p].extend(chunk.tolist())
    tr, va, te = (np.sort(np.asarray(p)) for p in parts)
    if max_train is not None and len(tr) > max_train:
        tr = np.sort(gen.choice(tr, size=max_train, replace=False))
    return TextDataset(name, [texts[i] for i in tr], labels[tr], [texts[i] for i in va], labels[va],
                       [texts[i] for i in te], labels[te])


def load_textclf(name: str, data_dir: str | os.PathLike[str] | None = None, *, max_train: int | None = None,
                 rng: RngLike = 0) -> TextDataset:
    """One of :data:`DATASETS` from ``DISCOVERLY_DATA_DIR/textclf`` (``max_train`` subsamples training)."""
    root = _root(data_dir)
    gen = as_generator(rng)
    if name == "sst2":
        train = _tsv(root / "sst2" / "train.tsv")
        dev = _tsv(root / "sst2" / "dev.tsv")
        test = _tsv(root / "sst2" / "test.tsv")
        texts = train[train.columns[1]].to_list()
        labels = train["label"].cast(pl.Int64).to_numpy()
        if max_train is not None and len(texts) > max_train:
            keep = np.sort(gen.choice(len(texts), size=max_train, replace=False))
            texts, labels = [texts[i] for i in keep], labels[keep]
        return TextDataset("sst2", texts, labels, dev[dev.columns[1]].to_list(), dev["label"].cast(pl.Int64).to_numpy(),
                           test[test.columns[1]].to_list(), test["label"].cast(pl.Int64).to_numpy())
    if name == "sms_spam":
        frame = _tsv(root / "sms_spam" / "SMSSpamCollection")
        labels = (frame["Label"] == "spam").cast(pl.Int64).to_numpy()
        return _split(frame["SMS"].to_list(), labels, name, gen, max_train)
    if name == "uci_sentiment":
        sentences: list[str] = []
        values: list[int] = []
        files = sorted((root / "uci_sentiment_sentences").glob("*_labelled.txt"))
        if not files:
            raise DatasetNotFoundError(f"no *_labelled.txt files in {str(root / 'uci_sentiment_sentences')!r}")
        for path in files:
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                sentence, _, label = line.rstrip().rpartition("\t")
                if sentence.strip() and label in ("0", "1"):
                    sentences.append(sentence)
                    values.append(int(label))
        return _split(sentences, np.asarray(values), name, gen, max_train)
    raise ConfigError(f"unknown text-classification data set {name!r}; choose one of {', '.join(DATASETS)}")


# ---------------------------------------------------------------------- classifiers
@dataclass
class _Fit:
    val_accuracy: float
    test_correct: np.ndarray
    c: float


def _logistic(train_x: Any, train_y: np.ndarray, val_x: Any, val_y: np.ndarray, test_x: Any, test_y: np.ndarray,
              grid: Sequence[float]) -> _Fit:
    linear = require("sklearn.linear_model", extra="ml", purpose="the utility study's classifiers")
    best: tuple[float, float, Any] | None = None
    for c in grid:
        model = linear.LogisticRegression(C=c, max_iter=3000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a rare non-converged C is just a worse candidate
            model.fit(train_x, train_y)
        acc = float((model.predict(val_x) == val_y).mean())
        if best is None or acc > best[0]:
            best = (acc, c, model)
    assert best is not None
    return _Fit(best[0], np.asarray(best[2].predict(test_x) == test_y), best[1])


class _Tfidf:
    name: ClassVar[str] = "tfidf-logreg"
    grid = (0.25, 1.0, 4.0, 16.0)

    def fit(self, data: TextDataset, train_texts: list[str]) -> _Fit:
        text = require("sklearn.feature_extraction.text", extra="ml", purpose="TF-IDF features")
        vec = text.TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True)
        x = vec.fit_transform(train_texts)
        return _logistic(x, data.train_labels, vec.transform(data.val_texts), data.val_labels,
                         vec.transform(data.test_texts), data.test_labels, self.grid)


class _Embedding:
    name: ClassVar[str] = "minilm-logreg"
    grid = (0.25, 1.0, 4.0, 16.0)

    def __init__(self, encoder: Any = None) -> None:
        from discoverly.text_embedding import TextEncoder

        self.encoder = encoder or TextEncoder(threads=1)
        self._clean: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def fit(self, data: TextDataset, train_texts: list[str]) -> _Fit:
        if data.name not in self._clean:
            self._clean[data.name] = (self.encoder.encode(data.val_texts), self.encoder.encode(data.test_texts))
        val_x, test_x = self._clean[data.name]
        x = self.encoder.encode(train_texts)
        return _logistic(x, data.train_labels[: len(train_texts)], val_x, data.val_labels, test_x, data.test_labels,
                         self.grid)


class OovOnly(WordMechanism):
    """Leaves every vocabulary word as it is and applies only the OOV policy: the cost of OOV alone."""

    name: ClassVar[str] = "oov-only"

    def _perturb(self, indices: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        return indices.copy()


# ---------------------------------------------------------------------- matching N_w
def corpus_tokens(mechanism: WordMechanism, texts: Sequence[str]) -> np.ndarray:
    """Vocabulary rows of the in-vocabulary tokens of ``texts``."""
    tok = mechanism.tokenizer.tokenize(list(texts))
    return tok.index[tok.index >= 0]


def match_epsilon(mechanism: WordMechanism, tokens: np.ndarray, target: float, *, lo: float = 0.05,
                  hi: float = 200.0, sample: int = 4000, rng: RngLike = 0) -> tuple[float, float]:
    """``(ε, N_w at ε)``: the ε at which ``target`` of the corpus ``tokens`` come back unchanged."""
    return match_epsilons(mechanism, tokens, [target], lo=lo, hi=hi, sample=sample, rng=rng)[target]


def match_epsilons(mechanism: WordMechanism, tokens: np.ndarray, targets: Sequence[float], *, lo: float = 0.05,
                   hi: float = 200.0, sample: int = 4000, rng: RngLike = 0) -> dict[float, tuple[float, float]]:
    """For every target N_w, ``(ε, N_w at ε)`` on the corpus ``tokens`` (in-vocabulary rows).

    Truncated Gumbel: the exact expected N_w on a grid of ε (one shared pass), interpolated in log ε
    and evaluated exactly at the result. Other mechanisms: the same grid with common random numbers
    on ``sample`` tokens, then bisection inside the bracketing grid interval (for multivariate
    Laplace the unchanged indicator of a token is then monotone in ε: the noisy vector moves along a
    fixed ray towards the word, and the word's Voronoi cell is convex).
    """
    for target in targets:
        if not 0 < target < 1:
            raise ConfigError(f"a target N_w must be in (0, 1), got {target}")
    if len(tokens) == 0:
        raise DataError("the corpus has no in-vocabulary tokens, so N_w (the share of them left unchanged) is "
                        "undefined at every ε; give texts that share words with the vocabulary (same language)")
    grid = np.geomspace(lo, hi, 25)
    out: dict[float, tuple[float, float]] = {}
    if isinstance(mechanism, TruncatedGumbel):
        rows, counts = np.unique(tokens, return_counts=True)
        curve = np.maximum.accumulate(mechanism.unchanged_curve(grid.tolist(), rows) @ counts / counts.sum())
        for target in targets:
            _check_range(target, curve, lo, hi)
            eps = float(np.exp(np.interp(target, curve, np.log(grid))))
            out[target] = (eps, float(mechanism.unchanged_curve([eps], rows)[0] @ counts / counts.sum()))
        return out
    gen = as_generator(rng)
    sub = gen.choice(tokens, size=min(sample, len(tokens)), replace=False)
    seed = int(gen.integers(2**31))

    def share(e: float) -> float:
        return float((mechanism.privatize_indices(sub, e, rng=seed) == sub).mean())

    curve = np.maximum.accumulate(np.array([share(float(e)) for e in grid]))
    for target in targets:
        _check_range(target, curve, lo, hi)
        i = int(np.searchsorted(curve, target))  # curve[i-1] < target <= curve[i]
        a, b = np.log(grid[max(i - 1, 0)]), np.log(grid[i])
        for _ in range(6):
            mid = (a + b) / 2
            if share(float(np.exp(mid))) < target:
                a = mid
            else:
                b = mid
        eps = float(np.exp((a + b) / 2))
        out[target] = (eps, share(eps))
    return out


def _check_range(target: float, curve: np.ndarray, lo: float, hi: float) -> None:
    if not curve[0] <= target <= curve[-1]:
        raise ConfigError(f"N_w = {target} is outside [{curve[0]:.3f}, {curve[-1]:.3f}] reached for ε in [{lo}, {hi}]")


# ---------------------------------------------------------------------- the study
@dataclass
class UtilityStudy:
    """Every run (one row per data set × classifier × mechanism × target × seed) and, for the
    intervals and paired tests, each test example's correctness per run."""

    runs: pl.DataFrame
    correct: dict[tuple[str, str, str, float], list[np.ndarray]] = field(default_factory=dict)

    def summary(self, *, rng: RngLike = 0) -> pl.DataFrame:
        """Per data set × classifier × mechanism × target: ε, realised N_w, mean accuracy over seeds,
        the seeds' spread, and a 95% interval (bootstrap over test examples of seed-averaged correctness)."""
        gen = as_generator(rng)
        rows = []
        keys = ["dataset", "classifier", "mechanism", "target"]
        for key, group in self.runs.group_by(keys, maintain_order=True):
            k = (str(key[0]), str(key[1]), str(key[2]), float(key[3]))  # type: ignore[arg-type]
            est = bootstrap_ci(np.mean(self.correct[k], axis=0), rng=gen, n_boot=2000)
            acc = group["test_accuracy"].to_numpy()
            rows.append({**dict(zip(keys, key, strict=True)), "epsilon": float(group["epsilon"].mean()),  # type: ignore[arg-type]
                         "N_w": float(group["N_w"].mean()),  # type: ignore[arg-type]
                         "seeds": group.height, "accuracy": est.value, "ci_low": est.low, "ci_high": est.high,
                         "seed_sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0})
        return pl.DataFrame(rows).sort(keys)

    def comparisons(self, a: str, b: str, *, rng: RngLike = 0) -> pl.DataFrame:
        """``a`` − ``b`` accuracy at every shared target: mean difference, 95% interval and the paired
        sign-flip p-value over test examples (seed-averaged correctness)."""
        gen = as_generator(rng)
        rows = []
        for (data, clf, mech, target), runs in self.correct.items():
            if mech != a or (data, clf, b, target) not in self.correct:
                continue
            test = paired_test(np.mean(runs, axis=0), np.mean(self.correct[(data, clf, b, target)], axis=0), rng=gen)
            rows.append({"dataset": data, "classifier": clf, "target": target,
                         "difference": test.difference.value, "ci_low": test.difference.low,
                         "ci_high": test.difference.high, "p_value": test.p_value})
        return pl.DataFrame(rows).sort(["dataset", "classifier", "target"]) if rows else pl.DataFrame()


def run_utility_study(datasets: Iterable[TextDataset], mechanisms: Mapping[str, WordMechanism],
                      targets: Sequence[float], seeds: Iterable[int], *, classifiers: Sequence[str] = ("tfidf",),
                      embedding_train: int | None = 1000, embedding_targets: Sequence[float] | None = None,
                      encoder: Any = None, epsilons: Mapping[tuple[str, str, float], float] | None = None,
                      progress: bool = False, clean: bool = True) -> UtilityStudy:
    """Train on privatised text, test on clean text, for every mechanism at every target N_w.

    Clean-text accuracy is recorded as mechanism ``"clean"`` (target 1.0), and with
    :class:`OovOnly` as a mechanism the cost of the OOV policy alone can be measured. The embedding
    classifier trains on the first ``embedding_train`` training texts (encoding is the slow part)
    and only at ``embedding_targets`` (default: all targets). ``epsilons`` may fix ε per
    (data set, mechanism, target) instead of matching it. ``clean=False`` skips the clean-text runs
    (when another call already has them).
    """
    seeds = list(seeds)
    fitters: dict[str, Any] = {}
    for c in classifiers:
        if c == "tfidf":
            fitters[c] = _Tfidf()
        elif c == "minilm":
            fitters[c] = _Embedding(encoder)
        else:
            raise ConfigError(f"unknown classifier {c!r}; use 'tfidf' or 'minilm'")
    emb_targets = set(targets if embedding_targets is None else embedding_targets)
    records: list[dict[str, Any]] = []
    correct: dict[tuple[str, str, str, float], list[np.ndarray]] = {}

    def record(data: TextDataset, clf: str, mech: str, target: float, eps: float, seed: int, n_w: float,
               fit: _Fit, seconds: float) -> None:
        records.append({"dataset": data.name, "classifier": fitters[clf].name, "mechanism": mech, "target": target,
                        "epsilon": eps, "seed": seed, "N_w": n_w, "val_accuracy": fit.val_accuracy,
                        "test_accuracy": float(fit.test_correct.mean()), "C": fit.c, "privatise_seconds": seconds})
        correct.setdefault((data.name, fitters[clf].name, mech, target), []).append(fit.test_correct)

    datasets = list(datasets)
    total = len(datasets) * (int(clean) + len(mechanisms) * len(targets) * len(seeds))
    with ticker("utility study", total, enabled=progress, unit="runs") as bar:
        for data in datasets:
            if clean:
                for clf, fitter in fitters.items():
                    train = data.train_texts if clf == "tfidf" else data.train_texts[:embedding_train]
                    record(data, clf, "clean", 1.0, float("inf"), 0, 1.0, fitter.fit(data, train), 0.0)
                bar.advance()
            for name, mech in mechanisms.items():
                tokens = corpus_tokens(mech, data.train_texts)
                todo = [t for t in targets if not (epsilons and (data.name, name, t) in epsilons)]
                matched = match_epsilons(mech, tokens, todo) if todo and not isinstance(mech, OovOnly) else {}
                for target in targets:
                    if epsilons and (data.name, name, target) in epsilons:
                        eps = check_epsilon(epsilons[(data.name, name, target)])
                    elif isinstance(mech, OovOnly):
                        eps = 1.0
                    else:
                        eps = matched[target][0]
                    log.info("%s %s target N_w=%.2f -> eps=%.4g", data.name, name, target, eps)
                    for seed in seeds:
                        t0 = time.perf_counter()
                        run = mech.run(data.train_texts, eps, rng=seed)
                        seconds = time.perf_counter() - t0
                        n_w = run.unchanged / run.n_in_vocabulary if run.n_in_vocabulary else float("nan")
                        for clf, fitter in fitters.items():
                            if clf == "tfidf":
                                record(data, clf, name, target, eps, seed, n_w, fitter.fit(data, run.texts), seconds)
                            elif target in emb_targets and not isinstance(mech, OovOnly):
                                record(data, clf, name, target, eps, seed, n_w,
                                       fitter.fit(data, run.texts[:embedding_train]), seconds)
                        bar.advance()
    return UtilityStudy(pl.DataFrame(records), correct)
