"""``GET /items/{item}/related`` and ``GET /users/{user}/recommendations``."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from discoverly.recommend.results import plain_id
from discoverly.serve.config import check_k
from discoverly.serve.experiments import assign
from discoverly.serve.freshness import fresh_history, training_history
from discoverly.serve.middleware import HEAD_KEY
from discoverly.serve.schemas import ExperimentRef, RecommendationsOut, RelatedOut, ScoredItem, id_problem
from discoverly.serve.state import Served, ServiceState, Snapshot
from discoverly.serve.store import Exposure

from .deps import service

__all__ = ["router"]

router = APIRouter(tags=["recommendations"])

K = Annotated[int | None, Query(ge=1, le=10_000, description="list length (default from the config)")]
PROBLEMS: dict[int | str, dict[str, Any]] = {404: {"description": "unknown id"},
                                             422: {"description": "invalid parameters"},
                                             503: {"description": "model or store unavailable"}}


def _k(state: ServiceState, k: int | None) -> int:
    return check_k(state.config.default_k if k is None else k, state.config.max_k)


def _check_customer(user: str | None) -> None:
    """A blank or malformed customer id is a 422: answered as a customer, it would also be recorded
    as an experiment exposure."""
    from discoverly.errors import ConfigError

    problem = None if user is None else id_problem(user)
    if problem:
        raise ConfigError(f"customer id {user!r}: {problem}")


def _pick(state: ServiceState, snap: Snapshot, endpoint: str, user: str | None
          ) -> tuple[Served, ExperimentRef | None, Any]:
    exp = state.active_experiment(endpoint) if user is not None else None
    if exp is None or user is None:
        return snap.current, None, None
    arm = assign(exp, user)
    return snap.versions[arm.version], ExperimentRef(name=exp.name, arm=arm.name), (exp, arm)


def _items(served: Served, snap: Snapshot, idx: np.ndarray, scores: np.ndarray, k: int,
           exclude: set[int]) -> list[ScoredItem]:
    """Model items first, then bestsellers (labelled) until the list has ``k`` items."""
    model = served.model
    assert model.items is not None
    chosen = [(int(i), float(s), "model") for i, s in zip(idx.tolist(), scores.tolist(), strict=True) if i >= 0]
    taken = exclude | {i for i, _, _ in chosen}
    fallback = getattr(model, "_fallback", None)
    if len(chosen) < k and fallback is not None:
        for i in np.asarray(fallback).tolist():
            if len(chosen) >= k:
                break
            if i not in taken:
                chosen.append((int(i), float("nan"), "bestsellers"))
                taken.add(i)
    ids = model.items.ids_of(np.array([i for i, _, _ in chosen], dtype=np.int64)).tolist()
    titles = snap.titles(ids)
    return [ScoredItem(item=plain_id(it), title=t, score=s if math.isfinite(s) else None, rank=r + 1,
                       source=src)  # type: ignore[arg-type]
            for r, (it, t, (_, s, src)) in enumerate(zip(ids, titles, chosen, strict=True))]


class JSON(JSONResponse):
    """A body already serialised by pydantic-core (skips FastAPI's second validation pass). A
    JSONResponse, so that the OpenAPI schema shows the response model (a plain Response made
    it ``{"type": "string"}``)."""

    def render(self, content: Any) -> bytes:
        return content.encode() if isinstance(content, str) else super().render(content)


@router.get("/users/{user:path}/recommendations", response_model=RecommendationsOut, responses=PROBLEMS,
            summary="Recommended for you", response_class=JSON)
def get_recommendations(request: Request, user: str, k: K = None, exclude_seen: bool = True,
                        state: ServiceState = Depends(service)) -> Response:
    """A customer's top-k items from their history at training time plus their events since
    then (so new purchases count at once). Unknown or history-less customers get the recent
    bestsellers, labelled ``fallback``."""
    shown = not request.scope.get(HEAD_KEY, False)  # a HEAD shows no one anything: no exposure
    return JSON(recommendations(user, k, exclude_seen, state, record_exposure=shown).model_dump_json())


@router.get("/items/{item:path}/related", response_model=RelatedOut, responses=PROBLEMS,
            summary="Customers who bought this also bought", response_class=JSON)
async def get_related(request: Request, item: str, k: K = None,
                      user: Annotated[str | None, Query(max_length=256)] = None,
                      state: ServiceState = Depends(service)) -> Response:
    """Items related to ``item`` (404 when the model does not know it). Items the model has no
    related list for, or models without related items, are answered by the recent bestsellers,
    labelled ``fallback``. ``user`` (optional) puts the request into an active experiment."""
    shown = not request.scope.get(HEAD_KEY, False)  # a HEAD shows no one anything: no exposure
    if shown and user is not None and state.active_experiment("related") is not None:  # writes: off the loop
        out = await run_in_threadpool(related, item, k, user, state)
    else:  # pure computation on loaded arrays: cheaper on the event loop than a thread hop
        out = related(item, k, user, state, record_exposure=shown)
    return JSON(out.model_dump_json())


def recommendations(user: str, k: int | None, exclude_seen: bool, state: ServiceState, *,
                    record_exposure: bool = True) -> RecommendationsOut:
    """The answer of ``GET /users/{user}/recommendations`` (also used by the web UI, which shows the
    customer's arm but records no exposure: looking a customer up does not show them anything)."""
    _check_customer(user)
    k = _k(state, k)
    snap = state.snapshot
    served, ref, split = _pick(state, snap, "recommendations", user)
    model = served.model
    events = state.store.user_events(user, types=state.config.history_types, since=model.trained_until)
    if events:
        history, fresh = fresh_history(model, user, events)
    else:
        history, fresh = training_history(model, user), 0
    recs = model.recommend([user], k, exclude_seen=exclude_seen, history=history, fill=False)
    seen = set(history.days.indices.tolist()) if exclude_seen else set()
    items = _items(served, snap, recs.indices[0], recs.scores[0], k, seen)
    fallback = bool(recs.fallback[0]) or all(i.source == "bestsellers" for i in items)
    state.metrics.inc("discoverly_answers_total", endpoint="recommendations",
                      source="fallback" if fallback else "model")
    if split is not None and record_exposure:
        exp, arm = split
        state.store.add_exposure(Exposure(exp.name, arm.name, user, served.version, int(state.clock()),
                                          tuple(str(i.item) for i in items)))
    return RecommendationsOut(user=user, version=served.version, fallback=fallback, fresh_events=fresh,
                              experiment=ref, items=items)


def related(item: str, k: int | None, user: str | None, state: ServiceState, *,
            record_exposure: bool = True) -> RelatedOut:
    """The answer of ``GET /items/{item}/related`` (also used by the web UI)."""
    _check_customer(user)
    k = _k(state, k)
    snap = state.snapshot
    served, ref, split = _pick(state, snap, "related", user)
    model = served.model
    assert model.items is not None
    index = model.items.index(item)  # UnknownIdError -> 404
    item_id = plain_id(model.items.id(index))
    if served.supports_related:
        recs = model.related([item_id], k)
        idx, sc = recs.indices[0], recs.scores[0]
        # a related list may carry the model's own fallback; mark those rows as bestsellers
        if bool(recs.fallback[0]):
            idx = np.full(0, -1, dtype=np.int64)
            sc = np.full(0, np.nan, dtype=np.float32)
    else:
        idx = np.full(0, -1, dtype=np.int64)
        sc = np.full(0, np.nan, dtype=np.float32)
    items = _items(served, snap, idx, sc, k, {index})
    fallback = all(i.source == "bestsellers" for i in items)
    state.metrics.inc("discoverly_answers_total", endpoint="related", source="fallback" if fallback else "model")
    if split is not None and user is not None and record_exposure:
        exp, arm = split
        state.store.add_exposure(Exposure(exp.name, arm.name, user, served.version, int(state.clock()),
                                          tuple(str(i.item) for i in items)))
    return RelatedOut(item=item_id, title=snap.titles([item_id])[0], version=served.version, fallback=fallback,
                      experiment=ref, items=items)
