"""A hand-made purchase log whose evaluation is worked out by hand in the tests (fixture ``hand_log``;
the cutoff is ``CUTOFF``, importable as ``from .conftest import CUTOFF``), and ``html_tables``, the cells
of an HTML report's tables."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest

from discoverly.data import Interactions

DAY = 86_400
T0 = 1_600_000_000 - 1_600_000_000 % DAY  # midnight UTC
CUTOFF = T0 + 10 * DAY

# (user, item, day); the cutoff is day 10, the window days 10..23
EVENTS = [
    (0, 0, 1), (0, 1, 2), (0, 1, 11), (0, 2, 12),  # u0: repeat of 1 and new item 2 in the window
    (1, 0, 3), (1, 0, 12),                        # u1: only a repeat in the window
    (2, 3, 11),                                   # u2: new customer (nothing before): not tested
    (3, 1, 4),                                    # u3: nothing in the window: not tested
    (4, 0, 5), (4, 3, 25),                        # u4: next purchase after the window: not tested
    (5, 2, 6), (5, 4, 13),                        # u5: buys item 4, first sold in the window
]


def make_hand_log() -> Interactions:
    u, i, d = zip(*EVENTS, strict=True)
    return Interactions.from_indices(u, i, T0 + np.array(d) * DAY, n_users=6, n_items=5)


@pytest.fixture
def hand_log() -> Interactions:
    return make_hand_log()


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: str | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(self.cell)
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def html_tables(text: str) -> list[list[list[str]]]:
    """Each ``<table>`` of an HTML text as rows of cell texts (header cells included)."""
    parser = _Tables()
    parser.feed(text)
    return parser.tables
