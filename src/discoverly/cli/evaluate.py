"""``discoverly evaluate``: the time-based offline evaluation, as a leaderboard with intervals.

Examples::

    discoverly evaluate --dataset online-retail --cutoff 2011-11-01 \\
        --models popularity,bestsellers,buy-again,cosine,naive,corrected --json
    discoverly evaluate --interactions events.csv --user customer --item sku --time ts \\
        --cutoff 2024-03-01 --models bestsellers,corrected
    discoverly evaluate --dataset complete-journey --cutoffs 2017-10-01,2017-11-01 --variant any-item

``--json`` prints ``{"models": [{"name", "fit_seconds", "metrics": {"HitRate@6": {"value", "ci"},
…}}, …]}`` for the primary variant (the first of ``--variant``) at the primary cutoff (the first
one given); each entry also has ``variants`` (every variant at the primary cutoff), ``cutoffs``
(every cutoff × variant) and, with several cutoffs, ``pooled``. See docs/evaluation.md.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from discoverly.cli.inputs import load_input, show_progress, split_list
from discoverly.cli.jsonout import dumps
from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError

if TYPE_CHECKING:
    from discoverly.evaluate.evaluation import Evaluation

__all__ = ["DEFAULT_MODELS", "evaluate", "print_leaderboard"]

#: the models of the issue's example, in its order
DEFAULT_MODELS = "popularity,bestsellers,buy-again,cosine,naive,corrected"

DAY = 86_400


def _check_models(names: list[str]) -> None:
    from discoverly.recommend.registry import MODELS, check_requirements

    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise ConfigError(f"unknown model name(s) {', '.join(map(repr, unknown))}; the known models are: "
                          f"{', '.join(MODELS)}")
    for name in names:  # a missing extra: now, not after loading the log and fitting the models before it
        check_requirements(name)


def _ks(value: str) -> list[int]:
    try:
        ks = [int(x) for x in split_list(value, "--k")]
    except ValueError:
        raise ConfigError(f"--k must be list lengths such as 6 or 6,10; got {value!r}") from None
    if min(ks) < 1:
        raise ConfigError(f"--k must be positive, got {value!r}")
    return ks


def default_cutoff(log: Any, window_days: float) -> str:
    """The last midnight that leaves a full window of events after it; a :class:`DataError` when
    the log is too short to hold any events before that midnight."""
    end = int(log.timestamp[-1])
    t = end - int(window_days * DAY)
    t -= t % DAY
    if t <= int(log.timestamp[0]):
        days = (end - int(log.timestamp[0])) / DAY
        raise DataError(f"the log spans {log.start:%Y-%m-%d %H:%M} .. {log.end:%Y-%m-%d %H:%M} ({days:.1f} days): too "
                        f"short for a default cutoff, which needs events before it and a full {window_days:g}-day "
                        "window after it. Give --cutoff DATE inside the log (and a shorter --window)")
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%d")


def _cutoff_list(cutoff: str | None, cutoffs: str | None) -> list[str]:
    return ([cutoff] if cutoff else []) + (split_list(cutoffs, "--cutoffs") if cutoffs else [])


def _parse_cutoff(c: str) -> str | int:
    """ISO date / date-time strings stay strings; a plain number is epoch seconds."""
    return int(float(c)) if re.fullmatch(r"\d+(\.\d+)?", c.strip()) else c.strip()


def _fmt(e: Any) -> str:
    from discoverly.evaluate.html import format_estimate

    return format_estimate(e.value, e.low, e.high)


def print_leaderboard(ev: Evaluation, console: Any, *, title_prefix: str = "") -> None:
    """Rich tables: one per variant at the primary cutoff, plus the pooled one with several cutoffs."""
    from rich.table import Table

    from discoverly.evaluate.evaluation import POOLED
    from discoverly.evaluate.html import format_estimate

    k0, k1 = ev.ks[0], ev.ks[-1]
    names = list(dict.fromkeys([f"HitRate@{k0}", f"Recall@{k1}", f"NDCG@{k1}", f"Coverage@{k0}"]))
    targets = [(ev.primary_cutoff, v) for v in ev.variants]
    if len(ev.cutoffs) > 1:
        targets += [(POOLED, v) for v in ev.variants]
    for cutoff, variant in targets:
        board = ev.leaderboard(cutoff, variant)
        users = next((d["n_users"] for d in ev.splits.values() if d["variant"] == variant
                      and d["cutoff"] == cutoff), None)
        where = "pooled over " + ", ".join(ev.cutoffs) if cutoff == POOLED else f"cutoff {cutoff}"
        extra = f", {users:,} test users" if isinstance(users, int) else ""
        table = Table(title=f"{title_prefix}{variant} · {where}{extra} · 95% CI", title_justify="left")
        table.add_column("model")
        shown = [n for n in names if n in board.columns]
        for n in shown:
            table.add_column(n, justify="right")
        table.add_column("fit s", justify="right")
        for r in board.to_dicts():
            cells = [format_estimate(r[n], r[f"{n} low"], r[f"{n} high"]) for n in shown]
            table.add_row(r["model"], *cells, f"{r['fit seconds']:.2f}")
        console.print(table)


def _compare_pair(compare: str, models: list[str]) -> tuple[str, str]:
    pair = split_list(compare, "--compare")
    if len(pair) != 2:
        raise ConfigError(f"--compare takes two model names A,B; got {compare!r}")
    for name in pair:
        if name not in models:
            raise ConfigError(f"--compare names {name!r}, which is not among --models ({', '.join(models)})")
    return pair[0], pair[1]


def _compare_pairs(ev: Evaluation, compare: str | None) -> list[tuple[str, str]]:
    if compare:
        return [_compare_pair(compare, ev.models)]
    ranked = [str(m) for m in ev.leaderboard()["model"]]
    best = ranked[0]
    # the best model against a baseline; when no other baseline is among the models, against the runner-up
    against = [b for b in ("bestsellers", "popularity") if b in ev.models and b != best] + ranked[1:2]
    return [(best, against[0])] if against else []


def evaluate(
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="A built-in data set: online-retail, "
                                       "online-retail-2011, complete-journey, movielens-100k, synthetic-store."),
    interactions: Path | None = typer.Option(None, "--interactions", "-i",
                                             help="A log file instead: CSV, TSV, Parquet or JSONL."),
    user: str = typer.Option("user", help="The log's user column."),
    item: str = typer.Option("item", help="The log's item column."),
    time: str = typer.Option("timestamp", help="The log's time column (ISO strings, datetimes or epoch seconds)."),
    quantity: str | None = typer.Option(None, help="The log's quantity column, if any."),
    drop_negative: bool = typer.Option(False, "--drop-negative",
                                       help="Drop rows with a negative quantity (returns) instead of failing."),
    data_dir: Path | None = typer.Option(None, help="Folder of the public data sets "
                                         "(default: $DISCOVERLY_DATA_DIR)."),
    download: bool = typer.Option(False, help="Download a missing data set where a checked source exists."),
    cutoff: str | None = typer.Option(None, help="The cutoff date T (ISO date or epoch seconds). Default: the "
                                      "last date with a full window after it."),
    cutoffs: str | None = typer.Option(None, help="Several cutoffs, comma-separated (pooled summary too)."),
    window: float = typer.Option(14.0, help="Days after the cutoff whose purchases are the targets."),
    variant: str = typer.Option("both", help="new-items, any-item or both (the first is the primary one)."),
    k: str = typer.Option("6,10", "--k", "-k", help="List lengths to measure, comma-separated; the first is the "
                          "headline (HitRate@6)."),
    models: str = typer.Option(DEFAULT_MODELS, help="Comma-separated model names (see the registry)."),
    html: Path | None = typer.Option(None, help="Where to write the HTML report "
                                     "(default reports/evaluate-<name>.html)."),
    no_html: bool = typer.Option(False, "--no-html", help="Do not write the HTML report."),
    seed: int = typer.Option(0, help="Seed of the bootstrap intervals and permutation tests."),
    n_boot: int = typer.Option(2000, help="Bootstrap resamples per interval."),
    compare: str | None = typer.Option(None, help="Paired test between two models, A,B (default: the best "
                                       "model against bestsellers, else popularity, else the runner-up)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
) -> None:
    """Fit each model on the events before the cutoff; measure HitRate@6, Recall, NDCG and coverage
    on the users who come back in the window, with 95% bootstrap intervals and paired tests."""
    from rich.console import Console

    from discoverly.evaluate import evaluate as run_evaluation
    from discoverly.evaluate import write_report
    from discoverly.evaluate.evaluation import json_default

    # wide enough for "0.304 [0.269, 0.339]" cells also when the output is piped to a file
    console = Console(stderr=as_json, highlight=False, width=None if sys.stderr.isatty() else 150)
    names = split_list(models, "--models")
    _check_models(names)
    ks = _ks(k)
    if not 0 < window < math.inf:  # NaN too (it compares false)
        raise ConfigError(f"--window must be a positive number of days, got {window:g}")
    if compare:
        _compare_pair(compare, names)  # before the models are fitted, not after
    if html is not None and not no_html:
        from discoverly.report import check_report_target

        check_report_target(html)  # a folder or a path below a file fails now, not after the run
    if not no_html:  # the report's figures: a missing matplotlib is named now, not after the run
        require("matplotlib", extra="report", purpose="the HTML report (or pass --no-html)")
    from discoverly.evaluate.protocol import parse_variants

    variants = parse_variants(variant)
    progress = show_progress()
    data = load_input(dataset=dataset, interactions=interactions, user=user, item=item, time=time,
                      quantity=quantity, drop_negative=drop_negative, data_dir=data_dir, download=download,
                      progress=progress)
    if data.synthetic:
        console.print("[bold yellow]note:[/] the data are SYNTHETIC (generated), not a real log")
    cuts: list[str | int] = [_parse_cutoff(c) for c in _cutoff_list(cutoff, cutoffs)]
    if not cuts:
        cuts = [default_cutoff(data.interactions, window)]
        console.print(f"no --cutoff given: using {cuts[0]}, the last date with a full {window:g}-day window after it")
    if not as_json:
        console.print(f"[bold]{data.name}[/]: {data.interactions!r}")
    ev = run_evaluation(data.interactions, names, cuts, window_days=window, variants=list(variants), k=ks,
                        rng=seed, n_boot=n_boot, dataset=data.name, notes=data.notes, progress=progress)
    report = None
    if not no_html:
        target = html if html is not None else Path("reports") / f"evaluate-{data.name}.html"
        report = write_report(ev, target)
    pairs = _compare_pairs(ev, compare)
    tests = [ev.paired(a, b, cutoff=c, variant=v) for a, b in pairs for v in ev.variants
             for c in ([None] + (["pooled"] if len(ev.cutoffs) > 1 else []))]
    if as_json:
        out = ev.to_dict()
        out["synthetic"] = data.synthetic
        out["report"] = str(report) if report is not None else None
        out["compare"] = [t.to_dict() for t in tests]
        sys.stdout.write(dumps(out, indent=2, default=json_default) + "\n")
        return
    print_leaderboard(ev, console)
    for t in tests:
        d = t.test.difference
        verdict = "significant" if t.test.p_value < 0.05 else "not significant"
        console.print(f"{t.a} − {t.b} on {t.metric} ({t.variant}, {t.cutoff}): {_fmt(d)}, "
                      f"p = {t.test.p_value:.4f} ({verdict} at 5%)")
    if report is not None:
        console.print(f"report: {report}")
