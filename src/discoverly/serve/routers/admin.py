"""``POST /admin/reload``: swap in a model version atomically (admin token required)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from discoverly.serve.schemas import ReloadIn, ReloadOut
from discoverly.serve.state import ServiceState

from .deps import require_admin, service

__all__ = ["router"]

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.post("/reload", response_model=ReloadOut, summary="Load a model version and swap it in",
             responses={401: {"description": "no or wrong token"}, 403: {"description": "admin disabled"},
                        404: {"description": "no such model version"},
                        503: {"description": "the version could not be loaded; the old one keeps serving"}})
def reload(body: Annotated[ReloadIn | None, Body()] = None, state: ServiceState = Depends(service)) -> ReloadOut:
    """Load ``version`` (or the one ``CURRENT`` names) and swap it in; requests already running
    finish on the old version. Other workers follow within a second (they watch ``CURRENT``)."""
    previous, version = state.reload(body.version if body is not None else None)
    return ReloadOut(previous=previous, version=version, loaded=sorted(state.snapshot.versions))
