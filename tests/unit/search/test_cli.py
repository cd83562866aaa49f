"""``discoverly search index | query | train | evaluate`` on small files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from discoverly.cli.app import main
from discoverly.data import Catalog, Interactions

from .test_judged import _write_wands


@pytest.fixture
def files(tmp_path: Path, catalog: Catalog, purchases: Interactions) -> dict[str, Path]:
    cat = tmp_path / "products.csv"
    catalog.table.write_csv(cat)
    log = tmp_path / "purchases.csv"
    frame = purchases.to_polars()
    frame.write_csv(log)
    queries = tmp_path / "queries.csv"
    types = dict(zip(catalog.table["item"].to_list(), catalog.table["product_type"].str.to_lowercase().to_list(),
                     strict=True))
    frame.with_columns(pl.col("item").replace_strict(types).alias("query")).select("query", "item", "user"
                                                                                  ).write_csv(queries)
    return {"catalog": cat, "log": log, "queries": queries, "out": tmp_path / "engine"}


def test_index_query_train(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["search", "index", "--catalog", str(files["catalog"]), "--title", "title", "--no-dense",
               "--interactions", str(files["log"]), "--out", str(files["out"]), "--weights", "product_type=2"])
    assert rc == 0, capsys.readouterr().err
    assert "indexed 14 items" in capsys.readouterr().out
    assert main(["search", "query", str(files["out"]), "frozen pizza", "-k", "2", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert {r["item"] for r in got["results"]} == {"D1", "D2"} and got["method"] == "hybrid"
    rc = main(["search", "train", str(files["out"]), "--log", str(files["queries"]),
               "--interactions", str(files["log"])])
    assert rc == 0, capsys.readouterr().err
    assert main(["search", "query", str(files["out"]), "whole milk", "--user", "u3", "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "personalised" in out and "A3" in out


def test_errors_are_one_line_messages(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "index", "--out", str(files["out"])]) == 2
    assert "--catalog" in capsys.readouterr().err
    assert main(["search", "index", "--catalog", str(files["catalog"]), "--fields", "nope", "--no-dense",
                 "--out", str(files["out"])]) == 2
    assert main(["search", "query", str(files["out"]), "milk"]) == 6  # no artifact there
    capsys.readouterr()
    assert main(["search", "index", "--catalog", str(files["catalog"]), "--item", "sku", "--no-dense",
                 "--out", str(files["out"])]) == 3
    err = capsys.readouterr().err
    assert "--item and --title" in err and "read_catalog" not in err
    assert main(["search", "index", "--catalog", str(files["catalog"]), "--title", "name", "--no-dense",
                 "--interactions", str(files["log"]), "--out", str(files["out"])]) == 3  # the same with a log
    assert "--item and --title" in capsys.readouterr().err
    assert main(["search", "evaluate"]) == 2


def test_evaluate_wands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_wands(tmp_path)
    out = tmp_path / "wands.json"
    assert main(["search", "evaluate", "--wands", str(tmp_path), "--no-dense", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["dataset"] == "wands" and result["results"][0]["queries"] == 3


def test_index_refuses_to_replace_a_folder_that_is_not_an_engine(files: dict[str, Path],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # --out pointed at the data folder by mistake: refused before any work, and the data are still there
    data = files["catalog"].parent
    assert main(["search", "index", "--catalog", str(files["catalog"]), "--no-dense", "--out", str(data)]) == 6
    assert "not a discoverly artifact" in capsys.readouterr().err
    assert files["catalog"].is_file() and files["log"].is_file()


def test_fields_and_weights_may_name_the_title_column(files: dict[str, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # the documented call: --title name renames the column to 'title', --weights name=2 still names it
    cat = tmp_path / "named.csv"
    pl.read_csv(files["catalog"]).rename({"item": "sku", "title": "name"}).write_csv(cat)
    out = tmp_path / "named"
    assert main(["search", "index", "--catalog", str(cat), "--item", "sku", "--title", "name", "--no-dense",
                 "--weights", "name=2", "--out", str(out)]) == 0, capsys.readouterr().err
    assert main(["search", "index", "--catalog", str(cat), "--item", "sku", "--title", "name", "--no-dense",
                 "--fields", "name,brand,category", "--out", str(out)]) == 0, capsys.readouterr().err
    assert "fields title, brand, category" in capsys.readouterr().out
    assert main(["search", "query", str(out), "frozen pizza", "-k", "2", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert {r["item"] for r in got["results"]} == {"D1", "D2"} and got["results"][0]["title"].startswith("Frozen")


def test_train_names_the_missing_columns_of_the_query_log(files: dict[str, Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "index", "--catalog", str(files["catalog"]), "--no-dense", "--out", str(files["out"])]) == 0
    capsys.readouterr()
    queries = pl.read_csv(files["queries"])
    for name, frame in (("q.csv", queries.rename({"query": "q"})), ("nouser.csv", queries.drop("user"))):
        path = tmp_path / name
        frame.write_csv(path)
        rc = main(["search", "train", str(files["out"]), "--log", str(path), "--interactions", str(files["log"])])
        err = capsys.readouterr().err
        assert rc == 3 and "needs 'query', 'item'" in err and "Traceback" not in err, err


@pytest.mark.parametrize("width", [1, 3])  # customers 1, 2, ... (integer ids) and 001, 002, ... (text ids)
def test_query_user_ids_as_typed(files: dict[str, Path], capsys: pytest.CaptureFixture[str], width: int) -> None:
    renamed = pl.col("user").str.strip_prefix("u").cast(pl.Int64).cast(pl.String).str.zfill(width)
    for name in ("log", "queries"):
        pl.read_csv(files[name]).with_columns(renamed.alias("user")).write_csv(files[name])
    rc = main(["search", "index", "--catalog", str(files["catalog"]), "--title", "title", "--no-dense",
               "--interactions", str(files["log"]), "--out", str(files["out"])])
    assert rc == 0, capsys.readouterr().err
    rc = main(["search", "train", str(files["out"]), "--log", str(files["queries"]),
               "--interactions", str(files["log"])])
    assert rc == 0, capsys.readouterr().err
    capsys.readouterr()
    typed = "3".zfill(width)
    assert main(["search", "query", str(files["out"]), "whole milk", "--user", typed, "-k", "3"]) == 0
    assert "personalised" in capsys.readouterr().out  # "003" was read as 3 and lost its history
    if width > 1:  # "3" is not customer "003"
        assert main(["search", "query", str(files["out"]), "whole milk", "--user", "3", "-k", "3"]) == 0
        assert "personalised" not in capsys.readouterr().out


def test_the_protocol_table_shows_the_interval_its_title_names() -> None:
    from rich.console import Console

    from discoverly.cli.search import _print_protocol

    rows = [{"system": "hybrid", "variant": v, "subset": "all", "metric": m, "value": x, "ci": [x - 0.01, x + 0.01],
             "n": 50} for v in ("query", "variant") for m, x in (("NDCG@10", 0.5), ("MRR", 0.4), ("Recall@100", 0.9))]
    con = Console(record=True, width=200)
    _print_protocol(con, {"rows": rows})
    text = con.export_text()
    assert "NDCG@10 [95% CI]" in text and "0.500 [0.490, 0.510] / 0.400 / 0.900" in text


def test_query_json_is_utf8_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --json printed "\u043c\u043e..." for every non-ASCII letter of the query, its tokens and the titles
    cat = tmp_path / "products.csv"
    cat.write_text("item,title\nA1,Молоко цельное 1 л\nA2,whole milk 1 gal\n", encoding="utf-8")
    out = tmp_path / "engine"
    assert main(["search", "index", "--catalog", str(cat), "--title", "title", "--no-dense", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["search", "query", str(out), "молоко", "--json"]) == 0
    printed = capsys.readouterr().out
    assert '"query": "молоко"' in printed and '"title": "Молоко цельное 1 л"' in printed and "\\u" not in printed
    got = json.loads(printed)
    assert got["understood"]["tokens"] == ["молоко"] and got["results"][0]["item"] == "A1"


def test_query_of_stop_words_only_says_so(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    # "the of and" was answered with tokens: [] and not a word; now a notice (JSON) or a note (stderr)
    assert main(["search", "index", "--catalog", str(files["catalog"]), "--no-dense", "--out", str(files["out"])]) == 0
    capsys.readouterr()
    assert main(["search", "query", str(files["out"]), "the of and", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["understood"]["tokens"] == [] and "has no search words" in got["notice"]
    assert main(["search", "query", str(files["out"]), "the of and"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("note: the query 'the of and' has no search words") and "note:" not in captured.out
    assert main(["search", "query", str(files["out"]), "frozen pizza", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notice"] is None
    assert main(["search", "query", str(files["out"]), "frozen pizza"]) == 0
    assert capsys.readouterr().err == ""
