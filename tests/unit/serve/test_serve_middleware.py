"""The ASGI middleware on their own, with a recording app: the body limit at its edges and per path,
the 413 problem, and the headers every answer gets (docs/serve.md, "Limits and exposure" and "API").
Driven without a server or the service, so each decision is checked where it is made (mutation
testing: the limit's comparisons and the longest-prefix choice were unchecked)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from discoverly.serve.middleware import BodyLimit, CacheControl, HeadAsGet, NoSniff, RequestMetrics

Message = dict[str, Any]


class Recorder:
    """An ASGI app that reads the whole body, then answers 200 with what it read."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(dict(scope))
        body = b""
        while True:
            message = await receive()
            assert message["type"] == "http.request", message
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok:" + body})


def call(app: Any, *, method: str = "POST", path: str = "/events", chunks: list[bytes] | None = None,
         headers: list[tuple[bytes, bytes]] | None = None, scope: dict[str, Any] | None = None) -> list[Message]:
    """Run one request through ``app``; the messages it sent."""
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
               for i, c in enumerate(chunks)] if chunks else [{"type": "http.request", "body": b""}]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    full = {"type": "http", "method": method, "path": path, "headers": headers or [], **(scope or {})}
    asyncio.run(app(full, receive, send))
    return sent


def status(sent: list[Message]) -> int:
    return int(sent[0]["status"])


def header(sent: list[Message], name: bytes) -> list[bytes]:
    return [v for k, v in sent[0]["headers"] if k == name]


def length(n: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(n).encode())]


def test_a_body_of_exactly_the_limit_passes_and_one_byte_more_is_a_413() -> None:
    inner = Recorder()
    app = BodyLimit(inner, 10)
    assert status(call(app, chunks=[b"x" * 10], headers=length(10))) == 200
    assert inner.bodies == [b"x" * 10]
    sent = call(app, chunks=[b"x" * 11], headers=length(11))
    assert status(sent) == 413 and len(inner.bodies) == 1  # the app never saw it
    # without a Content-Length the body is counted as it streams, over every chunk
    assert status(call(app, chunks=[b"12345", b"", b"67890"])) == 200
    assert inner.bodies[-1] == b"1234567890"  # the app reads the whole body, in one piece
    assert status(call(app, chunks=[b"12345", b"678901"])) == 413
    assert len(inner.bodies) == 2


def test_the_413_is_a_problem_document_that_says_the_limit() -> None:
    sent = call(BodyLimit(Recorder(), 20_000), chunks=[b"x"], headers=length(20_001))
    assert status(sent) == 413
    assert header(sent, b"content-type") == [b"application/problem+json"]
    assert header(sent, b"connection") == [b"close"]  # the unread rest of the body is not waited for
    body = sent[1]["body"]
    assert header(sent, b"content-length") == [str(len(body)).encode()]
    assert json.loads(body) == {"type": "about:blank", "title": "Payload Too Large", "status": 413,
                                "detail": "the request body is larger than the limit of 20,000 bytes; "
                                          "send fewer events per request"}


@pytest.mark.parametrize("value", [b"abc", b"-1", b""])
def test_an_unreadable_or_negative_content_length_is_a_413(value: bytes) -> None:
    inner = Recorder()
    assert status(call(BodyLimit(inner, 10), chunks=[b"x"], headers=[(b"content-length", value)])) == 413
    assert inner.bodies == []


def test_the_longest_matching_path_prefix_sets_the_limit() -> None:
    app = BodyLimit(Recorder(), 10, {"/admin": 15, "/admin/events": 20})
    for path, limit in (("/events", 10), ("/admin/reload", 15), ("/admin/events", 20), ("/admin/eventsx", 20)):
        assert status(call(app, path=path, chunks=[b"x" * limit], headers=length(limit))) == 200, path
        assert status(call(app, path=path, chunks=[b"x" * (limit + 1)], headers=length(limit + 1))) == 413, path
        assert status(call(app, path=path, chunks=[b"x" * (limit + 1)])) == 413, path  # streamed too


def test_a_declared_length_over_the_limit_is_refused_whatever_the_method() -> None:
    inner = Recorder()
    app = BodyLimit(inner, 10)
    assert status(call(app, method="GET", path="/health", headers=length(11))) == 413
    # a GET's body is not read ahead: it reaches the app as it comes
    assert status(call(app, method="GET", path="/health", chunks=[b"abc"])) == 200 and inner.bodies == [b"abc"]
    for method in ("PUT", "PATCH"):
        assert status(call(app, method=method, chunks=[b"x" * 11])) == 413, method


def test_a_client_that_leaves_mid_body_gets_no_answer() -> None:
    inner = Recorder()
    app = BodyLimit(inner, 100)
    sent: list[Message] = []
    messages = [{"type": "http.request", "body": b"12", "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app({"type": "http", "method": "POST", "path": "/events", "headers": []}, receive, send))
    assert sent == [] and inner.bodies == []


def test_every_answer_gets_nosniff_and_cache_control_unless_it_set_its_own() -> None:
    sent = call(NoSniff(Recorder()))
    assert header(sent, b"x-content-type-options") == [b"nosniff"]
    app = CacheControl(Recorder(), static_prefixes=("/static-offline-docs/",))
    assert header(call(app, method="GET", path="/users/u1/recommendations"), b"cache-control") == [b"no-store"]
    assert header(call(app, method="GET", path="/static-offline-docs/redoc.js"), b"cache-control") == [
        b"public, max-age=86400"]
    # behind a proxy that mounts the service under a prefix, the path is matched without it
    assert header(call(app, method="GET", path="/shop/static-offline-docs/redoc.js",
                       scope={"root_path": "/shop"}), b"cache-control") == [b"public, max-age=86400"]
    assert header(call(app, method="GET", path="/shop/users/u1", scope={"root_path": "/shop"}),
                  b"cache-control") == [b"no-store"]

    async def own(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"Cache-Control", b"max-age=5")]})
        await send({"type": "http.response.body", "body": b""})

    sent = call(CacheControl(own))
    assert [v for k, v in sent[0]["headers"] if k.lower() == b"cache-control"] == [b"max-age=5"]


def test_a_head_is_answered_as_a_get_without_a_body() -> None:
    inner = Recorder()
    sent = call(HeadAsGet(inner), method="HEAD", path="/health")
    assert inner.scopes[0]["method"] == "GET" and inner.scopes[0]["discoverly.head"] is True
    assert status(sent) == 200 and sent[1]["body"] == b""
    sent = call(HeadAsGet(inner), method="GET", path="/health")
    assert "discoverly.head" not in inner.scopes[1] and sent[1]["body"] == b"ok:"


def test_request_metrics_count_an_app_that_fails_as_a_500() -> None:
    from discoverly.serve.metrics import Metrics

    metrics = Metrics()

    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        call(RequestMetrics(failing, metrics), method="GET", path="/health")
    call(RequestMetrics(Recorder(), metrics), method="BREW", path="/health")
    text = metrics.render()
    assert 'method="GET",route="unmatched",status="500"} 1' in text, text
    assert 'method="other",route="unmatched",status="200"} 1' in text, text


def test_other_scopes_pass_through_untouched() -> None:
    seen: list[tuple[Any, Any, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    from discoverly.serve.metrics import Metrics

    for middleware in (BodyLimit(app, 1), NoSniff(app), CacheControl(app), HeadAsGet(app),
                       RequestMetrics(app, Metrics())):
        scope = {"type": "lifespan"}
        asyncio.run(middleware(scope, receive, send))
        assert seen[-1] == (scope, receive, send), type(middleware).__name__


def test_a_413_and_an_empty_body_are_whole_answers() -> None:
    sent = call(BodyLimit(Recorder(), 1), chunks=[b"xx"], headers=length(2))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    # Content-Length: 0 is an empty body, not a bad length
    inner = Recorder()
    assert status(call(BodyLimit(inner, 10), chunks=[b""], headers=length(0))) == 200 and inner.bodies == [b""]


def test_messages_may_leave_out_body_and_more_body() -> None:
    """ASGI: a missing "body" is b"" and a missing "more_body" is False (the last message)."""
    inner = Recorder()
    app = BodyLimit(inner, 10)

    def run(messages: list[Message]) -> tuple[list[Message], list[Message]]:
        pending, sent = list(messages), []

        async def receive() -> Message:
            return pending.pop(0) if pending else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        asyncio.run(app({"type": "http", "method": "POST", "path": "/events", "headers": []}, receive, send))
        return pending, sent

    for messages in ([{"type": "http.request"}], [{"type": "http.request", "body": b"abc"}],
                     [{"type": "http.request", "more_body": True}, {"type": "http.request", "body": b"abc"}]):
        pending, sent = run(messages)
        assert status(sent) == 200 and not pending, messages
    assert inner.bodies == [b"", b"abc", b"abc"]


def test_the_body_is_handed_on_once_then_the_client_is_listened_to() -> None:
    received: list[Message] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        received.append(await receive())
        received.append(await receive())  # e.g. waiting for a disconnect while streaming an answer
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    call(BodyLimit(app, 10), chunks=[b"ab", b"c"])
    assert received == [{"type": "http.request", "body": b"abc", "more_body": False}, {"type": "http.disconnect"}]


def test_a_head_keeps_its_method_and_gets_the_routing_back() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["route"] = "the route"  # what the router sets in the scope it is given
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})

    scope: dict[str, Any] = {"type": "http", "method": "HEAD", "path": "/health", "headers": []}

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        pass

    asyncio.run(HeadAsGet(app)(scope, receive, send))
    assert scope["method"] == "HEAD" and "discoverly.head" not in scope and scope["route"] == "the route"


def test_request_metrics_label_the_route_template() -> None:
    from types import SimpleNamespace

    from discoverly.serve.metrics import Metrics

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["route"] = SimpleNamespace(path_format="/items/{item}/related")
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    metrics = Metrics()
    sent = call(RequestMetrics(app, metrics), method="GET", path="/items/A/12/related")
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]  # the answer goes on
    text = metrics.render()
    assert 'method="GET",route="/items/{item}/related",status="404"} 1' in text
    # the latency is this request's duration (a few microseconds here), not a clock reading
    seconds = float(text.split('_sum{worker="')[1].split("} ")[1].split()[0])
    assert 0 <= seconds < 5, seconds


def test_headers_are_added_to_those_of_the_answer() -> None:
    async def bare(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204})  # ASGI: headers may be left out
        await send({"type": "http.response.body", "body": b""})

    for app in (NoSniff(bare), CacheControl(bare)):
        assert status(call(app)) == 204
    assert call(NoSniff(Recorder()))[0]["headers"] == [(b"content-type", b"text/plain"),
                                                      (b"x-content-type-options", b"nosniff")]
    assert call(CacheControl(Recorder()))[0]["headers"] == [(b"content-type", b"text/plain"),
                                                           (b"cache-control", b"no-store")]
