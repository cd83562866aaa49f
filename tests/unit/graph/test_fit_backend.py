"""``fit_similar`` / ``discoverly graph fit --backend pykeen``: the engine default's loss is the torch backend's."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from discoverly.errors import ArtifactError, ConfigError
from discoverly.graph.kge import KGEmbedding
from discoverly.graph.papers import Papers, read_papers
from discoverly.graph.workspace import GraphFolder, build_graph_folder, fit_similar

from .conftest import tiny_records


def test_pykeen_backend_trains_with_its_self_adversarial_loss(tmp_path: Path, hash_encoder) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pykeen")
    build_graph_folder(Papers.from_records(tiny_records(6)), tmp_path / "g", n_topics=2)
    gf = GraphFolder(tmp_path / "g")
    # the default engine's sampled softmax (and TransE's 'logistic') failed in PyKEENTrainer after the texts
    # were embedded: "unknown PyKEEN loss 'softmax'; use 'nssa' or 'default'"
    for model in ("complex", "transe"):
        engine = fit_similar(gf.root, model=model, dim=8, epochs=1, backend="pykeen", encoder=hash_encoder,
                             threads=1, query_direction="tail")
        emb = KGEmbedding.load(gf.kge)
        assert emb.backend == "pykeen" and emb.config["loss"] == "nssa" and emb.config["negatives"] == 64
        assert engine.config["loss"] == "logistic" and engine.similar("P0", k=2).height == 2


def test_softmax_with_the_pykeen_backend_is_refused_before_any_work(tmp_path: Path, hash_encoder) -> None:  # type: ignore[no-untyped-def]
    build_graph_folder(Papers.from_records(tiny_records(6)), tmp_path / "g", n_topics=2)
    gf = GraphFolder(tmp_path / "g")
    with pytest.raises(ConfigError, match="torch backend only"):
        fit_similar(gf.root, dim=8, epochs=1, backend="pykeen", loss="softmax", encoder=hash_encoder, threads=1)
    with pytest.raises(ConfigError, match="unknown KG embedding backend"):
        fit_similar(gf.root, dim=8, epochs=1, backend="nope", encoder=hash_encoder, threads=1)
    # the torch backend's own settings were dropped without a word: --max-seconds 60 did not cap the training
    with pytest.raises(ConfigError) as info:
        fit_similar(gf.root, dim=8, epochs=1, backend="pykeen", encoder=hash_encoder, threads=1, max_seconds=60,
                    weight_decay=0.1, lr=0.01)
    assert str(info.value) == (
        "the pykeen backend does not take ['max_seconds', 'weight_decay'] (the torch backend's settings); its "
        "settings are: adversarial_temperature, batch_size, dim, epochs, gamma, loss, lr, model, negatives, sampler, "
        "threads")
    assert not gf.kge.exists() and not gf.text.exists()  # nothing embedded or trained


def test_graph_fit_with_pykeen_refuses_max_seconds(tmp_path: Path) -> None:
    from discoverly.cli.app import main

    build_graph_folder(Papers.from_records(tiny_records(6)), tmp_path / "g", n_topics=2)
    assert main(["graph", "fit", "-g", str(tmp_path / "g"), "--backend", "pykeen", "--max-seconds", "60"]) == 2
    assert not GraphFolder(tmp_path / "g").kge.exists()


def test_graph_build_refuses_a_file_or_a_folder_of_other_things_before_the_work(tmp_path: Path) -> None:
    """A file as the graph folder was a raw NotADirectoryError after the mining; a folder of other
    things was written into (and a `similar/` folder of the user's would have been deleted as stale);
    a build that failed left an empty graph folder behind."""
    papers = Papers.from_records(tiny_records(6))
    file = tmp_path / "notes.txt"
    file.write_text("keep")
    with pytest.raises(ArtifactError, match="it is a file"):
        build_graph_folder(papers, file, n_topics=2)
    mine = tmp_path / "mine"
    (mine / "similar").mkdir(parents=True)
    (mine / "similar" / "photo.jpg").write_text("keep")
    with pytest.raises(ArtifactError, match=r"holds other files \(similar\) and is not a graph folder"):
        build_graph_folder(papers, mine, n_topics=2)
    assert (mine / "similar" / "photo.jpg").read_text() == "keep"
    killed = tmp_path / "killed"  # a build killed while writing its papers table left only that
    killed.mkdir()
    (killed / ".papers.parquet.12345.tmp").write_bytes(b"half")
    (killed / ".DS_Store").write_bytes(b"")
    build_graph_folder(papers, killed, n_topics=2)
    with pytest.raises(ConfigError):  # a failure before writing leaves no folder
        build_graph_folder(papers, tmp_path / "new", n_topics=0)
    assert not (tmp_path / "new").exists()
    build_graph_folder(papers, tmp_path / "g", n_topics=2)
    build_graph_folder(papers, tmp_path / "g", n_topics=2)  # an earlier graph folder is rebuilt
    assert GraphFolder(tmp_path / "g").store.is_file()


def test_graph_build_does_not_replace_the_users_own_papers_parquet(tmp_path: Path) -> None:
    """`--papers papers.parquet -g .` took the folder for a graph folder (it has a papers.parquet) and
    replaced the user's file, extra columns and all, with the build's table."""
    project = tmp_path / "project"
    project.mkdir()
    mine = project / "papers.parquet"
    pl.DataFrame(tiny_records(6)).with_columns(doi=pl.lit("10.1/x")).write_parquet(mine)
    before = mine.read_bytes()
    with pytest.raises(ArtifactError, match=r"its papers\.parquet is not the papers table of a graph build"):
        build_graph_folder(read_papers(mine), project, n_topics=2)
    assert mine.read_bytes() == before and not (project / "graph.sqlite").exists()
    killed = tmp_path / "killed"  # a build killed before its store left the papers table alone: rebuilt
    killed.mkdir()
    Papers.from_records(tiny_records(6)).table.write_parquet(killed / "papers.parquet")
    build_graph_folder(read_papers(killed / "papers.parquet"), killed, n_topics=2)
    assert (killed / "graph.sqlite").is_file()


def test_builds_of_one_folder_write_it_one_at_a_time(tmp_path: Path) -> None:
    """Two builds into one folder at once could leave the papers table of one next to the store of the
    other (each file was replaced on its own). A build now writes both under the folder's lock."""
    fcntl = pytest.importorskip("fcntl")
    import os
    import threading
    import time

    folder = tmp_path / "g"
    build_graph_folder(Papers.from_records(tiny_records(3)), folder, n_topics=2)
    held = os.open(folder, os.O_RDONLY)  # another build writing the folder
    fcntl.flock(held, fcntl.LOCK_EX)
    worker = threading.Thread(target=build_graph_folder, args=(Papers.from_records(tiny_records(6)), folder),
                              kwargs={"n_topics": 2})
    try:
        worker.start()
        time.sleep(1.5)  # the mining is done by now; the writing waits for the lock
        assert len(GraphFolder(folder).load_papers()) == 6 and worker.is_alive()  # still the first build
    finally:
        os.close(held)
        worker.join(60)
    gf = GraphFolder(folder)
    with gf.open_store() as store:
        assert store.graph().keys(range(12)) == gf.load_papers().table["id"].to_list()


def test_a_graph_build_killed_while_writing_leaves_nothing_the_next_build_keeps(tmp_path: Path) -> None:
    """A build killed outright (SIGKILL, the out-of-memory killer) while writing its papers table or its
    SQLite store left `.papers.parquet.PID.tmp` / `.graph.sqlite.XXXX.tmp` in the folder for good, the
    size of the whole graph. Both now write through locked staging folders that the next build sweeps."""
    import os
    import subprocess
    import sys
    import time

    gf = GraphFolder(tmp_path / "g")
    build_graph_folder(Papers.from_records(tiny_records(6)), gf.root, n_topics=2)
    writer = ("import os, signal, sys\n"
              "from discoverly.artifacts import staging_folder\n"
              "for target in sys.argv[1:]:\n"
              "    d = staging_folder(target)\n"
              "    (d / os.path.basename(target)).write_bytes(b'half' * 1000)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", writer, str(gf.papers), str(gf.store)], check=False,
                            capture_output=True)
    assert killed.returncode == -9, killed.stderr
    left = [p for p in gf.root.iterdir() if p.name.startswith(".")]
    assert len(left) == 2
    long_ago = time.time() - 3600  # a folder under a minute old may be a live writer's that has not locked it yet
    for folder in left:
        os.utime(folder, (long_ago, long_ago))
    build_graph_folder(Papers.from_records(tiny_records(6)), gf.root, n_topics=2)
    assert not any(p.exists() for p in left)
    assert not [p.name for p in gf.root.iterdir() if p.name.startswith(".")]  # the build's own stages are gone too
    assert GraphFolder(gf.root).store.is_file() and gf.papers.is_file()
