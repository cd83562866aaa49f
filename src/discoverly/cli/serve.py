"""``discoverly serve`` (the HTTP service) and ``discoverly train --from-store`` (a new model version)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

__all__ = ["serve", "train"]

log = logging.getLogger(__name__)


def serve(
    artifacts: Path = typer.Option(None, "--artifacts", "-a", help="Artifacts directory (models/<version>/ + "
                                   "CURRENT) or a single model directory. Default: the config's, else ./artifacts"),
    store: str = typer.Option(None, "--store", help="Event store: sqlite:///path.db, a file path, or "
                              "postgresql://user@host/db. Default: <artifacts>/events.db"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64, help="Worker processes."),
    config: Path = typer.Option(None, "--config", "-c", help="A JSON or TOML file with more settings "
                                "(experiments, limits, CORS); command-line options override it."),
    catalog: Path = typer.Option(None, "--catalog", help="Catalogue file (CSV/Parquet) with item and title "
                                 "columns, for titles in answers and the web UI."),
    admin_token: str = typer.Option(None, "--admin-token", envvar="DISCOVERLY_ADMIN_TOKEN",
                                    help="Bearer token for /admin endpoints (off without one)."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Start the HTTP service: related items, recommendations, events, experiments and the web UI.

    Example: discoverly serve --artifacts artifacts/ --port 8000 --workers 2
    """
    from discoverly.serve.allocator import limit_malloc_arenas

    arenas = limit_malloc_arenas()  # first, before this process (the worker of --workers 1) starts threads
    from discoverly.dependencies import require
    from discoverly.serve.asgi import ENV
    from discoverly.serve.config import load_config

    uvicorn = require("uvicorn", extra="serve", purpose="the HTTP service")
    if artifacts is None and config is None:
        artifacts = Path("artifacts")
    cfg = load_config(config, artifacts=artifacts, store=store, catalog=catalog, admin_token=admin_token)
    # fail here, with a one-line message, rather than in every worker
    from discoverly.serve.state import ServiceState

    ServiceState(cfg).close()
    os.environ[ENV] = cfg.model_dump_json()
    typer.echo(f"discoverly serving {cfg.artifacts} on http://{host}:{port} (store: {_redacted(cfg.store_url)}, "
               f"{workers} worker(s)); web UI at http://{host}:{port}/ui", err=True)
    import signal

    # the service stops gracefully on SIGTERM by itself (uvicorn), then ends by that signal as a service
    # manager expects, not with the exit code 143 the batch commands end with
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if arenas is not None:  # the worker processes of --workers N have the limit from their start
        os.environ["MALLOC_ARENA_MAX"] = str(arenas)
    try:
        uvicorn.run("discoverly.serve.asgi:factory", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level, access_log=False)
    finally:
        if arenas is not None:
            os.environ.pop("MALLOC_ARENA_MAX", None)


def _redacted(url: str) -> str:
    from discoverly.serve.store.postgres import _redact

    return _redact(url)


def train(
    from_store: bool = typer.Option(False, "--from-store", help="Train on the events in the event store."),
    artifacts: Path = typer.Option(Path("artifacts"), "--artifacts", "-a", help="Artifacts directory to publish "
                                   "the new version into (models/<version>/)."),
    store: str = typer.Option(None, "--store", help="Event store URL (default: <artifacts>/events.db)."),
    model: str = typer.Option(None, "--model", "-m", help="Registry model name (e.g. corrected, bestsellers). "
                              "Default: the model (and settings) of the current version."),
    types: str = typer.Option("purchase", "--types", help="Comma-separated event types to train on."),
    interactions: Path = typer.Option(None, "--interactions", "-i", help="Also train on this log file (the history "
                                      "before the store), CSV/Parquet with --user/--item/--time columns."),
    user: str = typer.Option("user", "--user", help="User column of --interactions."),
    item: str = typer.Option("item", "--item", help="Item column of --interactions."),
    time: str = typer.Option("timestamp", "--time", help="Time column of --interactions."),
    version: str = typer.Option(None, "--version", help="Name of the new version (default: next vNNNN)."),
    activate: bool = typer.Option(True, "--activate/--no-activate", help="Make it the served version "
                                  "(running workers pick it up within a second)."),
) -> None:
    """Retrain into a new model version while the service keeps answering.

    Example: discoverly train --from-store --artifacts artifacts/
    """
    from discoverly.serve.training import train_from_store

    if not from_store and interactions is None:
        raise typer.BadParameter("give --from-store (and/or --interactions FILE) to say what to train on")
    result = train_from_store(artifacts, store=store, model=model,
                              types=[t.strip() for t in types.split(",") if t.strip()],
                              interactions=interactions, columns={"user": user, "item": item, "time": time},
                              version=version, activate=activate, use_store=from_store)
    typer.echo(f"published model version {result.version} ({result.model}, {result.events:,} events, "
               f"{result.seconds:.1f}s){' and made it current' if activate else ''}")
