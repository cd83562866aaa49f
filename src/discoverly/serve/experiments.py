"""Deterministic traffic splits: a customer's arm is a pure function of (experiment name, user id).

The same customer always lands in the same arm, in every worker and after every restart, and
changing one experiment's name reshuffles only that experiment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from discoverly.serve.config import ArmConfig, ExperimentConfig

__all__ = ["bucket", "assign"]


def bucket(experiment: str, user: str) -> float:
    """A uniform number in [0, 1) from a hash of the experiment name and the user id."""
    digest = hashlib.blake2b(f"{experiment}\x1f{user}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def assign(experiment: ExperimentConfig, user: str) -> ArmConfig:
    """The arm of ``user`` in ``experiment`` (by cumulative shares, in the configured arm order)."""
    return pick(experiment.arms, bucket(experiment.name, str(user)))


def pick(arms: Sequence[ArmConfig], u: float) -> ArmConfig:
    edge = 0.0
    for arm in arms:
        edge += arm.share
        if u < edge:
            return arm
    return arms[-1]  # shares add up to 1 within rounding
