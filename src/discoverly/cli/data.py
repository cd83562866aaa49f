"""``discoverly data``: profile a log file or a built-in data set; list the built-in data sets.

Examples::

    discoverly data list
    discoverly data report online-retail-2011
    discoverly data report events.csv --user customer --item sku --time ts --quantity qty --drop-negative
    discoverly data report movielens-100k --json > profile.json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from discoverly.cli.jsonout import dumps
from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError

if TYPE_CHECKING:
    from discoverly.data.datasets.dataset import Dataset
    from discoverly.data.quality import DataProfile

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Inspect interaction logs and the built-in data sets.")


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _is_dataset_name(source: str) -> bool:
    from discoverly.data.datasets import dataset_spec

    try:
        dataset_spec(source)
    except ConfigError:
        return False
    return True


def _load(source: str, *, user: str, item: str, time: str, quantity: str | None, drop_negative: bool,
          data_dir: Path | None, download: bool, catalog: Path | None, catalog_title: str | None,
          progress: bool, catalog_item: str | None = None, as_dataset: bool = False
          ) -> tuple[Any, Any, dict[str, int], dict[str, Any], str, Dataset | None]:
    """(interactions, catalog, missing values, cleaning notes, name, dataset) for a file or data set name
    (only a data set name with ``as_dataset``)."""
    path = Path(source)
    if not as_dataset and (path.exists() or not _is_dataset_name(source)):
        if not path.exists():
            from discoverly.data.datasets import DATASETS
            from discoverly.data.datasets.registry import did_you_mean

            # a bare name (no folder, no extension) was meant as a data set: an unknown name is a bad option
            error = ConfigError if not path.suffix and len(path.parts) == 1 else DataError
            raise error(f"{source!r} is neither an existing file nor a built-in data set.{did_you_mean(source)} "
                        f"Built-in data sets: {', '.join(DATASETS)} (see `discoverly data list`); files may be "
                        "CSV, TSV, Parquet or JSONL")
        from discoverly.cli.inputs import CATALOG_HINT
        from discoverly.data.catalog import read_catalog
        from discoverly.data.frames import require_columns, to_polars
        from discoverly.data.read import interactions_from_polars

        frame = to_polars(path, what="the interaction log", id_columns=(user, item))
        require_columns(frame, {"user": user, "item": item, "time": time, "quantity": quantity},
                        what="the interaction log")
        missing = {c: int(n) for c, n in frame.null_count().row(0, named=True).items()}
        log = interactions_from_polars(frame, user=user, item=item, time=time, quantity=quantity,
                                       negative="drop" if drop_negative else "error")
        cleaning: dict[str, Any] = {"files": [str(path)], "rows_read": frame.height,
                                    "dropped": {"negative_quantity": frame.height - len(log)} if drop_negative else {}}
        cat = None
        if catalog is not None:
            roles = {"title": catalog_title} if catalog_title else {}
            cat = read_catalog(catalog, item=catalog_item or item, hint=CATALOG_HINT, **roles)
        return log, cat, missing, cleaning, path.stem, None
    from discoverly.data.datasets import load_dataset

    ds = load_dataset(source, data_dir, progress=progress, download=download)
    notes = dict(ds.notes)
    return ds.interactions, ds.catalog, notes.pop("missing_values", {}), notes, ds.name, ds


@app.command("report")
def report(
    source: str | None = typer.Argument(None, metavar="FILE_OR_DATASET", show_default=False,
                                        help="A log file (CSV, TSV, Parquet, JSONL) or a built-in data set name."),
    interactions: Path | None = typer.Option(None, "--interactions", "-i",
                                             help="A log file, as fit and evaluate take it (instead of "
                                             "FILE_OR_DATASET)."),
    dataset: str | None = typer.Option(None, "--dataset", "-d",
                                       help="A built-in data set, as fit and evaluate take it (instead of "
                                       "FILE_OR_DATASET)."),
    user: str = typer.Option("user", "--user", help="The user (customer) column of a file."),
    item: str = typer.Option("item", "--item", help="The item column of a file."),
    time: str = typer.Option("timestamp", "--time", help="The time column of a file (ISO strings or epoch seconds)."),
    quantity: str | None = typer.Option(None, "--quantity", help="An optional quantity column of a file."),
    drop_negative: bool = typer.Option(False, "--drop-negative",
                                       help="Drop rows with a negative quantity (returns) instead of failing."),
    catalog: Path | None = typer.Option(None, "--catalog", help="An optional catalogue file for a log file."),
    catalog_title: str | None = typer.Option(None, "--catalog-title", help="The catalogue's title column."),
    catalog_item: str | None = typer.Option(None, "--catalog-item",
                                            help="The catalogue's item column (default: --item)."),
    html: Path | None = typer.Option(None, "--html", help="Where to write the HTML report "
                                     "[default: reports/data-<name>.html]."),
    no_html: bool = typer.Option(False, "--no-html", help="Do not write the HTML report."),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON (machine-readable) instead of "
                                 "the terminal summary."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="The public data folder "
                                         "[default: $DISCOVERLY_DATA_DIR]."),
    download: bool = typer.Option(False, "--download", help="Download a data set that is not found (where it has "
                                  "a public address with a checksum)."),
) -> None:
    """Profile a log: counts, time span, missing values, heavy buyers, popularity skew, repeats; HTML with plots."""
    from discoverly.data.quality import profile

    given = [v for v in (source, str(interactions) if interactions is not None else None, dataset) if v is not None]
    if len(given) != 1:
        raise ConfigError("give one log: a file or data set name (discoverly data report log.csv), or "
                          f"--interactions FILE, or --dataset NAME; got {len(given)}")
    source = given[0]
    if interactions is not None and not interactions.exists():
        raise DataError(f"the interaction log file {str(interactions)!r} does not exist")
    if not no_html:  # the report's figures: a missing matplotlib is named now, not after loading the log
        require("matplotlib", extra="report", purpose="the HTML report (or pass --no-html)")
    progress = sys.stderr.isatty() and not as_json
    status = _console(stderr=True).status(f"loading {source}…") if progress else None
    if status is not None:
        status.start()
    try:
        log, cat, missing, cleaning, name, ds = _load(
            source, user=user, item=item, time=time, quantity=quantity, drop_negative=drop_negative,
            data_dir=data_dir, download=download, catalog=catalog, catalog_title=catalog_title, progress=progress,
            catalog_item=catalog_item, as_dataset=dataset is not None)
        if status is not None:
            status.update("profiling…")
        prof = profile(log, cat, name=name, missing_values=missing,
                       cleaning=cleaning | ({"synthetic": True} if ds is not None and ds.synthetic else {}))
        if ds is not None and ds.synthetic:
            prof = _mark_synthetic(prof)
        written = None
        if not no_html:
            if status is not None:
                status.update("writing the HTML report…")
            from discoverly.data.quality_report import quality_report

            written = quality_report(prof, html or Path("reports") / f"data-{name}.html")
    finally:
        if status is not None:
            status.stop()
    if as_json:
        out = prof.to_dict()
        out["html"] = str(written) if written else None
        typer.echo(dumps(out, default=str, indent=2))
        return
    _print_summary(prof, written)


def _mark_synthetic(prof: DataProfile) -> DataProfile:
    from dataclasses import replace

    return replace(prof, synthetic=True)


def _print_summary(prof: DataProfile, written: Path | None) -> None:
    from rich.table import Table

    from discoverly.data.quality_report import summary_rows

    console = _console()
    if prof.synthetic:
        console.print("[bold yellow]SYNTHETIC data[/] generated by discoverly's synthetic store, not a real shop")
    table = Table(title=f"Data report: {prof.name}", show_header=False, title_justify="left")
    table.add_column("figure", style="bold")
    table.add_column("value", justify="right")
    for row in summary_rows(prof):
        table.add_row(row["figure"], row["value"])
    console.print(table)
    dropped = prof.cleaning.get("dropped") or {}
    if dropped or prof.cleaning.get("rows_read"):
        steps = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in dropped.items())
        console.print(f"rows read {prof.cleaning.get('rows_read', 0):,}" + (f"; dropped: {steps}" if steps else ""))
    missing = {k: v for k, v in prof.missing_values.items() if v}
    console.print("missing values in the source: " +
                  (", ".join(f"{k} {v:,}" for k, v in missing.items()) if missing else "none"))
    if written is not None:
        console.print(f"HTML report: {written}")


@app.command("list")
def list_datasets(
    data_dir: Path | None = typer.Option(None, "--data-dir", help="The public data folder "
                                         "[default: $DISCOVERLY_DATA_DIR]."),
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """The built-in data sets, whether each is found (and where), and whether it can be downloaded."""
    from discoverly.data.datasets import DATASETS, find_dataset

    rows = []
    for spec in DATASETS.values():
        found = find_dataset(spec.name, data_dir)
        where = ("generated" if not spec.files else
                 (str(next(iter(found.values())).parent) if found else "not found"))
        rows.append({"name": spec.name, "title": spec.title, "found": found is not None, "location": where,
                     "files": list(spec.files), "download": spec.download.url if spec.download else None,
                     "license": spec.license})
    if as_json:
        typer.echo(dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(title="Built-in data sets", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("found", no_wrap=True)
    table.add_column("location", overflow="fold")
    table.add_column("download", no_wrap=True)
    table.add_column("title")
    for r in rows:
        table.add_row(str(r["name"]), "[green]yes[/]" if r["found"] else "[red]no[/]",
                      str(r["location"]), "yes" if r["download"] else "no", str(r["title"]))
    console = _console()
    console.print(table)
    if not all(r["found"] for r in rows):
        console.print("Data sets are looked up in --data-dir, else $DISCOVERLY_DATA_DIR, else the download cache.")
