"""``POST /events`` (one event or a batch) and the admin bulk ingest ``POST /admin/events``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request
from pydantic import AfterValidator

from discoverly.errors import DataError
from discoverly.serve.problems import is_json
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



def _header_key(value: str | None) -> str | None:
    """An ``Idempotency-Key`` header is 1 to 200 visible ASCII characters (``!`` to ``~``): a header carries
    no encoding (other bytes arrive as Latin-1 guesses) and a tab or a space inside is easily lost or added
    on the way, which would make a retry a new request."""
    if value is not None and not all("!" <= c <= "~" for c in value):
        bad = next(c for c in value if not "!" <= c <= "~")
        what = repr(bad) if bad.isascii() else "a character that is not ASCII (a header has no encoding)"
        raise ValueError(f"the Idempotency-Key header holds {what}; a key is 1 to 200 visible ASCII characters "
                         "(letters, digits and punctuation, no spaces or tabs), such as a UUID")
    return value


IdempotencyHeader = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                                 description="a key for the request, 1 to 200 visible ASCII "
                                                             "characters; event i gets '<key>:<i>'"),
                              AfterValidator(_header_key)]


def _too_many(n: int, limit: int, bulk: bool) -> DataError:
    other = "" if bulk else " (or use the admin bulk endpoint, POST /admin/events)"
    return DataError(f"the batch has {n:,} events; at most {limit:,} are accepted per request. "
                     f"Split it into smaller batches{other}")


def batch_limit(bulk: bool) -> Callable[[Request], Awaitable[None]]:
    """A dependency that counts a batch's events before they are validated (dependencies run first), and
    refuses one over the limit: validating 560,000 events of a 64 MB bulk body took 5 s and 1 GB before
    the count was checked."""

    async def count(request: Request) -> None:
        if not is_json(request.headers.get("content-type", "")):  # not read as JSON (with no type either):
            return  # the body's validation names the header to send
        try:
            body = await request.json()  # parsed once: FastAPI has read it and Starlette keeps it
        except (ValueError, RecursionError):  # no body, or one FastAPI refused already
            return
        events = body.get("events") if isinstance(body, dict) else None
        state = service(request)
        limit = state.config.max_bulk_batch if bulk else state.config.max_batch
        if isinstance(events, list) and len(events) > limit:
            raise _too_many(len(events), limit, bulk)

    return count


def ingest(state: ServiceState, body: EventIn | EventBatch, header_key: str | None, limit: int,
           bulk: bool = False) -> IngestOut:
    """Validate a whole batch against the server clock, then store it in one transaction."""
    events = body.events if isinstance(body, EventBatch) else [body]
    if len(events) > limit:
        raise _too_many(len(events), limit, bulk)
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


@router.post("/events", response_model=IngestOut, responses=PROBLEMS, summary="Record events",
             dependencies=[Depends(batch_limit(bulk=False))])
def post_events(body: Annotated[EventsBody, Body()], state: ServiceState = Depends(service),
                idempotency_key: IdempotencyHeader = None) -> IngestOut:
    """Store one event or ``{"events": [...]}``, all or nothing. When the answer arrives the
    events are on disk; retrying with the same idempotency keys never double-counts."""
    return ingest(state, body, idempotency_key, state.config.max_batch)


@router.post("/admin/events", response_model=IngestOut, responses={**PROBLEMS, 401: {"description": "no token"}},
             dependencies=[Depends(require_admin), Depends(batch_limit(bulk=True))], tags=["admin"],
             summary="Bulk ingest (admin)")
def bulk_events(body: Annotated[EventBatch, Body()], state: ServiceState = Depends(service),
                idempotency_key: IdempotencyHeader = None) -> IngestOut:
    """Like ``POST /events`` with a larger batch limit, for loading history; needs the admin token."""
    return ingest(state, body, idempotency_key, state.config.max_bulk_batch, bulk=True)
