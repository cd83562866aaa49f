"""``GET /health`` and ``GET /metrics`` (Prometheus text format); ``HEAD`` answers too (middleware.HeadAsGet)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from discoverly.serve.metrics import CONTENT_TYPE
from discoverly.serve.schemas import HealthOut
from discoverly.serve.state import ServiceState

from .deps import service

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthOut, responses={503: {"description": "store unavailable"}})
def health(state: ServiceState = Depends(service)) -> HealthOut:
    """200 when a model is loaded and the event store answers."""
    state.store.ping()
    snap = state.snapshot
    return HealthOut(status="ok", version=snap.current.version, versions=sorted(snap.versions),
                     store=state.store.url.split(":", 1)[0], uptime_seconds=time.time() - state.metrics.started)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def metrics(state: ServiceState = Depends(service)) -> PlainTextResponse:
    return PlainTextResponse(state.metrics.render(), media_type=CONTENT_TYPE)
