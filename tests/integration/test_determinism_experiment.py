"""The same experiment store gives the same analysis from the command line and from the service."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from discoverly.cli.app import main
from discoverly.data import Interactions, Vocabulary


def test_experiment_analyze_and_the_service_report_the_same_analysis(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`discoverly experiment analyze NAME --json` and `GET /experiments/NAME` read the same store with the
    same seed: their intervals must agree exactly (the command took 2,000 bootstrap resamples, the service
    1,000, so the revenue intervals differed, e.g. [3.40, 5.02] against [3.32, 5.04])."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from discoverly.recommend.popularity import RecentBestsellers
    from discoverly.serve import ServeConfig, create_app
    from discoverly.serve.config import ExperimentConfig
    from discoverly.serve.store import Event, Exposure, open_store

    rng = np.random.default_rng(0)
    log = Interactions(Vocabulary([f"u{i}" for i in range(20)], name="user"),
                       Vocabulary([f"i{i}" for i in range(10)], name="item"),
                       rng.integers(0, 20, 200), rng.integers(0, 10, 200), np.sort(rng.integers(0, 10**6, 200)))
    root = tmp_path / "artifacts"
    RecentBestsellers().fit(log).save(root / "models" / "v0001")
    RecentBestsellers(window_days=3.0).fit(log).save(root / "models" / "v0002")
    (root / "CURRENT").write_text("v0001\n")
    with open_store(f"sqlite:///{root / 'events.db'}") as st:
        for n in range(400):
            arm = "A" if n % 2 else "B"
            st.add_exposure(Exposure("exp1", arm, f"c{n}", "v1", 1000, ("i1", "i2")))
            if n % (3 if arm == "B" else 5) == 0:
                st.add([Event(f"k{n}", f"c{n}", "i2", "purchase", 2000, 1.0, 9.5 + n % 7)], received=1)
    cfg = ServeConfig(artifacts=root, experiments=[ExperimentConfig(name="exp1", arms=[
        {"name": "A", "version": "v0001", "share": 0.5}, {"name": "B", "version": "v0002", "share": 0.5}])])
    with TestClient(create_app(cfg)) as client:
        served = client.get("/experiments/exp1").json()
    config = tmp_path / "serve.json"
    config.write_text(cfg.model_dump_json())
    assert main(["experiment", "analyze", "exp1", "--config", str(config), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [a["revenue"]["ci"] for a in printed["arms"]] == [a["revenue"]["ci"] for a in served["arms"]]
    assert printed == served
