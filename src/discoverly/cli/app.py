"""The ``discoverly`` command: one Typer group or command per area.

Each area's CLI module imports only typer and discoverly's light core at import time; heavy
libraries (torch, faiss, sentence-transformers, LightGBM, implicit, Spark) are imported inside the
command functions, so ``discoverly --help`` stays fast (a test checks it).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import typer

from discoverly._version import __version__

__all__ = ["app", "main"]

#: command or group name -> (module, attribute, help); a module not written yet is simply skipped
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


app = typer.Typer(
    name="discoverly", add_completion=False, no_args_is_help=True,
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


def _register() -> None:
    for name, (module, attr, help_text) in COMMANDS.items():
        if importlib.util.find_spec(module) is None:
            continue
        obj: Any = getattr(importlib.import_module(module), attr)
        if isinstance(obj, typer.Typer):
            app.add_typer(obj, name=name, help=help_text)
        else:
            app.command(name=name, help=help_text)(obj)


_register()


#: the exit code after SIGTERM (what a job scheduler sends): 128 + 15, as a shell reports it
EXIT_TERMINATED = 128 + signal.SIGTERM


def _terminated(signum: int, frame: FrameType | None) -> None:
    # an exception, not the default sudden death: the code running cleans up (an artifact or a report
    # being written deletes its temporary copy; what was at --out stays as it was)
    raise SystemExit(EXIT_TERMINATED)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app, mapping discoverly errors to one-line messages and exit codes;
    Ctrl-C exits with 130 and SIGTERM with 143, each after the running command cleaned up."""
    args = sys.argv[1:] if argv is None else argv
    restore = _tolerant_output()
    try:
        if threading.current_thread() is not threading.main_thread():  # signal handlers live in the main thread
            return _run(args)
        previous = signal.signal(signal.SIGTERM, _terminated)
        try:
            code = _run(args)
        finally:  # None: a handler installed outside Python
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    finally:
        restore()
    if code == EXIT_TERMINATED:
        typer.echo("terminated (SIGTERM)", err=True)
    return code


def _tolerant_output() -> Callable[[], None]:
    """Let standard output and error write any text: on a terminal or pipe whose encoding cannot hold
    a character (PYTHONIOENCODING=ascii, a cp1252 console), it becomes a ``\\xe9`` escape instead of
    ending the command in a UnicodeEncodeError traceback (item titles and ids are any text). Returns
    what puts the streams back."""
    changed = []
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # e.g. a stream already written to in another mode
                continue
            changed.append(stream)

    def restore() -> None:
        for stream in changed:
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="strict")

    return restore


def _run(args: list[str]) -> int:
    from discoverly.errors import EXIT_CODES, DiscoverlyError

    verbose = any(a in ("-v", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in args)
    try:
        app(args=args, prog_name="discoverly")
    except SystemExit as exc:  # click's standalone mode ends every run with SystemExit
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code == 130:  # typer turns Ctrl-C into exit 130 without a word
            typer.echo("interrupted", err=True)
        return code
    except DiscoverlyError as exc:
        if verbose:
            raise
        code = next(c for cls, c in EXIT_CODES.items() if isinstance(exc, cls))
        typer.echo(f"error: {exc}", err=True)
        if not verbose:
            typer.echo("(run with -v for the traceback)", err=True)
        return code
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


def entry() -> None:  # console_scripts entry point
    code = main()
    if code == EXIT_TERMINATED:  # cleaned up: now end by the signal, as a service manager or a parent expects
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    sys.exit(code)
