"""Recommendations as a notebook shows it: a short repr, a small escaped HTML table, JSON-ready dicts."""

from __future__ import annotations

import json

import numpy as np

from discoverly.data import Vocabulary
from discoverly.recommend import Recommendations


def _recs(n: int, k: int = 4, query: list[object] | None = None) -> Recommendations:
    items = Vocabulary([f"I{j}" for j in range(50)], name="item")
    rng = np.random.default_rng(0)
    indices = np.stack([rng.permutation(50)[:k] for _ in range(n)]) if n else np.empty((0, k), dtype=np.int64)
    scores = -np.arange(1, k + 1, dtype=np.float32)[None, :].repeat(n, axis=0)
    fallback = np.arange(n) % 2 == 1
    return Recommendations(query if query is not None else list(range(n)), indices, scores, fallback, items,
                           model="corrected")


def test_repr_is_short_and_never_prints_the_arrays() -> None:
    big = _recs(20_000, k=10)
    text = repr(big)
    assert len(text) < 200, text
    assert text.startswith("Recommendations(20,000 users, k=10, model='corrected', 10,000 from the fallback; 0: [")
    assert "array" not in text and text.endswith(", …)")
    assert repr(_recs(0)) == "Recommendations(0 users, k=4, model='corrected')"
    one = _recs(1, k=2)
    assert repr(one) == f"Recommendations(1 user, k=2, model='corrected'; 0: {one.ids(0)!r})"


def test_html_is_the_head_of_the_table_and_escaped() -> None:
    recs = _recs(40, k=3, query=["<b>bold</b>", *range(39)])
    page = recs._repr_html_()
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "shape: (15, 5)" in page          # 5 queries x 3 items, not 120 rows
    assert "first 5" in page
    assert "first" not in _recs(2)._repr_html_()


def test_numpy_ids_come_back_as_python_values() -> None:
    # model.recommend(np.array([...])) keeps numpy scalars as queries: to_dicts() said JSON-ready
    # but json.dumps failed on int64, and the repr showed np.int64(7)
    recs = _recs(2, query=list(np.array([7, 8])))
    assert json.loads(json.dumps(recs.to_dicts()))[0]["user"] == 7
    assert "np.int64" not in repr(recs)
