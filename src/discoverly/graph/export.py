"""Export a knowledge graph in the bulk-load CSV formats of graph databases.

Amazon Neptune, Gremlin load format (``format="gremlin"``): vertex files with the system columns
``~id,~label`` followed by typed property columns (``title:String``, ``year:Int``) and edge files
with ``~id,~from,~to,~label``. RFC 4180 CSV, UTF-8. Load the folder with the Neptune bulk loader
(``"format": "csv"``).

Neo4j admin import (``format="neo4j"``): one node file per kind with ``<kind>Id:ID(<Kind>)``,
properties (``year:int``) and ``:LABEL``; one relationship file per relation with
``:START_ID(<Kind>),:END_ID(<Kind>),:TYPE``. Each node kind is its own ID space, so keys only need
to be unique within a kind. The folder gets an ``import.sh`` with the matching
``neo4j-admin database import full`` command.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
from pathlib import Path

import polars as pl

from discoverly.artifacts import staged
from discoverly.errors import ConfigError
from discoverly.graph.build import KnowledgeGraph

__all__ = ["export_graph", "EXPORT_FORMATS"]

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("gremlin", "neo4j")


def _camel(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))


def _one_line(text: str | None) -> str:
    """A title on one line: neo4j-admin import refuses a field that spans lines (without
    --multiline-fields), and a title copied from a PDF often has line breaks."""
    return " ".join((text or "").split())


def _node_table(graph: KnowledgeGraph) -> pl.DataFrame:
    nodes = graph.nodes
    if graph.papers is not None:
        extra = graph.papers.select("node", "year", "venue")
        nodes = nodes.join(extra, on="node", how="left")
    else:
        nodes = nodes.with_columns(pl.lit(None, pl.Int32).alias("year"), pl.lit(None, pl.String).alias("venue"))
    return nodes.sort("node")


def _gremlin(graph: KnowledgeGraph, folder: Path) -> list[Path]:
    nodes = _node_table(graph)
    files = []
    path = folder / "vertices.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["~id", "~label", "key:String", "name:String", "year:Int"])
        for _node, kind, key, label, year, _venue in nodes.iter_rows():
            w.writerow([f"{kind}:{key}", kind, key, _one_line(label), "" if year is None else int(year)])
    files.append(path)
    kinds = nodes["kind"].to_list()
    keys = nodes["key"].to_list()
    path = folder / "edges.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["~id", "~from", "~to", "~label"])
        for i, (src, dst, rel) in enumerate(graph.edges.iter_rows()):
            w.writerow([f"e{i}", f"{kinds[src]}:{keys[src]}", f"{kinds[dst]}:{keys[dst]}", rel])
    files.append(path)
    return files


def _neo4j(graph: KnowledgeGraph, folder: Path) -> list[Path]:
    nodes = _node_table(graph)
    kinds = nodes["kind"].to_list()
    keys = nodes["key"].to_list()
    files: list[Path] = []
    node_args: list[str] = []
    rel_args: list[str] = []
    for kind in sorted(set(kinds)):
        sub = nodes.filter(pl.col("kind") == kind)
        label = _camel(kind)
        path = folder / f"nodes_{kind}.csv"
        is_paper = kind == "paper"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            head = [f"{kind}Id:ID({label})", "name"] + (["year:int", "venue"] if is_paper else []) + [":LABEL"]
            w.writerow(head)
            for _node, _kind, key, name, year, venue in sub.iter_rows():
                row = [key, _one_line(name)] + (["" if year is None else int(year), _one_line(venue)] if is_paper
                                                 else [])
                w.writerow([*row, label])
        files.append(path)
        node_args.append(f"--nodes={path.name}")
    for relation in sorted(graph.edges["relation"].unique().to_list()):
        sub = graph.edges.filter(pl.col("relation") == relation)
        src_kinds = {kinds[s] for s in sub["src"].to_list()}
        dst_kinds = {kinds[d] for d in sub["dst"].to_list()}
        # one file per (relation, source kind, target kind) so each column has one ID space
        for sk in sorted(src_kinds):
            for dk in sorted(dst_kinds):
                part = [(s, d) for s, d in zip(sub["src"].to_list(), sub["dst"].to_list(), strict=True)
                        if kinds[s] == sk and kinds[d] == dk]
                if not part:
                    continue
                suffix = "" if len(src_kinds) == 1 and len(dst_kinds) == 1 else f"_{sk}_{dk}"
                path = folder / f"rels_{relation}{suffix}.csv"
                with open(path, "w", encoding="utf-8", newline="") as fh:
                    w = csv.writer(fh, lineterminator="\n")
                    w.writerow([f":START_ID({_camel(sk)})", f":END_ID({_camel(dk)})", ":TYPE"])
                    rel_type = relation.upper()
                    for s, d in part:
                        w.writerow([keys[s], keys[d], rel_type])
                files.append(path)
                rel_args.append(f"--relationships={path.name}")
    # a key is an id and stays as it is; one with a line break is a quoted field over several lines,
    # which neo4j-admin refuses unless told to read such fields
    multiline = [k for k in keys if "\n" in k or "\r" in k]
    if multiline:
        log.warning("%d node key(s) hold a line break, e.g. %r; import.sh passes --multiline-fields=true "
                    "(slower import)", len(multiline), multiline[0])
    script = folder / "import.sh"
    script.write_text("#!/usr/bin/env bash\n"
                      "# Run from this folder with the Neo4j DBMS stopped; creates the database 'neo4j'.\n"
                      "set -euo pipefail\nneo4j-admin database import full " + " ".join(node_args + rel_args) +
                      (" --multiline-fields=true" if multiline else "") +
                      " --overwrite-destination=true neo4j\n", encoding="utf-8")
    files.append(script)
    return files


def _is_export_file(path: Path) -> bool:
    name = path.name
    return path.is_file() and (name in ("vertices.csv", "edges.csv", "import.sh")
                               or (name.endswith(".csv") and name.startswith(("nodes_", "rels_"))))


def _check_target(target: Path) -> None:
    """Refuse a target that replacing would destroy: a file, or a folder holding anything but the
    files of an earlier export."""
    if not target.exists():
        return
    if not target.is_dir():
        raise ConfigError(f"cannot export to {str(target)!r}: it is a file; give the path of a new folder")
    others = sorted(p.name for p in target.iterdir() if not _is_export_file(p))
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise ConfigError(f"cannot export to {str(target)!r}: the folder holds other files ({shown}), and the export "
                          "replaces the whole folder. Give a new folder, e.g. neptune-csv")


def export_graph(graph: KnowledgeGraph, folder: str | os.PathLike[str], *, format: str = "gremlin") -> list[Path]:
    """Write the graph into ``folder`` in a bulk-load format; returns the files written.

    The folder is written to a temporary sibling first and renamed into place. An earlier export
    (or an empty folder) at ``folder`` is replaced; a file or a folder holding anything else is
    refused with :class:`~discoverly.errors.ConfigError`, since replacing it would delete it.
    """
    if format not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {format!r}; choose one of {EXPORT_FORMATS}")
    target = Path(folder)
    _check_target(target)
    with staged(target) as tmp:
        written = (_gremlin if format == "gremlin" else _neo4j)(graph, tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    files = [target / p.name for p in written]
    log.info("exported %d files (%s) to %s", len(files), format, target)
    return files
