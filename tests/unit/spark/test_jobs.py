"""The Spark jobs against hand-worked examples and the local path, on small logs (local[2])."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.data import read_interactions
from discoverly.data.synthetic import synthetic_store
from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.recommend.base import BaseRecommender
from discoverly.recommend.registry import create
from discoverly.recommend.relatedness import related_items

pytestmark = [pytest.mark.spark,
              # py4j drops local result sockets without closing them (a ResourceWarning in __del__)
              pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")]

DAY = 86_400


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    ds = synthetic_store(n_customers=300, n_items=60, days=120, rng=5)
    path = tmp_path_factory.mktemp("store") / "log.parquet"
    ds.interactions.to_polars().write_parquet(path)
    return ds.interactions, path


def test_python_workers_run_this_interpreter(spark: Any) -> None:
    """Workers must use the driver's interpreter (its pyarrow, numpy), not whatever python3 is on PATH."""
    import sys

    workers = spark.sparkContext.parallelize(range(2), 2).map(lambda _: __import__("sys").executable).collect()
    assert set(workers) == {sys.executable}


def test_a_local_session_logs_errors_only(spark: Any) -> None:
    """Spark's default log4j profile printed ~5 WARN lines (loopback hostname, native Hadoop library)
    into the terminal on every run; local sessions take the packaged errors-only configuration."""
    from pathlib import Path

    import discoverly.engine.spark.session as session

    options = spark.sparkContext.getConf().get("spark.driver.extraJavaOptions")
    config = Path(session.__file__).with_name("log4j2.properties")
    assert f"-Dlog4j2.configurationFile={config.as_uri()}" in options and config.is_file()
    assert "rootLogger.level = error" in config.read_text()
    logger = spark.sparkContext._jvm.org.apache.logging.log4j.LogManager.getRootLogger()
    assert str(logger.getLevel()) == "ERROR"


def test_expectation_and_scores_on_a_hand_worked_example(spark: Any) -> None:
    """Four customers: c0 {A, B}, c1 {A, B, C}, c2 {A, C, D}, c3 {B}; 9 purchases.

    n_c (other purchases): c0 1, c1 2, c2 2, c3 0. P_Y = N_Y / 9: P_B = 3/9, P_C = 2/9.
    E_AB = Σ over buyers of A (c0, c1, c2) of 1 − (1 − P_B)^n_c = [1 − (6/9)] + 2·[1 − (6/9)^2]
         = 1/3 + 2·5/9 = 13/9;  N_AB = 2, so corrected(A→B) = (2 − 13/9) / sqrt(13/9).
    E_AC = [1 − 7/9] + 2·[1 − (7/9)^2] = 2/9 + 2·32/81 = 82/81; N_AC = 2.
    """
    from discoverly.engine.spark.purchases import purchases
    from discoverly.engine.spark.relatedness import co_buyers
    from discoverly.engine.spark.scores import buyer_histograms, pair_scores

    rows = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 0), (2, 2), (2, 3), (3, 1)]
    events = spark.createDataFrame([(u, i, 100 * k, 1.0) for k, (u, i) in enumerate(rows)],
                                   "u int, i int, t long, q double")
    base = co_buyers(purchases(events), min_count=1)
    scored = pair_scores(base.cooc, base.items, "corrected", histograms=buyer_histograms(base.kept), salt_buckets=3)
    got = {(r["x"], r["y"]): (r["n_xy"], r["e_xy"], r["score"]) for r in scored.collect()}
    n, e, s = got[(0, 1)]
    assert n == 2 and e == pytest.approx(13 / 9, rel=1e-14) and s == pytest.approx((2 - 13 / 9) / np.sqrt(13 / 9))
    assert got[(0, 2)][1] == pytest.approx(82 / 81, rel=1e-14)
    assert base.params["customers"] == 4 and base.params["purchases"] == 9
    # cosine: N_AB / sqrt(N_A N_B) = 2 / 3
    cos = {(r["x"], r["y"]): r["score"] for r in pair_scores(base.cooc, base.items, "cosine").collect()}
    assert cos[(0, 1)] == pytest.approx(2 / 3) and cos[(1, 0)] == pytest.approx(2 / 3)
    assert (3, 3) not in cos and (0, 0) not in cos


@pytest.fixture(scope="module")
def counted(spark: Any, store: tuple[Any, Path]) -> tuple[Any, Any, Any]:
    """The store's purchases and co-buyers on Spark, computed once for the three scores."""
    from discoverly.engine.spark.events import read_events
    from discoverly.engine.spark.purchases import index_events, purchases
    from discoverly.engine.spark.relatedness import co_buyers

    indexed = index_events(read_events(spark, str(store[1]), quantity="quantity"))
    pairs = purchases(indexed.events)
    return indexed, pairs, co_buyers(pairs, min_count=2, max_history=30)


@pytest.mark.parametrize("score", ["cosine", "naive", "corrected"])
def test_related_items_equal_the_local_path(store: tuple[Any, Path], counted: tuple[Any, Any, Any],
                                            score: str) -> None:
    from discoverly.engine.spark.relatedness import collect_relatedness, related_pairs

    log = store[0]
    indexed, pairs, base = counted
    got, _ = collect_relatedness(related_pairs(pairs, score, neighbours=8, prepared=base,
                                               salt_buckets=1 if score == "naive" else 3), indexed.n_items)
    want = related_items(log.matrix("binary"), score, min_count=2, neighbours=8, max_history=30)
    assert got.params["dropped_customers"] == want.params["dropped_customers"] > 0
    assert got.scores.nnz == want.scores.nnz > 100
    assert (got.scores != want.scores).nnz == 0
    assert (got.counts != want.counts).nnz == 0


def test_read_events_checks_the_log(spark: Any, tmp_path: Path) -> None:
    from discoverly.engine.spark.events import read_events

    good = pl.DataFrame({"c": ["a", "a", "b"], "p": [1, 2, 1], "ts": [1_700_000_000_000, 1_700_000_100_000,
                                                                       1_700_000_200_000], "n": [1.0, -2.0, 3.0]})
    path = tmp_path / "log.parquet"
    good.write_parquet(path)
    with pytest.raises(DataError, match=r"user column 'user' is missing.*Columns present: c, p, ts, n"):
        read_events(spark, str(path))
    with pytest.raises(DataError, match="negative 'n'"):
        read_events(spark, str(path), user="c", item="p", time="ts", quantity="n")
    rows = read_events(spark, str(path), user="c", item="p", time="ts", quantity="n", negative="drop").collect()
    assert sorted((r["user"], r["item"], r["t"]) for r in rows) == [("a", 1, 1_700_000_000), ("b", 1, 1_700_000_200)]
    iso = tmp_path / "iso.parquet"
    pl.DataFrame({"user": [None, "x"], "item": ["i", "j"], "timestamp": ["2024-01-01", "2024-01-02T10:00:00"]}
                 ).write_parquet(iso)
    with pytest.raises(DataError, match="user column 'user' has 1 missing"):
        read_events(spark, str(iso))
    with pytest.raises(DataError, match="does not exist"):
        read_events(spark, str(tmp_path / "nope.parquet"))
    (tmp_path / "log.csv").write_text("user,item,timestamp\n")
    with pytest.raises(DataError, match="reads Parquet"):
        read_events(spark, str(tmp_path / "log.csv"))


@pytest.mark.parametrize("model", ["corrected", "bestsellers", "popularity"])
def test_fit_spark_saves_what_the_local_path_saves(spark: Any, store: tuple[Any, Path], tmp_path: Path,
                                                   model: str) -> None:
    from discoverly.engine.spark import fit_spark

    log, path = store
    until = int(log.timestamp[len(log) * 3 // 4])
    params = {"neighbours": 10, "max_history": 40} if model == "corrected" else {}
    result = fit_spark(model, str(path), out=tmp_path / model, spark=spark, quantity="quantity", until=until,
                       params=params)
    loaded = BaseRecommender.load(tmp_path / model)
    local = create(model, **params).fit(log.before(until))
    assert loaded.items == local.items and loaded.users == local.users
    assert loaded.trained_until == local.trained_until
    assert np.array_equal(loaded._fallback, local._fallback)
    for name in ("days", "first", "last"):
        assert (loaded._history[name] != local._history[name]).nnz == 0
    users = [*log.users.ids[:60].tolist(), "no-such-user"]
    a, b = loaded.recommend(users, 10), local.recommend(users, 10)
    assert a.to_polars().equals(b.to_polars())
    if model == "corrected":
        assert loaded.related(list(log.items.ids[:20]), 5).to_polars().equals(
            local.related(list(log.items.ids[:20]), 5).to_polars())
    manifest = (tmp_path / model / "manifest.json").read_text()
    assert '"name": "spark"' in manifest and result.counts["events"] == len(log.before(until))


def test_fit_spark_refuses_other_models(spark: Any, store: tuple[Any, Path]) -> None:
    from discoverly.engine.spark import fit_spark

    with pytest.raises(ConfigError, match="Spark engine fits"):
        fit_spark("ease", str(store[1]), spark=spark)


def test_cli_fit_with_the_spark_engine(spark: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from discoverly.cli.app import app

    frame = pl.DataFrame({"customer": [1, 1, 2, 2, 3, 3, 4], "sku": ["a", "b", "a", "b", "a", "c", "b"],
                          "ts": [f"2024-01-0{d}" for d in range(1, 8)]})
    path = tmp_path / "events.parquet"
    frame.write_parquet(path)
    runner = CliRunner()
    done = runner.invoke(app, ["fit", "--interactions", str(path), "--user", "customer", "--item", "sku",
                               "--time", "ts", "--model", "cosine", "--param", "min_count=1", "--engine", "spark",
                               "--master", "local[2]", "--out", str(tmp_path / "m")])
    assert done.exit_code == 0, done.output
    assert "on Spark (local[2])" in done.output
    local = create("cosine", min_count=1).fit(read_interactions(frame, user="customer", item="sku", time="ts"))
    loaded = BaseRecommender.load(tmp_path / "m")
    assert loaded.related(["a"], 2).to_polars().equals(local.related(["a"], 2).to_polars())
    bad = runner.invoke(app, ["fit", "--interactions", str(path), "--model", "ease", "--engine", "spark",
                              "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0
    # --catalog is stored with the model, as locally (it was dropped: answers without titles)
    (tmp_path / "items.csv").write_text("sku,name\na,Blue mug\nb,Red mug\nc,Teapot\n", encoding="utf-8")
    again = runner.invoke(app, ["fit", "--interactions", str(path), "--user", "customer", "--item", "sku",
                                "--time", "ts", "--model", "cosine", "--param", "min_count=1", "--engine", "spark",
                                "--catalog", str(tmp_path / "items.csv"), "--catalog-title", "name",
                                "--out", str(tmp_path / "m")])
    assert again.exit_code == 0, again.output
    shown = runner.invoke(app, ["recommend", str(tmp_path / "m"), "--item", "a", "--json"])
    assert "Red mug" in shown.output, shown.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.parquet", "items.csv", "m"]
    # --out is checked before the JVM starts (and before a data set loads)
    (tmp_path / "a_file").write_text("x")
    refused = runner.invoke(app, ["fit", "--dataset", "synthetic", "--model", "cosine", "--engine", "spark",
                                  "--out", str(tmp_path / "a_file")])
    assert isinstance(refused.exception, ArtifactError) and "it is a file" in str(refused.exception)
