"""The answers and problems of the service's own routers (events, experiments, admin, health, deps) as
docs/serve.md describes them: the exact messages, the limits at their edges, the keys events are stored
under, the analysis's inputs (the experiment's window, every exposed customer) and the fields of
``/health`` and ``/admin/reload`` (mutation testing: a changed limit, key or message survived; the
routes are decorated, so these were checked with hand-made mutants)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from serve_helpers import ADMIN, DAY, Clock, event

from discoverly.errors import DataError

Client = Callable[..., Any]

TWO_ARMS = [{"name": "A", "version": "v0001", "share": 0.5}, {"name": "B", "version": "v0002", "share": 0.5}]


# --- events -------------------------------------------------------------------------------------------------


def test_too_many_events_are_named_with_the_limit_and_the_way_out(make_client: Client) -> None:
    c = make_client(max_batch=1_000, max_bulk_batch=1_200)
    r = c.post("/events", json={"events": [{}] * 1_001})  # counted before any is validated
    assert r.status_code == 422 and r.json()["detail"] == (
        "the batch has 1,001 events; at most 1,000 are accepted per request. Split it into smaller batches "
        "(or use the admin bulk endpoint, POST /admin/events)"
    )
    r = c.post("/admin/events", json={"events": [{}] * 1_201}, headers=ADMIN)
    assert r.status_code == 422 and r.json()["detail"] == (
        "the batch has 1,201 events; at most 1,200 are accepted per request. Split it into smaller batches"
    )


def test_ingest_checks_the_limit_itself(make_client: Client) -> None:
    """``ingest`` (also used without the counting dependency) refuses a batch over ``limit`` by itself."""
    from discoverly.serve.routers.events import ingest
    from discoverly.serve.schemas import EventBatch

    state = make_client().app.state.service
    batch = EventBatch.model_validate({"events": [event(), event()]})
    with pytest.raises(
        DataError,
        match="^the batch has 2 events; at most 1 are accepted per request. Split it "
        r"into smaller batches \(or use",
    ):
        ingest(state, batch, None, limit=1)
    assert state.store.count() == 0
    assert ingest(state, batch, None, limit=2).accepted == 2


def test_a_timestamp_up_to_max_future_seconds_ahead_is_accepted(make_client: Client, clock: Clock) -> None:
    c = make_client(max_future_seconds=3_600)
    now = int(clock.now)
    r = c.post("/events", json={"events": [event(t=now + 3_600), event(t=now + 3_601)]})
    assert r.status_code == 422 and r.json()["detail"] == (
        f"event 1 has a timestamp {now + 3_601} that is 3,601 s in the future (server time {now}); at most 3,600 s "
        "ahead is accepted. Check the clock and the unit (epoch seconds, not milliseconds)"
    )
    single = c.post("/events", json=event(t=now + 3_601)).json()["detail"]
    assert single.startswith(f"the event has a timestamp {now + 3_601} that is 3,601 s in the future")
    assert c.app.state.service.store.count() == 0
    assert c.post("/events", json=event(t=now + 3_600)).json() == {"accepted": 1, "duplicates": 0}


def test_events_are_stored_under_their_own_key_or_the_headers_key_and_position(make_client: Client) -> None:
    c = make_client()
    e = event(user=17850, item=42, quantity=3, value=5.25)  # integer ids are stored as text
    del e["idempotency_key"]
    batch = {"events": [dict(e), dict(e, idempotency_key="own-key"), dict(e, item="i4")]}
    assert c.post("/events", json=batch, headers={"Idempotency-Key": "req-7"}).json() == {
        "accepted": 3,
        "duplicates": 0,
    }
    stored = c.app.state.service.store.events().sort("key")
    assert stored["key"].to_list() == ["own-key", "req-7:0", "req-7:2"]
    assert stored["user"].to_list() == ["17850"] * 3 and sorted(stored["item"].to_list()) == ["42", "42", "i4"]
    assert stored["quantity"].to_list() == [3.0] * 3 and stored["value"].to_list() == [5.25] * 3
    assert stored["timestamp"].to_list() == [e["timestamp"]] * 3


@pytest.mark.parametrize(
    "body,detail",
    [
        (
            {k: v for k, v in event().items() if k != "idempotency_key"},
            "the event has no idempotency_key and no Idempotency-Key header was sent; every event needs a key so "
            "that a retry is not counted twice",
        ),
        (
            {"events": [event(), event(type="rating")]},
            "event 1 is a rating without a value; send the rating in 'value'",
        ),
    ],
)
def test_an_event_without_a_key_or_a_rating_without_a_value_is_named(
    make_client: Client, body: dict[str, Any], detail: str
) -> None:
    c = make_client()
    r = c.post("/events", json=body)
    assert r.status_code == 422 and r.json()["detail"] == detail
    assert c.app.state.service.store.count() == 0
    assert c.post("/events", json=event(type="rating", value=4.0)).json()["accepted"] == 1


@pytest.mark.parametrize(
    "key,shown",
    [
        ("a b", "' '"),
        ("!~ x", "' '"),  # '!' and '~', the first and last visible characters, are not the ones named
        ("caf\u00e9", "a character that is not ASCII (a header has no encoding)"),
    ],
)
def test_an_idempotency_key_header_problem_names_the_character(make_client: Client, key: str, shown: str) -> None:
    e = event()
    del e["idempotency_key"]
    r = make_client().post("/events", json=e, headers={"Idempotency-Key": key.encode("latin-1")})
    assert r.status_code == 422
    assert (
        f"the Idempotency-Key header holds {shown}; a key is 1 to 200 visible ASCII characters (letters, digits "
        "and punctuation, no spaces or tabs), such as a UUID"
    ) in r.json()["detail"]


def test_ingested_and_duplicate_events_are_counted_in_the_metrics(make_client: Client) -> None:
    c = make_client()
    batch = {"events": [event(key=f"m{i}") for i in range(3)]}
    c.post("/events", json=batch)
    c.post("/events", json={"events": [*batch["events"], event(key="m9")]})  # 3 duplicates, 1 new
    text = c.get("/metrics").text  # (each request adds its counts, not 1)
    assert re.search(r'^discoverly_events_ingested_total\{worker="\d+"\} 4$', text, re.M), text
    assert re.search(r'^discoverly_events_duplicate_total\{worker="\d+"\} 3$', text, re.M), text


# --- experiments --------------------------------------------------------------------------------------------


def test_the_experiments_list_is_the_configuration(make_client: Client) -> None:
    from discoverly.serve.config import ExperimentConfig

    exps = [
        ExperimentConfig(name="e1", arms=TWO_ARMS),
        ExperimentConfig(name="e2", endpoint="related", window_days=3, arms=TWO_ARMS),
    ]
    c = make_client(experiments=exps)
    assert c.get("/experiments").json() == [e.model_dump(mode="json") for e in exps]
    assert make_client().get("/experiments").json() == []
    r = c.get("/experiments/e3")
    assert r.status_code == 404 and r.json()["detail"] == "unknown experiment 'e3' (experiments: e1, e2)"
    r = make_client().get("/experiments/e3")
    assert r.json()["detail"] == "unknown experiment 'e3' (experiments: none configured)"


def test_the_analysis_counts_outcomes_within_the_experiments_window(make_client: Client, clock: Clock) -> None:
    """Eight customers per arm see a list; the first four of each buy a shown item 7 days less a second later,
    the next two exactly 7 days later (the window is [exposure, exposure + 7 days)): 4 conversions of 8 in each
    arm, not 6. The arms' shares (3:1) are what the sample-ratio check expects."""
    from discoverly.serve.config import ExperimentConfig
    from discoverly.serve.experiments import assign

    arms = [{"name": "A", "version": "v0001", "share": 0.75}, {"name": "B", "version": "v0002", "share": 0.25}]
    exp = ExperimentConfig(name="e1", window_days=7, arms=arms)
    c = make_client(experiments=[exp])
    users: dict[str, list[str]] = {"A": [], "B": []}
    n = 0
    while min(len(u) for u in users.values()) < 8:
        user = f"w{n}"
        n += 1
        arm = assign(exp, user).name
        if len(users[arm]) < 8:
            shown = c.get(f"/users/{user}/recommendations", params={"k": 3}).json()["items"][0]["item"]
            users[arm].append(f"{user}|{shown}")
    start = int(clock.now)
    clock.now = start + 20 * DAY
    events = []
    for entries in users.values():
        for i, entry in enumerate(entries[:6]):
            user, item = entry.split("|")
            events.append(event(user, item, t=start + 7 * DAY - (1 if i < 4 else 0), value=10.0))
    assert c.post("/events", json={"events": events}).json()["accepted"] == 12
    body = c.get("/experiments/e1").json()
    assert body["ready"] is True and body["experiment"] == "e1"
    assert [(a["arm"], a["users"], a["conversions"]) for a in body["arms"]] == [("A", 8, 4), ("B", 8, 4)]
    assert body["sample_ratio"]["observed"] == {"A": 8, "B": 8}
    assert body["sample_ratio"]["expected_shares"] == {"A": 0.75, "B": 0.25}


def test_the_analysis_uses_the_documented_freshness_and_wait(make_client: Client) -> None:
    """docs/serve.md: recomputed at most every 10 seconds; the first one is waited for at most 30 s."""
    from discoverly.evaluate.abtest import EXPERIMENT_N_BOOT
    from discoverly.serve.routers import experiments

    assert (experiments.ANALYSIS_SECONDS, experiments.ANALYSIS_WAIT_SECONDS, EXPERIMENT_N_BOOT) == (10.0, 30.0, 1000)


def test_a_first_analysis_still_being_made_is_a_503_that_says_retry(
    make_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from discoverly.serve.config import ExperimentConfig
    from discoverly.serve.routers import experiments
    from discoverly.serve.store.base import StoreUnavailableError

    c = make_client(experiments=[ExperimentConfig(name="e1", arms=TWO_ARMS)])
    state = c.app.state.service
    monkeypatch.setattr(experiments, "ANALYSIS_WAIT_SECONDS", 0.05)
    lock = state.analysis_lock(("e1", 1000))
    with lock, pytest.raises(StoreUnavailableError) as exc:  # another request is making the first analysis
        experiments.analysis(state, "e1")
    assert str(exc.value) == "the analysis of experiment 'e1' is still being made; retry in a few seconds"
    assert c.get("/experiments/e1").status_code == 200  # the lock is free again


def test_only_a_first_analysis_is_waited_for(make_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/serve.md: while one request makes the new analysis the others get the previous one at once; the
    first one is waited for (at most 30 s). The lock is asked with a timeout only when there is no analysis."""
    from discoverly.serve.config import ExperimentConfig
    from discoverly.serve.routers import experiments

    c = make_client(experiments=[ExperimentConfig(name="e1", arms=TWO_ARMS)])
    for n in range(20):
        c.get(f"/users/p{n}/recommendations")
    state = c.app.state.service
    asked: list[dict[str, Any]] = []

    class Spy:
        def __init__(self, lock: Any) -> None:
            self.lock = lock

        def acquire(self, **kwargs: Any) -> bool:
            asked.append(kwargs)
            return bool(self.lock.acquire(**kwargs))

        def release(self) -> None:
            self.lock.release()

    real = state.analysis_lock
    monkeypatch.setattr(state, "analysis_lock", lambda key: Spy(real(key)))
    now = [1000.0]
    monkeypatch.setattr(experiments.time, "monotonic", lambda: now[0])
    first = c.get("/experiments/e1").json()
    assert first["ready"] is True and asked == [{"timeout": 30.0}]
    assert c.get("/experiments/e1").json() == first and len(asked) == 1  # fresh: the lock is not asked
    now[0] += 10.0
    assert c.get("/experiments/e1").json() == first and asked[1:] == [{"blocking": False}]  # stale: never waits


def test_an_analysis_made_while_this_request_waited_is_used_not_made_again(
    make_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request that waited for the lock looks at the cache again: another request made the analysis
    meanwhile (the spy's acquire plays that request), so this one answers it instead of making another."""
    from discoverly.serve.config import ExperimentConfig
    from discoverly.serve.routers import experiments

    c = make_client(experiments=[ExperimentConfig(name="e1", arms=TWO_ARMS)])
    state = c.app.state.service
    key = ("e1", 1000)
    made_meanwhile = (experiments.time.monotonic(), "the other request's analysis")
    real = state.analysis_lock(key)

    class MadeWhileWaiting:
        def acquire(self, **kwargs: Any) -> bool:
            state.analyses[key] = made_meanwhile  # the request holding the lock finished its analysis
            return bool(real.acquire(**kwargs))

        def release(self) -> None:
            real.release()

    made: list[str] = []
    monkeypatch.setattr(state, "analysis_lock", lambda k: MadeWhileWaiting())
    monkeypatch.setattr(experiments, "_make", lambda *a, **k: made.append("again") or (0.0, None))
    assert experiments.analysis(state, "e1") == "the other request's analysis"
    assert made == [] and not real.locked()


# --- admin, health, deps ------------------------------------------------------------------------------------


def test_reload_answers_the_previous_and_new_version_and_what_is_loaded(make_client: Client) -> None:
    from discoverly.serve.config import ExperimentConfig

    c = make_client(
        experiments=[
            ExperimentConfig(
                name="e1",
                arms=[{"name": "A", "version": "v0002", "share": 0.5}, {"name": "B", "version": "v0001", "share": 0.5}],
            )
        ]
    )
    r = c.post("/admin/reload", json={"version": "v0003"}, headers=ADMIN)
    assert r.json() == {"previous": "v0001", "version": "v0003", "loaded": ["v0001", "v0002", "v0003"]}  # sorted
    r = c.post("/admin/reload", json=None, headers=ADMIN)  # no body: what CURRENT names (now v0003)
    assert r.json() == {"previous": "v0003", "version": "v0003", "loaded": ["v0001", "v0002", "v0003"]}
    assert list(c.app.state.service.snapshot.versions) != ["v0001", "v0002", "v0003"]  # (so the order is the answer's)


def test_health_names_the_version_the_loaded_versions_the_store_and_the_uptime(make_client: Client) -> None:
    from discoverly.serve.config import ExperimentConfig

    c = make_client(
        experiments=[
            ExperimentConfig(
                name="e1",
                arms=[{"name": "A", "version": "v0003", "share": 0.5}, {"name": "B", "version": "v0002", "share": 0.5}],
            )
        ]
    )
    c.app.state.service.metrics.started = time.time() - 1_000
    body = c.get("/health").json()
    uptime = body.pop("uptime_seconds")
    assert body == {"status": "ok", "version": "v0001", "versions": ["v0001", "v0002", "v0003"], "store": "sqlite"}
    assert 1_000 <= uptime < 1_000 + 600
    r = c.get("/metrics")
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


def test_admin_token_problems_say_what_to_send(make_client: Client) -> None:
    c = make_client()
    r = c.post("/admin/reload", headers={"Authorization": "Token s3cret"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"] == "a valid bearer token is required: send 'Authorization: Bearer <admin token>'"
    for header in ("Bearer", "Bearer s3cre", "Bearer s3crett", "Bearers3cret", "s3cret"):
        assert c.post("/admin/reload", headers={"Authorization": header}).status_code == 401, header
    for header in ("bearer s3cret", "BEARER s3cret", "Bearer  s3cret "):  # the scheme in any case, spaces around
        assert c.post("/admin/reload", headers={"Authorization": header}).status_code == 200, header
    r = make_client(admin_token="").post("/admin/reload", headers=ADMIN)
    assert r.status_code == 403 and r.json()["detail"] == (
        "admin endpoints are disabled: start the service with an admin token (--admin-token or DISCOVERLY_ADMIN_TOKEN)"
    )


@pytest.mark.parametrize(
    "url,detail",
    [
        ("/users/Zo%EB/recommendations", "the path of the address percent-encodes bytes that are not UTF-8 text (%EB)"),
        (
            "/items/i1/related?user=Zo%EBe",
            "the query of the address percent-encodes bytes that are not UTF-8 text (%EB)",
        ),
        (  # a sequence cut short: both of its bytes are named
            "/users/%E2%82%28/recommendations",
            "the path of the address percent-encodes bytes that are not UTF-8 text (%E2%82)",
        ),
        (
            "/users/%C3%28/recommendations",
            "the path of the address percent-encodes bytes that are not UTF-8 text (%C3)",
        ),
    ],
)
def test_an_address_that_is_not_utf8_names_the_bytes(make_client: Client, url: str, detail: str) -> None:
    r = make_client().get(url)
    assert r.status_code == 422
    assert r.json()["detail"] == f"{detail}; percent-encode ids as UTF-8 (Zoë is Zo%C3%AB)"
