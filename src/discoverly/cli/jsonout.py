"""The JSON the commands print (``--json``) and write: UTF-8 text, so ``"молоко"`` reads as itself
rather than as ``"\\u043c\\u043e..."``, with the keys and shape of ``json.dumps``."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps"]


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **options)``; a lone surrogate (a command-line argument
    that was not UTF-8, kept by Python as ``\\udcff``) stays a ``\\udcff`` escape, which is valid JSON,
    instead of making the output unwritable as UTF-8."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
