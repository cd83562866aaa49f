"""Errors as the service answers them (docs/serve.md, "Errors"): which status each error class gets,
what a problem document holds, what an anonymous client is told of a 5xx, and which Content-Types are
read as JSON (checked against FastAPI's own rule). Mutation testing found these decisions unchecked."""

from __future__ import annotations

import email.message
from collections.abc import Callable
from typing import Any

import pytest

from discoverly import errors
from discoverly.serve.problems import is_json, problem, status_of
from discoverly.serve.store import IdempotencyConflictError, StoreUnavailableError

Client = Callable[..., Any]


def fastapi_reads_as_json(content_type: str) -> bool:
    """FastAPI's test (fastapi.routing): the main type is application and the subtype json or *+json."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


@pytest.mark.parametrize("ctype", [
    "application/json", "application/json; charset=utf-8", "application/json;charset=utf-8", "APPLICATION/JSON",
    "  application/json  ", "application/problem+json", "application/merge-patch+json; charset=utf-8",
    "application/vnd.api+JSON", "application/jsonx", "application/json+xml", "text/json", "text/plain",
    "text/plain+json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application",
])
def test_is_json_agrees_with_fastapi(ctype: str) -> None:
    assert is_json(ctype) == fastapi_reads_as_json(ctype), ctype


def test_a_json_suffix_type_is_read_as_json_by_the_service(make_client: Client) -> None:
    import json

    from serve_helpers import event

    c = make_client()
    r = c.post("/events", content=json.dumps(event()).encode(), headers={"content-type": "application/vnd.api+json"})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


@pytest.mark.parametrize(("exc", "code", "title"), [
    # the subclasses first: a conflict is a DataError, an unreachable store an ArtifactError
    (IdempotencyConflictError("k"), 409, "Idempotency key conflict"),
    (StoreUnavailableError("down"), 503, "Event store unavailable"),
    (errors.UnknownIdError("x"), 404, "Unknown id"),
    (errors.DataError("x"), 422, "Invalid data"),
    (errors.ConfigError("x"), 422, "Invalid parameters"),
    (errors.NotFittedError("x"), 503, "Model not ready"),
    (errors.ArtifactError("x"), 503, "Model artifacts unavailable"),
    (errors.MissingDependencyError("x"), 503, "Missing dependency"),
    (errors.ResourceLimitError("x"), 503, "Not enough memory"),
    (errors.DiscoverlyError("x"), 500, "Internal error"),
])
def test_each_error_class_has_its_documented_status(exc: errors.DiscoverlyError, code: int, title: str) -> None:
    assert status_of(exc) == (code, title)


def test_a_problem_document() -> None:
    import json

    r = problem(409, "Conflict", "what and how", errors=[{"loc": "body", "msg": "m", "type": "t"}],
                headers={"Retry-After": "3"})
    assert r.status_code == 409 and r.media_type == "application/problem+json"
    assert r.headers["retry-after"] == "3"
    assert json.loads(bytes(r.body)) == {"type": "about:blank", "title": "Conflict", "status": 409,
                                         "detail": "what and how",
                                         "errors": [{"loc": "body", "msg": "m", "type": "t"}]}
    assert "errors" not in json.loads(bytes(problem(404, "Unknown id", "x").body))


@pytest.mark.parametrize(("exc", "detail"), [
    (StoreUnavailableError("cannot open '/srv/shop/events.db'"), "event store unavailable; the error was logged. "
                                                                 "Retry later"),
    (errors.ArtifactError("cannot read '/srv/shop/models/v2'"), "model artifacts unavailable; the error was logged"),
    (errors.DiscoverlyError("bug at /srv/shop"), "internal error; the error was logged"),
])
def test_an_anonymous_5xx_says_only_what_failed(make_client: Client, monkeypatch: pytest.MonkeyPatch,
                                               exc: Exception, detail: str) -> None:
    c = make_client()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(c.app.state.service.store, "user_events", fail)
    r = c.get("/users/u1/recommendations")
    code, title = status_of(exc)  # type: ignore[arg-type]
    assert r.status_code == code and r.headers["content-type"] == "application/problem+json"
    # only an unreachable store "will mend by itself": the others do not say Retry later
    assert r.json() == {"type": "about:blank", "title": title, "status": code, "detail": detail}


def test_a_4xx_keeps_its_message(make_client: Client) -> None:
    r = make_client(max_k=5, default_k=5).get("/users/u1/recommendations", params={"k": 6})
    assert r.json() == {"type": "about:blank", "title": "Invalid parameters", "status": 422,
                        "detail": "k=6 is larger than the limit of 5; ask for at most k=5 (the service's max_k "
                                  "setting)"}


def test_a_single_field_error_is_the_detail_and_more_are_counted(make_client: Client) -> None:
    c = make_client()
    r = c.get("/users/u1/recommendations", params={"k": "abc"})
    body = r.json()
    assert r.status_code == 422 and body["title"] == "Invalid request" and len(body["errors"]) == 1
    assert body["detail"] == f"{body['errors'][0]['loc']}: {body['errors'][0]['msg']}"
    assert body["errors"][0]["loc"] == "query.k" and body["errors"][0]["type"] == "int_parsing"
    r = c.get("/users/u1/recommendations", params={"k": "abc", "exclude_seen": "perhaps"})
    assert len(r.json()["errors"]) == 2 and r.json()["detail"].endswith(" (and 1 more)"), r.json()


def test_http_errors_are_problems_with_their_standard_titles(make_client: Client) -> None:
    c = make_client()
    r = c.get("/nope")
    assert r.json() == {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "Not Found"}
    r = c.delete("/events")
    assert r.status_code == 405 and r.json()["title"] == "Method Not Allowed" and r.headers["allow"] == "POST"


def test_web_pages_answer_errors_as_html_and_only_under_ui(make_client: Client) -> None:
    c = make_client()
    for path in ("/ui/nope", "/ui/items/no-such-item"):
        r = c.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert r.headers["content-length"] == str(len(r.content)), path  # the page's length, not the problem's
    r = c.post("/ui")  # the page of a 405 keeps the Allow header of the problem it replaces
    assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
    assert r.headers["allow"] == "GET"
    r = c.get("/uinope")  # not a page of the UI: a problem document
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_a_json_body_sent_without_a_content_type_is_named(make_client: Client) -> None:
    """Python's ``requests.post(url, data=json.dumps(event))`` sends no Content-Type: FastAPI does not read
    the body as JSON, and the 422 said "body.EventIn: Input should be a valid dictionary or object to
    extract fields from" about a JSON object. It now says which header to send, as for a form type."""
    import json

    from serve_helpers import event

    c = make_client()
    for body in (event(), {"events": [event()]}):
        r = c.post("/events", content=json.dumps(body).encode())
        assert "content-type" not in r.request.headers
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == ("the body was sent without a Content-Type header; send JSON with the header "
                                      "'Content-Type: application/json' (curl: -H 'Content-Type: application/json')")
        assert r.json()["errors"][0]["loc"].startswith("body") and r.json()["title"] == "Invalid request"
    # a batch over the limit sent so gets the same answer: its count said "the batch has 3 events" before
    small = make_client(max_batch=2)
    r = small.post("/events", content=json.dumps({"events": [event() for _ in range(3)]}).encode())
    assert r.status_code == 422 and r.json()["detail"].startswith("the body was sent without a Content-Type header")
    labelled = small.post("/events", json={"events": [event() for _ in range(3)]})
    assert labelled.status_code == 422 and labelled.json()["detail"].startswith("the batch has 3 events")
    # no body at all is still a missing body, and a labelled body's own errors are still listed
    assert c.post("/events").json()["detail"] == "body: Field required"
    assert c.post("/events", json={"user": "u1"}).json()["detail"].startswith("body.EventIn.item: Field required")
    assert c.app.state.service.store.count() == 0


def test_the_cause_a_5xx_hides_is_logged_with_its_request(make_client: Client, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    import logging

    c = make_client()
    exc = StoreUnavailableError("cannot open '/srv/shop/events.db'")

    def fail(*args: Any, **kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(c.app.state.service.store, "user_events", fail)
    with caplog.at_level(logging.ERROR, logger="discoverly.serve.problems"):
        assert c.get("/users/u1/recommendations").status_code == 503
        assert c.get("/items/nope/related").status_code == 404  # a client's error is not the operator's
    records = [r for r in caplog.records if r.name == "discoverly.serve.problems"]
    assert [r.getMessage() for r in records] == [
        "GET /users/u1/recommendations failed: cannot open '/srv/shop/events.db'"]
    assert records[0].exc_info is not None and records[0].exc_info[1] is exc  # with its traceback


def test_the_type_sent_is_named_without_its_parameters(make_client: Client) -> None:
    import json

    from serve_helpers import event

    r = make_client().post("/events", content=json.dumps(event()).encode(),
                           headers={"content-type": "text/plain; charset=utf-8"})
    assert r.json()["detail"].startswith("the body was sent as 'text/plain'; send JSON with the header "), r.json()
