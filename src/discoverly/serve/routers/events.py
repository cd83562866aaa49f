"""``POST /events`` (one event or a batch) and the admin bulk ingest ``POST /admin/events``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header

from discoverly.errors import DataError
from discoverly.serve.schemas import EventBatch, EventIn, EventsBody, IngestOut
from discoverly.serve.state import ServiceState
from discoverly.serve.store import Event

from .deps import require_admin, service

__all__ = ["router", "ingest"]

router = APIRouter(tags=["events"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    409: {"description": "an idempotency key is stored with a different event; nothing was stored"},
    413: {"description": "the body is over the size limit"},
    422: {"description": "invalid events (the reason names the event and field); nothing was stored"},
    503: {"description": "the event store is unavailable; nothing was acknowledged"}}

IdempotencyHeader = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                                 description="a key for the request; event i gets '<key>:<i>'")]


def ingest(state: ServiceState, body: EventIn | EventBatch, header_key: str | None, limit: int) -> IngestOut:
    """Validate a whole batch against the server clock, then store it in one transaction."""
    events = body.events if isinstance(body, EventBatch) else [body]
    if len(events) > limit:
        raise DataError(f"the batch has {len(events):,} events; at most {limit:,} are accepted per request. "
                        "Split it into smaller batches (or use the admin bulk endpoint)")
    now = int(state.clock())
    horizon = now + state.config.max_future_seconds
    out: list[Event] = []
    for i, e in enumerate(events):
        ts = e.epoch_seconds()
        where = f"event {i}" if len(events) > 1 else "the event"
        if ts > horizon:
            raise DataError(f"{where} has a timestamp {ts} that is {ts - now:,} s in the future (server time {now}); "
                            f"at most {state.config.max_future_seconds:,} s ahead is accepted. Check the clock and "
                            "the unit (epoch seconds, not milliseconds)")
        key = e.idempotency_key or (f"{header_key}:{i}" if header_key else None)
        if key is None:
            raise DataError(f"{where} has no idempotency_key and no Idempotency-Key header was sent; every event "
                            "needs a key so that a retry is not counted twice")
        if e.type == "rating" and e.value is None:
            raise DataError(f"{where} is a rating without a value; send the rating in 'value'")
        out.append(Event(key, str(e.user), str(e.item), e.type, ts, float(e.quantity), e.value))
    result = state.store.add(out, received=now)
    state.metrics.inc("discoverly_events_ingested_total", result.accepted)
    state.metrics.inc("discoverly_events_duplicate_total", result.duplicates)
    return IngestOut(accepted=result.accepted, duplicates=result.duplicates)


@router.post("/events", response_model=IngestOut, responses=PROBLEMS, summary="Record events")
def post_events(body: Annotated[EventsBody, Body()], state: ServiceState = Depends(service),
                idempotency_key: IdempotencyHeader = None) -> IngestOut:
    """Store one event or ``{"events": [...]}``, all or nothing. When the answer arrives the
    events are on disk; retrying with the same idempotency keys never double-counts."""
    return ingest(state, body, idempotency_key, state.config.max_batch)


@router.post("/admin/events", response_model=IngestOut, responses={**PROBLEMS, 401: {"description": "no token"}},
             dependencies=[Depends(require_admin)], tags=["admin"], summary="Bulk ingest (admin)")
def bulk_events(body: Annotated[EventBatch, Body()], state: ServiceState = Depends(service),
                idempotency_key: IdempotencyHeader = None) -> IngestOut:
    """Like ``POST /events`` with a larger batch limit, for loading history; needs the admin token."""
    return ingest(state, body, idempotency_key, state.config.max_bulk_batch)
