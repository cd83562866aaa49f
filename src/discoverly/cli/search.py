"""``discoverly search``: build a search engine, query it, train its ranker, evaluate it.

Examples::

    discoverly search index --dataset complete-journey --out artifacts/search
    discoverly search index --catalog products.csv --title name --fields name,brand,category --out artifacts/search
    discoverly search query artifacts/search "whole milk 1 gal" --user 1234 -k 5
    discoverly search train artifacts/search --log queries.csv --dataset complete-journey --as-of 2017-10-01
    discoverly search evaluate --dataset complete-journey --out benchmarks/results/search.json
    discoverly search evaluate --wands path/to/WANDS/dataset
    discoverly search evaluate --esci path/to/esci-data/shopping_queries_dataset --locale us
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import typer

from discoverly.cli.inputs import load_input, show_progress, split_list
from discoverly.cli.jsonout import dumps
from discoverly.errors import ConfigError, DataError

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Product search: index a catalogue, query it, train the ranker, evaluate.")

#: what a catalogue's missing-column error advises here (search index names its columns so)
_CATALOG_HINT = "Name its columns with --item and --title."


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _weights(spec: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in split_list(spec, "--weights") if spec else []:
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--weights expects field=number pairs such as 'title=2,brand=0.5', "
                              f"got {part!r}") from None
    return out


@app.command("index")
def index_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the engine artifact to."),
    dataset: str | None = typer.Option(None, "--dataset", "-d",
                                       help="A built-in data set with a catalogue, e.g. complete-journey."),
    catalog: Path | None = typer.Option(None, help="A catalogue file (CSV, TSV, Parquet, JSONL)."),
    item: str = typer.Option("item", help="The catalogue's item id column."),
    title: str | None = typer.Option(None, help="The catalogue's title column (shown in results)."),
    interactions: Path | None = typer.Option(None, "--interactions", "-i",
                                             help="A purchase log for popularity and personalisation."),
    user: str = typer.Option("user", help="The log's user column."),
    time: str = typer.Option("timestamp", help="The log's time column."),
    fields: str | None = typer.Option(None, help="Comma-separated text columns to search (default: all text)."),
    weights: str | None = typer.Option(None, help="BM25 weight per field, e.g. 'title=2,department=0.5'."),
    dense: bool = typer.Option(True, "--dense/--no-dense", help="Embed the catalogue with MiniLM for dense search."),
    embeddings: Path | None = typer.Option(None, help="An embedding cache (a previous engine or cache) to reuse."),
    data_dir: Path | None = typer.Option(None, help="Folder of the public data sets (default DISCOVERLY_DATA_DIR)."),
) -> None:
    """Index a catalogue (and, given a log, popularity and customer profiles) into an engine artifact."""
    from discoverly.artifacts import check_save_target
    from discoverly.search.engine import SearchEngine
    from discoverly.search.index import IndexConfig

    check_save_target(out)  # before any work: --out must not be a file or a folder of other things
    progress = show_progress()
    log = None
    if dataset is not None or interactions is not None:
        loaded = load_input(dataset=dataset, interactions=interactions, user=user, item=item, time=time,
                            catalog=catalog, catalog_title=title, data_dir=data_dir, progress=progress,
                            catalog_hint=_CATALOG_HINT)
        cat, log = loaded.catalog, loaded.interactions
    elif catalog is not None:
        from discoverly.data.catalog import read_catalog

        if not catalog.exists():
            raise DataError(f"the catalogue {str(catalog)!r} does not exist")
        cat = read_catalog(catalog, item=item, hint=_CATALOG_HINT, **({"title": title} if title else {}))
    else:
        raise ConfigError("give --catalog FILE (optionally with --interactions FILE) or --dataset NAME")
    if cat is None:
        raise DataError("the data set has no catalogue to index; give --catalog FILE")
    cache = _load_cache(embeddings) if embeddings is not None else None
    # the catalogue's title column is renamed to 'title'; --fields and --weights may name it either way
    renamed = {title: "title"} if title else {}
    field_names = tuple(renamed.get(f, f) for f in split_list(fields, "--fields")) if fields else None
    config = IndexConfig(fields=field_names, weights={renamed.get(f, f): w for f, w in _weights(weights).items()},
                         dense=dense, brand_aliases={"store brand": "Private", "national brand": "National"})
    engine = SearchEngine.build(cat, log, index_config=config, embeddings=cache, progress=progress)
    engine.save(out)
    con = _console()
    con.print(f"indexed {len(engine.index):,} items, fields {', '.join(engine.index.fields)} -> {out}")
    con.print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in engine.index.timings.items()))


def _load_cache(path: Path) -> Any:
    from discoverly.artifacts import read_artifact
    from discoverly.search.dense import EmbeddingCache

    kind = read_artifact(path).manifest.get("kind")
    if kind == "text-embeddings":
        return EmbeddingCache.load(path)
    from discoverly.search.engine import SearchEngine

    engine = SearchEngine.load(path)
    if engine.index.dense is None:
        raise ConfigError(f"{str(path)!r} has no embeddings to reuse (it was built with --no-dense)")
    return engine.index.dense.cache()


@app.command("query")
def query_cmd(
    engine_dir: Path = typer.Argument(..., help="An engine artifact written by `discoverly search index`."),
    query: str = typer.Argument(..., help="What to search for."),
    user: str | None = typer.Option(None, help="A customer id, for personalised results."),
    k: int = typer.Option(10, "-k", "--k", help="Number of results."),
    method: str = typer.Option("auto", help="auto, lexical, dense, hybrid, ltr or personal."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Search an engine and print the results with what the engine understood."""
    from discoverly.search.engine import SearchEngine, check_method
    from discoverly.search.notice import query_notice

    check_method(method)  # before the engine is loaded
    engine = SearchEngine.load(engine_dir)
    # the id as typed: the lookup finds "1234" among integer ids, and "007" stays itself (not 7)
    res = engine.search(query, user=user, k=k, method=method)  # type: ignore[arg-type]
    notice = query_notice(res)  # e.g. a query of stop words only: its results are not matches
    if as_json:
        typer.echo(dumps({"query": query, "method": res.method, "personalized": res.personalized,
                          "understood": res.understood, "results": res.to_dicts(), "notice": notice}, default=str))
        return
    from rich.table import Table

    con = _console()
    if notice:
        typer.echo(f"note: {notice}", err=True)
    con.print(f"understood: {res.understood}")
    table = Table(title=f"{query!r} ({res.method}{', personalised' if res.personalized else ''}, "
                        f"{res.seconds * 1000:.1f} ms as a first query, warm-up included; a served engine answers in "
                        "milliseconds)")
    for col in ("rank", "item", "title", "score"):
        table.add_column(col)
    for r in res.to_dicts():
        table.add_row(str(r["rank"]), str(r["item"]), str(r["title"] or ""), f"{r['score']:.4f}")
    con.print(table)


@app.command("train")
def train_cmd(
    engine_dir: Path = typer.Argument(..., help="An engine artifact to add the trained rankers to."),
    log: Path = typer.Option(..., help="A query log with columns query, item (bought or clicked) and user."),
    dataset: str | None = typer.Option(None, "--dataset", "-d",
                                       help="A built-in data set for the customers' purchases."),
    interactions: Path | None = typer.Option(None, "--interactions", "-i",
                                             help="The purchase log for features and personalisation."),
    user: str = typer.Option("user", help="The purchase log's user column."),
    item: str = typer.Option("item", help="The purchase log's item column."),
    time: str = typer.Option("timestamp", help="The purchase log's time column."),
    as_of: str | None = typer.Option(None, help="Features use only purchases before this time (default: all)."),
    seed: int = typer.Option(0, help="Random seed of the validation split and LightGBM."),
    data_dir: Path | None = typer.Option(None, help="Folder of the public data sets."),
) -> None:
    """Train the learning-to-rank models (non-personalised and personalised) from a query log."""
    from discoverly.data.frames import to_polars
    from discoverly.search.engine import SearchEngine, check_query_log

    progress = show_progress()
    engine = SearchEngine.load(engine_dir)
    frame = to_polars(log, what="the query log", id_columns=("user", "item"))
    check_query_log(frame, ("query", "item", "user"), what=f"the query log {str(log)!r}")
    loaded = load_input(dataset=dataset, interactions=interactions, user=user, item=item, time=time,
                        data_dir=data_dir, progress=progress)
    engine.fit_classifier(frame.select("query", "item"))
    engine.fit_ranker(frame, loaded.interactions, as_of=as_of, rng=seed, progress=progress)
    engine.refresh(loaded.interactions)
    engine.save(engine_dir)
    assert engine.ranker is not None
    _console().print(f"trained the rankers on {frame.height:,} queries (validation NDCG@10 "
                     f"{engine.ranker.valid_ndcg}) -> {engine_dir}")


@app.command("evaluate")
def evaluate_cmd(
    dataset: str | None = typer.Option(None, "--dataset", "-d",
                                       help="complete-journey: the personalised purchase protocol."),
    wands: Path | None = typer.Option(None, help="The WANDS dataset/ folder (product.csv, query.csv, label.csv)."),
    esci: Path | None = typer.Option(None, help="The ESCI shopping_queries_dataset/ folder."),
    locale: str = typer.Option("us", help="ESCI locale (us, es, jp)."),
    engine_dir: Path | None = typer.Option(None, "--engine", help="Evaluate this engine (ESCI/WANDS); default: "
                                                                 "index the benchmark's own catalogue."),
    cutoff: str = typer.Option("2017-11-01", help="Complete Journey: the test period starts here."),
    n_test: int = typer.Option(3000, help="Complete Journey: number of test purchases."),
    dense: bool = typer.Option(True, "--dense/--no-dense", help="Include dense retrieval (embeds the catalogue)."),
    embeddings: Path | None = typer.Option(None, help="An embedding cache to reuse."),
    seed: int = typer.Option(0, help="Random seed (sampling, splits, bootstrap)."),
    out: Path | None = typer.Option(None, help="Write the results as JSON here."),
    data_dir: Path | None = typer.Option(None, help="Folder of the public data sets."),
) -> None:
    """Evaluate product search: the Complete Journey purchase protocol, WANDS or ESCI."""
    chosen = [x for x in (dataset, wands, esci) if x is not None]
    if len(chosen) != 1:
        raise ConfigError("give exactly one of --dataset complete-journey, --wands DIR or --esci DIR")
    if out is not None:
        _check_json_target(out)  # a folder or a read-only place fails now, not after the evaluation
    progress = show_progress()
    con = _console()
    if dataset is not None:
        result = _evaluate_protocol(dataset, cutoff=cutoff, n_test=n_test, dense=dense, embeddings=embeddings,
                                    seed=seed, data_dir=data_dir, progress=progress, say=con.print)
        _print_protocol(con, result)
    else:
        result = _evaluate_judged(wands=wands, esci=esci, locale=locale, engine_dir=engine_dir, dense=dense,
                                  embeddings=embeddings, progress=progress)
        con.print_json(json.dumps(result))
    if out is not None:
        _write_json(out, result)
        con.print(f"results -> {out}")


def _check_json_target(path: Path) -> None:
    from discoverly.artifacts import check_file_target

    check_file_target(path, what="the results")


def _write_json(path: Path, result: dict[str, Any]) -> None:
    """Write the results atomically (an interrupt leaves no half-written file); a path that cannot be
    written is an :class:`~discoverly.errors.ArtifactError`."""
    from discoverly.artifacts import write_text_file

    write_text_file(path, dumps(result, encoding="utf-8", indent=2, default=str), what="the results")


def _evaluate_protocol(name: str, *, cutoff: str, n_test: int, dense: bool, embeddings: Path | None, seed: int,
                       data_dir: Path | None, progress: bool, say: Any) -> dict[str, Any]:
    from discoverly.data.datasets import load_dataset
    from discoverly.search.experiment import ProtocolConfig, run_protocol

    if name != "complete-journey":
        raise ConfigError(f"the purchase protocol needs product types and categories; it runs on complete-journey, "
                          f"not {name!r}")
    ds = load_dataset(name, data_dir, progress=progress)
    assert ds.catalog is not None
    cfg = ProtocolConfig(cutoff=cutoff, n_test=n_test, dense=dense, seed=seed)
    cache = _load_cache(embeddings) if embeddings is not None else None
    result = run_protocol(ds.interactions, ds.catalog, transactions=ds.notes["files"][0], config=cfg,
                          embeddings=cache, progress=progress, log=say)
    result.pop("engine", None)
    result.pop("test_queries", None)
    result.pop("ablation_inputs", None)
    return result


def _print_protocol(con: Any, result: dict[str, Any]) -> None:
    from rich.table import Table

    for variant in ("query", "variant"):
        table = Table(title=f"NDCG@10 [95% CI] / MRR / Recall@100 — {variant} queries (every interval: --out JSON)")
        table.add_column("system")
        subsets = list(dict.fromkeys(r["subset"] for r in result["rows"]))
        for s in subsets:
            table.add_column(s)
        systems = list(dict.fromkeys(r["system"] for r in result["rows"]))
        for system in systems:
            cells = []
            for s in subsets:
                got = {r["metric"]: r for r in result["rows"]
                       if r["system"] == system and r["subset"] == s and r["variant"] == variant}
                low, high = got["NDCG@10"]["ci"]
                cells.append(f"{got['NDCG@10']['value']:.3f} [{low:.3f}, {high:.3f}] / "
                             + " / ".join(f"{got[m]['value']:.3f}" for m in ("MRR", "Recall@100")))
            table.add_row(system, *cells)
        con.print(table)


def _evaluate_judged(*, wands: Path | None, esci: Path | None, locale: str, engine_dir: Path | None, dense: bool,
                     embeddings: Path | None, progress: bool) -> dict[str, Any]:
    from discoverly.search.engine import SearchEngine
    from discoverly.search.esci import load_esci
    from discoverly.search.index import IndexConfig
    from discoverly.search.judged import evaluate_judged
    from discoverly.search.wands import load_wands

    data = load_wands(wands) if wands is not None else load_esci(esci, locale=locale)  # type: ignore[arg-type]
    if engine_dir is not None:
        engine = SearchEngine.load(engine_dir)
    else:
        text = [c for c in ("title", "description", "brand", "category", "product_bullet_point",
                            "product_features") if c in data.catalog.columns]
        cache = _load_cache(embeddings) if embeddings is not None else None
        engine = SearchEngine.build(data.catalog, index_config=IndexConfig(fields=tuple(text), dense=dense,
                                                                          dense_fields=("title",)),
                                    embeddings=cache, progress=progress)
    mode: Literal["rerank", "retrieve"] = "rerank" if esci is not None else "retrieve"
    methods = ["lexical", "hybrid"] if dense else ["lexical"]
    return {"dataset": data.name, "results": [evaluate_judged(engine, data, mode=mode, method=m) for m in methods]}
