"""The ``discoverly`` command: one Typer group per area, each imported only when used."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click
import typer
import typer.core

from discoverly._version import __version__

__all__ = ["app", "main"]

#: command or group name -> (module, attribute, help) ; modules are imported lazily
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("discoverly.cli.demo", "demo", "Run the main job end to end: data, models, evaluation, report."),
    "data": ("discoverly.cli.data", "app", "Inspect interaction logs and data sets (report)."),
    "fit": ("discoverly.cli.fit", "fit", "Fit a recommender and save it as an artifact directory."),
    "recommend": ("discoverly.cli.fit", "recommend", "Recommendations or related items from a saved model."),
    "evaluate": ("discoverly.cli.evaluate", "evaluate", "Time-based offline evaluation with confidence intervals."),
    "serve": ("discoverly.cli.serve", "serve", "Start the HTTP service (embedded SQLite store by default)."),
    "train": ("discoverly.cli.serve", "train", "Retrain from the event store into a new model version."),
    "experiment": ("discoverly.cli.experiment", "app", "A/B experiments: analyze, plan."),
    "search": ("discoverly.cli.search", "app", "Product search: index, query, evaluate."),
    "graph": ("discoverly.cli.graph", "app", "Knowledge graph: build, rank, similar, export, report."),
    "privatize": ("discoverly.cli.privacy", "privatize", "Privatise a text column with metric differential privacy."),
}


class LazyGroup(typer.core.TyperGroup):
    """A click group that imports a sub-command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | {n for n in COMMANDS if _available(n)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and _available(cmd_name):
            return _LazyCommand(cmd_name)
        return super().get_command(ctx, cmd_name)


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(module) is not None


def _load(name: str) -> click.Command:
    module, attr, _ = COMMANDS[name]
    obj: Any = getattr(importlib.import_module(module), attr)
    if isinstance(obj, typer.Typer):
        cmd = typer.main.get_group(obj)
    elif isinstance(obj, click.Command):
        cmd = obj
    else:
        sub = typer.Typer(add_completion=False)
        sub.command(name=name)(obj)
        cmd = typer.main.get_command(sub)
    cmd.name = name
    return cmd


class _LazyCommand(click.Command):
    """Shows its help line without importing; loads the real command on invocation."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, help=COMMANDS[name][2], short_help=COMMANDS[name][2])
        self._real: click.Command | None = None

    def _get(self) -> click.Command:
        if self._real is None:
            self._real = _load(self.name or "")
        return self._real

    def main(self, *args: Any, **kwargs: Any) -> Any:
        return self._get().main(*args, **kwargs)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        return self._get().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self._get().invoke(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        return COMMANDS[self.name or ""][2]


app = typer.Typer(
    name="discoverly", cls=LazyGroup, add_completion=False, no_args_is_help=True,
    help="discoverly: related items, recommendations, search, knowledge graphs, private text, and "
         "the evaluation that proves them.",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"discoverly {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                help="More logging; -v also shows tracebacks on errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    ctx.obj = {"verbose": verbose}
    logging.basicConfig(level=logging.WARNING if verbose == 0 else (logging.INFO if verbose == 1 else logging.DEBUG),
                        format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app, mapping discoverly errors to one-line messages and exit codes."""
    from discoverly.errors import EXIT_CODES, DiscoverlyError

    args = sys.argv[1:] if argv is None else argv
    verbose = any(a in ("-v", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in args)
    try:
        app(args=args, standalone_mode=False, prog_name="discoverly")
    except DiscoverlyError as exc:
        if verbose:
            raise
        code = next(c for cls, c in EXIT_CODES.items() if isinstance(exc, cls))
        typer.echo(f"error: {exc}", err=True)
        if not verbose:
            typer.echo("(run with -v for the traceback)", err=True)
        return code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        typer.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


def entry() -> None:  # console_scripts entry point
    sys.exit(main())
