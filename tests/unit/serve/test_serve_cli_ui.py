"""The serve/train/experiment commands, and the web UI pages in process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import DAY, T0, event

from discoverly.cli.app import main
from discoverly.serve.store import Event, Exposure, open_store


def test_experiment_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "plan", "--baseline", "0.1", "--effect", "0.02"]) == 0
    assert "3,8" in capsys.readouterr().out
    assert main(["experiment", "plan", "--baseline", "0.1", "--n", "3841"]) == 0
    assert "minimum detectable effect" in capsys.readouterr().out
    assert main(["experiment", "plan", "--baseline", "0.1"]) == 2  # neither --n nor --effect
    assert "exactly one" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--baseline", "0.05", "--effect", "0.01", "--ratio", "0"],  # ZeroDivisionError
                                  ["--baseline", "0.05", "--effect", "0.01", "--ratio", "nan"],  # traceback
                                  ["--baseline", "0.05", "--effect", "0.01", "--ratio", "-1"],  # -698 customers
                                  ["--std", "nan", "--n", "100"],  # printed "nan"
                                  ["--std", "2", "--effect", "nan"]])  # traceback
def test_experiment_plan_refuses_impossible_inputs(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "plan", *args]) == 2
    assert "error:" in capsys.readouterr().err


def test_experiment_analyze_refuses_non_finite_shares(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with open_store(url) as st:
        for n in range(6):
            st.add_exposure(Exposure("exp1", "AB"[n % 2], f"u{n}", "v1", 1000, ("i1",)))
    assert main(["experiment", "analyze", "exp1", "--store", url, "--shares", "A=nan,B=0.5"]) == 2
    assert "shares must be positive" in capsys.readouterr().err  # was chi2 = nan "(ok)"


def test_experiment_analyze_from_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with open_store(url) as st:
        for n in range(400):
            arm = "A" if n % 2 else "B"
            st.add_exposure(Exposure("exp1", arm, f"u{n}", "v1", 1000, ("i1", "i2")))
            if n % (3 if arm == "B" else 6) == 0:
                st.add([Event(f"k{n}", f"u{n}", "i2", "purchase", 2000, 1.0, 9.5)], received=1)
    assert main(["experiment", "analyze", "exp1", "--store", url, "--shares", "A=0.5,B=0.5", "--json",
                 "--report", str(tmp_path / "ab.html")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [a["arm"] for a in out["arms"]] == ["A", "B"]
    conv = next(c for c in out["comparisons"] if c["metric"] == "conversion")
    assert conv["difference"] > 0 and conv["p_value"] < 0.05
    assert (tmp_path / "ab.html").stat().st_size > 10_000
    assert main(["experiment", "list", "--store", url]) == 0
    assert capsys.readouterr().out.strip() == "exp1"
    assert main(["experiment", "analyze", "nope", "--store", url]) == 3  # no exposures: DataError
    # the service's config (its arms and shares) with --store, the config leaving artifacts to the command
    # line: was "invalid serve configuration: artifacts: Field required"
    cfg = tmp_path / "serve.json"
    cfg.write_text(json.dumps({"experiments": [{"name": "exp1", "arms": [
        {"name": "A", "version": "v1", "share": 0.8}, {"name": "B", "version": "v2", "share": 0.2}]}]}))
    assert main(["experiment", "analyze", "exp1", "--config", str(cfg), "--store", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sample_ratio"]["expected_shares"] == {"A": 0.8, "B": 0.2}


def test_experiment_commands_refuse_bad_windows_and_missing_stores(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with open_store(url) as st:
        st.add_exposure(Exposure("exp1", "A", "u1", "v1", 1000, ("i1",)))
    for window in ("nan", "-3", "0"):  # nan was a traceback, -3 silently counted no conversions
        assert main(["experiment", "analyze", "exp1", "--store", url, "--window-days", window]) == 2
        assert "--window-days" in capsys.readouterr().err
    typo = tmp_path / "typo" / "events.db"
    for args in (["analyze", "exp1", "--store", str(typo)], ["list", "--artifacts", str(tmp_path / "typo")]):
        assert main(["experiment", *args]) == 6  # was: an empty store created there, "no exposures yet"
        assert "no SQLite event store" in capsys.readouterr().err
    assert not typo.parent.exists()


def test_train_into_a_file_is_an_artifact_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "orders.csv"
    file.write_text("user,item,timestamp\nu1,i1,2024-01-01\n")
    assert main(["train", "--interactions", str(file), "--model", "bestsellers", "--artifacts", str(file)]) == 6
    assert "is a file" in capsys.readouterr().err  # was a FileExistsError traceback


def test_train_publishes_versions(tmp_path: Path, log: Any, capsys: pytest.CaptureFixture[str]) -> None:
    arts = tmp_path / "arts"
    frame = log.to_polars()
    frame.write_parquet(tmp_path / "log.parquet")
    assert main(["train", "--interactions", str(tmp_path / "log.parquet"), "--model", "bestsellers",
                 "--artifacts", str(arts)]) == 0
    assert "v0001" in capsys.readouterr().out and (arts / "CURRENT").read_text().strip() == "v0001"
    with open_store(f"sqlite:///{arts / 'events.db'}") as st:
        st.add([Event(f"e{i}", f"c{i % 5}", f"i{i % 7}", "purchase", T0 + 50 * DAY + i) for i in range(30)],
               received=1)
    assert main(["train", "--from-store", "--artifacts", str(arts), "--no-activate"]) == 0
    assert "v0002" in capsys.readouterr().out and (arts / "CURRENT").read_text().strip() == "v0001"
    manifest = json.loads((arts / "models" / "v0002" / "manifest.json").read_text())
    assert manifest["model"] == "bestsellers" and manifest["n_users"] == 5
    assert main(["train", "--artifacts", str(arts)]) == 2  # nothing to train on
    assert main(["train", "--from-store", "--artifacts", str(tmp_path / "empty"), "--model", "bestsellers"]) == 3


def test_serve_refuses_a_missing_artifacts_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--artifacts", str(tmp_path / "missing")]) == 6
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.strip().splitlines()) == 2  # message + the -v hint
    assert "--out DIR" in err  # the flag `discoverly fit` has (it said --output)


def test_serve_refuses_a_file_or_a_folder_without_models_and_creates_no_store(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "orders.csv"
    log.write_text("user,item,timestamp\n")
    assert main(["serve", "--artifacts", str(log)]) == 6
    assert "is a file" in capsys.readouterr().err  # it said 'does not exist'
    folder = tmp_path / "not-artifacts"
    folder.mkdir()
    assert main(["serve", "--artifacts", str(folder)]) == 6
    assert "no model versions" in capsys.readouterr().err
    assert list(folder.iterdir()) == []  # an empty events.db was left behind


def test_serve_names_the_catalogue_settings_when_its_columns_are_missing(
        artifacts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "products.csv"
    catalog.write_text("sku,name\ni1,Mug\n")
    assert main(["serve", "--artifacts", str(artifacts), "--catalog", str(catalog)]) == 3
    err = capsys.readouterr().err
    assert "catalog_item" in err and "catalog_title" in err and "--config" in err, err
    (tmp_path / "serve.toml").write_text(f'artifacts = "{artifacts.as_posix()}"\ncatalog = "{catalog.as_posix()}"\n'
                                         'catalog_item = "sku"\ncatalog_title = "name"\n')
    from discoverly.serve.config import load_config
    from discoverly.serve.state import ServiceState

    state = ServiceState(load_config(tmp_path / "serve.toml"))
    assert state.snapshot.titles(["i1"]) == ["Mug"]
    state.close()


# -- web UI -------------------------------------------------------------------------------------
def test_ui_pages(make_client: Any) -> None:
    exp = {"name": "e1", "arms": [{"name": "A", "version": "v0001", "share": 0.5},
                                  {"name": "B", "version": "v0003", "share": 0.5}]}
    c = make_client(experiments=[exp])
    home = c.get("/ui")
    assert home.status_code == 200 and "Product" in home.text and "e1" in home.text
    assert c.get("/", follow_redirects=False).status_code == 307
    assert c.get("/ui", params={"item": "i3"}, follow_redirects=False).headers["location"] == "/ui/items/i3"
    page = c.get("/ui/items/i4")
    assert page.status_code == 200 and "Product 4" in page.text and "also bought" in page.text
    assert c.get("/ui/items/<script>").status_code == 404
    assert "<script>" not in c.get("/ui/items/<script>").text.replace("&lt;script&gt;", "")
    c.post("/events", json=event("u1", "i9", t=T0 + 59 * DAY))
    user = c.get("/ui/users/u1")
    assert user.status_code == 200 and "stored event" in user.text and "training data" in user.text
    assert "No usable history" in c.get("/ui/users/stranger").text
    assert "Not enough data" in c.get("/ui/experiments/e1").text
    for n in range(40):
        c.get(f"/users/p{n}/recommendations")
    page = c.get("/ui/experiments/e1")
    assert page.status_code == 200 and page.text.count("<svg") == 3
    assert c.get("/ui/experiments/zzz").status_code == 404


def test_ui_customer_page_records_no_exposure(make_client: Any) -> None:
    """Looking a customer up in the web UI showed the customer nothing: it must not count them as
    exposed in the running experiment (it did, diluting the arm's conversion)."""
    exp = {"name": "e1", "arms": [{"name": "A", "version": "v0001", "share": 0.5},
                                  {"name": "B", "version": "v0003", "share": 0.5}]}
    c = make_client(experiments=[exp])
    page = c.get("/ui/users/u7")
    assert page.status_code == 200 and "experiment e1, arm" in page.text
    store = c.app.state.service.store
    assert store.exposures("e1").height == 0
    c.get("/users/u7/recommendations")
    assert store.exposures("e1").height == 1


def test_ui_errors_are_pages_and_api_errors_stay_problems(make_client: Any) -> None:
    """A bad link into the web UI (k=0, k=abc, an unknown page, a malformed customer id) answered
    with problem JSON; a person following it now sees a page. The API keeps its problem JSON."""
    c = make_client()
    for path, params, status in (("/ui/items/i4", {"k": 0}, 422), ("/ui/items/i4", {"k": "abc"}, 422),
                                 ("/ui/nope", {}, 404), ("/ui/users/a%09b", {}, 422),
                                 ("/ui/experiments/zzz", {}, 404)):
        r = c.get(path, params=params)
        assert r.status_code == status, (path, params, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), (path, params, r.headers["content-type"])
        assert "<title>" in r.text and "href='/ui'" in r.text
    assert "query.k" in c.get("/ui/items/i4", params={"k": 0}).text
    wrong = c.post("/ui/items/i4")  # the page keeps the error's headers: Allow on a 405
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET" and "<title>" in wrong.text
    for path in ("/items/i4/related?k=0", "/nope", "/users/a%09b/recommendations"):
        r = c.get(path)
        assert r.headers["content-type"] == "application/problem+json", path


def test_experiment_list_of_a_store_without_exposures_says_so(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """It printed nothing at all; standard output stays empty (one name a line, for scripts)."""
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with open_store(url) as st:
        st.add([Event("k1", "u1", "i1", "purchase", 2000, 1.0, 9.5)], received=1)
    assert main(["experiment", "list", "--store", url]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and f"no experiment has recorded exposures in {url}" in captured.err
