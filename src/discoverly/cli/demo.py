"""``discoverly demo``: the main job, end to end, with nothing to start by hand.

1. Load Online Retail (both UCI files) from ``$DISCOVERLY_DATA_DIR`` or ``--data-dir``; if only the
   2010-2011 file is there, that one; otherwise try the download where a checked source exists;
   otherwise generate the synthetic store — and say so, loudly, everywhere the results appear.
2. Evaluate the recommenders with the time-based protocol at a cutoff (2011-11-01 for Online
   Retail), both variants, 95% bootstrap intervals; print the leaderboard and a paired test.
3. Write the HTML report (``reports/demo-<data>.html``).
4. Fit the item-to-item model on the whole log and print the related items of a few of the
   recent bestsellers, with their titles.

    discoverly demo                       # the real data when present
    discoverly demo --synthetic           # force the generated shop (fast)
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer

from discoverly.cli.inputs import LoadedInput, show_progress, split_list
from discoverly.dependencies import require
from discoverly.errors import ConfigError, DatasetNotFoundError

__all__ = ["DEMO_MODELS", "demo", "load_demo_data"]

log = logging.getLogger(__name__)

DEMO_MODELS = "popularity,bestsellers,buy-again,cosine,naive,corrected"
#: the cutoff of the issue's example for the real data
RETAIL_CUTOFF = "2011-11-01"


def load_demo_data(data_dir: Path | None, *, synthetic: bool, download: bool, progress: bool,
                   console: Any) -> LoadedInput:
    """Online Retail if it can be found (or fetched), else the synthetic store, clearly labelled."""
    from discoverly.data.datasets import load_dataset

    reasons: list[str] = []
    if not synthetic:
        for name in ("online-retail", "online-retail-2011"):
            try:
                ds = load_dataset(name, data_dir, progress=progress, download=download)
            except DatasetNotFoundError as exc:
                reasons.append(str(exc).split("\n")[0])
                continue
            return LoadedInput(ds.name, ds.interactions, ds.catalog, dict(ds.notes), ds.synthetic)
    ds = load_dataset("synthetic-store", rng=0)
    why = "--synthetic was given" if synthetic else "Online Retail was not found: " + " / ".join(reasons[:1])
    console.print(f"[bold yellow]NOTE: using SYNTHETIC data[/] (a generated gift shop, not a real log) because {why}")
    return LoadedInput(ds.name, ds.interactions, ds.catalog, dict(ds.notes), True)


def _related_table(data: LoadedInput, model: Any, n_items: int, k: int, console: Any) -> list[dict[str, Any]]:
    from rich.table import Table

    from discoverly.recommend.base import recent_bestsellers

    top, buyers = recent_bestsellers(data.interactions, window_days=14, limit=n_items)
    assert model.items is not None
    seeds = model.items.ids_of(top).tolist()
    recs = model.related(seeds, k)
    titles = data.catalog.titles if data.catalog is not None else (lambda items: [None for _ in items])
    out = []
    for seed, n_buy, row in zip(seeds, buyers.tolist(), recs, strict=True):
        seed_title = titles([seed])[0] or ""
        table = Table(title=f"customers who bought {seed} {seed_title} ({int(n_buy)} buyers in the last 14 days) "
                      "also bought", title_justify="left")
        for col, just in (("#", "right"), ("item", "left"), ("title", "left"), ("score", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        ids = [it for it, _ in row]
        for rank, ((it, score), title) in enumerate(zip(row, titles(ids), strict=True), start=1):
            table.add_row(str(rank), str(it), title or "", f"{score:.2f}")
        console.print(table)
        out.append({"item": seed, "title": seed_title, "related": [
            {"item": it, "title": t, "score": s} for (it, s), t in zip(row, titles(ids), strict=True)]})
    return out


def demo(
    data_dir: Path | None = typer.Option(None, help="Folder of the public data sets (default $DISCOVERLY_DATA_DIR)."),
    synthetic: bool = typer.Option(False, "--synthetic", help="Use the generated synthetic store, even if "
                                   "the real data are present."),
    download: bool = typer.Option(True, help="Try a checked download when the data are missing."),
    cutoff: str | None = typer.Option(None, help=f"The evaluation cutoff (default {RETAIL_CUTOFF} for Online "
                                      "Retail; four weeks before the end for other data)."),
    models: str = typer.Option(DEMO_MODELS, help="Comma-separated model names to evaluate."),
    related_model: str = typer.Option("corrected", help="The item-to-item model for the related-items lists."),
    k: int = typer.Option(6, "--k", "-k", help="The headline list length (HitRate@k)."),
    html: Path | None = typer.Option(None, help="Where to write the HTML report (default reports/demo-<data>.html)."),
    seed: int = typer.Option(0, help="Seed of the bootstrap intervals."),
) -> None:
    """Run the main job: load the data, evaluate the recommenders, write the report, show related items."""
    from rich.console import Console
    from rich.rule import Rule

    from discoverly.cli.evaluate import default_cutoff, print_leaderboard
    from discoverly.evaluate import evaluate, write_report
    from discoverly.evaluate.html import format_estimate
    from discoverly.recommend.registry import create

    t_start = time.perf_counter()
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    progress = show_progress()
    names = split_list(models, "--models")
    for name in names:
        create(name)  # unknown names fail now, before any work
    if not create(related_model).computes_related():
        raise ConfigError(f"--related-model {related_model!r} does not compute related items; use an item-to-item "
                          "model: corrected, cosine or naive")
    if k < 1:
        raise ConfigError(f"--k must be at least 1, got {k}")
    if html is not None:
        from discoverly.report import check_report_target

        check_report_target(html)  # a folder or a path below a file fails now, not after the run
    require("matplotlib", extra="report", purpose="the demo's HTML report")  # now, not after the evaluation
    console.print(Rule("1 · data"))
    data = load_demo_data(data_dir, synthetic=synthetic, download=download, progress=progress, console=console)
    label = " [bold yellow](SYNTHETIC)[/]" if data.synthetic else ""
    console.print(f"{data.name}{label}: {data.interactions!r}")
    dropped = data.notes.get("dropped")
    if isinstance(dropped, dict) and dropped:
        console.print("cleaning dropped: " + ", ".join(f"{key.replace('_', ' ')} {n:,}" for key, n in dropped.items()))

    console.print(Rule("2 · evaluation"))
    if cutoff is None:
        cutoff = RETAIL_CUTOFF if data.name.startswith("online-retail") else default_cutoff(data.interactions, 28)
    ev = evaluate(data.interactions, names, [cutoff], k=[k] + ([10] if k != 10 else []), rng=seed, dataset=data.name + (
        " (SYNTHETIC)" if data.synthetic else ""), notes=data.notes, progress=progress)
    print_leaderboard(ev, console, title_prefix="SYNTHETIC · " if data.synthetic else "")
    best = str(ev.leaderboard()["model"][0])
    for base in ("bestsellers", "popularity"):
        if base in ev.models and base != best:
            for v in ev.variants:
                t = ev.paired(best, base, variant=v)
                d = t.test.difference
                console.print(f"paired test, {v}: {best} − {base} on {t.metric} = "
                              f"{format_estimate(d.value, d.low, d.high)}, p = {t.test.p_value:.4f}")
            break

    console.print(Rule("3 · report"))
    target = html if html is not None else Path("reports") / f"demo-{data.name}.html"
    report = write_report(ev, target, title=f"discoverly demo: evaluation on {data.name}"
                          + (" — SYNTHETIC data" if data.synthetic else ""))
    console.print(f"HTML report: {report}")

    console.print(Rule("4 · related items (fitted on the whole log)"))
    model = create(related_model)
    with console.status(f"fitting {related_model} on {len(data.interactions):,} events") if progress else nullcontext():
        model.fit(data.interactions)
    _related_table(data, model, n_items=3, k=5, console=console)
    console.print(Rule())
    console.print(f"done in {time.perf_counter() - t_start:.0f}s" + (" — on SYNTHETIC data" if data.synthetic else ""))
