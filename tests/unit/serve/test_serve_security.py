"""Hostile or careless input to the service: bodies it cannot parse, error answers, response headers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import ADMIN, event

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


def test_server_errors_do_not_show_server_paths_to_anonymous_clients(make_client: Client, tmp_path: Path) -> None:
    """A 503 said "cannot open the SQLite event store '/srv/…/events.db': unable to open database file" to
    anyone (a PostgreSQL store's error names the host and the user); the log keeps the message. The
    experiment page showed it as "Not enough data to analyse yet: …" with status 200."""
    from discoverly.serve.config import ExperimentConfig

    exp = ExperimentConfig(name="exp1", arms=[{"name": "a", "version": "v0001", "share": 0.5},
                                              {"name": "b", "version": "v0002", "share": 0.5}])
    c = make_client(experiments=[exp])
    assert "Not enough data" in c.get("/ui/experiments/exp1").text  # no exposures yet: a note, not an error
    state = c.app.state.service
    state.store.close()
    state.store.path = tmp_path / "gone" / "events.db"  # reconnects fail
    for r in (c.post("/events", json=event()), c.get("/health"), c.get("/users/u1/recommendations"),
              c.get("/ui/users/u1"), c.get("/ui/experiments/exp1"), c.get("/experiments/exp1")):
        assert r.status_code == 503, r.text
        assert str(tmp_path) not in r.text and "database file" not in r.text, r.text
        assert "event store unavailable" in r.text and "log" in r.text and "Retry later" in r.text


def test_admin_server_errors_keep_their_cause(make_client: Client, artifacts: Path) -> None:
    """The admin token holder is the operator: a version that cannot load still says why."""
    import shutil

    shutil.copytree(artifacts / "models" / "v0002", artifacts / "models" / "v0009")
    (artifacts / "models" / "v0009" / "arrays.npz").write_bytes(b"not a zip")
    r = make_client().post("/admin/reload", json={"version": "v0009"}, headers=ADMIN)
    assert r.status_code == 503 and "v0009" in r.json()["detail"], r.text


def test_answers_are_not_sniffed_and_pages_run_no_script(make_client: Client) -> None:
    """No X-Content-Type-Options or Content-Security-Policy header was sent: the pages escape every id, and
    the policy makes a slip in that harmless (no script runs, no other site frames a page)."""
    c = make_client()
    for r in (c.get("/items/i1/related"), c.get("/ui"), c.get("/ui/items/<script>"), c.get("/docs"),
              c.post("/events", content=b"x" * 2_000_000, headers=JSON)):
        assert r.headers["x-content-type-options"] == "nosniff", (r.request.url, r.headers)
    for r in (c.get("/ui"), c.get("/ui/items/i1"), c.get("/ui/items/<script>"), c.get("/ui/nope")):
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
        assert "<script" not in r.text.lower()
    assert "content-security-policy" not in c.get("/docs").headers  # Swagger UI runs its (local) scripts


def test_an_unexpected_server_error_carries_the_headers_of_every_answer(make_client: Client,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette answers an exception no handler maps outside the middleware: the 500 had no nosniff
    (nor Cache-Control) header, which every other answer has."""
    c = make_client()

    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(c.app.state.service.store, "ping", broken)
    monkeypatch.setattr(c.app.state.service.store, "user_events", broken)
    for path in ("/health", "/ui/users/u1"):  # an API answer and a page
        r = c.get(path)
        assert r.status_code == 500 and "a bug" not in r.text, (path, r.text)
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store", path


def test_the_home_page_escapes_the_experiments_model_versions(make_client: Client) -> None:
    """An arm's version is any text in the config; a stopped experiment's is never loaded (nor checked),
    and the home page showed it as HTML."""
    from discoverly.serve.config import ExperimentConfig

    exp = ExperimentConfig(name="old", active=False, arms=[
        {"name": "a", "version": "v0001", "share": 0.5}, {"name": "b", "version": "<img src=x>", "share": 0.5}])
    r = make_client(experiments=[exp]).get("/ui")
    assert r.status_code == 200 and "<img" not in r.text and "&lt;img src=x&gt;" in r.text


def test_made_up_methods_do_not_grow_the_metrics(make_client: Client) -> None:
    """Each method name was its own series: a client sending random methods grew /metrics without bound
    (an ASGI server with the h11 parser passes any token on)."""
    c = make_client()
    for n in range(50):
        assert c.request(f"X{n}", "/health").status_code == 405
    text = c.get("/metrics").text
    assert 'method="other",route="/health",status="405"} 50' in text and 'method="X1"' not in text


def test_the_docs_pages_and_their_files_are_their_own_routes_in_the_metrics(make_client: Client) -> None:
    """/docs, /redoc, /openapi.json and the offline docs' files were counted as "unmatched", with 404s."""
    c = make_client()
    for path in ("/docs", "/redoc", "/openapi.json", "/static-offline-docs/swagger-ui.css",
                 "/static-offline-docs/redoc.standalone.js", "/nope"):
        c.get(path)
    text = c.get("/metrics").text
    for route in ("/docs", "/redoc", "/openapi.json"):
        assert f'method="GET",route="{route}",status="200"}} 1' in text, route
    assert 'route="/static-offline-docs/{path}",status="200"} 2' in text
    assert 'route="unmatched",status="404"} 1' in text


@pytest.mark.parametrize("url", ["/users/Zo%EB/recommendations", "/items/i1/related?user=Zo%EB",
                                 "/users/%ED%A0%80/recommendations", "/ui/users/Zo%EB", "/ui?user=Zo%EB"])
def test_ids_percent_encoded_in_another_encoding_than_utf8_are_refused(make_client: Client, url: str) -> None:
    """A Latin-1 client's 'Zo%EB' was read as the customer 'Zo\\ufffd' (as was every id with such bytes):
    bestsellers answered, and an experiment recorded all of them as one customer."""
    from discoverly.serve.config import ExperimentConfig

    exp = ExperimentConfig(name="exp1", endpoint="related", arms=[
        {"name": "a", "version": "v0001", "share": 0.5}, {"name": "b", "version": "v0002", "share": 0.5}])
    c = make_client(experiments=[exp])
    r = c.get(url)
    assert r.status_code == 422 and "UTF-8" in r.text and "Zo%C3%AB" in r.text, r.text
    assert c.app.state.service.store.exposures("exp1").height == 0
    assert c.get("/users/Zo%C3%AB/recommendations").json()["user"] == "Zoë"
    assert c.get("/items/i1/related", params={"user": "Zoë"}).status_code == 200


def test_a_422_lists_at_most_100_field_errors(make_client: Client) -> None:
    """A 1 MB body of 90,000 unknown fields was answered with 8 MB (every one listed), in 1.6 s."""
    body = "{" + ",".join(f'"a{i}": 1' for i in range(20_000)) + "}"
    r = make_client().post("/events", content=body.encode(), headers=JSON)
    assert r.status_code == 422 and len(r.json()["errors"]) == 100
    assert "(and 20003 more)" in r.json()["detail"]  # 20,000 unknown fields and 4 missing ones, less the first
    assert len(r.content) < 20_000


def _exposed_experiment(make_client: Client, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[float]]:
    """A client of a service with experiment e1 and 40 exposed customers, and its settable monotonic clock."""
    import discoverly.serve.routers.experiments as experiments

    exp = {"name": "e1", "arms": [{"name": "A", "version": "v0001", "share": 0.5},
                                  {"name": "B", "version": "v0003", "share": 0.5}]}
    c = make_client(experiments=[exp])
    for n in range(40):
        c.get(f"/users/p{n}/recommendations")
    now = [1000.0]
    monkeypatch.setattr(experiments.time, "monotonic", lambda: now[0])
    return c, now


def test_an_experiment_is_analysed_at_most_every_few_seconds(make_client: Client,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Anyone may GET /experiments/{name}, and each call read the store and ran 1,000 bootstrap
    resamples (~1 s of CPU at 50,000 customers): a loop of requests kept the workers busy."""
    import discoverly.serve.routers.experiments as experiments

    c, now = _exposed_experiment(make_client, monkeypatch)
    calls = []
    real = experiments.analyze_experiment
    monkeypatch.setattr(experiments, "analyze_experiment", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = c.get("/experiments/e1").json()
    assert c.get("/experiments/e1").json() == first and c.get("/ui/experiments/e1").status_code == 200
    assert len(calls) == 1  # the page and the second answer reused it
    c.get("/users/p99/recommendations")
    now[0] += experiments.ANALYSIS_SECONDS
    assert c.get("/experiments/e1").json() != first and len(calls) == 2  # then the new exposure counts


def test_while_an_analysis_is_made_other_requests_answer_with_the_previous(make_client: Client,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request for a stale analysis waited for the one being made, each holding a thread of the
    pool: 40 clients polling an experiment page stalled every other request of that worker."""
    import discoverly.serve.routers.experiments as experiments

    c, now = _exposed_experiment(make_client, monkeypatch)
    first = c.get("/experiments/e1").json()
    c.get("/users/p99/recommendations")
    now[0] += experiments.ANALYSIS_SECONDS
    with c.app.state.service.analysis_lock(("e1", 1000)):  # another request is making the new analysis
        assert c.get("/experiments/e1").json() == first  # answered at once, with the previous one
    assert c.get("/experiments/e1").json() != first


def test_a_store_that_is_down_is_not_asked_again_by_every_request(make_client: Client,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests for an experiment whose store was down waited in turn, each for its own failed attempt
    (with PostgreSQL's connect timeout, 40 pollers held the thread pool for minutes)."""
    import discoverly.serve.routers.experiments as experiments
    from discoverly.serve.store.base import StoreUnavailableError

    c, now = _exposed_experiment(make_client, monkeypatch)
    state = c.app.state.service
    attempts = []

    def down(*args: Any, **kwargs: Any) -> None:
        attempts.append(1)
        raise StoreUnavailableError("cannot reach the event store")

    monkeypatch.setattr(state.store, "exposures", down)
    assert [c.get("/experiments/e1").status_code for _ in range(3)] == [503, 503, 503]
    assert len(attempts) == 1
    now[0] += experiments.ANALYSIS_SECONDS
    assert c.get("/experiments/e1").status_code == 503 and len(attempts) == 2
    monkeypatch.undo()
    monkeypatch.setattr(experiments.time, "monotonic", lambda: now[0] + experiments.ANALYSIS_SECONDS)
    assert c.get("/experiments/e1").status_code == 200  # up again: answered once the error has aged
