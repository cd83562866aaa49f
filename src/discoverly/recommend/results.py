"""Recommendations: a batch of top-k lists, speaking external ids."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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
    (recent bestsellers) because the query had no usable history.
    """

    query: list[Any]
    indices: np.ndarray
    scores: np.ndarray
    fallback: np.ndarray
    items: Vocabulary
    kind: Literal["user", "item"] = "user"
    model: str = ""

    def __len__(self) -> int:
        return len(self.query)

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
        return self.to_polars().to_pandas()

    def to_dicts(self) -> list[dict[str, Any]]:
        """JSON-ready rows: ``{kind: id, "fallback": bool, "items": [{"item", "score", "rank"}]}``."""
        out = []
        for r, row in enumerate(self):
            out.append({self.kind: self.query[r], "fallback": bool(self.fallback[r]),
                        "items": [{"item": it, "score": sc, "rank": j + 1} for j, (it, sc) in enumerate(row)]})
        return out
