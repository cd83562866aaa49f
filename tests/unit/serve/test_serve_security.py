"""Hostile or careless input to the service: bodies it cannot parse, error answers, response headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Client = Callable[..., Any]
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("body,fragment", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),  # a RecursionError in json.loads
    (b'{"events": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001, "nested too deeply"),
    (('{"user": ' + "9" * 5000 + ', "item": "i1", "type": "purchase", "timestamp": 1700000000, '
      '"idempotency_key": "k"}').encode(), "4,300 digits"),  # Python's limit on int() of a long string
])
def test_json_that_python_cannot_read_is_a_422_that_says_why(make_client: Client, body: bytes,
                                                              fragment: str) -> None:
    """Was a 400 'There was an error parsing the body' (the page promises 422 for malformed JSON)."""
    c = make_client()
    r = c.post("/events", content=body, headers=JSON)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert fragment in r.json()["detail"], r.text
    assert "set_int_max_str_digits" not in r.text  # advice for the server's code, not for the client
    assert c.app.state.service.store.count() == 0


def test_malformed_json_says_what_is_wrong_and_where(make_client: Client) -> None:
    r = make_client().post("/events", content=b'{"user": "u1", "item": ', headers=JSON)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["msg"] == "JSON decode error: Expecting value at character 23"  # was the first 3 words
    assert r.json()["detail"].startswith("body.23: JSON decode error: Expecting value")
