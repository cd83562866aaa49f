"""``GET /experiments`` and ``GET /experiments/{name}``: the configured experiments and their analysis."""

from __future__ import annotations

import time
from typing import Any, cast

from fastapi import APIRouter, Depends

from discoverly.errors import ConfigError, DataError, UnknownIdError
from discoverly.evaluate.abtest import EXPERIMENT_N_BOOT, ABTestResult, analyze_experiment, not_ready
from discoverly.serve.config import ExperimentConfig
from discoverly.serve.state import ServiceState
from discoverly.serve.store.base import StoreUnavailableError

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
#: bootstrap resamples (~1 s of CPU at 50,000 exposed customers), and anyone may ask for it, as often as they like.
#: When the store is down, that error is the answer as long (each attempt could wait for a connection timeout).
ANALYSIS_SECONDS = 10.0
#: how long a request waits for an experiment's first analysis before it answers 503
ANALYSIS_WAIT_SECONDS = 30.0


def analysis(state: ServiceState, name: str, *, n_boot: int = EXPERIMENT_N_BOOT) -> ABTestResult:
    """The analysis of experiment ``name``, at most :data:`ANALYSIS_SECONDS` old. While one request
    makes a new one, the others answer with the previous one; when there is none yet they wait for it
    (at most :data:`ANALYSIS_WAIT_SECONDS`) rather than each making it."""
    exp = find(state, name)
    key = (name, n_boot)
    entry = state.analyses.get(key)
    if not _fresh(entry):
        lock = state.analysis_lock(key)
        got = lock.acquire(blocking=False) if entry is not None else lock.acquire(timeout=ANALYSIS_WAIT_SECONDS)
        if not got and entry is None:
            raise StoreUnavailableError(f"the analysis of experiment {name!r} is still being made; retry in a few "
                                        "seconds")
        if got:
            try:
                entry = state.analyses.get(key)
                if not _fresh(entry):  # (unless made while this request waited)
                    entry = state.analyses[key] = _make(state, exp, n_boot)
            finally:
                lock.release()
    assert entry is not None
    outcome = entry[1]
    if isinstance(outcome, StoreUnavailableError):
        raise outcome.with_traceback(None)  # (raised again and again: its traceback must not grow)
    return cast(ABTestResult, outcome)


def _fresh(entry: tuple[float, Any] | None) -> bool:
    return entry is not None and time.monotonic() - entry[0] < ANALYSIS_SECONDS


def _make(state: ServiceState, exp: ExperimentConfig, n_boot: int
          ) -> tuple[float, ABTestResult | StoreUnavailableError]:
    try:
        exposures = state.store.exposures(exp.name, items=False)  # who saw which arm; outcomes has the items
        outcomes = state.store.outcomes(exp.name, window_seconds=int(exp.window_days * 86_400))
        result = analyze_experiment(exposures, outcomes, experiment=exp.name,
                                    shares={a.name: a.share for a in exp.arms}, n_boot=n_boot)
    except StoreUnavailableError as exc:  # (too few customers yet is not kept: with few, the next try is cheap)
        return time.monotonic(), exc
    return time.monotonic(), result


@router.get("", summary="Configured experiments")
def list_experiments(state: ServiceState = Depends(service)) -> list[dict[str, Any]]:
    return [e.model_dump() for e in state.config.experiments]


@router.get("/{name}", summary="Analysis of an experiment",
            responses={404: {"description": "unknown experiment (not configured)"}})
def get_experiment(name: str, state: ServiceState = Depends(service)) -> dict[str, Any]:
    """Conversion and revenue per arm with 95% intervals, differences with p-values, and the
    sample-ratio check (as ``discoverly experiment analyze NAME`` prints), with ``ready: true``.
    A configured experiment without enough data yet (no exposures, or an arm with fewer than two
    customers) is ``ready: false`` with empty ``arms`` and ``comparisons`` and the reason in
    ``notes`` — not an error, as on its web page; an experiment that is not configured is a 404."""
    try:
        result = analysis(state, name)
    except (DataError, ConfigError) as exc:  # as /ui/experiments/{name}: not enough data to analyse yet
        return not_ready(name, str(exc))
    return result.to_dict()
