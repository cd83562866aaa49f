"""The on-disk layout of a built literature graph, and the two steps that fill it.

A graph folder holds::

    graph.sqlite     node/edge/paper tables (discoverly.graph.store)
    papers.parquet   the papers table (text fields for embeddings and the report)
    text/            cached text vectors (artifact)
    kge/             the knowledge-graph embedding (artifact)
    similar/         the similar-paper engine (artifact)

``build_graph_folder`` does the build (concepts, topics, store); ``fit_similar`` trains the graph
embedding, embeds the texts and saves the fused engine. The CLI (``discoverly graph build`` /
``fit``), the service and the benchmark all go through these two functions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from discoverly.artifacts import staged_file
from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.graph.build import KnowledgeGraph, build_paper_graph
from discoverly.graph.concepts import ConceptExtractor
from discoverly.graph.kge import KGEmbedding, KGETrainer, check_query_direction
from discoverly.graph.papers import Papers, is_papers_table, read_papers
from discoverly.graph.similar import SimilarItems, check_hops, check_weight, paper_text_vectors
from discoverly.graph.store import GraphStore, write_store
from discoverly.graph.topics import TopicModel

__all__ = ["GraphFolder", "build_graph_folder", "fit_similar", "train_embedding", "DEFAULT_ENGINE"]

log = logging.getLogger(__name__)

#: the engine settings chosen on the AAN validation split (benchmarks/graph.md, 2026-12-04):
#: ComplEx-512 trained 3 epochs with a sampled softmax over 1,024 shared typed negatives; tail and
#: head citation queries merged by score; papers already linked by a citation left out; the text
#: spread over the citations by one hop (evening), text weight 0.4
DEFAULT_ENGINE: dict[str, Any] = {"model": "complex", "dim": 512, "epochs": 3, "weight": 0.4, "backend": "torch",
                                  "sampler": "typed", "loss": "softmax", "negatives": 1024,
                                  "query_relation": "cites", "query_direction": "tail+head", "exclude_linked": True,
                                  "text_hops": 1}


@dataclass(frozen=True)
class GraphFolder:
    """Paths inside a graph folder."""

    root: Path

    @property
    def store(self) -> Path:
        return self.root / "graph.sqlite"

    @property
    def papers(self) -> Path:
        return self.root / "papers.parquet"

    @property
    def text(self) -> Path:
        return self.root / "text"

    @property
    def kge(self) -> Path:
        return self.root / "kge"

    @property
    def similar(self) -> Path:
        return self.root / "similar"

    def check(self, *parts: str) -> None:
        for part in parts:
            path = getattr(self, part)
            if not path.exists():
                if self.root.is_file():  # was "'papers.csv/similar' is missing; run `discoverly graph fit`"
                    raise ArtifactError(f"{str(self.root)!r} is a file, not a graph folder; give the folder written "
                                        "by `discoverly graph build` (-g)")
                self._check_not_an_artifact()
                step = "discoverly graph build" if part in ("store", "papers") else "discoverly graph fit"
                raise ArtifactError(f"{str(path)!r} is missing; run `{step}` for {str(self.root)!r} first")

    def check_build_target(self) -> None:
        """Refuse, before any work, a folder ``graph build`` must not write into: a file, a folder of
        other things (a rebuild removes ``kge/`` and ``similar/`` there), or one that cannot be written.
        A new path, an empty folder or an earlier graph folder is fine."""
        from discoverly.artifacts import check_file_target

        root = self.root
        if root.exists() and not root.is_dir():
            raise ArtifactError(f"cannot build the graph in {str(root)!r}: it is a file; give a folder, e.g. graph/")
        # hidden entries do not count: .DS_Store, .gitkeep, or the temporary papers file of a killed build
        visible = sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []
        if visible and not self.store.is_file() and self.papers.is_file() and not is_papers_table(self.papers):
            # e.g. `--papers papers.parquet -g .`: the build would replace the user's own file with its table
            raise ArtifactError(f"cannot build the graph in {str(root)!r}: its papers.parquet is not the papers "
                                "table of a graph build, and the build would replace it; give a new or empty "
                                "folder, e.g. graph/")
        if visible and not (self.store.is_file() or self.papers.is_file()):
            self._check_not_an_artifact()
            shown = ", ".join(visible[:5])
            raise ArtifactError(f"cannot build the graph in {str(root)!r}: the folder holds other files ({shown}) "
                                "and is not a graph folder; give a new or empty folder, e.g. graph/")
        check_file_target(self.papers, what="the graph")

    def _check_not_an_artifact(self) -> None:
        """A clear error when the folder is an artifact (a search engine, a model, a graph folder's
        own ``similar/``) rather than a graph folder."""
        from discoverly.artifacts import MANIFEST

        try:
            kind = json.loads((self.root / MANIFEST).read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            return
        if not isinstance(kind, str):  # another program's manifest.json (a web app's): was "holds a None artifact"
            return
        inside = (kind in ("similar-items", "kg-embedding", "text-vectors")
                  and (self.root.parent / "graph.sqlite").is_file())
        hint = (f"give the graph folder it belongs to, {str(self.root.parent)!r}" if inside
                else "give the folder written by `discoverly graph build`")
        raise ArtifactError(f"{str(self.root)!r} holds a {kind!r} artifact, not a graph folder; {hint}")

    def load_papers(self) -> Papers:
        self.check("papers")
        return read_papers(self.papers)

    def open_store(self) -> GraphStore:
        self.check("store")
        return GraphStore(self.store)

    def load_similar(self) -> SimilarItems:
        self.check("similar")
        engine = SimilarItems.load(self.similar)
        fitted_on = engine.config.get("build")
        if fitted_on is not None:  # engines fitted before builds were named are not checked
            with self.open_store() as store:
                built = store.meta.get("build")
            if built != fitted_on:  # a `graph fit` still running when `graph build` replaced the graph saved it
                raise ArtifactError(f"the similar-paper engine of {str(self.root)!r} was fitted on an earlier build of "
                                    "the graph; run `discoverly graph fit` again")
        return engine


@contextmanager
def _folder_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """Builds of one folder write it one at a time (exclusive), and a fit reads its store and papers
    table between two builds (shared): two builds at once could leave the papers table of one next to
    the store of the other. The system drops the lock when the process ends, however it ends."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _build_id(graph: KnowledgeGraph, meta: dict[str, Any]) -> str:
    """Names a build by what it wrote: a rebuild that makes another graph gets another id, and the same
    papers and options give the same id (a build's files stay the same from run to run)."""
    h = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode())
    for frame in (graph.nodes, graph.edges):
        h.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    return h.hexdigest()[:16]

def build_graph_folder(papers: Papers, folder: str | Path, *, n_topics: int = 10, concept_method: str = "collocations",
                       concepts: bool = True, topics: bool = True, vocabulary: Sequence[str] | None = None,
                       rng: int | None = 0, progress: bool = False) -> tuple[KnowledgeGraph, dict[str, float]]:
    """Mine concepts and topics, build the graph and write the store; returns the graph and timings.

    ``vocabulary`` is a curated list of concept phrases to tag with instead of mining one.
    """
    gf = GraphFolder(Path(folder))
    gf.check_build_target()
    timings: dict[str, float] = {}
    texts = papers.full_texts()
    t0 = time.perf_counter()
    if vocabulary is not None:
        concept_lists: list[list[str]] | None = ConceptExtractor.from_vocabulary(vocabulary).transform(texts)
    else:
        concept_lists = ConceptExtractor(method=concept_method).fit_transform(texts) if concepts else None
    timings["concepts_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    topic_lists = TopicModel(n_topics=n_topics, rng=rng).fit(texts).assign(texts) if topics else None
    timings["topics_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    graph = build_paper_graph(papers, concepts=concept_lists, topics=topic_lists)
    timings["graph_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ExitStack() as writing:
        try:
            gf.root.mkdir(parents=True, exist_ok=True)  # only now: a build that fails before leaves no empty folder
            writing.enter_context(_folder_lock(gf.root, exclusive=True))
            stale = [p for p in (gf.kge, gf.similar) if p.exists()]
            for path in stale:  # trained on the previous build's graph: `graph similar` would answer from it
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            with staged_file(gf.papers) as tmp:  # in one step: never a half-written papers table
                papers.table.write_parquet(tmp)
        except ArtifactError:
            raise
        except OSError as exc:
            raise ArtifactError(f"cannot write the graph folder {str(gf.root)!r}: {exc.strerror or exc}") from exc
        if stale:
            log.info("removed %s of the previous build of %s; run `discoverly graph fit` again",
                     " and ".join(f"{p.name}/" for p in stale), gf.root)
        meta = {"n_topics": n_topics, "concept_method": concept_method if concepts else None,
                "papers_fingerprint": papers.fingerprint()}
        write_store(graph, gf.store, meta={**meta, "build": _build_id(graph, meta)})  # an engine names its build
    timings["store_s"] = time.perf_counter() - t0
    return graph, timings


#: the trainer settings the pykeen backend takes (the torch backend's others, e.g. weight_decay, it has not)
_PYKEEN_SETTINGS = ("model", "dim", "epochs", "batch_size", "negatives", "lr", "threads", "sampler", "loss", "gamma",
                    "adversarial_temperature")


def _trainer(backend: str, **kw: Any) -> Any:
    """The backend's trainer; the pykeen one is given only its own settings (one configuration serves both)."""
    if backend == "torch":
        return KGETrainer(**kw)
    if backend == "pykeen":
        from discoverly.graph.kge_pykeen import PyKEENTrainer

        allowed = {k: v for k, v in kw.items() if k in _PYKEEN_SETTINGS}
        if allowed.get("loss") == "logistic":  # the torch backend's self-adversarial loss is PyKEEN's NSSA
            allowed["loss"] = "nssa"
        elif allowed.get("loss") == "softmax":
            raise ConfigError("the sampled softmax loss is trained by the torch backend only; with the pykeen "
                              "backend use loss 'logistic' (PyKEEN's self-adversarial NSSA, the default) or "
                              "'default' (the model's PyKEEN loss)")
        return PyKEENTrainer(**allowed)
    raise ConfigError(f"unknown KG embedding backend {backend!r}; use 'torch' or 'pykeen'")


def train_embedding(graph: KnowledgeGraph, *, model: str = "transe", dim: int = 64, epochs: int = 40,
                    backend: str = "torch", rng: int | np.random.Generator | None = 0, progress: bool = False,
                    **options: Any) -> KGEmbedding:
    """Train a KG embedding on every edge of ``graph``."""
    h, r, t, names = graph.triples()
    trainer = _trainer(backend, model=model, dim=dim, epochs=epochs, **options)
    emb: KGEmbedding = trainer.fit(h, r, t, graph.n_nodes, len(names), rng=rng, progress=progress)
    emb.config["relations"] = names
    return emb


def _check_query(cfg: dict[str, Any], relations: Sequence[str]) -> None:
    if cfg["query_relation"] not in relations:
        raise ConfigError(f"unknown query relation {cfg['query_relation']!r}; the graph has {list(relations)} "
                          "(or 'none' for queries with the papers' own graph vectors)")
    check_query_direction(cfg["query_direction"], cfg["model"])


def fit_similar(folder: str | Path, *, model: str | None = None, dim: int | None = None, epochs: int | None = None,
                weight: float | None = None, backend: str | None = None, sampler: str | None = None,
                query_relation: str | None = None, query_direction: str | None = None,
                exclude_linked: bool | None = None, text_hops: int | None = None,
                encoder: Any = None, rng: int | None = 0, progress: bool = False, **options: Any) -> SimilarItems:
    """Train the graph embedding, embed the texts (cached) and save the fused similar-paper engine.

    ``query_relation`` (e.g. ``"cites"``) makes the graph part of a query relation-aware: a
    paper's query vector is ``KGEmbedding.relation_queries(query_relation, query_direction)``
    (for DistMult ``e_p * r_cites``), searched against the stored entity vectors; ``"none"``
    turns it off. ``query_direction="tail+head"`` searches with the tail and the head query and
    merges the two lists by score (``SimilarItems(graph_query_2=...)``). ``exclude_linked`` stores
    the citations with the engine and makes ``similar(p)`` leave out the papers ``p`` cites or is
    cited by (``SimilarItems``). ``text_hops`` spreads the text vectors over the citations before
    fusing them (``SimilarItems(text_hops=)``: 1 = a paper's title plus those of the papers it cites
    and is cited by). Settings left ``None`` take :data:`DEFAULT_ENGINE` (chosen on the
    AAN validation split); its trainer settings (e.g. ``loss``, ``negatives``) apply unless
    ``options`` give others."""
    gf = GraphFolder(Path(folder))
    cfg = {**DEFAULT_ENGINE, **{k: v for k, v in {"model": model, "dim": dim, "epochs": epochs, "weight": weight,
                                                   "backend": backend, "sampler": sampler,
                                                   "query_relation": query_relation,
                                                   "query_direction": query_direction,
                                                   "exclude_linked": exclude_linked,
                                                   "text_hops": text_hops}.items() if v is not None}}
    cfg.update(options)
    unused = sorted(set(options) - set(_PYKEEN_SETTINGS)) if cfg["backend"] == "pykeen" else []
    if unused:  # given on purpose, e.g. --max-seconds: dropping them silently ignored what was asked
        raise ConfigError(f"the pykeen backend does not take {unused} (the torch backend's settings); its settings "
                          f"are: {', '.join(sorted(_PYKEEN_SETTINGS))}")
    if (cfg["model"] not in ("distmult", "complex") or cfg["backend"] == "pykeen") and "loss" not in options:
        # the default softmax loss is the torch backend's, for the bilinear models; TransE/RotatE and PyKEEN:
        # the self-adversarial logistic loss (PyKEEN's NSSA)
        cfg["loss"] = "logistic"
    if cfg.get("loss") == "logistic" and "negatives" not in options:
        cfg.pop("negatives", None)  # the trainer's default (64 per triple), not the softmax's shared 1,024
    engine_keys = ("model", "dim", "epochs", "weight", "backend", "sampler", "query_relation", "query_direction",
                   "exclude_linked", "text_hops")
    train_options = {k: v for k, v in cfg.items() if k not in engine_keys}
    _trainer(cfg["backend"], model=cfg["model"], dim=cfg["dim"], epochs=cfg["epochs"], sampler=cfg["sampler"],
             **train_options)  # backend, loss and model are checked before the texts are embedded, not after
    check_weight(cfg["weight"])  # the engine's checks, before the texts are embedded and the graph trained
    check_hops(cfg["text_hops"])
    if cfg["query_relation"] in ("none", ""):
        cfg["query_relation"] = None
    with _folder_lock(gf.root, exclusive=False) if gf.root.is_dir() else nullcontext(), gf.open_store() as store:
        graph = store.graph()
        build = store.meta.get("build")
        papers = gf.load_papers()  # with the store, not after a build that replaced it meanwhile
    if cfg["query_relation"] is not None:  # checked before training, not after it
        if query_relation is None and cfg["query_relation"] not in graph.relations:
            log.warning("the graph has no %r edges (the papers list no references among themselves); graph "
                        "queries use the papers' own vectors", cfg["query_relation"])
            cfg["query_relation"] = None
        else:
            _check_query(cfg, graph.relations)
    n = len(papers)
    if cfg["weight"] > 0 and not papers.text_fields():  # e.g. a file of ids, authors and references only
        if weight is not None:
            raise DataError(f"the papers of {str(gf.root)!r} have no text (title, abstract or body) for a text weight "
                            f"of {weight}; fit a graph-only engine with weight=0 (CLI: --weight 0)")
        log.warning("the papers have no text (title, abstract or body): the engine is graph only (weight 0)")
        cfg["weight"] = 0.0
    if graph.keys(np.arange(n)) != papers.table["id"].to_list():
        raise ArtifactError(f"the store and papers table of {str(gf.root)!r} disagree; rebuild the folder")
    text = paper_text_vectors(papers, encoder=encoder, cache=gf.text, progress=progress) if cfg["weight"] > 0 else None
    emb = train_embedding(graph, model=cfg["model"], dim=cfg["dim"], epochs=cfg["epochs"], backend=cfg["backend"],
                          sampler=cfg["sampler"], rng=rng, progress=progress, **train_options)
    emb.save(gf.kge)
    gq, gq2 = (None, None) if cfg["query_relation"] is None else \
        emb.query_pair(cfg["query_relation"], cfg["query_direction"], entities=np.arange(n))
    cites = graph.edges.filter((pl.col("relation") == "cites") & (pl.col("src") < n) & (pl.col("dst") < n))
    links = np.stack([cites["src"].to_numpy(), cites["dst"].to_numpy()], axis=1)
    # a paper in no edge keeps the random vector it started with (the training never moves it towards anything)
    untrained = np.setdiff1d(np.arange(n), np.concatenate([graph.edges["src"].to_numpy(),
                                                           graph.edges["dst"].to_numpy()]))
    engine = SimilarItems(papers.table["id"].to_list(), text=text, graph=emb.entity_vectors()[:n],
                          weight=cfg["weight"], config={**cfg, "kge_seconds": emb.seconds, "build": build},
                          graph_query=gq,
                          graph_query_2=gq2,
                          links=links, exclude_linked=bool(cfg["exclude_linked"]),
                          text_hops=int(cfg.get("text_hops", 0)) if text is not None else 0, untrained=untrained)
    if engine.blank.size:
        shown = ", ".join(repr(i) for i in engine.ids[engine.blank[:5]].tolist())
        more = ", …" if engine.blank.size > 5 else ""
        log.warning("%d of the %d papers (%s%s) %s: they have nothing to be compared by, and `graph similar` refuses "
                    "them; give them a title or abstract, or references", engine.blank.size, n, shown, more,
                    engine.blank_reason(plural=True))
    engine.save(gf.similar)
    return engine
