"""docs/serve.md's examples work as written: the quick start's ``train`` on an ``orders.csv`` with the
page's columns, its Python block's app, its requests (with the ids the page asks about), the event
of the Events section, the A/B config file and the ``experiment`` commands."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.cli.app import main

DOC = Path(__file__).resolve().parents[3] / "docs" / "serve.md"
TEXT = DOC.read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", TEXT, flags=re.S)


def commands(block: str, program: str) -> list[list[str]]:
    """The ``program ...`` commands of a shell block (continuations and quoted line breaks joined,
    comments dropped)."""
    out: list[list[str]] = []
    pending = ""
    for line in re.sub(r"\\\n\s*", " ", block).splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quote still open: the command goes on on the next line
            continue
        if re.match(rf"(\w+=\S+ )*{program} ", pending):
            out.append(words)
        pending = ""
    return out


def write_orders(path: Path) -> None:
    """Customers (17850 among them) buying SKUs (85123A among them) from January to April 2024."""
    rng = np.random.default_rng(0)
    n = 3000
    pl.DataFrame({
        "customer": [str(17850 + u) for u in rng.integers(0, 200, n)],
        "sku": ["85123A" if s == 0 else f"S{s}" for s in rng.integers(0, 50, n)],
        "ordered_at": [f"2024-{m:02d}-{d:02d}" for m, d in zip(rng.integers(1, 5, n), rng.integers(1, 29, n),
                                                                strict=True)],
    }).write_csv(path)


def test_the_page_has_its_examples() -> None:
    assert len(blocks("bash")) >= 4 and len(blocks("python")) == 1 and len(blocks("toml")) == 1


def test_quick_start_requests_events_and_experiments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCOVERLY_ADMIN_TOKEN", raising=False)
    write_orders(tmp_path / "orders.csv")
    bash = blocks("bash")
    (train,) = commands(bash[0], "discoverly train")
    assert main(train[1:]) == 0
    assert (tmp_path / "artifacts" / "CURRENT").read_text().strip() == "v0001"

    scope: dict[str, object] = {"__name__": "__docs__"}
    exec(compile(blocks("python")[0], "docs/serve.md python block", "exec"), scope)
    curls = commands(bash[1], "curl")
    assert len(curls) == 3
    with TestClient(scope["app"]) as client:  # type: ignore[arg-type]
        answers = []
        for curl in curls:
            url = next(a for a in curl if a.startswith("http")).removeprefix("http://127.0.0.1:8000")
            if "-d" in curl:
                body = json.loads(curl[curl.index("-d") + 1])
                answers.append(client.post(url, json=body))
            else:
                answers.append(client.get(url))
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
        related, recommended, posted = (a.json() for a in answers)
        assert related["item"] == "85123A" and not related["fallback"] and len(related["items"]) == 5
        assert recommended["version"] == "v0001" and len(recommended["items"]) == 10
        assert posted == {"accepted": 1, "duplicates": 0}
        # the Events section's example is another event: stored, not an idempotency conflict
        event = json.loads(blocks("json")[0])
        assert client.post("/events", json=event).json() == {"accepted": 1, "duplicates": 0}
        keyless = {k: v for k, v in event.items() if k != "idempotency_key"}
        assert client.post("/events", json=keyless).status_code == 422  # "required", as the page says
        assert client.post("/events", json=keyless, headers={"Idempotency-Key": "order-992"}).status_code == 200
        after = client.get("/users/17850/recommendations?k=10").json()
        assert after["fresh_events"] == 3  # the purchases count at once, without a retrain

    (tmp_path / "serve.toml").write_text(blocks("toml")[0], encoding="utf-8")
    from discoverly.serve.config import load_config

    config = load_config(tmp_path / "serve.toml")
    assert [arm.version for arm in config.experiments[0].arms] == ["v0001", "v0002"]
    plans = [c for c in commands(bash[3], "discoverly experiment") if c[2] in ("plan", "list")]
    assert len(plans) == 3
    for plan in plans:
        assert main(plan[1:]) == 0, plan


def test_the_configuration_section_lists_every_setting() -> None:
    from discoverly.serve import ServeConfig

    section = TEXT.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([a-z_]+)`", section.split("command-line options override):", 1)[1].split(". ")[0]))
    assert set(ServeConfig.model_fields) <= listed, set(ServeConfig.model_fields) - listed
