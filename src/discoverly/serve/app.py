"""create_app: the FastAPI application for a :class:`~discoverly.serve.config.ServeConfig`.

The core routers (recommendations, events, admin, health, experiments, web UI) are always
mounted; each other capability (search, graph, privacy) is one router, mounted when its artifacts
are configured in ``config.capabilities``::

    from discoverly.serve import ServeConfig, create_app
    app = create_app(ServeConfig(artifacts="artifacts/"))       # uvicorn.run(app)
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from discoverly._version import __version__
from discoverly.dependencies import require
from discoverly.errors import ConfigError
from discoverly.serve.config import ServeConfig
from discoverly.serve.store import EventStore

__all__ = ["create_app", "CAPABILITY_ROUTERS"]

log = logging.getLogger(__name__)

#: capability name -> module exposing ``create_router(path: Path, state: ServiceState) -> APIRouter``
CAPABILITY_ROUTERS: dict[str, str] = {
    "search": "discoverly.serve.routers.search",
    "graph": "discoverly.serve.routers.graph",
    "privacy": "discoverly.serve.routers.privacy",
}


def create_app(config: ServeConfig, *, clock: Callable[[], float] = time.time, store: EventStore | None = None,
               watch: bool = True) -> Any:
    """The service as an ASGI app. ``clock`` (epoch seconds) is the server's notion of now (tests
    inject one); ``store`` overrides the configured event store; ``watch`` follows ``CURRENT``."""
    require("fastapi", extra="serve", purpose="the HTTP service")
    from fastapi import Depends, FastAPI
    from fastapi.middleware.cors import CORSMiddleware
    from starlette.routing import Mount

    from discoverly.serve.middleware import BodyLimit, CacheControl, HeadAsGet, NoSniff, RequestMetrics
    from discoverly.serve.problems import install_problem_handlers, install_problem_schema
    from discoverly.serve.routers import admin, events, experiments, health, recommend
    from discoverly.serve.routers.deps import utf8_address
    from discoverly.serve.state import ServiceState

    state = ServiceState(config, clock=clock, store=store)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if watch:
            state.start_watching(config.reload_poll_seconds)
        try:
            yield
        finally:
            state.close()

    # /docs and /redoc serve Swagger UI and ReDoc from the installed package, not from a CDN, so they
    # work on a machine without internet.
    FastAPIOffline = require("fastapi_offline", extra="serve", purpose="the HTTP service's /docs").FastAPIOffline
    app = FastAPIOffline(title="discoverly", version=__version__, lifespan=lifespan,
                         dependencies=[Depends(utf8_address)],
                         description="Related items, recommendations, durable event ingestion, model versions "
                                     "and A/B experiments. Errors are RFC 9457 problem documents.")
    app.state.service = state
    if config.ui:  # errors of the web pages are pages too
        from discoverly.serve.ui.pages import error_page

        install_problem_handlers(app, pages=error_page)
    else:
        install_problem_handlers(app)
    install_problem_schema(app)
    for module in (recommend, events, admin, health, experiments):
        app.include_router(module.router)
    for name, path in config.capabilities.items():
        if name not in CAPABILITY_ROUTERS:
            raise ConfigError(f"unknown capability {name!r}; known: {', '.join(CAPABILITY_ROUTERS)}")
        try:
            mod = importlib.import_module(CAPABILITY_ROUTERS[name])
        except ModuleNotFoundError as exc:
            raise ConfigError(f"the {name!r} capability has no HTTP router in this version of discoverly") from exc
        app.include_router(mod.create_router(path, state))
        log.info("mounted the %s router (%s)", name, path)
    if config.ui:
        from discoverly.serve.ui.pages import router as ui_router

        app.include_router(ui_router)
    app.add_middleware(HeadAsGet)  # type: ignore[arg-type]  # innermost: the routes see a GET
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"])
    app.add_middleware(BodyLimit, limit=config.max_body_bytes,  # type: ignore[arg-type]
                       limits={"/admin/events": config.max_bulk_bytes})
    app.add_middleware(RequestMetrics, metrics=state.metrics)  # type: ignore[arg-type]
    app.add_middleware(NoSniff)  # type: ignore[arg-type]  # added last: also on a 413
    static = tuple(r.path + "/" for r in app.routes if isinstance(r, Mount))  # the offline docs' files
    app.add_middleware(CacheControl, static_prefixes=static)  # type: ignore[arg-type]
    return app
