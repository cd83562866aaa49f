"""The curated surface of discoverly.privacy resolves lazily, without heavy imports."""

from __future__ import annotations

import subprocess
import sys

import discoverly.privacy as privacy


def test_all_names_resolve() -> None:
    for name in privacy.__all__:
        assert getattr(privacy, name) is not None, name
    assert sorted(dir(privacy)) == sorted(privacy.__all__)


def test_import_is_light() -> None:
    code = ("import sys, discoverly.privacy as p; p.TruncatedGumbel; p.MultivariateLaplace; "
            "print([m for m in ('faiss', 'sklearn', 'torch', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
