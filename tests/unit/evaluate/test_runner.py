"""evaluate(): the whole protocol on the hand-made log, where every number is known."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from discoverly.data import Interactions
from discoverly.errors import ConfigError, DataError, UnknownIdError
from discoverly.evaluate import evaluate
from discoverly.recommend import BaseRecommender, create
from discoverly.recommend.popularity import Popularity, RecentBestsellers

from .conftest import CUTOFF, DAY


def test_known_answers_in_both_variants(hand_log: Interactions) -> None:
    ev = evaluate(hand_log, ["popularity", "bestsellers"], [CUTOFF], k=[1, 2, 3], n_boot=200)
    # new-items: u0 is shown [2] (0 and 1 are seen) and buys 2; u5 is shown [0, 1] and buys new item 4
    new = ev.cell("popularity", variant="new-items")
    assert new.users.tolist() == [0, 5]
    assert new.per_user["HitRate@1"].tolist() == [1.0, 0.0]
    assert ev.metric("popularity", "HitRate@1").value == 0.5
    assert new.coverage["Coverage@1"].value == pytest.approx(2 / 3)  # items 2 and 0 of 0, 1, 2
    # any-item: everyone is shown [0, 1, 2]; u0 buys {1, 2}, u1 buys {0}, u5 buys {4}
    anyi = ev.cell("popularity", variant="any-item")
    assert anyi.users.tolist() == [0, 1, 5]
    assert anyi.per_user["HitRate@1"].tolist() == [0.0, 1.0, 0.0]
    assert anyi.per_user["HitRate@2"].tolist() == [1.0, 1.0, 0.0]
    assert anyi.per_user["Recall@2"].tolist() == [0.5, 1.0, 0.0]
    # all training events lie in the 14 days before the cutoff: bestsellers == popularity
    assert ev.metric("bestsellers", "HitRate@2", variant="any-item").value == pytest.approx(2 / 3)
    p = ev.paired("popularity", "bestsellers", "HitRate@2", variant="any-item")
    assert p.test.p_value == 1.0 and p.test.difference.value == 0.0
    # computed once (the JSON and the HTML report both ask), the same as a fresh computation
    assert ev.paired("popularity", "bestsellers", "HitRate@2", ev.primary_cutoff, "any-item") is p
    assert ev._paired_test("popularity", "bestsellers", "HitRate@2", None, "any-item") == p


def test_json_has_the_documented_shape(hand_log: Interactions) -> None:
    ev = evaluate(hand_log, ["popularity", "bestsellers"], [CUTOFF], k=[1, 3], n_boot=100)
    out = json.loads(ev.to_json())
    assert [m["name"] for m in out["models"]] == ["popularity", "bestsellers"]
    first = out["models"][0]
    assert isinstance(first["fit_seconds"], float)
    hr = first["metrics"]["HitRate@1"]
    assert set(hr) >= {"value", "ci"} and len(hr["ci"]) == 2 and hr["ci"][0] <= hr["value"] <= hr["ci"][1]
    assert set(first["metrics"]) == {"HitRate@1", "Recall@1", "NDCG@1", "HitRate@3", "Recall@3", "NDCG@3",
                                     "Coverage@1", "Coverage@3"}
    assert first["variants"]["new-items"] == first["metrics"]
    assert first["variants"]["any-item"]["HitRate@1"]["value"] == pytest.approx(1 / 3)
    assert [(c["cutoff"], c["variant"]) for c in first["cutoffs"]] == [("2020-09-23", "new-items"),
                                                                       ("2020-09-23", "any-item")]
    assert out["primary"] == {"cutoff": "2020-09-23", "variant": "new-items", "metric": "HitRate@1"}
    assert {(p["a"], p["b"], p["variant"]) for p in out["paired"]} == {
        ("popularity", "bestsellers", "new-items"), ("popularity", "bestsellers", "any-item")}
    assert "pooled" not in first
    assert first["buckets"]["new-items"]["activity"]["buckets"][0]["n"] >= 1


def test_same_seed_same_output(hand_log: Interactions) -> None:
    a = evaluate(hand_log, ["popularity"], [CUTOFF], rng=3, n_boot=100).to_dict()
    b = evaluate(hand_log, ["popularity"], [CUTOFF], rng=3, n_boot=100).to_dict()
    for d in (a, b):
        for m in d["models"]:
            m.pop("fit_seconds")
            for c in m["cutoffs"]:
                c.pop("fit_seconds")
    assert a == b


def _shop(seed: int = 0) -> Interactions:
    """Two items sell steadily all the time; item 2 becomes the hit of the last weeks."""
    gen = np.random.default_rng(seed)
    rows = []
    for user in range(300):
        for day in sorted(gen.choice(120, size=4, replace=False)):
            hot = day >= 70 and gen.random() < 0.7
            rows.append((user, 2 if hot else int(gen.integers(0, 2) if gen.random() < 0.6 else gen.integers(3, 30)),
                         int(day)))
    u, i, d = zip(*rows, strict=True)
    return Interactions.from_indices(u, i, CUTOFF - 100 * DAY + np.array(d) * DAY + 3600)


def test_several_cutoffs_pool_with_user_clusters() -> None:
    log = _shop()
    cuts = [CUTOFF - 20 * DAY, CUTOFF - 10 * DAY]
    ev = evaluate(log, ["popularity", "bestsellers"], cuts, variants="any-item", k=[1], n_boot=300)
    assert ev.cutoffs == ["2020-09-03", "2020-09-13"]
    assert ev.variants == ["any-item"]
    pooled = ev.metric("bestsellers", "HitRate@1", cutoff="pooled")
    per = [ev.cell("bestsellers", c) for c in ev.cutoffs]
    total = sum(float(c.per_user["HitRate@1"].sum()) for c in per)
    assert pooled.value == pytest.approx(total / sum(len(c.users) for c in per))
    assert pooled.n == sum(len(c.users) for c in per)
    # the recent hit is what people buy: bestsellers beat all-time popularity clearly
    test = ev.paired("bestsellers", "popularity", cutoff="pooled")
    assert test.test.difference.value > 0 and test.test.p_value < 0.01
    out = ev.to_dict()
    assert set(out["models"][0]["pooled"]) == {"any-item"}
    assert {p["cutoff"] for p in out["paired"]} == {"2020-09-03", "pooled"}
    board = ev.leaderboard(cutoff="pooled")
    assert board["model"].to_list()[0] == "bestsellers"


def test_models_by_instance_factory_and_mapping(hand_log: Interactions) -> None:
    ev = evaluate(hand_log, {"pop": Popularity(), "recent-7": lambda: RecentBestsellers(window_days=7),
                             "recent": RecentBestsellers(window_days=3)}, CUTOFF, k=1, n_boot=50,
                  keep_models=True)
    assert ev.models == ["pop", "recent-7", "recent"]
    assert ev.config["models"]["recent"]["config"] == {"window_days": 3.0}
    assert isinstance(ev.fitted["recent-7"], RecentBestsellers)


def test_bad_arguments_are_config_errors(hand_log: Interactions) -> None:
    with pytest.raises(ConfigError, match=r"known models: .*popularity"):
        evaluate(hand_log, ["popularity", "no-such-model"], [CUTOFF])
    with pytest.raises(ConfigError, match="unique"):
        evaluate(hand_log, ["popularity", "popularity"], [CUTOFF])
    with pytest.raises(ConfigError, match="no cutoff"):
        evaluate(hand_log, ["popularity"], [])
    with pytest.raises(ConfigError, match="k must"):
        evaluate(hand_log, ["popularity"], [CUTOFF], k=[0])
    with pytest.raises(ConfigError, match="twice"):
        evaluate(hand_log, ["popularity"], [CUTOFF, "2020-09-23"])
    with pytest.raises(ConfigError, match="no models"):
        evaluate(hand_log, [], [CUTOFF])
    for n_boot in (0, -5, 2.5):  # was a raw IndexError / ValueError from numpy after the models were fitted
        with pytest.raises(ConfigError, match="n_boot"):
            evaluate(hand_log, ["popularity"], [CUTOFF], n_boot=n_boot)  # type: ignore[arg-type]


def test_a_repeated_or_unreadable_cutoff_fails_before_any_model_is_fitted(hand_log: Interactions) -> None:
    fitted: list[str] = []

    def make() -> BaseRecommender:
        fitted.append("popularity")
        return create("popularity")

    with pytest.raises(ConfigError, match="twice"):
        evaluate(hand_log, {"p": make}, [CUTOFF, "2020-09-23T00:00:00"])
    with pytest.raises(DataError, match="cannot read the time"):
        evaluate(hand_log, {"p": make}, [CUTOFF, "2020-13-01"])
    with pytest.raises(DataError, match="choose an earlier cutoff"):  # a later cutoff past the log's end
        evaluate(hand_log, {"p": make}, [CUTOFF, "2031-01-01"])
    for window_days in (0, float("nan")):
        with pytest.raises(ConfigError, match="window_days must be a positive number of days"):
            evaluate(hand_log, {"p": make}, [CUTOFF], window_days=window_days)
    for k in ("6,10", 6.5, [6, "x"]):
        with pytest.raises(ConfigError, match=r"e\.g\. k=6 or k=\[6, 10\]"):
            evaluate(hand_log, {"p": make}, [CUTOFF], k=k)  # type: ignore[arg-type]
    assert fitted == []


def test_lookups_of_unknown_things_name_the_known_ones(hand_log: Interactions) -> None:
    ev = evaluate(hand_log, ["popularity"], [CUTOFF], k=1, n_boot=50)
    with pytest.raises(UnknownIdError, match="popularity"):
        ev.metric("cosine")
    with pytest.raises(UnknownIdError, match="HitRate@1"):
        ev.metric("popularity", "HitRate@9")
    with pytest.raises(UnknownIdError, match="2020-09-23"):
        ev.cell("popularity", "2011-01-01")


def test_a_data_frame_instead_of_interactions_is_a_data_error() -> None:
    frame = pl.DataFrame({"user": [1, 2], "item": [3, 4], "ts": ["2024-01-01", "2024-01-02"]})
    with pytest.raises(DataError, match=r"evaluate\(\) expects an Interactions log, got a polars DataFrame"):
        evaluate(frame, ["popularity"], ["2024-01-02"])  # type: ignore[arg-type]
