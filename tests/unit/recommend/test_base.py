"""BaseRecommender: exclusion of seen items, the bestseller fallback and fill, results, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discoverly.data import Interactions
from discoverly.errors import ArtifactError, ConfigError, DataError, NotFittedError
from discoverly.recommend import BaseRecommender, History, recent_bestsellers
from discoverly.recommend.popularity import Popularity, RecentBestsellers

from .conftest import DAY, T0


class Scrambled(BaseRecommender):
    """Scores every item by a fixed random vector, except a few items it has no opinion on."""

    name = "scrambled"

    def __init__(self, rng: int = 0) -> None:
        super().__init__()
        self.rng = rng

    def config(self) -> dict:
        return {"rng": self.rng}

    def _fit(self, interactions: Interactions) -> None:
        gen = np.random.default_rng(self.rng)
        self.scores_ = gen.random(interactions.n_items).astype(np.float32)
        self.scores_[gen.random(interactions.n_items) < 0.3] = -np.inf

    def _score(self, history: History) -> np.ndarray:
        return np.tile(self.scores_, (len(history), 1))


@st.composite
def logs(draw: st.DrawFn) -> Interactions:
    n_users = draw(st.integers(1, 12))
    n_items = draw(st.integers(1, 15))
    events = draw(st.lists(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1),
                                     st.integers(0, 30)), min_size=1, max_size=60))
    u, i, d = zip(*events, strict=True)
    return Interactions.from_indices(u, i, T0 + np.array(d) * DAY, n_users=n_users, n_items=n_items)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs(), k=st.integers(1, 20), rng=st.integers(0, 5), batch=st.integers(1, 4))
def test_never_recommends_a_seen_item(log: Interactions, k: int, rng: int, batch: int) -> None:
    model = Scrambled(rng)
    model.batch_size = batch  # type: ignore[misc]  # exercise batching
    model.fit(log)
    users = list(range(log.n_users))
    out = model.recommend(users, k=k)
    seen = log.matrix("binary")
    for u in users:
        own = seen.indices[seen.indptr[u]:seen.indptr[u + 1]]
        got = out.indices[u][out.indices[u] >= 0]
        assert not np.isin(got, own).any()
        assert len(set(got.tolist())) == len(got)
        # the list is as long as the unseen catalogue allows (model opinions + bestseller fill)
        reachable = set(model._fallback.tolist()) - set(own.tolist())
        opinions = {i for i in range(log.n_items) if np.isfinite(model.scores_[i])} - set(own.tolist())
        if len(own) == 0:  # no history: the recent bestsellers only
            opinions = set()
        assert len(got) == min(k, len(reachable | opinions))
        sc = out.scores[u][: len(got)]
        assert (np.diff(sc) <= 0).all()
    anyway = model.recommend(users, k=k, exclude_seen=False)
    for u in users:
        got = anyway.indices[u][anyway.indices[u] >= 0]
        assert len(set(got.tolist())) == len(got)


def test_fallback_flags_and_fill(tiny_log: Interactions) -> None:
    model = Scrambled(1).fit(tiny_log)
    out = model.recommend([0, 99, 3], k=3)
    assert out.fallback.tolist() == [False, True, False]
    # the unknown user gets the recent bestsellers, not the model's scores for an empty history
    assert out.ids(1) == recent_bestsellers(tiny_log, now=int(tiny_log.timestamp[-1]) + 1)[0][:3].tolist()
    assert out.ids(0) != out.ids(1)
    short = model.recommend([0, 99], k=5, fill=False)
    assert (short.indices[1] == -1).all()  # no fill: nothing for the unknown user
    opinions = np.isfinite(model.scores_).sum() - 3  # user 0 has seen items 0, 1, 2
    assert (short.indices[0] >= 0).sum() == min(5, opinions)
    with pytest.raises(ConfigError, match="k must be"):
        model.recommend([0], k=0)
    with pytest.raises(ConfigError, match="rows"):
        model.recommend([0, 1], k=2, history=History.empty(1, tiny_log.n_items))


def test_recent_bestsellers_by_hand(tiny_log: Interactions) -> None:
    # tiny_log: day 0..9; users/items = (0,0) (0,1) (0,2) (1,0) (1,1) (2,1) (2,2) (2,3) (2,4) (3,0)
    now = T0_TINY + 10 * DAY
    order, buyers = recent_bestsellers(tiny_log, window_days=5, now=now)
    # window = days 5..9: (2,1) (2,2) (2,3) (2,4) (3,0): one buyer each; ties by all-time buyers
    # all-time buyers: item 0: 3, item 1: 3, item 2: 2, items 3, 4: 1
    assert order.tolist() == [0, 1, 2, 3, 4]
    assert buyers.tolist() == [1, 1, 1, 1, 1]
    order, buyers = recent_bestsellers(tiny_log, window_days=2, now=now)  # days 8, 9: items 4 and 0
    assert order[:2].tolist() == [0, 4] and buyers[:2].tolist() == [1, 1]


T0_TINY = 1_700_000_000


def test_popularity_and_bestsellers_by_hand(tiny_log: Interactions) -> None:
    pop = Popularity().fit(tiny_log)
    assert pop.item_scores_.tolist() == [3, 3, 2, 1, 1]
    assert pop.recommend([3], k=2).ids(0) == [1, 2]  # user 3 has item 0
    best = RecentBestsellers(window_days=2).fit(tiny_log)  # last event day 9: window days 8..9
    assert best.recommend([99], k=2).ids(0) == [0, 4]
    for window_days in (0, float("nan"), float("inf")):  # NaN and infinity failed at fit, with a raw error
        with pytest.raises(ConfigError, match="window_days must be a positive number of days"):
            RecentBestsellers(window_days=window_days)


def test_results_export(tiny_log: Interactions) -> None:
    out = Popularity().fit(tiny_log).recommend([0, 99], k=2)
    df = out.to_polars()
    assert df.columns == ["user", "rank", "item", "score", "fallback"]
    assert df.filter(pl.col("user") == 99)["fallback"].all()
    rows = out.to_dicts()
    assert rows[1]["user"] == 99 and rows[1]["fallback"] is True and len(rows[1]["items"]) == 2
    json.dumps(rows)
    assert next(list(r) for r in out) == list(zip(out.ids(0), out.scores[0].tolist(), strict=True))


def test_persistence_errors(tiny_log: Interactions, tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        Popularity().save(tmp_path / "x")
    path = Popularity().fit(tiny_log).save(tmp_path / "pop")
    with pytest.raises(ArtifactError, match="Popularity"):
        RecentBestsellers.load(path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["class"] = "os.system"
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="refusing"):
        BaseRecommender.load(path)
    with pytest.raises(ArtifactError):
        BaseRecommender.load(tmp_path / "missing")


def test_save_never_replaces_a_file_or_a_folder_that_is_not_an_artifact(tiny_log: Interactions,
                                                                          tmp_path: Path) -> None:
    model = Popularity().fit(tiny_log)
    data = tmp_path / "events.csv"
    data.write_text("user,item\n")
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    for target in (data, folder):
        with pytest.raises(ArtifactError, match="replace"):
            model.save(target)
    assert data.read_text() == "user,item\n" and (folder / "notes.txt").read_text() == "keep me"
    # an empty folder and an earlier artifact are replaced
    (tmp_path / "empty").mkdir()
    assert (model.save(tmp_path / "empty") / "manifest.json").is_file()
    path = model.save(tmp_path / "pop")
    assert model.save(path) == path and (path / "manifest.json").is_file()


def test_a_single_id_or_a_fractional_k_is_a_clear_error(tiny_log: Interactions) -> None:
    from discoverly.recommend.item_to_item import ItemToItem

    model = ItemToItem("cosine", min_count=1).fit(tiny_log)
    # a string was iterated as one user per character: "17" asked for users "1" and "7"
    for bad in ("17", 0, np.int64(0)):
        with pytest.raises(ConfigError, match="list of user ids"):
            model.recommend(bad, k=3)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="list of item ids"):
            model.related(bad, k=3)  # type: ignore[arg-type]
    for k in (2.5, True, "3"):
        with pytest.raises(ConfigError, match="k must be"):
            model.recommend([0], k=k)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="k must be"):
            model.related([0], k=k)  # type: ignore[arg-type]
    assert model.recommend(np.array([0, 1]), k=np.int64(2)).indices.shape == (2, 2)
    assert len(model.related((0,), k=2)) == 1


def test_create_names_a_setting_of_the_wrong_type_or_unknown() -> None:
    """create("corrected", neighbours="50") was a bare TypeError ('<' not supported between 'str'
    and 'int'); the command line caught it, the Python API did not."""
    from discoverly.recommend import create

    with pytest.raises(ConfigError, match=r"'corrected': a setting has the wrong type \(neighbours='50'\)"):
        create("corrected", neighbours="50")
    with pytest.raises(ConfigError, match=r"wrong type \(min_count=None\)"):
        create("cosine", min_count=None)
    with pytest.raises(ConfigError, match=r"'corrected' does not accept \['neighbors'\]"):
        create("corrected", neighbors=50)


def test_an_unknown_setting_is_named_alone_with_the_settings_there_are() -> None:
    """Only the unknown settings are named (a valid min_count beside a misspelt one was listed too), with
    the model's settings and the closest spelling, instead of Python's "__init__() got an unexpected
    keyword argument"."""
    from discoverly.recommend import create

    with pytest.raises(ConfigError) as err:
        create("corrected", min_count=3, neighbors=50)
    assert str(err.value) == ("model 'corrected' does not accept ['neighbors']; its settings are: half_life_days, "
                              "max_history, min_count, neighbours, normalize, recent_items, score. "
                              "Did you mean neighbours?")
    with pytest.raises(ConfigError) as err:
        create("popularity", window_days=7)
    assert str(err.value) == "model 'popularity' does not accept ['window_days']; it has no settings."
    with pytest.raises(ConfigError) as err:
        create("ease", zzz=1, max_item=2)
    assert str(err.value) == ("model 'ease' does not accept ['max_item', 'zzz']; its settings are: l2, max_items. "
                              "Did you mean max_items?")


@pytest.mark.parametrize("not_a_log", [pl.DataFrame({"user": [1], "item": [2]}), [(1, 2)], None, "log.csv"])
def test_fit_on_something_other_than_interactions_says_how_to_build_them(not_a_log: object) -> None:
    # a DataFrame passed straight to fit() was "AttributeError: 'DataFrame' object has no attribute 'users'"
    with pytest.raises(DataError, match=r"Popularity.fit\(\) expects an Interactions log, got a .*read_interactions"):
        Popularity().fit(not_a_log)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [5, ["corrected"], None])
def test_create_with_a_name_that_is_not_a_string_is_a_config_error(name: object) -> None:
    # create(["corrected"]) was "TypeError: unhashable type: 'list'", create(5) "'int' object is not iterable"
    from discoverly.recommend import create

    with pytest.raises(ConfigError, match=r"the model name must be a string such as 'corrected'.*known models: "):
        create(name)  # type: ignore[arg-type]


def test_a_history_over_other_items_or_a_manifest_that_fits_no_model_is_named(tiny_log: Interactions,
                                                                              tmp_path: Path) -> None:
    """A History of the wrong width was a raw IndexError or matmul error; saved settings that no
    longer make the model (a hand-edited manifest) a raw TypeError at load."""
    from discoverly.recommend.item_to_item import ItemToItem

    model = ItemToItem("cosine", min_count=1).fit(tiny_log)
    narrow = History.empty(2, len(model.items) - 1)
    with pytest.raises(ConfigError, match=rf"{len(model.items) - 1} item columns but the model knows"):
        model.recommend(list(model.users)[:2], k=2, history=narrow)
    model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["config"]["no_such_setting"] = 1
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="saved settings do not make a model of class ItemToItem"):
        BaseRecommender.load(tmp_path / "m")


class Fixed(BaseRecommender):
    """Fixed scores for items 0 and 3 (negative ones), no opinion on the others; keeps the histories it scored."""

    name = "fixed"

    def _fit(self, interactions: Interactions) -> None:
        self.scored: list[History] = []

    def _score(self, history: History) -> np.ndarray:
        self.scored.append(history)
        row = np.full(history.n_items, -np.inf, dtype=np.float32)
        row[[0, 3]] = [-0.5, -2.0]
        return np.tile(row, (len(history), 1))


def test_lists_are_filled_with_unseen_bestsellers_below_the_lowest_model_score(tiny_log: Interactions) -> None:
    # tiny_log's bestsellers (all ten days are in the 14-day window), by distinct buyers and then the lower
    # index: items 0 and 1 (3 buyers), 2 (2), 3 and 4 (1). User 3 bought item 0: the model's only unseen
    # opinion is item 3 (-2.0), then the bestsellers other than 0 and 3
    model = Fixed().fit(tiny_log)
    for k, expected in ((2, [3, 1]), (4, [3, 1, 2, 4]), (6, [3, 1, 2, 4, -1, -1])):
        out = model.recommend([3], k=k)
        assert out.indices[0].tolist() == expected and not out.fallback[0]
        sc = out.scores[0][out.indices[0] >= 0]
        assert sc[0] == -2.0 and (np.diff(sc) < 0).all()  # the bestsellers rank below the model's -2.0
    out = model.recommend([3], k=4, exclude_seen=False)  # item 0 is the model's best (-0.5) again
    assert out.indices[0].tolist() == [0, 3, 1, 2] and (np.diff(out.scores[0]) < 0).all()
    out = model.recommend([99], k=3)  # unknown: the bestsellers, nothing of the model
    assert out.indices[0].tolist() == [0, 1, 2] and out.fallback[0] and (np.diff(out.scores[0]) < 0).all()


def test_a_batch_of_known_and_unknown_users_keeps_the_known_histories_times_and_now(tiny_log: Interactions) -> None:
    model = Fixed().fit(tiny_log)
    assert model.trained_until == T0_TINY + 9 * DAY + 1  # the last event, plus one second
    model.recommend([0, 99, 2], k=2)
    hist = model.scored[-1]
    day = [T0_TINY + d * DAY for d in range(10)]
    # user 0 bought items 0, 1, 2 on days 0, 1, 2; user 2 items 1, 2, 3, 4 on days 5..8; user 99 is unknown
    assert hist.days.toarray().tolist() == [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]]
    assert hist.first.toarray().tolist() == [[day[0], day[1], day[2], 0, 0], [0] * 5,
                                             [0, day[5], day[6], day[7], day[8]]]
    assert hist.last.toarray().tolist() == hist.first.toarray().tolist()  # one event per pair
    assert hist.now == model.trained_until
    one = model.history(np.array([2]))
    assert one.first.toarray().tolist() == [[0, day[5], day[6], day[7], day[8]]] and one.now == model.trained_until
    assert model.history(np.array([0, 2]), now=T0_TINY + 30 * DAY).now == T0_TINY + 30 * DAY
    assert model.history(np.array([2]), now=T0_TINY + 30 * DAY).now == T0_TINY + 30 * DAY


def test_recent_bestsellers_window_edges_limit_and_items_never_bought() -> None:
    last = T0_TINY + 40 * DAY
    start = last + 1 - 14 * DAY  # the default window: 14 days before the last event plus one second
    # item 0: one buyer at the window's first second; item 1: two buyers one second before it; item 2: one
    # buyer at the last event; item 3: never bought; item 4: one buyer 30 days before
    events = [(0, 4, last - 30 * DAY), (1, 1, start - 1), (2, 1, start - 1), (0, 0, start), (3, 2, last)]
    u, i, t = zip(*events, strict=True)
    log = Interactions.from_indices(list(u), list(i), np.array(t), n_users=4, n_items=5)
    order, buyers = recent_bestsellers(log)
    assert order.tolist() == [0, 2, 1, 4] and buyers.tolist() == [1, 1, 0, 0]
    assert recent_bestsellers(log, limit=2)[0].tolist() == [0, 2]
    order, buyers = recent_bestsellers(log, window_days=1, now=last + 30 * DAY)  # nothing in the window
    assert order.tolist() == [1, 0, 2, 4] and buyers.tolist() == [0, 0, 0, 0]  # all-time buyers decide
    empty = Interactions.from_indices([], [], np.array([], dtype=np.int64), n_users=1, n_items=3)
    order, buyers = recent_bestsellers(empty)
    assert order.tolist() == [] and buyers.tolist() == []


def test_fit_records_its_bookkeeping_and_keeps_at_most_fallback_size_bestsellers(
        tiny_log: Interactions, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    class Short(Fixed):
        fallback_size = 2

    with caplog.at_level(logging.INFO, logger="discoverly.recommend.base"):
        model = Short().fit(tiny_log)
    assert model._fallback is not None and model._fallback.tolist() == [0, 1]
    assert model.fingerprint == tiny_log.fingerprint()
    assert model.fit_seconds is not None and 0 <= model.fit_seconds < 60
    assert f"fitted Short() on {tiny_log} in " in caplog.text
    out = model.recommend([1])  # k defaults to 10, and seen items are excluded by default
    assert out.indices.shape == (1, 10) and out.model == "fixed"
    idx, _ = model.recommend_indices(model.history(np.array([3])))
    assert idx.shape == (1, 10) and idx[0, 0] == 3  # item 0 (the model's best) was bought by user 3
    empty = Interactions.from_indices([], [], np.array([], dtype=np.int64), n_users=1, n_items=3)
    with pytest.raises(DataError, match=r"^cannot fit Fixed on an empty interaction log$"):
        Fixed().fit(empty)
