"""Questions a librarian asks a literature graph, answered from the store's indices.

    q = GraphQuery(GraphStore("aan.sqlite"))
    q.neighbours("paper", "P02-1040")                  # authors, venue, concepts, topics, citations
    q.citation_counts(k=10)                            # most cited overall
    q.citation_counts(topic="translation", k=10)       # most cited by papers on a topic
    q.top_cited(["machine translation", "alignment"])  # papers about A and B, most cited first
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from discoverly._checks import is_whole
from discoverly.errors import ConfigError, UnknownIdError
from discoverly.graph.store import GraphStore
from discoverly.recommend.base import check_k

__all__ = ["GraphQuery"]

_DIRECTIONS = ("out", "in", "both")


class GraphQuery:
    """Read-only queries over a :class:`GraphStore`."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def node(self, kind: str, key: str) -> int:
        row = self.store.con.execute("SELECT node FROM nodes WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if row is None:
            hint = self._suggest(kind, key)
            raise UnknownIdError(f"the graph has no {kind} {key!r}{hint}")
        return int(row[0])

    def _suggest(self, kind: str, key: str) -> str:
        rows = self.store.con.execute(
            "SELECT key FROM nodes WHERE kind = ? AND key LIKE ? ESCAPE '\\' ORDER BY length(key), key LIMIT 3",
            (kind, f"%{_like_literal(key)}%")).fetchall()
        if rows:
            return f"; did you mean {', '.join(repr(r[0]) for r in rows)}?"
        if kind not in ("topic", "concept"):
            return ""
        # no near name: show what there is (a topic or concept name is not something a user can guess)
        names = [r[0] for r in self.store.con.execute(
            "SELECT n.key FROM nodes n JOIN edges e ON e.dst = n.node WHERE n.kind = ? GROUP BY n.node "
            "ORDER BY COUNT(*) DESC, n.key LIMIT 11", (kind,)).fetchall()]
        if not names:
            return f"; it has no {kind}s"
        more = ", ..." if len(names) > 10 else ""
        return (f"; its {kind}s with most papers are {', '.join(repr(n) for n in names[:10])}{more} "
                f"(all of them: discoverly graph rank --{kind}s)")

    def paper(self, paper_id: str) -> dict[str, object]:
        """A paper's stored attributes plus its citation counts in both directions."""
        row = self.store.sql("SELECT node, id, title, abstract, venue, year FROM papers WHERE id = ?", (paper_id,))
        if row.height == 0:
            raise UnknownIdError(f"unknown paper id {paper_id!r}")
        out = row.row(0, named=True)
        node = out["node"]
        out["cited_by"] = self.store.con.execute(
            "SELECT COUNT(*) FROM edges WHERE dst = ? AND relation = 'cites'", (node,)).fetchone()[0]
        out["references"] = self.store.con.execute(
            "SELECT COUNT(*) FROM edges WHERE src = ? AND relation = 'cites'", (node,)).fetchone()[0]
        return out

    def neighbours(self, kind: str, key: str, *, relation: str | None = None, direction: str = "both",
                   limit: int | None = None) -> pl.DataFrame:
        """The nodes linked to ``(kind, key)``: columns direction, relation, kind, key, label."""
        if direction not in _DIRECTIONS:
            raise ConfigError(f"direction must be one of {_DIRECTIONS}, got {direction!r}")
        if limit is not None and (not is_whole(limit) or limit < 1):
            # SQLite reads LIMIT -1 as no limit and LIMIT 0 as nothing: both said nothing of the mistake
            raise ConfigError(f"limit must be a whole number of at least 1, or None for every neighbour; got {limit!r}")
        node = self.node(kind, key)
        parts: list[str] = []
        params: list[object] = []
        rel = " AND e.relation = ?" if relation else ""
        if direction in ("out", "both"):
            parts.append("SELECT 'out' AS direction, e.relation, n.kind, n.key, n.label FROM edges e "
                         f"JOIN nodes n ON n.node = e.dst WHERE e.src = ?{rel}")
            params += [node, relation] if relation else [node]
        if direction in ("in", "both"):
            parts.append("SELECT 'in' AS direction, e.relation, n.kind, n.key, n.label FROM edges e "
                         f"JOIN nodes n ON n.node = e.src WHERE e.dst = ?{rel}")
            params += [node, relation] if relation else [node]
        sql = " UNION ALL ".join(parts) + " ORDER BY direction DESC, relation, key"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self.store.sql(sql, params)

    def _filter(self, topic: str | None, concept: str | None) -> tuple[str, list[object]]:
        """SQL restricting ``c.src`` (the citing paper) to papers with the topic and/or concept."""
        where = ""
        params: list[object] = []
        if topic is not None:
            where += " AND c.src IN (SELECT src FROM edges WHERE relation = 'associated_topic' AND dst = ?)"
            params.append(self.node("topic", topic))
        if concept is not None:
            where += " AND c.src IN (SELECT src FROM edges WHERE relation = 'associated_concept' AND dst = ?)"
            params.append(self.node("concept", concept))
        return where, params

    def citation_counts(self, *, topic: str | None = None, concept: str | None = None,
                        k: int | None = 20) -> pl.DataFrame:
        """Papers by the number of papers citing them, most cited first.

        With ``topic`` and/or ``concept``, only citing papers that have that topic/concept count
        ("most cited *by* papers on parsing"). Columns: id, title, year, citations.
        """
        where, params = self._filter(topic, concept)
        sql = ("SELECT p.id, p.title, p.year, COUNT(*) AS citations FROM edges c JOIN papers p ON p.node = c.dst "
               f"WHERE c.relation = 'cites'{where} GROUP BY c.dst ORDER BY citations DESC, p.id")
        if k is not None:
            sql += f" LIMIT {check_k(k)}"
        return self.store.sql(sql, params)

    def top_cited(self, concepts: Sequence[str], *, k: int = 20, topic: str | None = None) -> pl.DataFrame:
        """Papers associated with every one of ``concepts`` (and ``topic`` if given), most cited first.

        "Papers about A and B, most cited first". Columns: id, title, year, citations. A single
        string is one concept (``top_cited("alignment")``), not one concept per letter.
        """
        if isinstance(concepts, str):
            concepts = [concepts]
        if not concepts and topic is None:
            raise ConfigError("give at least one concept (or a topic) to rank papers about")
        k = check_k(k)
        conds: list[str] = []
        params: list[object] = []
        for c in concepts:
            conds.append("p.node IN (SELECT src FROM edges WHERE relation = 'associated_concept' AND dst = ?)")
            params.append(self.node("concept", c))
        if topic is not None:
            conds.append("p.node IN (SELECT src FROM edges WHERE relation = 'associated_topic' AND dst = ?)")
            params.append(self.node("topic", topic))
        sql = ("SELECT p.id, p.title, p.year, (SELECT COUNT(*) FROM edges c WHERE c.dst = p.node AND "
               "c.relation = 'cites') AS citations FROM papers p WHERE " + " AND ".join(conds) +
               f" ORDER BY citations DESC, p.id LIMIT {int(k)}")
        return self.store.sql(sql, params)

    def topics(self) -> pl.DataFrame:
        """Topics with their number of papers, most first (ties by name)."""
        return self.store.sql("SELECT n.key AS topic, COUNT(e.src) AS papers FROM nodes n LEFT JOIN edges e "
                              "ON e.dst = n.node AND e.relation = 'associated_topic' WHERE n.kind = 'topic' "
                              "GROUP BY n.node ORDER BY papers DESC, topic")

    def concepts(self, *, k: int = 50) -> pl.DataFrame:
        """The concepts with most papers."""
        return self.store.sql("SELECT n.key AS concept, COUNT(e.src) AS papers FROM nodes n JOIN edges e "
                              "ON e.dst = n.node AND e.relation = 'associated_concept' WHERE n.kind = 'concept' "
                              f"GROUP BY n.node ORDER BY papers DESC, n.key LIMIT {check_k(k)}")


def _like_literal(text: str) -> str:
    """``text`` for a LIKE pattern (with ``ESCAPE '\\'``) that matches it literally: a ``%`` or ``_``
    in a name is that character, not a wildcard."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
