"""Errors to HTTP problem responses (RFC 9457), mapped once for the whole service.

::

    IdempotencyConflictError  -> 409      UnknownIdError -> 404
    DataError, ConfigError    -> 422      request validation -> 422 (with the field errors)
    StoreUnavailableError, NotFittedError, ArtifactError, MissingDependencyError,
    ResourceLimitError (a job over the memory limit) -> 503
    a body over the size limit -> 413     anything unexpected -> 500 (logged with its traceback)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from discoverly.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    DatasetNotFoundError,
    DiscoverlyError,
    MissingDependencyError,
    NotFittedError,
    ResourceLimitError,
    UnknownIdError,
)
from discoverly.serve.middleware import NO_STORE
from discoverly.serve.store.base import IdempotencyConflictError, StoreUnavailableError

__all__ = ["install_problem_handlers", "install_problem_schema", "problem", "is_json", "STATUS", "PROBLEM_TYPE"]

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"

#: field errors listed in a 422 (the detail counts them all): a 1 MB body of 90,000 unknown fields
#: was answered with 8 MB listing each one
MAX_ERRORS = 100

#: most specific first
STATUS: list[tuple[type[DiscoverlyError], int, str]] = [
    (IdempotencyConflictError, 409, "Idempotency key conflict"),
    (StoreUnavailableError, 503, "Event store unavailable"),
    (UnknownIdError, 404, "Unknown id"),
    (DataError, 422, "Invalid data"),
    (ConfigError, 422, "Invalid parameters"),
    (NotFittedError, 503, "Model not ready"),
    (ArtifactError, 503, "Model artifacts unavailable"),
    (MissingDependencyError, 503, "Missing dependency"),
    (DatasetNotFoundError, 503, "Data not found"),
    (ResourceLimitError, 503, "Not enough memory"),
    (DiscoverlyError, 500, "Internal error"),
]


def problem(status: int, title: str, detail: str, *, errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def status_of(exc: DiscoverlyError) -> tuple[int, str]:
    return next((code, title) for cls, code, title in STATUS if isinstance(exc, cls))


#: renders an error of a web page: (status, title, detail) -> an HTML response
PageRenderer = Callable[[int, str, str], Response]


def install_problem_handlers(app: FastAPI, *, pages: PageRenderer | None = None, page_prefix: str = "/ui") -> None:
    """Answer errors as problem JSON; with ``pages``, errors of the web pages (paths under
    ``page_prefix``) as HTML pages instead, so a person following a link sees a page, not JSON."""

    def answer(request: Request, response: JSONResponse) -> Response:
        path = request.url.path
        if pages is None or not (path == page_prefix or path.startswith(page_prefix + "/")):
            return response
        body = json.loads(bytes(response.body))
        page = pages(body["status"], body["title"], body["detail"])
        for name, value in response.headers.items():  # e.g. Allow on a 405, Retry-After on a 503
            if name not in ("content-type", "content-length"):
                page.headers[name] = value
        return page

    async def discoverly_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DiscoverlyError)
        code, title = status_of(exc)
        detail = str(exc)
        if code >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
            if not getattr(request.state, "admin", False):
                # the message is for the operator: it names server paths, hosts and database errors, which
                # an anonymous client must not see (an admin request has shown the token: require_admin)
                retry = ". Retry later" if isinstance(exc, StoreUnavailableError) else ""
                detail = f"{title.lower()}; the error was logged{retry}"
        return answer(request, problem(code, title, detail))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": _message(e),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        first = errors[0] if errors else {"loc": "", "msg": "invalid request"}
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        ctype = request.headers.get("content-type", "")
        unread = any(isinstance(e.get("input"), bytes) for e in exc.errors())  # the raw body: not parsed as JSON
        if ((ctype and not is_json(ctype)) or (not ctype and unread)) and any(
                e["loc"].startswith("body") for e in errors):
            # FastAPI reads a body as JSON only when it is labelled so (curl -d sends a form type; Python's
            # requests.post(url, data=...) sends no type): "Input should be a valid dictionary" would blame a
            # JSON object that was never parsed
            sent = f"sent as {ctype.split(';')[0]!r}" if ctype else "sent without a Content-Type header"
            msg = (f"the body was {sent}; send JSON with the header 'Content-Type: "
                   "application/json' (curl: -H 'Content-Type: application/json')")
            return answer(request, problem(422, "Invalid request", msg, errors=errors[:MAX_ERRORS]))
        return answer(request, problem(422, "Invalid request", f"{first['loc']}: {first['msg']}{more}",
                                       errors=errors[:MAX_ERRORS]))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, (UnicodeDecodeError, RecursionError, ValueError)):
            # FastAPI's "There was an error parsing the body": JSON that json.loads refuses other than by
            # a JSONDecodeError (the body size limit keeps all of these small)
            if isinstance(cause, UnicodeDecodeError):
                msg = f"the body is not UTF-8 text ({cause.reason} at byte {cause.start}); send JSON encoded as UTF-8"
            elif isinstance(cause, RecursionError):
                msg = "the JSON body is nested too deeply to read; send events as flat JSON objects"
            elif "integer string conversion" in str(cause):
                msg = ("the JSON body holds a number of more than 4,300 digits; integer ids and timestamps must fit "
                       "in 64 bits")
            else:
                msg = f"the JSON body cannot be read: {cause}"
            return answer(request, problem(422, "Invalid request", msg,
                                           errors=[{"loc": "body", "msg": msg, "type": "json_invalid"}]))
        return answer(request, problem(exc.status_code, _title(exc.status_code), str(exc.detail),
                                       headers=dict(exc.headers) if exc.headers else None))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        # Starlette answers this one outside the middleware that add these headers to every other answer
        return answer(request, problem(500, "Internal error", "the server failed unexpectedly; the error was logged",
                                       headers={"X-Content-Type-Options": "nosniff", "Cache-Control": NO_STORE}))

    app.add_exception_handler(DiscoverlyError, discoverly_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def install_problem_schema(app: FastAPI) -> None:
    """Declare the error answers in ``/openapi.json`` as they are sent: every 4xx/5xx response of an
    operation is an ``application/problem+json`` :class:`~discoverly.serve.schemas.Problem` (FastAPI
    would declare no body, or its own ``{"detail": [...]}`` validation error); an operation with
    parameters or a body may answer 422, one with a body 413; admin operations take a bearer token."""
    from discoverly.serve.schemas import Problem

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:  # FastAPI's schema, completed once (it caches it)
            _declare_problems(generate(), Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_problems(schema: dict[str, Any], problem_schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = problem_schema
    content = {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    admin = False
    for operations in schema.get("paths", {}).values():
        for op in operations.values():
            responses = op.setdefault("responses", {})
            if op.get("parameters") or op.get("requestBody"):
                responses.setdefault("422", {"description": "invalid request"})
            if op.get("requestBody"):
                responses.setdefault("413", {"description": "the body is over the size limit"})
            if "admin" in op.get("tags", []):
                admin = True
                op["security"] = [{"adminToken": []}]
                responses.setdefault("401", {"description": "no or wrong bearer token"})
                responses.setdefault("403", {"description": "admin endpoints are disabled (no admin token)"})
            for code, response in responses.items():
                if code[0] in "45":
                    response["content"] = content
                    if response.get("description") == "Validation Error":
                        response["description"] = "invalid request (the problem lists the fields in errors)"
    if admin:
        components.setdefault("securitySchemes", {})["adminToken"] = {
            "type": "http", "scheme": "bearer", "description": "the service's admin token (--admin-token)"}
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's own 422 body, replaced above
        if f'"#/components/schemas/{unused}"' not in json.dumps(schema):
            components["schemas"].pop(unused, None)


def _message(error: Any) -> str:
    """A validation error's message; malformed JSON also says why and where (FastAPI's own message is only
    "JSON decode error", under the location body.<character>)."""
    msg = str(error.get("msg", ""))
    reason = (error.get("ctx") or {}).get("error")
    if error.get("type") == "json_invalid" and reason:
        loc = error.get("loc", ())
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        msg = f"{msg}: {reason}{at}"
    return msg


def is_json(content_type: str) -> bool:
    """Whether FastAPI reads a body of this ``Content-Type`` as JSON (a body without one is read so only by
    FastAPI versions before its ``strict_content_type``, on by default)."""
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
