"""Each query-understanding step measured on its own.

* :func:`category_study` — accuracy of the query classifier on held-out queries: the test
  purchases' queries, and queries of product types held out of training altogether (a grouped
  split: neither their catalogue rows nor their log queries are seen);
* :func:`wands_category_study` — the same classifier trained and tested on the 480 real WANDS
  queries and their product classes (k-fold cross-validation);
* :func:`typo_study` — retrieval on queries with one injected typo, with and without spelling
  correction, next to the clean queries; and how often the correction restores the word;
* :func:`attribute_study` — how often brand and size are read correctly from variant queries.

All rates come with 95% bootstrap intervals over queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from discoverly.evaluate.stats import bootstrap_ci, paired_test
from discoverly.search.benchmark import query_metrics, target_ranks
from discoverly.search.classify import QueryClassifier
from discoverly.search.engine import SearchEngine
from discoverly.search.spelling import inject_typo

__all__ = ["category_study", "wands_category_study", "typo_study", "attribute_study"]


def _accuracy(pred: list[list[tuple[str, float]]], truth: Sequence[str], rng: int) -> dict[str, Any]:
    top1 = np.array([p[0][0] == t for p, t in zip(pred, truth, strict=True)], dtype=float)
    top3 = np.array([t in [c for c, _ in p[:3]] for p, t in zip(pred, truth, strict=True)], dtype=float)
    return {"top1": bootstrap_ci(top1, rng=rng).to_dict(), "top3": bootstrap_ci(top3, rng=rng).to_dict()}


def category_study(engine: SearchEngine, train_log: pl.DataFrame, test: pl.DataFrame, *, holdout_share: float = 0.2,
                   rng: int = 0) -> dict[str, Any]:
    """Category accuracy of the engine's classifier on ``test`` queries, and of a classifier
    retrained without a random ``holdout_share`` of the product types on those types' queries."""
    index = engine.index
    cats = index.facet("category")
    if cats is None or engine.classifier is None:
        return {"skipped": "the index has no category column"}
    names = index.category_names()
    pos = index.items.indices(test["item"].to_list(), missing=-1)
    code = np.where(pos >= 0, cats[np.maximum(pos, 0)], -1)
    keep = code >= 0
    queries = [q for q, k in zip(test["query"].to_list(), keep, strict=True) if k]
    truth = [names[c] for c in code[keep]]
    out: dict[str, Any] = {"test_queries": {"n": len(queries), **_accuracy(engine.classifier.predict(queries, k=3),
                                                                         truth, rng)}}
    types = index.facet("product_type")
    if types is None:
        return out
    gen = np.random.default_rng(rng)
    n_types = len(index.facets["product_type"][1])
    held = gen.random(n_types) < holdout_share
    item_held = (types >= 0) & held[np.maximum(types, 0)]
    log_pos = index.items.indices(train_log["item"].to_list(), missing=-1)
    log_held = np.where(log_pos >= 0, item_held[np.maximum(log_pos, 0)], False)
    retrained = engine.train_classifier(train_log.filter(pl.Series(~log_held)), item_mask=~item_held)
    test_held = np.where(pos >= 0, item_held[np.maximum(pos, 0)], False) & keep
    hq = [q for q, h in zip(test["query"].to_list(), test_held, strict=True) if h]
    ht = [names[c] for c in code[test_held]]
    if hq and retrained is not None:
        out["held_out_types"] = {"n": len(hq), "types_held_out": int(held.sum()),
                                 **_accuracy(retrained.predict(hq, k=3), ht, rng)}
    return out


def wands_category_study(queries: pl.DataFrame, *, folds: int = 5, rng: int = 0) -> dict[str, Any]:
    """k-fold accuracy of the query classifier on WANDS queries (``query`` -> ``query_class``)."""
    frame = queries.filter(pl.col("query_class").is_not_null() & (pl.col("query_class") != ""))
    gen = np.random.default_rng(rng)
    fold = gen.integers(0, folds, size=frame.height)
    texts, labels = frame["query"].to_list(), frame["query_class"].to_list()
    preds: list[list[tuple[str, float]]] = [[] for _ in range(frame.height)]
    for f in range(folds):
        tr = np.flatnonzero(fold != f)
        te = np.flatnonzero(fold == f)
        clf = QueryClassifier().fit([texts[i] for i in tr], [labels[i] for i in tr])
        for i, p in zip(te, clf.predict([texts[i] for i in te], k=3), strict=True):
            preds[i] = p
    majority = pl.Series(labels).value_counts(sort=True)[0, 0]
    base = np.array([lab == majority for lab in labels], dtype=float)
    return {"n": frame.height, "classes": len(set(labels)), "folds": folds, **_accuracy(preds, labels, rng),
            "majority_class": bootstrap_ci(base, rng=rng).to_dict()}


def typo_study(engine: SearchEngine, test: pl.DataFrame, *, method: str = "lexical", rng: int = 0) -> dict[str, Any]:
    """NDCG@10 / Recall@100 of ``method`` on clean queries, on the same queries with one typo
    (in a random word of four letters or more) uncorrected, and corrected."""
    gen = np.random.default_rng(rng)
    clean = test["query"].to_list()
    typo_q: list[str] = []
    changed_words: list[tuple[str, int] | None] = []
    for q in clean:
        words = q.split()
        long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        if not long:
            typo_q.append(q)
            changed_words.append(None)
            continue
        i = long[int(gen.integers(len(long)))]
        changed_words.append((words[i], i))
        words[i] = inject_typo(words[i], gen)
        typo_q.append(" ".join(words))
    has_typo = np.array([c is not None for c in changed_words])
    targets = engine.index.items.indices(test["item"].to_list(), missing=-1)
    users = test["user"].to_list()
    runs: dict[str, np.ndarray] = {}
    saved = engine.config
    try:
        for name, queries, spelling in (("clean", clean, True), ("typo, uncorrected", typo_q, False),
                                        ("typo, corrected", typo_q, True)):
            engine.config = replace(saved, spelling=spelling)
            lists = []
            for q, u in zip(queries, users, strict=True):
                items, _, _ = engine.rank(engine.understand(q), u, 100, method=method)  # type: ignore[arg-type]
                lists.append(items)
            runs[name] = target_ranks(lists, targets.tolist())
    finally:
        engine.config = saved
    out: dict[str, Any] = {"method": method, "queries_with_typo": int(has_typo.sum())}
    for name, ranks in runs.items():
        m = query_metrics(ranks)
        out[name] = {k: bootstrap_ci(v[has_typo], rng=rng).to_dict() for k, v in m.items()}
    a = query_metrics(runs["typo, corrected"])["NDCG@10"][has_typo]
    b = query_metrics(runs["typo, uncorrected"])["NDCG@10"][has_typo]
    out["corrected_vs_uncorrected"] = paired_test(a, b, rng=rng).to_dict()
    restored = []
    for (word_pos, q) in zip(changed_words, typo_q, strict=True):
        if word_pos is None:
            continue
        word, i = word_pos
        typo_word = q.split()[i]
        norm = engine.index.normalizer
        want = norm.tokens(word)
        got = [engine.speller.suggest(t) for t in norm.tokens(typo_word)]
        restored.append(float(got == want))
    out["word_restored"] = bootstrap_ci(np.array(restored), rng=rng).to_dict()
    return out


def attribute_study(engine: SearchEngine, test: pl.DataFrame, *, rng: int = 0) -> dict[str, Any]:
    """Share of variant queries whose added size or brand words are read back correctly."""
    index = engine.index
    pos = index.items.indices(test["item"].to_list(), missing=-1)
    brand_codes = index.facet("brand")
    size_ok, brand_ok = [], []
    for q, base_q, p in zip(test["variant"].to_list(), test["query"].to_list(), pos.tolist(), strict=True):
        if p < 0 or q == base_q:
            continue
        attrs = index.attributes.extract(engine.understand(q).tokens)
        extra = q[len(base_q):].strip()
        if extra.endswith("brand"):
            want = None
            if brand_codes is not None and brand_codes[p] >= 0:
                want = index.attributes.brand_of(index.facets["brand"][1][brand_codes[p]])
            brand_ok.append(float(attrs.brand == want and want is not None))
        elif index.size_dim[p] > 0:
            size_ok.append(float(attrs.size is not None and abs(attrs.size.base - float(index.size_base[p]))
                                 <= 0.03 * float(index.size_base[p])))
    return {"size_read": bootstrap_ci(np.array(size_ok), rng=rng).to_dict(),
            "brand_read": bootstrap_ci(np.array(brand_ok), rng=rng).to_dict()}
