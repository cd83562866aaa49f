"""Privacy statistics: N_w and S_w per word, by word-frequency bucket, against ε.

For a word w and n draws of the mechanism on it:

- **N_w** — the share of the n draws that return w unchanged (reported as a fraction; times n it is
  the count the literature calls N_w). High N_w: the word usually survives.
- **S_w** — the number of distinct words among the n draws. Low S_w: few plausible replacements.

Mechanisms are compared at *matched* statistics, not only at matched ε, because the same ε can mean
very different amounts of change for different mechanisms. Frequent words (high Zipf) and rare
words behave differently (frequent words sit in sparse regions of the space), so every summary is
split by Zipf bucket::

    words = sample_words(emb, per_bucket=100, rng=0)
    frame = privacy_curves({"laplace": lap, "gumbel": tg}, [0.5, 1, 2, 4], words, draws=100, rng=0)
    summary = summarize(frame)        # mean N_w, S_w with 95% bootstrap CIs per mechanism × ε × bucket
    fig = plot_curves(summary, "N_w")

:class:`TextStatistics` accumulates the same quantities over a privatised text stream (the CLI
writes them next to its output), together with the out-of-vocabulary counts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly._checks import is_whole
from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.evaluate.stats import bootstrap_ci
from discoverly.privacy.mechanism import PrivatizedTexts, RngLike, WordMechanism, as_generator, check_epsilon
from discoverly.privacy.progress import ticker
from discoverly.privacy.vocabulary import WordEmbeddings

__all__ = ["word_statistics", "sample_words", "privacy_curves", "summarize", "plot_curves", "TextStatistics"]


def sample_words(embeddings: WordEmbeddings, *, per_bucket: int = 100, rng: RngLike = 0) -> np.ndarray:
    """Up to ``per_bucket`` words from every Zipf-frequency bucket (all words when there is no zipf)."""
    if not is_whole(per_bucket) or per_bucket < 1:
        raise ConfigError(f"per_bucket must be a whole number of words of at least 1, got {per_bucket!r}")
    gen = as_generator(rng)
    buckets = embeddings.zipf_buckets()
    out = []
    for label in sorted(set(buckets.tolist())):
        members = np.flatnonzero(buckets == label)
        take = min(per_bucket, len(members))
        out.append(np.sort(gen.choice(members, size=take, replace=False)))
    return np.concatenate(out)


def word_statistics(mechanism: WordMechanism, epsilon: float, words: Sequence[int] | np.ndarray | None = None, *,
                    draws: int = 100, rng: RngLike = 0, chunk: int = 200_000) -> pl.DataFrame:
    """N_w and S_w of each word (vocabulary rows ``words``, default: all) over ``draws`` draws."""
    eps = check_epsilon(epsilon)
    if not is_whole(draws):
        raise ConfigError(f"draws must be a whole number, got {draws!r}")
    if draws < 1:
        raise ConfigError(f"draws must be at least 1, got {draws}")
    emb = mechanism.embeddings
    idx = np.arange(len(emb)) if words is None else np.asarray(words, dtype=np.int64)
    gen = as_generator(rng)
    per = max(1, chunk // draws)
    n_w = np.empty(len(idx))
    s_w = np.empty(len(idx), dtype=np.int64)
    for a in range(0, len(idx), per):
        w = idx[a: a + per]
        out = mechanism.privatize_indices(np.repeat(w, draws), eps, gen).reshape(len(w), draws)
        n_w[a: a + per] = (out == w[:, None]).mean(axis=1)
        srt = np.sort(out, axis=1)
        s_w[a: a + per] = 1 + (np.diff(srt, axis=1) != 0).sum(axis=1)
    buckets = emb.zipf_buckets()[idx]
    return pl.DataFrame({
        "word": [emb.words[i] for i in idx], "index": idx,
        "zipf": np.full(len(idx), np.nan) if emb.zipf is None else emb.zipf[idx].astype(np.float64),
        "bucket": buckets.tolist(), "draws": np.full(len(idx), draws), "N_w": n_w, "S_w": s_w,
    })


def privacy_curves(mechanisms: Mapping[str, WordMechanism], epsilons: Sequence[float],
                   words: Sequence[int] | np.ndarray, *, draws: int = 100, rng: RngLike = 0,
                   progress: bool = False) -> pl.DataFrame:
    """Per-word N_w and S_w for every mechanism and ε (one row per mechanism × ε × word)."""
    frames = []
    gen = as_generator(rng)
    with ticker("privacy statistics", len(mechanisms) * len(epsilons), enabled=progress) as bar:
        for name, mech in mechanisms.items():
            for eps in epsilons:
                frame = word_statistics(mech, eps, words, draws=draws, rng=gen)
                frames.append(frame.with_columns(pl.lit(name).alias("mechanism"), pl.lit(float(eps)).alias("epsilon")))
                bar.advance()
    return pl.concat(frames)


def summarize(frame: pl.DataFrame, *, by: Sequence[str] = ("mechanism", "epsilon", "bucket"),
              rng: RngLike = 0) -> pl.DataFrame:
    """Mean N_w and S_w with 95% bootstrap intervals over words, per group (and an ``"all"`` bucket)."""
    keys = list(by)
    if frame.height == 0:
        raise DataError("no word statistics to summarise: the frame is empty (word_statistics of no words?)")
    if "bucket" in keys:
        frame = pl.concat([frame, frame.with_columns(pl.lit("all").alias("bucket"))])
    rows = []
    gen = as_generator(rng)
    for key, group in frame.group_by(keys, maintain_order=True):
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        n_w = bootstrap_ci(group["N_w"].to_numpy(), rng=gen, n_boot=1000)
        s_w = bootstrap_ci(group["S_w"].to_numpy().astype(np.float64), rng=gen, n_boot=1000)
        row.update(words=group.height, N_w=n_w.value, N_w_low=n_w.low, N_w_high=n_w.high,
                   S_w=s_w.value, S_w_low=s_w.low, S_w_high=s_w.high)
        rows.append(row)
    return pl.DataFrame(rows).sort(keys)


def plot_curves(summary: pl.DataFrame, metric: str = "N_w", *, bucket: str | None = None) -> Any:
    """``metric`` (``"N_w"`` or ``"S_w"``) against ε, one line per mechanism (and per bucket when
    ``bucket`` is None), with the 95% intervals shaded; returns the matplotlib figure."""
    from discoverly.report import new_figure

    if metric not in ("N_w", "S_w"):
        raise ConfigError(f"metric must be 'N_w' or 'S_w', got {metric!r}")
    fig, ax = new_figure(7.5, 4.2)
    buckets = [bucket] if bucket else [*sorted(set(summary["bucket"].to_list()) - {"all"}), "all"]
    styles = ["-", "--", "-.", ":", (0, (1, 1))]
    mechs = sorted(set(summary["mechanism"].to_list()))
    for m_i, mech in enumerate(mechs):
        color = f"C{m_i}"
        for b_i, b in enumerate(buckets):
            part = summary.filter((pl.col("mechanism") == mech) & (pl.col("bucket") == b)).sort("epsilon")
            if part.height == 0:
                continue
            x = part["epsilon"].to_numpy()
            width = 2.4 if b == "all" else 1.0
            ax.plot(x, part[metric].to_numpy(), color=color, linestyle=styles[b_i % len(styles)], linewidth=width,
                    label=f"{mech} ({b})" if len(buckets) > 1 else mech)
            ax.fill_between(x, part[f"{metric}_low"].to_numpy(), part[f"{metric}_high"].to_numpy(), color=color,
                            alpha=0.12)
    ax.set_xscale("log")
    ax.set_xlabel("ε (per unit distance, raw vector scale)")
    ax.set_ylabel("N_w: share of draws unchanged" if metric == "N_w" else "S_w: distinct outputs")
    if metric == "S_w":
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


class TextStatistics:
    """N_w and S_w as realised over a privatised text stream, plus token and OOV counts.

    Here N_w is the share of a word's occurrences that came back unchanged and S_w the number of
    distinct words its occurrences became (so it grows with the word's count).
    """

    def __init__(self, mechanism: WordMechanism, epsilon: float, *, seed: int | None = None,
                 chunk_size: int | None = None) -> None:
        self.mechanism = mechanism
        self.epsilon = check_epsilon(epsilon)
        self.seed = seed
        #: rows drawn per chunk: with the seed, what reproduces an output (the chunks share one generator)
        self.chunk_size = chunk_size
        n = len(mechanism.embeddings)
        self._n = n
        self.texts = 0
        self.tokens = 0
        self.oov: dict[str, int] = {}
        self._occ = np.zeros(n, dtype=np.int64)
        self._same = np.zeros(n, dtype=np.int64)
        self._pairs = np.empty(0, dtype=np.int64)

    def update(self, result: PrivatizedTexts) -> None:
        self.texts += len(result.texts)
        self.tokens += result.n_tokens
        for k, v in result.oov.items():
            self.oov[k] = self.oov.get(k, 0) + v
        if result.inputs.size:
            self._occ += np.bincount(result.inputs, minlength=self._n)
            same = result.inputs[result.inputs == result.outputs]
            self._same += np.bincount(same, minlength=self._n)
            keys = np.unique(result.inputs * self._n + result.outputs)
            self._pairs = np.union1d(self._pairs, keys)

    @property
    def in_vocabulary(self) -> int:
        return int(self._occ.sum())

    def per_word(self) -> pl.DataFrame:
        """One row per input word seen: occurrences, unchanged share (N_w) and distinct outputs (S_w)."""
        emb = self.mechanism.embeddings
        seen = np.flatnonzero(self._occ)
        s_w = np.bincount(self._pairs // self._n, minlength=self._n)
        return pl.DataFrame({
            "word": [emb.words[i] for i in seen],
            "zipf": np.full(len(seen), np.nan) if emb.zipf is None else emb.zipf[seen].astype(np.float64),
            "bucket": emb.zipf_buckets()[seen].tolist(),
            "occurrences": self._occ[seen], "N_w": self._same[seen] / self._occ[seen], "S_w": s_w[seen],
        })

    def summary(self) -> dict[str, Any]:
        """Counts, the OOV policy's work, token-level unchanged share, and N_w/S_w by Zipf bucket."""
        n_oov = sum(self.oov.values())
        out: dict[str, Any] = {
            **self.mechanism.describe(), "epsilon": self.epsilon, "guarantee": self.mechanism.guarantee(self.epsilon),
            "seed": self.seed, **({"chunk_size": self.chunk_size} if self.chunk_size is not None else {}),
            "texts": self.texts, "tokens": self.tokens, "in_vocabulary": self.in_vocabulary,
            "out_of_vocabulary": n_oov, "oov_rate": n_oov / self.tokens if self.tokens else 0.0,
            "oov_handling": dict(self.oov), "oov_kept": self.oov.get("keep", 0),
            "unchanged_tokens": int(self._same.sum()),
            # None (JSON null, not the invalid NaN) when no token was a vocabulary word
            "unchanged_share": float(self._same.sum() / self.in_vocabulary) if self.in_vocabulary else None,
        }
        per = self.per_word()
        if per.height:
            rows = []
            for b, group in per.group_by("bucket", maintain_order=True):
                rows.append({"bucket": b[0], "words": group.height, "occurrences": int(group["occurrences"].sum()),
                             "mean_N_w": float(group["N_w"].mean()),  # type: ignore[arg-type]
                             "mean_S_w": float(group["S_w"].mean())})  # type: ignore[arg-type]
            out["by_bucket"] = sorted(rows, key=lambda r: str(r["bucket"]))
        return out

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the summary as JSON to ``path`` and the per-word table next to it (``.words.parquet``)."""
        from discoverly.artifacts import write_text_file

        # a folder or a read-only place is an ArtifactError (it was a raw IsADirectoryError, after a
        # temporary file was left in the folder above)
        target = write_text_file(path, json.dumps(self.summary(), indent=2, default=_json),
                                 what="the privacy statistics")
        words = target.with_suffix(".words.parquet")
        try:
            self.per_word().write_parquet(words)
        except OSError as exc:
            raise ArtifactError(f"cannot write the per-word statistics to {str(words)!r}: {exc}") from exc
        return target


def _json(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
