"""The search engine: query understanding, candidate retrieval, learning-to-rank and personalisation.

``search(query, user=None, k=10)`` runs the whole pipeline:

1. understand the query: normalise, correct spelling against the catalogue's vocabulary, read
   brand and size, predict the category, embed it;
2. retrieve candidates: BM25 over the weighted fields, the dense index, and (for a customer with
   history) the items they bought before that match the query; fuse lexical and dense lists by
   reciprocal rank;
3. rank: the personalised LambdaMART model for customers with history, the non-personalised one
   for everyone else (or the fused order before any ranker is trained).

::

    engine = SearchEngine.build(catalog, interactions, progress=True)
    engine.fit_ranker(query_log, interactions, as_of="2017-09-01")
    engine.search("whole milk 1 gal", user=1234, k=10).to_polars()
    engine.save("artifacts/search"); engine = SearchEngine.load("artifacts/search")
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import polars as pl

from discoverly.artifacts import read_artifact, write_artifact
from discoverly.data.catalog import Catalog
from discoverly.data.frames import require_columns
from discoverly.data.interactions import Interactions, TimeLike
from discoverly.errors import ArtifactError, ConfigError, DataError, DiscoverlyError, NotFittedError
from discoverly.recommend.base import check_k
from discoverly.search.classify import QueryClassifier
from discoverly.search.dense import EmbeddingCache
from discoverly.search.features import (
    Candidates,
    ItemStats,
    QueryContext,
    align_items,
    feature_names,
    query_item_features,
)
from discoverly.search.hybrid import rrf_scores
from discoverly.search.index import CatalogIndex, IndexConfig
from discoverly.search.lexical import ranked, top_positions
from discoverly.search.personalize import CustomerProfiles
from discoverly.search.ranker import LambdaRanker, RankerConfig, group_split
from discoverly.search.spelling import SpellingCorrector
from discoverly.text_embedding import TextEncoder

__all__ = ["EngineConfig", "SearchEngine", "SearchResult", "Method", "check_method", "check_query_log"]

logger = logging.getLogger(__name__)

KIND = "search-engine"

_QUERY_LOG_HINT = ("A query log needs 'query', 'item' (what was bought or clicked) and, for the personalised ranker, "
                   "'user': rename its columns to these names.")


def check_query_log(log: pl.DataFrame, columns: Iterable[str], *, what: str = "the query log") -> None:
    """A :class:`DataError` naming the ``columns`` missing from a query log, with the nearest names."""
    require_columns(log, {c: c for c in columns}, what=what, hint=_QUERY_LOG_HINT)


#: how :meth:`SearchEngine.rank` orders candidates
Method = Literal["auto", "lexical", "dense", "hybrid", "ltr", "personal"]


@dataclass(frozen=True)
class EngineConfig:
    """Pipeline settings. Depths are the candidate list lengths of each source; ``fusion_*`` the
    reciprocal-rank fusion of lexical and dense lists; queries longer than ``max_query_chars`` are
    cut at a word boundary and at most ``max_query_tokens`` tokens are used."""

    lexical_depth: int = 200
    dense_depth: int = 100
    personal_depth: int = 50
    fusion_weights: tuple[float, float] = (1.0, 1.0)
    fusion_k0: float = 60.0
    spelling: bool = True
    max_query_chars: int = 200
    max_query_tokens: int = 16
    recent_days: int = 28
    popularity_tiebreak: bool = True

    def __post_init__(self) -> None:
        if min(self.lexical_depth, self.dense_depth, self.personal_depth) < 0 or self.lexical_depth == 0:
            raise ConfigError(f"candidate depths must be non-negative and lexical_depth positive: {self}")
        if self.max_query_chars < 1 or self.max_query_tokens < 1:
            raise ConfigError("max_query_chars and max_query_tokens must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fusion_weights"] = list(self.fusion_weights)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EngineConfig:
        d = dict(d)
        if "fusion_weights" in d:
            d["fusion_weights"] = tuple(d["fusion_weights"])
        return cls(**d)


@dataclass
class SearchResult:
    """The answer to one query: items best first, with what the engine understood."""

    query: str
    items: list[Any]
    scores: list[float]
    titles: list[str | None]
    understood: dict[str, Any] = field(default_factory=dict)
    personalized: bool = False
    method: str = "auto"
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        """Short: the query, how it was answered and the first three items (``to_polars()`` for all)."""
        shown = ", ".join(f"{it!r} ({t})" if t else repr(it)
                          for it, t in zip(self.items[:3], self.titles[:3], strict=False))
        more = ", …" if len(self) > 3 else ""
        personal = ", personalised" if self.personalized else ""
        plural = "" if len(self) == 1 else "s"
        return (f"SearchResult({self.query!r}: {len(self)} item{plural}, {self.method}{personal}, "
                f"{self.seconds * 1000:.0f} ms; {shown}{more})")

    def to_dicts(self) -> list[dict[str, Any]]:
        return [{"rank": r + 1, "item": it, "title": t, "score": s}
                for r, (it, t, s) in enumerate(zip(self.items, self.titles, self.scores, strict=True))]

    def to_polars(self) -> pl.DataFrame:
        return pl.DataFrame({"rank": list(range(1, len(self) + 1)), "item": self.items, "title": self.titles,
                             "score": self.scores}, strict=False)

    def to_pandas(self) -> Any:
        from discoverly.dependencies import require

        require("pandas", purpose="to_pandas()")
        return self.to_polars().to_pandas()


class SearchEngine:
    """Query understanding + hybrid retrieval + learning-to-rank + personalisation over one index."""

    def __init__(self, index: CatalogIndex, *, config: EngineConfig | None = None,
                 classifier: QueryClassifier | None = None, speller: SpellingCorrector | None = None,
                 stats: ItemStats | None = None, profiles: CustomerProfiles | None = None,
                 ranker: LambdaRanker | None = None, personal_ranker: LambdaRanker | None = None) -> None:
        self.index = index
        self.config = config or EngineConfig()
        self.classifier = classifier
        self.speller = speller or SpellingCorrector(index.lexical.vocabulary())
        self.stats = stats or ItemStats.empty(len(index), recent_days=self.config.recent_days)
        self.profiles = profiles
        self.ranker = ranker
        self.personal_ranker = personal_ranker
        self._prior = self.stats.prior()
        self._cat_map = self._category_map()

    def __repr__(self) -> str:
        parts = [repr(self.index), f"ranker={'yes' if self.ranker else 'no'}",
                 f"personal={'yes' if self.personal_ranker and self.profiles else 'no'}"]
        return f"SearchEngine({', '.join(parts)})"

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def build(cls, catalog: Catalog, interactions: Interactions | None = None, *,
              index_config: IndexConfig | None = None, config: EngineConfig | None = None,
              encoder: TextEncoder | None = None, embeddings: EmbeddingCache | None = None,
              log: pl.DataFrame | None = None, related: Any = None, progress: bool = False) -> SearchEngine:
        """Index ``catalog``, train the query classifier (catalogue + ``log``), and, given
        ``interactions``, compute popularity and customer profiles. Train the ranker afterwards
        with :meth:`fit_ranker`."""
        index = CatalogIndex.build(catalog, index_config, encoder=encoder, embeddings=embeddings, progress=progress)
        engine = cls(index, config=config)
        engine.fit_classifier(log)
        if interactions is not None:
            engine.refresh(interactions, related=related)
        return engine

    def fit_classifier(self, log: pl.DataFrame | None = None, *, alpha: float = 0.1) -> SearchEngine:
        """Train the query -> category classifier from the catalogue and ``log`` (see
        :meth:`train_classifier`) and use it."""
        self.classifier = self.train_classifier(log, alpha=alpha)
        self._cat_map = self._category_map()
        return self

    def train_classifier(self, log: pl.DataFrame | None = None, *, alpha: float = 0.1,
                         item_mask: np.ndarray | None = None) -> QueryClassifier | None:
        """A query -> category classifier trained from the catalogue (each item's text fields but
        the category, brand and size, and the category names themselves) and from ``log``
        (columns ``query`` and ``item``: the query labelled with the bought item's category);
        ``item_mask`` limits the catalogue rows used. ``None`` when the index has no categories."""
        cats = self.index.facet("category")
        if cats is None:
            return None
        names = self.index.category_names()
        cfg = self.index.config
        fields = [f for f in self.index.fields if f not in (cfg.category, cfg.size, cfg.brand)]
        table = self.index.table
        mask = np.ones(len(self.index), dtype=bool) if item_mask is None else np.asarray(item_mask, dtype=bool)
        texts: list[str] = []
        labels: list[str] = []
        weights: list[float] = []
        if fields:
            frame = pl.DataFrame({"label": np.asarray(cats), "use": mask}).with_columns(
                *[table[f].cast(pl.String).fill_null("").alias(f) for f in fields])
            for f in fields:
                grouped = (frame.filter(pl.col("use") & (pl.col("label") >= 0) & (pl.col(f) != ""))
                           .group_by(f, "label", maintain_order=True).len())  # run to run the same order
                texts += grouped[f].to_list()
                labels += [names[c] for c in grouped["label"].to_list()]
                weights += np.log1p(grouped["len"].to_numpy()).tolist()
        seen = sorted(set(np.asarray(cats)[mask & (np.asarray(cats) >= 0)].tolist()))
        texts += [names[c] for c in seen]
        labels += [names[c] for c in seen]
        weights += [1.0] * len(seen)
        if log is not None and log.height:
            check_query_log(log, ("query", "item"))
            pos = self.index.items.indices(log["item"].to_list(), missing=-1)
            ok = pos >= 0
            code = np.where(ok, cats[np.maximum(pos, 0)], -1)
            for q, c in zip(log["query"].cast(pl.String).to_list(), code.tolist(), strict=True):
                if c >= 0 and q:
                    texts.append(q)
                    labels.append(names[c])
                    weights.append(1.0)
        if not texts:
            return None
        return QueryClassifier(alpha=alpha, normalizer=self.index.normalizer).fit(texts, labels, weights=weights)

    def _category_map(self) -> np.ndarray | None:
        if self.classifier is None or self.index.facet("category") is None:
            return None
        pos = {c: i for i, c in enumerate(self.classifier.classes)}
        return np.array([pos.get(c, -1) for c in self.index.category_names()], dtype=np.int64)

    def refresh(self, interactions: Interactions, *, now: TimeLike | None = None, related: Any = None) -> SearchEngine:
        """Recompute popularity and customer profiles from the events before ``now`` (default:
        all); ``related`` is an items × items relatedness over the interactions' items (keeps
        the current one when ``None`` and the items are unchanged)."""
        if len(interactions) and not (align_items(interactions, self.index) >= 0).any():
            # e.g. the log says "42" where the catalogue says "SKU-42": everything below would be empty
            logger.warning("none of the purchase log's %d items is a catalogue item (log: %s; catalogue: %s), so "
                           "popularity and customer profiles stay empty. Check that both use the same item ids",
                           interactions.n_items, interactions.items.ids[:3].tolist(),
                           self.index.items.ids[:3].tolist())
        self.stats = ItemStats.fit(interactions, self.index, now=now, recent_days=self.config.recent_days)
        self._prior = self.stats.prior()
        keep_related = related is None and self.profiles is not None and self.profiles.related is not None
        profiles = CustomerProfiles.fit(interactions, self.index, now=now, related=related)
        if keep_related and self.profiles is not None:
            profiles.related = self.profiles.related
        self.profiles = profiles
        return self

    # -- query understanding ---------------------------------------------------------------------
    def understand(self, query: str) -> QueryContext:
        """Normalise, correct, extract attributes, classify and embed ``query``."""
        if query is None or not str(query).strip():
            raise DataError("the query is empty; give at least one word to search for")
        text = str(query).strip()
        if len(text) > self.config.max_query_chars:
            cut = text[: self.config.max_query_chars]
            text = cut.rsplit(" ", 1)[0] if " " in cut else cut
        norm = self.index.normalizer
        original = norm.tokens(text)[: self.config.max_query_tokens]
        tokens, corrected = (self.speller.correct(original) if self.config.spelling else (original, False))
        attrs = self.index.attributes.extract(tokens)
        logp = None
        if self.classifier is not None and self._cat_map is not None and tokens:
            lp = self.classifier.log_proba([" ".join(tokens)])[0]
            logp = np.where(self._cat_map >= 0, lp[np.maximum(self._cat_map, 0)], np.log(1e-9))
        vector = None
        if self.index.dense is not None:
            dense_text = " ".join(tokens) if corrected else text.lower()
            vector = self.index.dense.encode_query(dense_text)
        return QueryContext(text=text, tokens=tokens, token_ids=self.index.lexical.token_ids(tokens),
                            attributes=attrs, category_logp=logp, vector=vector, corrected=corrected,
                            original_tokens=original)

    def describe(self, ctx: QueryContext, top_categories: int = 3) -> dict[str, Any]:
        """What the engine understood, for people: tokens, correction, attributes, categories."""
        out: dict[str, Any] = {"tokens": ctx.tokens, "corrected": ctx.corrected, **ctx.attributes.to_dict(),
                               # whether any search word (after correction) is a word of the catalogue
                               "known_words": any(len(ids) for ids in ctx.token_ids)}
        if ctx.corrected:
            out["original_tokens"] = ctx.original_tokens
        if ctx.category_logp is not None:
            order = np.argsort(-ctx.category_logp, kind="stable")[:top_categories]
            names = self.index.category_names()
            out["categories"] = [(names[i], round(float(np.exp(ctx.category_logp[i])), 4)) for i in order]
        return out

    # -- retrieval and ranking -------------------------------------------------------------------
    def candidates(self, ctx: QueryContext, user_row: int = -1, *, personal: bool = True) -> Candidates:
        """The union of the lexical, dense and (for ``user_row`` >= 0) personal candidates."""
        c = self.config
        prior = self._prior if c.popularity_tiebreak else None
        fs = self.index.lexical.field_scores(ctx.tokens, ctx.token_ids)
        total = self.index.lexical.weights @ fs
        lex_items, _ = ranked(total, c.lexical_depth, prior=prior)
        dense_items = np.zeros(0, dtype=np.int64)
        if self.index.dense is not None and ctx.vector is not None and c.dense_depth:
            dense_items, _ = self.index.dense.search(ctx.vector, c.dense_depth, prior=prior)
        lists = [lex_items, dense_items]
        if personal and user_row >= 0 and self.profiles is not None and c.personal_depth:
            hist, days, _ = self.profiles.history(user_row)
            s = total[hist]
            ok = s > 0
            if ok.any():
                top = top_positions(s[ok], min(c.personal_depth, int(ok.sum())), tiebreak=days[ok])
                lists.append(hist[ok][top])
        items, fused = rrf_scores(lists[:2], weights=c.fusion_weights, k0=c.fusion_k0)
        if len(lists) > 2:
            extra = np.setdiff1d(lists[2], items, assume_unique=False)
            items = np.concatenate([items, extra])
            fused = np.concatenate([fused, np.zeros(extra.size)])
        dense_sim = (self.index.dense.similarity(ctx.vector, items) if self.index.dense is not None
                     and ctx.vector is not None else np.full(items.size, np.nan))
        return Candidates(items=items, field_scores=fs[:, items], dense=dense_sim,
                          lexical_rank=_rank_in(lex_items, items), dense_rank=_rank_in(dense_items, items), fused=fused)

    def features(self, ctx: QueryContext, cand: Candidates, user_row: int = -1) -> tuple[np.ndarray, np.ndarray | None]:
        """Base features, and personal features when ``user_row`` has a history."""
        base = query_item_features(ctx, cand, self.index, self.stats)
        personal = None
        if self.profiles is not None and self.profiles.has_history(user_row):
            personal = self.profiles.features(user_row, cand.items)
        return base, personal

    def feature_names(self, personal: bool = False) -> list[str]:
        names = feature_names(self.index)
        if personal:
            if self.profiles is None:
                raise NotFittedError("no customer profiles: call refresh(interactions) first")
            names += self.profiles.names()
        return names

    def user_row(self, user: Any) -> int:
        return -1 if self.profiles is None else self.profiles.user_row(user)

    def rank(self, ctx: QueryContext, user: Any = None, k: int = 10, *, method: Method = "auto"
             ) -> tuple[np.ndarray, np.ndarray, str]:
        """Item indices and scores of the best ``k`` items, and the method actually used."""
        k = check_k(k)
        check_method(method)
        row = self.user_row(user)
        has_history = self.profiles is not None and self.profiles.has_history(row)
        prior = self._prior if self.config.popularity_tiebreak else None
        if method == "lexical":
            lex = self.index.lexical
            items, scores = ranked(lex.weights @ lex.field_scores(ctx.tokens, ctx.token_ids), k, prior=prior)
            return items, scores, method
        if method == "dense":
            if self.index.dense is None or ctx.vector is None:
                raise ConfigError("this index has no dense part; build it with IndexConfig(dense=True)")
            items, scores = self.index.dense.search(ctx.vector, k, prior=prior)
            return items, scores, method
        if method == "auto":
            method = ("personal" if has_history and self.personal_ranker is not None
                      else "ltr" if self.ranker is not None else "hybrid")
        use_personal = method == "personal" and has_history
        if method == "personal" and self.personal_ranker is None:
            raise NotFittedError("no personalised ranker: train one with fit_ranker()")
        if method == "ltr" and self.ranker is None:
            raise NotFittedError("no ranker: train one with fit_ranker()")
        cand = self.candidates(ctx, row, personal=use_personal)
        if cand.items.size == 0:
            return cand.items, np.zeros(0), method
        if method == "hybrid":
            scores = cand.fused
        else:
            base, personal = self.features(ctx, cand, row if use_personal else -1)
            if use_personal and personal is not None:
                assert self.personal_ranker is not None
                scores = self.personal_ranker.predict(np.hstack([base, personal]))
            else:
                assert self.ranker is not None
                scores = self.ranker.predict(base)
                method = "ltr"
        tb = None if prior is None else prior[cand.items]
        if method != "hybrid":
            # a ranker's ties (every item, when it made no split) keep the first stage's order, not
            # popularity alone (which put strawberries before whole milk for "whole milk")
            first = top_positions(np.asarray(cand.fused, dtype=np.float64), cand.items.size, tiebreak=tb)
            tb = np.empty(cand.items.size)
            tb[first] = np.arange(cand.items.size, 0, -1)
        top = top_positions(np.asarray(scores, dtype=np.float64), min(k, cand.items.size), tiebreak=tb)
        return cand.items[top], np.asarray(scores)[top], method

    def score_items(self, ctx: QueryContext, items: np.ndarray, *, user: Any = None, method: Method = "auto"
                    ) -> np.ndarray:
        """Scores of the given items (index positions) for a query: re-ranking a fixed candidate
        list, e.g. ESCI task 1. Ranks in the lexical and dense lists are taken over the whole
        catalogue."""
        check_method(method)
        items = np.asarray(items, dtype=np.int64)
        fs = self.index.lexical.field_scores(ctx.tokens, ctx.token_ids)
        total = self.index.lexical.weights @ fs
        if method == "lexical":
            return total[items].astype(np.float64)
        lex_rank = 1.0 + (total[None, :] > total[items][:, None]).sum(axis=1)
        lex_rank = np.where(total[items] > 0, lex_rank, np.nan)
        if self.index.dense is not None and ctx.vector is not None:
            all_sims = self.index.dense.vectors @ ctx.vector
            sims = all_sims[self.index.dense.doc_text[items]]
            dense_rank = 1.0 + (all_sims[self.index.dense.doc_text][None, :] > sims[:, None]).sum(axis=1)
        else:
            sims = dense_rank = np.full(items.size, np.nan)
        if method == "dense":
            return np.nan_to_num(sims, nan=-1.0)
        w_lex, w_dense = self.config.fusion_weights
        k0 = self.config.fusion_k0
        fused = (np.where(np.isfinite(lex_rank), w_lex / (k0 + np.nan_to_num(lex_rank, nan=0.0)), 0.0)
                 + np.where(np.isfinite(dense_rank), w_dense / (k0 + np.nan_to_num(dense_rank, nan=0.0)), 0.0))
        if method == "hybrid" or (self.ranker is None and method == "auto"):
            return fused
        cand = Candidates(items=items, field_scores=fs[:, items], dense=sims, lexical_rank=lex_rank,
                          dense_rank=dense_rank, fused=fused)
        row = self.user_row(user)
        base, personal = self.features(ctx, cand, row)
        if method in ("auto", "personal") and personal is not None and self.personal_ranker is not None:
            return np.asarray(self.personal_ranker.predict(np.hstack([base, personal])))
        if self.ranker is None:
            raise NotFittedError("no ranker: train one with fit_ranker()")
        return np.asarray(self.ranker.predict(base))

    def search(self, query: str, user: Any = None, k: int = 10, *, method: Method = "auto") -> SearchResult:
        """The ``k`` best items for ``query``, personalised for ``user`` when they have history
        (unknown customers and customers without history get the non-personalised ranking)."""
        t0 = time.perf_counter()
        ctx = self.understand(query)
        items, scores, used = self.rank(ctx, user, k, method=method)
        ids = self.index.items.ids_of(items).tolist()
        titles = self._titles(items)
        understood = self.describe(ctx)
        if ctx.text != str(query).strip():
            understood["truncated_to"] = ctx.text
        return SearchResult(query=str(query), items=ids, scores=[float(s) for s in scores], titles=titles,
                            understood=understood, personalized=used == "personal", method=used,
                            seconds=time.perf_counter() - t0)

    def _titles(self, items: np.ndarray) -> list[str | None]:
        table = self.index.table
        col = "title" if "title" in table.columns else self.index.fields[0]
        values = table[col].cast(pl.String)
        return [values[int(i)] for i in items]

    # -- learning to rank ------------------------------------------------------------------------
    def training_groups(self, log: pl.DataFrame, *, personal: bool, progress: bool = False,
                        keep_missing: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows, labels, group sizes and group keys (the customer) of a labelled query log with
        columns ``query``, ``item`` and ``user``. Groups whose bought item is not among the
        candidates are left out unless ``keep_missing`` (then every log row gives a group, in
        order, for evaluation; with ``personal``, customers without history get personal
        features of ``nan``). Uses the engine's current popularity and profiles."""
        check_query_log(log, ("query", "item", "user") if personal else ("query", "item"))
        targets = self.index.items.indices(log["item"].to_list(), missing=-1)
        users = log["user"].to_list() if "user" in log.columns else [None] * log.height
        contexts: dict[str, QueryContext] = {}
        X_parts: list[np.ndarray] = []
        y_parts: list[np.ndarray] = []
        sizes: list[int] = []
        keys: list[Any] = []
        without_history = 0
        rows = _progress(zip(log["query"].cast(pl.String).to_list(), users, targets.tolist(), strict=True),
                         progress, log.height, "ranker features")
        for q, user, target in rows:
            if (target < 0 or not q) and not keep_missing:
                continue
            if not q:
                X_parts.append(np.zeros((0, len(self.feature_names(personal))), np.float32))
                y_parts.append(np.zeros(0, np.float32))
                sizes.append(0)
                keys.append(user)
                continue
            ctx = contexts.get(q)
            if ctx is None:
                ctx = contexts[q] = self.understand(q)
            row = self.user_row(user) if personal else -1
            if personal and not keep_missing and not (self.profiles is not None and self.profiles.has_history(row)):
                without_history += 1
                continue
            cand = self.candidates(ctx, row, personal=personal)
            label = (cand.items == target).astype(np.float32)
            if not label.any() and not keep_missing:
                continue
            base, pers = self.features(ctx, cand, row)
            if personal and pers is None:
                pers = np.full((cand.items.size, len(self.feature_names(True)) - base.shape[1]), np.nan, np.float32)
            X_parts.append(np.hstack([base, pers]) if personal and pers is not None else base)
            y_parts.append(label)
            sizes.append(cand.items.size)
            keys.append(user)
        if not sizes:
            if without_history:  # not the items' fault: say what is missing (e.g. as_of before every purchase)
                raise DataError(f"no query of the log can train the personalised ranker: {without_history:,} of "
                                f"its {log.height:,} come from customers without purchases before the features' "
                                "time (as_of), and the others' items are not catalogue items or not among the "
                                "candidates; choose a later as_of (--as-of) or a purchase log with these customers")
            raise DataError("no query of the log has its bought item among the candidates; check that the log's "
                            "items are catalogue items and its queries describe them")
        return np.vstack(X_parts), np.concatenate(y_parts), np.asarray(sizes), np.asarray(keys, dtype=object)

    def fit_ranker(self, log: pl.DataFrame, interactions: Interactions | None = None, *, as_of: TimeLike | None = None,
                   related: Any = None, config: RankerConfig | None = None, personal: bool = True,
                   valid_fraction: float = 0.2, rng: int | np.random.Generator | None = 0,
                   progress: bool = False) -> SearchEngine:
        """Train the non-personalised ranker (and the personalised one, given ``interactions``)
        on a query log (``query``, ``item`` bought, ``user``). Features use popularity and
        profiles as of ``as_of`` (events before it), so a log after ``as_of`` never leaks into
        its own features; the engine's serving state is restored afterwards. Early stopping uses
        a validation share of the customers (:func:`group_split`)."""
        personalised = personal and (interactions is not None or self.profiles is not None)
        # the personalised ranker's 'user' is checked before the general ranker is trained, not after
        check_query_log(log, ("query", "item", "user") if personalised else ("query", "item"))
        unknown = self.index.items.indices(log["item"].to_list(), missing=-1) < 0
        if unknown.any():  # left out below; say so, or a log keyed by other ids trains on a handful of rows
            examples = log["item"].filter(pl.Series(unknown)).unique(maintain_order=True).head(3).to_list()
            logger.warning("%d of the query log's %d rows name items that are not in the catalogue (e.g. %s); "
                           "they are left out of the ranker's training. Check that the log uses the catalogue's "
                           "item ids", int(unknown.sum()), log.height, examples)
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        saved = (self.stats, self.profiles, self._prior)
        try:
            if interactions is not None:
                self.refresh(interactions, now=as_of, related=related)
            self.ranker = self._fit_one(log, personal=False, config=config, valid_fraction=valid_fraction,
                                        rng=gen, progress=progress)
            if personal and self.profiles is not None:
                self.personal_ranker = self._fit_one(log, personal=True, config=config, valid_fraction=valid_fraction,
                                                     rng=gen, progress=progress)
            trained_profiles = self.profiles
        finally:
            self.stats, self.profiles, self._prior = saved
        if self.profiles is None:
            self.profiles = trained_profiles
        elif trained_profiles is not None and trained_profiles.related is not None and self.profiles.related is None:
            self.profiles.related = trained_profiles.related
        return self

    def _fit_one(self, log: pl.DataFrame, *, personal: bool, config: RankerConfig | None, valid_fraction: float,
                 rng: np.random.Generator, progress: bool) -> LambdaRanker:
        X, y, sizes, keys = self.training_groups(log, personal=personal, progress=progress)
        several = len(set(keys.tolist())) > 1
        valid_q = group_split(keys, valid_fraction, rng=rng) if several else np.zeros(sizes.size, bool)
        row_valid = np.repeat(valid_q, sizes)
        ranker = LambdaRanker(self.feature_names(personal), config)
        valid = (X[row_valid], y[row_valid], sizes[valid_q]) if valid_q.any() else None
        ranker.fit(X[~row_valid], y[~row_valid], sizes[~valid_q], valid=valid, rng=rng)
        logger.info("trained the %s ranker on %d queries (%d for validation)",
                 "personalised" if personal else "non-personalised", sizes.size, int(valid_q.sum()))
        return ranker

    # -- persistence -----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole engine (index, models, popularity, profiles) as one artifact directory.

        An earlier artifact (or an empty folder) at ``path`` is replaced; a file or a folder with
        other content is refused with :class:`~discoverly.errors.ArtifactError`, since replacing it
        would delete it."""
        manifest, arrays, tables = self.index.to_parts()
        manifest = {"kind": KIND, "index": manifest, "engine": self.config.to_dict(),
                    "stats": {"now": self.stats.now, "recent_days": self.stats.recent_days}}
        arrays["stats.buyers"] = self.stats.buyers
        arrays["stats.recent_buyers"] = self.stats.recent_buyers
        words, counts = self.speller.to_table()
        tables["speller"] = pl.DataFrame({"word": words, "count": counts},
                                         schema={"word": pl.String, "count": pl.Int64})
        if self.classifier is not None:
            cm, ca, lists = self.classifier.to_arrays()
            manifest["classifier"] = cm
            arrays.update(ca)
            tables["classifier_classes"] = pl.DataFrame({"value": lists["classes"]}, schema={"value": pl.String})
            tables["classifier_features"] = pl.DataFrame({"value": lists["features"]}, schema={"value": pl.String})
        if self.profiles is not None:
            pm, pa, pt = self.profiles.to_parts()
            manifest["profiles"] = pm
            arrays.update(pa)
            tables.update(pt)
        for name, ranker in (("ranker", self.ranker), ("personal_ranker", self.personal_ranker)):
            if ranker is not None:
                rm, ra = ranker.to_parts(name)
                manifest[name] = rm
                arrays.update(ra)
        return write_artifact(path, manifest, arrays, tables)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, encoder: TextEncoder | None = None) -> SearchEngine:
        """Read an engine written by :meth:`save`; :class:`~discoverly.errors.ArtifactError` when
        a part is missing (an interrupted copy, a hand-edited manifest)."""
        art = read_artifact(path, kind=KIND)
        try:
            m, a, t = art.manifest, art.arrays, art.tables
            index = CatalogIndex.from_parts(m["index"], a, t, encoder=encoder)
            config = EngineConfig.from_dict(m["engine"])
            stats = ItemStats(a["stats.buyers"], a["stats.recent_buyers"], int(m["stats"]["now"]),
                              int(m["stats"]["recent_days"]))
            sp_table = t["speller"]
            speller = SpellingCorrector(dict(zip(sp_table["word"].to_list(), sp_table["count"].to_list(), strict=True)))
            classifier = None
            if "classifier" in m:
                classifier = QueryClassifier.from_arrays(m["classifier"], a, {
                    "classes": t["classifier_classes"]["value"].to_list(),
                    "features": t["classifier_features"]["value"].to_list()}, normalizer=index.normalizer)
            profiles = CustomerProfiles.from_parts(m["profiles"], a, t, index) if "profiles" in m else None
            rankers = {name: LambdaRanker.from_parts(m[name], a, name) if name in m else None
                       for name in ("ranker", "personal_ranker")}
            return cls(index, config=config, classifier=classifier, speller=speller, stats=stats, profiles=profiles,
                       ranker=rankers["ranker"], personal_ranker=rankers["personal_ranker"])
        except KeyError as exc:
            if isinstance(exc, DiscoverlyError):
                raise
            raise ArtifactError(f"{str(path)!r} is an incomplete search engine: it has no {exc.args[0]!r}. Write "
                                "it again (`discoverly search index`, SearchEngine.save)") from exc


def check_method(method: str) -> None:
    """A :class:`ConfigError` for a method that is not one of :data:`Method`."""
    methods = get_args(Method)
    if method not in methods:  # an unknown one ranked as "ltr", or failed on an assertion without a ranker
        raise ConfigError(f"unknown search method {method!r}; use one of {', '.join(methods)}")


def _rank_in(ranking: np.ndarray, items: np.ndarray) -> np.ndarray:
    """1-based rank of each of ``items`` in ``ranking`` (``nan`` when absent)."""
    out = np.full(items.size, np.nan)
    if ranking.size == 0 or items.size == 0:
        return out
    order = np.argsort(ranking, kind="stable")
    pos = np.searchsorted(ranking[order], items)
    pos = np.minimum(pos, ranking.size - 1)
    found = ranking[order][pos] == items
    out[found] = order[pos[found]] + 1
    return out


def _progress(rows: Iterable[Any], on: bool, total: int, what: str) -> Iterable[Any]:
    if not on:
        yield from rows
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(what, total=total)
        for r in rows:
            yield r
            bar.advance(task)

