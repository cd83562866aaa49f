"""``discoverly data``: report on a real data set and on a CSV file, list, and exit codes for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from discoverly.cli.app import main
from discoverly.errors import EXIT_CODES, ConfigError, DataError, DatasetNotFoundError


def _log(tmp_path: Path, **overrides: list[object]) -> Path:
    columns: dict[str, list[object]] = {
        "customer": ["c1", "c1", "c2", "c3", "c3", "c3"],
        "sku": ["a", "b", "a", "c", "a", "a"],
        "ts": ["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-03 12:00", "2024-01-04 09:00",
               "2024-01-04 09:00", "2024-01-09 18:30"],
        "qty": [1, 2, 1, 5, 1, 2],
    }
    columns.update(overrides)
    path = tmp_path / "events.csv"
    pl.DataFrame(columns).write_csv(path)
    return path


ARGS = ["--user", "customer", "--item", "sku", "--time", "ts", "--quantity", "qty"]


def test_report_on_a_csv_file_writes_html_and_prints_a_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["data", "report", str(path), *ARGS]) == 0
    out = capsys.readouterr().out
    html = Path("reports") / "data-events.html"  # the default place
    assert "events" in out and "6" in out and str(html) in out
    text = (tmp_path / html).read_text()
    assert text.startswith("<!doctype html>") and text.count("data:image/png;base64") == 4
    assert "Data report: events" in text


def test_report_json_on_a_csv_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(tmp_path)
    assert main(["data", "report", str(path), *ARGS, "--json", "--no-html"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_events"] == 6 and data["n_users"] == 3 and data["n_items"] == 3
    assert data["html"] is None and data["repeat_event_share"] == pytest.approx(1 / 6)
    assert data["missing_values"] == {"customer": 0, "sku": 0, "ts": 0, "qty": 0}


def test_a_catalogue_with_its_own_item_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(tmp_path)
    cat = tmp_path / "products.csv"
    pl.DataFrame({"product_id": ["a", "b"], "name": ["Apple", "Bread"]}).write_csv(cat)
    assert main(["data", "report", str(path), *ARGS, "--catalog", str(cat), "--catalog-item", "product_id",
                 "--catalog-title", "name", "--json", "--no-html"]) == 0
    facts = json.loads(capsys.readouterr().out)["catalog"]
    assert facts["catalog_items"] == 2 and facts["log_items_in_catalog"] == 2
    assert facts["log_items_without_catalog_row"] == 1  # sku c


def test_drop_negative(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(tmp_path, qty=[1, -2, 1, 5, 1, 2])
    html = tmp_path / "r.html"
    assert main(["data", "report", str(path), *ARGS, "--html", str(html)]) == EXIT_CODES[DataError]
    err = capsys.readouterr().err
    assert "negative 'qty'" in err and "--drop-negative" in err and "Traceback" not in err
    assert not html.exists()  # nothing half-written
    assert main(["data", "report", str(path), *ARGS, "--drop-negative", "--json", "--no-html"]) == 0
    assert json.loads(capsys.readouterr().out)["n_events"] == 5


@pytest.mark.parametrize("overrides,args,match", [
    ({}, ["--user", "user"], "the user column 'user' is missing"),
    ({"ts": ["x", "2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01"]}, ARGS, "rows 0: 'x'"),
])
def test_bad_files_exit_with_the_data_error_code(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 overrides: dict[str, list[object]], args: list[str],
                                                 match: str) -> None:
    html = tmp_path / "r.html"
    path = _log(tmp_path, **overrides)
    code = main(["data", "report", str(path), *args, "--html", str(html)])
    assert code == EXIT_CODES[DataError]
    assert match in capsys.readouterr().err
    assert not html.exists()


def test_the_log_as_fit_and_evaluate_take_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """-i FILE and -d NAME, as fit and evaluate take them, instead of the positional argument."""
    path = _log(tmp_path)
    assert main(["data", "report", "-i", str(path), *ARGS, "--json", "--no-html"]) == 0
    assert json.loads(capsys.readouterr().out)["n_events"] == 6
    # --dataset means a data set even when a file of that name is in the folder
    monkeypatch.chdir(tmp_path)
    Path("synthetic-store").write_text("not a log")
    assert main(["data", "report", "--dataset", "synthetic-store", "--json", "--no-html"]) == 0
    assert json.loads(capsys.readouterr().out)["n_events"] > 1000
    assert main(["data", "report", "-i", "online-retail", "--no-html"]) == EXIT_CODES[DataError]
    assert "'online-retail' does not exist" in capsys.readouterr().err
    for args in ([], [str(path), "-d", "synthetic-store"], ["-i", str(path), "-d", "synthetic-store"]):
        assert main(["data", "report", *args, "--no-html"]) == EXIT_CODES[ConfigError]
        assert "give one log" in capsys.readouterr().err


def test_neither_file_nor_data_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "report", str(tmp_path / "nope.csv")]) == EXIT_CODES[DataError]
    assert "neither an existing file nor a built-in data set" in capsys.readouterr().err
    # a misspelt data set name is an unknown name (exit 2, as docs/data.md says), with a suggestion
    assert main(["data", "report", "online-retial"]) == EXIT_CODES[ConfigError]
    assert "Did you mean 'online-retail'" in capsys.readouterr().err  # the suggestion of dataset_spec's error


def test_data_set_not_found_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "report", "online-retail-2011", "--data-dir", str(tmp_path)]) == \
        EXIT_CODES[DatasetNotFoundError]
    assert "online_retail/online_retail.parquet" in capsys.readouterr().err
    assert EXIT_CODES[ConfigError] != EXIT_CODES[DatasetNotFoundError]


def test_report_on_the_synthetic_store_is_labelled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = tmp_path / "s.html"
    assert main(["data", "report", "synthetic-store", "--html", str(html)]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    assert "SYNTHETIC" in html.read_text()


@pytest.mark.data
def test_report_on_a_real_data_set(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = tmp_path / "ml.html"
    assert main(["data", "report", "movielens-100k", "--data-dir", str(shared_data), "--html", str(html),
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["n_events"], data["n_users"], data["n_items"]) == (100_000, 943, 1_682)
    assert data["cleaning"]["rows_read"] == 100_000
    assert html.is_file() and "Catalogue" in html.read_text()


@pytest.mark.data
def test_report_on_online_retail_shows_the_cleaning(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "report", "online-retail-2011", "--data-dir", str(shared_data), "--no-html"]) == 0
    out = capsys.readouterr().out
    assert "396,370" in out and "missing customer 132,549" in out and "cancellations 9,288" in out


def test_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list", "--data-dir", str(tmp_path), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["synthetic-store"]["found"] and not rows["online-retail"]["found"]
    assert rows["movielens-100k"]["download"].startswith("https://files.grouplens.org/")
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    assert "movielens-100k" in capsys.readouterr().out
