"""Search fixtures: a small grocery catalogue, a purchase log over it, and a fast fake encoder."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest

from discoverly.data import Catalog, Interactions, read_interactions

DAY = 86_400
T0 = 1_700_000_000


class HashEncoder:
    """A deterministic stand-in for the sentence model: hashed bag of words, unit length.

    Texts that share words get similar vectors, which is all the dense-retrieval code relies on,
    and it loads in no time (the real MiniLM model is exercised by the slow tests)."""

    name = "hash-encoder"
    dim = 64

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, text in enumerate(texts):
            for word in str(text).lower().replace(",", " ").split():
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                out[r, h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


PRODUCTS = [
    # item, title, category, brand, product_type, package_size, price
    ("A1", "Whole Milk · store brand · 1 GAL", "DAIRY", "Private", "WHOLE MILK", "1 GAL", 3.0),
    ("A2", "Whole Milk · national brand · 1 GAL", "DAIRY", "National", "WHOLE MILK", "1 GAL", 4.0),
    ("A3", "Whole Milk · national brand · 0.5 GAL", "DAIRY", "National", "WHOLE MILK", "0.5 GAL", 2.5),
    ("A4", "Skim Milk · store brand · 1 GAL", "DAIRY", "Private", "SKIM MILK", "1 GAL", 2.8),
    ("B1", "Strawberries · Berries · 16 OZ", "PRODUCE", "National", "STRAWBERRIES", "16 OZ", 3.5),
    ("B2", "Strawberries · Berries · store brand · 32 OZ", "PRODUCE", "Private", "STRAWBERRIES", "32 OZ", 6.0),
    ("B3", "Blueberries · Berries · 6 OZ", "PRODUCE", "National", "BLUEBERRIES", "6 OZ", 4.0),
    ("C1", "Chocolate Chip Cookies · national brand · 13 OZ", "COOKIES", "National", "CHOCOLATE CHIP COOKIES", "13 OZ",
     3.9),
    ("C2", "Sandwich Cookies · store brand · 14 OZ", "COOKIES", "Private", "SANDWICH COOKIES", "14 OZ", 2.2),
    ("C3", "Chocolate Chip Cookies · store brand · 18 OZ", "COOKIES", "Private", "CHOCOLATE CHIP COOKIES", "18 OZ",
     2.9),
    ("D1", "Frozen Pizza · national brand · 12 OZ", "FROZEN", "National", "FROZEN PIZZA", "12 OZ", 5.0),
    ("D2", "Frozen Pizza · store brand · 12 OZ", "FROZEN", "Private", "FROZEN PIZZA", "12 OZ", 3.5),
    ("E1", "Orange Juice · national brand · 52 FL OZ", "JUICE", "National", "ORANGE JUICE", "52 FL OZ", 3.7),
    ("E2", "Apple Juice · store brand · 64 OZ", "JUICE", "Private", "APPLE JUICE", "64 OZ", 2.4),
]


def make_catalog() -> Catalog:
    cols = list(zip(*PRODUCTS, strict=True))
    names = ["item", "title", "category", "brand", "product_type", "package_size", "price"]
    return Catalog(pl.DataFrame(dict(zip(names, cols, strict=True))))


def make_purchases() -> Interactions:
    """Eight customers over 60 days: each has favourites, bought again and again; popular items
    are A1, B1, C1, D1; customer u8 exists only in the last week."""
    rng = np.random.default_rng(7)
    favourites = {"u1": ["A2", "C1", "D1"], "u2": ["A1", "B2", "C2"], "u3": ["A3", "B1", "E1"],
                  "u4": ["A1", "C3", "D2"], "u5": ["A4", "B3", "E2"], "u6": ["A1", "B1", "C1", "D1"],
                  "u7": ["A2", "B1", "C1"]}
    rows = []
    for user, items in favourites.items():
        for day in range(0, 60, 3):
            for it in items:
                if rng.random() < 0.6:
                    rows.append((user, it, T0 + day * DAY + int(rng.integers(DAY))))
    rows.append(("u8", "D2", T0 + 58 * DAY))
    frame = pl.DataFrame(rows, schema=["user", "item", "time"], orient="row")
    return read_interactions(frame, user="user", item="item", time="time")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return make_catalog()


@pytest.fixture(scope="session")
def purchases() -> Interactions:
    return make_purchases()


@pytest.fixture(scope="session")
def encoder() -> HashEncoder:
    return HashEncoder()
