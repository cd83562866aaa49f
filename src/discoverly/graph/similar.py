"""The similar-item engine: text vectors and graph vectors, normalised, weighted, concatenated;
cosine top-k through faiss.

For unit vectors ``x_text`` and ``x_graph`` and a text weight ``w`` in [0, 1], an item's fused
vector is ``[sqrt(w) * x_text, sqrt(1 - w) * x_graph]`` (unit length again), so the cosine of two
fused vectors is exactly ``w * cos_text + (1 - w) * cos_graph``: ``w = 1`` is text only, ``w = 0``
graph only, ``w = 0.5`` the equal-weight concatenation. An item without text (or without a graph
vector) falls back to the other part alone.

Text vectors of papers are the mean of the MiniLM embeddings of each available field (title,
abstract, body), equal weights, computed once and cached as an artifact keyed by the texts'
fingerprint::

    text = paper_text_vectors(papers, cache="cache/aan-text")
    engine = SimilarItems(papers.ids.ids, text=text, graph=emb.entity_vectors()[:len(papers)], weight=0.5)
    engine.similar("P02-1040", k=10)
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly.artifacts import read_artifact, write_artifact
from discoverly.dependencies import require
from discoverly.errors import ArtifactError, ConfigError, DataError, UnknownIdError
from discoverly.graph.papers import Papers
from discoverly.recommend.base import check_k

__all__ = ["SimilarItems", "paper_text_vectors", "normalise_rows", "fuse", "propagate_text", "check_weight",
           "check_hops"]

log = logging.getLogger(__name__)


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length (zero rows stay zero), float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def check_weight(weight: float) -> float:
    """``weight`` when it is a text weight in [0, 1]; else a :class:`ConfigError` (NaN too)."""
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"the text weight must be in [0, 1] (0 = graph only, 1 = text only), got {weight}")
    return weight


def check_hops(hops: int) -> int:
    """``hops`` when it is a number of text hops >= 0; else a :class:`ConfigError`."""
    if hops < 0:
        raise ConfigError(f"text_hops must be >= 0 (0 = a paper's own text), got {hops}")
    return hops


def fuse(text: np.ndarray | None, graph: np.ndarray | None, weight: float) -> np.ndarray:
    """Fused unit vectors whose cosine is ``weight * cos_text + (1 - weight) * cos_graph``."""
    check_weight(weight)
    if text is None and graph is None:
        raise ConfigError("give text vectors, graph vectors, or both")
    parts = []
    if text is not None and weight > 0:
        parts.append(("text", normalise_rows(text), weight))
    if graph is not None and weight < 1:
        parts.append(("graph", normalise_rows(graph), 1.0 - weight))
    if not parts:
        raise ConfigError(f"weight={weight} selects the {'text' if weight == 1 else 'graph'} vectors, "
                          "which were not given")
    n = {p[1].shape[0] for p in parts}
    if len(n) != 1:
        raise DataError(f"text and graph vectors must have one row per item; got {sorted(n)} rows")
    out = np.concatenate([np.sqrt(w) * v for _, v, w in parts], axis=1).astype(np.float32)
    return normalise_rows(out)  # rows missing one part are rescaled to the part they have


def propagate_text(text: np.ndarray, links: sp.spmatrix, hops: int = 1) -> np.ndarray:
    """Text vectors spread over links: each hop replaces an item's vector by the normalised sum of its
    own and its linked items' vectors (``links`` a symmetric 0/1 item x item matrix), so a paper is
    described by its title and the titles of the papers it cites and is cited by. ``hops=0`` returns
    the normalised text vectors unchanged."""
    check_hops(hops)
    out = normalise_rows(text)
    if links.shape != (out.shape[0], out.shape[0]):
        raise DataError(f"links must be a {out.shape[0]} x {out.shape[0]} matrix, got {links.shape}")
    for _ in range(hops):
        out = normalise_rows(links @ out + out)
    return out


def _texts_hash(fields: dict[str, list[str]], model: str) -> str:
    h = hashlib.sha256(model.encode())
    for name in sorted(fields):
        h.update(name.encode())
        for t in fields[name]:
            h.update(t.encode("utf-8", "replace"))
            h.update(b"\x00")
    return h.hexdigest()[:20]


def paper_text_vectors(papers: Papers, *, encoder: Any = None, fields: Sequence[str] | None = None,
                       cache: str | Path | None = None, progress: bool = False) -> np.ndarray:
    """Mean of the unit text embeddings of each available field of each paper, shape (n, dim).

    ``encoder`` defaults to :class:`discoverly.text_embedding.TextEncoder` (all-MiniLM-L6-v2).
    With ``cache`` (a directory), the vectors are stored as an artifact keyed by a hash of the
    texts and the model, and reused when the texts have not changed.
    """
    from discoverly.text_embedding import TextEncoder

    enc = encoder if encoder is not None else TextEncoder()
    use = list(fields) if fields is not None else papers.text_fields()
    if not use:
        raise DataError("the papers have no text (title, abstract or body) to embed")
    texts = {f: papers.texts(f) for f in use}
    key = _texts_hash(texts, str(getattr(enc, "name", type(enc).__name__)))
    if cache is not None and (Path(cache) / "manifest.json").is_file():
        try:
            art = read_artifact(cache, kind="text-vectors")
            if art.manifest.get("key") == key:
                log.info("text vectors from cache %s", cache)
                return art.arrays["vectors"]
            log.info("text cache %s is stale (texts or model changed); recomputing", cache)
        except ArtifactError as exc:
            log.warning("ignoring unreadable text cache %s: %s", cache, exc)
    started = time.perf_counter()
    total: np.ndarray | None = None
    count = np.zeros(len(papers), dtype=np.float32)
    for f in use:
        present = np.array([bool(t.strip()) for t in texts[f]])
        if not present.any():
            continue
        vecs = enc.encode([t for t, p in zip(texts[f], present, strict=True) if p], progress=progress)
        if total is None:
            total = np.zeros((len(papers), vecs.shape[1]), dtype=np.float32)
        total[present] += vecs
        count[present] += 1
    if total is None:
        raise DataError("every text field of every paper is empty; nothing to embed")
    vectors = (total / np.maximum(count, 1)[:, None]).astype(np.float32)
    if cache is not None:
        manifest = {"kind": "text-vectors", "key": key, "fields": use, "model": str(getattr(enc, "name", "")),
                    "seconds": time.perf_counter() - started, "n": len(papers)}
        write_artifact(cache, manifest, {"vectors": vectors})
    return vectors


INDEXES = ("flat", "hnsw")


class SimilarItems:
    """Cosine top-k over fused text + graph vectors (inner-product search with faiss).

    ``ids`` are the external ids of the rows; ``text`` and ``graph`` the raw vectors (normalised
    here); ``weight`` the text weight (see the module docstring). ``threads`` is faiss's thread
    count for a search: one thread serves single queries fastest (on a busy 2-core machine two
    threads made p99 latency 3x worse); batched evaluation may use more.

    ``index="flat"`` (default) is exact: every query scans all vectors. ``index="hnsw"`` is a faiss
    HNSW graph (``hnsw_m`` links per node, ``ef_search`` candidates per query): approximate, a
    fraction of the work per query; its agreement with the exact top-k and its latency on AAN are
    in ``benchmarks/graph.md``. Evaluations (``discoverly.graph.evaluation``) use exact engines.

    ``graph_query`` (optional, one row per item) replaces an item's graph vector *on the query
    side* only: ``similar(p)`` then ranks items by ``w * cos_text + (1 - w) * cos(graph_query[p],
    graph[x])``. With ``KGEmbedding.relation_queries("cites")`` as ``graph_query`` the graph part
    asks "which papers would the model link to ``p`` by a citation?" instead of "which papers have
    a vector like ``p``'s?" (``fit_similar(..., query_relation="cites")``; measured on AAN in
    ``benchmarks/graph.md``).

    ``graph_query_2`` (optional, same shape) is a second query vector per item: ``similar(p)``
    then searches with both queries and merges the two lists by score (an item found by both keeps
    its higher score). For citations, the tail query ("papers p would cite") and the head query
    ("papers that would cite p") together look for both ends of a citation
    (``fit_similar(..., query_direction="tail+head")``); a query costs two searches.

    ``links`` (optional) are item pairs already linked in the catalogue — for papers, citations —
    as an ``(m, 2)`` array of row positions (either direction links both). With
    ``exclude_linked=True`` ``similar(p)`` leaves out the items linked to ``p`` (a paper's page
    already shows its references and citing papers, so "similar" shows other papers); this is the
    "filtered" ranking of link prediction. ``similar``/``similar_positions`` take the setting per
    call too. Links are saved with the engine.

    ``text_hops`` (needs ``links``) spreads the text vectors over the links before they are fused
    (:func:`propagate_text`): with ``text_hops=1`` the text part of a paper is its own title vector
    plus those of the papers linked to it, so "similar" also reaches papers whose titles resemble
    those of a paper's references and citing papers. ``text`` keeps the vectors as given; with
    ``weight=1`` and ``text_hops>0`` the engine is text over the graph, not text only.

    ``untrained`` (optional) are the row positions whose graph vector was never trained (for
    papers: in no edge of the graph, so the vector is its random start). An item with neither a
    text vector nor a trained graph vector in the fused space (``blank``) has nothing to be
    compared by: ``similar`` refuses it (a :class:`DataError`) rather than answer random neighbours,
    and it is in no other item's neighbours.
    """

    def __init__(self, ids: Sequence[Any] | np.ndarray, *, text: np.ndarray | None = None,
                 graph: np.ndarray | None = None, weight: float = 0.5, config: dict[str, Any] | None = None,
                 threads: int = 1, index: str = "flat", hnsw_m: int = 32, ef_search: int = 128,
                 graph_query: np.ndarray | None = None, graph_query_2: np.ndarray | None = None,
                 links: np.ndarray | None = None,
                 exclude_linked: bool = False, text_hops: int = 0, untrained: np.ndarray | None = None) -> None:
        if index not in INDEXES:
            raise ConfigError(f"unknown index {index!r}; use one of {INDEXES}")
        if hnsw_m < 2 or ef_search < 1:
            raise ConfigError(f"need hnsw_m >= 2 and ef_search >= 1; got {hnsw_m}, {ef_search}")
        self.index, self.hnsw_m, self.ef_search = index, int(hnsw_m), int(ef_search)
        self.threads = max(1, int(threads))
        self.ids = np.asarray([str(i) for i in ids])
        self.weight = float(weight)
        self.text = None if text is None else normalise_rows(text)
        self.graph = None if graph is None else normalise_rows(graph)
        self.links: sp.csr_matrix | None = None
        if links is not None:
            e = np.asarray(links, dtype=np.int64).reshape(-1, 2)
            if e.size and (e.min() < 0 or e.max() >= self.ids.size):
                raise DataError(f"links refer to rows outside 0..{self.ids.size - 1}")
            m = sp.csr_matrix((np.ones(2 * len(e), np.int8), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                              shape=(self.ids.size, self.ids.size))
            m.sum_duplicates()
            m.data[:] = 1
            self.links = m
        check_hops(text_hops)
        if text_hops and (self.links is None or self.text is None):
            raise ConfigError("text_hops > 0 needs text vectors and the links to spread them over")
        self.text_hops = int(text_hops)
        fused_text = self.text
        if self.text is not None and self.links is not None and self.text_hops:
            fused_text = propagate_text(self.text, self.links.astype(np.float32), self.text_hops)
        self.vectors = fuse(fused_text, self.graph, self.weight)
        if self.vectors.shape[0] != self.ids.size:
            raise DataError(f"{self.ids.size} ids but {self.vectors.shape[0]} vectors; give one vector per id")
        self.untrained = np.unique(np.asarray([] if untrained is None else untrained, dtype=np.int64))
        if self.untrained.size and (self.untrained[0] < 0 or self.untrained[-1] >= self.ids.size):
            raise DataError(f"untrained refers to rows outside 0..{self.ids.size - 1}")
        informed = np.zeros(self.ids.size, dtype=bool)
        if fused_text is not None and self.weight > 0:
            informed |= np.linalg.norm(fused_text, axis=1) > 0
        if self.graph is not None and self.weight < 1:
            trained = np.linalg.norm(self.graph, axis=1) > 0
            trained[self.untrained] = False
            informed |= trained
        #: positions with nothing to compare by: no text vector and no trained graph vector in the fused space
        self.blank = np.flatnonzero(~informed)
        self.graph_query: np.ndarray | None = None
        self.queries = self.vectors  # the fused query vector of each item (its own vector by default)
        if graph_query is not None:
            if self.graph is None:
                raise ConfigError("graph_query needs graph vectors to search")
            gq = normalise_rows(graph_query)
            if gq.shape != self.graph.shape:
                raise DataError(f"graph_query must have the graph vectors' shape {self.graph.shape}, got {gq.shape}")
            self.graph_query = gq
            self.queries = fuse(fused_text, gq, self.weight)
        self.graph_query_2: np.ndarray | None = None
        self.queries_2: np.ndarray | None = None  # fused second query vectors (merged by score)
        if graph_query_2 is not None:
            if self.graph_query is None:
                raise ConfigError("graph_query_2 needs graph_query (the first query)")
            gq2 = normalise_rows(graph_query_2)
            if gq2.shape != self.graph_query.shape:
                raise DataError(f"graph_query_2 must have graph_query's shape {self.graph_query.shape}, "
                                f"got {gq2.shape}")
            self.graph_query_2 = gq2
            self.queries_2 = fuse(fused_text, gq2, self.weight)
        if exclude_linked and self.links is None:
            raise ConfigError("exclude_linked=True needs the links (e.g. citation edges) to exclude")
        self.exclude_linked = bool(exclude_linked)
        self.config = dict(config or {})
        self._pos = {k: i for i, k in enumerate(self.ids.tolist())}
        if len(self._pos) != self.ids.size:
            raise DataError("item ids must be unique")
        self._index: Any = None

    def __len__(self) -> int:
        return int(self.ids.size)

    def _faiss(self) -> Any:
        if self._index is None:
            faiss = require("faiss", extra="graph", purpose="vector search")
            d = self.vectors.shape[1]
            if self.index == "hnsw":
                index = faiss.IndexHNSWFlat(d, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efSearch = self.ef_search
            else:
                index = faiss.IndexFlatIP(d)
            if self.blank.size:  # blank rows' vectors are random: they are no one's neighbours either
                index = faiss.IndexIDMap(index)
                rows = np.setdiff1d(np.arange(len(self)), self.blank)
                index.add_with_ids(np.ascontiguousarray(self.vectors[rows]), rows.astype(np.int64))
            else:
                index.add(np.ascontiguousarray(self.vectors))
            self._index = index
        return self._index

    def position(self, item: Any) -> int:
        try:
            return self._pos[str(item)]
        except KeyError:
            key = str(item).strip().casefold()  # 'P02-1040 ' or 'p02-1040' for P02-1040: name the id meant
            near = [i for i in self._pos if i.strip().casefold() == key][:3] if key else []
            hint = f"; did you mean {', '.join(repr(i) for i in near)}?" if near else ""
            raise UnknownIdError(f"unknown id {item!r}; the engine holds {len(self):,} items{hint}") from None

    def search_vectors(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows by cosine for query vectors already in the fused space: (scores, positions)."""
        k = check_k(k)
        q = np.ascontiguousarray(np.asarray(queries, dtype=np.float32).reshape(-1, self.vectors.shape[1]))
        index = self._faiss()
        require("faiss", extra="graph", purpose="vector search").omp_set_num_threads(self.threads)
        scores, pos = index.search(q, min(k, len(self)))
        return scores, pos

    def linked(self, position: int) -> np.ndarray:
        """Row positions linked to a row (empty without links)."""
        if self.links is None:
            return np.zeros(0, np.int64)
        return self.links.indices[self.links.indptr[position]:self.links.indptr[position + 1]].astype(np.int64)

    def link_pairs(self) -> np.ndarray | None:
        """The links as an ``(m, 2)`` array of row positions, each link once (what ``links=`` takes);
        ``None`` without links."""
        if self.links is None:
            return None
        upper = sp.triu(self.links, k=1).tocoo()  # the matrix is symmetric
        return np.stack([upper.row, upper.col], axis=1).astype(np.int64)

    def similar_positions(self, positions: np.ndarray, k: int,
                          exclude_linked: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k neighbours of rows (excluding the row itself, and with ``exclude_linked`` — default:
        the engine's setting — the rows linked to it): (scores, positions), -1 padded."""
        k = check_k(k)
        exclude = self.exclude_linked if exclude_linked is None else bool(exclude_linked)
        if exclude and self.links is None:
            raise ConfigError("exclude_linked=True needs an engine with links")
        positions = np.asarray(positions, dtype=np.int64)
        extra = 0
        if exclude and positions.size:
            assert self.links is not None
            extra = int(np.diff(self.links.indptr)[positions].max())
        scores, pos = self.search_vectors(self.queries[positions], k + 1 + extra)
        if self.queries_2 is not None:
            scores, pos = _merge(scores, pos, *self.search_vectors(self.queries_2[positions], k + 1 + extra))
        out_s = np.full((positions.size, k), -np.inf, dtype=np.float32)
        out_p = np.full((positions.size, k), -1, dtype=np.int64)
        for i, p in enumerate(positions):
            keep = (pos[i] != p) & (pos[i] >= 0)
            if exclude:
                keep &= ~np.isin(pos[i], self.linked(int(p)))
            s, q = scores[i][keep][:k], pos[i][keep][:k]
            out_s[i, : s.size] = s
            out_p[i, : q.size] = q
        return out_s, out_p

    def similar(self, item: Any, k: int = 10, exclude_linked: bool | None = None) -> pl.DataFrame:
        """The ``k`` most similar items to ``item``: columns id, score, rank. ``exclude_linked``
        (default: the engine's setting) leaves out the items linked to ``item``."""
        position = self.position(item)
        if self.blank.size and np.isin(position, self.blank):
            raise DataError(f"{item!r} {self.blank_reason()}: the engine has nothing to compare it by, so it has no "
                            "similar items (its vector would give random neighbours). Give it a title or abstract, "
                            "or references, and fit again")
        s, p = self.similar_positions(np.array([position]), k, exclude_linked)
        keep = p[0] >= 0
        return pl.DataFrame({"id": self.ids[p[0][keep]], "score": s[0][keep].astype(np.float64),
                             "rank": np.arange(1, int(keep.sum()) + 1)})

    def blank_reason(self, *, plural: bool = False) -> str:
        """Why the :attr:`blank` items have nothing to be compared by, e.g. "has no text and is in
        no edge of the graph" ("have ... are" with ``plural``)."""
        has, is_ = ("have", "are") if plural else ("has", "is")
        if self.graph is None or self.weight >= 1:
            return f"{has} no text, and the engine is text only (weight 1)"
        if self.text is None or self.weight <= 0:
            return f"{is_} in no edge of the graph, and the engine is graph only (weight 0)"
        return f"{has} no text and {is_} in no edge of the graph"

    def save(self, path: str | Path) -> Path:
        """Write the engine as an artifact directory; refuses a file or a folder that is not an artifact."""
        arrays: dict[str, np.ndarray] = {}
        if self.text is not None:
            arrays["text"] = self.text
        if self.graph is not None:
            arrays["graph"] = self.graph
        if self.graph_query is not None:
            arrays["graph_query"] = self.graph_query
        if self.graph_query_2 is not None:
            arrays["graph_query_2"] = self.graph_query_2
        links = self.link_pairs()
        if links is not None:
            arrays["links"] = links
        if self.untrained.size:
            arrays["untrained"] = self.untrained
        manifest = {"kind": "similar-items", "weight": self.weight, "n": len(self), "config": self.config,
                    "exclude_linked": self.exclude_linked, "text_hops": self.text_hops,
                    "index": {"kind": self.index, "hnsw_m": self.hnsw_m, "ef_search": self.ef_search}}
        return write_artifact(path, manifest, arrays, {"ids": pl.DataFrame({"id": self.ids})})

    @classmethod
    def load(cls, path: str | Path, *, index: str | None = None) -> SimilarItems:
        """Load a saved engine; ``index`` overrides the saved index kind (``"flat"`` or ``"hnsw"``)."""
        art = read_artifact(path, kind="similar-items")
        if "ids" not in art.tables:
            raise ArtifactError(f"{str(path)!r} has no id table")
        saved = dict(art.manifest.get("index") or {})
        if "weight" not in art.manifest:
            raise ArtifactError(f"{str(path)!r} is an incomplete similar-items engine: its manifest has no 'weight'; "
                                "fit it again (`discoverly graph fit`)")
        return cls(art.tables["ids"]["id"].to_list(), text=art.arrays.get("text"), graph=art.arrays.get("graph"),
                   weight=float(art.manifest["weight"]), config=art.manifest.get("config", {}),
                   index=index or saved.get("kind", "flat"), hnsw_m=int(saved.get("hnsw_m", 32)),
                   ef_search=int(saved.get("ef_search", 128)), graph_query=art.arrays.get("graph_query"),
                   graph_query_2=art.arrays.get("graph_query_2"),
                   links=art.arrays.get("links"), exclude_linked=bool(art.manifest.get("exclude_linked", False)),
                   text_hops=int(art.manifest.get("text_hops", 0)), untrained=art.arrays.get("untrained"))


def _merge(s1: np.ndarray, p1: np.ndarray, s2: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two top-k result lists per row merged by score, each position once (its higher score),
    best first; rows keep the width of one list, -1 / -inf padded."""
    k = p1.shape[1]
    out_s = np.full(s1.shape, -np.inf, dtype=np.float32)
    out_p = np.full(p1.shape, -1, dtype=np.int64)
    s, p = np.concatenate([s1, s2], axis=1), np.concatenate([p1, p2], axis=1)
    for i in range(p.shape[0]):
        order = np.argsort(-s[i], kind="stable")
        _, first = np.unique(p[i][order], return_index=True)  # first (= best) occurrence of each position
        keep = order[np.sort(first)]
        keep = keep[p[i][keep] >= 0][:k]
        out_s[i, : keep.size] = s[i][keep]
        out_p[i, : keep.size] = p[i][keep]
    return out_s, out_p
