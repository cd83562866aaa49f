"""The lowest versions pyproject.toml allows really work: pip keeps an installed polars or typer that
satisfies the floor, so a user's environment with polars 1.0 or typer 0.12 got discoverly and a raw
TypeError on the first command. A fresh venv gets every base dependency at its floor, the package
without its dependencies, and runs the core commands. Needs the package index (skipped offline)."""

from __future__ import annotations

import re
import subprocess
import tomllib
import venv
from pathlib import Path

import polars as pl
import pytest

from discoverly.data.synthetic import synthetic_store

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DEPENDENCIES: list[str] = PROJECT["dependencies"]


def floors(requirements: list[str] = DEPENDENCIES) -> list[str]:
    """``numpy==1.26`` for ``numpy>=1.26``: each requirement pinned to its lower bound."""
    pins = []
    for req in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)", req.split(";")[0].replace(" ", ""))
        assert match, f"a base dependency without a plain lower bound: {req!r}"
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


def test_every_base_dependency_has_a_lower_bound() -> None:
    assert len(floors()) == len(DEPENDENCIES)


@pytest.mark.slow
def test_the_core_commands_run_on_the_lowest_allowed_versions(tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = str(env / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    got = subprocess.run([*pip, *floors()], capture_output=True, text=True, timeout=900, check=False)
    if got.returncode != 0:
        if re.search(r"No matching distribution|Could not find a version|connection|resolve|Network|offline",
                     got.stderr, flags=re.I):
            pytest.skip(f"the package index is not reachable: {got.stderr.strip()[-300:]}")
        pytest.fail(got.stderr[-3000:])
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "discoverly-src.pth").write_text(str(ROOT / "src") + "\n", encoding="utf-8")  # the package, no deps

    log = synthetic_store(n_customers=80, n_items=30, days=60, rng=2).interactions.to_polars()
    log.rename({"user": "customer", "item": "sku", "timestamp": "ts"}).write_csv(tmp_path / "log.csv")
    item = str(pl.read_csv(tmp_path / "log.csv")["sku"][0])
    files = ["--interactions", "log.csv", "--user", "customer", "--item", "sku", "--time", "ts"]
    for args in (["--help"], ["fit", "--help"],
                 ["data", "report", "log.csv", "--user", "customer", "--item", "sku", "--time", "ts", "--no-html"],
                 ["fit", *files, "--model", "corrected", "--out", "model"],
                 ["recommend", "model", "--item", item, "--k", "3", "--json"],
                 ["evaluate", *files, "--cutoff", "2023-02-10", "--models", "bestsellers,buy-again,corrected,ease",
                  "--no-html"]):
        done = subprocess.run([python, "-m", "discoverly", *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0, (args, done.stderr[-3000:])
    # the extras of the pure-Python side at their floors too: peers, report, pandas
    extras = floors([r for e in ("peers", "report", "pandas") for r in PROJECT["optional-dependencies"][e]])
    got = subprocess.run([*pip, *floors(), *extras], capture_output=True, text=True, timeout=900, check=False)
    assert got.returncode == 0, got.stderr[-3000:]
    for args in (["fit", *files, "--model", "als", "--out", "als"],
                 ["evaluate", *files, "--cutoff", "2023-02-10", "--models", "bestsellers,als", "--html", "ev.html"]):
        done = subprocess.run([python, "-m", "discoverly", *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0, (args, done.stderr[-3000:])
    code = f"import discoverly as dv; print(type(dv.load_model('model').related([{item!r}], k=2).to_pandas()))"
    done = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert "pandas" in done.stdout and "DataFrame" in done.stdout, done.stderr[-3000:]
    installed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                               check=True).stdout.lower().split()
    for pin in floors() + extras:  # what ran is the floors, not newer versions
        assert any(v == pin or v.startswith(pin + ".") for v in installed), (pin, installed)
