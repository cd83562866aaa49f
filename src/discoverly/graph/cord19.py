"""CORD-19 (the COVID-19 Open Research Dataset): ``metadata.csv`` plus, when present, the JSON
document parses it points to.

``metadata.csv`` columns (the public schema since 2020-05-26)::

    cord_uid, sha, source_x, title, doi, pmcid, pubmed_id, license, abstract, publish_time,
    authors, journal, mag_id, who_covidence_id, arxiv_id, pdf_json_files, pmc_json_files, url, s2_id

``authors`` is ``Last, First Middle`` names separated by ``; ``; ``pdf_json_files`` and
``pmc_json_files`` are ``; ``-separated paths relative to the release folder. A ``cord_uid`` can
appear on several rows (the same paper from several sources): the rows are merged, keeping the
first non-empty value of each field.

From the document parses (``paper_id``, ``metadata.authors[].affiliation.institution``,
``body_text[].text``, ``bib_entries``) come the body text, author affiliations and references. A
bibliography entry becomes a citation edge when its DOI (``other_ids.DOI``) or its normalised
title matches a paper of the corpus; unmatched entries are dropped (CORD-19 has no cited-paper ids).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import polars as pl

from discoverly.errors import DataError, DatasetNotFoundError
from discoverly.graph.papers import Papers, read_papers

__all__ = ["load_cord19", "CORD19_COLUMNS"]

log = logging.getLogger(__name__)

CORD19_COLUMNS = ("cord_uid", "sha", "source_x", "title", "doi", "pmcid", "pubmed_id", "license", "abstract",
                  "publish_time", "authors", "journal", "mag_id", "who_covidence_id", "arxiv_id", "pdf_json_files",
                  "pmc_json_files", "url", "s2_id")
_REQUIRED = ("cord_uid", "title", "abstract", "publish_time", "authors", "journal")
# letters of any alphabet: with [^a-z0-9] every Chinese title normalised to "", and a bibliography
# entry with any Chinese title became a citation of the last Chinese-titled paper of the corpus
_NON_WORD = re.compile(r"[\W_]+")


def _norm_title(title: str) -> str:
    return _NON_WORD.sub(" ", title.casefold()).strip()


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(";") if p.strip()]


def _read_parse(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        log.debug("document parse %s is missing", path)
        return None
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("skipping unreadable document parse %s: %s", path, exc)
        return None
    return doc if isinstance(doc, dict) else None


def _affiliations(doc: dict[str, Any], names: list[str]) -> list[str]:
    """The institution of each metadata author, matched to the parse's authors by last name."""
    by_last: dict[str, str] = {}
    for a in (doc.get("metadata") or {}).get("authors") or []:
        inst = ((a.get("affiliation") or {}).get("institution") or "").strip()
        last = (a.get("last") or "").strip().lower()
        if last and inst and last not in by_last:
            by_last[last] = inst
    return [by_last.get(n.split(",")[0].strip().lower(), "") for n in names]


def load_cord19(metadata: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
                full_text: bool = True) -> Papers:
    """Papers from a CORD-19 ``metadata.csv`` (and its document parses under ``root``).

    ``root`` is the release folder the ``*_json_files`` paths are relative to (default: the folder
    of ``metadata.csv``). With ``full_text=False`` only the metadata is read (no bodies, no
    affiliations, no citations).
    """
    path = Path(metadata)
    if not path.is_file():
        raise DatasetNotFoundError(f"the CORD-19 metadata file was expected at {str(path)!r} but is missing")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except Exception as exc:  # polars raises several kinds
        raise DataError(f"cannot read CORD-19 metadata {str(path)!r}: {exc}") from exc
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"{str(path)!r} is not a CORD-19 metadata.csv: columns {missing} are missing "
                        f"(expected the public schema {', '.join(CORD19_COLUMNS)})")
    for col in CORD19_COLUMNS:
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit("").alias(col))
    frame = frame.with_columns(pl.col(c).fill_null("") for c in CORD19_COLUMNS)
    frame = frame.filter(pl.col("cord_uid").str.strip_chars() != "")
    # merge rows of the same paper: first non-empty value of each field
    merged = frame.group_by("cord_uid", maintain_order=True).agg(
        [pl.col(c).filter(pl.col(c).str.strip_chars() != "").first() for c in CORD19_COLUMNS if c != "cord_uid"])
    base = Path(root) if root is not None else path.parent
    rows = merged.to_dicts()

    by_doi = {r["doi"].lower(): r["cord_uid"] for r in rows if r.get("doi")}
    by_title = {t: r["cord_uid"] for r in rows if (t := _norm_title(r.get("title") or ""))}
    records = []
    n_parsed = 0
    for r in rows:
        names = [n for n in (r.get("authors") or "").split("; ") if n.strip()]
        body: list[str] = []
        affs = [""] * len(names)
        refs: list[str] = []
        if full_text:
            for rel in _split(r.get("pmc_json_files")) + _split(r.get("pdf_json_files")):
                doc = _read_parse(base / rel)
                if doc is None:
                    continue
                n_parsed += 1
                if not body:
                    body = [p.get("text", "") for p in doc.get("body_text") or [] if p.get("text")]
                if not any(affs):
                    affs = _affiliations(doc, names)
                for entry in (doc.get("bib_entries") or {}).values():
                    dois = [d.lower() for d in ((entry.get("other_ids") or {}).get("DOI") or [])]
                    hit = next((by_doi[d] for d in dois if d in by_doi), None)
                    if hit is None and (title := _norm_title(entry.get("title") or "")):
                        hit = by_title.get(title)
                    if hit is not None and hit != r["cord_uid"] and hit not in refs:
                        refs.append(hit)
        year = (r.get("publish_time") or "")[:4]
        records.append({
            "id": r["cord_uid"], "title": r.get("title") or "", "abstract": r.get("abstract") or "",
            "body": "\n".join(body), "authors": names, "affiliations": affs, "venue": r.get("journal") or "",
            "year": year if year.isdigit() else None, "references": refs,
        })
    if not records:
        raise DataError(f"{str(path)!r} has no paper rows")
    log.info("CORD-19: %d papers (%d document parses read)", len(records), n_parsed)
    return read_papers(pl.DataFrame(records, infer_schema_length=None))
