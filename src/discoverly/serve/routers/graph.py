"""The literature graph over HTTP: ``GET /papers/{id}/similar?k=``, ``GET /papers/rank?topic=&concept=``,
``GET /papers/{id}`` (attributes and neighbourhood) and the web page ``/ui/papers/{id}``.

Mounted when the service config names a graph folder (written by ``discoverly graph build`` and
``discoverly graph fit``): ``capabilities: {graph: path/to/folder}``.
"""

from __future__ import annotations

import html
import threading
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from discoverly.graph.query import GraphQuery
from discoverly.graph.workspace import GraphFolder
from discoverly.serve.config import check_k
from discoverly.serve.state import ServiceState

__all__ = ["create_router"]

PROBLEMS: dict[int | str, dict[str, Any]] = {404: {"description": "unknown paper, topic or concept"},
                                             422: {"description": "invalid parameters, or (similar) a paper with "
                                                                  "no text and no edge: nothing to compare it by"}}

#: concepts one ``/papers/rank`` request may intersect (each is one SQL condition; SQLite refuses a query of
#: about a thousand, which was a 500)
MAX_ABOUT = 20


def create_router(path: Path, state: ServiceState) -> APIRouter:
    """Routes over the graph folder at ``path`` (loaded once, read-only)."""
    folder = GraphFolder(Path(path))
    engine = folder.load_similar()
    store = folder.open_store()
    query = GraphQuery(store)
    lock = threading.Lock()  # one SQLite connection, used by the threadpool one request at a time
    with lock:
        info = {r[0]: (r[1], r[2]) for r in store.con.execute("SELECT id, title, year FROM papers").fetchall()}
    # a route's default k is at most max_k too: a request without k got a 422 when max_k was lower
    max_k = state.config.max_k
    router = APIRouter(tags=["papers"])

    def similar(paper_id: str, k: int) -> list[dict[str, Any]]:
        out = engine.similar(paper_id, k=check_k(k, max_k))
        return [{"id": pid, "title": info.get(pid, (None, None))[0], "year": info.get(pid, (None, None))[1],
                 "score": round(float(score), 6), "rank": int(rank)} for pid, score, rank in out.iter_rows()]

    def paper(paper_id: str) -> dict[str, Any]:
        with lock:
            attrs = query.paper(paper_id)
            nb = query.neighbours("paper", paper_id)
        groups: dict[str, list[dict[str, Any]]] = {}
        for direction, relation, kind, key, label in nb.iter_rows():
            name = relation if direction == "out" else f"{relation}_by" if relation == "cites" else f"{relation}_in"
            groups.setdefault("cited_by" if name == "cites_by" else name, []).append(
                {"kind": kind, "key": key, "label": label})
        return {**{k: v for k, v in attrs.items() if k != "node"}, "neighbours": groups}

    @router.get("/papers/rank", responses=PROBLEMS, summary="Most cited papers, by topic or concept")
    def rank(topic: str | None = None, concept: str | None = None,
             about: Annotated[list[str] | None, Query(max_length=MAX_ABOUT, description="only papers about all "
                                                      f"these concepts (at most {MAX_ABOUT})")] = None,
             k: Annotated[int, Query(ge=1, le=10_000)] = min(20, max_k)) -> dict[str, Any]:
        """Papers by number of citing papers; ``topic``/``concept`` restrict the citing papers;
        ``about`` (repeatable) restricts the ranked papers to those with all the concepts."""
        with lock:
            frame = (query.top_cited(about, k=check_k(k, max_k), topic=topic) if about
                     else query.citation_counts(topic=topic, concept=concept, k=check_k(k, max_k)))
        return {"topic": topic, "concept": concept, "about": about or [], "papers": frame.to_dicts()}

    @router.get("/papers/{paper_id}/similar", responses=PROBLEMS, summary="Similar papers (text + graph)")
    def similar_papers(paper_id: str, k: Annotated[int, Query(ge=1, le=10_000)] = min(10, max_k)) -> dict[str, Any]:
        """The ``k`` papers closest to a paper by fused text and knowledge-graph embeddings."""
        return {"paper": paper_id, "weight": engine.weight, "similar": similar(paper_id, k)}

    @router.get("/papers/{paper_id}", responses=PROBLEMS, summary="A paper and its neighbourhood")
    def paper_detail(paper_id: str) -> dict[str, Any]:
        return paper(paper_id)

    @router.get("/ui/papers/{paper_id}", response_class=HTMLResponse, include_in_schema=False)
    def paper_page(paper_id: str, k: Annotated[int, Query(ge=1, le=100)] = min(10, max_k)) -> HTMLResponse:
        from discoverly.errors import DataError, UnknownIdError
        from discoverly.serve.ui.pages import page

        no_similar = "No similar papers."
        try:
            p = paper(paper_id)
            sims = similar(paper_id, k)
        except UnknownIdError as exc:
            return page("Unknown paper", f"<p class='bad'>{html.escape(str(exc))}</p>", status=404)
        except DataError as exc:  # no text and no links: the engine has nothing to compare it by
            sims, no_similar = [], f"No similar papers: {exc}"

        def link(pid: str, label: str | None) -> str:
            return (f"<a href='/ui/papers/{quote(pid, safe='')}'>{html.escape(label or pid)}</a> "
                    f"<span class='meta'>({html.escape(pid)})</span>")

        rows = "".join(f"<tr><td class='num'>{s['rank']}</td><td>{link(s['id'], s['title'])}</td>"
                       f"<td class='num'>{s['year'] or ''}</td><td class='num'>{s['score']:.3f}</td></tr>"
                       for s in sims)
        parts = []
        for name, items in sorted(p["neighbours"].items()):
            shown = ", ".join(link(i["key"], i["label"]) if i["kind"] == "paper" else html.escape(i["key"])
                              for i in items[:25])
            more = f" <span class='meta'>… {len(items) - 25} more</span>" if len(items) > 25 else ""
            parts.append(f"<tr><th>{html.escape(name.replace('_', ' '))}</th><td>{shown}{more}</td></tr>")
        body = (f"<p class='meta'>{html.escape(str(p.get('venue') or ''))} {p.get('year') or ''} · cited by "
                f"{p['cited_by']} · cites {p['references']}</p>"
                f"{'<p>' + html.escape(p['abstract']) + '</p>' if p.get('abstract') else ''}"
                f"<h2>Neighbourhood</h2>"
                + (f"<div class='scroll'><table>{''.join(parts)}</table></div>" if parts
                   else "<p class='meta'>No links to other papers, authors or concepts.</p>")
                + "<h2>Similar papers</h2>"
                + (f"<div class='scroll'><table><thead><tr><th>#</th><th>paper</th><th class='num'>year</th>"
                   f"<th class='num'>score</th></tr></thead><tbody>{rows}</tbody></table></div>" if rows
                   else f"<p class='meta'>{html.escape(no_similar)}</p>"))
        return page(str(p.get("title") or paper_id), body)

    return router
