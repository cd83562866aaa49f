"""The HTTP API in process (TestClient): answers, fallbacks, events, errors, admin, limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import ADMIN, DAY, T0, Clock, event

Client = Callable[..., Any]


def test_health_and_openapi(make_client: Client) -> None:
    c = make_client()
    h = c.get("/health").json()
    assert h["status"] == "ok" and h["version"] == "v0001" and h["store"] == "sqlite"
    head = c.head("/health")  # uptime checkers often send HEAD
    assert head.status_code == 200 and head.content == b""
    schema = c.get("/openapi.json").json()
    for path in ("/items/{item}/related", "/users/{user}/recommendations", "/events", "/admin/reload",
                 "/health", "/metrics"):
        assert path in schema["paths"], path


def test_interactive_docs_load_nothing_from_the_internet(make_client: Client) -> None:
    """/docs and /redoc used FastAPI's default pages, which fetch Swagger UI / ReDoc from a CDN:
    blank on a machine without internet. Every script and stylesheet now comes from the service."""
    import re

    c = make_client()
    for page in ("/docs", "/redoc"):
        r = c.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), page
        assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', r.text)
        assert assets, page
        assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], (page, assets)
        for asset in assets:
            if asset.endswith((".js", ".css")):
                got = c.get(asset)
                assert got.status_code == 200 and len(got.content) > 10_000, (page, asset)
    assert "/static-offline-docs/swagger-ui-bundle.js" not in c.get("/openapi.json").json()["paths"]


def test_openapi_declares_answers_and_problem_responses(make_client: Client) -> None:
    """The answers' models (related and recommendations were declared as a bare string) and the
    errors as they are sent: application/problem+json Problem documents, not FastAPI's
    {"detail": [...]} validation error nor no body at all."""
    c = make_client()
    schema = c.get("/openapi.json").json()
    paths = schema["paths"]

    def ok_ref(path: str, method: str = "get") -> str:
        return str(paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"].get("$ref"))

    assert ok_ref("/items/{item}/related").endswith("/RelatedOut")
    assert ok_ref("/users/{user}/recommendations").endswith("/RecommendationsOut")
    assert ok_ref("/events", "post").endswith("/IngestOut")
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    assert set(schema["components"]["schemas"]["Problem"]["required"]) == {"title", "status", "detail"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, ops in paths.items():
        for method, op in ops.items():
            for code, response in op["responses"].items():
                if code >= "400":
                    assert response["content"] == {"application/problem+json": {"schema": problem_ref}}, \
                        (method, path, code)
    assert {"401", "403", "404", "422", "503"} <= set(paths["/admin/reload"]["post"]["responses"])
    assert {"401", "403", "413", "422"} <= set(paths["/admin/events"]["post"]["responses"])
    assert paths["/admin/reload"]["post"]["security"] == [{"adminToken": []}]
    assert schema["components"]["securitySchemes"]["adminToken"]["scheme"] == "bearer"
    # what is sent matches what is declared
    r = c.get("/items/nope/related")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert set(r.json()) <= set(schema["components"]["schemas"]["Problem"]["properties"])
    body = c.get("/items/i1/related", params={"k": 3}).json()
    assert set(body) == set(schema["components"]["schemas"]["RelatedOut"]["properties"])


def test_recommendations_carry_titles_version_and_scores(make_client: Client) -> None:
    c = make_client()
    r = c.get("/users/u1/recommendations", params={"k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == "v0001" and body["fallback"] is False and body["experiment"] is None
    assert [i["rank"] for i in body["items"]] == [1, 2, 3, 4, 5]
    assert all(i["title"] == f"Product {i['item'][1:]}" for i in body["items"])
    ids = [i["item"] for i in body["items"]]
    assert len(set(ids)) == 5


def test_unknown_user_gets_labelled_bestsellers(make_client: Client) -> None:
    c = make_client()
    body = c.get("/users/nobody-knows-me/recommendations", params={"k": 4}).json()
    assert body["fallback"] is True and len(body["items"]) == 4


def test_seen_items_are_excluded_by_default(make_client: Client, log: Any) -> None:
    c = make_client()
    seen = set(log.items.ids_of(log.item_index[log.user_index == log.users.index("u1")]).tolist())
    ids = [i["item"] for i in c.get("/users/u1/recommendations", params={"k": 10}).json()["items"]]
    assert not seen & set(ids)
    ids_all = [i["item"] for i in c.get("/users/u1/recommendations",
                                        params={"k": 10, "exclude_seen": "false"}).json()["items"]]
    assert seen & set(ids_all)


def test_new_events_change_recommendations_at_once(make_client: Client, clock: Clock) -> None:
    c = make_client()
    before = [i["item"] for i in c.get("/users/brand-new/recommendations", params={"k": 3}).json()["items"]]
    top = before[0]
    r = c.post("/events", json=event("brand-new", top, t=int(clock.now) - 10))
    assert r.status_code == 200 and r.json() == {"accepted": 1, "duplicates": 0}
    after = c.get("/users/brand-new/recommendations", params={"k": 3}).json()
    assert after["fresh_events"] == 1 and after["fallback"] is False
    assert top not in [i["item"] for i in after["items"]]  # bought now, so excluded


def test_related_unknown_item_is_404_and_known_item_answers(make_client: Client) -> None:
    c = make_client()
    r = c.get("/items/no-such-item/related")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "no-such-item" in r.json()["detail"]
    body = c.get("/items/i3/related", params={"k": 5}).json()
    assert body["title"] == "Product 3" and len(body["items"]) == 5
    assert "i3" not in [i["item"] for i in body["items"]]
    # a bestseller model has no related lists: the answer is labelled as the fallback
    assert body["fallback"] is True and {i["source"] for i in body["items"]} == {"bestsellers"}


def test_item_to_item_related_and_fresh_recommendations(make_client: Client, clock: Clock) -> None:
    """With an item-to-item model, a complement is related, and a new customer's first purchase
    turns the bestseller fallback into item-to-item recommendations at once."""
    c = make_client()
    assert c.post("/admin/reload", json={"version": "v0003"}, headers=ADMIN).status_code == 200
    rel = c.get("/items/i4/related", params={"k": 3}).json()
    assert rel["version"] == "v0003" and rel["fallback"] is False
    assert rel["items"][0]["item"] == "i5" and rel["items"][0]["source"] == "model"
    assert rel["items"][0]["title"] == "Product 5"
    before = c.get("/users/first-timer/recommendations", params={"k": 3}).json()
    assert before["fallback"] is True and {i["source"] for i in before["items"]} == {"bestsellers"}
    c.post("/events", json=event("first-timer", "i4", t=int(clock.now) - 60))
    after = c.get("/users/first-timer/recommendations", params={"k": 3}).json()
    assert after["fallback"] is False and after["fresh_events"] == 1
    assert after["items"][0]["item"] == "i5" and after["items"][0]["source"] == "model"


@pytest.mark.parametrize("params", [{"k": 0}, {"k": -1}, {"k": "abc"}, {"k": 100_000}, {"k": 101}])
def test_bad_k_is_422(make_client: Client, params: dict[str, Any]) -> None:
    r = make_client().get("/users/u1/recommendations", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["status"] == 422 and r.json()["detail"]


def test_batch_is_atomic_and_idempotent(make_client: Client) -> None:
    c = make_client()
    batch = {"events": [event(key=f"b{i}", item=f"i{i}") for i in range(5)]}
    assert c.post("/events", json=batch).json() == {"accepted": 5, "duplicates": 0}
    assert c.post("/events", json=batch).json() == {"accepted": 0, "duplicates": 5}
    bad = {"events": [event(key="b9"), event(key="b0", item="i29")]}  # b0 conflicts
    r = c.post("/events", json=bad)
    assert r.status_code == 409
    state = c.app.state.service
    assert state.store.count() == 5  # b9 was not stored either


def test_idempotency_header_keys_each_event(make_client: Client) -> None:
    c = make_client()
    e = event()
    del e["idempotency_key"]
    assert c.post("/events", json=e).status_code == 422  # no key at all
    batch = {"events": [dict(e), dict(e, item="i4")]}
    assert c.post("/events", json=batch, headers={"Idempotency-Key": "req-1"}).json()["accepted"] == 2
    assert c.post("/events", json=batch, headers={"Idempotency-Key": "req-1"}).json()["duplicates"] == 2


@pytest.mark.parametrize("key,fragment", [("a\tb", "'\\t'"), ("order 991", "' '"), ("caf\u00e9", "not ASCII"),
                                          ("k\x7f", "'\\x7f'"), ("x" * 201, "200")])
def test_an_idempotency_key_header_is_visible_ascii(make_client: Client, key: str, fragment: str) -> None:
    """A tab (and any other character a header can carry) made a key: a proxy that trims or folds it turns
    a retry into a new request. A key is 1 to 200 visible ASCII characters; nothing is stored otherwise."""
    c = make_client()
    e = event()
    del e["idempotency_key"]
    r = c.post("/events", json=e, headers={"Idempotency-Key": key.encode("latin-1")})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "header.Idempotency-Key", r.text
    assert fragment in r.json()["detail"], r.text
    assert c.app.state.service.store.count() == 0
    for good in ("req-1", "0f8fad5b-d9cb-469f-a165-70867728950e", "!#$%&'*+.^_`|~:/=?@"):
        assert c.post("/events", json=e, headers={"Idempotency-Key": good}).status_code == 200, good


@pytest.mark.parametrize("body,status,fragment", [
    (b"{not json", 422, ""),
    (b"[]", 422, ""),
    (json.dumps(event(type="teleport")).encode(), 422, "type"),
    (json.dumps(event(t=-5)).encode(), 422, "timestamp"),
    (json.dumps(event(t="yesterday")).encode(), 422, "timestamp"),
    (json.dumps(event(t="1900-01-01T00:00:00")).encode(), 422, "1970"),
    (json.dumps(event(quantity=0)).encode(), 422, "quantity"),
    (json.dumps(event(user="")).encode(), 422, "user"),
    (json.dumps(event(extra_field=1)).encode(), 422, "extra"),
    (json.dumps(event(type="rating")).encode(), 422, "rating"),
    (json.dumps({"events": []}).encode(), 422, "events"),
])
def test_bad_events_get_422_and_nothing_is_stored(make_client: Client, body: bytes, status: int,
                                                  fragment: str) -> None:
    c = make_client()
    r = c.post("/events", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert fragment.lower() in r.text.lower()
    assert c.app.state.service.store.count() == 0


@pytest.mark.parametrize("body,fragment", [
    ('{"user": true, "item": "i1", "type": "purchase", "timestamp": 1714557600, "idempotency_key": "k"}',
     "body.EventIn.user"),  # was stored as the customer "1"
    ('{"user": "u1", "item": "i1", "type": "purchase", "timestamp": true, "idempotency_key": "k"}',
     "body.EventIn.timestamp"),  # was stored as 1970-01-01T00:00:01
    ('{"user": "\\ud800", "item": "i1", "type": "purchase", "timestamp": 1714557600, "idempotency_key": "k"}',
     "surrogate"),  # was a 500 from the store
    ('{"events": []}', "body.EventBatch.events"),  # named the single event's fields first
    ('{"user": "u1", "item": "i\\u007f1", "type": "purchase", "timestamp": 1714557600, "idempotency_key": "k"}',
     "control characters"),  # DEL and the C1 controls (U+0080-U+009F) were taken as text
    ('{"user": "u1", "item": "i1", "type": "purchase", "timestamp": 1714557600, "idempotency_key": "k\\u0085"}',
     "control characters"),
])
def test_booleans_surrogates_and_shapes_are_named_in_the_422(make_client: Client, body: str, fragment: str) -> None:
    c = make_client()
    r = c.post("/events", content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert fragment in problem["detail"], problem
    shape = problem["errors"][0]["loc"].split(".")[1]  # only the shape that was sent is reported
    assert all(e["loc"].split(".")[1] == shape for e in problem["errors"]), problem
    assert c.app.state.service.store.count() == 0


@pytest.mark.parametrize("ctype", ["application/x-www-form-urlencoded", "text/plain; charset=utf-8"])
def test_a_json_body_without_the_json_content_type_is_named(make_client: Client, ctype: str) -> None:
    """`curl -d '{...}'` without -H labels the body a form: the 422 said 'Input should be a valid
    dictionary or object' about a JSON object; it names the Content-Type header to send instead."""
    c = make_client()
    r = c.post("/events", content=json.dumps(event()).encode(), headers={"content-type": ctype})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    detail = r.json()["detail"]
    assert "Content-Type: application/json" in detail and ctype.split(";")[0] in detail, detail
    assert c.app.state.service.store.count() == 0
    r = c.post("/events", content=json.dumps(event()).encode(), headers={"content-type": "application/json"})
    assert r.status_code == 200


def test_a_body_that_is_not_utf8_is_a_422_that_says_so(make_client: Client) -> None:
    """A Latin-1 body was a 400 'There was an error parsing the body' (the page promises 422 for
    malformed JSON, and the message did not say what was wrong)."""
    c = make_client()
    body = json.dumps(event(user="Zoë"), ensure_ascii=False).encode("latin-1")
    r = c.post("/events", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert "UTF-8" in r.json()["detail"] and "byte" in r.json()["detail"]
    assert c.app.state.service.store.count() == 0


def test_far_future_timestamp_is_refused(make_client: Client, clock: Clock) -> None:
    c = make_client()
    ok = event(t=int(clock.now) + 3600)
    future = event(t=int(clock.now) + 10 * DAY)
    millis = event(t=int(clock.now) * 1000 // 1000 * 1000 % 2**37)
    r = c.post("/events", json={"events": [ok, future]})
    assert r.status_code == 422 and "event 1" in r.json()["detail"] and "future" in r.json()["detail"]
    assert c.post("/events", json=millis).status_code == 422
    r = c.post("/events", json=event(t=int(clock.now) * 1000))  # Date.now(): the 422 says milliseconds
    assert r.status_code == 422 and "milliseconds" in r.json()["detail"] and str(int(clock.now)) in r.json()["detail"]
    assert c.app.state.service.store.count() == 0


def test_oversized_batch_and_body(make_client: Client) -> None:
    c = make_client(max_batch=10, max_body_bytes=20_000)
    r = c.post("/events", json={"events": [event() for _ in range(11)]})
    assert r.status_code == 422 and "at most 10" in r.json()["detail"]
    big = json.dumps({"events": [event(item="x" * 200) for _ in range(200)]})
    r = c.post("/events", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    # a chunked body without Content-Length is counted as it streams
    r = c.post("/events", content=iter([big[:10_000].encode(), big[10_000:].encode()]),
               headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert c.app.state.service.store.count() == 0


@pytest.mark.parametrize("path,limit", [("/events", "max_batch"), ("/admin/events", "max_bulk_batch")])
def test_a_batch_over_the_limit_is_refused_before_its_events_are_validated(make_client: Client, path: str,
                                                                           limit: str) -> None:
    """The count was checked after every event had been validated: 560,000 events (a 64 MB bulk body)
    took 5 s and 1 GB before the 422. Now the events are counted first: a batch of events that are each
    invalid is refused for its size, and no event is validated."""
    c = make_client(**{limit: 3})
    bad = [event(type="teleport") for _ in range(4)]
    r = c.post(path, json={"events": bad}, headers=ADMIN)
    assert r.status_code == 422 and r.json()["detail"].startswith("the batch has 4 events; at most 3 "), r.text
    assert ("admin bulk endpoint" in r.json()["detail"]) == (path == "/events")  # not advice to use itself
    assert c.post(path, json={"events": bad[:3]}, headers=ADMIN).json()["errors"][0]["loc"].endswith("events.0.type")
    assert c.post(path, json={"events": [event() for _ in range(3)]}, headers=ADMIN).json()["accepted"] == 3
    for body in (b"", b"[]", b'{"events": 5}'):  # not a batch: the validation says what is wrong, as before
        r = c.post(path, content=body, headers={**ADMIN, "content-type": "application/json"})
        assert r.status_code == 422 and r.json()["detail"], r.text


def test_admin_needs_the_token(make_client: Client) -> None:
    c = make_client()
    assert c.post("/admin/reload").status_code == 401
    assert c.post("/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.post("/admin/events", json={"events": [event()]}).status_code == 401
    r = c.post("/admin/reload", headers=ADMIN)
    assert r.status_code == 200 and r.json()["version"] == "v0001"
    assert c.post("/admin/events", json={"events": [event() for _ in range(50)]}, headers=ADMIN).json()[
        "accepted"] == 50
    disabled = make_client(admin_token=None)
    assert disabled.post("/admin/reload", headers=ADMIN).status_code == 403


def test_reload_switches_version_and_unknown_version_keeps_serving(make_client: Client,
                                                                   artifacts: Path) -> None:
    c = make_client()
    r = c.post("/admin/reload", json={"version": "v0002"}, headers=ADMIN)
    assert r.json() == {"previous": "v0001", "version": "v0002", "loaded": ["v0002"]}
    assert (artifacts / "CURRENT").read_text().strip() == "v0002"
    assert c.get("/users/u1/recommendations").json()["version"] == "v0002"
    r = c.post("/admin/reload", json={"version": "v9999"}, headers=ADMIN)
    assert r.status_code == 404 and "v9999" in r.json()["detail"]  # a client error, not a server one
    assert c.get("/users/u1/recommendations").json()["version"] == "v0002"
    r = c.post("/admin/reload", json={"version": "../../etc"}, headers=ADMIN)
    assert r.status_code == 422


def test_a_reload_of_a_current_whose_folder_was_deleted_fails_and_keeps_serving(make_client: Client,
                                                                               artifacts: Path) -> None:
    """The served version is in memory: deleting its folder and asking for a reload "reloaded" it from
    memory with a 200, hiding that CURRENT names a version that no restart can load."""
    import shutil

    c = make_client()
    shutil.rmtree(artifacts / "models" / "v0001")
    r = c.post("/admin/reload", headers=ADMIN)
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json", r.text
    detail = r.json()["detail"]
    assert "CURRENT names model version 'v0001'" in detail and str(artifacts / "models" / "v0001") in detail
    assert "v0002, v0003" in detail and "still serving 'v0001'" in detail
    assert c.get("/users/u1/recommendations").json()["version"] == "v0001"
    (artifacts / "CURRENT").write_text("v0007\n")  # a version never on disk: the same answer
    assert "CURRENT names model version 'v0007'" in c.post("/admin/reload", headers=ADMIN).json()["detail"]
    r = c.post("/admin/reload", json={"version": "v0002"}, headers=ADMIN)  # the way out the detail names
    assert r.status_code == 200 and r.json()["version"] == "v0002"


def test_a_version_that_cannot_load_does_not_become_current(make_client: Client, artifacts: Path) -> None:
    """A failed reload keeps CURRENT on the serving version (else a restart, the other workers and
    `train --from-store` would pick up the broken one: the service did not start again)."""
    import shutil

    from discoverly.serve import ServeConfig, create_app

    shutil.copytree(artifacts / "models" / "v0002", artifacts / "models" / "v0009")
    (artifacts / "models" / "v0009" / "arrays.npz").write_bytes(b"not a zip")
    c = make_client()
    r = c.post("/admin/reload", json={"version": "v0009"}, headers=ADMIN)
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json", r.text
    assert (artifacts / "CURRENT").read_text().strip() == "v0001"
    assert c.get("/health").json()["version"] == "v0001"
    create_app(ServeConfig(artifacts=artifacts)).state.service.close()  # a restart still starts


def test_no_cors_unless_configured(make_client: Client) -> None:
    origin = {"Origin": "https://shop.example"}
    r = make_client().get("/health", headers=origin)
    assert "access-control-allow-origin" not in r.headers
    r = make_client(cors_origins=["https://shop.example"]).get("/health", headers=origin)
    assert r.headers["access-control-allow-origin"] == "https://shop.example"


def test_metrics_count_requests_by_route_and_show_the_version(make_client: Client) -> None:
    c = make_client()
    for u in ("u1", "u2", "u3"):
        c.get(f"/users/{u}/recommendations")
    c.get("/items/nope/related")
    c.post("/events", json=event())
    text = c.get("/metrics").text
    assert 'route="/users/{user}/recommendations",status="200"} 3' in text
    assert 'route="/items/{item}/related",status="404"} 1' in text
    assert 'discoverly_model_info{' in text and 'version="v0001"} 1' in text
    assert "discoverly_events_ingested_total" in text
    assert "discoverly_http_request_duration_seconds_bucket" in text


def test_head_answers_wherever_get_does(make_client: Client) -> None:
    """Only /health answered HEAD; `curl -I /ui` and a load balancer's HEAD check of any page got 405."""
    c = make_client()
    for path in ("/ui", "/ui/items/i1", "/ui/users/u1", "/items/i1/related", "/users/u1/recommendations",
                 "/metrics", "/health", "/experiments", "/docs", "/openapi.json", "/items/nope/related", "/ui/nope"):
        get, head = c.get(path), c.head(path)
        assert head.status_code == get.status_code and head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        if path not in ("/metrics", "/health"):  # these two change between the requests (counts, uptime)
            assert head.headers["content-length"] == get.headers["content-length"], path
    assert c.head("/events").status_code == 405  # no GET there either
    text = c.get("/metrics").text
    assert 'method="HEAD",route="/ui",status="200"} 1' in text


@pytest.mark.parametrize("endpoint,path", [("recommendations", "/users/u7/recommendations"),
                                           ("related", "/items/i1/related?user=u7")])
def test_a_head_records_no_experiment_exposure(make_client: Client, endpoint: str, path: str) -> None:
    """A HEAD is answered as a GET without the body: it shows the customer nothing, so it must not count
    them as exposed (a link checker or a probe would fill the arms)."""
    from discoverly.serve.config import ExperimentConfig

    exp = ExperimentConfig(name="e1", endpoint=endpoint, arms=[{"name": "A", "version": "v0001", "share": 0.5},
                                                               {"name": "B", "version": "v0002", "share": 0.5}])
    c = make_client(experiments=[exp])
    assert c.head(path).status_code == 200
    assert len(c.app.state.service.store.exposures("e1")) == 0
    assert c.get(path).status_code == 200
    assert len(c.app.state.service.store.exposures("e1")) == 1


def test_answers_say_which_may_be_cached(make_client: Client) -> None:
    """No answer said whether it may be stored: a shared cache could keep one customer's recommendations
    (or an admin answer) and hand it to the next. Everything but the offline docs' static files is
    no-store, errors included."""
    c = make_client()
    for r in (c.get("/users/u1/recommendations"), c.get("/items/i1/related"), c.get("/ui/users/u1"), c.get("/ui"),
              c.get("/health"), c.get("/metrics"), c.get("/experiments"), c.get("/openapi.json"), c.get("/docs"),
              c.post("/events", json=event()), c.post("/admin/reload", headers=ADMIN), c.get("/items/nope/related"),
              c.get("/nope"), c.post("/events", content=b"x" * 2_000_000, headers={"content-type": "application/json"}),
              c.head("/ui")):
        assert r.headers["cache-control"] == "no-store", (r.request.method, r.request.url)
    r = c.get("/static-offline-docs/swagger-ui.css")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=86400"


def test_unknown_route_and_method_are_problems(make_client: Client) -> None:
    c = make_client()
    r = c.get("/nope")
    assert r.status_code == 404 and r.json()["status"] == 404
    assert c.delete("/events").status_code == 405


def test_store_down_is_503_not_500(make_client: Client) -> None:
    c = make_client()
    state = c.app.state.service
    state.store.close()
    state.store.path = Path("/proc/definitely/not/here.db")  # reconnects fail
    r = c.post("/events", json=event())
    assert r.status_code == 503, r.text
    assert c.get("/health").status_code == 503


def test_clock_is_used_for_exposures(make_client: Client, clock: Clock) -> None:
    from discoverly.serve.config import ExperimentConfig

    exp = ExperimentConfig(name="e1", arms=[{"name": "A", "version": "v0001", "share": 0.5},
                                            {"name": "B", "version": "v0002", "share": 0.5}])
    c = make_client(experiments=[exp])
    body = c.get("/users/u7/recommendations").json()
    assert body["experiment"]["name"] == "e1" and body["version"] in ("v0001", "v0002")
    x = c.app.state.service.store.exposures("e1")
    assert x["timestamp"].to_list() == [int(clock.now)] and x["user"].to_list() == ["u7"]
    assert x["items"].to_list()[0] == [i["item"] for i in body["items"]]
    assert clock.now > T0


def test_a_just_started_experiment_is_not_ready_yet_and_an_unknown_one_is_404(make_client: Client) -> None:
    """A configured experiment without exposures answered 422 to someone polling it; its web page says
    "Not enough data to analyse yet". Now: 200 with ready: false and why; a name never configured is 404."""
    from discoverly.serve.config import ExperimentConfig

    exp = ExperimentConfig(name="e1", arms=[{"name": "A", "version": "v0001", "share": 0.5},
                                            {"name": "B", "version": "v0002", "share": 0.5}])
    c = make_client(experiments=[exp])
    r = c.get("/experiments/e1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["experiment"] == "e1" and body["ready"] is False and body["arms"] == [] and body["comparisons"] == []
    assert body["sample_ratio"] is None and "no recorded exposures yet" in body["notes"][0]
    c.get("/users/u7/recommendations")  # one customer in one arm: still not enough
    body = c.get("/experiments/e1").json()
    assert body["ready"] is False and "at least two arms" in body["notes"][0]
    unknown = c.get("/experiments/nope")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")
    assert "unknown experiment 'nope'" in unknown.json()["detail"]
    for n in range(40):
        c.get(f"/users/p{n}/recommendations")
    body = c.get("/experiments/e1").json()  # (a not-ready answer is not kept: the next poll sees the data)
    assert body["ready"] is True and [a["arm"] for a in body["arms"]] == ["A", "B"]


def test_blank_customer_ids_are_refused_and_record_no_exposure(make_client: Client) -> None:
    """GET /users//recommendations (and %20, or ?user= on related) was answered as customer ''
    and stored an experiment exposure for it, inflating an arm."""
    from discoverly.serve.config import ExperimentConfig

    exps = [ExperimentConfig(name=f"e-{endpoint}", endpoint=endpoint,
                             arms=[{"name": "A", "version": "v0001", "share": 0.5},
                                   {"name": "B", "version": "v0002", "share": 0.5}])
            for endpoint in ("recommendations", "related")]
    c = make_client(experiments=exps)
    item = c.get("/users/u7/recommendations").json()["items"][0]["item"]
    for path, params in (("/users//recommendations", {}), ("/users/%20/recommendations", {}),
                         ("/users/a%09b/recommendations", {}), (f"/items/{item}/related", {"user": " "}),
                         ("/users/a%7Fb/recommendations", {}), ("/users/a%C2%85b/recommendations", {})):  # DEL, NEL
        r = c.get(path, params=params)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert "not blank" in r.json()["detail"] or "control characters" in r.json()["detail"], r.text
    store = c.app.state.service.store
    assert store.exposures("e-recommendations")["user"].to_list() == ["u7"]
    assert store.exposures("e-related").height == 0


def test_ids_with_a_slash_are_addressable(tmp_path: Path, clock: Clock) -> None:
    """SKUs such as 'A/12' (and customers such as 'EU/7'): raw or percent-encoded in the path."""
    import polars as pl
    from fastapi.testclient import TestClient

    from discoverly.data import read_interactions
    from discoverly.recommend import create
    from discoverly.serve import ServeConfig, create_app

    rows = [(f"EU/{u}", item, T0 + (u * 3 + j) * DAY) for u in range(8)
            for j, item in enumerate(("A/12", "B/7" if u % 2 else "C-3", "D/1"))]
    log = read_interactions(pl.DataFrame(rows, schema=["user", "item", "timestamp"], orient="row"))
    create("corrected", min_count=1).fit(log).save(tmp_path / "model")
    with TestClient(create_app(ServeConfig(artifacts=tmp_path / "model"), clock=clock),
                    raise_server_exceptions=False) as c:
        for path in ("/items/A/12/related", "/items/A%2F12/related"):
            r = c.get(path, params={"k": 2})
            assert r.status_code == 200, r.text
            assert r.json()["item"] == "A/12" and "D/1" in [x["item"] for x in r.json()["items"]]
        r = c.get("/users/EU%2F3/recommendations", params={"k": 2})
        assert r.status_code == 200 and r.json()["user"] == "EU/3" and not r.json()["fallback"]
        assert c.get("/ui/items/A/12").status_code == 200 and c.get("/ui/users/EU/3").status_code == 200
        text = c.get("/metrics").text  # the route label is still the template, not the id
        assert 'route="/items/{item}/related",status="200"} 2' in text
        assert "/items/{item}/related" in c.get("/openapi.json").json()["paths"]


def test_every_error_class_has_its_own_status() -> None:
    """A job over the memory limit (ResourceLimitError) was a 500 'Internal error', as if a bug."""
    from discoverly import errors
    from discoverly.serve.problems import status_of

    assert status_of(errors.ResourceLimitError("would need 9 GiB")) == (503, "Not enough memory")
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and cls is not errors.DiscoverlyError:
            assert status_of(cls("x"))[0] != 500, name
