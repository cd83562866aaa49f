"""``discoverly experiment``: analyse an A/B experiment from the event store, and plan one."""

from __future__ import annotations

from pathlib import Path

import typer

from discoverly.cli.jsonout import dumps
from discoverly.dependencies import require

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="A/B experiments: analyze results from the event store; plan sample sizes.")


def _shares(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"--shares must look like control=0.5,treatment=0.5, got {text!r}") from None
    return out


@app.command()
def analyze(
    name: str = typer.Argument(..., help="The experiment's name."),
    config: Path = typer.Option(None, "--config", "-c", help="The service's config file (arms, shares, window)."),
    artifacts: Path = typer.Option(None, "--artifacts", "-a", help="Artifacts dir (its events.db is the default "
                                   "store)."),
    store: str = typer.Option(None, "--store", help="Event store URL (overrides the config)."),
    shares: str = typer.Option(None, "--shares", help="Expected shares, e.g. control=0.5,treatment=0.5 "
                               "(default: from the config, else equal)."),
    window_days: float = typer.Option(None, "--window-days", help="Outcome window after an exposure (default: the "
                                      "config's, else 7)."),
    control: str = typer.Option(None, "--control", help="The control arm (default: the first)."),
    as_json: bool = typer.Option(False, "--json", help="Print the analysis as JSON."),
    report: Path = typer.Option(None, "--report", help="Also write an HTML report with plots here."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap intervals."),
) -> None:
    """Conversion and revenue per arm with 95% CIs, differences with p-values, sample-ratio check."""
    from discoverly.errors import ConfigError
    from discoverly.evaluate.abtest import analyze_experiment
    from discoverly.serve.config import load_config
    from discoverly.serve.store import open_store

    expected = _shares(shares)
    if report is not None:
        from discoverly.report import check_report_target

        check_report_target(report)  # before the analysis prints, not after
        require("matplotlib", extra="report", purpose="the --report HTML")
    window = window_days
    url = store
    if config is not None or artifacts is not None:
        # with --store the artifacts folder does not matter (it only places the default events.db): a
        # config that leaves it to `serve --artifacts` still gives the arms, shares and window
        placeholder = Path(".") if store is not None and artifacts is None else None
        cfg = load_config(config, artifacts=artifacts or placeholder)
        url = url or cfg.store_url
        exp = next((e for e in cfg.experiments if e.name == name), None)
        if exp is not None:
            expected = expected or {a.name: a.share for a in exp.arms}
            window = window if window is not None else exp.window_days
    if url is None:
        raise ConfigError("say where the events are: --store URL, --artifacts DIR or --config FILE")
    window = 7.0 if window is None else window
    if not 0 < window < 36_500:
        raise ConfigError(f"--window-days must be a number of days > 0, got {window}")
    with open_store(url, create=False) as st:
        exposures = st.exposures(name)
        outcomes = st.outcomes(name, window_seconds=int(window * 86_400))
    result = analyze_experiment(exposures, outcomes, experiment=name, shares=expected, control=control, rng=seed)
    if as_json:
        # the service's GET /experiments/{name} shape (ready is false there until there is data)
        typer.echo(dumps(result.to_dict(), indent=2))
    else:
        typer.echo(result.to_text())
    if report is not None:
        from discoverly.evaluate.abtest_report import write_report

        write_report(result, report)
        typer.echo(f"report: {report}", err=True)


@app.command()
def plan(
    baseline: float = typer.Option(None, "--baseline", help="Control conversion rate, e.g. 0.05."),
    std: float = typer.Option(None, "--std", help="Standard deviation of a continuous metric (revenue/customer)."),
    n: int = typer.Option(None, "--n", help="Customers in the control arm: print the minimum detectable effect."),
    effect: float = typer.Option(None, "--effect", help="Absolute effect to detect: print the sample size."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level (two-sided)."),
    power: float = typer.Option(0.8, "--power", help="Power."),
    ratio: float = typer.Option(1.0, "--ratio", help="Treatment size / control size."),
) -> None:
    """Minimum detectable effect for a sample size (--n), or sample size for an effect (--effect).

    Example: discoverly experiment plan --baseline 0.05 --n 10000
    """
    from discoverly.errors import ConfigError
    from discoverly.evaluate.abtest import minimum_detectable_effect, sample_size

    if (n is None) == (effect is None):
        raise ConfigError("give exactly one of --n (for the minimum detectable effect) or --effect (for the "
                          "sample size)")
    if (baseline is None) == (std is None):  # the library's message names its parameters, not these flags
        raise ConfigError("give exactly one of --baseline (the control's conversion rate, e.g. 0.05) or --std (the "
                          "standard deviation of a continuous metric such as revenue per customer)")
    if n is not None and n < 2:
        raise ConfigError(f"--n (customers in the control arm) must be at least 2, got {n}")
    if n is not None:
        mde = minimum_detectable_effect(n, baseline=baseline, std=std, alpha=alpha, power=power, ratio=ratio)
        rel = f" ({mde / baseline:.1%} relative)" if baseline else ""
        typer.echo(f"minimum detectable effect with {n:,} + {int(n * ratio):,} customers: {mde:.5f}{rel} "
                   f"(alpha {alpha}, power {power})")
    else:
        size = sample_size(effect, baseline=baseline, std=std, alpha=alpha, power=power, ratio=ratio)
        typer.echo(f"customers needed to detect {effect:+g}: {size:,} in control + {int(size * ratio):,} in "
                   f"treatment (alpha {alpha}, power {power})")


@app.command("list")
def list_experiments(
    store: str = typer.Option(None, "--store", help="Event store URL."),
    artifacts: Path = typer.Option(None, "--artifacts", "-a", help="Artifacts dir (its events.db)."),
) -> None:
    """Experiments with recorded exposures in the store."""
    from discoverly.errors import ConfigError
    from discoverly.serve.store import open_store

    url = store or (f"sqlite:///{(artifacts / 'events.db').as_posix()}" if artifacts else None)
    if url is None:
        raise ConfigError("say where the events are: --store URL or --artifacts DIR")
    with open_store(url, create=False) as st:
        names = st.experiments()
    for name in names:
        typer.echo(name)
    if not names:  # standard output stays empty for scripts; a person learns why
        typer.echo(f"no experiment has recorded exposures in {url} yet", err=True)
