"""The wheel (built directly, and from the sdist) holds every file the package reads at run time — the
Python modules, py.typed, the packaged .properties and any template — and nothing else: no tests,
data sets or caches."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "discoverly"
PACKAGE_DATA: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
    "tool"]["setuptools"]["package-data"]["discoverly"]


def _package_files() -> set[str]:
    """The package's files in the working tree, as wheel paths (``discoverly/...``)."""
    return {str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def test_every_data_file_in_the_package_is_declared_package_data() -> None:
    declared = {str(p.relative_to(PACKAGE.parent)) for pattern in PACKAGE_DATA for p in PACKAGE.glob(pattern)}
    data = {f for f in _package_files() if not f.endswith(".py")}
    assert "discoverly/py.typed" in data and "discoverly/engine/spark/log4j2.properties" in data
    assert data <= declared, f"not in [tool.setuptools.package-data]: {sorted(data - declared)}"


def test_the_build_requirement_reads_the_license_field() -> None:
    """``license = "MIT"`` (PEP 639) is a configuration error before setuptools 77: a build without
    isolation (``pip install --no-build-isolation``, a distribution's packager) with an older one fails."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    if not isinstance(meta["project"].get("license"), str):
        return
    (setuptools,) = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    floor = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools.replace(" ", ""))
    assert floor is not None and int(floor.group(1)) >= 77, setuptools


def _build(tree: Path, what: str, out: Path) -> Path:
    """Build a wheel or sdist of ``tree`` with the installed setuptools (offline: no build isolation)."""
    code = (f"import sys; from setuptools import build_meta as b; "
            f"print(b.build_{what}(sys.argv[1]))")
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=tree, capture_output=True, text=True,
                          timeout=600, check=False, env={**os.environ, "PIP_NO_INDEX": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_the_wheel_and_the_sdist_hold_the_package_and_nothing_else(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    tree = tmp_path / "tree"  # a copy, so no build/ or egg-info (nor a stale build/lib) comes from the repo
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    expected = _package_files()

    wheel = _build(tree, "wheel", tmp_path / "dist")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert {n for n in names if n.startswith("discoverly/")} == expected
    assert all(n.startswith(("discoverly/", "discoverly-")) for n in names), names
    assert "discoverly = discoverly._console:entry" in entry_points

    sdist = _build(tree, "sdist", tmp_path / "sdist")
    with tarfile.open(sdist) as tf:
        tf.extractall(tmp_path / "unpacked", filter="data")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    from_sdist = _build(unpacked, "wheel", tmp_path / "dist-from-sdist")
    with zipfile.ZipFile(from_sdist) as zf:
        assert {n for n in zf.namelist() if n.startswith("discoverly/")} == expected
