"""The install command each ``require(...)`` names really installs the module: every extra a call
site (or ``dependencies._EXTRAS``) names exists in pyproject.toml and lists the module's distribution,
directly or through one of its requirements (transformers comes with sentence-transformers).

Reads the installed distributions' metadata, so it is meant for where the extras are installed (the
project's .venv has them all: scripts/setup.sh installs ``.[all,dev]``); a module that is not installed
here is taken to come from the distribution of its own name.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata as md
import re
import tomllib
from pathlib import Path

import pytest

from discoverly.dependencies import _EXTRAS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "discoverly"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
OPTIONAL: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string (``psycopg[binary]>=3.1`` -> ``psycopg``)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _extra_names(extra: str) -> set[str]:
    """The distributions an extra lists, with ``discoverly[a,b]`` self-references expanded."""
    out: set[str] = set()
    for req in OPTIONAL[extra]:
        self_ref = re.fullmatch(r"\s*discoverly\[([^\]]+)\]\s*", req)
        if self_ref:
            for inner in self_ref.group(1).split(","):
                out |= _extra_names(inner.strip())
        else:
            out.add(_name(req))
    return out


@functools.cache
def _requires(dist: str) -> set[str]:
    """The unconditional requirements of an installed distribution (no extras, no platform markers
    that exclude this machine)."""
    try:
        reqs = md.requires(dist) or []
    except md.PackageNotFoundError:
        return set()
    return {_name(r) for r in reqs if "extra ==" not in r}


def _installs(extra: str, dist: str) -> bool:
    listed = _extra_names(extra)
    return dist in listed or any(dist in _requires(d) for d in listed)


@functools.cache
def _top_level_distributions() -> dict[str, list[str]]:
    return md.packages_distributions()


def _distribution_of(module: str) -> str:
    """The distribution that installed ``module`` here; for a module not installed here, its own name."""
    dists = _top_level_distributions().get(module.split(".")[0])
    return _name(dists[0]) if dists else _name(module.split(".")[0])


def _require_calls() -> list[tuple[str, str, dict[str, str]]]:
    """(where, module, keyword arguments given as constants) of every ``require("...")`` in src."""
    calls = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "require"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                kwargs = {k.arg: k.value.value for k in node.keywords
                          if k.arg and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)}
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0].value, kwargs))
    return calls


CALLS = _require_calls()


def test_the_scan_finds_the_call_sites() -> None:
    modules = {module for _, module, _ in CALLS}
    assert {"torch", "matplotlib", "uvicorn", "pyspark", "pandas", "bm25s"} <= modules, modules


@pytest.mark.parametrize("module,extra", sorted(_EXTRAS.items()))
def test_the_default_extra_of_each_module_installs_it(module: str, extra: str) -> None:
    assert extra in OPTIONAL, f"_EXTRAS[{module!r}] names [{extra}], which pyproject.toml does not declare"
    dist = _distribution_of(module)
    assert _installs(extra, dist), f"_EXTRAS says [{extra}] installs {module} ({dist}); it lists {OPTIONAL[extra]}"


@pytest.mark.parametrize("where,module,kwargs", CALLS, ids=[w for w, _, _ in CALLS])
def test_each_require_names_an_extra_that_installs_the_module(where: str, module: str, kwargs: dict[str, str]) -> None:
    if "package" in kwargs:  # a package no extra installs: named as itself
        assert _name(kwargs["package"]) not in {d for e in OPTIONAL for d in _extra_names(e)}, where
        return
    extra = kwargs.get("extra") or _EXTRAS.get(module.split(".")[0])
    assert extra is not None, f"{where}: require({module!r}) names no extra and _EXTRAS has none (it would say [all])"
    assert extra in OPTIONAL, f"{where}: [{extra}] is not an extra in pyproject.toml"
    dist = _distribution_of(module)
    assert _installs(extra, dist), f"{where}: pip install 'discoverly[{extra}]' does not install {module} ({dist})"


def test_all_installs_every_extra_but_dev() -> None:
    expected = set().union(*(_extra_names(e) for e in OPTIONAL if e not in ("all", "dev")))
    assert _extra_names("all") == expected
