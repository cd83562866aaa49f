"""The synthetic store's numbers: each promise of docs/data.md and the module docstring, checked
against values worked out by hand from the recipe (not against the generator's own output).

The stores are small (a fraction of a second each) and seeded, so every test is deterministic;
the bounds leave room for sampling noise but not for a changed constant.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from discoverly.data import load_dataset
from discoverly.data.datasets.dataset import Dataset
from discoverly.data.quality import profile
from discoverly.data.synthetic import SYNTHETIC_LABEL, synthetic_store
from discoverly.errors import ConfigError

_DAY = 86_400
# docs/data.md: seasonal themes and the day of the year (2023) their sales peak
_PEAKS = {"Valentine": 40, "Easter": 95, "Garden": 140, "Summer": 190, "Halloween": 300, "Lighting": 320,
          "Christmas": 345}


@pytest.fixture
def shop() -> Dataset:
    # 320 items -> 16 themes: every theme once, so a category is one theme. Built for each test (0.2 s), not
    # once per module: mutation testing credits a module fixture's code to the first test that uses it only
    return synthetic_store(n_customers=1500, n_items=320, days=365, rng=4)


def _epoch_day(dates: pl.Series) -> np.ndarray:
    return dates.cast(pl.Datetime("us")).dt.epoch("s").to_numpy() // _DAY


def _baskets(ds: Dataset) -> pl.DataFrame:
    """The log's lines with their basket (a customer's lines at one time) and place in it."""
    log = ds.interactions
    assert ds.catalog is not None
    group = ds.catalog.aligned(log.items)["complement_group"].to_numpy()
    return (pl.DataFrame({"u": log.user_index, "t": log.timestamp, "i": log.item_index,
                          "g": group[log.item_index]})
            .with_columns(slot=pl.int_range(pl.len()).over("u", "t"),
                          first_item=pl.col("i").first().over("u", "t"),
                          first_group=pl.col("g").first().over("u", "t")))


def test_the_default_store_is_the_one_docs_data_md_describes() -> None:
    # docs/data.md's table: synthetic-store, 70,046 events, 2,000 customers, 499 items (of 500), one year
    ds = load_dataset("synthetic-store")
    log = ds.interactions
    assert (len(log), log.n_users, log.n_items) == (70_046, 2_000, 499)
    assert log.start is not None and log.start.date() == dt.date(2023, 1, 1)
    assert log.end is not None and log.end.date() == dt.date(2023, 12, 31)
    assert ds.catalog is not None and len(ds.catalog) == 500
    assert ds.notes["parameters"] == {
        "n_customers": 2000, "n_items": 500, "days": 365, "start": "2023-01-01", "zipf_exponent": 0.9,
        "baskets_per_month": 1.2, "mean_basket_size": 3.5, "complement_prob": 0.35, "repeat_prob": 0.2,
        "new_item_share": 0.25, "rng": 0}


def test_the_generation_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="discoverly.data.synthetic"):
        ds = synthetic_store(n_customers=20, n_items=10, days=10, rng=1)
    message = caplog.records[-1].getMessage()
    assert message.startswith(f"generated a synthetic store: {ds.interactions} in ") and message.endswith("s")


def test_the_notes_count_what_was_made() -> None:
    ds = synthetic_store(n_customers=200, n_items=80, days=60, rng=np.random.default_rng(2))
    log = ds.interactions
    notes = ds.notes
    assert notes["synthetic"] is True and notes["label"] == SYNTHETIC_LABEL and notes["dropped"] == {}
    assert notes["source"] == "discoverly.data.synthetic.synthetic_store" and notes["files"] == []
    assert notes["parameters"]["rng"] == "Generator" and notes["parameters"]["n_customers"] == 200
    assert notes["rows_read"] == notes["events"] == len(log)
    assert (notes["users"], notes["items"]) == (log.n_users, log.n_items) == (200, log.n_items)
    assert notes["baskets"] == _baskets(ds).select("u", "t").n_unique()
    assert set(notes["lines_by_kind"]) == {"fresh", "complement", "repeat"}
    assert sum(notes["lines_by_kind"].values()) == len(log)
    assert notes["quantity"] == "units bought on the line"
    assert isinstance(notes["load_seconds"], float) and 0 <= notes["load_seconds"] < 30
    assert notes["load_seconds"] == round(notes["load_seconds"], 3)
    assert ds.name == "synthetic-store"
    assert list(log.users) == list(range(10_000, 10_200))  # customers numbered from 10,000
    assert ds.catalog is not None
    groups = ds.catalog.table["complement_group"]
    assert groups.min() == 0 and groups.n_unique() == groups.max() + 1  # type: ignore[operator]
    assert synthetic_store(n_customers=5, n_items=8, days=5, rng=None).notes["parameters"]["rng"] is None


def test_the_store_is_the_same_in_every_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    # days, weekdays and seasons are UTC days: the machine's time zone changes nothing
    import time

    utc = synthetic_store(n_customers=100, n_items=40, days=60, rng=3, start="2023-03-01")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        local = synthetic_store(n_customers=100, n_items=40, days=60, rng=3, start="2023-03-01")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert local.notes["parameters"]["start"] == "2023-03-01"
    assert local.interactions.fingerprint() == utc.interactions.fingerprint()


def test_shop_hours_in_a_big_shop(shop: Dataset) -> None:
    seconds = shop.interactions.timestamp % _DAY  # the start is a midnight
    assert seconds.min() >= 8 * 3600 and seconds.max() < 20 * 3600


def test_times_fall_inside_the_period_in_shop_hours() -> None:
    # the start is cut to its midnight (UTC); baskets are placed 08:00-20:00 on the days of the period
    ds = synthetic_store(n_customers=300, n_items=40, days=40, rng=1, start="2023-03-05 15:30")
    start = int(dt.datetime(2023, 3, 5, tzinfo=dt.UTC).timestamp())
    t = ds.interactions.timestamp
    assert ds.notes["parameters"]["start"] == "2023-03-05"
    assert t.min() >= start and t.max() < start + 40 * _DAY
    assert (t - start).min() // _DAY == 0 and (t - start).max() // _DAY == 39  # first and last day used
    seconds = (t - start) % _DAY
    assert seconds.min() >= 8 * 3600 and seconds.max() < 20 * 3600
    assert seconds.min() < 9 * 3600 and seconds.max() >= 19 * 3600  # the whole twelve hours
    assert ds.catalog is not None
    launch = _epoch_day(ds.catalog.table["launch_date"])
    assert launch.min() == start // _DAY and launch.max() < start // _DAY + 40


def test_weekends_have_sixty_percent_of_a_weekdays_baskets(shop: Dataset) -> None:
    baskets = _baskets(shop).filter(pl.col("slot") == 0)
    weekday = pl.Series(baskets["t"] * 1_000_000).cast(pl.Datetime("us")).dt.weekday().to_numpy()  # 1 = Monday
    per_day = np.bincount(weekday, minlength=8)[1:]
    weekdays = per_day[:5].mean()
    assert per_day[:5].min() > 0.9 * weekdays and per_day[:5].max() < 1.1 * weekdays
    assert 0.52 < per_day[5] / weekdays < 0.68 and 0.52 < per_day[6] / weekdays < 0.68  # Saturday, Sunday


def test_the_weeks_before_christmas_are_busier() -> None:
    # traffic x (1 + 0.6 exp(-d^2 / 1800)), d the days from 26 November: the same customers (same seed,
    # same windows, same basket counts) around it and around May, both starting on a Wednesday. The middle
    # 40 of 120 days average 1 + 0.6 x 0.89 = 1.53, the whole period 1 + 0.6 x 0.60 = 1.36: the middle's
    # share of baskets is ~1.1 times May's (1.2 with a 1.6 bump, 1.0 without)
    def middle_share(start: str) -> tuple[float, int]:
        ds = synthetic_store(n_customers=1500, n_items=60, days=120, rng=6, start=start)
        first = _baskets(ds).filter(pl.col("slot") == 0)
        day = (first["t"].to_numpy() - ds.interactions.timestamp.min() // _DAY * _DAY) // _DAY
        return float(((day >= 40) & (day < 80)).mean()), int(ds.notes["baskets"])

    (autumn, n_autumn), (spring, n_spring) = middle_share("2023-09-27"), middle_share("2023-03-29")
    assert n_autumn == n_spring
    assert 1.06 < autumn / spring < 1.15


def test_seasonal_themes_sell_most_in_the_month_of_their_peak(shop: Dataset) -> None:
    log = shop.interactions
    assert shop.catalog is not None
    category = shop.catalog.aligned(log.items)["category"].to_numpy()[log.item_index]
    month = pl.Series(log.timestamp * 1_000_000).cast(pl.Datetime("us")).dt.month().to_numpy()
    for theme in np.unique(category):
        share = np.array([(category[month == m] == theme).mean() for m in range(1, 13)])
        if theme in _PEAKS:
            peak = dt.date(2023, 1, 1) + dt.timedelta(days=_PEAKS[theme] - 1)
            assert int(np.argmax(share)) + 1 == peak.month, theme
            assert share.max() > 5 * share.min(), theme  # 2.0 at the peak, 0.15 off season
        else:
            assert share.max() < 2 * share.min(), theme  # all-year themes: no season


def test_a_season_wraps_around_new_year() -> None:
    # Christmas peaks on 11 December: the first fortnight of January is 21-34 days from it (the
    # distance goes round the year end, not 331-344 days back), July half a year away
    def christmas_share(start: str) -> float:
        ds = synthetic_store(n_customers=1500, n_items=320, days=14, rng=2, start=start)
        assert ds.catalog is not None
        category = ds.catalog.aligned(ds.interactions.items)["category"].to_numpy()
        return float((category[ds.interactions.item_index] == "Christmas").mean())

    january, july = christmas_share("2024-01-01"), christmas_share("2023-07-01")
    assert january > 4 * july


def test_quantities_are_geometric_with_p_055(shop: Dataset) -> None:
    q = shop.interactions.quantity
    assert q is not None and q.min() == 1 and np.all(q == np.round(q))
    assert abs(q.mean() - 1 / 0.55) < 0.03  # mean of a geometric law: 1/p
    assert abs((q == 1).mean() - 0.55) < 0.01 and abs((q == 2).mean() - 0.55 * 0.45) < 0.01


def test_basket_sizes_follow_mean_basket_size_up_to_sixty_lines() -> None:
    # a basket has 1 + Poisson(m) lines, m = (mean_basket_size - 1) x a per-customer factor, so the
    # extra lines double when mean_basket_size - 1 doubles (same seed: same customers); at most 60
    def sizes(mean: float) -> pl.Series:
        ds = synthetic_store(n_customers=400, n_items=60, days=365, rng=4, mean_basket_size=mean)
        return _baskets(ds).group_by("u", "t").len()["len"]

    small, large = sizes(3.5), sizes(6.0)
    assert 1.85 < (large.mean() - 1) / (small.mean() - 1) < 2.15  # type: ignore[operator]
    # the per-customer factor: lognormal(0, 0.4) (mean e^0.08) x (activity/median)^0.15, whose
    # basket-weighted mean is e^(0.15 x 1.1^2 + 0.15^2 x 1.1^2 / 2): 1 + 2.5 x 1.083 x 1.22 = 4.30
    assert 4.0 < small.mean() < 4.6  # type: ignore[operator]
    assert small.min() == 1
    # mean_basket_size 1: m = 0.1 x the factor, so baskets of 1 + Poisson(0.13) lines
    ones = sizes(1.0)
    assert 1.05 < ones.mean() < 1.25  # type: ignore[operator]
    capped = synthetic_store(n_customers=50, n_items=60, days=60, rng=4, mean_basket_size=100.0)
    assert _baskets(capped).group_by("u", "t").len()["len"].max() == 60


def test_baskets_grow_with_baskets_per_month() -> None:
    def baskets(per_month: float) -> int:
        return int(synthetic_store(n_customers=600, n_items=60, days=365, rng=4,
                                   baskets_per_month=per_month).notes["baskets"])

    one, two = baskets(1.2), baskets(2.4)
    assert 1.85 < two / one < 2.05  # twice the rate, a little less than twice (every customer buys once)


def test_heavy_buyers_are_log_normal_with_sigma_1_1(shop: Dataset) -> None:
    # baskets per customer ~ Poisson(activity x months active), activity lognormal(0, 1.1): the
    # top 10% of customers hold a third to a half of the baskets (with sigma 0.1 it would be ~15%,
    # with sigma 2.1 over 70%)
    per_customer = np.sort(_baskets(shop).filter(pl.col("slot") == 0).group_by("u").len()["len"].to_numpy())
    top10 = per_customer[-len(per_customer) // 10:].sum() / per_customer.sum()
    assert 0.33 < top10 < 0.5
    assert (per_customer >= 1).all() and len(per_customer) == 1500


def test_complement_lines_are_other_members_of_the_first_lines_group() -> None:
    # with every item on sale from the start, a later line is with complement_prob another member
    # of its basket's first line's group; without complements that happens by chance only
    def share(complement_prob: float) -> tuple[float, dict[str, int]]:
        ds = synthetic_store(n_customers=800, n_items=300, days=365, rng=4, complement_prob=complement_prob,
                             repeat_prob=0.01, new_item_share=0.0)
        later = _baskets(ds).filter(pl.col("slot") > 0)
        same = ((later["g"] == later["first_group"]) & (later["i"] != later["first_item"])).mean()
        return float(same), ds.notes["lines_by_kind"]  # type: ignore[arg-type]

    with_complements, kinds = share(0.5)
    without, kinds0 = share(0.0)
    assert without < 0.06 and kinds0["complement"] == 0
    assert 0.47 < with_complements < 0.56
    same_store = _baskets(synthetic_store(n_customers=800, n_items=300, days=365, rng=4, complement_prob=0.5,
                                            repeat_prob=0.01, new_item_share=0.0))
    non_first = int((same_store["slot"] > 0).sum())
    assert abs(kinds["complement"] - 0.5 * non_first) < 0.02 * non_first  # only later lines are complements


def test_a_complement_is_never_the_first_line_itself() -> None:
    # a group of one item has no complement: its basket's later lines are fresh, never the item again
    ds = synthetic_store(n_customers=800, n_items=300, days=365, rng=4, complement_prob=0.95, repeat_prob=0.0,
                         new_item_share=0.0)
    later = _baskets(ds).filter(pl.col("slot") > 0)
    assert (later["i"] == later["first_item"]).mean() < 0.008  # only a fresh draw of the same item


def test_items_of_a_theme_sell_in_proportion_to_their_appeal() -> None:
    # zipf_exponent 0: equal appeal, so within a theme every item has the same share of the fresh lines
    ds = synthetic_store(n_customers=1500, n_items=40, days=365, rng=2, zipf_exponent=0.0, new_item_share=0.0,
                         complement_prob=0.0, repeat_prob=0.0)
    log = ds.interactions
    assert ds.catalog is not None and log.n_items == 40
    counts = np.bincount(log.item_index, minlength=40)
    category = ds.catalog.aligned(log.items)["category"].to_numpy()
    for theme in np.unique(category):
        members = category == theme
        share = counts[members] / counts[members].sum() * members.sum()
        assert share.min() > 0.85 and share.max() < 1.15, theme


def test_repeats_are_drawn_from_the_whole_history() -> None:
    # a repeat is one of the customer's earlier lines, uniformly: not always their first item
    ds = synthetic_store(n_customers=600, n_items=100, days=365, rng=4, complement_prob=0.0, repeat_prob=0.5)
    log = ds.interactions
    lines = (pl.DataFrame({"u": log.user_index, "i": log.item_index})
             .with_columns(first=pl.col("i").first().over("u"), n=pl.len().over("u")).filter(pl.col("n") >= 20))
    first_share = lines.group_by("u").agg((pl.col("i") == pl.col("first")).mean())["i"].mean()
    assert first_share < 0.42  # type: ignore[operator]


def test_repeat_lines_follow_repeat_prob() -> None:
    # a line repeats one of the customer's earlier items with probability repeat_prob on average
    # (a customer's loyalty is Beta(2, 2(1 - r)/r), whose mean is r)
    for repeat_prob in (0.05, 0.4):
        ds = synthetic_store(n_customers=600, n_items=100, days=365, rng=4, complement_prob=0.0,
                             repeat_prob=repeat_prob)
        kinds = ds.notes["lines_by_kind"]
        assert abs(kinds["repeat"] / len(ds.interactions) - repeat_prob) < 0.04
    low = profile(synthetic_store(n_customers=600, n_items=100, days=365, rng=4, repeat_prob=0.01))
    high = profile(synthetic_store(n_customers=600, n_items=100, days=365, rng=4, repeat_prob=0.5))
    assert high.repeat_event_share > low.repeat_event_share + 0.1


def test_zipf_exponent_sets_the_popularity_skew() -> None:
    gini = [profile(synthetic_store(n_customers=600, n_items=100, days=365, rng=4, zipf_exponent=z)).per_item.gini
            for z in (0.0, 0.9, 1.5)]
    assert gini[0] < 0.35 < gini[1] < 0.7 < gini[2]


def test_new_items_launch_during_the_period_and_sell_from_their_first_full_week() -> None:
    ds = synthetic_store(n_customers=1000, n_items=300, days=365, rng=4, complement_prob=0.0, new_item_share=0.5)
    log = ds.interactions
    assert ds.catalog is not None
    start = log.timestamp.min() // _DAY
    table = ds.catalog.table
    launch = _epoch_day(table["launch_date"]) - start
    # every item but each theme's most popular launches later with probability 1/2: 300 - 15 themes
    assert 0.4 * 285 < (launch > 0).sum() < 0.6 * 285
    assert all((launch[(table["category"] == c).to_numpy()] == 0).any() for c in table["category"].unique())
    assert launch.max() < 365
    day = (log.timestamp // _DAY) - start
    item_launch = (_epoch_day(ds.catalog.aligned(log.items)["launch_date"]) - start)[log.item_index]
    assert np.all(day // 7 * 7 >= item_launch)  # without complements: only from the first full week
    assert (day // 7 * 7 == item_launch)[item_launch > 0].sum() > 0
    # novelty: a new item sells more in its first three weeks than two to four months later
    new = (item_launch > 0) & (item_launch < 200)
    age = day - item_launch
    early = (new & (age < 21)).sum() / 21
    later = (new & (age >= 63) & (age < 126)).sum() / 63
    assert early > 1.3 * later
    none = synthetic_store(n_customers=50, n_items=60, days=90, rng=4, new_item_share=0.0)
    assert none.catalog is not None and none.catalog.table["launch_date"].n_unique() == 1


def test_complements_of_items_not_yet_on_sale_are_not_sold() -> None:
    ds = synthetic_store(n_customers=1000, n_items=300, days=365, rng=4, complement_prob=0.6, repeat_prob=0.01,
                         new_item_share=0.6)
    log = ds.interactions
    assert ds.catalog is not None
    item_launch = _epoch_day(ds.catalog.aligned(log.items)["launch_date"])[log.item_index]
    assert np.all(log.timestamp // _DAY >= item_launch)


def test_the_catalogue_groups_items_by_theme_and_design() -> None:
    ds = synthetic_store(n_customers=20, n_items=400, days=30, rng=9)
    assert ds.catalog is not None
    table = ds.catalog.table
    assert table["item"].to_list() == [f"P{i:05d}" for i in range(400)]
    assert table["title"].n_unique() == 400
    # 400 items -> 20 themes (one per 20 items), named after 16 themes that repeat
    assert table["category"].n_unique() == 16
    groups = table.group_by("complement_group").agg(
        pl.len(), pl.col("category").n_unique().alias("categories"),
        pl.col("title").str.split(" ").list.slice(0, 2).list.join(" ").n_unique().alias("designs"))
    assert groups["len"].max() <= 4 and (groups["len"] >= 2).mean() > 0.9  # type: ignore[operator]
    assert (groups["categories"] == 1).all() and (groups["designs"] == 1).all()
    # prices: exp(Normal(1, 0.7)) rounded to 5p, plus 5p: median e + 0.05
    price = table["price"].to_numpy()
    assert np.allclose(price * 20, np.round(price * 20)) and price.min() >= 0.05
    assert abs(float(np.median(price)) - (np.e + 0.05)) < 0.25
    assert 0.6 < np.std(np.log(price)) < 0.8
    # titles: a design's noun once; a repeat of the same title gets "NO. 2", "NO. 3", ...
    titles = table["title"].to_list()
    numbered = [t for t in titles if " NO. " in t]
    assert len(numbered) < 0.2 * len(titles)
    for t in numbered:
        base, number = t.rsplit(" NO. ", 1)
        assert base in titles and int(number) >= 2
        assert all(f"{base} NO. {k}" in titles for k in range(2, int(number)))


def test_prices_median_by_hand() -> None:
    # 20,000 prices: the median of round(20 exp(N(1, 0.7))) / 20 + 0.05 is round(20 e) / 20 + 0.05 = 2.75
    ds = synthetic_store(n_customers=1, n_items=20_000, days=7, rng=1)
    assert ds.catalog is not None
    assert abs(float(ds.catalog.table["price"].median()) - 2.75) <= 0.025  # type: ignore[arg-type]


@pytest.mark.parametrize("n_items,themes", [(4, 2), (59, 2), (60, 3), (200, 10)])
def test_one_theme_per_twenty_items_at_least_two(n_items: int, themes: int) -> None:
    ds = synthetic_store(n_customers=3, n_items=n_items, days=3, rng=0)
    assert ds.catalog is not None
    counts = ds.catalog.table.group_by("category").len()["len"]
    assert counts.len() == themes and counts.min() >= 2  # type: ignore[operator]


@pytest.mark.parametrize("kwargs", [
    {"n_customers": 1}, {"n_items": 4}, {"days": 1}, {"zipf_exponent": 0.0}, {"mean_basket_size": 1.0},
    {"baskets_per_month": 0.5},
    {"complement_prob": 0.0, "repeat_prob": 0.0, "new_item_share": 0.0}, {"complement_prob": 0.5, "repeat_prob": 0.49},
])
def test_the_edges_of_the_parameters_are_accepted(kwargs: dict[str, float]) -> None:
    args = {"n_customers": 3, "n_items": 8, "days": 5, "rng": 0, **kwargs}
    assert synthetic_store(**args).interactions.n_users == args["n_customers"]  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs,message", [
    ({"n_customers": 0}, "synthetic_store: n_customers must be at least 1, got 0"),
    ({"n_items": 3}, "synthetic_store: n_items must be at least 4, got 3"),
    ({"days": 0}, "synthetic_store: days must be at least 1, got 0"),
    ({"zipf_exponent": -0.5}, "synthetic_store: zipf_exponent must be >= 0, got -0.5"),
    ({"baskets_per_month": 0.0}, "synthetic_store: baskets_per_month must be > 0 and mean_basket_size >= 1"),
    ({"mean_basket_size": 0.9}, "synthetic_store: baskets_per_month must be > 0 and mean_basket_size >= 1"),
    ({"complement_prob": -0.1}, "synthetic_store: complement_prob must be in [0, 1), got -0.1"),
    ({"repeat_prob": 1.0}, "synthetic_store: repeat_prob must be in [0, 1), got 1.0; "
                           "complement_prob + repeat_prob must stay below 1"),
    ({"new_item_share": 1.0}, "synthetic_store: new_item_share must be in [0, 1), got 1.0"),
    ({"complement_prob": 0.5, "repeat_prob": 0.5}, "synthetic_store: complement_prob + repeat_prob must stay below 1"),
    ({"n_customers": 0, "days": 0}, "synthetic_store: n_customers must be at least 1, got 0; "
                                    "days must be at least 1, got 0"),
])
def test_bad_parameters_are_named_in_full(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        synthetic_store(**kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message
