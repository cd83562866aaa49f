"""The catalogue index: fields for lexical search, text embeddings, and the item attributes
(category, brand, size, price, facets) that ranking and personalisation use.

Build it once from a :class:`~discoverly.data.Catalog`, save it as an artifact directory, and load
it back in well under a second (no re-tokenising, no re-embedding)::

    index = CatalogIndex.build(catalog, IndexConfig(weights={"product_type": 3.0}), progress=True)
    index.save("artifacts/search-index")
    index = CatalogIndex.load("artifacts/search-index")
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly.artifacts import read_artifact, write_artifact
from discoverly.data.catalog import Catalog
from discoverly.data.vocabulary import Vocabulary
from discoverly.errors import ConfigError, DataError
from discoverly.search.attributes import AttributeExtractor, size_arrays
from discoverly.search.dense import DenseRetriever, EmbeddingCache
from discoverly.search.lexical import LexicalRetriever
from discoverly.search.normalize import TextNormalizer, strip_markup
from discoverly.text_embedding import TextEncoder

__all__ = ["IndexConfig", "CatalogIndex"]

log = logging.getLogger(__name__)

KIND = "search-index"


@dataclass(frozen=True)
class IndexConfig:
    """What to index. ``fields``: catalogue text columns (default: every text column but the
    item id); ``weights``: BM25 weight per field (default 1); ``category``/``brand``/``size``/
    ``price``: the columns holding those attributes (``None`` or absent: not used; ``size``
    defaults to ``package_size`` or ``size`` when present); ``facets``: more categorical columns
    whose per-customer shares personalisation uses (e.g. ``product_type``); ``dense_fields``: the
    columns joined into the text that is embedded (default: ``fields``); ``dense``: embed at all;
    ``brand_aliases``: other names shoppers use for a brand value, e.g. ``{"store brand": "Private"}``."""

    fields: tuple[str, ...] | None = None
    weights: Mapping[str, float] = field(default_factory=dict)
    category: str | None = "category"
    brand: str | None = "brand"
    size: str | None = None
    price: str | None = "price"
    facets: tuple[str, ...] = ()
    dense_fields: tuple[str, ...] | None = None
    dense: bool = True
    brand_aliases: Mapping[str, str] = field(default_factory=dict)
    k1: float = 1.2
    b: float = 0.75
    normalizer: TextNormalizer = field(default_factory=TextNormalizer)

    def to_dict(self) -> dict[str, Any]:
        return {"fields": None if self.fields is None else list(self.fields), "weights": dict(self.weights),
                "category": self.category, "brand": self.brand, "size": self.size, "price": self.price,
                "facets": list(self.facets),
                "dense_fields": None if self.dense_fields is None else list(self.dense_fields),
                "dense": self.dense, "brand_aliases": dict(self.brand_aliases), "k1": self.k1, "b": self.b,
                "normalizer": self.normalizer.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IndexConfig:
        """The config :meth:`to_dict` wrote; a key that is absent keeps the default of ``IndexConfig()``
        (and one it does not know is ignored, as before)."""
        kw: dict[str, Any] = {f.name: d[f.name] for f in dataclass_fields(cls) if f.name in d}
        for name, convert in _FROM_JSON.items():
            if kw.get(name) is not None:
                kw[name] = convert(kw[name])
        kw["normalizer"] = TextNormalizer.from_dict(kw.get("normalizer", {}))
        return cls(**kw)


#: IndexConfig fields whose JSON form (a list, an object, a number) is turned back into the field's type
_FROM_JSON: dict[str, Any] = {"fields": tuple, "dense_fields": tuple, "facets": tuple, "weights": dict,
                              "brand_aliases": dict, "dense": bool, "k1": float, "b": float}


class CatalogIndex:
    """Items (a :class:`Vocabulary` of external ids), their field texts, the lexical and dense
    retrievers over them, and per-item attribute arrays aligned with the item indices."""

    def __init__(self, *, config: IndexConfig, items: Vocabulary, table: pl.DataFrame, lexical: LexicalRetriever,
                 dense: DenseRetriever | None, facets: Mapping[str, tuple[np.ndarray, list[str]]],
                 size_dim: np.ndarray, size_base: np.ndarray, price: np.ndarray,
                 timings: Mapping[str, float] | None = None) -> None:
        self.config = config
        self.items = items
        self.table = table
        self.lexical = lexical
        self.dense = dense
        self.facets = dict(facets)
        self.size_dim = size_dim
        self.size_base = size_base
        self.price = price
        self.timings = dict(timings or {})
        self.normalizer = config.normalizer
        brand_values = self.facets["brand"][1] if "brand" in self.facets else []
        self.attributes = AttributeExtractor.from_values(brand_values, aliases=config.brand_aliases,
                                                         normalizer=self.normalizer)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return (f"CatalogIndex({len(self):,} items, fields {list(self.lexical.fields)}, "
                f"dense={'yes' if self.dense is not None else 'no'})")

    @property
    def fields(self) -> tuple[str, ...]:
        return self.lexical.fields

    def facet(self, name: str) -> np.ndarray | None:
        """Per-item integer codes of a facet (``-1`` = none), or ``None`` if not indexed."""
        got = self.facets.get(name)
        return None if got is None else got[0]

    def category_names(self) -> list[str]:
        return self.facets["category"][1] if "category" in self.facets else []

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def build(cls, catalog: Catalog, config: IndexConfig | None = None, *, encoder: TextEncoder | None = None,
              embeddings: EmbeddingCache | None = None, progress: bool = False) -> CatalogIndex:
        """Index ``catalog``; ``embeddings`` reuses vectors of texts embedded before."""
        config = config or IndexConfig()
        # by item id, not file order: ties (items with the same text) then rank the same however the
        # catalogue's rows happen to be ordered
        table = catalog.table.sort("item", maintain_order=True)
        if table.height == 0:
            raise DataError("the catalogue is empty; an index needs at least one item")
        # the price column is an attribute, not text to search, even when it holds "$3.99"
        text_cols = [c for c, t in table.schema.items() if c not in ("item", config.price) and t == pl.String]
        fields = tuple(config.fields) if config.fields is not None else tuple(text_cols)
        if not fields:
            raise DataError(f"the catalogue has no text column to index (columns: {table.columns}); "
                            "pass IndexConfig(fields=...) naming the columns to search")
        missing = [f for f in fields if f not in table.columns]
        if missing:
            raise ConfigError(f"fields {missing} are not catalogue columns; the catalogue has {table.columns}")
        size_col = config.size or next((c for c in ("package_size", "size") if c in table.columns), None)
        config = replace(config, fields=fields, size=size_col,
                         category=config.category if config.category in table.columns else None,
                         brand=config.brand if config.brand in table.columns else None,
                         price=config.price if config.price in table.columns else None)
        for f in (*config.facets, *(config.dense_fields or ())):
            if f not in table.columns:
                raise ConfigError(f"{f!r} is not a catalogue column; the catalogue has {table.columns}")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        norm = config.normalizer
        texts = {f: table[f].cast(pl.String).to_list() for f in fields}
        tokens = {f: norm.many(texts[f]) for f in fields}
        timings["tokenize_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        lexical = LexicalRetriever(fields, weights=config.weights, k1=config.k1, b=config.b)
        lexical.fit(tokens, progress=progress)
        timings["bm25_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        facets: dict[str, tuple[np.ndarray, list[str]]] = {}
        for name, col in (("category", config.category), ("brand", config.brand)):
            if col is not None:
                facets[name] = _codes(table[col])
        for col in config.facets:
            facets[col] = _codes(table[col])
        if size_col is not None:
            size_dim, size_base = size_arrays(table[size_col].cast(pl.String).to_list(), norm)
        else:
            size_dim, size_base = np.zeros(table.height, np.int8), np.full(table.height, np.nan, np.float32)
        price = (_usable_prices(_prices(table[config.price]), config.price) if config.price is not None
                 else np.full(table.height, np.nan, np.float32))
        timings["attributes_seconds"] = time.perf_counter() - t0
        dense = None
        if config.dense:
            dense_cols = config.dense_fields or fields
            doc_texts = _dense_texts(table, dense_cols)
            dense = DenseRetriever(encoder).fit(doc_texts, cache=embeddings, progress=progress)
            timings["embed_seconds"] = dense.stats.get("embed_seconds", 0.0)
        timings["index_seconds_excluding_embedding"] = sum(
            v for k, v in timings.items() if k != "embed_seconds")
        items = Vocabulary(table["item"], name="item")
        keep = ["item", *dict.fromkeys([*fields, *config.facets, *(c for c in (config.price, size_col) if c)])]
        log.info("indexed %d items: %s", table.height, {k: round(v, 2) for k, v in timings.items()})
        return cls(config=config, items=items, table=table.select(keep), lexical=lexical, dense=dense,
                   facets=facets, size_dim=size_dim, size_base=size_base, price=price, timings=timings)

    def with_price(self, price: np.ndarray) -> CatalogIndex:
        """A copy whose per-item prices are ``price`` (e.g. derived from transactions); a negative
        or infinite price counts as missing, with a warning."""
        price = np.asarray(price, dtype=np.float32)
        if price.shape != (len(self),):
            raise ConfigError(f"price needs one value per item ({len(self)}), got shape {price.shape}")
        price = _usable_prices(price, "price")
        return CatalogIndex(config=self.config, items=self.items, table=self.table, lexical=self.lexical,
                            dense=self.dense, facets=self.facets, size_dim=self.size_dim, size_base=self.size_base,
                            price=price, timings=self.timings)

    # -- persistence ---------------------------------------------------------------------------
    def to_parts(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        """Manifest entries, arrays and tables of this index (:meth:`from_parts` reads them back)."""
        lex_manifest, arrays, vocabs = self.lexical.to_arrays()
        tables: dict[str, pl.DataFrame] = {"items": self.table}
        for i, f in enumerate(self.fields):
            tables[f"lexical_vocab_{i}"] = pl.DataFrame({"token": vocabs[f]}, schema={"token": pl.String})
        arrays.update({"size_dim": self.size_dim, "size_base": self.size_base, "price": self.price})
        facet_names = list(self.facets)
        for i, (codes, values) in enumerate(self.facets.values()):
            arrays[f"facet.{i}"] = codes
            tables[f"facet_values_{i}"] = pl.DataFrame({"value": values}, schema={"value": pl.String})
        manifest: dict[str, Any] = {"config": self.config.to_dict(), "lexical": lex_manifest, "facets": facet_names,
                                    "n_items": len(self), "timings": self.timings}
        if self.dense is not None:
            dense_manifest, dense_arrays, texts = self.dense.to_arrays()
            manifest["dense"] = dense_manifest
            arrays.update(dense_arrays)
            tables["dense_texts"] = pl.DataFrame({"text": texts}, schema={"text": pl.String})
        return manifest, arrays, tables

    @classmethod
    def from_parts(cls, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                   tables: Mapping[str, pl.DataFrame], *, encoder: TextEncoder | None = None) -> CatalogIndex:
        config = IndexConfig.from_dict(manifest["config"])
        fields = list(manifest["lexical"]["fields"])
        vocabs = {f: tables[f"lexical_vocab_{i}"]["token"].to_list() for i, f in enumerate(fields)}
        lexical = LexicalRetriever.from_arrays(manifest["lexical"], arrays, vocabs)
        facets = {name: (arrays[f"facet.{i}"], tables[f"facet_values_{i}"]["value"].to_list())
                  for i, name in enumerate(manifest["facets"])}
        dense = None
        if "dense" in manifest:
            dense = DenseRetriever.from_arrays(manifest["dense"], arrays, tables["dense_texts"]["text"].to_list(),
                                               encoder=encoder)
        table = tables["items"]
        return cls(config=config, items=Vocabulary(table["item"], name="item"), table=table, lexical=lexical,
                   dense=dense, facets=facets, size_dim=arrays["size_dim"], size_base=arrays["size_base"],
                   price=arrays["price"], timings=manifest.get("timings", {}))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the index as an artifact directory (atomically); refuses a file or a folder that
        is not an artifact, since replacing it would delete it."""
        manifest, arrays, tables = self.to_parts()
        return write_artifact(path, {"kind": KIND, **manifest}, arrays, tables)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, encoder: TextEncoder | None = None) -> CatalogIndex:
        art = read_artifact(path, kind=KIND)
        return cls.from_parts(art.manifest, art.arrays, art.tables, encoder=encoder)


def _codes(series: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (``-1`` for null or empty) and the sorted distinct values of a column, with
    spaces around a value trimmed ("DAIRY " is the category "DAIRY")."""
    s = series.cast(pl.String).str.strip_chars()
    values = sorted(v for v in s.drop_nulls().unique().to_list() if v)
    lookup = {v: i for i, v in enumerate(values)}
    codes = np.array([lookup.get(v, -1) if v is not None else -1 for v in s.to_list()], dtype=np.int32)
    return codes, values


#: digits grouped by commas: in thousands ("1,299,000"), or as in India, the last three digits and then
#: pairs ("12,34,567", "1,00,000")
_GROUPED = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})+,\d{3})")


def _price(text: str) -> float | None:
    """The number a price written as text shows: ``"$3.99"``, ``"3,99 €"``, ``"1,299.00"``,
    ``"1.299,00"``, ``"Rs. 1,299"``, ``"₹1,00,000"`` (Indian grouping: lakh, crore), ``"($3.99)"``
    (negative, as accountants write it); ``None`` when it shows none, or several (``"2 for $5"``)."""
    text = re.sub(r"(?<=[^\W\d_])\.", "", text)  # a full stop after a letter ends "Rs.": no decimal mark
    if len(re.findall(r"\d[\d.,\s]*", text)) > 1:  # digits apart, not one number ("1 299,00" is one)
        return None
    s = re.sub(r"[^\d.,-]", "", text)
    if "," in s and "." in s:  # the later one is the decimal mark, the other groups thousands
        s = s.replace(",", "") if s.rfind(".") > s.rfind(",") else s.replace(".", "").replace(",", ".")
    elif "," in s:  # "3,99" is a decimal comma; "1,299", "1,299,000" and "12,34,567" (Indian) group digits
        s = s.replace(",", "") if _GROUPED.fullmatch(s) else s.replace(",", ".", 1)
    try:
        value = float(s)
    except ValueError:
        return None
    negative = text.strip().startswith("(") and text.strip().endswith(")")  # accounting: "($3.99)" is -3.99
    return -abs(value) if negative else value


def _prices(series: pl.Series) -> np.ndarray:
    """Per-item prices as float32, ``nan`` where missing. A text column (a CSV export with "$3.99"
    or "3,99") is read as the numbers it shows; a value that shows no number is missing, with a
    warning naming a few."""
    if series.dtype.is_numeric():
        return series.cast(pl.Float32).fill_null(float("nan")).to_numpy().astype(np.float32)
    text = series.cast(pl.String).str.strip_chars()
    values = {v: _price(v) for v in text.drop_nulls().unique().to_list() if v}
    bad = sorted(v for v, x in values.items() if x is None)
    if bad:
        log.warning("the price column %r has %d value(s) that are not prices, e.g. %s; those items count as "
                    "having no price", series.name, len(bad), bad[:3])
    out = [values.get(v) if v else None for v in text.to_list()]
    return np.array([np.nan if x is None else x for x in out], dtype=np.float32)


def _usable_prices(price: np.ndarray, name: str) -> np.ndarray:
    """``price`` with negative and infinite values made missing (``nan``), with a warning naming
    how many: a refund or a placeholder such as -1 is no price, and its log would be -inf or nan in
    the rankers' price features."""
    bad = ~np.isnan(price) & ((price < 0) | ~np.isfinite(price))
    if bad.any():
        log.warning("the price column %r has %d negative or infinite value(s), e.g. %s; those items count "
                    "as having no price", name, int(bad.sum()), sorted({float(v) for v in price[bad]})[:3])
        price = np.where(bad, np.float32(np.nan), price).astype(np.float32)
    return price


def _dense_texts(table: pl.DataFrame, columns: Sequence[str]) -> list[str]:
    """The embedded text of each item: its non-empty column values, lower-cased, joined by ', '."""
    cols = [pl.col(c).cast(pl.String).str.to_lowercase().str.strip_chars() for c in columns]
    cols = [pl.when(c.str.len_chars() > 0).then(c) for c in cols]
    joined = table.select(pl.concat_str(cols, separator=", ", ignore_nulls=True).alias("text"))["text"]
    return [_plain(t) if t else "" for t in joined.to_list()]


def _plain(text: str) -> str:
    """An HTML description's words, not its tags (other texts as they are, so cached vectors still match)."""
    plain = strip_markup(text)
    return text if plain == text else " ".join(plain.split())
