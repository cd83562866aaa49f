"""ASGI middleware: request body size limits, request metrics, ``HEAD`` wherever ``GET`` answers, and the
headers every answer carries (plain ASGI, no per-request tasks)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from discoverly.serve.metrics import Metrics

__all__ = ["BodyLimit", "RequestMetrics", "NoSniff", "CacheControl", "HeadAsGet", "NO_STORE", "STATIC", "HEAD_KEY"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (``limits`` overrides it per path prefix)."""

    def __init__(self, app: ASGIApp, limit: int, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.limits = sorted((limits or {}).items(), key=lambda kv: -len(kv[0]))

    def _limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > limit:
                    await _too_large(send, limit)
                    return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        # read the whole body first (it is at most `limit` bytes), then hand it on
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await _too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"type": "about:blank", "title": "Payload Too Large", "status": 413,
                       "detail": f"the request body is larger than the limit of {limit:,} bytes; "
                                 "send fewer events per request"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class NoSniff:
    """``X-Content-Type-Options: nosniff`` on every answer: a browser renders a JSON or text answer that
    carries an id like ``<script>…`` as what it is labelled, never as HTML."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-content-type-options", b"nosniff")]
            await send(message)

        await self.app(scope, receive, send_with_header)


#: the Cache-Control of every answer but static files: answers are personal (a customer's recommendations,
#: their experiment arm), need the admin token, or change with each model version, so no cache may keep them
NO_STORE = "no-store"
#: static files (the offline docs' scripts and styles): the same for every client until an upgrade
STATIC = "public, max-age=86400"


class CacheControl:
    """``Cache-Control`` on every answer that does not set its own: ``static`` under the path prefixes
    ``static_prefixes`` (mounted static files), :data:`NO_STORE` on everything else."""

    def __init__(self, app: ASGIApp, static_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.static_prefixes = static_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        value = (STATIC if any(path.startswith(p) for p in self.static_prefixes) else NO_STORE).encode()

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    message["headers"] = [*headers, (b"cache-control", value)]
            await send(message)

        await self.app(scope, receive, send_with_header)


#: set (True) in the scope of a ``HEAD`` answered as a ``GET``: nothing is shown to anyone, so no experiment
#: exposure is recorded (routers.recommend)
HEAD_KEY = "discoverly.head"


class HeadAsGet:
    """Answer ``HEAD`` wherever ``GET`` answers, with the same status and headers and no body (FastAPI's
    routes answer only the methods they declare: ``curl -I /ui`` and load balancers' health checks got 405).
    The application sees a ``GET``; the server keeps the ``HEAD`` of its own scope, and the routing's
    results are copied back to it, so the metrics count a ``HEAD`` of the route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return
        inner = {**scope, "method": "GET", HEAD_KEY: True}

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(inner, receive, send_without_body)
        finally:
            scope.update({k: v for k, v in inner.items() if k not in ("method", HEAD_KEY)})


#: methods counted by name; any other (a client may send any token) is counted as "other", so that the
#: metrics cannot grow without bound
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """Count requests and time them per route template (``/items/{item}/related``, not each id)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            path = getattr(_route(scope), "path_format", None) or "unmatched"  # /items/{item}/related, no ":path"
            method = scope.get("method", "")
            self.metrics.observe_request(method if method in _METHODS else "other", path, status,
                                         time.perf_counter() - t0)


def _route(scope: Scope) -> Any:
    """The route that answered: FastAPI's routes name themselves in the scope; Starlette's (``/docs``,
    ``/openapi.json``) and mounts (the offline docs' static files) only their endpoint, looked up here."""
    route = scope.get("route")
    endpoint = scope.get("endpoint")
    if route is not None or endpoint is None:
        return route
    for r in getattr(scope.get("app"), "routes", ()):
        if getattr(r, "endpoint", None) is endpoint or getattr(r, "app", None) is endpoint:
            return r
    return None
