"""A proxy ground truth for similar-paper engines: hidden citation edges.

Protocol (the default of ``discoverly graph report`` and ``benchmarks/bench_graph.py``):

1. Split the citation edges at random into train (80%), validation (10%) and test (10%).
2. *Selection*: train graph models on the graph without validation and test edges; score each
   candidate (graph model, dimension, text weight) on the validation edges only.
3. *Test*: retrain the chosen configuration on the graph without the test edges and score
   text-only, graph-only and fused engines on the test edges, with bootstrap confidence intervals
   and paired tests (``discoverly.evaluate.stats``). The test edges are never used for a choice.

Which papers should ``similar(p)`` retrieve? For every paper ``p`` at either end of a hidden edge,
its *relevant set* holds the papers related to it only through hidden edges:

- the papers it cites and is cited by through a hidden edge, and
- (``cocited=True``) the papers it becomes co-cited with through a hidden edge: co-cited (cited by
  a common paper) in the graph with the hidden edges, but not in the graph without them.

Recall@k = |top-k ∩ relevant| / |relevant| per source paper; MRR = 1 / rank of the first relevant
paper within the top ``depth`` (0 beyond). The source paper itself is never a candidate. The
ranked list scored is the engine's own ``similar_positions`` output, so it is exactly what
``similar(p)`` returns to a user: with ``exclude_linked=True`` (an engine built with the visible
citations as its ``links``) the papers already linked to ``p`` by a visible citation are left out
(a "filtered" ranking, as in link prediction); ``exclude_linked=False`` keeps them; the default
is the engine's own setting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.stats import Estimate, PairedTest, bootstrap_ci, paired_test
from discoverly.graph.similar import SimilarItems

__all__ = ["CitationSplit", "split_citations", "proxy_relevance", "ProxyResult", "evaluate_similar",
           "compare_engines", "ProtocolResult", "run_protocol"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CitationSplit:
    """Citation edges ``(citing, cited)`` split into train, validation and test, shape (m, 2) each."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def to_dict(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def split_citations(citing: np.ndarray, cited: np.ndarray, *, test: float = 0.1, valid: float = 0.1,
                    rng: int | np.random.Generator | None = 0) -> CitationSplit:
    """A uniformly random split of the citation edges."""
    if not (0 < test < 1 and 0 <= valid < 1 and test + valid < 1):
        raise ConfigError(f"need 0 < test < 1, 0 <= valid < 1 and test + valid < 1; got test={test}, valid={valid}")
    edges = np.stack([np.asarray(citing, np.int64), np.asarray(cited, np.int64)], axis=1)
    if edges.shape[0] < 10:
        raise DataError(f"only {edges.shape[0]} citation edges: too few to hide a share of them")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    perm = gen.permutation(edges.shape[0])
    n_test = max(1, round(test * edges.shape[0]))
    n_valid = round(valid * edges.shape[0])
    return CitationSplit(train=edges[perm[n_test + n_valid:]], valid=edges[perm[n_test:n_test + n_valid]],
                         test=edges[perm[:n_test]])


def _adjacency(edges: np.ndarray, n: int) -> sp.csr_matrix:
    e = np.asarray(edges, np.int64).reshape(-1, 2)
    m = sp.csr_matrix((np.ones(len(e), np.float32), (e[:, 0], e[:, 1])), shape=(n, n))
    m.sum_duplicates()
    m.data[:] = 1
    return m


def proxy_relevance(visible: np.ndarray, hidden: np.ndarray, n_papers: int, *,
                    cocited: bool = True) -> dict[int, np.ndarray]:
    """Relevant papers of each source paper (see the module docstring), keyed by paper index."""
    hidden = np.asarray(hidden, np.int64).reshape(-1, 2)
    rel: dict[int, set[int]] = {}
    for a, b in hidden.tolist():
        rel.setdefault(a, set()).add(b)
        rel.setdefault(b, set()).add(a)
    if cocited and len(hidden):
        vis = _adjacency(visible, n_papers)
        full = _adjacency(np.concatenate([np.asarray(visible, np.int64).reshape(-1, 2), hidden]), n_papers)
        # co-citation of x and y: some paper cites both; new ones involve a hidden edge's cited end
        targets = np.unique(hidden[:, 1])
        full_co = (full[:, targets].T @ full).tocsr()
        vis_co = (vis[:, targets].T @ vis).tocsr()
        for row, x in enumerate(targets.tolist()):
            now = set(full_co.indices[full_co.indptr[row]:full_co.indptr[row + 1]].tolist())
            before = set(vis_co.indices[vis_co.indptr[row]:vis_co.indptr[row + 1]].tolist())
            new = now - before - {x}
            if new:
                rel.setdefault(x, set()).update(new)
                for y in new:  # co-citation is symmetric
                    rel.setdefault(y, set()).add(x)
    return {p: np.fromiter(sorted(s - {p}), np.int64) for p, s in sorted(rel.items()) if s - {p}}


@dataclass
class ProxyResult:
    """Recall@k and MRR of one engine over the source papers, with 95% bootstrap intervals."""

    name: str
    k: int
    recall: Estimate
    mrr: Estimate
    per_paper_recall: np.ndarray = field(repr=False)
    per_paper_rr: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "k": self.k, f"recall@{self.k}": self.recall.to_dict(), "mrr": self.mrr.to_dict()}


def evaluate_similar(engine: SimilarItems, relevance: Mapping[int, np.ndarray], *, name: str = "engine",
                     k: int = 10, depth: int = 100, exclude_linked: bool | None = None,
                     rng: int | np.random.Generator | None = 0, batch: int = 2048) -> ProxyResult:
    """Score an engine on the proxy ground truth; rows of the engine are paper indices.

    Each source paper's ranked list is the engine's top ``depth``
    (``engine.similar_positions(..., depth, exclude_linked)``), with no filter of its own:
    ``exclude_linked=True`` leaves out the rows linked to the source by the engine's ``links``
    (give the engine the *visible* citations, never the hidden ones), ``False`` keeps them,
    ``None`` follows the engine's ``exclude_linked`` setting.
    """
    if k < 1 or depth < k:
        raise ConfigError(f"need 1 <= k <= depth; got k={k}, depth={depth}")
    if exclude_linked and engine.links is None:
        raise ConfigError("exclude_linked=True needs an engine with links: build it with "
                          "SimilarItems(..., links=<the visible citation edges>)")
    sources = np.fromiter(relevance.keys(), np.int64)
    if sources.size == 0:
        raise DataError("no source papers with relevant papers to evaluate")
    recall = np.zeros(sources.size)
    rr = np.zeros(sources.size)
    for a in range(0, sources.size, batch):
        chunk = sources[a:a + batch]
        _, pos = engine.similar_positions(chunk, depth, exclude_linked=exclude_linked)
        for i, p in enumerate(chunk.tolist()):
            ranked = pos[i][pos[i] >= 0]
            hit = np.isin(ranked, relevance[p])
            recall[a + i] = hit[:k].sum() / len(relevance[p])
            first = np.flatnonzero(hit)
            rr[a + i] = 1.0 / (first[0] + 1) if first.size else 0.0
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return ProxyResult(name, k, bootstrap_ci(recall, rng=gen), bootstrap_ci(rr, rng=gen), recall, rr)


def compare_engines(results: Mapping[str, ProxyResult], *, rng: int | None = 0) -> dict[str, PairedTest]:
    """Paired tests of Recall@k between every pair of engines scored on the same source papers."""
    names = list(results)
    out: dict[str, PairedTest] = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            out[f"{a} - {b}"] = paired_test(results[a].per_paper_recall, results[b].per_paper_recall, rng=rng)
    return out


@dataclass
class ProtocolResult:
    """Everything the hidden-edge protocol measured: selection table, test results, paired tests."""

    split: CitationSplit
    selection: list[dict[str, object]]
    chosen: dict[str, object]
    test: dict[str, ProxyResult]
    paired: dict[str, PairedTest]
    link: dict[str, float | int]
    seconds: dict[str, float]
    embedding: object = field(repr=False, default=None)
    #: the same engines scored on direct relations only (hidden cites / cited-by, no co-citations)
    test_direct: dict[str, ProxyResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"split": self.split.to_dict(), "selection": self.selection, "chosen": self.chosen,
                "test": {k: v.to_dict() for k, v in self.test.items()},
                "test_direct": {k: v.to_dict() for k, v in self.test_direct.items()},
                "paired": {k: v.to_dict() for k, v in self.paired.items()}, "link": self.link, "seconds": self.seconds}


_CANDIDATE_KEYS = ("model", "dim", "epochs", "backend")


def _options(candidate: Mapping[str, object], common: Mapping[str, object]) -> dict[str, object]:
    """Trainer options of a candidate: the common ones, overridden by the candidate's own extra keys
    (``sampler``, ``lr``, ``negatives`` ...)."""
    return {**common, **{k: v for k, v in candidate.items() if k not in _CANDIDATE_KEYS}}


def run_protocol(graph: object, text: np.ndarray | Callable[[], np.ndarray] | None, *,
                 candidates: list[dict[str, object]],
                 weights: tuple[float, ...] = (0.3, 0.5, 0.7), k: int = 10, test: float = 0.1, valid: float = 0.1,
                 rng: int = 0, progress: bool = False, link_sample: int = 2000,
                 queries: Sequence[tuple[str, str] | None] = (None,), select_on: str = "cocited",
                 exclude_linked: bool = False, text_hops: Sequence[int] = (0,),
                 **train_options: object) -> ProtocolResult:
    """The whole protocol of the module docstring on a paper graph (papers are nodes 0..n-1).

    ``candidates`` are graph-model settings (``model``, ``dim``, ``epochs``, optional ``backend``
    and any other trainer option such as ``sampler``) tried on the validation split; ``weights``
    the text weights tried for fusion; ``queries`` the graph query modes tried: ``None`` (a paper's
    own graph vector) or ``(relation, direction)`` (``KGEmbedding.relation_queries``, e.g.
    ``("cites", "both")``). The best fused (candidate, query, weight) on validation Recall@k is
    retrained without the test edges and compared with text-only and graph-only (same query mode)
    on the test edges; with a relation-aware choice, the plain-query graph-only and fused engines
    of the same embedding are scored too, for reference (they are not choices).
    ``text`` may be a function returning the vectors: it is called after the candidates are trained.
    ``select_on`` is the relevance definition of the validation score: ``"cocited"`` (the module's
    definition) or ``"direct"`` (hidden cites / cited-by only); the test reports both.
    A query direction ``"tail+head"`` searches with both queries, lists merged by score
    (``SimilarItems(graph_query_2=...)``). ``exclude_linked=True`` scores filtered lists: every
    engine scored gets the visible citations as its ``links`` and its own ``exclude_linked`` filter
    leaves out the papers linked to the source (``evaluate_similar(exclude_linked=)``), exactly as
    a served engine with that setting does. ``text_hops`` are the settings of
    ``SimilarItems(text_hops=)`` tried for the fused engines (text spread over the visible
    citations: the training edges on validation, training and validation edges on test); with a
    choice above 0 the test also scores, for reference, the fused engine with the papers' own text
    (``"fused, own text"``) and the spread text alone (``"text over citations"``).
    """
    import time

    import polars as pl

    from discoverly.graph.build import KnowledgeGraph
    from discoverly.graph.kge import rank_triples
    from discoverly.graph.workspace import train_embedding

    if not isinstance(graph, KnowledgeGraph):
        raise ConfigError("run_protocol needs a KnowledgeGraph")
    if not candidates:
        raise ConfigError("give at least one graph-model candidate")
    n = int(graph.nodes_of("paper").size)
    ids = graph.keys(np.arange(n))
    cites = graph.edges.filter(pl.col("relation") == "cites")
    split = split_citations(cites["src"].to_numpy(), cites["dst"].to_numpy(), test=test, valid=valid, rng=rng)
    hidden_sel = np.concatenate([split.valid, split.test])
    g_sel = graph.without_edges("cites", hidden_sel[:, 0], hidden_sel[:, 1])
    if select_on not in ("cocited", "direct"):
        raise ConfigError(f"select_on must be 'cocited' or 'direct', got {select_on!r}")
    rel_valid = proxy_relevance(split.train, split.valid, n, cocited=select_on == "cocited")
    seconds: dict[str, float] = {}
    selection: list[dict[str, object]] = []
    best: tuple[float, dict[str, object], float, tuple[str, str] | None, int] | None = None
    hops_tried = tuple(int(h) for h in text_hops) or (0,)
    t0 = time.perf_counter()
    trained = []  # every candidate is trained before the text vectors are needed (they may be computed lazily)
    for i, cand in enumerate(candidates):
        c = dict(cand)
        emb = train_embedding(g_sel, model=str(c.get("model", "transe")), dim=int(c.get("dim", 64)),  # type: ignore[call-overload]
                              epochs=int(c.get("epochs", 40)), backend=str(c.get("backend", "torch")),  # type: ignore[call-overload]
                              rng=rng + i, progress=progress, **_options(c, train_options))
        trained.append((c, emb, emb.seconds, emb.config.get("epochs_run")))
        log.info("trained %s in %.0fs", c, emb.seconds)
    if callable(text):
        text = text()
    if text is not None:
        res = evaluate_similar(SimilarItems(ids, text=text, weight=1.0, links=split.train), rel_valid, k=k,
                               name="valid", exclude_linked=exclude_linked)
        selection.append({"model": "text-only", "weight": 1.0, f"valid_recall@{k}": res.recall.value,
                          "valid_mrr": res.mrr.value, "select_on": select_on})
    for c, sel_emb, train_seconds, epochs_run in trained:
        gvec = sel_emb.entity_vectors()[:n]
        for query in queries:
            gq, gq2 = _graph_queries(sel_emb, query, n)
            for h, w in ((h, w) for h in hops_tried for w in (0.0, *weights)):
                if (w > 0 and text is None) or (h > 0 and w == 0):
                    continue  # text_hops changes only the text part
                eng = SimilarItems(ids, text=text, graph=gvec, weight=w, graph_query=gq, graph_query_2=gq2,
                                   links=split.train, text_hops=h)
                res = evaluate_similar(eng, rel_valid, k=k, name="valid", exclude_linked=exclude_linked)
                row = {**c, "query": _query_name(query), "weight": w, "text_hops": h,
                       f"valid_recall@{k}": res.recall.value,
                       "valid_mrr": res.mrr.value, "train_seconds": train_seconds, "epochs_run": epochs_run,
                       "select_on": select_on, "exclude_linked": exclude_linked}
                selection.append(row)
                log.info("selection %s", row)
                score = res.recall.value
                if (w > 0 or text is None) and (best is None or score > best[0]):
                    best = (score, c, w, query, h)
    seconds["selection"] = time.perf_counter() - t0
    assert best is not None
    _, chosen, weight, query, hops = best
    t0 = time.perf_counter()
    g_test = graph.without_edges("cites", split.test[:, 0], split.test[:, 1])
    emb = train_embedding(g_test, model=str(chosen.get("model", "transe")), dim=int(chosen.get("dim", 64)),  # type: ignore[call-overload]
                          epochs=int(chosen.get("epochs", 40)), backend=str(chosen.get("backend", "torch")),  # type: ignore[call-overload]
                          rng=rng + 1000, progress=progress, **_options(chosen, train_options))
    seconds["final_training"] = emb.seconds
    visible = np.concatenate([split.train, split.valid])
    rel_test = proxy_relevance(visible, split.test, n)
    gvec = emb.entity_vectors()[:n]
    gq, gq2 = _graph_queries(emb, query, n)
    none = (None, None)
    Setting = tuple[float, tuple[np.ndarray | None, np.ndarray | None], int]  # weight, graph queries, text_hops
    engines: dict[str, Setting] = {"graph-only": (0.0, (gq, gq2), 0)}
    if text is not None:
        engines = {"text-only": (1.0, none, 0), "graph-only": (0.0, (gq, gq2), 0), "fused": (weight, (gq, gq2), hops)}
    if query is not None:  # the same embedding with plain queries, for reference
        engines["graph-only, plain query"] = (0.0, none, 0)
        if text is not None:
            engines["fused, plain query"] = (weight, none, hops)
    if hops and text is not None:  # what the spread text adds, for reference
        engines["fused, own text"] = (weight, (gq, gq2), 0)
        engines["text over citations"] = (1.0, none, hops)
    rel_direct = proxy_relevance(visible, split.test, n, cocited=False)
    results, direct = {}, {}
    for name, (w, (q, q2), h) in engines.items():
        eng = SimilarItems(ids, text=text, graph=gvec, weight=w, graph_query=q, graph_query_2=q2,
                           links=visible, text_hops=h)
        results[name] = evaluate_similar(eng, rel_test, k=k, name=name, rng=rng, exclude_linked=exclude_linked)
        direct[name] = evaluate_similar(eng, rel_direct, k=k, name=name, rng=rng, exclude_linked=exclude_linked)
    seconds["test"] = time.perf_counter() - t0
    names = emb.config.get("relations", [])
    assert isinstance(names, list)
    ci = names.index("cites")
    gen = np.random.default_rng(rng)
    sample = split.test[gen.permutation(len(split.test))[:link_sample]]
    fh, fr, ft, fnames = graph.triples()
    remap = np.array([names.index(x) if x in names else -1 for x in fnames])[fr]
    known = np.stack([fh, remap, ft], axis=1)[remap >= 0]
    lm = rank_triples(emb, np.stack([sample[:, 0], np.full(len(sample), ci), sample[:, 1]], axis=1), known,
                      candidates=np.arange(n))
    return ProtocolResult(split, selection, {**chosen, "query": _query_name(query), "weight": weight,
                                             "text_hops": hops, "exclude_linked": exclude_linked}, results,
                          compare_engines(results, rng=rng), lm.to_dict(), seconds, emb, direct)


def _query_name(query: tuple[str, str] | None) -> str:
    return "own vector" if query is None else f"{query[0]}:{query[1]}"


def _graph_queries(emb: object, query: tuple[str, str] | None,
                   n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The graph query vectors of the ``n`` papers for a query mode (``None``: their own vectors),
    and the second query vectors of ``"tail+head"`` (else ``None``)."""
    from discoverly.graph.kge import KGEmbedding

    if query is None:
        return None, None
    assert isinstance(emb, KGEmbedding)
    return emb.query_pair(query[0], query[1], entities=np.arange(n))
