"""What counts as a whole number in a setting, in one place for every package.

A Python or numpy integer is one; a bool is not (``True`` is an ``int`` to Python, so ``k=True``
would otherwise be read as 1), and neither is a float, not even ``2.0`` (each caller decides whether
to accept whole floats, as :func:`discoverly.recommend.setting_checks.whole` does). Each caller
words its own error, naming the setting and what it takes.
"""

from __future__ import annotations

from typing import Any, TypeGuard

import numpy as np

__all__ = ["is_whole"]


def is_whole(value: Any) -> TypeGuard[int | np.integer[Any]]:
    """Whether ``value`` is an integer, Python's or numpy's, and not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
