"""Checks of model settings (the autoencoder, EASE and the implicit peers): a value of the wrong
type or out of range is a :class:`~discoverly.errors.ConfigError` that names the setting, what it
got and what it takes, instead of a bare ``ValueError`` from ``int("x")``, a silent truncation
(``hidden=2.5``), a string read as true (``refit="False"``) or a network of NaN (``lr=inf``).

A message about a value of the wrong type says "wrong type", so the command line adds its hint
that ``--param`` values are read as JSON.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from discoverly._checks import is_whole
from discoverly.errors import ArtifactError, ConfigError

__all__ = ["check_columns", "check_shapes", "flag", "number", "whole"]


def whole(label: str, value: Any, *, minimum: int = 1, optional: bool = False) -> int | None:
    """``value`` as an int of at least ``minimum`` (``None`` passes when ``optional``); floats
    that are whole numbers (``400.0``) are accepted."""
    if value is None and optional:
        return None
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        value = int(value)
    if not is_whole(value):
        none = " or None" if optional else ""
        raise ConfigError(f"{label} has the wrong type: expected a whole number{none}, got {value!r} "
                          f"({type(value).__name__})")
    if value < minimum:
        none = " (or None)" if optional else ""
        raise ConfigError(f"{label} must be at least {minimum}{none}, got {value}")
    return int(value)


def number(label: str, value: Any, *, above: float | None = None, at_least: float | None = None,
           below: float | None = None) -> float:
    """``value`` as a finite float, ``> above`` / ``>= at_least`` / ``< below`` when given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{label} has the wrong type: expected a number, got {value!r} ({type(value).__name__})")
    x = float(value)
    bounds = [f"> {above:g}" if above is not None else "", f">= {at_least:g}" if at_least is not None else "",
              f"< {below:g}" if below is not None else ""]
    expected = "".join(f" {b}" for b in bounds if b)
    if (not math.isfinite(x) or (above is not None and not x > above)
            or (at_least is not None and not x >= at_least) or (below is not None and not x < below)):
        raise ConfigError(f"{label} must be a finite number{expected}, got {value!r}")
    return x


def flag(label: str, value: Any) -> bool:
    """``value`` as a bool: only ``True``/``False`` (or numpy's), never a string ("False" is true
    to Python)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{label} has the wrong type: expected true or false, got {value!r} "
                          f"({type(value).__name__})")
    return bool(value)


def check_shapes(model: str, shapes: dict[str, tuple[Any, tuple[int, ...]]]) -> None:
    """A loaded artifact's arrays have the shapes its vocabularies imply (``name: (array,
    expected shape)``), else an :class:`~discoverly.errors.ArtifactError`: a damaged or mixed-up
    artifact used to load and then fail with a matmul or index error at the first request."""
    wrong = [f"{name} is {getattr(a, 'shape', None)}, expected {shape}" for name, (a, shape) in shapes.items()
             if getattr(a, "shape", None) != shape]
    if wrong:
        raise ArtifactError(f"the {model} artifact is damaged or does not belong to its users/items tables: "
                            f"{'; '.join(wrong)}; fit and save the model again")


def check_columns(model: str, cols: Any, n_items: int) -> None:
    """The item positions ``cols`` of a loaded artifact are distinct positions below ``n_items``."""
    c = np.asarray(cols)
    if c.ndim != 1 or (len(c) and (c.min() < 0 or c.max() >= n_items)) or len(np.unique(c)) != len(c):
        raise ArtifactError(f"the {model} artifact is damaged: its item positions do not fit its {n_items} items; "
                            "fit and save the model again")
