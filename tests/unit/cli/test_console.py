"""The console script: a Ctrl-C while the command line is still being imported ends quietly."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Ctrl-C arrives while `discoverly.cli.app` (typer, polars, ...) is being imported, the first ~0.1 s of
# every command; raised from the import itself, so the test does not depend on timing
_INTERRUPTED_IMPORT = """
import builtins
real_import = builtins.__import__
def interrupted(name, *args, **kwargs):
    if name == "discoverly.cli.app":
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupted
{run}
"""


@pytest.mark.parametrize("run", ["from discoverly._console import entry; entry()",
                                 "import runpy; runpy.run_module('discoverly', run_name='__main__')"])
def test_ctrl_c_during_the_import_is_interrupted_not_a_traceback(run: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _INTERRUPTED_IMPORT.format(run=run), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "interrupted\n"  # it was a KeyboardInterrupt traceback through importlib
    assert proc.stdout == ""


def test_the_console_script_runs_the_command_line() -> None:
    proc = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['discoverly', '--version'];"
                           "from discoverly._console import entry; entry()"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    from discoverly import __version__
    assert __version__ in proc.stdout


def test_importing_the_console_module_loads_nothing_heavy() -> None:
    code = ("import sys; import discoverly._console; "
            "print(sorted(m for m in ('typer', 'click', 'polars', 'numpy', 'discoverly.cli') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
