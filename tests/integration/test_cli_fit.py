"""``discoverly fit`` then ``discoverly recommend``: artifacts, titles, fallbacks, errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from discoverly.cli.app import main
from discoverly.cli.fit import parse_params
from discoverly.errors import EXIT_CODES, ArtifactError, ConfigError, DataError, UnknownIdError


@pytest.fixture
def log_files(tmp_path: Path) -> tuple[Path, Path]:
    events = pl.DataFrame({
        "customer": ["a", "a", "b", "b", "c", "c", "c", "d"],
        "sku": ["mug", "saucer", "mug", "saucer", "mug", "teapot", "saucer", "teapot"],
        "ts": ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03",
               "2024-01-04", "2024-01-05"],
    })
    catalog = pl.DataFrame({"sku": ["mug", "saucer", "teapot"], "name": ["Blue mug", "Blue saucer", "Big teapot"]})
    events.write_csv(tmp_path / "events.csv")
    catalog.write_csv(tmp_path / "items.csv")
    return tmp_path / "events.csv", tmp_path / "items.csv"


def fit_args(events: Path, catalog: Path, out: Path, model: str = "popularity") -> list[str]:
    return ["fit", "--interactions", str(events), "--user", "customer", "--item", "sku", "--time", "ts",
            "--catalog", str(catalog), "--catalog-title", "name", "--model", model, "--out", str(out)]


def test_fit_then_recommend_with_titles(log_files: tuple[Path, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model"
    assert main(fit_args(*log_files, out)) == 0
    assert "saved to" in capsys.readouterr().out
    assert (out / "manifest.json").is_file() and (out / "catalog" / "manifest.json").is_file()
    assert main(["recommend", str(out), "--user", "d", "--user", "stranger", "--k", "2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["kind"] == "user" and res["model"] == "popularity"
    d, stranger = res["results"]
    # d bought the teapot: the most popular unseen items are mug and saucer (3 buyers each)
    assert [it["item"] for it in d["items"]] == ["mug", "saucer"] and not d["fallback"]
    assert [it["title"] for it in d["items"]] == ["Blue mug", "Blue saucer"]
    assert stranger["fallback"] and len(stranger["items"]) == 2
    assert main(["recommend", str(out), "--user", "d", "--include-seen", "--k", "3"]) == 0
    text = capsys.readouterr().out
    assert "Big teapot" in text and "recommended for user d" in text


def test_recommend_json_is_utf8_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --json printed "Gro\u00dfe Teekanne" for every non-ASCII title and id
    events, catalog = tmp_path / "events.csv", tmp_path / "items.csv"
    events.write_text("customer,sku,ts\nZoë,mug,2024-01-01\nZoë,tasse,2024-01-01\nb,mug,2024-01-02\n", encoding="utf-8")
    catalog.write_text("sku,name\nmug,Große Teekanne\ntasse,Tasse à thé\n", encoding="utf-8")
    out = tmp_path / "model"
    assert main(fit_args(events, catalog, out)) == 0
    capsys.readouterr()
    assert main(["recommend", str(out), "--user", "b", "--include-seen", "--k", "2", "--json"]) == 0
    printed = capsys.readouterr().out
    assert '"Große Teekanne"' in printed and '"Tasse à thé"' in printed and "\\u" not in printed
    assert [it["title"] for it in json.loads(printed)["results"][0]["items"]] == ["Große Teekanne", "Tasse à thé"]


def test_fit_until_and_params(log_files: tuple[Path, Path], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "recent"
    args = [*fit_args(*log_files, out, model="bestsellers"), "--until", "2024-01-03", "--param", "window_days=1"]
    assert main(args) == 0
    assert "on 4 events" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"] == {"window_days": 1.0}
    # a compact date is read as epoch seconds: the error says which moment that was
    assert main([*fit_args(*log_files, out), "--until", "20240103"]) == EXIT_CODES[DataError]
    assert "--until 20240103 (1970-08-23 06:15:03 UTC); the log starts 2024-01-01" in capsys.readouterr().err


def test_parse_params() -> None:
    assert parse_params(["min_count=3", "score=cosine", "half_life_days=7.5"]) == {
        "min_count": 3, "score": "cosine", "half_life_days": 7.5}
    with pytest.raises(ConfigError):
        parse_params(["min_count"])


def test_errors(log_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model"
    assert main(fit_args(*log_files, out, model="no-such-model")) == EXIT_CODES[ConfigError]
    assert "known models" in capsys.readouterr().err
    assert main([*fit_args(*log_files, out), "--param", "nonsense=1"]) == EXIT_CODES[ConfigError]
    assert "does not accept ['nonsense']" in capsys.readouterr().err
    # a value of the wrong type was reported as "does not accept ['min_count']"
    assert main([*fit_args(*log_files, out, model="cosine"), "--param", "min_count=three"]) == \
        EXIT_CODES[ConfigError]
    assert "wrong type (min_count='three'" in capsys.readouterr().err
    # a catalogue column that is not there: the advice names this command's flags, not read_catalog()
    assert main([*fit_args(*log_files, out), "--catalog-title", "title"]) == EXIT_CODES[DataError]
    err = capsys.readouterr().err
    assert "--catalog-item and --catalog-title" in err and "read_catalog" not in err
    assert not out.exists()
    assert main(["recommend", str(tmp_path / "nothing"), "--user", "a"]) == EXIT_CODES[ArtifactError]
    assert main(fit_args(*log_files, out)) == 0
    capsys.readouterr()
    assert main(["recommend", str(out)]) == EXIT_CODES[ConfigError]
    assert main(["recommend", str(out), "--item", "mug"]) == EXIT_CODES[ConfigError]  # no related items
    assert "item-to-item" in capsys.readouterr().err


def test_related_items_of_an_item_to_item_model(log_files: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("discoverly.recommend.item_to_item")
    out = tmp_path / "cosine"
    assert main([*fit_args(*log_files, out, model="cosine"), "--param", "min_count=1"]) == 0
    capsys.readouterr()
    assert main(["recommend", str(out), "--item", "mug", "--k", "2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["kind"] == "item" and res["model"] == "cosine"  # the name it was fitted as, not "item-to-item"
    items = res["results"][0]["items"]
    assert items[0]["item"] == "saucer" and items[0]["title"] == "Blue saucer"
    assert main(["recommend", str(out), "--item", "kettle"]) == EXIT_CODES[UnknownIdError]
    assert "kettle" in capsys.readouterr().err
    # an item nobody bought with another one often enough: said in words, not an empty table
    strict = out.parent / "strict"
    assert main([*fit_args(*log_files, strict, model="cosine"), "--param", "min_count=10"]) == 0
    capsys.readouterr()
    assert main(["recommend", str(strict), "--item", "mug"]) == 0
    assert "related to item mug (Blue mug): none — no other item was bought by enough" in capsys.readouterr().out


def test_fit_refuses_to_replace_a_folder_that_is_not_a_model(log_files: tuple[Path, Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    events, catalog = log_files
    # --out pointed at the data folder by mistake: refused, and the data are still there
    assert main(fit_args(events, catalog, events.parent)) == EXIT_CODES[ArtifactError]
    assert "not a discoverly artifact" in capsys.readouterr().err
    assert events.is_file() and catalog.is_file()
    assert main(fit_args(events, catalog, events)) == EXIT_CODES[ArtifactError]
    assert events.is_file()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)])
def test_an_interrupted_fit_leaves_the_earlier_model_and_no_half_written_copy(
        log_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], sig: int, code: int) -> None:
    # Ctrl-C, or the SIGTERM a job scheduler sends, while the new model is being written
    out = tmp_path / "model"
    assert main(fit_args(*log_files, out, model="bestsellers")) == 0
    capsys.readouterr()
    before = sorted(p.name for p in tmp_path.iterdir())
    script = ("import sys, time\n"
              "import numpy as np\n"
              "from discoverly.cli.app import entry\n"
              "savez = np.savez\n"
              "def half_written(*args, **kwargs):\n"
              "    savez(*args, **kwargs)\n"
              "    print('started', flush=True)\n"
              "    time.sleep(60)\n"
              "np.savez = half_written\n"
              f"sys.argv = ['discoverly', *{fit_args(*log_files, out)!r}]\n"
              "entry()\n")  # the console script: after its cleanup, SIGTERM ends the process by the signal
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    # SIGTERM used to kill the process on the spot (also -15) and leave its temporary copy: the cleanup and the
    # message below are what changed; the process still ends by the signal
    assert proc.returncode == code, err
    assert "Traceback" not in err and ("terminated (SIGTERM)" in err) == (sig == signal.SIGTERM)
    assert ("interrupted" in err) == (sig == signal.SIGINT)  # typer ended Ctrl-C with exit 130 and no word
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary folder left behind
    assert json.loads((out / "manifest.json").read_text())["model"] == "bestsellers"
    assert main(["recommend", str(out), "--user", "d", "--json"]) == 0


def test_a_fit_interrupted_before_its_catalogue_keeps_the_earlier_model_whole(
        log_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # the model and its catalogue are one artifact: Ctrl-C after the model was saved but before its
    # catalogue was left a new model without titles (and without the earlier model)
    import discoverly.artifacts

    out = tmp_path / "model"
    assert main(fit_args(*log_files, out, model="bestsellers")) == 0
    write = discoverly.artifacts.write_artifact

    def interrupted(path: Path, *args: object, **kwargs: object) -> Path:
        if Path(path).name == "catalog":
            raise KeyboardInterrupt
        return write(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(discoverly.artifacts, "write_artifact", interrupted)
    assert main(fit_args(*log_files, out)) == 130
    monkeypatch.undo()
    assert json.loads((out / "manifest.json").read_text())["model"] == "bestsellers"
    assert (out / "catalog" / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "items.csv", "model"]
    capsys.readouterr()
    assert main(["recommend", str(out), "--user", "d", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["items"][0]["title"] == "Blue mug"


def test_a_full_disk_is_one_line_naming_out_and_keeps_the_earlier_model(
        log_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import errno
    import os

    import numpy as np

    out = tmp_path / "model"
    assert main(fit_args(*log_files, out, model="bestsellers")) == 0
    capsys.readouterr()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", full)
    assert main(fit_args(*log_files, out)) == EXIT_CODES[ArtifactError]  # was a raw OSError traceback
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert f"cannot save to {str(out)!r}: No space left on device" in err and ".part-" not in err
    assert json.loads((out / "manifest.json").read_text())["model"] == "bestsellers"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "items.csv", "model"]


def test_a_customer_who_has_every_suggestion_is_told_so(log_files: tuple[Path, Path], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Customer c bought all three items: "none" alone did not say that the list was left empty because
    bought items are left out."""
    out = tmp_path / "model"
    assert main(fit_args(*log_files, out)) == 0
    capsys.readouterr()
    assert main(["recommend", str(out), "--user", "c"]) == 0
    assert " ".join(capsys.readouterr().out.split()) == (
        "recommended for user c — nothing from the model: recent bestsellers: none — the customer already has all "
        "of them (--include-seen shows them)")
    assert main(["recommend", str(out), "--user", "c", "--include-seen", "--json"]) == 0
    assert [r["item"] for r in json.loads(capsys.readouterr().out)["results"][0]["items"]] == [
        "mug", "saucer", "teapot"]


def test_each_item_says_whether_the_model_or_the_bestsellers_gave_it(log_files: tuple[Path, Path], tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A list the model could not fill is completed by recent bestsellers; their scores (-1, -2, ...) are
    placeholders, not the model's, and nothing in the answer said which items they were (the service's
    answer marks them with "source")."""
    pytest.importorskip("discoverly.recommend.item_to_item")
    out = tmp_path / "cosine"
    assert main([*fit_args(*log_files, out, model="cosine"), "--param", "min_count=1"]) == 0
    capsys.readouterr()
    # d bought the teapot; c bought it with the mug and the saucer: the model has 2 items for d, no 3rd
    assert main(["recommend", str(out), "--user", "d", "--user", "stranger", "--k", "3", "--json"]) == 0
    d, stranger = json.loads(capsys.readouterr().out)["results"]
    assert [(i["item"], i["source"]) for i in d["items"]] == [("mug", "model"), ("saucer", "model")]
    assert d["fallback"] is False
    assert stranger["fallback"] is True and [i["source"] for i in stranger["items"]] == ["bestsellers"] * 3
    assert [i["score"] for i in stranger["items"]] == [-1.0, -2.0, -3.0]  # the placeholders, kept as they were
    assert main(["recommend", str(out), "--user", "stranger", "--k", "1"]) == 0
    assert "│ 1 │ mug  │ Blue mug │ bestseller │" in capsys.readouterr().out
