"""Experiments' hash split, fresh histories, model versions, config, metrics and atomic reloads."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from serve_helpers import ADMIN, DAY, T0

from discoverly.errors import ArtifactError, ConfigError, UnknownIdError
from discoverly.recommend.popularity import RecentBestsellers
from discoverly.serve.config import ExperimentConfig, ServeConfig, load_config
from discoverly.serve.experiments import assign, bucket
from discoverly.serve.freshness import fresh_history
from discoverly.serve.metrics import Metrics
from discoverly.serve.store import Event
from discoverly.serve.versions import ModelStore


def experiment(*shares: float, name: str = "e") -> ExperimentConfig:
    return ExperimentConfig(name=name, arms=[{"name": f"a{i}", "version": "v1", "share": s}
                                             for i, s in enumerate(shares)])


# -- hash split ---------------------------------------------------------------------------------
def test_split_is_deterministic_and_follows_the_shares() -> None:
    exp = experiment(0.2, 0.3, 0.5)
    users = [f"user-{i}" for i in range(20_000)]
    arms = [assign(exp, u).name for u in users]
    assert arms == [assign(exp, u).name for u in users]
    counts = {a: arms.count(a) for a in ("a0", "a1", "a2")}
    for a, share in zip(("a0", "a1", "a2"), (0.2, 0.3, 0.5), strict=True):
        assert abs(counts[a] / len(users) - share) < 0.015, counts
    # another experiment name reshuffles independently
    other = [assign(experiment(0.5, 0.5, name="f"), u).name for u in users[:2000]]
    same = [assign(experiment(0.5, 0.5, name="e"), u).name for u in users[:2000]]
    assert 0.4 < np.mean([a == b for a, b in zip(other, same, strict=True)]) < 0.6


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=40), st.text(min_size=1, max_size=40))
def test_bucket_is_uniform_range(name: str, user: str) -> None:
    assert 0.0 <= bucket(name, user) < 1.0


def test_experiment_config_validation() -> None:
    with pytest.raises(ValueError, match="add up to"):
        experiment(0.5, 0.6)
    with pytest.raises(ValueError, match="duplicate arm"):
        ExperimentConfig(name="e", arms=[{"name": "a", "version": "v", "share": 0.5}] * 2)
    with pytest.raises(ValueError, match="at most one active"):
        ServeConfig(artifacts=Path("."), experiments=[experiment(0.5, 0.5, name="x"), experiment(0.5, 0.5, name="y")])


def test_load_config_from_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "serve.toml"
    toml.write_text('artifacts = "models"\nmax_batch = 50\n[[experiments]]\nname = "e"\n'
                    '[[experiments.arms]]\nname = "A"\nversion = "v1"\nshare = 0.5\n'
                    '[[experiments.arms]]\nname = "B"\nversion = "v2"\nshare = 0.5\n')
    cfg = load_config(toml, store="sqlite:///x.db")
    assert cfg.max_batch == 50 and cfg.experiments[0].arms[1].version == "v2" and cfg.store_url == "sqlite:///x.db"
    assert load_config(None, artifacts="a").store_url == "sqlite:///a/events.db"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"artifacts": "a", "max_batch": -1}))
    with pytest.raises(ConfigError, match="max_batch"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="history_types"):
        load_config(None, artifacts="a", history_types=["purchase", "hug"])


def test_load_config_refuses_what_would_fail_later(tmp_path: Path) -> None:
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'artifacts = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):  # was a UnicodeDecodeError traceback
        load_config(latin)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON list"):  # was an AttributeError traceback
        load_config(listed)
    with pytest.raises(ConfigError, match="default_k"):  # else every request without ?k= was a 422
        load_config(None, artifacts="a", default_k=500)


# -- fresh histories ----------------------------------------------------------------------------
def test_fresh_history_merges_days_without_double_counting(log: Any) -> None:
    model = RecentBestsellers().fit(log)
    u = "u1"
    base = model.history(np.array([log.users.index(u)]))
    item = int(base.days.indices[0])
    item_id = log.items.id(item)
    last = int(base.last[0, item])
    end = model.trained_until
    events = [Event("k0", u, item_id, "purchase", end - 5),  # before the end of training: ignored
              Event("k1", u, item_id, "purchase", end + 10),
              Event("k2", u, item_id, "purchase", end + 20),  # same day as k1
              Event("k3", u, item_id, "purchase", end + 3 * DAY),
              Event("k4", u, "i-unknown", "purchase", end + 30)]  # not in the model: skipped
    h, n = fresh_history(model, u, events)
    expected_new_days = len({(end + 10) // DAY, (end + 3 * DAY) // DAY} - {last // DAY})
    assert n == 3
    assert h.days[0, item] == base.days[0, item] + expected_new_days
    assert h.first[0, item] == base.first[0, item] and h.last[0, item] == end + 3 * DAY
    assert h.now == end + 3 * DAY + 1
    h2, n2 = fresh_history(model, "someone-new", [Event("x", "someone-new", "i2", "purchase", end + 1)])
    assert n2 == 1 and h2.lengths().tolist() == [1] and h2.first[0, log.items.index("i2")] == end + 1


# -- model versions -----------------------------------------------------------------------------
def test_versions_publish_and_current(tmp_path: Path, log: Any) -> None:
    ms = ModelStore(tmp_path)
    with pytest.raises(ArtifactError, match="no model versions"):
        ms.current()
    m = RecentBestsellers().fit(log)
    assert ms.publish(m) == "v0001" and ms.publish(m, activate=False) == "v0002"
    assert ms.current() == "v0001" and ms.versions() == ["v0001", "v0002"]
    with pytest.raises(ConfigError, match="never overwritten"):
        ms.publish(m, "v0001")
    with pytest.raises(ConfigError, match="invalid model version"):
        ms.publish(m, "../escape")
    ms.set_current("v0002")
    assert ms.current() == "v0002"
    with pytest.raises(UnknownIdError, match="unknown model version"):
        ms.set_current("v0042")
    single = ModelStore(tmp_path / "models" / "v0001")
    assert single.single and single.versions() == ["v0001"] and single.current() == "v0001"
    with pytest.raises(ArtifactError, match="does not exist"):
        ModelStore(tmp_path / "nope")


def test_reload_is_atomic_for_requests_in_flight(make_client: Any) -> None:
    """Requests keep succeeding, each answered wholly by one version, while versions are swapped."""
    c = make_client()
    errors: list[str] = []
    versions: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            r = c.get("/users/u2/recommendations", params={"k": 3})
            if r.status_code != 200:
                errors.append(r.text)
            else:
                versions.add(r.json()["version"])

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(10):
        r = c.post("/admin/reload", json={"version": "v0002" if i % 2 == 0 else "v0001"}, headers=ADMIN)
        assert r.status_code == 200
    stop.set()
    for t in threads:
        t.join()
    assert not errors and versions == {"v0001", "v0002"}


def test_workers_follow_current(make_client: Any, artifacts: Path) -> None:
    c = make_client(reload_poll_seconds=0.05)
    ModelStore(artifacts).set_current("v0002")
    import time

    deadline = time.time() + 5
    while time.time() < deadline and c.get("/health").json()["version"] != "v0002":
        time.sleep(0.05)
    assert c.get("/health").json()["version"] == "v0002"


# -- metrics ------------------------------------------------------------------------------------
def test_metrics_text_format() -> None:
    m = Metrics()
    m.observe_request("GET", "/x", 200, 0.003)
    m.observe_request("GET", "/x", 200, 7.0)
    m.inc("discoverly_events_ingested_total", 5)
    m.set_model('v"1')
    text = m.render()
    lines = text.splitlines()
    assert any(line.endswith('le="0.005"} 1') for line in lines)
    assert any(line.endswith('le="+Inf"} 2') for line in lines)
    assert 'version="v\\"1"' in text
    assert f'discoverly_events_ingested_total{{worker="{m.worker}"}} 5' in text
    assert T0 > 0


def test_public_surface_is_lazy_and_complete() -> None:
    import subprocess
    import sys

    import discoverly.serve as serve

    for name in serve.__all__:
        assert getattr(serve, name) is not None
    # importing the config (what the CLI does at start-up) does not import FastAPI
    code = "import sys, discoverly.serve, discoverly.cli.serve; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
