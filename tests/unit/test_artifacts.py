"""Artifact directories: round trip, and the paths a write must not delete or a read must explain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.artifacts import check_save_target, read_artifact, write_artifact
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
        with pytest.raises(ArtifactError, match="cannot read the arrays"):
            read_artifact(target)
