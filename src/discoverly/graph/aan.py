"""The ACL Anthology Network (AAN) from ``DISCOVERLY_DATA_DIR/papers/aan``.

AAN gives titles only (no abstracts or bodies) and no author affiliations; the venue stands in for
the institution. Files::

    acl-metadata.txt   records of  id = {..} / author = {Last, First; ..} / title = {..} /
                       venue = {..} / year = {..}, separated by blank lines
    acl.txt            "citing , cited" lines

The metadata is mostly UTF-8 with a few broken bytes and HTML entities (``Pl&uuml;ss``); both are
repaired. Citation lines whose ends are not in the metadata are dropped (about 12% of them).
"""

from __future__ import annotations

import html
import logging
import os
import re
from pathlib import Path

import polars as pl

from discoverly.errors import DataError, DatasetNotFoundError
from discoverly.graph.papers import Papers, read_papers

__all__ = ["load_aan", "aan_dir", "parse_aan_metadata", "parse_aan_citations"]

log = logging.getLogger(__name__)

_FIELD = re.compile(r"^(id|author|title|venue|year) = \{(.*)\}\s*$")


def aan_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The AAN folder: ``path`` if given, else ``$DISCOVERLY_DATA_DIR/papers/aan``."""
    if path is None:
        root = os.environ.get("DISCOVERLY_DATA_DIR")
        if not root:
            raise DatasetNotFoundError(
                "the ACL Anthology Network is read from $DISCOVERLY_DATA_DIR/papers/aan, but DISCOVERLY_DATA_DIR "
                "is not set; set it to the public data folder or pass the AAN folder explicitly")
        path = Path(root) / "papers" / "aan"
    folder = Path(path)
    for name in ("acl-metadata.txt", "acl.txt"):
        if not (folder / name).is_file():
            raise DatasetNotFoundError(f"the AAN file {name!r} was expected at {str(folder / name)!r} but is missing")
    return folder


def _clean(text: str) -> str:
    text = html.unescape(text).replace("\ufffd", "'")
    return " ".join(text.split())


def parse_aan_metadata(text: str) -> pl.DataFrame:
    """Parse the records of ``acl-metadata.txt`` into id/title/authors/venue/year columns."""
    rows: list[dict[str, object]] = []
    current: dict[str, str] = {}

    def flush() -> None:
        if current:
            if "id" not in current:
                raise DataError(f"an AAN metadata record has no id line: {current}")
            rows.append(dict(current))
            current.clear()

    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            flush()
            continue
        m = _FIELD.match(line)
        if m is None:
            raise DataError(f"AAN metadata line {lineno} is not of the form 'field = {{value}}': {line[:80]!r}")
        key, value = m.group(1), _clean(m.group(2))
        if key == "id" and "id" in current:
            flush()
        current[key] = value
    flush()
    frame = pl.DataFrame({
        "id": [r["id"] for r in rows],
        "title": [r.get("title", "") for r in rows],
        "authors": [[a.strip() for a in str(r.get("author", "")).split(";") if a.strip()] for r in rows],
        "venue": [r.get("venue", "") for r in rows],
        "year": [r.get("year") or None for r in rows],
    })
    return frame.unique("id", keep="first", maintain_order=True)


def parse_aan_citations(text: str) -> pl.DataFrame:
    """Parse ``acl.txt`` ("citing , cited" lines) into citing/cited columns."""
    citing: list[str] = []
    cited: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2 or not all(parts):
            raise DataError(f"AAN citation line {lineno} is not 'citing , cited': {line[:80]!r}")
        citing.append(parts[0])
        cited.append(parts[1])
    return pl.DataFrame({"citing": citing, "cited": cited})


def load_aan(path: str | os.PathLike[str] | None = None) -> Papers:
    """The AAN papers with their references (only references to papers in the metadata are edges)."""
    folder = aan_dir(path)
    meta = parse_aan_metadata((folder / "acl-metadata.txt").read_bytes().decode("utf-8", errors="replace"))
    cites = parse_aan_citations((folder / "acl.txt").read_text(encoding="utf-8", errors="replace"))
    refs = cites.group_by("citing", maintain_order=True).agg(pl.col("cited").unique(maintain_order=True))
    frame = meta.join(refs.rename({"citing": "id", "cited": "references"}), on="id", how="left", maintain_order="left")
    papers = read_papers(frame)
    log.info("AAN: %d papers, %d citation lines", len(papers), cites.height)
    return papers
