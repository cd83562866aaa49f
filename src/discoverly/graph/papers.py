"""The papers table: one row per paper with its text, people, venue, year and references.

Every literature source (a generic file, the ACL Anthology Network, CORD-19) becomes a
:class:`Papers`, and everything downstream (concepts, topics, the graph, text vectors) reads only
that. Columns::

    id           str                unique, non-empty
    title        str                "" when unknown
    abstract     str                "" when unknown
    body         str                "" when unknown
    authors      list[str]          author names in order
    affiliations list[str]          one per author, "" when unknown
    venue        str                "" when unknown
    year         Int32              null when unknown
    references   list[str]          ids of cited papers (may name papers outside the table)

``read_papers`` accepts JSONL, CSV or Parquet files and polars/pandas frames. In JSONL/Parquet
``authors`` may be a list of names or a list of ``{"name": ..., "affiliation": ...}`` objects; in
CSV ``authors``, ``affiliations`` and ``references`` are ``;``-separated strings or JSON lists.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from discoverly.data.frames import require_columns, to_polars
from discoverly.data.vocabulary import Vocabulary
from discoverly.errors import DataError, UnknownIdError

__all__ = ["Papers", "read_papers", "is_papers_table", "TEXT_FIELDS"]

log = logging.getLogger(__name__)

#: the text fields a paper may carry, in the order they are embedded and mined
TEXT_FIELDS: tuple[str, ...] = ("title", "abstract", "body")

_SCHEMA: dict[str, Any] = {
    "id": pl.String, "title": pl.String, "abstract": pl.String, "body": pl.String,
    "authors": pl.List(pl.String), "affiliations": pl.List(pl.String), "venue": pl.String,
    "year": pl.Int32, "references": pl.List(pl.String),
}


class Papers:
    """An immutable, validated table of papers (see the module docstring for the columns)."""

    def __init__(self, table: pl.DataFrame) -> None:
        missing = [c for c in _SCHEMA if c not in table.columns]
        if missing:
            raise DataError(f"a papers table needs the columns {list(_SCHEMA)}; missing {missing}. "
                            "Build it with read_papers(), which fills absent optional columns")
        table = table.select([pl.col(c).cast(t) for c, t in _SCHEMA.items()])
        if table.height == 0:
            raise DataError("the papers table is empty: it has no rows")
        if table["id"].null_count() or (table["id"].str.len_chars() == 0).any():
            raise DataError("every paper needs a non-empty id; some ids are null or empty")
        dup = table["id"].is_duplicated()
        if dup.any():
            examples = table.filter(dup)["id"].unique().head(5).to_list()
            raise DataError(f"paper ids must be unique; {int(dup.sum())} rows share an id, e.g. {examples}. "
                            "Deduplicate the input first")
        self.table = table
        self.ids = Vocabulary(table["id"], name="paper")

    def __len__(self) -> int:
        return self.table.height

    def __repr__(self) -> str:
        n_ref = int(self.table["references"].list.len().sum())
        return f"Papers({len(self):,} papers, {n_ref:,} references)"

    def __contains__(self, paper_id: object) -> bool:
        return paper_id in self.ids

    def row(self, paper_id: str) -> dict[str, Any]:
        """All fields of one paper as a dict."""
        if paper_id not in self.ids:
            raise UnknownIdError(f"unknown paper id {paper_id!r}; the table has {len(self):,} papers")
        return self.table.row(self.ids.index(paper_id), named=True)

    def texts(self, field: str) -> list[str]:
        """One text field of every paper, in table order ("" where missing)."""
        if field not in TEXT_FIELDS:
            raise DataError(f"unknown text field {field!r}; expected one of {TEXT_FIELDS}")
        return self.table[field].fill_null("").to_list()

    def text_fields(self) -> list[str]:
        """The text fields that at least one paper has."""
        return [f for f in TEXT_FIELDS if (self.table[f].fill_null("").str.len_chars() > 0).any()]

    def full_texts(self) -> list[str]:
        """Title, abstract and body joined (the input of concept mining and topic models)."""
        parts = [pl.col(f).fill_null("") for f in TEXT_FIELDS]
        return self.table.select(pl.concat_str(parts, separator=". ").alias("t"))["t"].to_list()

    def citations(self) -> tuple[np.ndarray, np.ndarray]:
        """Citation edges between papers of the table as ``(citing, cited)`` index arrays.

        References to papers outside the table and self-citations are dropped; duplicates once.
        """
        exploded = (self.table.select(pl.col("id"), pl.col("references"))
                    .explode("references").drop_nulls("references"))
        src = self.ids.indices(exploded["id"].to_list())
        dst = self.ids.indices(exploded["references"].to_list(), missing=-1)
        keep = (dst >= 0) & (src != dst)
        pairs = np.unique(np.stack([src[keep], dst[keep]], axis=1), axis=0) if keep.any() else np.zeros((0, 2))
        dropped = int((dst < 0).sum())
        if dropped and not keep.any():  # e.g. references given as DOIs while the ids are the file's own
            examples = ", ".join(repr(r) for r in exploded.filter(pl.Series(dst < 0))["references"].head(3))
            log.warning("none of the %d references names another paper of the table (e.g. %s): references are "
                        "matched to the paper ids, so the graph has no citations", len(dst), examples)
        elif dropped:
            log.info("%d references name papers outside the table and are not citation edges", dropped)
        return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)

    def fingerprint(self) -> str:
        """A short content hash for caches and artifact manifests: each paper's id, texts and
        references, row by row in the table's order (which numbers the graph's nodes)."""
        rows = self.table.select("id", *TEXT_FIELDS, pl.col("references").list.join("\x1f"))
        h = hashlib.sha256(rows.hash_rows(seed=1).to_numpy().tobytes())
        h.update(str(len(self)).encode())
        return h.hexdigest()[:16]

    def subset(self, ids: Sequence[str]) -> Papers:
        """The papers with the given ids, in that order."""
        idx = self.ids.indices(list(ids))
        return Papers(self.table[idx])

    @classmethod
    def from_records(cls, records: Sequence[dict[str, Any]]) -> Papers:
        """Papers from a list of dicts (same keys as a JSONL file)."""
        if not records:
            raise DataError("no paper records given")
        rows = []
        for rec in records:
            row = dict(rec)
            names, affs = _authors(row.get("authors"), row.get("affiliations"))
            row["authors"], row["affiliations"] = names, affs
            if isinstance(row.get("references"), str):
                row["references"] = _split_list(row["references"])
            rows.append(row)
        try:
            frame = pl.DataFrame(rows, infer_schema_length=None)
        except UnicodeEncodeError:  # a lone surrogate, e.g. half of an emoji cut off or json.loads of "\ud83d"
            log.warning("some paper records hold text that is not valid Unicode (a lone surrogate); each such "
                        "character is read as U+FFFD")
            frame = pl.DataFrame([_valid_unicode(row) for row in rows], infer_schema_length=None)
        return read_papers(frame)



def _valid_unicode(value: Any) -> Any:
    """``value`` with every lone surrogate in its text replaced by U+FFFD (a surrogate pair becomes
    the character it encodes), through lists and dicts."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list | tuple):
        return [_valid_unicode(v) for v in value]
    if isinstance(value, dict):
        return {k: _valid_unicode(v) for k, v in value.items()}
    return value


def is_papers_table(path: str | os.PathLike[str]) -> bool:
    """Whether the Parquet file at ``path`` is a papers table as :class:`Papers` writes it (its exact
    columns and types), rather than a papers file of the user's that happens to have the name."""
    try:
        return list(pl.read_parquet_schema(os.fspath(path)).items()) == list(_SCHEMA.items())
    except (OSError, pl.exceptions.PolarsError):
        return False

def _json_list(value: str) -> list[Any] | None:
    """A list written as JSON text, or None: a CSV cell like ``["a1", "a2"]``, or a JSONL column that
    holds a list in some rows and a string in others (polars then reads every row as text)."""
    if not value.lstrip().startswith("["):
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, list) else None


def _split_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        parsed = _json_list(value)
        if parsed is None:
            return [p.strip() for p in value.split(";") if p.strip()]
        value = parsed
    if isinstance(value, float):  # a number column with a gap is float (pandas): 42.0 is the id 42, NaN none
        return [] if np.isnan(value) else [str(int(value)) if value.is_integer() else str(value)]
    if isinstance(value, int):  # one id as a number, e.g. "references": 42 in JSON
        return [str(value)]
    return [str(v).strip() for v in value if v is not None and str(v).strip()]


def _affiliations(value: Any) -> list[str]:
    """One affiliation per author, in the authors' order: an empty one ("MIT;" for two authors) keeps its
    place, so the second author is not given the first one's."""
    if value is None:
        return []
    if isinstance(value, str):
        parsed = _json_list(value)
        if parsed is None:
            return [a.strip() for a in value.split(";")] if value.strip() else []
        value = parsed
    return ["" if a is None else str(a).strip() for a in value]


def _authors(value: Any, affiliations: Any) -> tuple[list[str], list[str]]:
    names: list[str] = []
    affs: list[str] = []
    if value is None:
        return names, affs
    if isinstance(value, str):
        parsed = _json_list(value)
        items: list[Any] = value.split(";") if parsed is None else parsed
    else:
        items = list(value)
    for item in items:
        if isinstance(item, str) and item.lstrip().startswith("{"):
            # a JSONL column mixing objects and plain names arrives as JSON text
            with contextlib.suppress(json.JSONDecodeError):
                item = json.loads(item)
        if isinstance(item, dict):
            name = str(item.get("name") or "").strip()
            aff = str(item.get("affiliation") or "").strip()
        else:
            name, aff = ("" if item is None else str(item)).strip(), ""
        if name:
            names.append(name)
            affs.append(aff)
    given = _affiliations(affiliations)
    if len(given) == len(names) + 1 and given[-1] == "":  # a separator after the last one: "MIT;Stanford;"
        given = given[:-1]
    if given:
        if len(given) not in (1, len(names)):
            raise DataError(f"authors {names} have {len(given)} affiliations; give one per author or one for all")
        affs = given * len(names) if len(given) == 1 else given
    return names, affs


_BAD_YEAR = -1
_FOUR_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")
_NO_DATE = re.compile(r"n\.?\s*d\.?|no date", re.IGNORECASE)


def _year(value: Any) -> int | None:
    """The year in a value (2019, "2019", "2019a", "2019-05-03", 2019.0), None when empty or "n.d.", or
    ``_BAD_YEAR`` when it holds no four-digit number ("soon", "19", 12345: not read as a wrong year)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if not text or _NO_DATE.fullmatch(text):
        return None
    found = _FOUR_DIGITS.search(text)
    return int(found.group()) if found else _BAD_YEAR


def _column_named(columns: Sequence[str], name: str | None) -> Any:
    """``name``, or the one column equal to it but for case and surrounding spaces."""
    if name is None or name in columns:
        return name
    same = [c for c in columns if c.strip().casefold() == name.strip().casefold()]
    return same[0] if len(same) == 1 else name


def read_papers(
    source: Any,
    *,
    id: str = "id",
    title: str = "title",
    abstract: str | None = "abstract",
    body: str | None = "body",
    authors: str | None = "authors",
    affiliations: str | None = "affiliations",
    venue: str | None = "venue",
    year: str | None = "year",
    references: str | None = "references",
) -> Papers:
    """Read a papers file (JSONL, CSV, Parquet) or frame; optional columns may be absent.

    The keyword arguments name the input column of each field (a column named so but for case, e.g.
    ``Title``, is taken too). ``id`` and ``title`` are required; every other field is optional and
    filled with empty values when its column is absent.
    """
    asked = (id, references)
    frame = to_polars(source, what="papers", text_columns=asked)  # ids are text: "0042" is not 42
    # a column named in another case ("Title", "Abstract", "Year" as spreadsheets write them) is that field:
    # with id="ID", title="Title", the abstracts, authors, years and references were silently left out
    id, title, abstract, body, authors, affiliations, venue, year, references = (
        _column_named(frame.columns, c) for c in (id, title, abstract, body, authors, affiliations, venue, year,
                                                  references))
    if (id, references) != asked:  # read again, these as text
        frame = to_polars(source, what="papers", text_columns=(id, references))
    for role, col in (("id", id), ("title", title)):
        if col not in frame.columns:
            raise DataError(f"papers: the {role} column {col!r} is missing. Columns present: "
                            f"{', '.join(frame.columns)}. Name it with {role}=... (CLI: --{role}-column)")
    named = {role: col for role, col in (("abstract", abstract), ("body", body), ("authors", authors),
                                         ("affiliations", affiliations), ("venue", venue), ("year", year),
                                         ("references", references))
             if col is not None and col.strip().casefold() != role}  # a column named on purpose must be there
    require_columns(frame, named, what="papers", hint="Give each field's column by its name in the file "
                    "(e.g. year=..., CLI: --year-column), or leave the field out")
    n = frame.height

    def column(col: str | None) -> list[Any]:
        return frame[col].to_list() if col is not None and col in frame.columns else [None] * n

    def text(col: str | None) -> list[str]:
        return ["" if v is None else str(v).strip() for v in column(col)]

    ids = ["" if v is None else str(v).strip() for v in column(id)]
    auth_aff = [_authors(a, f) for a, f in zip(column(authors), column(affiliations), strict=True)]
    years = [_year(v) for v in column(year)]
    bad = [(pid, v) for pid, v, y in zip(ids, column(year), years, strict=True) if y == _BAD_YEAR]
    if bad:
        shown = ", ".join(f"{pid!r}: {v!r}" for pid, v in bad[:3])
        raise DataError(f"papers: cannot read the year of {len(bad)} paper(s) ({shown}): a year is a four-digit "
                        "number such as 2019 (2019a and 2019-05-03 are read as 2019); give one or leave it empty "
                        "(or 'n.d.') when it is not known")
    table = pl.DataFrame({
        "id": ids, "title": text(title), "abstract": text(abstract), "body": text(body),
        "authors": [a for a, _ in auth_aff], "affiliations": [f for _, f in auth_aff],
        "venue": text(venue), "year": years, "references": [_split_list(r) for r in column(references)],
    }, schema=_SCHEMA)
    return Papers(table)
