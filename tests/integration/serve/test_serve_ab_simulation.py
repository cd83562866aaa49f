"""A/B simulation on real data: replay held-out Online Retail purchases through the service.

Two model versions fitted before the cutoff, one known to be better offline (recent bestsellers,
HitRate@6 about 0.28 on these customers, against all-time popularity, about 0.14), split 50/50 by
the service's hash; exposures are recorded by ``GET /users/{id}/recommendations``, the customers'
real purchases of the next 14 days are posted as events, and the analysis must find the better
arm. An A/A run (both arms the same version) re-split 400 times by different experiment names must
be significant about 5% of the time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from discoverly.data.interactions import to_epoch_seconds
from discoverly.evaluate.abtest import analyze_ab
from discoverly.serve.experiments import bucket

pytestmark = [pytest.mark.slow, pytest.mark.data]

CUTOFF = "2011-11-01"
WINDOW = 14 * 86_400
K = 6


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture(scope="module")
def retail(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from discoverly.data.datasets import load_dataset
    from discoverly.recommend.registry import create

    ds = load_dataset("online-retail-2011", shared_data)
    t = to_epoch_seconds(CUTOFF)
    log = ds.interactions
    train, window = log.before(t), log.between(t, t + WINDOW)
    root = tmp_path_factory.mktemp("ab-artifacts")
    good = create("bestsellers").fit(train)
    bad = create("popularity").fit(train)
    good.save(root / "models" / "good")
    bad.save(root / "models" / "bad")
    (root / "CURRENT").write_text("good\n")
    assert ds.catalog is not None
    ds.catalog.table.write_parquet(root / "catalog.parquet")
    before = np.zeros(log.n_users, dtype=bool)
    before[train.active_users()] = True
    test_users = [u for u in window.active_users() if before[u]]
    price = dict(zip(ds.catalog.table["item"].to_list(), ds.catalog.table["price"].to_list(), strict=True))
    events = [{"user": str(log.users.id(u)), "item": str(log.items.id(i)), "type": "purchase", "timestamp": int(ts),
               "quantity": float(q), "value": round(float(q) * float(price.get(log.items.id(i)) or 0.0), 2),
               "idempotency_key": f"or-{n}"}
              for n, (u, i, ts, q) in enumerate(zip(window.user_index, window.item_index, window.timestamp,
                                                    window.quantity, strict=True))]
    # offline: hit rate @K (new items) of both models on the same users
    users = [log.users.id(u) for u in test_users]
    bought = {}
    for u, i in zip(window.user_index.tolist(), window.item_index.tolist(), strict=True):
        bought.setdefault(u, set()).add(i)

    def hits(model: Any) -> np.ndarray:
        recs = model.recommend(users, K)
        return np.array([len(set(recs.indices[r][recs.indices[r] >= 0].tolist()) & bought[u]) > 0
                         for r, u in enumerate(test_users)], dtype=float)

    return {"root": root, "t": t, "users": [str(u) for u in users], "events": events,
            "offline_good": hits(good), "offline_bad": hits(bad)}


def _replay(retail: dict[str, Any], arms: list[dict[str, Any]], name: str) -> Any:
    from fastapi.testclient import TestClient

    from discoverly.serve import ServeConfig, create_app

    clock = Clock(retail["t"])
    cfg = ServeConfig(artifacts=retail["root"], store=f"sqlite:///{retail['root'] / (name + '.db')}",
                      admin_token="t", reload_poll_seconds=0,
                      experiments=[{"name": name, "arms": arms, "window_days": 14}])
    with TestClient(create_app(cfg, clock=clock)) as c:
        for u in retail["users"]:
            r = c.get(f"/users/{u}/recommendations", params={"k": K})
            assert r.status_code == 200
        clock.now = retail["t"] + WINDOW + 86_400
        ev = retail["events"]
        for a in range(0, len(ev), 20_000):
            r = c.post("/admin/events", json={"events": ev[a:a + 20_000]}, headers={"Authorization": "Bearer t"})
            assert r.status_code == 200, r.text
        analysis = c.get(f"/experiments/{name}").json()
        store = c.app.state.service.store
        return analysis, store.exposures(name), store.outcomes(name, window_seconds=WINDOW)


def test_better_arm_is_detected_and_aa_false_positive_rate_is_near_5_percent(retail: dict[str, Any]) -> None:
    good, bad = retail["offline_good"], retail["offline_bad"]
    assert good.mean() > bad.mean() + 0.03, (good.mean(), bad.mean())  # known better offline

    ab, exposures, _ = _replay(retail, [{"name": "popularity", "version": "bad", "share": 0.5},
                                        {"name": "bestsellers", "version": "good", "share": 0.5}], "ab")
    assert exposures.height == len(retail["users"])
    conv = next(c for c in ab["comparisons"] if c["metric"] == "conversion")
    assert conv["arm"] == "bestsellers" and conv["difference"] > 0 and conv["p_value"] < 0.01, ab
    assert conv["ci"][0] > 0
    assert ab["sample_ratio"]["mismatch"] is False
    # the online difference agrees with the offline one within its interval
    assert conv["ci"][0] <= good.mean() - bad.mean() <= conv["ci"][1] + 0.05

    # A/A: both arms the same version; re-split the customers by 400 experiment names
    _, aa_exposures, aa_outcomes = _replay(
        retail, [{"name": "a1", "version": "good", "share": 0.5}, {"name": "a2", "version": "good", "share": 0.5}],
        "aa")
    users = aa_exposures["user"].to_list()
    converted = set(aa_outcomes["user"].to_list())
    y = np.array([u in converted for u in users], dtype=float)
    significant = 0
    reps = 400
    for i in range(reps):
        in_a = np.array([bucket(f"aa-{i}", u) < 0.5 for u in users])
        res = analyze_ab({"A": y[in_a], "B": y[~in_a]}, {"A": y[in_a], "B": y[~in_a]}, n_boot=20, rng=i)
        significant += next(c for c in res.comparisons if c.metric == "conversion").p_value < 0.05
    rate = significant / reps
    assert 0.02 <= rate <= 0.09, f"A/A false positive rate {rate:.3f} over {reps} splits"
    print(f"\nA/B: {ab['arms']}\nconversion diff {conv['difference']:+.4f} {conv['ci']} p={conv['p_value']:.2g}; "
          f"offline hit rate good {good.mean():.4f} bad {bad.mean():.4f}; A/A false positive rate {rate:.3f} "
          f"({dt.date.today()})")
