"""The typed knowledge graph: node and edge tables, built from papers, concepts and topics.

Nodes have a ``kind`` and a ``key`` unique within the kind; edges have a ``relation``::

    paper  -authored_by->        author
    author -affiliated_with->    institution
    paper  -published_in->       venue          (AAN: venues stand in for institutions)
    paper  -associated_concept-> concept
    paper  -associated_topic->   topic
    paper  -cites->              paper

:class:`KnowledgeGraph` is generic (any kinds and relations): the product graph of a shop uses the
same class with product/brand/category/customer nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from discoverly.errors import DataError, UnknownIdError
from discoverly.graph.concepts import ConceptExtractor
from discoverly.graph.papers import Papers
from discoverly.graph.topics import TopicModel

__all__ = ["KnowledgeGraph", "build_paper_graph", "PAPER_RELATIONS", "GraphBuilder"]

log = logging.getLogger(__name__)

PAPER_RELATIONS = ("authored_by", "affiliated_with", "published_in", "associated_concept", "associated_topic", "cites")

_NODE_SCHEMA = {"node": pl.Int64, "kind": pl.String, "key": pl.String, "label": pl.String}
_EDGE_SCHEMA = {"src": pl.Int64, "dst": pl.Int64, "relation": pl.String}


@dataclass(frozen=True)
class KnowledgeGraph:
    """Typed nodes (``node, kind, key, label``) and typed edges (``src, dst, relation``).

    ``node`` is a contiguous index 0..n-1; ``(kind, key)`` is unique. ``papers`` optionally holds
    per-paper attributes (``node, id, title, abstract, venue, year``) for display and ranking.
    """

    nodes: pl.DataFrame
    edges: pl.DataFrame
    papers: pl.DataFrame | None = None

    def __post_init__(self) -> None:
        nodes = self.nodes.select([pl.col(c).cast(t) for c, t in _NODE_SCHEMA.items()])
        edges = self.edges.select([pl.col(c).cast(t) for c, t in _EDGE_SCHEMA.items()])
        if not np.array_equal(nodes["node"].to_numpy(), np.arange(nodes.height)):
            raise DataError("graph nodes must be numbered 0..n-1 in order")
        if nodes.select(pl.struct("kind", "key").is_duplicated().any()).item():
            raise DataError("graph nodes must have unique (kind, key) pairs")
        if edges.height and (edges["src"].min() < 0 or edges["dst"].max() >= nodes.height  # type: ignore[operator]
                             or edges["dst"].min() < 0 or edges["src"].max() >= nodes.height):  # type: ignore[operator]
            raise DataError("graph edges refer to node numbers outside the node table")
        object.__setattr__(self, "nodes", nodes)
        # one order of the edges (by relation, then dst, then src: the store's), whatever order they were
        # built or read in: a citation split and an embedding's training depend on it, so a graph just
        # built and the same graph read back from its store gave different splits and embeddings
        object.__setattr__(self, "edges", edges.unique().sort("relation", "dst", "src"))
        object.__setattr__(self, "_lookup", {(k, key): i for i, (k, key) in
                                             enumerate(zip(nodes["kind"].to_list(), nodes["key"].to_list(),
                                                           strict=True))})

    def __repr__(self) -> str:
        kinds = dict(self.nodes.group_by("kind").len().sort("kind").iter_rows())
        rels = dict(self.edges.group_by("relation").len().sort("relation").iter_rows())
        return f"KnowledgeGraph(nodes={kinds}, edges={rels})"

    @property
    def n_nodes(self) -> int:
        return self.nodes.height

    @property
    def relations(self) -> list[str]:
        return sorted(self.edges["relation"].unique().to_list())

    def node(self, kind: str, key: str) -> int:
        """The node number of ``(kind, key)``."""
        lookup: dict[tuple[str, str], int] = self._lookup  # type: ignore[attr-defined]
        try:
            return lookup[(kind, key)]
        except KeyError:
            raise UnknownIdError(f"the graph has no {kind} node {key!r}") from None

    def nodes_of(self, kind: str) -> np.ndarray:
        """Node numbers of every node of a kind, in node order."""
        return self.nodes.filter(pl.col("kind") == kind)["node"].to_numpy()

    def keys(self, nodes: np.ndarray | Sequence[int]) -> list[str]:
        return [str(k) for k in self.nodes["key"].to_numpy()[np.asarray(nodes, dtype=np.int64)]]

    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """``(head, relation_index, tail, relation_names)`` arrays for embedding training."""
        names = self.relations
        rel = self.edges["relation"].replace_strict({n: i for i, n in enumerate(names)}, return_dtype=pl.Int64)
        return self.edges["src"].to_numpy(), rel.to_numpy(), self.edges["dst"].to_numpy(), names

    def without_edges(self, relation: str, src: np.ndarray, dst: np.ndarray) -> KnowledgeGraph:
        """A copy without the given edges of one relation (to hide edges for evaluation)."""
        drop = pl.DataFrame({"src": np.asarray(src, np.int64), "dst": np.asarray(dst, np.int64),
                             "relation": [relation] * len(src)}, schema=_EDGE_SCHEMA)
        return KnowledgeGraph(self.nodes, self.edges.join(drop, on=["src", "dst", "relation"], how="anti"), self.papers)


class GraphBuilder:
    """Accumulates typed nodes and edges; ``graph()`` returns the :class:`KnowledgeGraph`."""

    def __init__(self) -> None:
        self._index: dict[tuple[str, str], int] = {}
        self._kinds: list[str] = []
        self._keys: list[str] = []
        self._labels: list[str] = []
        self._src: list[int] = []
        self._dst: list[int] = []
        self._rel: list[str] = []

    def add_node(self, kind: str, key: str, label: str | None = None) -> int:
        pair = (kind, key)
        got = self._index.get(pair)
        if got is None:
            got = len(self._kinds)
            self._index[pair] = got
            self._kinds.append(kind)
            self._keys.append(key)
            self._labels.append(key if label is None else label)
        return got

    def add_edges(self, relation: str, src: Iterable[int], dst: Iterable[int]) -> None:
        s, d = list(src), list(dst)
        if len(s) != len(d):
            raise DataError(f"{relation}: {len(s)} sources but {len(d)} targets")
        self._src.extend(s)
        self._dst.extend(d)
        self._rel.extend([relation] * len(s))

    def graph(self, papers: pl.DataFrame | None = None) -> KnowledgeGraph:
        nodes = pl.DataFrame({"node": np.arange(len(self._kinds)), "kind": self._kinds, "key": self._keys,
                              "label": self._labels}, schema=_NODE_SCHEMA)
        edges = pl.DataFrame({"src": self._src, "dst": self._dst, "relation": self._rel}, schema=_EDGE_SCHEMA)
        return KnowledgeGraph(nodes, edges, papers)


def build_paper_graph(
    papers: Papers,
    *,
    concepts: ConceptExtractor | list[list[str]] | None = None,
    topics: TopicModel | list[list[str]] | None = None,
    venues: bool = True,
) -> KnowledgeGraph:
    """The knowledge graph of a literature.

    ``concepts`` / ``topics`` are fitted models (applied to each paper's full text) or ready
    per-paper lists (one list of names per paper, ``[["parsing"], []]``; a bare string is an error);
    ``None`` leaves that node kind out. Every paper is a node (paper nodes come
    first, in table order, so node ``i`` is paper ``i``).
    """
    b = GraphBuilder()
    t = papers.table
    ids = t["id"].to_list()
    for pid, title in zip(ids, t["title"].to_list(), strict=True):
        b.add_node("paper", pid, title or pid)
    texts = papers.full_texts()

    src: list[int] = []
    dst: list[int] = []
    aff_src: list[int] = []
    aff_dst: list[int] = []
    for i, (names, affs) in enumerate(zip(t["authors"].to_list(), t["affiliations"].to_list(), strict=True)):
        # one affiliation per author ("" where the list is short): zip stopped short and lost the others
        affs = [*(affs or [])[:len(names)], *[""] * (len(names) - len(affs or []))]
        for name, aff in zip(names, affs, strict=True):
            a = b.add_node("author", " ".join(name.split()))
            src.append(i)
            dst.append(a)
            if aff:
                aff_src.append(a)
                aff_dst.append(b.add_node("institution", " ".join(aff.split())))
    b.add_edges("authored_by", src, dst)
    b.add_edges("affiliated_with", aff_src, aff_dst)

    if venues:
        pv = [(i, v) for i, v in enumerate(t["venue"].to_list()) if v]
        b.add_edges("published_in", [i for i, _ in pv], [b.add_node("venue", " ".join(v.split())) for _, v in pv])

    for relation, kind, source in (("associated_concept", "concept", concepts), ("associated_topic", "topic", topics)):
        if source is None:
            continue
        if isinstance(source, ConceptExtractor):
            per_paper = source.transform(texts) if source.vocabulary else source.fit_transform(texts)
        elif isinstance(source, TopicModel):
            per_paper = source.assign(texts) if source.labels else source.fit(texts).assign(texts)
        else:
            per_paper = source
            # a string is a sequence too: ["parsing", "trees"] made the concepts "p", "a", "r", ...
            given = [source] if isinstance(source, str) else [tags for tags in source if isinstance(tags, str)]
            if given:
                raise DataError(f"{kind}s must be one list of {kind}s per paper, got the text {given[0]!r:.60} "
                                f"(it would be read letter by letter); wrap each paper's {kind}s in a list, "
                                f"e.g. [[{given[0]!r:.40}], []]")
        if len(per_paper) != len(papers):
            raise DataError(f"{len(per_paper)} {kind} lists for {len(papers)} papers; give one list per paper")
        s2 = [i for i, tags in enumerate(per_paper) for _ in tags]
        d2 = [b.add_node(kind, tag) for tags in per_paper for tag in tags]
        b.add_edges(relation, s2, d2)

    citing, cited = papers.citations()
    b.add_edges("cites", citing.tolist(), cited.tolist())
    attrs = t.select(pl.int_range(0, t.height, dtype=pl.Int64).alias("node"),
                     "id", "title", "abstract", "venue", "year")
    graph = b.graph(attrs)
    log.info("built %r", graph)
    return graph
