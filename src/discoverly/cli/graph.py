"""``discoverly graph``: build a literature knowledge graph, rank papers, find similar ones, export, report."""

from __future__ import annotations

import sys
import time
from contextlib import nullcontext
from pathlib import Path

import typer

from discoverly.cli.jsonout import dumps

app = typer.Typer(help="Knowledge graph of a literature: build, fit, rank, similar, export, report.",
                  no_args_is_help=True, add_completion=False)

FOLDER = typer.Option(Path("graph"), "--graph", "-g", help="The graph folder (written by `build`).")


def _progress(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag


def _print_table(frame: object, as_json: bool) -> None:
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    if as_json:
        typer.echo(dumps(frame.to_dicts(), indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for col in frame.columns:
        table.add_column(col, overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*["" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v)) for v in row])
    Console().print(table)


@app.command()
def build(
    papers: Path | None = typer.Option(None, "--papers", help="A papers file (JSONL, CSV, Parquet) with id, title, "
                                       "abstract, body, authors, affiliations, venue, year, references."),
    aan: bool = typer.Option(False, "--aan", help="Use the ACL Anthology Network from $DISCOVERLY_DATA_DIR."),
    aan_dir: Path | None = typer.Option(None, "--aan-dir",
                                        help="The AAN folder (default $DISCOVERLY_DATA_DIR/papers/aan)."),
    cord19: Path | None = typer.Option(None, "--cord19", help="A CORD-19 metadata.csv (document parses next to it are "
                                       "read when present)."),
    id_column: str = typer.Option("id", "--id-column", help="The papers file's id column."),
    title_column: str = typer.Option("title", "--title-column", help="The papers file's title column."),
    abstract_column: str = typer.Option("abstract", "--abstract-column", help="The papers file's abstract column."),
    body_column: str = typer.Option("body", "--body-column", help="The papers file's full-text column."),
    authors_column: str = typer.Option("authors", "--authors-column", help="The papers file's authors column."),
    affiliations_column: str = typer.Option("affiliations", "--affiliations-column",
                                            help="The papers file's affiliations column."),
    venue_column: str = typer.Option("venue", "--venue-column", help="The papers file's venue column."),
    year_column: str = typer.Option("year", "--year-column", help="The papers file's year column."),
    references_column: str = typer.Option("references", "--references-column",
                                          help="The papers file's references column (ids of cited papers)."),
    out: Path = FOLDER,
    topics: int = typer.Option(10, "--topics", help="Number of LDA topics (0: no topics, e.g. for papers "
                               "without text)."),
    concept_method: str = typer.Option("collocations", "--concepts", help="collocations | yake | none"),
    vocabulary: Path | None = typer.Option(None, "--vocabulary", help="A file of concept phrases, one a line, "
                                           "to tag with instead of mining concepts."),
    seed: int = typer.Option(0, "--seed", help="Random seed (LDA)."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress",
                                         help="Progress display (default: on a tty)."),
) -> None:
    """Build the graph (papers, authors, institutions/venues, concepts, topics, citations) into a folder."""
    from rich.console import Console

    from discoverly.errors import ConfigError
    from discoverly.graph.workspace import build_graph_folder

    sources = [s for s in (papers is not None, aan or aan_dir is not None, cord19 is not None) if s]
    if len(sources) != 1:
        raise ConfigError("give exactly one input: --papers FILE, --aan (or --aan-dir DIR), or --cord19 metadata.csv")
    console = Console(stderr=True)
    started = time.perf_counter()
    with console.status("reading papers", spinner="dots") if _progress(progress) else nullcontext():
        if papers is not None:
            from discoverly.graph.papers import read_papers

            table = read_papers(papers, id=id_column, title=title_column, abstract=abstract_column, body=body_column,
                                authors=authors_column, affiliations=affiliations_column, venue=venue_column,
                                year=year_column, references=references_column)
        elif cord19 is not None:
            from discoverly.graph.cord19 import load_cord19

            table = load_cord19(cord19)
        else:
            from discoverly.graph.aan import load_aan

            table = load_aan(aan_dir)
    with console.status(f"mining concepts and {topics} topics, building the graph", spinner="dots") \
            if _progress(progress) else nullcontext():
        phrases = None
        if vocabulary is not None:
            if not vocabulary.is_file():
                raise ConfigError(f"the vocabulary file {str(vocabulary)!r} does not exist")
            phrases = [ln.strip() for ln in vocabulary.read_text(encoding="utf-8").splitlines() if ln.strip()]
        graph, timings = build_graph_folder(table, out, n_topics=topics, concept_method=concept_method
                                            if concept_method != "none" else "collocations",
                                            concepts=concept_method != "none", topics=topics != 0,
                                            vocabulary=phrases, rng=seed)
    counts = {"nodes": dict(graph.nodes.group_by("kind").len().sort("kind").iter_rows()),
              "edges": dict(graph.edges.group_by("relation").len().sort("relation").iter_rows())}
    typer.echo(dumps({"folder": str(out), **counts, "seconds": round(time.perf_counter() - started, 1),
                      **{k: round(v, 1) for k, v in timings.items()}}, indent=2))


@app.command()
def fit(
    folder: Path = FOLDER,
    model: str | None = typer.Option(None, "--model", help="complex | distmult | transe | rotate. Default: the "
                                     "engine default (ComplEx-512, chosen on AAN validation edges)."),
    dim: int | None = typer.Option(None, "--dim", help="Graph embedding dimension (default 512)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs over all edges (default 3)."),
    weight: float | None = typer.Option(None, "--weight", help="Text weight in [0, 1] (0 = graph only, 1 = text "
                                        "only; default 0.4)."),
    backend: str | None = typer.Option(None, "--backend", help="torch (built in, default) | pykeen"),
    sampler: str | None = typer.Option(None, "--sampler", help="Negatives: uniform | typed (entities seen in that "
                                       "position of the relation). Default: the engine default."),
    query_relation: str | None = typer.Option(None, "--query-relation", help="Relation-aware graph queries: a "
                                              "paper looks for the papers the model links to it by this relation "
                                              "(e.g. cites), or none. Default: cites."),
    query_direction: str | None = typer.Option(
        None, "--query-direction",
        help="tail | head | both (sum of the two) | tail+head (two searches merged by score). Default: the engine "
        "default."),
    exclude_linked: bool | None = typer.Option(None, "--exclude-linked/--include-linked",
                                               help="Whether `similar` leaves out the papers a paper cites or is "
                                               "cited by (they are on its page already). Default: the engine "
                                               "default."),
    text_hops: int | None = typer.Option(None, "--text-hops", help="Spread the text vectors over the citations "
                                         "before fusing: 0 = a paper's own text, 1 = plus the texts of the papers "
                                         "it cites and is cited by. Default: the engine default."),
    loss: str | None = typer.Option(None, "--loss", help="KGE loss: softmax (sampled softmax over shared negatives; "
                                    "bilinear models) | logistic (self-adversarial). Default: the engine default."),
    negatives: int | None = typer.Option(None, "--negatives", help="Negatives per triple (logistic) or shared by "
                                         "a mini-batch (softmax). Default: the engine default."),
    max_seconds: float | None = typer.Option(None, "--max-seconds", help="Stop graph training after this long."),
    threads: int = typer.Option(2, "--threads", help="CPU threads for torch."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the same seed gives the same result)."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress"),
) -> None:
    """Train the graph embedding, embed titles/abstracts/bodies, and save the similar-paper engine."""
    from discoverly.graph.workspace import fit_similar
    from discoverly.text_embedding import TextEncoder

    started = time.perf_counter()
    extra = {"threads": threads}
    if max_seconds is not None:
        extra["max_seconds"] = max_seconds  # type: ignore[assignment]
    if loss is not None:
        extra["loss"] = loss  # type: ignore[assignment]
    if negatives is not None:
        extra["negatives"] = negatives
    engine = fit_similar(folder, model=model, dim=dim, epochs=epochs, weight=weight, backend=backend, sampler=sampler,
                         query_relation=query_relation, query_direction=query_direction, exclude_linked=exclude_linked,
                         text_hops=text_hops, encoder=TextEncoder(threads=threads), rng=seed,
                         progress=_progress(progress), **extra)
    typer.echo(dumps({"engine": str(folder / "similar"), "papers": len(engine), **engine.config,
                      "seconds": round(time.perf_counter() - started, 1)}, indent=2))


@app.command()
def similar(
    paper: str = typer.Argument(..., help="The paper id."),
    folder: Path = FOLDER,
    k: int = typer.Option(10, "-k", "--k", help="How many similar papers."),
    exclude_linked: bool | None = typer.Option(None, "--exclude-linked/--include-linked",
                                               help="Leave out (or keep) the papers PAPER cites or is cited by. "
                                               "Default: the setting the engine was fitted with."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The papers most similar to PAPER (fused text + graph embeddings, cosine)."""
    import polars as pl

    from discoverly.graph.workspace import GraphFolder

    gf = GraphFolder(folder)
    engine = gf.load_similar()
    out = engine.similar(paper, k=k, exclude_linked=exclude_linked)
    if out.height < k:  # an empty table said nothing of why
        exclude = engine.exclude_linked if exclude_linked is None else exclude_linked
        linked = int(engine.linked(engine.position(paper)).size) if exclude else 0
        why = (f"{linked} of the {len(engine) - 1} other papers are linked to {paper!r} (they cite it or it cites "
               "them) and are left out; --include-linked keeps them" if linked
               else f"the engine has {len(engine) - 1} other papers")
        typer.echo(f"note: {out.height} similar paper(s), fewer than k={k}: {why}", err=True)
    with gf.open_store() as store:
        titles = store.sql("SELECT id, title, year FROM papers")
    _print_table(out.join(titles, on="id", how="left").select("rank", "id", "score", "year", "title")
                 .sort("rank").with_columns(pl.col("score").round(4)), as_json)


@app.command()
def rank(
    folder: Path = FOLDER,
    topic: str | None = typer.Option(None, "--topic", help="Count only citations from papers on this topic (with "
                                     "--about: rank only papers on this topic)."),
    concept: str | None = typer.Option(None, "--concept", help="Count only citations from papers with this concept "
                                       "(not with --about)."),
    about: list[str] = typer.Option([], "--about",
                                    help="Only papers about this concept (repeat: papers about A and B)."),
    k: int = typer.Option(20, "-k", "--k", help="How many papers."),
    as_json: bool = typer.Option(False, "--json"),
    list_topics: bool = typer.Option(False, "--topics", help="List the topics and exit."),
    list_concepts: bool = typer.Option(False, "--concepts", help="List the concepts with most papers (up to -k; "
                                       "the names --about and --concept take) and exit."),
) -> None:
    """Most cited papers: overall, by citing papers of a topic/concept, or among papers about concepts."""
    from discoverly.errors import ConfigError
    from discoverly.graph.query import GraphQuery
    from discoverly.graph.workspace import GraphFolder

    with GraphFolder(folder).open_store() as store:
        q = GraphQuery(store)
        if list_topics:
            _print_table(q.topics(), as_json)
            return
        if list_concepts:
            _print_table(q.concepts(k=k), as_json)
            return
        if about and concept is not None:  # was silently left out
            raise ConfigError("--concept (citations counted from papers with a concept) does not combine with --about "
                              "(papers about concepts, all their citations counted); for papers about several "
                              "concepts repeat --about")
        frame = (q.top_cited(about, k=k, topic=topic) if about
                 else q.citation_counts(topic=topic, concept=concept, k=k))
        _print_table(frame, as_json)


@app.command()
def export(
    out: Path = typer.Argument(..., help="The folder to write."),
    folder: Path = FOLDER,
    format: str = typer.Option("gremlin", "--format", help="gremlin (Amazon Neptune) | neo4j (neo4j-admin import)"),
) -> None:
    """Export the graph as bulk-load CSV for Amazon Neptune (Gremlin) or Neo4j (admin import)."""
    from discoverly.graph.export import export_graph
    from discoverly.graph.workspace import GraphFolder

    with GraphFolder(folder).open_store() as store:
        graph = store.graph()
    files = export_graph(graph, out, format=format)
    typer.echo(dumps({"format": format, "files": [str(f) for f in files]}, indent=2))


@app.command()
def report(
    out: Path = typer.Option(Path("graph-report.html"), "--out", "-o", help="The HTML file to write."),
    folder: Path = FOLDER,
    samples: int = typer.Option(5, "--samples", help="Sample papers shown side by side with their recommendations."),
    evaluate: bool = typer.Option(True, "--evaluate/--no-evaluate", help="Run the hidden-edge proxy evaluation "
                                  "(trains graph embeddings twice; minutes on AAN)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the same seed gives the same result)."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress"),
) -> None:
    """HTML report: popularity of recommendations, topic intersection, 2-D map, side-by-side samples, proxy metrics."""
    from discoverly.graph.report import graph_report
    from discoverly.report import check_report_target

    check_report_target(out)  # a folder or a path below a file fails now, not after the evaluation
    path = graph_report(folder, out, samples=samples, evaluate=evaluate, rng=seed, progress=_progress(progress))
    typer.echo(str(path))
