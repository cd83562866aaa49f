"""Recommendations: a batch of top-k lists, speaking external ids."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import polars as pl

from discoverly.data.vocabulary import Vocabulary

__all__ = ["Recommendations"]


@dataclass(frozen=True)
class Recommendations:
    """Top-k lists for a batch of queries (users for ``recommend``, items for ``related``).

    ``indices`` and ``scores`` have shape ``(n_queries, k)``; rows shorter than ``k`` are padded
    with ``-1`` / ``nan``. ``fallback[i]`` is true when row ``i`` came from the fallback list
    (recent bestsellers) because the query had no usable history. ``own[i]`` (lists completed with
    bestsellers, ``recommend(fill=True)``; else ``None``) counts the first items of row ``i`` that are
    the model's own; the rest are the bestsellers that complete it.

    Returned by ``model.recommend(users, k)`` and ``model.related(items, k)``; read it as a table
    (:meth:`to_polars`, :meth:`to_pandas`), as JSON-ready rows (:meth:`to_dicts`), row by row
    (``for pairs in recs``: ``[(item, score), ...]``) or one row's ids (:meth:`ids`)::

        recs = model.recommend(["C-42", "C-7"], k=5)
        recs.to_pandas()        # columns user, rank, item, score, fallback
        recs.ids(0)             # ['SKU-9', 'SKU-3', ...], best first
    """

    query: list[Any]
    indices: np.ndarray
    scores: np.ndarray
    fallback: np.ndarray
    items: Vocabulary
    kind: Literal["user", "item"] = "user"
    model: str = ""
    own: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.query)

    def _summary(self) -> str:
        k = self.indices.shape[1] if self.indices.ndim == 2 else 0
        model = f", model={self.model!r}" if self.model else ""
        n_fallback = int(np.count_nonzero(self.fallback))
        fallback = f", {n_fallback:,} from the fallback" if n_fallback else ""
        plural = "" if len(self) == 1 else "s"
        return f"{len(self):,} {self.kind}{plural}, k={k}{model}{fallback}"

    def __repr__(self) -> str:
        """Short: the counts, and the first items of the first two rows (never the arrays)."""
        rows = []
        for r in range(min(2, len(self))):
            ids = self.ids(r)
            shown = ", ".join(repr(x) for x in ids[:3]) + (", …" if len(ids) > 3 else "")
            rows.append(f"{plain_id(self.query[r])!r}: [{shown}]")
        more = ", …" if len(self) > 2 else ""
        body = f"; {', '.join(rows)}{more}" if rows else ""
        return f"Recommendations({self._summary()}{body})"

    def _repr_html_(self, max_queries: int = 5) -> str:
        """Jupyter: the first rows of :meth:`to_polars` (the first ``max_queries`` queries), escaped."""
        head = replace(self, query=list(self.query[:max_queries]), indices=self.indices[:max_queries],
                       scores=self.scores[:max_queries], fallback=self.fallback[:max_queries],
                       own=None if self.own is None else self.own[:max_queries])
        caption = html.escape(f"Recommendations({self._summary()})")
        shown = "" if len(self) <= max_queries else f" (first {max_queries}; .to_polars() for all)"
        return f"<div><p><code>{caption}</code>{shown}</p>{head.to_polars()._repr_html_()}</div>"

    def ids(self, row: int) -> list[Any]:
        """External item ids of row ``row``, best first (padding removed)."""
        idx = self.indices[row]
        return self.items.ids_of(idx[idx >= 0]).tolist()

    def __iter__(self) -> Iterator[list[tuple[Any, float]]]:
        for r in range(len(self)):
            valid = self.indices[r] >= 0
            yield list(zip(self.items.ids_of(self.indices[r][valid]).tolist(),
                           self.scores[r][valid].astype(float).tolist(), strict=True))

    def to_polars(self) -> pl.DataFrame:
        """Long format: one row per (query, rank) with columns kind, item, score, rank, fallback."""
        n, _k = self.indices.shape if self.indices.ndim == 2 else (0, 0)
        valid = self.indices >= 0
        q_rows, ranks = np.nonzero(valid)
        query = np.empty(n, dtype=object)
        query[:] = self.query
        return pl.DataFrame({
            # ids of mixed types (known integer ids and an unknown string) become strings
            self.kind: pl.Series(self.kind, query[q_rows].tolist(), strict=False),
            "rank": (ranks + 1).astype(np.int32),
            "item" if self.kind == "user" else "related_item": self.items.ids_of(self.indices[valid]).tolist(),
            "score": self.scores[valid].astype(np.float64),
            "fallback": self.fallback[q_rows],
        })

    def to_pandas(self) -> Any:
        """:meth:`to_polars` as a pandas DataFrame (needs pandas and pyarrow)."""
        from discoverly.dependencies import require

        require("pandas", purpose="to_pandas()")
        return self.to_polars().to_pandas()

    def to_dicts(self) -> list[dict[str, Any]]:
        """JSON-ready rows: ``{kind: id, "fallback": bool, "items": [{"item", "score", "rank"}]}``."""
        out = []
        for r, row in enumerate(self):
            out.append({self.kind: plain_id(self.query[r]), "fallback": bool(self.fallback[r]),
                        "items": [{"item": it, "score": sc, "rank": j + 1} for j, (it, sc) in enumerate(row)]})
        return out


def plain_id(value: Any) -> Any:
    """A numpy scalar id (ids passed as a numpy array) as the Python value, so JSON can write it."""
    return value.item() if isinstance(value, np.generic) else value
