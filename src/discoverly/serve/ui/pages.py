"""HTML pages: home (look-ups), an item with its related items, a customer with history and
recommendations, and experiment results with plots. Server-rendered, escaped, no scripts."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from discoverly._version import __version__
from discoverly.errors import ConfigError, DataError, UnknownIdError
from discoverly.serve.routers.deps import service
from discoverly.serve.routers.experiments import analysis
from discoverly.serve.routers.recommend import recommendations, related
from discoverly.serve.schemas import ScoredItem
from discoverly.serve.state import ServiceState
from discoverly.serve.ui.svg import interval_chart

__all__ = ["router", "page", "error_page"]

router = APIRouter(include_in_schema=False)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:1.5em auto;padding:0 1em;
color:#1d1d1f;line-height:1.45;overflow-wrap:break-word}
header{display:flex;flex-wrap:wrap;gap:.3em 1.2em;align-items:baseline;border-bottom:1px solid #ddd;margin-bottom:1em;
padding-bottom:.5em}header a{color:#1a365d;text-decoration:none;font-weight:600}
h1{font-size:1.5em}table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.93em}
th,td{padding:.3em .6em;border-bottom:1px solid #eee;text-align:left}th{background:#f5f5f7}
.num{text-align:right;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}.tag{font-size:.8em;
padding:.1em .45em;border-radius:4px;background:#fff3cd;color:#7a5b00}.meta{color:#666;font-size:.85em}
form{margin:.4em 0 1em}
input[type=text]{padding:.35em;width:16em}button{padding:.35em .9em}.note{background:#fff8e1;border-left:4px solid
#f5b700;padding:.5em .8em}.bad{background:#fde8e8;border-left:4px solid #c53030;padding:.5em .8em}
"""


#: the pages need their inline style sheet (and the SVG charts' style attributes), a data: favicon and forms
#: that submit to the service, nothing else: no script runs, even one that slipped past the escaping, and no
#: other site can frame a page
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
           f"content='width=device-width,initial-scale=1'><link rel='icon' href='data:,'>"
           f"<title>{html.escape(title)} · discoverly</title>"
           f"<style>{_CSS}</style></head><body><header><a href='/ui'>discoverly</a>"
           f"<a href='/ui#items'>items</a><a href='/ui#customers'>customers</a>"
           f"<a href='/ui#experiments'>experiments</a><a href='/docs'>API</a></header>"
           f"<h1>{html.escape(title)}</h1>{body}<p class='meta'>discoverly {__version__}</p></body></html>")
    return HTMLResponse(doc, status_code=status, headers={"Content-Security-Policy": CSP})


def error_page(status: int, title: str, detail: str) -> HTMLResponse:
    """An error of a /ui page as a page (the service answers API errors as problem JSON)."""
    return page(title, f"<p class='bad'>{html.escape(detail)}</p><p><a href='/ui'>Back to the home page</a></p>",
                status)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _item_link(item: Any, title: str | None) -> str:
    label = f"{_e(title)} <span class='meta'>({_e(item)})</span>" if title else _e(item)
    return f"<a href='/ui/items/{quote(str(item), safe='')}'>{label}</a>"


def _items_table(items: list[ScoredItem]) -> str:
    # a list that is all fallback has no scores and needs no tag on every row (the note above says it)
    scored = any(i.score is not None for i in items)
    tagged = any(i.source == "bestsellers" for i in items) and not all(i.source == "bestsellers" for i in items)
    rows = "".join(
        f"<tr><td class='num'>{i.rank}</td><td>{_item_link(i.item, i.title)}</td>"
        + (f"<td class='num'>{'' if i.score is None else f'{i.score:.4g}'}</td>" if scored else "")
        + (f"<td>{'<span class=tag>bestseller fallback</span>' if i.source == 'bestsellers' else ''}</td>"
           if tagged else "") + "</tr>"
        for i in items)
    head = ("<th class='num'>#</th><th>item</th>" + ("<th class='num'>score</th>" if scored else "")
            + ("<th>note</th>" if tagged else ""))
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(int(ts), tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui", response_class=HTMLResponse)
def home(state: ServiceState = Depends(service), item: str | None = None, user: str | None = None
         ) -> HTMLResponse:
    if item and item.strip():
        return RedirectResponse(f"/ui/items/{quote(item.strip(), safe='')}", status_code=303)  # type: ignore[return-value]
    if user and user.strip():
        return RedirectResponse(f"/ui/users/{quote(user.strip(), safe='')}", status_code=303)  # type: ignore[return-value]
    # a form sent with only spaces in it asks for nothing: say so instead of looking up the id ''
    blank = ("<p class='bad'>Type an id to look up (the form was sent empty).</p>"
             if item is not None or user is not None else "")
    snap = state.snapshot
    model = snap.current.model
    assert model.items is not None
    best = np.asarray(getattr(model, "_fallback", np.zeros(0, dtype=np.int64)))[:10]
    ids = model.items.ids_of(best).tolist()
    bestsellers = "".join(f"<li>{_item_link(i, t)}</li>" for i, t in zip(ids, snap.titles(ids), strict=True))
    exps = "".join(f"<li><a href='/ui/experiments/{quote(e.name)}'>{_e(e.name)}</a> "
                   f"<span class='meta'>{'active' if e.active else 'stopped'} · {e.endpoint} · "
                   f"{', '.join(f'{_e(a.name)} ({a.share:.0%}, {_e(a.version)})' for a in e.arms)}</span></li>"
                   for e in state.config.experiments) or "<li class='meta'>none configured</li>"
    body = (f"{blank}<p>Serving model version <b>{_e(snap.current.version)}</b> "
            f"({_e(type(model).__name__)}; {len(model.items):,} items). "
            f"Catalogue: {'loaded' if snap.catalog is not None else 'none (ids only)'}.</p>"
            "<h2 id='items'>Look up an item</h2><form action='/ui' method='get'>"
            "<label for='item-id'>Item id</label> "
            "<input type='text' id='item-id' name='item' placeholder='item id' required>"
            "<button type='submit'>Related items</button></form>"
            "<h2 id='customers'>Look up a customer</h2><form action='/ui' method='get'>"
            "<label for='user-id'>Customer id</label> "
            "<input type='text' id='user-id' name='user' placeholder='customer id' required>"
            "<button type='submit'>History and recommendations</button></form>"
            f"<h2>Recent bestsellers</h2><ol>{bestsellers}</ol>"
            f"<h2 id='experiments'>Experiments</h2><ul>{exps}</ul>")
    return page("discoverly", body)


@router.get("/ui/items/{item:path}", response_class=HTMLResponse)
def item_page(item: str, k: int = Query(10, ge=1, le=100), state: ServiceState = Depends(service)) -> HTMLResponse:
    try:
        out = related(item, k, None, state)
    except UnknownIdError as exc:
        return page("Unknown item", f"<p class='bad'>{_e(exc)}</p>", 404)
    note = ("<p class='note'>The model has no related items for this one; these are the recent bestsellers.</p>"
            if out.fallback else "")
    body = (f"<p class='meta'>item {_e(out.item)} · model version {_e(out.version)}</p>"
            f"<h2>Customers who bought this also bought</h2>{note}{_items_table(out.items)}")
    return page(out.title or f"Item {out.item}", body)


@router.get("/ui/users/{user:path}", response_class=HTMLResponse)
def user_page(user: str, k: int = Query(10, ge=1, le=100), state: ServiceState = Depends(service)) -> HTMLResponse:
    if not user.strip():  # /ui/users/ names no customer: not a stranger to show bestsellers to
        return page("No customer id", "<p class='bad'>The address names no customer: look one up on "
                     "<a href='/ui#customers'>the home page</a>.</p>", 404)
    try:
        out = recommendations(user, k, True, state, record_exposure=False)
    except (DataError, ConfigError) as exc:
        return page("Cannot recommend", f"<p class='bad'>{_e(exc)}</p>", 422)
    snap = state.snapshot
    model = snap.versions[out.version].model
    assert model.users is not None and model.items is not None
    rows: list[tuple[float, Any, str]] = []
    u = int(model.users.indices([user], missing=-1)[0])
    if u >= 0:
        h = model.history(np.array([u]))
        for i, last in zip(h.last.indices.tolist(), h.last.data.tolist(), strict=True):
            rows.append((last, model.items.id(i), "training data"))
    for e in state.store.user_events(user, limit=200):
        rows.append((e.timestamp, e.item, f"{e.type} (stored event)"))
    rows.sort(key=lambda r: -r[0])
    rows = rows[:50]
    titles = snap.titles([r[1] for r in rows])
    hist = "".join(f"<tr><td>{_when(t)}</td><td>{_item_link(it, ti)}</td><td class='meta'>{_e(src)}</td></tr>"
                   for (t, it, src), ti in zip(rows, titles, strict=True))
    hist_html = (f"<div class='scroll'><table><thead><tr><th>last time (UTC)</th><th>item</th><th>source</th></tr>"
                 f"</thead><tbody>{hist}</tbody></table></div>" if rows
                 else "<p class='meta'>No history: an unknown or new customer.</p>")
    note = "<p class='note'>No usable history: these are the recent bestsellers.</p>" if out.fallback else ""
    exp = (f" · experiment {_e(out.experiment.name)}, arm {_e(out.experiment.arm)}" if out.experiment else "")
    body = (f"<p class='meta'>model version {_e(out.version)} · {out.fresh_events} event(s) since training{exp}</p>"
            f"<h2>Recommended</h2>{note}{_items_table(out.items)}<h2>History (latest 50)</h2>{hist_html}")
    return page(f"Customer {user}", body)


@router.get("/ui/experiments/{name}", response_class=HTMLResponse)
def experiment_page(name: str, state: ServiceState = Depends(service)) -> HTMLResponse:
    try:
        res = analysis(state, name)
    except UnknownIdError as exc:
        return page("Unknown experiment", f"<p class='bad'>{_e(exc)}</p>", 404)
    except (DataError, ConfigError) as exc:  # too few customers yet; a store that is down is the 503 page
        return page(f"Experiment {name}", f"<p class='note'>Not enough data to analyse yet: {_e(exc)}</p>")
    arms = [a.name for a in res.arms]
    rows = "".join(
        f"<tr><td>{_e(a.name)}</td><td class='num'>{a.users:,}</td><td class='num'>{a.conversions:,}</td>"
        f"<td class='num'>{a.conversion.value:.4f} [{a.conversion.low:.4f}, {a.conversion.high:.4f}]</td>"
        f"<td class='num'>{a.revenue.value:.2f} [{a.revenue.low:.2f}, {a.revenue.high:.2f}]</td></tr>"
        for a in res.arms)
    comp = "".join(
        f"<tr><td>{_e(c.metric)}</td><td>{_e(c.arm)} − {_e(c.control)}</td><td class='num'>{c.difference:+.4f}</td>"
        f"<td class='num'>[{c.low:+.4f}, {c.high:+.4f}]</td><td class='num'>{c.p_value:.4g}</td>"
        f"<td>{'significant at 5%' if c.significant else ''}</td></tr>" for c in res.comparisons)
    srm = res.srm
    srm_html = (f"<p class='bad'>Sample ratio mismatch (p = {srm.p_value:.3g}): the split or the logging is broken; "
                "do not trust these results.</p>" if srm.mismatch else
                f"<p class='meta'>Sample ratio check: p = {srm.p_value:.3g} (ok).</p>")
    charts = (interval_chart(arms, [a.conversion.value for a in res.arms], [a.conversion.low for a in res.arms],
                             [a.conversion.high for a in res.arms], title="Conversion per arm (95% CI)",
                             axis="share of the arm's customers who converted (0 to 1)")
              + interval_chart(arms, [a.revenue.value for a in res.arms], [a.revenue.low for a in res.arms],
                               [a.revenue.high for a in res.arms], title="Revenue per customer (95% CI)",
                               fmt="{:.2f}", axis="revenue per customer (sum of event values)"))
    conv = [c for c in res.comparisons if c.metric == "conversion"]
    if conv:
        charts += interval_chart([f"{c.arm} − {c.control}" for c in conv], [c.difference for c in conv],
                                 [c.low for c in conv], [c.high for c in conv],
                                 title="Conversion difference vs control (95% CI)", zero_line=True,
                                 axis="difference in conversion (red line: no difference)")
    notes = "".join(f"<p class='note'>{_e(n)}</p>" for n in res.notes)
    body = (f"{srm_html}{notes}<div class='scroll'><table><thead><tr><th>arm</th><th class='num'>customers</th>"
            f"<th class='num'>converted</th><th class='num'>conversion [95% CI]</th>"
            f"<th class='num'>revenue/customer [95% CI]</th></tr></thead><tbody>{rows}</tbody></table></div>"
            f"<div>{charts}</div><h2>Differences</h2><div class='scroll'><table><thead><tr><th>metric</th>"
            f"<th>arms</th><th class='num'>difference</th><th class='num'>95% CI</th><th class='num'>p-value</th>"
            f"<th></th></tr></thead><tbody>{comp}</tbody></table></div>")
    return page(f"Experiment {name}", body)
