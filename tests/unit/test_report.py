"""The HTML report writer: paths it cannot write are ArtifactErrors, found before any work."""

from __future__ import annotations

import re
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


def test_a_report_in_a_folder_that_cannot_be_written_is_refused_before_the_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate / data report / graph report --html in a read-only place failed only after the run."""
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and access(p, mode))
    for target in (locked / "r.html", locked / "deeper" / "r.html"):
        with pytest.raises(ArtifactError, match=r"the folder '.*locked' is not writable"):
            check_report_target(target)


def test_a_report_fits_a_phone_and_aligns_numbers_not_sentences(tmp_path: Path) -> None:
    """Reports had no viewport meta (a phone drew them 980 px wide, shrunk) and right-aligned every
    column but the first, sentences and file paths included."""
    rep = HtmlReport("<Report> & co")
    rep.table([{"what": "files", "value": "/data/a.parquet, /data/b.parquet", "n": 1067370},
               {"what": "rows <read>", "value": "1,067,370", "n": 3}])
    rep.table([{"model": "a", "HitRate@6": "0.277 [0.245, 0.312]", "p-value": 0.5, "fit seconds": "–"}])
    text = rep.render()
    assert "<meta name='viewport' content='width=device-width,initial-scale=1'>" in text
    assert "<title>&lt;Report&gt; &amp; co</title>" in text and "rows &lt;read&gt;" in text
    assert text.count("<div class='scroll'><table>") == 2  # a wide table scrolls, not the page
    assert "overflow-wrap:break-word" in text  # and a long path in a sentence wraps
    assert "<th>what</th><th>value</th><th class='n'>n</th>" in text
    assert "<td>/data/a.parquet, /data/b.parquet</td><td class='n'>1067370</td>" in text
    assert ("<th>model</th><th class='n'>HitRate@6</th><th class='n'>p-value</th><th class='n'>fit seconds</th>"
            in text)
    assert "http://" not in text and "https://" not in text


def test_an_empty_table_and_the_time_say_what_they_are() -> None:
    rep = HtmlReport("t")
    rep.table([])
    text = rep.render()
    assert "<p class='meta'>No rows.</p>" in text and "<table>" not in text
    assert re.search(r"discoverly \S+ · \d{4}-\d\d-\d\d \d\d:\d\d \S+</p>", text)  # the time has its zone


def test_every_part_of_a_report_shows_hostile_text_as_text() -> None:
    """Item names, file names and experiment names reach reports: none may become markup."""
    from discoverly.report import new_figure

    bad = "</title><script>alert(1)</script>\"' onerror=x"
    rep = HtmlReport(bad, subtitle=bad)
    rep.heading(bad)
    rep.text(bad, note=True)
    rep.table([{bad: bad, "n": 1.5}])
    fig, _ = new_figure(2, 1)
    rep.figure(fig, caption=bad)
    page = rep.render()
    assert "<script" not in page and "</title><" not in page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert page.count("&lt;script&gt;") == 9  # title, h1, subtitle, heading, text, th, td, alt, figcaption
    alt = re.search(r'<img alt="([^"]*)"', page)
    assert alt is not None and alt.group(1).startswith("&lt;/title&gt;") and "onerror" in alt.group(1)
