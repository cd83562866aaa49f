"""An embedded graph store: one SQLite file with node, edge and paper tables and their indices.

SQLite ships with Python, needs no server and answers the neighbourhood and counting queries of
:mod:`discoverly.graph.query` from indices. Schema::

    nodes  (node INTEGER PRIMARY KEY, kind, key, label)          UNIQUE (kind, key)
    edges  (src, relation, dst)                                  PRIMARY KEY (src, relation, dst),
                                                                 INDEX (dst, relation, src)
    papers (node INTEGER PRIMARY KEY, id UNIQUE, title, abstract, venue, year)
    meta   (key PRIMARY KEY, value)                              build settings, counts, version

``write_store`` writes to a temporary file and renames it into place, so readers never see a
half-written store.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from discoverly._version import __version__
from discoverly.artifacts import staged_file
from discoverly.errors import ArtifactError
from discoverly.graph.build import KnowledgeGraph

__all__ = ["write_store", "GraphStore", "SCHEMA_VERSION"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE nodes (node INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, label TEXT,
                    UNIQUE (kind, key));
CREATE TABLE edges (src INTEGER NOT NULL, relation TEXT NOT NULL, dst INTEGER NOT NULL,
                    PRIMARY KEY (src, relation, dst)) WITHOUT ROWID;
CREATE INDEX edges_by_dst ON edges (dst, relation, src);
CREATE INDEX edges_by_relation ON edges (relation, dst);
CREATE TABLE papers (node INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT, abstract TEXT,
                     venue TEXT, year INTEGER);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
"""


def write_store(graph: KnowledgeGraph, path: str | os.PathLike[str], *, meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``graph`` to a SQLite file at ``path`` (atomically replacing an existing one)."""
    target = Path(path)
    with staged_file(target) as tmp:
        con = sqlite3.connect(tmp)
        try:
            con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _DDL)
            con.executemany("INSERT INTO nodes VALUES (?, ?, ?, ?)", graph.nodes.iter_rows())
            con.executemany("INSERT INTO edges VALUES (?, ?, ?)",
                            graph.edges.select("src", "relation", "dst").iter_rows())
            if graph.papers is not None:
                con.executemany("INSERT INTO papers VALUES (?, ?, ?, ?, ?, ?)",
                                graph.papers.select("node", "id", "title", "abstract", "venue", "year").iter_rows())
            info = {"schema_version": SCHEMA_VERSION, "discoverly_version": __version__,
                    "nodes": graph.n_nodes, "edges": graph.edges.height, **(meta or {})}
            con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in info.items()])
            con.commit()
            con.execute("ANALYZE")
            con.commit()
        finally:
            con.close()
    log.info("wrote graph store %s (%d nodes, %d edges)", target, graph.n_nodes, graph.edges.height)
    return target


class GraphStore:
    """A read-only connection to a graph store written by :func:`write_store`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ArtifactError(f"no graph store at {str(self.path)!r}; build one with `discoverly graph build`")
        try:
            self.con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self.meta = {k: json.loads(v) for k, v in self.con.execute("SELECT key, value FROM meta")}
        except sqlite3.DatabaseError as exc:
            raise ArtifactError(f"{str(self.path)!r} is not a discoverly graph store: {exc}") from exc
        if int(self.meta.get("schema_version", 0)) > SCHEMA_VERSION:
            raise ArtifactError(f"{str(self.path)!r} was written by a newer discoverly; upgrade to read it")

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def sql(self, query: str, params: tuple[Any, ...] | list[Any] = ()) -> pl.DataFrame:
        """Run a read-only SQL query and return the rows as a polars DataFrame."""
        cur = self.con.execute(query, params)
        cols = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
        if not rows:
            return pl.DataFrame({c: [] for c in cols})
        return pl.DataFrame(rows, schema=cols, orient="row", infer_schema_length=None)

    def graph(self) -> KnowledgeGraph:
        """The whole graph back in memory."""
        nodes = self.sql("SELECT node, kind, key, label FROM nodes ORDER BY node")
        edges = self.sql("SELECT src, dst, relation FROM edges ORDER BY relation, dst, src")  # KnowledgeGraph's order
        papers = self.sql("SELECT node, id, title, abstract, venue, year FROM papers ORDER BY node")
        if edges.height == 0:
            edges = pl.DataFrame({"src": [], "dst": [], "relation": []},
                                 schema={"src": pl.Int64, "dst": pl.Int64, "relation": pl.String})
        return KnowledgeGraph(nodes, edges, papers if papers.height else None)

    def counts(self) -> dict[str, dict[str, int]]:
        """Node counts per kind and edge counts per relation."""
        kinds = dict(self.con.execute("SELECT kind, COUNT(*) FROM nodes GROUP BY kind ORDER BY kind").fetchall())
        rels = dict(self.con.execute("SELECT relation, COUNT(*) FROM edges GROUP BY relation ORDER BY relation"
                                     ).fetchall())
        return {"nodes": kinds, "edges": rels}
