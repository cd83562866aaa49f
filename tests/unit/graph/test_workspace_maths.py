"""The graph folder (``discoverly.graph.workspace``): its layout, the exact messages of its checks, the
build's lock, what a build writes, and how ``fit_similar`` turns its settings into an engine.

The literature here is written out by hand: ``a`` <- ``b`` <- ``c`` -> ``a`` and ``d`` -> ``c`` (``x -> y``:
x cites y), and ``e``, a paper with no text, no reference and no author (in no edge of the graph).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.graph import workspace
from discoverly.graph.papers import Papers
from discoverly.graph.workspace import DEFAULT_ENGINE, GraphFolder, build_graph_folder, fit_similar

from .conftest import HashEncoder, tiny_records

RECORDS: list[dict[str, object]] = [
    {"id": "a", "title": "Dependency parsing with treebanks", "authors": ["Ann"]},
    {"id": "b", "title": "Fast parsing of treebanks", "authors": ["Ann"], "references": ["a"]},
    {"id": "c", "title": "Machine translation with parsing", "authors": ["Bob"], "references": ["a", "b"]},
    {"id": "d", "title": "Phrase tables for machine translation", "authors": ["Bob"], "references": ["c"]},
    {"id": "e", "title": ""},
]
#: the citations among the papers, as row pairs (a=0 ... e=4), either way round
CITATIONS = {(1, 0), (2, 0), (2, 1), (3, 2)}


def built(tmp_path: Path, records: list[dict[str, object]] | None = None, **kw: object) -> GraphFolder:
    build_graph_folder(Papers.from_records(records or RECORDS), tmp_path / "g", n_topics=2, **kw)  # type: ignore[arg-type]
    return GraphFolder(tmp_path / "g")


def q(path: Path) -> str:
    return repr(str(path))


# --- the layout and its checks ---


def test_a_graph_folder_names_its_parts_as_documented(tmp_path: Path) -> None:
    gf = GraphFolder(Path("lit"))
    assert (gf.store, gf.papers, gf.text, gf.kge, gf.similar) == (
        Path("lit/graph.sqlite"),
        Path("lit/papers.parquet"),
        Path("lit/text"),
        Path("lit/kge"),
        Path("lit/similar"),
    )
    # what a build and a fit write, by name
    gf = built(tmp_path)
    assert sorted(p.name for p in gf.root.iterdir()) == ["graph.sqlite", "papers.parquet"]
    fit_similar(gf.root, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert sorted(p.name for p in gf.root.iterdir()) == ["graph.sqlite", "kge", "papers.parquet", "similar", "text"]


def test_check_names_the_missing_part_and_the_command_that_writes_it(tmp_path: Path) -> None:
    root = tmp_path / "g"
    gf = GraphFolder(root)
    for part, file, step in (
        ("store", "graph.sqlite", "build"),
        ("papers", "papers.parquet", "build"),
        ("text", "text", "fit"),
        ("kge", "kge", "fit"),
        ("similar", "similar", "fit"),
    ):
        with pytest.raises(ArtifactError) as info:
            gf.check(part)
        assert str(info.value) == f"{q(root / file)} is missing; run `discoverly graph {step}` for {q(root)} first"
    gf = built(tmp_path)
    gf.check("store", "papers")  # both there
    with pytest.raises(ArtifactError, match=r"similar' is missing; run `discoverly graph fit`"):
        gf.check("store", "papers", "similar")  # the first missing one, after those that are there
    with pytest.raises(ArtifactError, match=r"kge' is missing"):
        gf.check("store", "kge", "similar")


def test_check_says_a_file_is_not_a_graph_folder(tmp_path: Path) -> None:
    file = tmp_path / "papers.csv"
    file.write_text("id,title\n")
    with pytest.raises(ArtifactError) as info:
        GraphFolder(file).check("store")
    assert str(info.value) == (
        f"{q(file)} is a file, not a graph folder; give the folder written by `discoverly graph build` (-g)"
    )


def manifest(folder: Path, content: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(content) if not isinstance(content, str) else content)
    return folder


@pytest.mark.parametrize("kind", ["similar-items", "kg-embedding", "text-vectors"])
def test_an_artifact_inside_a_graph_folder_points_at_that_folder(tmp_path: Path, kind: str) -> None:
    gf = built(tmp_path)
    inner = manifest(gf.root / "part", {"kind": kind})
    with pytest.raises(ArtifactError) as info:
        GraphFolder(inner).check("store")
    assert str(info.value) == (
        f"{q(inner)} holds a {kind!r} artifact, not a graph folder; give the graph folder it belongs to, {q(gf.root)}"
    )
    # the same artifact elsewhere (no graph.sqlite next to it): the general hint
    alone = manifest(tmp_path / "elsewhere" / "part", {"kind": kind})
    with pytest.raises(ArtifactError) as info:
        GraphFolder(alone).check("store")
    assert str(info.value) == (
        f"{q(alone)} holds a {kind!r} artifact, not a graph folder; give the folder written by `discoverly graph build`"
    )


def test_another_artifact_next_to_a_graph_store_gets_the_general_hint(tmp_path: Path) -> None:
    gf = built(tmp_path)
    search = manifest(gf.root / "search", {"kind": "search-engine"})
    with pytest.raises(ArtifactError) as info:
        GraphFolder(search).check("papers")
    assert str(info.value) == (
        f"{q(search)} holds a 'search-engine' artifact, not a graph folder; give the folder written by "
        "`discoverly graph build`"
    )


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_an_unreadable_manifest_is_no_artifact_the_part_is_missing(tmp_path: Path, content: str) -> None:
    folder = manifest(tmp_path / "odd", content)
    with pytest.raises(ArtifactError) as info:
        GraphFolder(folder).check("store")
    assert str(info.value).startswith(f"{q(folder / 'graph.sqlite')} is missing; run `discoverly graph build`")


def test_build_target_messages(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("keep")
    with pytest.raises(ArtifactError) as info:
        GraphFolder(file).check_build_target()
    assert str(info.value) == f"cannot build the graph in {q(file)}: it is a file; give a folder, e.g. graph/"
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("g.txt", "f.txt", ".hidden", "e.txt", "d.txt", "c.txt", "b.txt", "a.txt"):
        (mine / name).write_text("")
    with pytest.raises(ArtifactError) as info:
        GraphFolder(mine).check_build_target()
    # the first five visible names in order; hidden ones are not shown
    assert str(info.value) == (
        f"cannot build the graph in {q(mine)}: the folder holds other files (a.txt, b.txt, c.txt, d.txt, e.txt) "
        "and is not a graph folder; give a new or empty folder, e.g. graph/"
    )
    own = tmp_path / "own"
    own.mkdir()
    pl.DataFrame({"id": ["p1"], "title": ["x"]}).write_parquet(own / "papers.parquet")
    with pytest.raises(ArtifactError) as info:
        GraphFolder(own).check_build_target()
    assert str(info.value) == (
        f"cannot build the graph in {q(own)}: its papers.parquet is not the papers table of a graph build, and the "
        "build would replace it; give a new or empty folder, e.g. graph/"
    )
    artifact = manifest(tmp_path / "engine", {"kind": "search-engine"})
    with pytest.raises(ArtifactError, match="holds a 'search-engine' artifact, not a graph folder"):
        GraphFolder(artifact).check_build_target()


def test_build_targets_that_are_fine(tmp_path: Path) -> None:
    GraphFolder(tmp_path / "new" / "deeper").check_build_target()  # a new path
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / ".gitkeep").write_text("")
    GraphFolder(hidden).check_build_target()  # only hidden entries
    gf = built(tmp_path)
    (gf.root / "notes.txt").write_text("mine")
    gf.check_build_target()  # an earlier graph folder, with a file of the user's in it
    gf.store.unlink()  # a build killed before its store: its own papers table
    gf.check_build_target()
    store_only = tmp_path / "store_only"
    store_only.mkdir()
    (store_only / "graph.sqlite").write_bytes(b"")
    pl.DataFrame({"id": ["p1"]}).write_parquet(store_only / "papers.parquet")  # next to a store: the build's
    GraphFolder(store_only).check_build_target()


def test_load_similar_refuses_an_engine_of_another_build(tmp_path: Path) -> None:
    gf = built(tmp_path)
    fit_similar(gf.root, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert len(gf.load_similar()) == 5
    with gf.open_store() as store:
        build = store.meta["build"]
    manifest_path = gf.similar / "manifest.json"
    saved = json.loads(manifest_path.read_text())
    assert saved["config"]["build"] == build and len(build) == 16 and int(build, 16) >= 0
    saved["config"]["build"] = "0123456789abcdef"
    manifest_path.write_text(json.dumps(saved))
    with pytest.raises(ArtifactError) as info:
        gf.load_similar()
    assert str(info.value) == (
        f"the similar-paper engine of {q(gf.root)} was fitted on an earlier build of the graph; run "
        "`discoverly graph fit` again"
    )
    del saved["config"]["build"]  # an engine fitted before builds were named: not checked
    manifest_path.write_text(json.dumps(saved))
    assert len(gf.load_similar()) == 5


# --- the lock ---


def test_a_build_holds_the_folder_exclusively_and_a_fit_shares_it(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    import os

    folder = tmp_path / "g"
    folder.mkdir()

    def can_lock(mode: int) -> bool:
        fd = os.open(folder, os.O_RDONLY)  # another open file: another holder, as another process would be
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(fd)

    with workspace._folder_lock(folder, exclusive=True):
        assert not can_lock(fcntl.LOCK_SH) and not can_lock(fcntl.LOCK_EX)
    assert can_lock(fcntl.LOCK_EX)  # released
    with workspace._folder_lock(folder, exclusive=False):
        assert can_lock(fcntl.LOCK_SH) and not can_lock(fcntl.LOCK_EX)
    assert can_lock(fcntl.LOCK_EX)
    with pytest.raises(RuntimeError), workspace._folder_lock(folder, exclusive=True):
        raise RuntimeError  # released however the block ends
    assert can_lock(fcntl.LOCK_EX)


# --- the build ---


def test_a_build_writes_its_settings_and_timings(tmp_path: Path) -> None:
    papers = Papers.from_records(RECORDS)
    started = time.perf_counter()
    graph, timings = build_graph_folder(papers, tmp_path / "g", n_topics=2)
    elapsed = time.perf_counter() - started
    assert list(timings) == ["concepts_s", "topics_s", "graph_s", "store_s"]
    assert min(timings.values()) >= 0 and sum(timings.values()) <= elapsed  # four parts of the build's time
    with GraphFolder(tmp_path / "g").open_store() as store:
        meta = store.meta
    assert meta["n_topics"] == 2 and meta["concept_method"] == "collocations"
    assert meta["papers_fingerprint"] == papers.fingerprint() and len(meta["build"]) == 16
    assert {"associated_topic", "cites", "authored_by"} <= set(graph.relations)
    # without concepts and topics: no such nodes, no concept method
    graph, _ = build_graph_folder(papers, tmp_path / "h", n_topics=2, concepts=False, topics=False)
    assert set(graph.nodes["kind"].unique()) == {"paper", "author"}
    with GraphFolder(tmp_path / "h").open_store() as store:
        assert store.meta["concept_method"] is None and store.meta["build"] != meta["build"]
    # a curated vocabulary: the papers are tagged with exactly those phrases that occur in them
    graph, _ = build_graph_folder(papers, tmp_path / "v", n_topics=2, topics=False, vocabulary=["machine translation"])
    concepts = graph.nodes.filter(pl.col("kind") == "concept")["key"].to_list()
    assert concepts == ["machine translation"]
    tagged = graph.edges.filter(pl.col("relation") == "associated_concept")["src"].sort().to_list()
    assert tagged == [2, 3]  # c and d


def test_a_build_is_named_by_its_graph_too(tmp_path: Path) -> None:
    """Two curated vocabularies over the same papers give the same settings (the vocabulary is not among
    them) but other graphs: other build ids."""

    def build_id(name: str, vocabulary: list[str]) -> str:
        build_graph_folder(Papers.from_records(RECORDS), tmp_path / name, topics=False, vocabulary=vocabulary)
        with GraphFolder(tmp_path / name).open_store() as store:
            return str(store.meta["build"])

    first = build_id("a", ["machine translation"])
    assert build_id("b", ["machine translation"]) == first
    assert build_id("c", ["dependency parsing"]) != first
    # and by its papers: another abstract makes the same graph (no concepts or topics) but other text vectors
    ids = []
    for name, abstract in (("d", "We parse."), ("e", "We translate.")):
        records = [{**RECORDS[0], "abstract": abstract}, *RECORDS[1:]]
        graph, _ = build_graph_folder(Papers.from_records(records), tmp_path / name, concepts=False, topics=False)
        with GraphFolder(tmp_path / name).open_store() as store:
            ids.append((graph, store.meta["build"]))
    (graph_d, id_d), (graph_e, id_e) = ids
    assert graph_d.nodes.equals(graph_e.nodes) and graph_d.edges.equals(graph_e.edges) and id_d != id_e


def test_a_fit_is_repeatable_with_its_seed(tmp_path: Path) -> None:
    gf = built(tmp_path)
    runs = [fit_similar(gf.root, dim=4, epochs=2, weight=0.0, rng=seed, threads=1).graph for seed in (3, 3, 4)]
    assert runs[0] is not None and runs[1] is not None and runs[2] is not None
    assert np.array_equal(runs[0], runs[1]) and not np.allclose(runs[0], runs[2])


def test_a_rebuild_removes_the_previous_engine_files_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gf = built(tmp_path)
    gf.kge.write_text("a file where the embedding goes")
    (gf.similar / "sub").mkdir(parents=True)
    (gf.similar / "sub" / "x.npz").write_bytes(b"x")
    with caplog.at_level(logging.INFO, logger="discoverly.graph.workspace"):
        built(tmp_path)
    assert not gf.kge.exists() and not gf.similar.exists()
    assert [r.getMessage() for r in caplog.records] == [
        f"removed kge/ and similar/ of the previous build of {gf.root}; run `discoverly graph fit` again"
    ]
    caplog.clear()
    gf.similar.mkdir()
    with caplog.at_level(logging.INFO, logger="discoverly.graph.workspace"):
        built(tmp_path)
    assert "removed similar/ of the previous build" in caplog.text and not gf.similar.exists()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="discoverly.graph.workspace"):
        built(tmp_path)
    assert "removed" not in caplog.text


def test_a_build_that_cannot_write_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    from contextlib import contextmanager

    @contextmanager
    def full(path: Path):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")
        yield path

    monkeypatch.setattr(workspace, "staged_file", full)
    with pytest.raises(ArtifactError) as info:
        built(tmp_path)
    assert str(info.value) == f"cannot write the graph folder {q(tmp_path / 'g')}: No space left on device"

    @contextmanager
    def refused(path: Path):  # type: ignore[no-untyped-def]
        raise ArtifactError("the folder is locked by a test")
        yield path

    monkeypatch.setattr(workspace, "staged_file", refused)
    with pytest.raises(ArtifactError) as info:
        built(tmp_path)
    assert str(info.value) == "the folder is locked by a test"  # an ArtifactError (an OSError) as it is


# --- the trainer settings ---


def test_the_pykeen_trainer_gets_only_its_own_settings() -> None:
    trainer = workspace._trainer(
        "pykeen", model="complex", dim=8, epochs=2, batch_size=16, negatives=4, lr=0.01, threads=1, sampler="typed",
        loss="logistic", gamma=3.0, adversarial_temperature=0.5, weight_decay=0.1, max_seconds=5.0,
    )  # fmt: skip
    assert type(trainer).__name__ == "PyKEENTrainer"
    assert (trainer.model, trainer.dim, trainer.epochs, trainer.batch_size, trainer.negatives, trainer.lr) == (
        "complex", 8, 2, 16, 4, 0.01,
    )  # fmt: skip
    assert (trainer.threads, trainer.sampler, trainer.gamma, trainer.adversarial_temperature) == (1, "typed", 3.0, 0.5)
    assert trainer.loss == "nssa"  # the torch backend's self-adversarial loss by PyKEEN's name
    assert workspace._trainer("pykeen", model="transe", dim=4, loss="default").loss == "default"
    with pytest.raises(ConfigError) as info:
        workspace._trainer("pykeen", model="complex", dim=4, loss="softmax")
    assert str(info.value) == (
        "the sampled softmax loss is trained by the torch backend only; with the pykeen backend use loss "
        "'logistic' (PyKEEN's self-adversarial NSSA, the default) or 'default' (the model's PyKEEN loss)"
    )
    torch_trainer = workspace._trainer("torch", model="distmult", dim=4, weight_decay=0.1, loss="softmax")
    assert type(torch_trainer).__name__ == "KGETrainer" and torch_trainer.weight_decay == 0.1
    with pytest.raises(ConfigError) as info:
        workspace._trainer("jax", model="transe")
    assert str(info.value) == "unknown KG embedding backend 'jax'; use 'torch' or 'pykeen'"


def test_train_embedding_records_the_relation_names(tmp_path: Path) -> None:
    gf = built(tmp_path)
    with gf.open_store() as store:
        graph = store.graph()
    emb = workspace.train_embedding(graph, model="distmult", dim=4, epochs=1, threads=1)
    assert emb.config["relations"] == graph.relations == sorted(graph.relations)
    assert emb.config["model"] == "distmult" and emb.config["dim"] == 4 and emb.config["epochs"] == 1


# --- fit_similar: settings, links, warnings ---


def test_the_engine_records_the_default_settings_and_its_build(tmp_path: Path) -> None:
    gf = built(tmp_path)
    engine = fit_similar(gf.root, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    cfg = engine.config
    with gf.open_store() as store:
        assert cfg["build"] == store.meta["build"]
    for key in ("model", "weight", "backend", "sampler", "loss", "negatives", "query_relation", "query_direction",
                "exclude_linked", "text_hops"):  # fmt: skip
        assert cfg[key] == DEFAULT_ENGINE[key], key
    assert (cfg["dim"], cfg["epochs"], cfg["threads"]) == (4, 1, 1) and cfg["kge_seconds"] >= 0
    assert engine.weight == 0.4 and engine.exclude_linked is True and engine.text_hops == 1
    assert engine.graph_query is not None and engine.graph_query_2 is not None
    assert engine.graph is not None and engine.graph.shape[0] == 5  # the papers' rows of the embedding only


def test_the_engine_stores_the_citations_and_the_papers_in_no_edge(tmp_path: Path) -> None:
    gf = built(tmp_path)
    engine = fit_similar(gf.root, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert engine.links is not None
    pairs = {(int(i), int(j)) for i, j in zip(*engine.links.nonzero(), strict=True)}
    assert pairs == CITATIONS | {(j, i) for i, j in CITATIONS}  # symmetric, papers only
    assert engine.untrained.tolist() == [4]  # e
    assert engine.linked(engine.position("c")).tolist() == [0, 1, 3]


def test_the_blank_papers_warning_names_five_and_says_there_are_more(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lonely: list[dict[str, object]] = [{"id": f"z{i}", "title": ""} for i in range(6)]
    gf = built(tmp_path, [*RECORDS[:4], *lonely])
    with caplog.at_level(logging.WARNING, logger="discoverly.graph.workspace"):
        fit_similar(gf.root, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert (
        "6 of the 10 papers ('z0', 'z1', 'z2', 'z3', 'z4', …) have no text and are in no edge of the graph: they "
        "have nothing to be compared by, and `graph similar` refuses them; give them a title or abstract, or "
        "references"
    ) in caplog.text
    caplog.clear()
    gf = built(tmp_path, [*RECORDS[:4], *lonely[:5]])
    with caplog.at_level(logging.WARNING, logger="discoverly.graph.workspace"):
        fit_similar(gf.root, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert "5 of the 9 papers ('z0', 'z1', 'z2', 'z3', 'z4') have no text" in caplog.text


def test_settings_given_override_the_defaults_and_options_reach_the_trainer(tmp_path: Path) -> None:
    gf = built(tmp_path)
    encoder = HashEncoder()
    engine = fit_similar(
        gf.root, model="distmult", dim=6, epochs=2, weight=0.0, sampler="uniform", query_relation="none",
        exclude_linked=False, text_hops=0, encoder=encoder, threads=1, negatives=8, lr=0.02,
    )  # fmt: skip
    cfg = engine.config
    assert (cfg["model"], cfg["dim"], cfg["epochs"], cfg["weight"], cfg["sampler"]) == (
        "distmult",
        6,
        2,
        0.0,
        "uniform",
    )
    assert cfg["query_relation"] is None and engine.graph_query is None and engine.graph_query_2 is None
    assert cfg["exclude_linked"] is False and engine.exclude_linked is False and cfg["text_hops"] == 0
    assert cfg["loss"] == "softmax" and cfg["negatives"] == 8 and cfg["lr"] == 0.02
    # a graph-only engine embeds no text (the encoder is never called)
    assert encoder.calls == 0 and engine.text is None and engine.text_hops == 0 and not gf.text.exists()
    emb = workspace.KGEmbedding.load(gf.kge)
    assert emb.config["model"] == "distmult" and emb.config["dim"] == 6 and emb.config["negatives"] == 8
    assert emb.config["loss"] == "softmax" and emb.config["sampler"] == "uniform"


def test_the_logistic_loss_trains_with_the_trainers_own_negatives(tmp_path: Path) -> None:
    gf = built(tmp_path)
    # TransE: the softmax of the default engine does not apply; its 1,024 shared negatives neither
    engine = fit_similar(gf.root, model="transe", dim=4, epochs=1, encoder=HashEncoder(), threads=1,
                         query_direction="tail")  # fmt: skip
    assert engine.config["loss"] == "logistic" and "negatives" not in engine.config
    assert workspace.KGEmbedding.load(gf.kge).config["negatives"] == 64
    # an explicit loss is kept, and negatives given with it too
    engine = fit_similar(gf.root, model="complex", dim=4, epochs=1, encoder=HashEncoder(), threads=1,
                         loss="logistic", negatives=3)  # fmt: skip
    assert engine.config["loss"] == "logistic" and engine.config["negatives"] == 3
    assert workspace.KGEmbedding.load(gf.kge).config["negatives"] == 3


def test_the_pykeen_backend_gets_the_logistic_loss_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked without training: the settings the trainers are made with."""
    made: list[dict[str, object]] = []

    class StopError(Exception):
        pass

    def trainer(backend: str, **kw: object) -> None:
        made.append({"backend": backend, **kw})
        raise StopError

    monkeypatch.setattr(workspace, "_trainer", trainer)
    gf = built(tmp_path)
    with pytest.raises(StopError):
        fit_similar(gf.root, backend="pykeen", dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert made == [{"backend": "pykeen", "model": "complex", "dim": 4, "epochs": 1, "sampler": "typed",
                     "loss": "logistic", "threads": 1}]  # fmt: skip
    made.clear()
    with pytest.raises(StopError):
        fit_similar(gf.root, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert made == [{"backend": "torch", "model": "complex", "dim": 4, "epochs": 1, "sampler": "typed",
                     "loss": "softmax", "negatives": 1024, "threads": 1}]  # fmt: skip
    assert not gf.text.exists() and not gf.kge.exists()  # checked before the texts are embedded


def test_query_relation_none_or_empty_turns_relation_queries_off(tmp_path: Path) -> None:
    gf = built(tmp_path)
    for off in ("none", ""):
        engine = fit_similar(gf.root, dim=4, epochs=1, weight=0.0, query_relation=off, threads=1)
        assert engine.config["query_relation"] is None and engine.graph_query is None


def test_an_unknown_query_relation_names_the_graphs_relations(tmp_path: Path) -> None:
    gf = built(tmp_path)
    with gf.open_store() as store:
        relations = store.graph().relations
    with pytest.raises(ConfigError) as info:
        fit_similar(gf.root, dim=4, epochs=1, weight=0.0, query_relation="cited_by", threads=1)
    assert str(info.value) == (
        f"unknown query relation 'cited_by'; the graph has {relations} (or 'none' for queries with the papers' "
        "own graph vectors)"
    )
    assert not gf.kge.exists()


def test_without_citations_the_default_query_falls_back_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gf = built(tmp_path, [{**r, "references": []} for r in RECORDS])
    with caplog.at_level(logging.WARNING, logger="discoverly.graph.workspace"):
        engine = fit_similar(gf.root, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert (
        "the graph has no 'cites' edges (the papers list no references among themselves); graph queries use the "
        "papers' own vectors"
    ) in caplog.text
    assert engine.config["query_relation"] is None and engine.graph_query is None
    assert engine.links is not None and engine.links.nnz == 0


def test_papers_without_text_fit_graph_only_or_say_how(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gf = built(tmp_path, [{"id": r["id"], "title": "", "authors": r.get("authors", []), "references":
                           r.get("references", [])} for r in RECORDS], topics=False)  # fmt: skip
    with pytest.raises(DataError) as info:
        fit_similar(gf.root, weight=0.25, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert str(info.value) == (
        f"the papers of {q(gf.root)} have no text (title, abstract or body) for a text weight of 0.25; fit a "
        "graph-only engine with weight=0 (CLI: --weight 0)"
    )
    encoder = HashEncoder()
    with caplog.at_level(logging.WARNING, logger="discoverly.graph.workspace"):
        engine = fit_similar(gf.root, dim=4, epochs=1, encoder=encoder, threads=1)
    assert "the papers have no text (title, abstract or body): the engine is graph only (weight 0)" in caplog.text
    assert engine.weight == 0.0 and engine.config["weight"] == 0.0 and encoder.calls == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="discoverly.graph.workspace"):  # asked for: no word about it
        engine = fit_similar(gf.root, weight=0.0, dim=4, epochs=1, encoder=encoder, threads=1)
    assert engine.weight == 0.0 and "no text" not in caplog.text and encoder.calls == 0


def test_a_store_and_papers_table_that_disagree_are_refused(tmp_path: Path) -> None:
    gf = built(tmp_path)
    table = pl.read_parquet(gf.papers)
    table.reverse().write_parquet(gf.papers)  # the same papers in another order: other node numbers
    with pytest.raises(ArtifactError) as info:
        fit_similar(gf.root, dim=4, epochs=1, encoder=HashEncoder(), threads=1)
    assert str(info.value) == f"the store and papers table of {q(gf.root)} disagree; rebuild the folder"
    assert not gf.kge.exists() and not gf.text.exists()
    assert np.array_equal(pl.read_parquet(gf.papers)["id"].to_numpy(), table["id"].reverse().to_numpy())


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"weight": 1.5}, "the text weight must be in [0, 1] (0 = graph only, 1 = text only), got 1.5"),
        ({"weight": -0.25}, "the text weight must be in [0, 1] (0 = graph only, 1 = text only), got -0.25"),
        ({"weight": float("nan")}, "the text weight must be in [0, 1] (0 = graph only, 1 = text only), got nan"),
        ({"text_hops": -1}, "text_hops must be >= 0 (0 = a paper's own text), got -1"),
    ],
)
def test_a_text_weight_or_hops_out_of_range_is_refused_before_any_work(
    tmp_path: Path, setting: dict[str, float], message: str
) -> None:
    """`graph fit --weight 1.5` embedded the texts and trained (and saved) the graph embedding, and only then
    failed, in the engine, with 'the text weight must be in [0, 1]'."""
    gf = built(tmp_path)
    encoder = HashEncoder()
    with pytest.raises(ConfigError) as info:
        fit_similar(gf.root, dim=4, epochs=1, encoder=encoder, threads=1, **setting)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert encoder.calls == 0 and not gf.text.exists() and not gf.kge.exists()


def test_a_manifest_json_of_something_else_is_not_taken_for_an_artifact(tmp_path: Path) -> None:
    """A folder with a web app's manifest.json (no 'kind') was "'site' holds a None artifact, not a graph folder"."""
    site = manifest(tmp_path / "site", {"name": "My app", "start_url": "/"})
    (site / "index.html").write_text("<html></html>")
    with pytest.raises(ArtifactError) as info:
        GraphFolder(site).check_build_target()
    assert str(info.value) == (
        f"cannot build the graph in {q(site)}: the folder holds other files (index.html, manifest.json) and is not "
        "a graph folder; give a new or empty folder, e.g. graph/"
    )
    with pytest.raises(ArtifactError) as info:
        GraphFolder(site).check("store")
    assert str(info.value) == f"{q(site / 'graph.sqlite')} is missing; run `discoverly graph build` for {q(site)} first"


def test_train_embedding_defaults_and_what_the_trainer_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gf = built(tmp_path)
    with gf.open_store() as store:
        graph = store.graph()
    seen: dict[str, object] = {}

    class FakeTrainer:
        def fit(self, h, r, t, n_entities, n_relations, *, rng, progress):  # type: ignore[no-untyped-def]
            seen.update(triples=len(h), n_entities=n_entities, n_relations=n_relations, rng=rng, progress=progress)
            return workspace.KGEmbedding("transe", np.zeros((n_entities, 2)), np.zeros((n_relations, 2)))

    def trainer(backend: str, **kw: object) -> FakeTrainer:
        seen.update(backend=backend, **kw)
        return FakeTrainer()

    monkeypatch.setattr(workspace, "_trainer", trainer)
    emb = workspace.train_embedding(graph)
    assert seen == {
        "backend": "torch",
        "model": "transe",
        "dim": 64,
        "epochs": 40,
        "triples": graph.edges.height,
        "n_entities": graph.n_nodes,
        "n_relations": len(graph.relations),
        "rng": 0,
        "progress": False,
    }
    assert emb.config["relations"] == graph.relations
    seen.clear()
    # fit_similar hands its seed and progress setting on, to the trainer and to the text encoder
    shown: list[bool] = []

    class RecordingEncoder(HashEncoder):
        def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
            shown.append(progress)
            return super().encode(texts, progress=progress)

    encoder = RecordingEncoder()
    engine = fit_similar(gf.root, dim=4, epochs=1, rng=9, progress=True, encoder=encoder, threads=1)
    assert seen["rng"] == 9 and seen["progress"] is True and shown and all(shown)
    assert engine.text is not None and engine.text.shape == (5, encoder.dim)  # the encoder given made the vectors
    shown.clear()
    fit_similar(gf.root, dim=4, epochs=1, encoder=RecordingEncoder(), threads=1)  # progress off by default
    assert seen["rng"] == 0 and seen["progress"] is False


def test_the_query_direction_both_is_for_the_bilinear_models(tmp_path: Path) -> None:
    gf = built(tmp_path)
    engine = fit_similar(gf.root, model="complex", dim=4, epochs=1, weight=0.0, query_direction="both", threads=1)
    assert engine.config["query_direction"] == "both" and engine.graph_query is not None
    assert engine.graph_query_2 is None  # one query, the sum of the two
    with pytest.raises(ConfigError) as info:
        fit_similar(gf.root, model="transe", dim=4, epochs=1, weight=0.0, query_direction="both", threads=1)
    assert str(info.value) == (
        "query direction 'both' is defined for the bilinear models (distmult, complex), not for transe; use 'tail', "
        "'head' or 'tail+head'"
    )


def test_a_build_hands_its_settings_to_the_miners(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, dict[str, object]]] = []
    topic_model, concept_extractor = workspace.TopicModel, workspace.ConceptExtractor

    def topics(**kw: object) -> object:
        made.append(("topics", kw))
        return topic_model(**kw)  # type: ignore[arg-type]

    def concepts(**kw: object) -> object:
        made.append(("concepts", kw))
        return concept_extractor(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace, "TopicModel", topics)
    monkeypatch.setattr(workspace, "ConceptExtractor", concepts)
    papers = Papers.from_records(tiny_records(6))
    build_graph_folder(papers, tmp_path / "new" / "deeper" / "g", rng=5, concept_method="collocations")
    assert made == [("concepts", {"method": "collocations"}), ("topics", {"n_topics": 10, "rng": 5})]  # default 10
    assert GraphFolder(tmp_path / "new" / "deeper" / "g").store.is_file()  # the missing folders are made
    made.clear()
    graph, _ = build_graph_folder(papers, tmp_path / "h", n_topics=2, concepts=False)
    assert made == [("topics", {"n_topics": 2, "rng": 0})]  # no concepts mined
    assert "concept" not in graph.nodes["kind"].to_list()
    graph, _ = build_graph_folder(papers, tmp_path / "i", n_topics=2)
    assert "concept" in graph.nodes["kind"].to_list()  # these papers do have concepts to mine


def test_a_build_locks_the_folder_exclusively_and_a_fit_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    modes: list[bool] = []
    lock = workspace._folder_lock

    def recording(folder: Path, *, exclusive: bool):  # type: ignore[no-untyped-def]
        modes.append(exclusive)
        return lock(folder, exclusive=exclusive)

    monkeypatch.setattr(workspace, "_folder_lock", recording)
    gf = built(tmp_path)
    fit_similar(gf.root, dim=4, epochs=1, weight=0.0, threads=1)
    assert modes == [True, False]


def test_the_text_weight_may_be_0_or_1(tmp_path: Path) -> None:
    gf = built(tmp_path)
    assert fit_similar(gf.root, dim=4, epochs=1, weight=1.0, encoder=HashEncoder(), threads=1).weight == 1.0
    assert fit_similar(gf.root, dim=4, epochs=1, weight=0.0, threads=1).weight == 0.0


def test_a_graph_folder_whose_papers_table_is_a_folder_is_refused(tmp_path: Path) -> None:
    gf = built(tmp_path)
    gf.papers.unlink()
    gf.papers.mkdir()
    with pytest.raises(ArtifactError) as info:
        gf.check_build_target()
    assert str(info.value).startswith(f"cannot write the graph to {q(gf.papers)}: it is a folder")
