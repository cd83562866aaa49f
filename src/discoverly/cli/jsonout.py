"""The JSON the commands print (``--json``) and write: UTF-8 text, so ``"молоко"`` reads as itself
rather than as ``"\\u043c\\u043e..."``, with the keys and shape of ``json.dumps``."""

from __future__ import annotations

import codecs
import json
import sys
from typing import Any

__all__ = ["dumps"]


def dumps(value: Any, *, encoding: str | None = None, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **options)``; a lone surrogate (a command-line argument
    that was not UTF-8, kept by Python as ``\\udcff``) stays a ``\\udcff`` escape, which is valid JSON,
    instead of making the output unwritable as UTF-8.

    ``encoding`` is what the text will be written in (default: the standard output's). When it
    cannot hold the text (``PYTHONIOENCODING=ascii``, a cp1252 console), non-ASCII characters are
    ``\\u`` escapes as with ``json.dumps``: the same JSON, rather than a UnicodeEncodeError."""
    text = json.dumps(value, ensure_ascii=False, **options).encode("utf-8", "backslashreplace").decode("utf-8")
    target = encoding or getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        if codecs.lookup(target).name != "utf-8":
            text.encode(target)
    except (LookupError, UnicodeEncodeError):
        return json.dumps(value, ensure_ascii=True, **options)
    return text
