"""Evaluation and Cell as a notebook shows them: short reprs and a small escaped leaderboard table."""

from __future__ import annotations

import numpy as np

from discoverly.data import Interactions
from discoverly.evaluate import evaluate

from .conftest import CUTOFF, DAY


def _log(n_users: int = 400) -> Interactions:
    gen = np.random.default_rng(0)
    u = np.repeat(np.arange(n_users), 4)
    i = gen.integers(0, 20, size=len(u))
    t = CUTOFF - 30 * DAY + gen.integers(0, 44, size=len(u)) * DAY
    return Interactions.from_indices(u, i, t)


def test_repr_is_a_summary_not_every_per_user_value() -> None:
    # the dataclass repr printed every per-user array of every cell: 180 kB for the docs' example
    ev = evaluate(_log(), ["popularity", "bestsellers"], [CUTOFF], k=[1, 3], n_boot=50)
    text = repr(ev)
    assert len(text) < 400, text
    assert "array" not in text and "per_user" not in text
    best = ev.leaderboard()["model"][0]
    assert text.startswith("Evaluation(2 models, cutoffs ")
    assert f"; HitRate@1 at {ev.primary_cutoff} (new-items): {best} " in text
    cell = repr(ev.cell("popularity"))
    assert len(cell) < 300 and "array" not in cell
    n = len(ev.cell("popularity").users)
    assert cell.startswith(f"Cell('popularity' at {ev.primary_cutoff}, new-items: {n:,} users; HitRate@1 ")


def test_html_is_the_leaderboard_escaped() -> None:
    ev = evaluate(_log(60), {"<i>pop</i>": "popularity", "bestsellers": "bestsellers"}, [CUTOFF], k=[2], n_boot=20)
    page = ev._repr_html_()
    assert "<i>pop</i>" not in page and "&lt;i&gt;pop&lt;/i&gt;" in page
    assert "shape: (2, " in page and "HitRate@2 low" in page
    assert "Recall@2 low" not in page        # values only, but the primary metric's interval
    assert "<i>pop</i>" in repr(ev)          # the plain repr is text: nothing to escape
