"""The similar-paper report: the reference team's judgements plus the hidden-edge proxy metrics.

Sections (one HTML file, figures embedded):

1. the graph: node and edge counts, topics with their top terms;
2. popularity: citation counts of recommended papers against those of the source papers (does
   the engine only push the classics?);
3. topic intersection: share of a paper's recommendations that share its dominant topic, per
   engine, against the share for random papers;
4. a 2-D projection (t-SNE of a sample) of the fused vectors, coloured by dominant topic;
5. side-by-side titles and abstracts of sample papers and their recommendations;
6. (``evaluate=True``) the proxy evaluation of :mod:`discoverly.graph.evaluation`.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly.errors import ConfigError, DataError
from discoverly.evaluate.stats import bootstrap_ci
from discoverly.graph.similar import SimilarItems
from discoverly.graph.workspace import DEFAULT_ENGINE, GraphFolder
from discoverly.report import HtmlReport, new_figure

__all__ = ["graph_report", "topic_intersection", "popularity_table"]

log = logging.getLogger(__name__)


def _dominant_topics(store: Any, n: int) -> tuple[np.ndarray, list[str]]:
    """Index of each paper's first (dominant) topic, -1 if none, and the topic labels."""
    rows = store.sql("SELECT e.src AS paper, n.key AS topic FROM edges e JOIN nodes n ON n.node = e.dst "
                     "WHERE e.relation = 'associated_topic'")
    labels = sorted(set(rows["topic"].to_list())) if rows.height else []
    out = np.full(n, -1, dtype=np.int64)
    pos = {t: i for i, t in enumerate(labels)}
    # the builder writes the dominant topic first; keep the first edge per paper
    for paper, topic in rows.unique("paper", keep="first", maintain_order=True).iter_rows():
        if paper < n:
            out[paper] = pos[topic]
    return out, labels


def topic_intersection(neigh: np.ndarray, topics: np.ndarray, sources: np.ndarray, *,
                       rng: int | np.random.Generator | None = 0) -> dict[str, object]:
    """Share of recommendations with the source's dominant topic, and the same for as many random papers.

    ``neigh`` holds each source's recommended positions, padded with -1 when it has fewer than k: a
    share is over the recommendations a source has (the padding counted as misses before), and a
    source with none, or without a topic, is left out."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    neigh = np.asarray(neigh)
    valid = neigh >= 0
    ok = (topics[sources] >= 0) & valid.any(axis=1)
    nb, valid, own = neigh[ok], valid[ok], topics[sources[ok]][:, None]
    shown = valid.sum(axis=1)
    per_source = ((topics[np.maximum(nb, 0)] == own) & valid).sum(axis=1) / shown
    rand = gen.integers(0, topics.size, size=nb.shape)
    per_random = ((topics[rand] == own) & valid).sum(axis=1) / shown
    return {"engine": bootstrap_ci(per_source, rng=gen), "random": bootstrap_ci(per_random, rng=gen)}


def popularity_table(neigh: np.ndarray, cited_by: np.ndarray, sources: np.ndarray) -> dict[str, float]:
    """Median and mean citation counts of sources vs. their recommendations."""
    rec = cited_by[neigh[neigh >= 0]]
    src = cited_by[sources]
    if rec.size == 0:  # every paper linked to its source and left out (a tiny graph): no numbers, no NumPy warnings
        nan = float("nan")
        return {"sources_median": float(np.median(src)), "recommended_median": nan, "sources_mean": float(src.mean()),
                "recommended_mean": nan, "recommended_share_top1pct": nan}
    return {"sources_median": float(np.median(src)), "recommended_median": float(np.median(rec)),
            "sources_mean": float(src.mean()), "recommended_mean": float(rec.mean()),
            "recommended_share_top1pct": float((rec >= np.quantile(cited_by, 0.99)).mean())}


def _projection(vectors: np.ndarray, rng: int) -> np.ndarray:
    from discoverly.dependencies import require

    manifold = require("sklearn.manifold", extra="graph", purpose="the 2-D projection")
    decomposition = require("sklearn.decomposition", extra="graph", purpose="the 2-D projection")
    reduced = decomposition.PCA(n_components=min(30, *vectors.shape), random_state=rng).fit_transform(vectors)
    perplexity = float(min(30, max(2, (vectors.shape[0] - 1) // 3)))
    return np.asarray(manifold.TSNE(n_components=2, init="pca", random_state=rng, perplexity=perplexity,
                                    max_iter=500).fit_transform(reduced))


def _check_evaluable(gf: GraphFolder) -> None:
    """Refuse, before the report's work, a graph with too few citation edges for the proxy evaluation."""
    from discoverly.graph.evaluation import split_citations

    with gf.open_store() as store:
        cites = store.sql("SELECT src, dst FROM edges WHERE relation = 'cites'")
    try:
        split_citations(cites["src"].to_numpy() if cites.height else np.zeros(0, np.int64),
                        cites["dst"].to_numpy() if cites.height else np.zeros(0, np.int64))
    except DataError as exc:
        raise DataError(f"{exc} for the proxy evaluation (it hides 10% of the papers' citations of each other); "
                        "write the report without it: evaluate=False (CLI: --no-evaluate)") from exc


def graph_report(folder: str | Path, out: str | Path, *, samples: int = 5, sample_size: int = 2000, k: int = 10,
                 evaluate: bool = True, rng: int = 0, progress: bool = False,
                 protocol: Any = None) -> Path:
    """Write the HTML report for a fitted graph folder; returns the file written.

    ``protocol`` may be a ready :class:`~discoverly.graph.evaluation.ProtocolResult` (the benchmark
    passes its own); otherwise, with ``evaluate=True``, the protocol runs with the engine's settings.
    """
    if samples < 0:  # a negative count sliced the sample to all but its last papers: thousands of them
        raise ConfigError(f"samples must be >= 0 (the papers shown with their recommendations), got {samples}")
    gf = GraphFolder(Path(folder))
    engine = gf.load_similar()
    papers = gf.load_papers()
    if protocol is None and evaluate:
        _check_evaluable(gf)
    n = len(papers)
    gen = np.random.default_rng(rng)
    rep = HtmlReport("Similar papers: knowledge graph + text", subtitle=f"graph folder {gf.root}")
    with gf.open_store() as store:
        counts = store.counts()
        topics, labels = _dominant_topics(store, n)
        cited = store.sql("SELECT dst AS paper, COUNT(*) AS c FROM edges WHERE relation = 'cites' GROUP BY dst")
    cited_by = np.zeros(n, dtype=np.int64)
    if cited.height:
        cited_by[cited["paper"].to_numpy()] = cited["c"].to_numpy()

    rep.heading("The graph")
    rep.table([{"kind": k2, "nodes": v} for k2, v in counts["nodes"].items()])
    rep.table([{"relation": k2, "edges": v} for k2, v in counts["edges"].items()])
    rep.text(f"Engine: {engine.config}. Fused cosine = w·cos(text) + (1 − w)·cos(graph), w = {engine.weight}.")

    sources = gen.choice(n, size=min(sample_size, n), replace=False)
    variants: dict[str, SimilarItems] = {}
    if engine.text is not None and engine.graph is not None:
        # the single sides with the engine's own settings (graph queries, left-out links), so the rows differ
        # only in what is fused
        same: dict[str, Any] = {"links": engine.link_pairs(), "exclude_linked": engine.exclude_linked}
        variants = {"text-only": SimilarItems(engine.ids, text=engine.text, weight=1.0, **same),
                    "graph-only": SimilarItems(engine.ids, graph=engine.graph, weight=0.0,
                                               graph_query=engine.graph_query, graph_query_2=engine.graph_query_2,
                                               **same)}
        if engine.text_hops:
            variants["fused, own text"] = SimilarItems(engine.ids, text=engine.text, graph=engine.graph,
                                                       weight=engine.weight, graph_query=engine.graph_query,
                                                       graph_query_2=engine.graph_query_2, **same)
    variants["fused" if variants else "engine"] = engine
    neigh = {name: e.similar_positions(sources, k)[1] for name, e in variants.items()}

    rep.heading("Popularity of recommended papers")
    rows = [{"engine": name, **popularity_table(nb, cited_by, sources)} for name, nb in neigh.items()]
    rep.table(rows, floats="{:.2f}")
    fig, ax = new_figure(7, 3.4)
    bins = np.unique(np.logspace(0, np.log10(max(2, cited_by.max() + 1)), 30).astype(int))
    ax.hist(cited_by[sources] + 1, bins=bins, histtype="step", label="source papers", linewidth=2, color="black")
    for name, nb in neigh.items():
        ax.hist(cited_by[nb[nb >= 0]] + 1, bins=bins, histtype="step", label=f"recommended ({name})", density=False,
                weights=np.full(int((nb >= 0).sum()), 1.0 / k))
    ax.set_xscale("log")
    ax.set_xlabel("citations + 1")
    ax.set_ylabel("papers (recommendations / k)")
    ax.legend(fontsize=8)
    rep.figure(fig, caption="Citation counts of source papers and of their recommendations")

    rep.heading("Topic intersection")
    if labels:
        inter = [{"engine": name, "same dominant topic": str(v["engine"]), "random papers": str(v["random"])}
                 for name, nb in neigh.items() for v in [topic_intersection(nb, topics, sources, rng=gen)]]
        rep.table(inter)
        rep.text("Share of a paper's top-k recommendations that share its dominant LDA topic (95% bootstrap CI over "
                 "source papers), against the same share for k random papers.")
    else:  # was a table of "nan [nan, nan]"
        rep.text("The graph has no topics (built with --topics 0), so there is no topic intersection.")

    if labels and n >= 3:  # t-SNE needs more papers than its smallest perplexity (2): was a raw ValueError
        rep.heading("Map of the fused vectors")
        sub = sources[: min(1500, sources.size)]
        xy = _projection(engine.vectors[sub], rng)
        fig, ax = new_figure(7.5, 6)
        cmap = __import__("matplotlib").colormaps["tab10" if len(labels) <= 10 else "tab20"]
        for t, label in enumerate(labels):
            m = topics[sub] == t
            ax.scatter(xy[m, 0], xy[m, 1], s=6, color=cmap(t % cmap.N), label=label)
        ax.legend(markerscale=3, fontsize=8, loc="best")
        ax.set_xticks([])
        ax.set_yticks([])
        rep.figure(fig, caption=f"t-SNE of {sub.size} papers' fused vectors, coloured by dominant topic")

    rep.heading("Sample papers and their recommendations")
    table = papers.table
    for p in sources[:samples].tolist():
        nb = neigh[list(neigh)[-1]][list(sources).index(p)]
        src = table.row(p, named=True)
        rows_html = "".join(
            f"<tr><td>{r + 1}</td><td><b>{html.escape(table['title'][int(q)])}</b> ({table['year'][int(q)]})"
            f"<br><small>{html.escape(table['abstract'][int(q)][:400])}</small></td>"
            f"<td>{cited_by[int(q)]}</td></tr>" for r, q in enumerate(nb.tolist()) if q >= 0)
        rep.html(f"<h3>{html.escape(src['title'])} <small>({html.escape(src['id'])}, {src['year']}, "
                 f"cited {cited_by[p]}×)</small></h3><p><small>{html.escape(src['abstract'][:600])}</small></p>"
                 f"<table><thead><tr><th>#</th><th>recommended paper</th><th>cited</th></tr></thead>"
                 f"<tbody>{rows_html}</tbody></table>")

    if protocol is None and evaluate:
        from discoverly.graph.evaluation import run_protocol

        with gf.open_store() as store:
            graph = store.graph()
        cand: dict[str, object] = {key: engine.config[key] for key in ("model", "dim", "epochs", "backend", "sampler",
                                                                        "loss", "negatives") if key in engine.config}
        qrel = engine.config.get("query_relation")
        qdir = engine.config.get("query_direction", DEFAULT_ENGINE["query_direction"])
        query = None if not qrel else (str(qrel), str(qdir))
        protocol = run_protocol(graph, engine.text, candidates=[cand], weights=(engine.weight,), rng=rng,
                                progress=progress, queries=(query,), exclude_linked=engine.exclude_linked,
                                text_hops=(engine.text_hops,))
    if protocol is not None:
        rep.heading("Proxy evaluation: hidden citation edges")
        rep.text("10% of citation edges hidden before training; for each paper at an end of a hidden edge, the "
                 "relevant papers are those it cites, is cited by or becomes co-cited with through hidden edges. "
                 "Model and weight chosen on a separate 10% validation split.")
        rep.table([{"engine": name, f"recall@{r.k}": str(r.recall), "MRR": str(r.mrr), "papers": r.recall.n}
                   for name, r in protocol.test.items()])
        rep.table([{"comparison": name, "difference": str(t.difference), "p-value": t.p_value}
                   for name, t in protocol.paired.items()])
        rep.table(pl.DataFrame(protocol.selection).with_columns(pl.col(pl.Float64).round(4)))
        rep.text(f"Chosen: {protocol.chosen}. Link prediction on held-out citations (filtered): {protocol.link}.")
    return rep.write(out)
