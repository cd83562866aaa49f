"""``discoverly demo``, the main job: on the synthetic store (fast) and on the real data (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from discoverly.cli.app import main


def test_demo_on_the_synthetic_store(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCOVERLY_DATA_DIR", raising=False)
    monkeypatch.setenv("DISCOVERLY_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["demo", "--synthetic", "--models", "popularity,bestsellers,cosine,corrected"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "SYNTHETIC" in out and "--synthetic was given" in out
    for part in ("1 · data", "2 · evaluation", "3 · report", "4 · related items", "HitRate@6", "95% CI",
                 "paired test", "also bought"):
        assert part in out, part
    assert (tmp_path / "reports" / "demo-synthetic-store.html").is_file()


def test_demo_falls_back_to_synthetic_when_the_data_are_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCOVERLY_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("DISCOVERLY_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "empty").mkdir()
    code = main(["demo", "--models", "popularity,bestsellers", "--related-model", "cosine"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "NOTE: using SYNTHETIC data" in out and "Online Retail was not found" in out


@pytest.mark.slow
@pytest.mark.data
def test_demo_on_online_retail(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["demo", "--data-dir", str(shared_data)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "SYNTHETIC" not in out
    assert "online-retail" in out and "cutoff 2011-11-01" in out
    assert "also bought" in out and out.count("customers who bought") == 3
    assert (tmp_path / "reports" / "demo-online-retail.html").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--related-model", "bestsellers"], "does not compute related items"),  # failed at the very end
    (["--k", "0"], "--k must be at least 1"),  # failed after loading the data
])
def test_bad_options_fail_before_any_work(args: list[str], message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from discoverly.errors import EXIT_CODES, ConfigError

    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--synthetic", *args]) == EXIT_CODES[ConfigError]
    out = capsys.readouterr()
    assert message in out.err and "1 · data" not in out.out
    assert not (tmp_path / "reports").exists()
