"""synthetic_log's numbers: each law of its module docstring, checked against values worked out by
hand from the recipe (Zipf-Mandelbrot appeal, 1 + Poisson baskets, log-normal basket sizes, ...),
never against the generator's own output. Small logs (a fraction of a second), fixed seeds.

The complement groups and themes are read from ``_catalog`` drawn with the same seed: the log
draws its catalogue first, so the same seed gives the same catalogue.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.data.synthetic_log import (
    LogShape,
    _catalog,
    _shape,
    synthetic_log,
    synthetic_log_chunks,
    write_synthetic_log,
)
from discoverly.errors import ConfigError

_DAY = 86_400
_START = int(dt.datetime(2019, 12, 1, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def frame() -> pl.DataFrame:
    # per test, not per module: mutation testing credits a module fixture's code to its first user only
    return synthetic_log(150_000, rng=3)


def _items(frame: pl.DataFrame) -> np.ndarray:
    return frame["item"].str.slice(1).cast(pl.Int64).to_numpy()


def _themes(seed: int, n_events: int, n_items: int, **shape: float) -> tuple[np.ndarray, np.ndarray]:
    """Each item's theme and complement group, from the catalogue the log of this seed draws."""
    cat = _catalog(np.random.default_rng(seed), _shape(n_events, n_items, 730, "2019-12-01", shape))
    theme = np.empty(n_items, dtype=np.int64)
    for t, (a, b) in enumerate(zip(cat.theme_start, cat.theme_end, strict=True)):
        theme[cat.by_theme[a:b]] = t
    return theme, cat.group


@pytest.mark.parametrize("n_events,n_items", [(100, 100), (1_000, 164), (25_000, 822), (788_000, 4_616)])
def test_the_catalogue_grows_as_5_2_root_n(n_events: int, n_items: int) -> None:
    # n_items = max(100, round(5.2 sqrt(n_events))): 4.6k at Online Retail's 788k events
    assert n_items == max(100, round(5.2 * math.sqrt(n_events)))
    assert _shape(n_events, None, 730, "2019-12-01", {}).n_items == n_items


def test_item_ids_are_p_and_six_digits_below_n_items(frame: pl.DataFrame, tmp_path: Path) -> None:
    assert frame["item"].str.contains(r"^P\d{6}$").all()
    n_items = round(5.2 * math.sqrt(150_000))
    assert _items(frame).max() < n_items and _items(frame).max() > 0.9 * n_items
    facts = write_synthetic_log(tmp_path / "log.parquet", 2_000, rng=1, chunk_events=700)
    assert facts == {"path": str(tmp_path / "log.parquet"), "events": 2_000, "customers": facts["customers"],
                     "items": 233, "start": "2019-12-01", "days": 730}
    written = pl.read_parquet(tmp_path / "log.parquet")
    assert facts["customers"] == written["user"].n_unique() == written["user"].max() - 100_000 + 1


def test_times_fall_inside_the_period_in_shop_hours(frame: pl.DataFrame) -> None:
    t = frame["timestamp"].dt.epoch("s").to_numpy()
    assert t.min() >= _START and t.max() < _START + 730 * _DAY  # 2019-12-01, two years
    assert t.min() < _START + 5 * _DAY and t.max() >= _START + 720 * _DAY
    seconds = (t - _START) % _DAY
    assert seconds.min() >= 8 * 3600 and seconds.max() < 20 * 3600
    short = synthetic_log(3_000, rng=2, start="2024-02-03 10:30", days=10)
    s = short["timestamp"].dt.epoch("s").to_numpy()
    start = int(dt.datetime(2024, 2, 3, tzinfo=dt.UTC).timestamp())  # cut to its midnight
    assert s.min() >= start and s.max() < start + 10 * _DAY and (s.min() - start) // _DAY == 0
    assert ((s - start) % _DAY).min() >= 8 * 3600


def test_a_customer_places_1_plus_poisson_baskets(frame: pl.DataFrame) -> None:
    # 1 + Poisson(5.2 a), E[a] = 1: 6.2 baskets on average (the last customer of each chunk is cut)
    per_customer = frame.select("user", "timestamp").unique().group_by("user").len()["len"].to_numpy()
    assert 5.8 < per_customer.mean() < 6.6
    assert np.percentile(per_customer, 99) > 5 * np.median(per_customer)  # log-normal activity, sigma 1.3
    # without the log-normal activity it is a plain Poisson count: variance = mean - 1
    flat = synthetic_log(60_000, rng=3, activity_sigma=0.0, basket_sigma=0.0, customer_size_sigma=0.0)
    plain = flat.select("user", "timestamp").unique().group_by("user").len()["len"].to_numpy()[:-1]
    assert abs(plain.mean() - 6.2) < 0.3 and 0.8 < plain.var() / (plain.mean() - 1) < 1.25
    once = synthetic_log(5_000, rng=3, baskets_per_customer=1.0)
    assert once.select("user", "timestamp").unique().height == once["user"].n_unique()


def test_basket_sizes_are_log_normal_around_fifteen_lines(frame: pl.DataFrame) -> None:
    # size = rint(15 e^(0.8 Z) x e^(0.5 Z' - 0.5^2/2)): median 15 e^-0.125 = 13.2, mean 15 e^0.32 = 20.7
    sizes = frame.group_by("user", "timestamp").len()["len"].to_numpy()
    assert 12 <= np.median(sizes) <= 14.5
    assert abs(sizes.mean() - 15 * math.exp(0.8**2 / 2)) < 0.6  # the standard error is 0.3
    assert sizes.max() <= 600 and sizes.min() == 1  # a rounded size below 1 is 1 line
    # without spread every basket has exactly basket_median lines (the last one is cut at the budget)
    fixed = synthetic_log(20_000, rng=5, basket_sigma=0.0, customer_size_sigma=0.0, basket_median=12.0)
    counts = fixed.group_by("user", "timestamp").len()
    cut = counts.filter(pl.col("len") != 12)  # one basket of the last customer is cut at the budget
    assert cut.height == 1 and cut["len"][0] < 12 and cut["user"][0] == fixed["user"].max()
    assert counts["len"].sum() == 20_000
    huge = synthetic_log(2_000, rng=5, basket_median=10_000.0, basket_sigma=0.0, customer_size_sigma=0.0)
    assert huge.group_by("user", "timestamp").len()["len"].max() == 600  # capped at 600 lines


def test_quantities_are_geometric_with_p_half(frame: pl.DataFrame) -> None:
    q = frame["quantity"].to_numpy()
    assert q.min() == 1 and np.all(q == np.round(q))
    assert abs(q.mean() - 2.0) < 0.03 and abs((q == 1).mean() - 0.5) < 0.01


def test_item_appeal_is_zipf_mandelbrot() -> None:
    # only fresh lines drawn by appeal: an item's share is (rank + 16)^-0.9 / sum over ranks
    f = synthetic_log(200_000, rng=5, n_items=200, short_lived_share=0.0, theme_affinity=0.0, complement_prob=0.0,
                      repeat_prob=0.0)
    counts = np.sort(f.group_by("item").len()["len"].to_numpy())[::-1]
    appeal = (np.arange(1, 201) + 15.0) ** -0.9
    assert len(counts) == 200
    assert abs(counts[0] / counts.sum() - appeal[0] / appeal.sum()) < 0.001  # 2.08% for the top item
    assert abs(counts[100] / counts[0] - appeal[100] / appeal[0]) < 0.02  # 0.168
    assert abs(counts[:20].sum() / counts.sum() - appeal[:20].sum() / appeal.sum()) < 0.01
    # short-lived items (half of them, appeal x U(0.005, 0.5)) lengthen the tail: the bottom half of
    # the items sells 16% of the lines (a numpy simulation of that law) instead of 26%
    g = synthetic_log(200_000, rng=5, n_items=200, short_lived_share=0.5, theme_affinity=0.0, complement_prob=0.0,
                      repeat_prob=0.0)
    tail = np.sort(g.group_by("item").len()["len"].to_numpy())
    sim = np.random.default_rng(0)
    expected = []
    for _ in range(500):
        a = appeal.copy()
        short = sim.random(200) < 0.5
        a[short] *= sim.uniform(0.005, 0.5, int(short.sum()))
        a.sort()
        expected.append(a[:100].sum() / a.sum())
    assert abs(tail[:100].sum() / tail.sum() - np.mean(expected)) < 0.04
    assert abs(counts[100:].sum() / counts.sum() - appeal[100:].sum() / appeal.sum()) < 0.02


def test_complement_lines_are_other_members_of_the_first_lines_group() -> None:
    def share(complement_prob: float) -> float:
        f = synthetic_log(60_000, rng=4, n_items=1_200, complement_prob=complement_prob, repeat_prob=0.0)
        _, group = _themes(4, 60_000, 1_200)
        item = _items(f)
        lines = (pl.DataFrame({"u": f["user"], "t": f["timestamp"], "i": item, "g": group[item]})
                 .with_columns(slot=pl.int_range(pl.len()).over("u", "t"),
                               first_item=pl.col("i").first().over("u", "t"),
                               first_group=pl.col("g").first().over("u", "t"))
                 .filter(pl.col("slot") > 0))
        return float(((lines["g"] == lines["first_group"]) & (lines["i"] != lines["first_item"])).mean())

    assert share(0.0) < 0.02
    assert abs(share(0.25) - 0.25) < 0.02 and abs(share(0.6) - 0.6) < 0.02


def test_complement_groups_are_two_to_five_items_of_one_theme() -> None:
    theme, group = _themes(4, 60_000, 1_200)
    sizes = np.bincount(group)
    assert sizes.max() == 5 and (sizes >= 2).mean() > 0.98
    assert all(len(np.unique(theme[group == g])) == 1 for g in range(len(sizes)))
    assert len(np.unique(theme)) == 8  # max(8, n_items // 150)
    theme_big, _ = _themes(4, 60_000, 3_000)
    assert len(np.unique(theme_big)) == 20


def test_repeats_and_theme_affinity() -> None:
    def repeat_share(repeat_prob: float) -> float:
        f = synthetic_log(60_000, rng=5, complement_prob=0.0, repeat_prob=repeat_prob)
        return float((f.with_columns(n=pl.int_range(pl.len()).over("user", "item"))["n"] > 0).mean())

    assert repeat_share(0.5) > repeat_share(0.0) + 0.15

    def favourite_share(affinity: float) -> float:
        # a customer's share of fresh lines in their most bought theme: affinity + (1 - affinity) x chance
        f = synthetic_log(60_000, rng=5, n_items=1_500, theme_affinity=affinity, complement_prob=0.0,
                          repeat_prob=0.0)
        theme, _ = _themes(5, 60_000, 1_500)
        lines = pl.DataFrame({"u": f["user"], "t": theme[_items(f)]})
        per = (lines.group_by("u", "t").len().group_by("u")
               .agg((pl.col("len").max() / pl.col("len").sum()).alias("top"), pl.col("len").sum().alias("n"))
               .filter(pl.col("n") >= 50))
        return float(per["top"].mean())  # type: ignore[arg-type]

    assert favourite_share(0.0) < 0.25
    assert 0.88 < favourite_share(0.9) < 0.95


def test_chunks_hold_whole_customers_numbered_on() -> None:
    chunks = list(synthetic_log_chunks(12_000, rng=7, chunk_events=2_500))
    assert all(c.height <= 2_500 for c in chunks) and sum(c.height for c in chunks) == 12_000
    users = pl.concat(chunks)["user"].unique().sort().to_numpy()
    assert users[0] == 100_000 and np.array_equal(users, np.arange(100_000, 100_000 + len(users)))
    assert synthetic_log(1, rng=0).height == 1


@pytest.mark.parametrize("kwargs", [
    {"n_items": 10}, {"days": 1}, {"zipf_exponent": 0.0, "head_offset": 0.0}, {"baskets_per_customer": 1.0},
    {"basket_median": 1.0}, {"activity_sigma": 0.0, "basket_sigma": 0.0, "customer_size_sigma": 0.0},
    {"complement_prob": 0.0, "repeat_prob": 0.0, "theme_affinity": 0.0, "short_lived_share": 0.0},
])
def test_the_edges_of_the_parameters_are_accepted(kwargs: dict[str, float]) -> None:
    assert synthetic_log(500, rng=0, **kwargs).height == 500


@pytest.mark.parametrize("kwargs,message", [
    ({"n_events": 0}, "synthetic_log: n_events must be at least 1, got 0"),
    ({"n_items": 9}, "synthetic_log: n_items must be at least 10, got 9"),
    ({"days": 0}, "synthetic_log: days must be at least 1, got 0"),
    ({"head_offset": -1.0}, "synthetic_log: zipf_exponent and head_offset must be >= 0, got 0.9, -1.0"),
    ({"baskets_per_customer": 0.5}, "synthetic_log: baskets_per_customer and basket_median must be at least 1"),
    ({"activity_sigma": -0.1, "customer_size_sigma": -1.0},
     "synthetic_log: activity_sigma must be >= 0; customer_size_sigma must be >= 0"),
    ({"basket_sigma": -0.1}, "synthetic_log: basket_sigma must be >= 0"),
    ({"repeat_prob": -0.1}, "synthetic_log: repeat_prob must be in [0, 1), got -0.1"),
    ({"theme_affinity": 1.0}, "synthetic_log: theme_affinity must be in [0, 1), got 1.0"),
    ({"short_lived_share": 1.5}, "synthetic_log: short_lived_share must be in [0, 1), got 1.5"),
])
def test_bad_parameters_are_named_in_full(kwargs: dict[str, float], message: str) -> None:
    args = {"n_events": 1000, **kwargs}
    with pytest.raises(ConfigError) as err:
        synthetic_log(**args)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_chunk_events_must_be_positive() -> None:
    with pytest.raises(ConfigError) as err:
        next(synthetic_log_chunks(100, chunk_events=0))
    assert str(err.value) == "chunk_events must be at least 1, got 0"


def test_log_shape_defaults_are_the_documented_calibration() -> None:
    shape = LogShape(n_events=1, n_items=10)
    assert (shape.days, shape.start, shape.zipf_exponent, shape.head_offset, shape.short_lived_share) == (
        730, _START, 0.9, 15.0, 0.5)
    assert (shape.baskets_per_customer, shape.activity_sigma, shape.basket_median, shape.basket_sigma,
            shape.customer_size_sigma) == (6.2, 1.3, 15.0, 0.8, 0.5)
    assert (shape.complement_prob, shape.repeat_prob, shape.theme_affinity) == (0.25, 0.08, 0.5)


def test_items_of_a_theme_sell_in_proportion_to_their_appeal() -> None:
    # equal appeal (zipf_exponent 0, no short-lived items): a customer's theme lines spread evenly over the theme
    f = synthetic_log(100_000, rng=6, n_items=300, zipf_exponent=0.0, short_lived_share=0.0, theme_affinity=0.9,
                      complement_prob=0.0, repeat_prob=0.0)
    theme, _ = _themes(6, 100_000, 300, zipf_exponent=0.0, short_lived_share=0.0)
    counts = np.bincount(_items(f), minlength=300)
    for t in np.unique(theme):
        members = theme == t
        share = counts[members] / counts[members].sum() * members.sum()
        assert share.min() > 0.78 and share.max() < 1.22, t  # Poisson noise: about 5% an item


def test_every_theme_is_someones_favourite() -> None:
    # a customer's favourite theme is drawn by the themes' appeal: with 10 themes and ~450 customers, all appear
    f = synthetic_log(60_000, rng=5, n_items=1_500, theme_affinity=0.9, complement_prob=0.0, repeat_prob=0.0)
    theme, _ = _themes(5, 60_000, 1_500)
    favourite = (pl.DataFrame({"u": f["user"], "t": theme[_items(f)]}).group_by("u", "t").len()
                 .sort("len", descending=True).group_by("u", maintain_order=True).first())
    assert favourite["t"].n_unique() == len(np.unique(theme)) == 10


def test_repeats_are_drawn_from_the_whole_history() -> None:
    f = synthetic_log(60_000, rng=5, complement_prob=0.0, repeat_prob=0.5)
    lines = (f.with_columns(first=pl.col("item").first().over("user"), n=pl.len().over("user"))
             .filter(pl.col("n") >= 20))
    first_share = lines.group_by("user").agg((pl.col("item") == pl.col("first")).mean())["item"].mean()
    assert first_share < 0.15  # type: ignore[operator]  # always the first fresh item would make it ~0.5


def test_a_complement_is_any_other_member_of_the_group() -> None:
    # the member is drawn uniformly among the other ones: in groups of 3, both others about equally often
    f = synthetic_log(100_000, rng=4, n_items=1_200, complement_prob=0.6, repeat_prob=0.0)
    cat = _catalog(np.random.default_rng(4), _shape(100_000, 1_200, 730, "2019-12-01", {}))
    item = _items(f)
    lines = (pl.DataFrame({"u": f["user"], "t": f["timestamp"], "i": item})
             .with_columns(slot=pl.int_range(pl.len()).over("u", "t"), a=pl.col("i").first().over("u", "t"))
             .filter(pl.col("slot") > 0))
    i, a = lines["i"].to_numpy(), lines["a"].to_numpy()
    size = cat.group_size[cat.group[a]]
    mates = (cat.group[i] == cat.group[a]) & (i != a) & (size == 3)
    offset = (cat.position[i[mates]] - cat.position[a[mates]]) % 3
    assert mates.sum() > 1_000 and abs((offset == 1).mean() - 0.5) < 0.05
    assert np.bincount(cat.group_size)[2] > 0.15 * len(cat.group_size)  # groups of 2 to 5: a quarter each


def test_the_defaults_and_a_chunk_of_one_event(tmp_path: Path) -> None:
    assert synthetic_log(3_000).equals(synthetic_log(3_000, rng=0, days=730, start="2019-12-01"))
    assert pl.concat(list(synthetic_log_chunks(3_000))).equals(synthetic_log(3_000, rng=0))
    facts = write_synthetic_log(tmp_path / "d.parquet", 3_000)
    assert pl.read_parquet(tmp_path / "d.parquet").equals(synthetic_log(3_000, rng=0))
    assert facts["days"] == 730 and facts["start"] == "2019-12-01"
    ones = list(synthetic_log_chunks(3, rng=1, chunk_events=1))
    assert [c.height for c in ones] == [1, 1, 1]


def test_write_passes_every_setting_on(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import logging
    import time

    args = {"n_items": 150, "days": 30, "start": "2021-03-04", "rng": 9, "complement_prob": 0.0}
    monkeypatch.setenv("TZ", "America/New_York")  # the facts' start is a UTC date
    time.tzset()
    try:
        with caplog.at_level(logging.INFO, logger="discoverly.data.synthetic_log"):
            facts = write_synthetic_log(tmp_path / "w.parquet", 4_000, chunk_events=1_500, **args)  # type: ignore[arg-type]
    finally:
        monkeypatch.undo()
        time.tzset()
    written = pl.read_parquet(tmp_path / "w.parquet")
    assert written.equals(synthetic_log(4_000, chunk_events=1_500, **args))  # type: ignore[arg-type]
    assert facts == {"path": str(tmp_path / "w.parquet"), "events": 4_000, "customers": written["user"].n_unique(),
                     "items": 150, "start": "2021-03-04", "days": 30}
    assert caplog.records[-1].getMessage() == f"wrote a synthetic log: {facts}"
