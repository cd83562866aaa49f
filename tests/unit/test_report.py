"""The HTML report writer: paths it cannot write are ArtifactErrors, found before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from discoverly.errors import ArtifactError
from discoverly.report import HtmlReport, check_report_target


def test_a_report_is_written_atomically_and_shared(tmp_path: Path) -> None:
    rep = HtmlReport("A title")
    rep.table([{"model": "a", "HitRate@6": 0.25}])
    path = rep.write(tmp_path / "new" / "r.html")
    assert "A title" in path.read_text(encoding="utf-8") and path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["r.html"]


def test_paths_that_cannot_hold_a_report_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("x")
    for target, message in ((tmp_path, "it is a folder"), (tmp_path / "a_file" / "r.html", "is a file, not a folder")):
        with pytest.raises(ArtifactError, match=message):
            check_report_target(target)
        with pytest.raises(ArtifactError, match=message):
            HtmlReport("t").write(target)
    check_report_target(tmp_path / "new" / "deeper" / "r.html")  # missing folders are created by write()
