"""The command-line shell: lazy sub-commands, help without heavy imports, errors -> exit codes."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from discoverly.cli.app import COMMANDS, main
from discoverly.data.interactions import Interactions
from discoverly.errors import EXIT_CODES, ConfigError, DataError, DiscoverlyError, UnknownIdError


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "discoverly" in capsys.readouterr().out


def test_help_lists_available_commands_without_importing_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from discoverly.cli.app import main\n"
        "rc = main(['--help'])\n"
        "heavy = [m for m in ('torch', 'faiss', 'sentence_transformers', 'lightgbm', 'implicit', 'pyspark') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
        "sys.exit(rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    assert "Usage" in out.stdout


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2


def test_every_error_class_has_an_exit_code() -> None:
    classes = {DiscoverlyError, *DiscoverlyError.__subclasses__()}
    assert classes <= set(EXIT_CODES)
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)


def test_errors_become_one_line_messages(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    app_module = sys.modules["discoverly.cli.app"]

    def boom(*args: object, **kwargs: object) -> None:
        raise DataError("the time column 'ts' cannot be read")

    monkeypatch.setattr(app_module, "app", boom)
    assert main(["anything"]) == EXIT_CODES[DataError]
    err = capsys.readouterr().err
    assert "error: the time column 'ts' cannot be read" in err
    assert "Traceback" not in err


def test_verbose_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    app_module = sys.modules["discoverly.cli.app"]

    def boom(*args: object, **kwargs: object) -> None:
        raise ConfigError("bad k")

    monkeypatch.setattr(app_module, "app", boom)
    with pytest.raises(ConfigError):
        main(["-v", "anything"])


def test_registered_commands_name_existing_modules_or_are_hidden() -> None:
    # every COMMANDS entry either imports and exposes its attribute, or is simply not listed yet
    import importlib
    import importlib.util

    for name, (module, attr, help_text) in COMMANDS.items():
        assert help_text.endswith("."), name
        if importlib.util.find_spec(module) is not None:
            assert hasattr(importlib.import_module(module), attr), f"{module} lacks {attr}"


def test_library_progress_bars_draw_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    # the commands switch progress on when stderr is a terminal; bars the library drew on rich's global
    # console (search embedding, graph training, privatize, relatedness) went to stdout, into a
    # redirected or piped result, and were missing from the terminal. Each now draws on stderr, and the
    # command line leaves rich's global console as it found it.
    import rich

    from discoverly.privacy.progress import ticker
    from discoverly.recommend.relatedness import _progress as relatedness_progress
    from discoverly.search.engine import _progress as search_progress

    console = rich.get_console()
    assert main(["data", "list", "--json"]) == 0
    assert rich.get_console() is console
    capsys.readouterr()
    with ticker("privatising", total=3, enabled=True) as t:
        t.advance(3)
    list(search_progress(range(3), True, 3, "embedding"))
    list(relatedness_progress(iter([]), True, 3))
    captured = capsys.readouterr()
    assert "privatising" in captured.err and "privatising" not in captured.out
    assert captured.out == ""


def test_sigterm_stops_the_service_by_the_signal_not_with_143(tiny_log: Interactions, tmp_path: Path) -> None:
    # the service keeps uvicorn's graceful stop and then ends by the signal, which a service manager
    # (systemd) counts as a clean stop (an exit status of 143 it does not)
    pytest.importorskip("uvicorn")
    from discoverly.recommend.registry import create

    create("popularity").fit(tiny_log).save(tmp_path / "model")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "discoverly", "serve", "-a", str(tmp_path / "model"),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # started: the service answers
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGTERM, err
    assert "terminated (SIGTERM)" not in err and "Traceback" not in err


def test_an_output_that_cannot_hold_the_text_gets_escapes(tmp_path: Path) -> None:
    """PYTHONIOENCODING=ascii (a cp1252 console likewise): item ids and titles are any text, and
    printing 'café' ended the command in a UnicodeEncodeError traceback."""
    import os

    (tmp_path / "log.csv").write_text("user,item,timestamp\nzoë,café,2024-01-01\nzoë,thé,2024-01-02\n"
                                      "anna,café,2024-01-03\nanna,thé,2024-01-04\n", encoding="utf-8")
    assert main(["fit", "-i", str(tmp_path / "log.csv"), "--model", "cosine", "-o", str(tmp_path / "m")]) == 0
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    for args in (["--item", "café"], ["--user", "zoë"], ["--item", "cafX"]):
        out = subprocess.run([sys.executable, "-m", "discoverly", "recommend", str(tmp_path / "m"), *args],
                             capture_output=True, env=env, timeout=120)
        assert b"Traceback" not in out.stderr, out.stderr.decode("ascii", "replace")
        if args[1] == "cafX":
            assert out.returncode == EXIT_CODES[UnknownIdError] and b"unknown item 'cafX'" in out.stderr
        else:
            assert out.returncode == 0 and b"\\xe" in out.stdout  # caf\xe9, zo\xeb


def test_the_same_option_has_the_same_spellings_in_every_command() -> None:
    """A user going from `fit -i log.csv` to `search index -i log.csv`, or from `search query -k 5` to
    `recommend -k 5`, met 'No such option'. Every list length takes -k and --k, every built-in data
    set -d and --dataset, every log file -i and --interactions."""
    import typer

    from discoverly.cli.app import app

    spellings = {"k": {"-k", "--k"}, "dataset": {"-d", "--dataset"}, "interactions": {"-i", "--interactions"}}
    found: dict[str, list[str]] = {name: [] for name in spellings}

    def walk(command: object, path: list[str]) -> None:
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*path, name])
        for param in getattr(command, "params", []):
            if param.name in spellings and param.param_type_name == "option":
                assert set(param.opts) == spellings[param.name], (path, param.opts)
                found[param.name].append(" ".join(path))

    walk(typer.main.get_command(app), [])
    assert {"recommend", "search query", "graph similar", "evaluate"} <= set(found["k"])
    assert {"fit", "evaluate", "data report", "search index", "search evaluate"} <= set(found["dataset"])
    assert {"fit", "evaluate", "data report", "search index", "search train", "train"} <= set(found["interactions"])
