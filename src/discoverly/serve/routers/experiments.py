"""``GET /experiments`` and ``GET /experiments/{name}``: the configured experiments and their analysis."""

from __future__ import annotations

import math
import time
from typing import Any, cast

from fastapi import APIRouter, Depends

from discoverly.errors import UnknownIdError
from discoverly.evaluate.abtest import EXPERIMENT_N_BOOT, ABTestResult, analyze_experiment
from discoverly.serve.config import ExperimentConfig
from discoverly.serve.state import ServiceState

from .deps import service

__all__ = ["router", "analysis"]

router = APIRouter(prefix="/experiments", tags=["experiments"])


def find(state: ServiceState, name: str) -> ExperimentConfig:
    for e in state.config.experiments:
        if e.name == name:
            return e
    known = ", ".join(e.name for e in state.config.experiments) or "none configured"
    raise UnknownIdError(f"unknown experiment {name!r} (experiments: {known})")


#: a worker recomputes an experiment's analysis at most this often: each is a read of the store and 1,000
#: bootstrap resamples (~1 s of CPU at 50,000 exposed customers), and anyone may ask for it, as often as they like
ANALYSIS_SECONDS = 10.0


def analysis(state: ServiceState, name: str, *, n_boot: int = EXPERIMENT_N_BOOT) -> ABTestResult:
    """The analysis of experiment ``name``, at most :data:`ANALYSIS_SECONDS` old. While one request
    makes a new one, the others answer with the previous one (or, when there is none yet, wait for it)
    instead of each computing it, or each holding a thread of the pool while they wait."""
    exp = find(state, name)
    key = (name, n_boot)
    made, result = state.analyses.get(key, (-math.inf, None))
    if time.monotonic() - made < ANALYSIS_SECONDS:
        return cast(ABTestResult, result)
    if not state.analyses_lock.acquire(blocking=result is None):
        return cast(ABTestResult, result)  # another request is making the new one
    try:
        made, result = state.analyses.get(key, (-math.inf, None))  # made while this request waited?
        if time.monotonic() - made < ANALYSIS_SECONDS:
            return cast(ABTestResult, result)
        exposures = state.store.exposures(name, items=False)  # who saw which arm; outcomes has the items
        outcomes = state.store.outcomes(name, window_seconds=int(exp.window_days * 86_400))
        result = analyze_experiment(exposures, outcomes, experiment=name, shares={a.name: a.share for a in exp.arms},
                                    n_boot=n_boot)
        state.analyses[key] = (time.monotonic(), result)
        return result
    finally:
        state.analyses_lock.release()


@router.get("", summary="Configured experiments")
def list_experiments(state: ServiceState = Depends(service)) -> list[dict[str, Any]]:
    return [e.model_dump() for e in state.config.experiments]


@router.get("/{name}", summary="Analysis of an experiment",
            responses={404: {"description": "unknown experiment"},
                       422: {"description": "not enough exposures to analyse yet"}})
def get_experiment(name: str, state: ServiceState = Depends(service)) -> dict[str, Any]:
    """Conversion and revenue per arm with 95% intervals, differences with p-values, and the
    sample-ratio check (as ``discoverly experiment analyze NAME`` prints)."""
    return analysis(state, name).to_dict()
