"""``discoverly fit`` and ``discoverly recommend``: train a model into an artifact directory, then
ask it for recommendations or related items.

Examples::

    discoverly fit --dataset online-retail --model corrected --out models/corrected
    discoverly fit --interactions events.csv --user customer --item sku --time ts --model cosine \\
        --param min_count=3 --out models/cosine
    discoverly recommend models/corrected --user 17850 --k 10
    discoverly recommend models/corrected --item 85123A --json
    discoverly fit --interactions events.parquet --user customer --item sku --time ts --model corrected \
        --engine spark --master local[2] --out models/corrected

``--engine spark`` runs the job on Apache Spark (``pip install 'discoverly[spark]'`` and Java 17+;
``--master`` takes ``local[N]`` or a cluster's URL) and writes the same artifact. It fits
popularity, bestsellers, cosine, naive and corrected; it reads ``--interactions`` as Parquet (a
``--dataset`` is loaded and cleaned locally first, then handed to Spark as Parquet). The local
engine estimates its peak memory before loading and refuses, with exit code 9, when that exceeds
``--max-memory`` (default: the memory the machine has available).

The artifact directory is the model's own (``BaseRecommender.load(DIR)`` reads it); when the data
has a catalogue, its rows for the model's items are stored next to it in ``DIR/catalog`` so
``recommend`` can show titles.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from discoverly.cli.inputs import CATALOG_HINT, load_input, show_progress
from discoverly.cli.jsonout import dumps
from discoverly.errors import ArtifactError, ConfigError

if TYPE_CHECKING:
    from discoverly.recommend.results import Recommendations

__all__ = ["fit", "parse_params", "recommend"]

CATALOG_DIR = "catalog"


def parse_params(params: list[str] | None) -> dict[str, Any]:
    """``["min_count=3", "score=cosine"]`` -> ``{"min_count": 3, "score": "cosine"}`` (values are
    read as JSON when they parse, else kept as strings)."""
    out: dict[str, Any] = {}
    for p in params or []:
        key, sep, raw = p.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param takes NAME=VALUE, e.g. --param min_count=3; got {p!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


def _create(model: str, params: dict[str, Any]) -> Any:
    from discoverly.recommend.registry import MODELS, create

    if model not in MODELS:
        create(model)  # raises the ConfigError that lists the known names
    try:
        return create(model, **params)
    except ConfigError as exc:
        if "wrong type" not in str(exc):
            raise
        raise ConfigError(f"{exc}; in --param, numbers, true/false and null are read as JSON, e.g. "
                          "--param min_count=3") from None


def fit(
    model: str = typer.Option(..., "--model", "-m", help="A model name, e.g. corrected, cosine, bestsellers."),
    out: Path = typer.Option(..., "--out", "-o", help="The artifact directory to write (replaced atomically)."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="A built-in data set, e.g. online-retail."),
    interactions: Path | None = typer.Option(None, "--interactions", "-i",
                                             help="A log file instead: CSV, TSV, Parquet or JSONL."),
    user: str = typer.Option("user", help="The log's user column."),
    item: str = typer.Option("item", help="The log's item column."),
    time: str = typer.Option("timestamp", help="The log's time column."),
    quantity: str | None = typer.Option(None, help="The log's quantity column, if any."),
    drop_negative: bool = typer.Option(False, "--drop-negative", help="Drop rows with a negative quantity."),
    catalog: Path | None = typer.Option(None, help="A catalogue file for --interactions (titles in answers)."),
    catalog_title: str | None = typer.Option(None, help="The catalogue's title column."),
    catalog_item: str | None = typer.Option(None, help="The catalogue's item column (default: --item)."),
    data_dir: Path | None = typer.Option(None, help="Folder of the public data sets (default $DISCOVERLY_DATA_DIR)."),
    download: bool = typer.Option(False, help="Download a missing data set where a checked source exists."),
    until: str | None = typer.Option(None, help="Fit only on events before this date (ISO or epoch seconds)."),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="A model setting NAME=VALUE (repeatable)."),
    engine: str = typer.Option("local", "--engine", help="Where to fit: local (this process) or spark."),
    master: str = typer.Option("local[2]", "--master", help="The Spark master URL for --engine spark, e.g. "
                               "local[2] or spark://host:7077."),
    max_memory: str | None = typer.Option(None, "--max-memory", help="Local engine: refuse (exit 9) when the "
                                          "estimated peak memory exceeds this, e.g. 8GB (default: what is available)."),
    driver_memory: str | None = typer.Option(None, "--driver-memory", help="Spark engine: the driver's memory, "
                                             "e.g. 4g (in local mode, all of Spark's)."),
) -> None:
    """Fit a recommender on a log and save it as an artifact directory."""
    from rich.console import Console

    from discoverly.artifacts import replace_artifact, staged, write_artifact

    console = Console(stderr=True, highlight=False)
    params = parse_params(param)
    if engine not in ("local", "spark"):
        raise ConfigError(f"--engine must be local or spark, got {engine!r}")
    if engine == "spark":
        _fit_spark(model, params, out=out, dataset=dataset, interactions=interactions, user=user, item=item,
                   time=time, quantity=quantity, drop_negative=drop_negative, catalog_file=catalog,
                   catalog_title=catalog_title, catalog_item=catalog_item, data_dir=data_dir, download=download,
                   until=until, master=master, driver_memory=driver_memory, console=console)
        return
    recommender = _create(model, params)
    from discoverly.artifacts import check_save_target

    check_save_target(out)  # before any work: --out must not be a file or a folder of other things
    if interactions is not None and interactions.is_file():
        _check_local_memory(interactions, max_memory)
    data = load_input(dataset=dataset, interactions=interactions, user=user, item=item, time=time,
                      quantity=quantity, drop_negative=drop_negative, catalog=catalog, catalog_title=catalog_title,
                      catalog_item=catalog_item, data_dir=data_dir, download=download, progress=show_progress())
    if data.synthetic:
        console.print("[bold yellow]note:[/] the data are SYNTHETIC (generated), not a real log")
    log = data.interactions
    if until is not None:
        import datetime as dt

        from discoverly.data.interactions import to_epoch_seconds
        from discoverly.errors import DataError

        cut = to_epoch_seconds(int(until) if until.isdigit() else until)
        log = log.before(cut)
        if len(log) == 0:
            # a plain number is epoch seconds: say which moment that is (20240101 is in 1970, not 2024)
            when = dt.datetime.fromtimestamp(cut, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            raise DataError(f"no events before --until {until} ({when}); the log starts "
                            f"{data.interactions.start:%Y-%m-%d}. Give an ISO date such as 2024-01-01 or epoch "
                            "seconds")
    from discoverly.engine.memory import check_memory, estimate_fit_memory

    # the log is in memory now (and no longer in what is available): estimate what fitting adds
    check_memory(estimate_fit_memory(len(log), decoded_bytes=0, items=log.n_items), max_memory,
                 what=f"fitting {model}")
    with console.status(f"fitting {model} on {log!r}", spinner="dots") if show_progress() else nullcontext():
        recommender.fit(log)
    # the model and its catalogue are put in place together: an interrupt (or a second `fit` to the same
    # --out) never leaves a model without its catalogue, or with another run's
    with staged(out) as stage:
        try:
            recommender.save(stage)
            if data.catalog is not None:
                table = data.catalog.aligned(recommender.items)
                write_artifact(stage / CATALOG_DIR, {"kind": "catalog", "dataset": data.name},
                               tables={"catalog": table})
            path = replace_artifact(stage, out)
        except ArtifactError as exc:  # a full disk: name --out, not the hidden folder written first
            raise ArtifactError(str(exc).replace(str(stage), str(out))) from exc
    typer.echo(f"fitted {model} on {len(log):,} events ({log.n_users:,} users, {log.n_items:,} items) "
               f"in {recommender.fit_seconds:.2f}s; saved to {path}")


def _check_local_memory(path: Path, max_memory: str | None) -> None:
    """Before reading a log file: refuse when the local fit's estimated peak exceeds the limit."""
    from discoverly.engine.memory import check_memory, estimate_fit_memory, file_facts, text_size

    rows, decoded = file_facts(path)
    if rows is None:  # not Parquet: a text log decodes to at most about its (decompressed) size
        decoded = text_size(path)
        rows = max(1, decoded // 40)
    check_memory(estimate_fit_memory(rows, decoded_bytes=decoded), max_memory, what=f"fitting on {path.name}")


def _fit_spark(model: str, params: dict[str, Any], *, out: Path, dataset: str | None, interactions: Path | None,
               user: str, item: str, time: str, quantity: str | None, drop_negative: bool,
               catalog_file: Path | None, catalog_title: str | None, catalog_item: str | None, data_dir: Path | None,
               download: bool, until: str | None, master: str, driver_memory: str | None, console: Any) -> None:
    """``discoverly fit --engine spark``: the Spark job, the same artifact (and catalogue) as locally."""
    import tempfile

    from discoverly.artifacts import check_save_target, replace_artifact, staged, write_artifact
    from discoverly.data.interactions import to_epoch_seconds
    from discoverly.engine.spark import SPARK_MODELS, fit_spark

    if model not in SPARK_MODELS:
        raise ConfigError(f"--engine spark fits {', '.join(SPARK_MODELS)}; got {model!r}. Use --engine local for it")
    if (dataset is None) == (interactions is None):
        raise ConfigError("give exactly one of --dataset NAME or --interactions FILE.parquet")
    check_save_target(out)  # before the data set loads and the JVM starts
    cutoff = None if until is None else (int(until) if until.isdigit() else to_epoch_seconds(until))
    catalog = None
    if interactions is not None and catalog_file is not None:  # read first: a bad catalogue fails in a second
        from discoverly.data.catalog import read_catalog

        roles = {"title": catalog_title} if catalog_title else {}
        catalog = read_catalog(catalog_file, item=catalog_item or item, hint=CATALOG_HINT, **roles)
    # the model and its catalogue are put in place together, as by the local engine
    with staged(out) as stage:
        try:
            with tempfile.TemporaryDirectory(prefix="discoverly-spark-") as tmp:
                if dataset is not None:
                    data = load_input(dataset=dataset, interactions=None, data_dir=data_dir, download=download,
                                      progress=show_progress())
                    if data.synthetic:
                        console.print("[bold yellow]note:[/] the data are SYNTHETIC (generated), not a real log")
                    source: Any = Path(tmp) / "log.parquet"
                    data.interactions.to_polars().write_parquet(source)
                    user, item, time, quantity, catalog = "user", "item", "timestamp", "quantity", data.catalog
                else:
                    source = interactions
                with console.status(f"fitting {model} on Spark ({master})", spinner="dots") if show_progress() \
                        else nullcontext():
                    result = fit_spark(model, str(source), out=stage, user=user, item=item, time_column=time,
                                       quantity=quantity, negative="drop" if drop_negative else "error", until=cutoff,
                                       params=params, master=master, driver_memory=driver_memory)
            if catalog is not None:
                label = dataset if dataset is not None else Path(str(interactions)).stem
                write_artifact(stage / CATALOG_DIR, {"kind": "catalog", "dataset": label},
                               tables={"catalog": catalog.aligned(result.model.items)})
            path = replace_artifact(stage, out)
        except ArtifactError as exc:  # a full disk: name --out, not the hidden folder written first
            raise ArtifactError(str(exc).replace(str(stage), str(out))) from exc
    c = result.counts
    typer.echo(f"fitted {model} on Spark ({master}) on {c['events']:,} events ({c['users']:,} users, "
               f"{c['items']:,} items) in {result.seconds:.2f}s; saved to {path}")


def _titles(path: Path) -> dict[Any, str | None]:
    """Item id -> title from the catalogue stored with a model (empty when there is none)."""
    from discoverly.artifacts import read_artifact

    if not (path / CATALOG_DIR / "manifest.json").is_file():
        return {}
    table = read_artifact(path / CATALOG_DIR, kind="catalog").tables["catalog"]
    if "title" not in table.columns:
        return {}
    return dict(zip(table["item"].to_list(), table["title"].to_list(), strict=True))


def _rows(recs: Recommendations, titles: dict[Any, str | None]) -> list[dict[str, Any]]:
    """JSON rows with titles, and each item's ``source``: ``"model"``, or ``"bestsellers"`` for the items
    after a row's first ``recs.own[row]`` (those that complete a short list), as the service labels them."""
    own = recs.own
    rows = recs.to_dicts()
    for r, row in enumerate(rows):
        for j, it in enumerate(row["items"]):
            it["title"] = titles.get(it["item"])
            it["source"] = "bestsellers" if own is not None and j >= own[r] else "model"
    return rows


def recommend(
    model_dir: Path = typer.Argument(..., help="An artifact directory written by `discoverly fit`."),
    user: list[str] | None = typer.Option(None, "--user", "-u", help="A user id (repeatable)."),
    item: list[str] | None = typer.Option(None, "--item", help="An item id: show its related items (repeatable)."),
    k: int = typer.Option(10, "--k", "-k", help="How many items per list."),
    include_seen: bool = typer.Option(False, "--include-seen",
                                      help="Allow items the user already bought (buy it again)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """Recommendations for users (``--user``) or related items (``--item``) from a saved model."""
    from rich.console import Console
    from rich.table import Table

    from discoverly.recommend.base import BaseRecommender

    if bool(user) == bool(item):
        raise ConfigError("give --user ID (recommendations) or --item ID (related items), not both and not neither")
    if k < 1:
        raise ConfigError(f"--k must be at least 1, got {k}")
    model = BaseRecommender.load(model_dir)
    titles = _titles(model_dir)
    if user:
        recs = model.recommend(user, k, exclude_seen=not include_seen)
    else:
        assert item is not None and model.items is not None
        # ids typed on the command line are strings; the vocabulary maps '123' to 123 where needed
        keys = [model.items.id(model.items.index(i)) for i in item]
        recs = model.related(keys, k)
    rows = _rows(recs, titles)
    if as_json:
        sys.stdout.write(dumps({"model": model.name, "kind": recs.kind, "k": k, "results": rows},
                               indent=2, default=str) + "\n")
        return
    console = Console(highlight=False)
    for row in rows:
        q = row[recs.kind]
        head = f"{'recommended for user' if recs.kind == 'user' else 'related to item'} {q}"
        if recs.kind == "item" and titles.get(q):
            head += f" ({titles[q]})"
        if row["fallback"]:
            head += " — nothing from the model: recent bestsellers"
        if not row["items"]:
            why = ("no other item was bought by enough of the same customers (the model's min_count)"
                   if recs.kind == "item" else "" if include_seen else
                   "the customer already has all of them (--include-seen shows them)")
            console.print(f"{head}: none" + (f" — {why}" if why else ""))
            continue
        table = Table(title=head, title_justify="left")
        for col, just in (("#", "right"), ("item", "left"), ("title", "left"), ("score", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for it in row["items"]:  # a bestseller that completes the list has no score of the model's
            score = f"{it['score']:.4g}" if it["source"] == "model" else "bestseller"
            table.add_row(str(it["rank"]), str(it["item"]), it["title"] or "", score)
        console.print(table)
