"""``discoverly evaluate`` end to end: the issue's example commands, log files, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from discoverly.cli.app import main
from discoverly.data.synthetic import synthetic_store
from discoverly.errors import EXIT_CODES, ArtifactError, ConfigError, DataError

EXAMPLE_MODELS = "popularity,bestsellers,buy-again,cosine,naive,corrected"


def run_json(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict:  # type: ignore[type-arg]
    code = main(args)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def check_shape(out: dict, models: list[str]) -> None:  # type: ignore[type-arg]
    assert [m["name"] for m in out["models"]] == models
    for m in out["models"]:
        assert isinstance(m["fit_seconds"], float) and m["fit_seconds"] >= 0
        for name in ("HitRate@6", "Recall@10", "NDCG@10", "Coverage@6"):
            est = m["metrics"][name]
            low, high = est["ci"]
            assert 0 <= low <= est["value"] <= high <= 1 or name.startswith("Coverage"), (m["name"], name, est)


@pytest.fixture(scope="module")
def shop_frame() -> pl.DataFrame:
    ds = synthetic_store(n_customers=500, n_items=120, days=180, rng=3)
    return ds.interactions.to_polars().rename({"user": "customer", "item": "sku", "timestamp": "ts"})


@pytest.mark.slow
@pytest.mark.data
def test_the_issue_example_on_online_retail(shared_data: Path, capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = run_json(capsys, ["evaluate", "--dataset", "online-retail", "--cutoff", "2011-11-01", "--models",
                            EXAMPLE_MODELS, "--json"])
    check_shape(out, EXAMPLE_MODELS.split(","))
    assert out["dataset"] == "online-retail" and out["primary"]["cutoff"] == "2011-11-01"
    assert Path(out["report"]).is_file() and Path(out["report"]).parent.name == "reports"
    n_users = {s["variant"]: s["n_users"] for s in out["splits"]}
    assert n_users["new-items"] > 500 and n_users["any-item"] >= n_users["new-items"]
    hr = {m["name"]: m["metrics"]["HitRate@6"]["value"] for m in out["models"]}
    assert hr["bestsellers"] > hr["popularity"]  # recency matters in a gift shop before Christmas
    # any-item: buying again is the strongest signal in a shop
    hr_any = {m["name"]: m["variants"]["any-item"]["HitRate@6"]["value"] for m in out["models"]}
    assert max(hr_any, key=hr_any.__getitem__) == "buy-again"


@pytest.mark.data
def test_the_2011_file_with_two_models(shared_data: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = run_json(capsys, ["evaluate", "--dataset", "online-retail-2011", "--cutoff", "2011-11-01",
                            "--models", "popularity,bestsellers", "--variant", "new-items", "--no-html",
                            "--n-boot", "300", "--json"])
    check_shape(out, ["popularity", "bestsellers"])
    assert out["report"] is None and out["variants"] == ["new-items"]
    assert out["compare"][0]["a"] == "bestsellers" and out["compare"][0]["p_value"] < 0.01


def test_a_csv_log_with_iso_times(shop_frame: pl.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "events.csv"
    shop_frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S")).write_csv(path)
    out = run_json(capsys, ["evaluate", "--interactions", str(path), "--user", "customer", "--item", "sku",
                            "--time", "ts", "--cutoff", "2023-05-01", "--models", "popularity,bestsellers",
                            "--n-boot", "200", "--json", "--html", str(tmp_path / "r.html")])
    check_shape(out, ["popularity", "bestsellers"])
    assert out["dataset"] == "events" and out["report"] == str(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")


def test_a_parquet_log_with_epoch_seconds_and_several_cutoffs(shop_frame: pl.DataFrame, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "events.parquet"
    shop_frame.with_columns(pl.col("ts").dt.epoch("s")).write_parquet(path)
    cut1, cut2 = 1_682_899_200, 1_685_577_600  # 2023-05-01 and 2023-06-01, as epoch seconds
    out = run_json(capsys, ["evaluate", "--interactions", str(path), "--user", "customer", "--item", "sku",
                            "--time", "ts", "--cutoffs", f"{cut1},{cut2}", "--window", "7", "--k", "6,3",
                            "--models", "popularity,bestsellers", "--variant", "any-item", "--no-html",
                            "--n-boot", "200", "--compare", "popularity,bestsellers", "--json"])
    assert out["cutoffs"] == ["2023-05-01", "2023-06-01"] and out["window_days"] == 7.0 and out["k"] == [6, 3]
    first = out["models"][0]
    assert set(first["metrics"]) == {"HitRate@6", "Recall@6", "NDCG@6", "HitRate@3", "Recall@3", "NDCG@3",
                                     "Coverage@6", "Coverage@3"}
    assert [c["cutoff"] for c in first["cutoffs"]] == ["2023-05-01", "2023-06-01"]
    assert set(first["pooled"]) == {"any-item"}
    assert {(c["a"], c["b"], c["cutoff"]) for c in out["compare"]} == {
        ("popularity", "bestsellers", "2023-05-01"), ("popularity", "bestsellers", "pooled")}


def test_the_leaderboard_is_printed_without_json(shop_frame: pl.DataFrame, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "events.parquet"
    shop_frame.write_parquet(path)
    code = main(["evaluate", "--interactions", str(path), "--user", "customer", "--item", "sku", "--time", "ts",
                 "--models", "popularity,bestsellers", "--n-boot", "200"])
    out = capsys.readouterr().out
    assert code == 0
    assert "no --cutoff given: using" in out
    assert "HitRate@6" in out and "new-items" in out and "any-item" in out and "95% CI" in out
    assert "bestsellers − popularity" in out or "popularity − bestsellers" in out
    assert (tmp_path / "reports" / "evaluate-events.html").is_file()


def test_without_a_baseline_the_best_model_is_tested_against_the_runner_up(
        shop_frame: pl.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # README's `--models bestsellers,corrected` printed no paired test when the bestsellers were best,
    # and `--models cosine,corrected` never did: the default pair needed another baseline
    path = tmp_path / "events.parquet"
    shop_frame.write_parquet(path)
    out = run_json(capsys, ["evaluate", "--interactions", str(path), "--user", "customer", "--item", "sku",
                            "--time", "ts", "--cutoff", "2023-05-01", "--models", "cosine,corrected",
                            "--variant", "new-items", "--n-boot", "200", "--no-html", "--json"])
    hit = {m["name"]: m["metrics"]["HitRate@6"]["value"] for m in out["models"]}
    (test,) = out["compare"]
    assert {test["a"], test["b"]} == {"cosine", "corrected"} and hit[test["a"]] >= hit[test["b"]]


@pytest.mark.parametrize(("args", "error", "message"), [
    (["--models", "popularity,nope"], ConfigError, "known models are"),
    (["--cutoff", "yesterday"], DataError, "cannot read the time"),
    (["--cutoff", "2030-01-01"], DataError, "choose an earlier cutoff"),
    (["--variant", "some-items"], ConfigError, "unknown variant"),
    (["--k", "six"], ConfigError, "--k"),
    (["--compare", "popularity"], ConfigError, "--compare"),
    (["--dataset", "online-retail"], ConfigError, "exactly one of"),
    (["--time", "when"], DataError, "when"),
    (["--window", "0"], ConfigError, "--window must be a positive number"),
    (["--window", "nan"], ConfigError, "--window must be a positive number"),
    (["--n-boot", "0"], ConfigError, "n_boot"),
])
def test_bad_input_exit_codes(shop_frame: pl.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch, args: list[str], error: type[Exception],
                              message: str) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "events.parquet"
    shop_frame.write_parquet(path)
    base = ["evaluate", "--interactions", str(path), "--user", "customer", "--item", "sku", "--time", "ts",
            "--cutoff", "2023-05-01", "--models", "popularity", "--no-html", "--json"]
    # later options win in click, so the bad value replaces the good one
    code = main(base + args)
    err = capsys.readouterr().err
    assert code == EXIT_CODES[error], err
    assert message in err


def test_a_missing_file_and_a_negative_quantity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--interactions", str(tmp_path / "nope.csv"), "--cutoff", "2023-01-01"]) == \
        EXIT_CODES[DataError]
    assert "does not exist" in capsys.readouterr().err
    path = tmp_path / "neg.csv"
    pl.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "timestamp": ["2023-01-01", "2023-01-02"],
                  "qty": [1, -2]}).write_csv(path)
    assert main(["evaluate", "--interactions", str(path), "--quantity", "qty", "--cutoff", "2023-01-02"]) == \
        EXIT_CODES[DataError]
    assert "negative 'qty'" in capsys.readouterr().err
    # dropping the return leaves nothing after the cutoff: a clear error again, not a crash
    assert main(["evaluate", "--interactions", str(path), "--quantity", "qty", "--drop-negative",
                 "--cutoff", "2023-01-02", "--no-html"]) == EXIT_CODES[DataError]
    assert "choose an earlier cutoff" in capsys.readouterr().err


def test_options_are_checked_before_the_log_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the log does not exist: a ConfigError proves the option failed first, before any model was fitted
    base = ["evaluate", "--interactions", str(tmp_path / "absent.csv"), "--models", "popularity,bestsellers"]
    assert main([*base, "--compare", "popularity,corrected"]) == EXIT_CODES[ConfigError]
    assert "not among --models" in capsys.readouterr().err
    assert main([*base, "--window", "-3"]) == EXIT_CODES[ConfigError]
    assert main([*base, "--html", str(tmp_path)]) == EXIT_CODES[ArtifactError]  # a folder: refused before the run
    assert "it is a folder" in capsys.readouterr().err


def test_a_log_too_short_for_the_default_cutoff_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "week.csv"
    pl.DataFrame({"user": ["a", "a", "b", "b"], "item": ["x", "y", "x", "z"],
                  "timestamp": ["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-07"]}).write_csv(path)
    # it used to pick 2023-12-24 and then blame that cutoff ("choose a later cutoff") though none was given
    assert main(["evaluate", "--interactions", str(path), "--models", "popularity", "--no-html"]) == \
        EXIT_CODES[DataError]
    err = capsys.readouterr().err
    assert "too short for a default cutoff" in err and "6.0 days" in err and "--cutoff" in err
