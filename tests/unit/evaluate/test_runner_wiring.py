"""evaluate(): every setting reaches the step it controls (window, buckets, seeds, resamples, k of
the breakdowns, fill), checked on the hand-made log against hand-worked values and a plain numpy
version of the documented bootstrap recipes. Found by mutation testing of evaluate/runner.py."""

from __future__ import annotations

import functools
import logging

import numpy as np
import pytest

from discoverly.data import Interactions
from discoverly.errors import ConfigError, DataError
from discoverly.evaluate import evaluate
from discoverly.evaluate.protocol import split
from discoverly.evaluate.runner import recommend_top
from discoverly.recommend import create
from discoverly.recommend.popularity import Popularity, RecentBestsellers

from .conftest import CUTOFF, DAY, T0
from .test_runner import _shop


def _percentile_ci(values: np.ndarray, seed: int, n_boot: int) -> tuple[float, float]:
    """The documented percentile bootstrap: resample users with replacement, 2.5% / 97.5% of the means."""
    v = np.asarray(values, dtype=float)
    draws = np.random.default_rng(seed).integers(0, v.size, size=(n_boot, v.size))
    low, high = np.quantile(v[draws].mean(axis=1), [0.025, 0.975])
    return float(low), float(high)


def test_defaults_are_the_documented_ones(hand_log: Interactions, capsys: pytest.CaptureFixture[str]) -> None:
    ev = evaluate(hand_log, ["popularity"], CUTOFF, k=1)
    assert ev.window_days == 14.0 and ev.seed == 0 and ev.n_boot == 2000
    assert ev.config["fill"] is True and ev.config["n_buckets"] == 4 and ev.config["n_boot"] == 2000
    assert ev.fitted == {}  # only with keep_models
    assert capsys.readouterr().err == ""  # no progress bar unless asked
    # the interval: 2,000 resamples seeded 0 (new-items: u0 hit, u5 miss)
    hr = ev.metric("popularity", "HitRate@1")
    assert (hr.low, hr.high) == pytest.approx(_percentile_ci(np.array([1.0, 0.0]), 0, 2000))


def test_settings_reach_the_evaluation(hand_log: Interactions) -> None:
    ev = evaluate(hand_log, {"pop": Popularity()}, CUTOFF, k=1, n_boot=40, rng=3, fill=False, n_buckets=2,
                  dataset="toy", notes={"dropped": 1})
    assert ev.dataset == "toy" and ev.notes == {"dropped": 1} and ev.seed == 3 and ev.n_boot == 40
    assert ev.config == {"fill": False, "n_buckets": 2, "n_boot": 40,
                         "models": {"pop": {"class": "Popularity", "config": {}}}}
    cell = ev.cell("pop", variant="any-item")
    assert (cell.model, cell.cutoff, cell.variant) == ("pop", "2020-09-23", "any-item")


def test_the_window_decides_who_is_tested(hand_log: Interactions) -> None:
    # a 3-day window [day 10, day 13): u0 buys {1, 2}, u1 buys {0}; u5's purchase on day 13 falls outside
    ev = evaluate(hand_log, ["popularity"], CUTOFF, window_days=3, variants="any-item", k=1, n_boot=20)
    assert ev.window_days == 3.0
    assert ev.cell("popularity", variant="any-item").users.tolist() == [0, 1]
    # everyone is shown item 0 first: u1 is a hit, u0 is not
    assert ev.metric("popularity", "HitRate@1", variant="any-item").value == 0.5


def test_seed_and_resamples_reach_every_interval(hand_log: Interactions) -> None:
    ev = evaluate(hand_log, ["popularity"], CUTOFF, k=[1, 3], n_boot=40, rng=3, n_buckets=1)
    new = ev.cell("popularity", variant="new-items")
    hr = new.metrics["HitRate@1"]
    assert (hr.low, hr.high) == pytest.approx(_percentile_ci(np.array([1.0, 0.0]), 3, 40))
    # one activity group holding both users: the same hit rate and interval as HitRate@1
    act = new.buckets["activity"]
    assert len(act.labels) == 1
    assert (act.estimates[0].value, act.estimates[0].low, act.estimates[0].high) == pytest.approx(
        (0.5, *_percentile_ci(np.array([1.0, 0.0]), 3, 40)))
    # coverage@1: u0 is shown item 2, u5 item 0, of the recommendable 0, 1, 2; the interval is the
    # 200 resamples' quantiles re-centred on the point value 2/3
    cov = new.coverage["Coverage@1"]
    shown = [{2}, {0}]
    draws = np.random.default_rng(3).integers(0, 2, size=(200, 2))
    values = np.array([len(set().union(*(shown[u] for u in row))) / 3 for row in draws])
    low, high = np.quantile(values, [0.025, 0.975]) + (2 / 3 - values.mean())
    assert (cov.value, cov.low, cov.high) == pytest.approx((2 / 3, max(0.0, low), min(1.0, high)))


def test_breakdowns_use_the_first_k_and_the_seed() -> None:
    log = _shop()
    ev = evaluate(log, ["popularity"], CUTOFF - 10 * DAY, variants="any-item", k=[1, 6], n_buckets=1, n_boot=30,
                  rng=5)
    cell = ev.cell("popularity", variant="any-item")
    hit1 = cell.per_user["HitRate@1"]
    assert hit1.mean() != cell.per_user["HitRate@6"].mean()
    hr = cell.metrics["HitRate@1"]
    assert (hr.value, hr.low, hr.high) == pytest.approx((hit1.mean(), *_percentile_ci(hit1, 5, 30)))
    for kind in ("activity", "popularity"):  # one group of everyone (no item is first sold in the window)
        group = cell.buckets[kind]
        assert len(group.labels) == 1
        est = group.estimates[0]
        assert est.n == len(hit1)
        assert (est.value, est.low, est.high) == pytest.approx((hit1.mean(), *_percentile_ci(hit1, 5, 30)))


def test_n_buckets_sets_the_number_of_groups() -> None:
    ev = evaluate(_shop(), ["popularity"], CUTOFF - 10 * DAY, variants="any-item", k=1, n_buckets=2, n_boot=20)
    buckets = ev.cell("popularity", variant="any-item").buckets
    assert len(buckets["activity"].labels) == 2
    assert len([b for b in buckets["popularity"].labels if not b.startswith("new")]) == 2


def test_the_window_warning_is_said_once(hand_log: Interactions, caplog: pytest.LogCaptureFixture) -> None:
    late = T0 + 20 * DAY  # the window [day 20, day 34) runs past the last event (day 25): only u4 is tested
    for variants in ("both", "new-items", "any-item"):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="discoverly"):
            evaluate(hand_log, ["popularity"], late, variants=variants, k=1, n_boot=20)
        said = [r for r in caplog.records if "ends after the log's last event" in r.getMessage()]
        assert len(said) == 1, variants


def test_the_log_names_the_cutoff_and_its_sizes(hand_log: Interactions, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="discoverly.evaluate.runner"):
        evaluate(hand_log, ["popularity"], CUTOFF, k=1, n_boot=20)
    # 6 events before day 10; tested: u0, u5 (new-items) and u0, u1, u5 (any-item)
    assert "cutoff 2020-09-23: 6 training events; test users {'new-items': 2, 'any-item': 3}" in [
        r.getMessage() for r in caplog.records]


def test_progress_counts_every_model_at_every_cutoff(hand_log: Interactions,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    evaluate(hand_log, ["popularity", "bestsellers"], CUTOFF, k=1, n_boot=20, progress=True)
    err = capsys.readouterr().err
    assert "done bestsellers" in err and "2/2" in err


def test_model_names_and_kept_models(hand_log: Interactions) -> None:
    mine = Popularity()
    mine.name = "my-pop"  # type: ignore[misc]

    def recent() -> RecentBestsellers:
        return RecentBestsellers(window_days=7)

    seven = functools.partial(RecentBestsellers, window_days=7)  # no __name__: named by its repr
    ev = evaluate(hand_log, [mine, recent, seven], CUTOFF, k=1, n_boot=20, keep_models=True)
    assert ev.models == ["my-pop", "recent", repr(seven)]
    assert ev.fitted["my-pop"].name == "my-pop" and ev.fitted["my-pop"] is not mine
    assert ev.fitted["my-pop"].fit_seconds == ev.fit_seconds[("my-pop", "2020-09-23")] > 0
    # a comma-separated string is a list of names
    assert evaluate(hand_log, "popularity, bestsellers", CUTOFF, k=1, n_boot=20).models == [
        "popularity", "bestsellers"]
    with pytest.raises(ConfigError, match="cannot evaluate 42: expected a model name"):
        evaluate(hand_log, [42], CUTOFF)  # type: ignore[list-item]


def test_kept_models_are_those_of_the_first_cutoff() -> None:
    log = _shop()
    first, second = CUTOFF - 20 * DAY, CUTOFF - 10 * DAY
    ev = evaluate(log, ["popularity"], [first, second], variants="any-item", k=1, n_boot=20, keep_models=True)
    # popularity fitted before the first cutoff: each item's distinct buyers before it, not before the second
    before = log.timestamp < first
    pairs = set(zip(log.user_index[before].tolist(), log.item_index[before].tolist(), strict=True))
    buyers = np.bincount([i for _, i in pairs], minlength=log.n_items)
    assert ev.fitted["popularity"].item_scores_.tolist() == buyers.tolist()


def test_bad_k_and_seed_are_config_errors(hand_log: Interactions) -> None:
    with pytest.raises(ConfigError, match=r"^no models to evaluate; give at least one"):
        evaluate(hand_log, [], CUTOFF)
    with pytest.raises(ConfigError, match=r"^no cutoff given; pass at least one date"):
        evaluate(hand_log, ["popularity"], [])
    with pytest.raises(ConfigError, match="k must be one or more positive list lengths"):
        evaluate(hand_log, ["popularity"], CUTOFF, k=[])
    with pytest.raises(ConfigError, match=r"^rng must be an integer seed here, so every interval is reproducible$"):
        evaluate(hand_log, ["popularity"], CUTOFF, rng="3")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^rng must be an integer seed here"):
        evaluate(hand_log, ["popularity"], CUTOFF, rng=True)  # a bool was read as the seed 1


def test_variants_as_a_list(hand_log: Interactions) -> None:
    ev = evaluate(hand_log, ["popularity"], CUTOFF, variants=("any-item", "new-items"), k=1, n_boot=20)
    assert ev.variants == ["any-item", "new-items"]


def test_recommend_top_as_served_and_raw(hand_log: Interactions) -> None:
    s = split(hand_log, CUTOFF, variant="new-items")  # u0 (seen 0, 1), u5 (seen 2)
    pop = create("popularity").fit(s.train)  # 0 (3 buyers), 1 (2), 2 (1)
    assert recommend_top(pop, s, 3, fill=False).tolist() == [[2, -1, -1], [0, 1, -1]]
    # cosine has no neighbours on this log: raw lists are empty, served ones are the recent bestsellers
    cos = create("cosine").fit(s.train)
    assert recommend_top(cos, s, 3, fill=False).tolist() == [[-1, -1, -1], [-1, -1, -1]]
    assert recommend_top(cos, s, 3).tolist() == [[2, -1, -1], [0, 1, -1]]
    # what is excluded is what the user had bought before the cutoff, whatever the model saw:
    # fitted on the whole log, u0 (who also bought 2 in the window) is still shown 2
    full = create("popularity").fit(hand_log)
    for fill in (True, False):
        rows = recommend_top(full, s, 3, fill=fill).tolist()
        assert 2 in rows[0] and 0 not in rows[0] and 1 not in rows[0], fill


def test_fill_false_scores_the_raw_lists(hand_log: Interactions) -> None:
    # cosine has no neighbours on this log: raw lists are empty (no hits, nothing covered); served,
    # they are the recent bestsellers 0, 1, 2 minus what was seen: u0 gets [2] (a hit), u5 [0, 1]
    raw = evaluate(hand_log, ["cosine"], CUTOFF, k=1, n_boot=20, fill=False)
    assert raw.cell("cosine").per_user["HitRate@1"].tolist() == [0.0, 0.0]
    assert raw.cell("cosine").coverage["Coverage@1"].value == 0.0
    served = evaluate(hand_log, ["cosine"], CUTOFF, k=1, n_boot=20)
    assert served.cell("cosine").per_user["HitRate@1"].tolist() == [1.0, 0.0]
    # any-item, raw: seen items are allowed, everyone is shown popularity's 0, 1, 2
    ev = evaluate(hand_log, ["popularity"], CUTOFF, k=3, n_boot=20, fill=False, variants="any-item")
    assert ev.cell("popularity", variant="any-item").coverage["Coverage@3"].value == 1.0
    assert ev.cell("popularity", variant="any-item").per_user["HitRate@3"].tolist() == [1.0, 1.0, 0.0]


def test_every_cutoffs_window_is_checked_before_fitting(hand_log: Interactions) -> None:
    fitted: list[str] = []

    def make() -> Popularity:
        fitted.append("p")
        return Popularity()

    # the 3 days from day 14 hold no event (14 days would reach u4's purchase on day 25)
    with pytest.raises(DataError, match="no events in the 3 days"):
        evaluate(hand_log, {"p": make}, [CUTOFF, T0 + 14 * DAY], window_days=3)
    assert fitted == []
