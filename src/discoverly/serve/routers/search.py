"""Product search over HTTP: ``GET /search?q=&user=&k=`` and the web page ``/ui/search``.

Mounted when the service config names a search engine artifact (written by ``discoverly search
index`` / ``train``): ``capabilities: {search: path/to/engine}``.

Bad input gets defined answers: an empty query is a 422 problem; a very long query is cut at a
word boundary (the answer says so under ``understood.truncated_to``); an unknown customer gets the
non-personalised ranking (``personalized: false``), never an error; a query of stop words only
("the of and"), or of words the catalogue does not have ("xyzzy"), is answered with a ``notice``
saying its results are not matches (``null`` otherwise).
"""

from __future__ import annotations

import html
import threading
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from discoverly.errors import ConfigError, DataError
from discoverly.search.engine import SearchEngine
from discoverly.search.notice import query_notice
from discoverly.serve.config import check_k
from discoverly.serve.state import ServiceState

__all__ = ["create_router"]

PROBLEMS: dict[int | str, dict[str, Any]] = {422: {"description": "empty query or invalid parameters"}}
METHODS = ("auto", "lexical", "dense", "hybrid", "ltr", "personal")


def create_router(path: Path, state: ServiceState) -> APIRouter:
    """Routes over the engine artifact at ``path`` (loaded once, read-only)."""
    engine = SearchEngine.load(Path(path))
    lock = threading.Lock()  # the engine keeps small caches (query embeddings); one query at a time
    # a route's default k is at most max_k too: a request without k got a 422 when max_k was lower
    max_k = state.config.max_k
    router = APIRouter(tags=["search"])

    def run(q: str, user: str | None, k: int, method: str) -> dict[str, Any]:
        check_k(k, max_k)
        if method not in METHODS:
            raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        if not q.strip():
            raise DataError("the query is empty; give at least one word to search for (q=...)")
        with lock:
            res = engine.search(q, user=_user_id(user), k=k, method=method)  # type: ignore[arg-type]
        return {"query": q if len(q) <= 200 else q[:200] + "…", "user": user, "method": res.method,
                "personalized": res.personalized, "understood": res.understood,
                "took_ms": round(res.seconds * 1000, 2), "results": res.to_dicts(), "notice": query_notice(res)}

    @router.get("/search", responses=PROBLEMS, summary="Search the catalogue")
    def search(q: Annotated[str, Query(max_length=10_000, description="what to search for")],
               user: Annotated[str | None, Query(description="customer id, for personalised results")] = None,
               k: Annotated[int, Query(ge=1, le=10_000)] = min(10, max_k),
               method: Annotated[str, Query(description="auto, lexical, dense, hybrid, ltr or personal")] = "auto",
               ) -> dict[str, Any]:
        """Query understanding (normalisation, spelling, brand/size, category), hybrid retrieval and
        learning-to-rank; personalised for a customer with history."""
        return run(q, user, k, method)

    @router.get("/ui/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(q: str = "", user: str = "", k: Annotated[int, Query(ge=1, le=100)] = min(20, max_k)
                    ) -> HTMLResponse:
        from discoverly.serve.ui.pages import page

        form = (f"<form method='get' action='/ui/search'><label for='search-q'>Search</label> "
                f"<input type='text' id='search-q' name='q' value='{html.escape(q)}' "
                f"placeholder='search the catalogue' autofocus> <label for='search-user'>Customer id</label> "
                f"<input type='text' id='search-user' name='user' value='{html.escape(user)}' "
                f"placeholder='optional, to personalise'> <button type='submit'>Search</button></form>")
        if not q.strip():
            return page("Search", form)
        try:
            out = run(q, user or None, k, "auto")
        except (DataError, ConfigError) as exc:
            return page("Search", form + f"<p class='bad'>{html.escape(str(exc))}</p>", status=422)
        u = out["understood"]
        cats = ", ".join(f"{html.escape(c)} ({p:.0%})" for c, p in u.get("categories", []))
        notes = [f"tokens: {html.escape(' '.join(u['tokens']))}"]
        if u.get("corrected"):
            notes.append(f"corrected from: {html.escape(' '.join(u.get('original_tokens', [])))}")
        for key in ("brand", "size"):
            if u.get(key):
                notes.append(f"{key}: {html.escape(str(u[key]))}")
        if cats:
            notes.append(f"categories: {cats}")
        if u.get("truncated_to"):
            notes.append("the query was shortened")
        if out["notice"]:
            notes.append(html.escape(out["notice"]))
        mode = "personalised" if out["personalized"] else out["method"]
        rows = "".join(
            f"<tr><td class='num'>{r['rank']}</td><td><a href='/ui/items/{quote(str(r['item']), safe='')}'>"
            f"{html.escape(str(r['title'] or r['item']))}</a> <span class='meta'>({html.escape(str(r['item']))})"
            f"</span></td><td class='num'>{r['score']:.4g}</td></tr>" for r in out["results"])
        table = (f"<div class='scroll'><table><thead><tr><th>#</th><th>item</th><th class='num'>score</th></tr>"
                 f"</thead><tbody>{rows}</tbody></table></div>" if rows
                 else "<p class='note'>No item matches this query. Try fewer or other words.</p>")
        body = f"{form}<p class='meta'>{' · '.join(notes)} · {mode} · {out['took_ms']} ms</p>{table}"
        return page(f"Search: {q[:60]}", body)

    return router


def _user_id(user: str | None) -> Any:
    """The customer id as given (ids arrive as strings over HTTP; the engine's vocabulary also
    finds an integer id from its digits)."""
    if user is None or not user.strip():
        return None
    return user.strip()
