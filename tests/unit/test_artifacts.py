"""Artifact directories: round trip, and the paths a write must not delete or a read must explain."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly import artifacts
from discoverly.artifacts import MANIFEST, check_save_target, read_artifact, write_artifact
from discoverly.errors import ArtifactError


def test_round_trip_and_replacing_an_earlier_artifact(tmp_path: Path) -> None:
    target = tmp_path / "a"
    write_artifact(target, {"kind": "k", "n": 1}, {"x": np.arange(3)}, {"t": pl.DataFrame({"id": ["a"]})})
    write_artifact(target, {"kind": "k", "n": 2}, {"x": np.arange(4)})  # an earlier artifact is replaced
    art = read_artifact(target, kind="k")
    assert art.manifest["n"] == 2 and art.tables == {}
    np.testing.assert_array_equal(art.arrays["x"], np.arange(4))
    (tmp_path / "empty").mkdir()
    write_artifact(tmp_path / "empty", {"kind": "k"})  # an empty folder too
    with pytest.raises(ArtifactError, match="holds a 'k' artifact, expected 'other'"):
        read_artifact(target, kind="other")


def test_a_write_never_deletes_what_is_not_an_artifact(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "log.csv").write_text("user,item\n")
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    for target, what in ((folder, "a folder that is not a discoverly artifact"), (file, "a file")):
        with pytest.raises(ArtifactError, match=f"it is {what}, and saving would replace"):
            check_save_target(target)
        with pytest.raises(ArtifactError, match="saving would replace"):
            write_artifact(target, {"kind": "k"}, {"x": np.arange(2)})
    assert (folder / "log.csv").read_text() == "user,item\n" and file.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "notes.txt"]  # no temporary folder left


def test_reading_a_missing_or_damaged_artifact_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        read_artifact(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ArtifactError, match=r"manifest\.json is missing"):
        read_artifact(tmp_path / "plain")
    target = tmp_path / "a"
    write_artifact(target, {"kind": "k"}, {"x": np.arange(1000)})
    data = (target / "arrays.npz").read_bytes()
    for damaged in (data[: len(data) // 2], b""):  # an interrupted copy; an empty file
        (target / "arrays.npz").write_bytes(damaged)
        with pytest.raises(ArtifactError, match=r"cannot read the arrays .*: save .*the model there again"):
            read_artifact(target)


def _assert_one_write(art_path: Path, n: int) -> None:
    art = read_artifact(art_path)
    assert art.manifest["n"] == n and art.tables["t"]["n"].to_list() == [n]
    np.testing.assert_array_equal(art.arrays["x"], np.full(n, n))


def _write(target: Path, n: int) -> Path:
    return write_artifact(target, {"kind": "k", "n": n}, {"x": np.full(n, n)}, {"t": pl.DataFrame({"n": [n]})})


def test_a_replace_interrupted_between_its_renames_keeps_the_earlier_artifact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # where the system cannot swap two folders in one step, the earlier artifact is moved aside first:
    # Ctrl-C (or a failure) before the new one is in place must put it back, not leave the path empty
    target = _write(tmp_path / "a", 1)
    monkeypatch.setattr(artifacts, "_exchange", lambda a, b: False)
    replace = os.replace

    def interrupted(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == target and ".old-" not in Path(src).name:  # the new copy's rename, not the way back
            raise KeyboardInterrupt
        replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _write(target, 2)
    monkeypatch.undo()
    _assert_one_write(target, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["a"]  # neither the new copy nor the old one is left


def test_a_second_writer_that_gets_there_first_does_not_fail_the_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # two `fit --out models/x` at once: the path appears between one writer's check and its rename
    target = tmp_path / "a"
    renames = {"rename": os.rename, "replace": os.replace}

    def racing(name: str) -> object:
        def move(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
            if Path(dst) == target and not target.exists() and Path(src).name.startswith(".a."):
                with monkeypatch.context() as inner:  # the other writer, unhindered
                    inner.setattr(os, "rename", renames["rename"])
                    inner.setattr(os, "replace", renames["replace"])
                    _write(target, 1)
            renames[name](src, dst)
        return move

    monkeypatch.setattr(os, "rename", racing("rename"))
    monkeypatch.setattr(os, "replace", racing("replace"))
    _write(target, 2)  # was: OSError: [Errno 39] Directory not empty
    monkeypatch.undo()
    _assert_one_write(target, 2)  # the last one wins
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


def test_a_writer_that_lands_between_the_two_renames_leaves_no_hidden_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # where folders cannot be swapped in one step: the earlier artifact was moved aside, then another
    # writer put its own at the path before the new one's rename; the one moved aside was left behind
    target = _write(tmp_path / "a", 1)
    monkeypatch.setattr(artifacts, "_exchange", lambda a, b: False)
    replace = os.replace
    raced = []

    def racing(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == target and not target.exists() and Path(src).name.startswith(".a.") and not raced:
            raced.append(True)
            with monkeypatch.context() as inner:  # the other writer, unhindered
                inner.setattr(os, "replace", replace)
                _write(target, 3)
        replace(src, dst)

    monkeypatch.setattr(os, "replace", racing)
    _write(target, 2)
    monkeypatch.undo()
    assert raced
    _assert_one_write(target, 2)  # the last one wins
    assert [p.name for p in tmp_path.iterdir()] == ["a"]  # was also .a.old-<pid>-<hex>


def test_replace_artifact_creates_the_parent_and_names_a_missing_source(tmp_path: Path) -> None:
    # a missing source looped 100 times and said "other processes keep replacing it"
    with pytest.raises(ArtifactError, match="it is not a folder"):
        artifacts.replace_artifact(tmp_path / "missing", tmp_path / "a")
    staged = _write(tmp_path / ".stage", 4)
    assert artifacts.replace_artifact(staged, tmp_path / "new" / "deeper" / "a") == tmp_path / "new" / "deeper" / "a"
    _assert_one_write(tmp_path / "new" / "deeper" / "a", 4)


def test_files_and_folders_follow_the_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 0755 / 0644 whatever the umask: customer ids in a model were readable by everyone under umask 077
    monkeypatch.setattr(artifacts, "_umask", lambda: 0o077)
    assert _write(tmp_path / "a", 1).stat().st_mode & 0o777 == 0o700
    assert artifacts.write_text_file(tmp_path / "r.json", "{}").stat().st_mode & 0o777 == 0o600


def test_a_reader_never_mixes_two_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the service (or `recommend`) loads a model while `fit` replaces it: the manifest, the arrays and
    # the tables must come from one write (they came from two: a silent mismatch, or a raw error)
    target = _write(tmp_path / "a", 1)
    load = np.load
    calls = []

    def replaced_meanwhile(*args: object, **kwargs: object) -> object:
        if not calls:
            calls.append(1)
            _write(target, 2)
        return load(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(np, "load", replaced_meanwhile)
    art = read_artifact(target)
    monkeypatch.undo()
    n = art.manifest["n"]
    assert art.tables["t"]["n"].to_list() == [n]
    np.testing.assert_array_equal(art.arrays["x"], np.full(n, n))
    _assert_one_write(target, 2)


def test_a_full_disk_or_a_read_only_folder_is_an_artifact_error(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    target = _write(tmp_path / "a", 1)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as m:
        m.setattr(np, "savez", full)
        with pytest.raises(ArtifactError, match="No space left on device; nothing was written there"):
            _write(target, 2)
    _assert_one_write(target, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["a"]
    locked = tmp_path / "locked"
    locked.mkdir()
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and access(p, mode))
    for path in (locked / "model", locked / "deeper" / "model"):  # refused before any work is done
        with pytest.raises(ArtifactError, match=r"the folder '.*locked' is not writable"):
            check_save_target(path)


def test_an_artifact_folder_is_readable_by_others_like_any_folder(tmp_path: Path) -> None:
    # the temporary folder it was written to is private (0700): a model saved by one user could not
    # be loaded by the service running as another
    target = _write(tmp_path / "a", 1)
    assert target.stat().st_mode & 0o777 == 0o755


def test_ctrl_c_while_the_replaced_artifact_is_deleted_leaves_no_hidden_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = _write(tmp_path / "a", 1)
    rmtree = shutil.rmtree
    calls = []

    def interrupted(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if not calls:  # Ctrl-C halfway through deleting the earlier artifact
            calls.append(path)
            (Path(path) / MANIFEST).unlink()
            raise KeyboardInterrupt
        rmtree(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "rmtree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _write(target, 2)
    monkeypatch.undo()
    _assert_one_write(target, 2)  # the new artifact is in place
    assert [p.name for p in tmp_path.iterdir()] == ["a"]  # and the earlier one is gone, not left as .a.xxxx


def test_the_folders_of_a_killed_writer_go_at_the_next_write(tmp_path: Path) -> None:
    """A writer killed outright (SIGKILL, the out-of-memory killer) left its hidden half-written
    folder next to the artifact for good: the size of a model, never seen by `ls`. Only folders no
    live process holds are swept: a process id cannot tell (another container of the host may run it)."""
    import subprocess
    import sys
    import time

    target = tmp_path / "model"
    writer = ("import os, signal, sys, time\n"
              "from discoverly.artifacts import staging_folder\n"
              "d = staging_folder(sys.argv[1])\n"
              "if sys.argv[2] == 'nested':\n"
              "    d = staging_folder(d)  # write_artifact(stage) stages next to the stage\n"
              "(d / 'weights.bin').write_bytes(b'x' * 1000)\n"
              "print(d, flush=True)\n"
              "if sys.argv[2] == 'live':\n"
              "    time.sleep(30)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    for how in ("plain", "nested"):
        killed = subprocess.run([sys.executable, "-c", writer, str(target), how], check=False, capture_output=True)
        assert killed.returncode == -9, killed.stderr
    live = subprocess.Popen([sys.executable, "-c", writer, str(target), "live"], stdout=subprocess.PIPE, text=True)
    try:
        printed = Path(live.stdout.readline().strip())  # type: ignore[union-attr]
        # as another container of this host would see it: the writer's process id means nothing here
        held = printed.with_name(printed.name.replace(f"-{live.pid}-", "-999999-"))
        printed.rename(held)  # its lock is on the folder itself, not on its name
        left = [p for p in tmp_path.iterdir() if p.name.startswith(".") and p != held]
        assert len(left) == 3  # plain; nested: the stage and the folder staged next to it
        long_ago = time.time() - 3600
        for folder in [*left, held]:
            os.utime(folder, (long_ago, long_ago))
        mine = artifacts.staging_folder(target)  # a write of this (running) process
        os.utime(mine, (long_ago, long_ago))
        elsewhere = tmp_path / ".model.part-00000000-1-abc"  # another host's writer, on a shared disk
        other = tmp_path / ".model.notes"  # not a discoverly folder at all
        for folder in (elsewhere, other):
            folder.mkdir()
            os.utime(folder, (long_ago, long_ago))
        write_artifact(target, {"kind": "k"})
        assert not any(p.exists() for p in left)
        assert held.is_dir() and mine.is_dir() and elsewhere.is_dir() and other.is_dir()
        assert read_artifact(target).manifest["kind"] == "k"
    finally:
        live.kill()
        live.wait()
        live.stdout.close()  # type: ignore[union-attr]


def test_a_text_file_naming_a_file_that_is_not_utf8_is_written(tmp_path: Path) -> None:
    """A report naming caf\\xe9.csv was a raw UnicodeEncodeError (surrogates not allowed)."""
    name = os.fsdecode(b"caf\xe9")
    written = artifacts.write_text_file(tmp_path / f"data-{name}.html", f"<h1>{name}</h1>")
    assert written.read_text(encoding="utf-8") == "<h1>caf?</h1>"


def test_a_staged_file_replaces_its_target_in_one_step_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    target.write_bytes(b"earlier")
    with pytest.raises(RuntimeError), artifacts.staged_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"earlier" and sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]
    with artifacts.staged_file(tmp_path / "new" / "out.csv") as tmp:  # a missing folder is made
        assert tmp.name == "out.csv" and tmp.parent.name.startswith(".out.csv.part-")
        tmp.write_text("a,b\n")
    assert (tmp_path / "new" / "out.csv").read_text() == "a,b\n"
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["out.csv"]


def test_a_staged_file_killed_outright_is_swept_by_the_next_write(tmp_path: Path) -> None:
    """privatize, synthetic logs, downloads, the ONNX export and graph builds write one large file each:
    a writer killed outright (SIGKILL, the out-of-memory killer) left a hidden temporary file the size of
    the output for good."""
    import subprocess
    import sys
    import time

    target = tmp_path / "private.csv"
    writer = ("import os, signal, sys\n"
              "from discoverly.artifacts import staged_file\n"
              "with staged_file(sys.argv[1]) as tmp:\n"
              "    tmp.write_bytes(b'x' * 100_000)\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", writer, str(target)], check=False, capture_output=True)
    assert killed.returncode == -9, killed.stderr
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".private.csv.part-") and (left / "private.csv").stat().st_size == 100_000
    long_ago = time.time() - 3600  # under a minute old, it may be a live writer's that has not locked it yet
    os.utime(left, (long_ago, long_ago))
    with artifacts.staged_file(target) as tmp:
        tmp.write_text("done")
    assert [p.name for p in tmp_path.iterdir()] == ["private.csv"] and target.read_text() == "done"
