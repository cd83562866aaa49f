"""The curated surface of discoverly.search: every exported name exists; importing stays light."""

from __future__ import annotations

import subprocess
import sys

import discoverly.search


def test_all_names_resolve() -> None:
    for name in discoverly.search.__all__:
        assert getattr(discoverly.search, name) is not None
        assert not name.startswith("_")


def test_import_does_not_load_heavy_libraries() -> None:
    code = ("import sys, discoverly.search\n"
            "print([m for m in ('torch', 'faiss', 'sentence_transformers', 'lightgbm', 'bm25s') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
