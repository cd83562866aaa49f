"""Artifact directories: what the manifest records, what a write refuses, what a read explains."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly import artifacts
from discoverly._version import __version__
from discoverly.artifacts import MANIFEST, check_file_target, read_artifact, write_artifact
from discoverly.errors import ArtifactError


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_manifest_records_the_versions_and_the_parts(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    target = write_artifact(tmp_path / "a", {"kind": "k", "arrays": "mine", "n": 3},
                            {"y": np.arange(2), "x": np.ones(1)},
                            {"u": pl.DataFrame({"a": [1]}), "t": pl.DataFrame({"b": ["z"]})})
    after = dt.datetime.now(dt.UTC)
    raw = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    assert raw["format_version"] == 1 and raw["discoverly_version"] == __version__
    assert raw["python"] == platform.python_version() and raw["numpy"] == np.__version__
    created = dt.datetime.fromisoformat(raw["created"])
    assert created.utcoffset() == dt.timedelta(0) and created.microsecond == 0  # UTC, to the second
    assert before <= created <= after
    assert raw["kind"] == "k" and raw["n"] == 3
    assert raw["arrays"] == ["x", "y"] and raw["tables"] == ["t", "u"]  # the parts written, sorted, not the caller's
    assert "files" not in raw
    assert _names(target) == ["arrays.npz", MANIFEST, "t.parquet", "u.parquet"]
    art = read_artifact(target, kind="k")
    assert art.manifest == raw and art.path == target and art.files == {}
    assert art.tables["u"].equals(pl.DataFrame({"a": [1]})) and art.tables["t"]["b"].to_list() == ["z"]
    np.testing.assert_array_equal(art.arrays["y"], [0, 1])
    # the caller's own entries win over the defaults, e.g. a model's creation time
    again = write_artifact(tmp_path / "b", {"kind": "k", "created": "2020-01-01T00:00:00+00:00"})
    assert read_artifact(again).manifest["created"] == "2020-01-01T00:00:00+00:00"


def test_an_artifact_without_arrays_has_no_arrays_file(tmp_path: Path) -> None:
    target = write_artifact(tmp_path / "a", {"kind": "k"})
    assert _names(target) == [MANIFEST]
    art = read_artifact(target)  # any kind, when none is asked for
    assert art.arrays == {} and art.tables == {} and art.manifest["arrays"] == [] and art.manifest["tables"] == []


def test_numpy_values_dates_and_paths_are_written_as_json(tmp_path: Path) -> None:
    manifest = {"kind": "k", "i": np.int64(7), "f": np.float32(0.5), "v": np.array([[1, 2], [3, 4]]),
                "when": dt.datetime(2024, 6, 1, 12, 30, tzinfo=dt.UTC), "day": dt.date(2024, 6, 1),
                "where": Path("data") / "log.csv", "flag": object()}
    with pytest.raises(TypeError, match="cannot write object to a manifest"):
        write_artifact(tmp_path / "a", manifest)
    assert _names(tmp_path) == []  # nothing half-written is left behind
    del manifest["flag"]
    got = read_artifact(write_artifact(tmp_path / "a", manifest)).manifest
    assert got["i"] == 7 and isinstance(got["i"], int) and got["f"] == 0.5 and got["v"] == [[1, 2], [3, 4]]
    assert got["when"] == "2024-06-01T12:30:00+00:00" and got["day"] == "2024-06-01"
    assert got["where"] == str(Path("data") / "log.csv")


def test_extra_files_round_trip_and_bad_names_are_refused(tmp_path: Path) -> None:
    target = write_artifact(tmp_path / "a", {"kind": "k"}, {"x": np.arange(2)}, {"t": pl.DataFrame({"a": [1]})},
                            files={"w.bin": b"\x00\xff", "notes.txt": b"hi"})
    art = read_artifact(target)
    assert art.files == {"w.bin": b"\x00\xff", "notes.txt": b"hi"}
    assert art.manifest["files"] == ["notes.txt", "w.bin"]
    reserved = "arrays.npz, manifest.json, t.parquet"
    for name in ("sub/w.bin", MANIFEST, "arrays.npz", "t.parquet", ".hidden"):
        with pytest.raises(ArtifactError) as err:
            write_artifact(tmp_path / "b", {"kind": "k"}, {"x": np.arange(2)}, {"t": pl.DataFrame({"a": [1]})},
                           files={name: b"x"})
        assert str(err.value) == f"cannot write extra file {name!r}: expected a plain file name other than {reserved}"
    assert _names(tmp_path) == ["a"]
    (target / "w.bin").unlink()
    with pytest.raises(ArtifactError, match=r"cannot read file 'w.bin' of .*: .*No such file .*save .*there again"):
        read_artifact(target)
    with pytest.raises(ArtifactError) as err:
        read_artifact(target)
    assert str(err.value).startswith(f"cannot read file 'w.bin' of {str(target)!r}: ")


def test_an_object_array_or_an_existing_path_without_overwrite_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as err:
        write_artifact(tmp_path / "a", {"kind": "k"}, {"ok": np.arange(2), "ids": np.array(["a", None], dtype=object)})
    assert str(err.value) == "array 'ids' has dtype object; store it as a table instead"
    assert _names(tmp_path) == []
    target = write_artifact(tmp_path / "a", {"kind": "k", "n": 1}, overwrite=False)  # a new path is fine
    with pytest.raises(ArtifactError) as err:
        write_artifact(target, {"kind": "k", "n": 2}, overwrite=False)
    assert str(err.value) == f"{str(target)!r} exists; pass overwrite=True or choose another path"
    assert read_artifact(target).manifest["n"] == 1


def test_a_newer_or_unreadable_manifest_is_explained(tmp_path: Path) -> None:
    target = write_artifact(tmp_path / "a", {"kind": "k", "discoverly_version": "9.9"})
    manifest = json.loads((target / MANIFEST).read_text())
    (target / MANIFEST).write_text(json.dumps({**manifest, "format_version": 2}))
    with pytest.raises(ArtifactError) as err:
        read_artifact(target)
    assert str(err.value) == f"{str(target)!r} was written by a newer discoverly (9.9); upgrade discoverly to read it"
    (target / MANIFEST).write_text(json.dumps({**manifest, "format_version": 1, "kind": "k"}))
    assert read_artifact(target, kind="k").manifest["format_version"] == 1
    (target / MANIFEST).write_text(json.dumps({"kind": "old"}))  # no format version: the first
    assert read_artifact(target, kind="old").manifest == {"kind": "old"}
    for damaged in (b'{"kind": ', b'{"kind": "\xe9"}'):  # cut short; not UTF-8
        (target / MANIFEST).write_bytes(damaged)
        with pytest.raises(ArtifactError, match=r"manifest\.json' is not valid JSON: "):
            read_artifact(target)
    (target / MANIFEST).write_text(json.dumps({"kind": "k", "tables": ["t"]}))
    with pytest.raises(ArtifactError, match=r"cannot read table 't' of .*; the copy is damaged or incomplete"):
        read_artifact(target)
    (target / MANIFEST).write_text(json.dumps({"kind": "k"}))
    with pytest.raises(ArtifactError) as err:
        read_artifact(target, kind="search-index")
    assert str(err.value) == f"{str(target)!r} holds a 'k' artifact, expected 'search-index'"


def test_a_file_target_that_is_a_folder_or_below_a_file_is_refused(tmp_path: Path) -> None:
    for what, name in (("the report", "report.html"), ("the results", "results.json")):
        with pytest.raises(ArtifactError) as err:
            check_file_target(tmp_path, what=what)
        assert str(err.value) == (f"cannot write {what} to {str(tmp_path)!r}: it is a folder; name a file, e.g. "
                                  f"{str(tmp_path / name)!r}")
    with pytest.raises(ArtifactError, match=r"cannot write the file to .*: it is a folder; .*results\.json"):
        check_file_target(tmp_path)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with pytest.raises(ArtifactError) as err:
        check_file_target(plain / "deeper" / "out.json", what="the results")
    assert str(err.value) == (f"cannot write the results to {str(plain / 'deeper' / 'out.json')!r}: "
                              f"{str(plain)!r} is a file, not a folder")
    check_file_target(tmp_path / "new" / "out.json")  # a folder to be made is fine
    with pytest.raises(ArtifactError, match=r"cannot save to .*: '.*plain\.txt' is a file, not a folder"):
        write_artifact(plain / "model", {"kind": "k"})


def test_a_text_file_is_written_whole_or_explained(tmp_path: Path) -> None:
    written = artifacts.write_text_file(tmp_path / "new" / "r.json", "{\"a\": 1}\n")
    assert written == tmp_path / "new" / "r.json" and written.read_text() == "{\"a\": 1}\n"
    artifacts.write_text_file(written, "second")  # replaces
    assert written.read_text() == "second" and _names(written.parent) == ["r.json"]
    with pytest.raises(ArtifactError) as err:
        artifacts.write_text_file(tmp_path / "new", "x", what="the report")
    assert str(err.value).startswith(f"cannot write the report to {str(tmp_path / 'new')!r}: ")
    assert _names(tmp_path / "new") == ["r.json"]  # no temporary file left


def test_another_tools_manifest_is_not_an_artifact(tmp_path: Path) -> None:
    # a folder with a web app's or another tool's manifest.json: a JSON list was a raw AttributeError,
    # a text format_version a raw TypeError, and an object without a kind "holds a None artifact"
    folder = tmp_path / "app"
    folder.mkdir()
    cases = [("[]", "holds a JSON list, not an object"), ('"v1"', "holds a JSON str, not an object"),
             ('{"kind": "k", "format_version": "2"}', "has format_version '2', not a whole number"),
             ('{"kind": "k", "format_version": 1.5}', "has format_version 1.5, not a whole number"),
             ('{"kind": "k", "format_version": true}', "has format_version True, not a whole number")]
    for text, says in cases:
        (folder / MANIFEST).write_text(text)
        with pytest.raises(ArtifactError) as err:
            read_artifact(folder)
        assert str(err.value) == f"{str(folder)!r} is not a discoverly artifact: its manifest.json {says}"
    (folder / MANIFEST).write_text('{"name": "My app", "start_url": "/"}')
    with pytest.raises(ArtifactError) as err:
        read_artifact(folder, kind="search-index")
    assert str(err.value) == f"{str(folder)!r} holds no discoverly artifact (manifest.json names no kind), " \
                             "expected 'search-index'"
    assert read_artifact(folder).manifest["name"] == "My app"  # no kind asked for: read as it is


def test_reading_where_files_cannot_be_opened_in_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # systems whose os.open takes no dir_fd (Windows) open each file by its path
    target = write_artifact(tmp_path / "a", {"kind": "k"}, {"x": np.arange(3)}, {"t": pl.DataFrame({"a": [1]})},
                            files={"w.bin": b"w"})
    monkeypatch.setattr(artifacts.os, "supports_dir_fd", set())
    art = read_artifact(target, kind="k")
    np.testing.assert_array_equal(art.arrays["x"], [0, 1, 2])
    assert art.tables["t"]["a"].to_list() == [1] and art.files == {"w.bin": b"w"} and art.path == target
    with pytest.raises(ArtifactError, match="holds a 'k' artifact, expected 'j'"):
        read_artifact(target, kind="j")


def test_a_folder_that_keeps_being_replaced_is_read_ten_times_then_explained(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def replaced(root: Path, kind: str | None) -> None:
        calls.append(root)
        raise artifacts._ReplacedError

    monkeypatch.setattr(artifacts, "_read", replaced)
    with pytest.raises(ArtifactError) as err:
        read_artifact(tmp_path / "a")
    assert str(err.value) == f"cannot read {str(tmp_path / 'a')!r}: other processes keep replacing it; try again"
    assert calls == [tmp_path / "a"] * 10


def test_the_system_refusing_a_write_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a"

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as m:  # the rename into place fails: not retried, explained
        m.setattr(artifacts.os, "rename", full)
        with pytest.raises(ArtifactError) as err:
            write_artifact(target, {"kind": "k"})
    assert str(err.value) == (f"cannot save to {str(target)!r}: No space left on device; nothing was written there "
                              "(an earlier artifact at that path is unchanged). Free some space or choose another path")
    assert _names(tmp_path) == []

    def plain(*args: object) -> None:
        raise OSError("no strerror")

    stage = write_artifact(tmp_path / ".stage", {"kind": "k"})
    with monkeypatch.context() as m:
        m.setattr(artifacts.os, "rename", plain)
        with pytest.raises(ArtifactError, match=r"cannot save to '.*a': no strerror; nothing was written"):
            artifacts.replace_artifact(stage, target)
    assert read_artifact(stage).manifest["kind"] == "k"  # still there to try again


def test_a_writer_that_always_loses_the_race_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = write_artifact(tmp_path / ".stage", {"kind": "k"})
    calls = []

    def lost(*args: object) -> None:
        calls.append(1)
        raise OSError(errno.EEXIST, os.strerror(errno.EEXIST))

    monkeypatch.setattr(artifacts.os, "rename", lost)
    with pytest.raises(ArtifactError) as err:
        artifacts._move_into_place(stage, tmp_path / "a")
    assert str(err.value) == f"cannot save to {str(tmp_path / 'a')!r}: other processes keep replacing it"
    assert len(calls) == 100
    monkeypatch.undo()
    with pytest.raises(FileNotFoundError):  # no staged folder: not another writer, so not retried
        artifacts._move_into_place(tmp_path / "missing", tmp_path / "a")


def test_replacing_into_an_existing_folder_releases_the_stage(tmp_path: Path) -> None:
    stage = artifacts.staging_folder(tmp_path / "a")
    assert str(stage) in artifacts._held
    write_artifact(stage / "inner", {"kind": "k"})  # a folder with an artifact inside, as a model writes its parts
    (stage / MANIFEST).write_text(json.dumps({"kind": "outer"}))
    assert artifacts.replace_artifact(stage, tmp_path / "a") == tmp_path / "a"
    assert str(stage) not in artifacts._held
    assert read_artifact(tmp_path / "a", kind="outer").manifest == {"kind": "outer"}
    assert _names(tmp_path) == ["a"]
    with pytest.raises(ArtifactError) as err:
        artifacts.replace_artifact(tmp_path / "missing", tmp_path / "b")
    assert str(err.value) == f"cannot move {str(tmp_path / 'missing')!r} to {str(tmp_path / 'b')!r}: it is not a folder"


def test_swapping_two_folders_in_one_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths: relative to the working folder
    Path("a").mkdir()
    Path("b").mkdir()
    (Path("a") / "x").write_text("a")
    assert artifacts._exchange(Path("a"), Path("b")) is True
    assert (Path("b") / "x").read_text() == "a" and not (Path("a") / "x").exists()
    with pytest.raises(OSError) as err:  # a missing path is the system's error, named, not "cannot swap"
        artifacts._exchange(Path("a"), Path("nowhere"))
    assert err.value.errno == errno.ENOENT and err.value.strerror == os.strerror(errno.ENOENT)
    assert err.value.filename == "nowhere"


def test_removing_a_folder_that_is_gone_is_fine(tmp_path: Path) -> None:
    artifacts._remove(tmp_path / "gone")
    (tmp_path / "f").mkdir()
    artifacts._remove(tmp_path / "f")
    assert _names(tmp_path) == []


def test_a_save_target_that_is_a_file_is_refused_in_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("x")
    with pytest.raises(ArtifactError) as err:
        artifacts.check_save_target(file)
    assert str(err.value) == (f"cannot save to {str(file)!r}: it is a file, and saving would replace (delete) it. "
                              "Choose a new path, e.g. models/<name>")
    with pytest.raises(ArtifactError) as err:
        artifacts.check_save_target(file / "model")
    assert str(err.value) == f"cannot save to {str(file / 'model')!r}: {str(file)!r} is a file, not a folder"
    locked = tmp_path / "locked"
    locked.mkdir()
    seen = []

    def no_search(p: str | os.PathLike[str], mode: int) -> bool:  # writable, but not searchable
        seen.append(mode)
        return Path(p) != locked or mode == os.W_OK
    monkeypatch.setattr(os, "access", no_search)
    with pytest.raises(ArtifactError) as err:
        check_file_target(locked / "r.json", what="the results")
    assert str(err.value) == (f"cannot write the results to {str(locked / 'r.json')!r}: the folder {str(locked)!r} "
                              "is not writable (read-only or not yours). Choose a path in a folder you can write to")
    assert seen == [os.W_OK | os.X_OK]


def test_a_text_file_lands_in_a_new_folder_readable_by_others(tmp_path: Path) -> None:
    written = artifacts.write_text_file(tmp_path / "a" / "b" / "r.html", "café ✓")
    assert written.read_bytes() == "café ✓".encode()
    assert written.stat().st_mode & 0o777 == 0o666 & ~artifacts._umask()
    assert _names(tmp_path / "a" / "b") == ["r.html"]
    (tmp_path / "dir").mkdir()
    with pytest.raises(ArtifactError) as err:
        artifacts.write_text_file(tmp_path / "dir", "x")
    assert str(err.value) == f"cannot write the file to {str(tmp_path / 'dir')!r}: Is a directory"
    assert _names(tmp_path / "dir") == []


def test_pickled_arrays_are_never_loaded(tmp_path: Path) -> None:
    # "never pickle": an arrays.npz holding a pickled object array (hand-made or tampered with) is
    # refused, not unpickled (which could run any code)
    target = write_artifact(tmp_path / "a", {"kind": "k"}, {"x": np.arange(2)})
    np.savez(target / "arrays.npz", x=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ArtifactError, match=r"cannot read the arrays of .*allow_pickle=False") as err:
        read_artifact(target)
    assert str(err.value).startswith(f"cannot read the arrays of {str(target)!r}: ")


def _aged(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_which_temporary_folders_count_as_abandoned(tmp_path: Path) -> None:
    # a replaced artifact on its way out: abandoned after 10 minutes, whoever holds it
    old = tmp_path / "old"
    old.mkdir()
    assert not artifacts._abandoned(str(_aged(old, 590)), "old")
    assert artifacts._abandoned(str(_aged(old, 610)), "old")
    assert not artifacts._abandoned(str(tmp_path / "gone"), "old")
    assert not artifacts._abandoned(str(tmp_path / "gone"), "part")
    # a staging folder: never under a minute old; older, only when no live writer holds its lock
    part = artifacts.staging_folder(tmp_path / "a")
    assert not artifacts._abandoned(str(_aged(part, 3600)), "part")  # this process holds it
    artifacts._release(part)
    assert str(part) not in artifacts._held
    assert artifacts._abandoned(str(part), "part")
    assert not artifacts._abandoned(str(_aged(part, 50)), "part")
    assert artifacts._abandoned(str(_aged(part, 70)), "part")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")  # a dangling link's own age counts, not its target's
    assert not artifacts._abandoned(str(link), "old")


def test_a_sweep_removes_only_abandoned_folders_of_that_name(tmp_path: Path) -> None:
    tag = artifacts._host_tag()
    names = {f".a.part-{tag}-1-x": True, f".a.old-{tag}-2-y": True, f"..a.part-{tag}-3-z": True,
             f".ab.part-{tag}-1-x": False, f".a.part-{tag}-x-x": False, f".a.part-{tag}-1-": False,
             f".a.tmp-{tag}-1-x": False, f"a.part-{tag}-1-x": False}
    for name in names:
        _aged(_mk(tmp_path / name), 3600)
    names[f".a.old-{tag}-5-w"] = False  # a replaced artifact five minutes old may still be on its way out
    _aged(_mk(tmp_path / f".a.old-{tag}-5-w"), 300)
    (tmp_path / f".a.part-{tag}-4-file").write_text("a file, not a folder")
    artifacts._sweep_killed_writes(tmp_path / "a")
    assert _names(tmp_path) == sorted([n for n, gone in names.items() if not gone] + [f".a.part-{tag}-4-file"])
    artifacts._sweep_killed_writes(tmp_path / "nowhere" / "a")  # a folder that does not exist: nothing to do


def _mk(path: Path) -> Path:
    path.mkdir()
    return path


def test_staging_next_to_the_target_and_releasing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = tmp_path / "x" / "y" / "a"
    stage = artifacts.staging_folder(deep)  # missing folders above are made
    assert stage.parent == deep.parent and stage.name.startswith(f".a.part-{artifacts._host_tag()}-{os.getpid()}-")
    artifacts._release(stage)
    write_artifact(tmp_path / "b", {"kind": "k"})
    assert not [k for k in artifacts._held if ".b.part-" in k]  # the write let go of its staging folder's lock
    raw = (tmp_path / "b" / MANIFEST).read_text(encoding="utf-8")
    assert raw.startswith('{\n  "format_version": 1,\n  "discoverly_version": ')  # indented: readable by people

    def full(*args: object, **kwargs: object) -> str:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(artifacts.tempfile, "mkdtemp", full)
    with pytest.raises(ArtifactError) as err:
        artifacts.staging_folder(tmp_path / "c")
    assert str(err.value).startswith(f"cannot save to {str(tmp_path / 'c')!r}: No space left on device; nothing")


def test_replacing_an_artifact_leaves_no_earlier_copy(tmp_path: Path) -> None:
    write_artifact(tmp_path / "a", {"kind": "k", "n": 1})
    stage = write_artifact(tmp_path / ".stage", {"kind": "k", "n": 2})
    artifacts.replace_artifact(stage, tmp_path / "a")
    assert read_artifact(tmp_path / "a").manifest["n"] == 2 and _names(tmp_path) == ["a"]


def test_a_text_file_is_staged_next_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the temporary file must be in the same folder, so that the rename replaces the file in one step
    moves = []
    replace = os.replace

    def spy(src: str, dst: str | os.PathLike[str]) -> None:
        moves.append((Path(src), Path(dst)))
        replace(src, dst)

    monkeypatch.setattr(artifacts.os, "replace", spy)
    artifacts.write_text_file(tmp_path / "r.json", "{}")
    ((src, dst),) = moves
    assert dst == tmp_path / "r.json" and src.parent == tmp_path and src.name.startswith(".r.json.")


def test_reading_a_missing_place_or_table_names_it(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as err:
        read_artifact(tmp_path / "nowhere")
    assert str(err.value) == f"{str(tmp_path / 'nowhere')!r} does not exist; expected a discoverly artifact folder"
    with pytest.raises(ArtifactError) as err:
        read_artifact(tmp_path)
    assert str(err.value) == f"{str(tmp_path)!r} is not a discoverly artifact: manifest.json is missing"
    target = write_artifact(tmp_path / "a", {"kind": "k"}, tables={"t": pl.DataFrame({"a": [1]})})
    (target / "t.parquet").write_bytes(b"not parquet")
    with pytest.raises(ArtifactError) as err:
        read_artifact(target)
    assert str(err.value).startswith(f"cannot read table 't' of {str(target)!r}: ")
