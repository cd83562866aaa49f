"""What a person should know about an answer that is not what it looks like.

A query whose every word is a stop word or punctuation ("the of and", "!!!") keeps no search word
(``understood["tokens"] == []``): no item can match it by its words, and what a dense index
answers is only the nearest items to the whole text — neighbours of nothing in particular. The
command line (``notice`` in ``--json``, a line on stderr) and ``GET /search`` (``notice``) say so.
Likewise a query none of whose words (after spelling correction) is a word of the catalogue
("xyzzy"): nothing matches its words, and the dense index answers by meaning alone.
"""

from __future__ import annotations

from discoverly.search.engine import SearchResult

__all__ = ["query_notice"]


def query_notice(result: SearchResult) -> str | None:
    """A sentence about ``result`` when its query had no search words, or none the catalogue
    knows; ``None`` otherwise."""
    shown = result.query if len(result.query) <= 60 else result.query[:60] + "…"
    if result.understood.get("tokens"):
        if result.understood.get("known_words", True):
            return None
        head = f"no word of the query {shown!r} is a word of the catalogue"
        if len(result):
            return f"{head}; no item matches its words, and these results are only the nearest items by meaning"
        return f"{head}, so no item matches it; check the spelling, or search for a product, a brand or a category"
    head = f"the query {shown!r} has no search words (only stop words such as 'the' or 'and', or punctuation)"
    if len(result):
        return f"{head}; no item matches its words, and these results are only the nearest items to the whole text"
    return f"{head}, so no item matches it; search for a product, a brand or a category"
