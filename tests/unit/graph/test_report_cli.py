from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from discoverly.cli.app import main
from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.graph.kge import KGEmbedding
from discoverly.graph.papers import Papers
from discoverly.graph.report import graph_report
from discoverly.graph.workspace import GraphFolder, build_graph_folder, fit_similar

from .conftest import tiny_records


@pytest.fixture
def folder(tmp_path: Path, hash_encoder) -> Path:  # type: ignore[no-untyped-def]
    papers = Papers.from_records(tiny_records(15))
    build_graph_folder(papers, tmp_path / "g", n_topics=2)
    fit_similar(tmp_path / "g", dim=8, epochs=3, encoder=hash_encoder, threads=1)
    return tmp_path / "g"


def test_a_paper_with_no_text_and_no_edge_is_warned_about_and_refused(tmp_path: Path, hash_encoder,  # type: ignore[no-untyped-def]
                                                                         caplog: pytest.LogCaptureFixture,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Its graph vector is the random start (the training never moves it), so `graph similar` answered
    random neighbours with no word at fit time or query time. A paper with an author is in the graph."""
    records = [*tiny_records(6), {"id": "L1", "title": ""}, {"id": "L2", "title": "", "authors": ["Author P1"]}]
    build_graph_folder(Papers.from_records(records), tmp_path / "g", n_topics=2)
    with caplog.at_level("WARNING", logger="discoverly.graph.workspace"):
        engine = fit_similar(tmp_path / "g", dim=8, epochs=2, encoder=hash_encoder, threads=1)
    assert "1 of the 14 papers ('L1') have no text and are in no edge of the graph" in caplog.text
    assert engine.ids[engine.blank].tolist() == ["L1"]
    assert main(["graph", "similar", "L1", "-g", str(tmp_path / "g")]) == 3  # DataError
    err = capsys.readouterr().err
    assert "'L1' has no text and is in no edge of the graph" in err and "Traceback" not in err
    assert main(["graph", "similar", "L2", "-g", str(tmp_path / "g"), "-k", "3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


def test_folder_layout_and_engine(folder: Path) -> None:
    gf = GraphFolder(folder)
    for part in ("store", "papers", "text", "kge", "similar"):
        assert getattr(gf, part).exists()
    engine = gf.load_similar()
    assert len(engine) == 30 and engine.config["model"] == "complex"
    assert engine.config["query_relation"] == "cites" and engine.graph_query is not None  # the default engine
    assert engine.similar("P3", k=5).height == 5


def test_report_has_every_section(folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = graph_report(folder, tmp_path / "r.html", samples=2, evaluate=False)
    text = out.read_text(encoding="utf-8")
    for heading in ("The graph", "Popularity of recommended papers", "Topic intersection", "Map of the fused vectors",
                    "Sample papers and their recommendations"):
        assert heading in text
    assert text.count("<img") == 2 and "text-only" in text and "graph-only" in text


def test_report_refuses_a_negative_sample_count(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="samples"):  # was sources[:-1]: every sampled paper but one
        graph_report(folder, tmp_path / "r.html", samples=-1, evaluate=False)


def test_report_on_too_few_citations_says_to_leave_out_the_evaluation(tmp_path: Path, hash_encoder) -> None:  # type: ignore[no-untyped-def]
    """A graph with 3 citation edges failed at the end of the report, after its work, with 'too few to
    hide a share of them' and no word of --no-evaluate."""
    records = tiny_records(3)  # 3 papers a side, each citing the earlier ones of its side: 6 edges
    build_graph_folder(Papers.from_records(records), tmp_path / "g", n_topics=2)
    fit_similar(tmp_path / "g", dim=4, epochs=1, encoder=hash_encoder, threads=1)
    with pytest.raises(DataError, match=r"only 6 citation edges.*--no-evaluate"):
        graph_report(tmp_path / "g", tmp_path / "r.html", samples=1)
    assert not (tmp_path / "r.html").exists()
    assert graph_report(tmp_path / "g", tmp_path / "r.html", samples=1, evaluate=False).is_file()


def test_report_evaluates_the_engine_with_its_own_text_hops(folder: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy evaluation of the report ran with the papers' own text (text_hops 0) while the fitted
    engine spreads the text over the citations (the default, 1): it scored another engine."""
    pytest.importorskip("matplotlib")
    from discoverly.graph import evaluation

    seen: dict[str, object] = {}

    class StopError(Exception):
        pass

    def fake(*args: object, **kwargs: object) -> None:
        seen.update(kwargs)
        raise StopError

    monkeypatch.setattr(evaluation, "run_protocol", fake)
    with pytest.raises(StopError):
        graph_report(folder, tmp_path / "r.html", samples=1)
    engine = GraphFolder(folder).load_similar()
    assert engine.text_hops == 1 and seen["text_hops"] == (1,) and seen["exclude_linked"] is True


def test_similar_engine_without_its_weight_is_an_artifact_error(folder: Path) -> None:
    from discoverly.errors import ArtifactError

    path = GraphFolder(folder).similar
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["weight"]  # was a bare KeyError
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="no 'weight'"):
        GraphFolder(folder).load_similar()


def test_cli_build_rank_export_similar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "papers.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in tiny_records(10)))
    g = tmp_path / "g"
    assert main(["graph", "build", "--papers", str(src), "-g", str(g), "--topics", "2", "--no-progress"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["nodes"]["paper"] == 20 and built["edges"]["cites"] > 0
    assert main(["graph", "rank", "-g", str(g), "-k", "3", "--json"]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert len(ranked) == 3 and ranked[0]["citations"] >= ranked[-1]["citations"]
    assert main(["graph", "rank", "-g", str(g), "--concepts", "-k", "2", "--json"]) == 0  # the names --about takes
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 2 and set(listed[0]) == {"concept", "papers"}
    # --concept was silently left out with --about
    about, concept = listed[0]["concept"], listed[1]["concept"]
    assert main(["graph", "rank", "-g", str(g), "--about", about, "--concept", concept]) == 2
    assert "does not combine with --about" in capsys.readouterr().err
    assert main(["graph", "export", str(tmp_path / "neo"), "-g", str(g), "--format", "neo4j"]) == 0
    assert (tmp_path / "neo" / "nodes_paper.csv").exists()
    capsys.readouterr()
    # graph-only engine: no text model needed
    assert main(["graph", "fit", "-g", str(g), "--weight", "0", "--dim", "8", "--epochs", "2", "--threads", "1",
                 "--sampler", "typed", "--query-relation", "cites", "--no-progress"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["sampler"] == "typed" and fitted["weight"] == 0
    assert fitted["query_relation"] == "cites" and fitted["query_direction"] == "tail+head"  # the defaults
    assert fitted["exclude_linked"] is True
    assert GraphFolder(g).load_similar().graph_query is not None  # saved with the engine
    assert main(["graph", "similar", "P1", "-g", str(g), "-k", "4", "--json"]) == 0
    sims = json.loads(capsys.readouterr().out)
    assert [s["rank"] for s in sims] == [1, 2, 3, 4] and all(s["id"] != "P1" for s in sims)
    # the papers P1 cites or is cited by, from the store: left out by default, kept with --include-linked
    engine = GraphFolder(g).load_similar()
    linked = set(engine.ids[engine.linked(engine.position("P1"))].tolist())
    assert linked and engine.exclude_linked
    assert main(["graph", "similar", "P1", "-g", str(g), "-k", "19", "--include-linked", "--json"]) == 0
    assert linked <= {s["id"] for s in json.loads(capsys.readouterr().out)}
    assert main(["graph", "similar", "P1", "-g", str(g), "-k", "19", "--json"]) == 0
    kept = {s["id"] for s in json.loads(capsys.readouterr().out)}
    assert not linked & kept and len(kept) == 19 - len(linked)
    # fitted with --include-linked, the engine keeps them by default; --exclude-linked per query
    assert main(["graph", "fit", "-g", str(g), "--weight", "0", "--dim", "8", "--epochs", "2", "--threads", "1",
                 "--include-linked", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["exclude_linked"] is False
    assert main(["graph", "similar", "P1", "-g", str(g), "-k", "19", "--json"]) == 0
    assert linked <= {s["id"] for s in json.loads(capsys.readouterr().out)}
    assert main(["graph", "similar", "P1", "-g", str(g), "-k", "19", "--exclude-linked", "--json"]) == 0
    assert not linked & {s["id"] for s in json.loads(capsys.readouterr().out)}
    # tail and head queries, merged by score
    assert main(["graph", "fit", "-g", str(g), "--weight", "0", "--dim", "8", "--epochs", "2", "--threads", "1",
                 "--query-direction", "tail+head", "--loss", "softmax", "--negatives", "16", "--no-progress"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["query_direction"] == "tail+head" and fitted["loss"] == "softmax" and fitted["negatives"] == 16
    assert KGEmbedding.load(GraphFolder(g).kge).config["loss"] == "softmax"
    both = GraphFolder(g).load_similar()
    assert both.graph_query is not None and both.graph_query_2 is not None
    assert not np.allclose(both.graph_query, both.graph_query_2)


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "rank", "-g", str(tmp_path / "none")]) == 6
    assert "graph build" in capsys.readouterr().err
    assert main(["graph", "build", "-g", str(tmp_path / "x")]) == 2
    assert "exactly one input" in capsys.readouterr().err
    # the papers file's own column names (the error message of read_papers points at these options)
    src = tmp_path / "papers.csv"
    src.write_text("paper_id,name\np1,Dependency parsing\np2,Parsing with treebanks\n")
    assert main(["graph", "build", "--papers", str(src), "-g", str(tmp_path / "x"), "--no-progress"]) == 3
    assert "--id-column" in capsys.readouterr().err
    assert main(["graph", "build", "--papers", str(src), "-g", str(tmp_path / "x"), "--id-column", "paper_id",
                 "--title-column", "name", "--topics", "2", "--concepts", "none", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"]["paper"] == 2
    # every field's column can be named (a Zotero export: Author, Publication Year, Abstract Note, ...)
    zotero = tmp_path / "zotero.csv"
    zotero.write_text("Key,Title,Author,Publication Year,Abstract Note,Publication Title\n"
                      'K1,Parsing with treebanks,"Smith, Ann; Roe, Bob",2019,We parse,ACL\n'
                      'K2,Translation of parses,"Roe, Bob",2020,We translate,EMNLP\n')
    assert main(["graph", "build", "--papers", str(zotero), "-g", str(tmp_path / "z"), "--id-column", "Key",
                 "--authors-column", "Author", "--year-column", "Publication Year", "--abstract-column",
                 "Abstract Note", "--venue-column", "Publication Title", "--topics", "2", "--concepts", "none",
                 "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"] == {"author": 2, "paper": 2, "topic": 2, "venue": 2}
    papers = GraphFolder(tmp_path / "z").load_papers()
    assert papers.row("K1")["year"] == 2019 and papers.row("K1")["abstract"] == "We parse"


def test_an_artifact_given_as_the_graph_folder_is_named(folder: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # a search engine, or the graph folder's own similar/: was "run `discoverly graph fit` for ... first"
    from discoverly.artifacts import write_artifact

    write_artifact(tmp_path / "search", {"kind": "search-engine"})
    assert main(["graph", "similar", "P1", "-g", str(tmp_path / "search")]) == 6
    assert "holds a 'search-engine' artifact, not a graph folder" in capsys.readouterr().err
    assert main(["graph", "rank", "-g", str(folder / "similar")]) == 6
    assert f"give the graph folder it belongs to, {str(folder)!r}" in capsys.readouterr().err
    papers = tmp_path / "papers.jsonl"  # the papers file given as the graph folder
    papers.write_text('{"id": "p1", "title": "x"}\n')
    for command in (["similar", "p1"], ["rank"], ["export", str(tmp_path / "out")]):
        assert main(["graph", *command, "-g", str(papers)]) == 6
        assert f"{str(papers)!r} is a file, not a graph folder" in capsys.readouterr().err


def test_a_rebuild_drops_the_engine_trained_on_the_previous_graph(folder: Path) -> None:
    """`graph build` over a folder from other papers kept similar/ and kge/: `graph similar`
    answered from the old graph (papers no longer in it, without titles)."""
    build_graph_folder(Papers.from_records(tiny_records(8)), folder, n_topics=2)
    gf = GraphFolder(folder)
    assert not gf.similar.exists() and not gf.kge.exists() and gf.text.exists()  # text vectors: a keyed cache
    assert len(gf.load_papers()) == 16 and not list(folder.glob(".*"))
    with pytest.raises(ArtifactError, match="run `discoverly graph fit`"):
        gf.load_similar()


def test_an_engine_fitted_while_the_graph_was_rebuilt_is_refused(tmp_path: Path, hash_encoder,  # type: ignore[no-untyped-def]
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`graph build` while a `graph fit` of the same folder ran: the build removed no engine (none yet),
    the fit then saved one trained on the old graph, and `graph similar` answered from it."""
    from discoverly.graph import workspace

    folder = tmp_path / "g"
    build_graph_folder(Papers.from_records(tiny_records(6)), folder, n_topics=2)
    train = workspace.train_embedding

    def rebuilt_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        build_graph_folder(Papers.from_records(tiny_records(6)), folder, n_topics=3)
        return train(*args, **kwargs)

    monkeypatch.setattr(workspace, "train_embedding", rebuilt_meanwhile)
    fit_similar(folder, dim=4, epochs=1, encoder=hash_encoder, threads=1)
    with pytest.raises(ArtifactError, match="fitted on an earlier build of the graph; run `discoverly graph fit`"):
        GraphFolder(folder).load_similar()
    monkeypatch.setattr(workspace, "train_embedding", train)
    fit_similar(folder, dim=4, epochs=1, encoder=hash_encoder, threads=1)
    assert len(GraphFolder(folder).load_similar()) == 12



def test_a_build_is_named_by_what_it_wrote(tmp_path: Path) -> None:
    """The same papers and options give the same build id (it was random: every build's store differed);
    another graph gets another id."""

    def build_id(folder: Path, n_topics: int) -> str:
        build_graph_folder(Papers.from_records(tiny_records(6)), folder, n_topics=n_topics, rng=0)
        with GraphFolder(folder).open_store() as store:
            return str(store.meta["build"])

    first = build_id(tmp_path / "a", 2)
    assert build_id(tmp_path / "b", 2) == first and build_id(tmp_path / "a", 2) == first
    assert build_id(tmp_path / "c", 3) != first

def test_fit_defaults_follow_the_model(tmp_path: Path, hash_encoder) -> None:  # type: ignore[no-untyped-def]
    from discoverly.graph.workspace import DEFAULT_ENGINE

    build_graph_folder(Papers.from_records(tiny_records(8)), tmp_path / "g", n_topics=2)
    engine = fit_similar(tmp_path / "g", dim=8, epochs=1, encoder=hash_encoder, threads=1)
    assert engine.config["loss"] == DEFAULT_ENGINE["loss"] == "softmax" and engine.exclude_linked
    assert engine.config["query_direction"] == "tail+head" and engine.graph_query_2 is not None
    # TransE cannot use the softmax loss: without an explicit loss it trains with the logistic one
    transe = fit_similar(tmp_path / "g", model="transe", dim=8, epochs=1, encoder=hash_encoder, threads=1,
                         query_direction="tail")
    emb = KGEmbedding.load(GraphFolder(tmp_path / "g").kge)
    assert transe.config["loss"] == "logistic" and emb.config["negatives"] == 64


def test_fit_checks_the_query_settings_before_training(tmp_path: Path, hash_encoder) -> None:  # type: ignore[no-untyped-def]
    build_graph_folder(Papers.from_records(tiny_records(6)), tmp_path / "g", n_topics=2)
    gf = GraphFolder(tmp_path / "g")
    bad = ({"query_direction": "sideways"}, {"query_relation": "cited_by"},
           {"model": "transe", "query_direction": "both"})
    for settings in bad:  # each was found only after the embedding had been trained (and saved)
        with pytest.raises(ConfigError, match="query"):
            fit_similar(gf.root, dim=8, epochs=1, encoder=hash_encoder, threads=1, **settings)  # type: ignore[arg-type]
        assert not gf.kge.exists()
    with pytest.raises(ConfigError, match="tail\\+head"):
        KGEmbedding("complex", np.ones((2, 4)), np.ones((1, 4))).query_pair(0, "sideways")


def test_fit_without_citations_uses_the_papers_own_graph_vectors(tmp_path: Path, hash_encoder) -> None:  # type: ignore[no-untyped-def]
    # a papers file without references: the default relation-aware query (cites) has nothing to use,
    # and `graph fit` failed after training with "unknown relation 'cites'"
    records = [{**r, "references": []} for r in tiny_records(6)]
    build_graph_folder(Papers.from_records(records), tmp_path / "g", n_topics=2)
    engine = fit_similar(tmp_path / "g", dim=8, epochs=1, encoder=hash_encoder, threads=1)
    assert engine.graph_query is None and engine.config["query_relation"] is None
    assert engine.similar("P0", k=2).height == 2
    with pytest.raises(ConfigError, match="unknown query relation 'cites'"):  # asked for explicitly: an error
        fit_similar(tmp_path / "g", dim=8, epochs=1, encoder=hash_encoder, threads=1, query_relation="cites")


def test_papers_without_text_build_and_fit_a_graph_only_engine(tmp_path: Path, hash_encoder,  # type: ignore[no-untyped-def]
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A file of ids, authors and references only: the build failed on the topics ('give titles or
    abstracts') with no way to leave them out, and the fit with 'the papers have no text to embed'."""
    src = tmp_path / "papers.jsonl"
    src.write_text("\n".join(json.dumps({"id": f"n{i}", "title": "", "authors": [f"A{i % 3}"],
                                         "references": [f"n{j}" for j in range(max(0, i - 2), i)]})
                             for i in range(12)))
    g = tmp_path / "g"
    assert main(["graph", "build", "--papers", str(src), "-g", str(g), "--no-progress"]) == 3
    assert "--topics 0" in capsys.readouterr().err
    assert main(["graph", "build", "--papers", str(src), "-g", str(g), "--topics", "0", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"] == {"author": 3, "paper": 12}
    with pytest.raises(DataError, match="weight=0"):  # a text weight asked for explicitly
        fit_similar(g, weight=0.5, dim=4, epochs=1, encoder=hash_encoder, threads=1)
    engine = fit_similar(g, dim=4, epochs=1, encoder=hash_encoder, threads=1)
    assert engine.weight == 0.0 and engine.text is None and engine.similar("n5", k=3).height == 3
    pytest.importorskip("matplotlib")
    text = graph_report(g, tmp_path / "r.html", samples=1, evaluate=False).read_text(encoding="utf-8")
    assert "The graph has no topics" in text and "nan" not in text  # was a topic table of 'nan [nan, nan]'


@pytest.mark.parametrize("n_papers", [1, 2])
def test_report_on_one_or_two_papers(tmp_path: Path, hash_encoder, n_papers: int) -> None:  # type: ignore[no-untyped-def]
    """t-SNE of one or two papers was a raw 'perplexity (2.0) must be less than n_samples'; with no
    recommendation left (the only other paper is linked) the popularity table warned 'Mean of empty slice'."""
    pytest.importorskip("matplotlib")
    records = [{"id": "a", "title": "Dependency parsing with treebanks"},
               {"id": "b", "title": "Machine translation with phrase tables", "references": ["a"]}][:n_papers]
    build_graph_folder(Papers.from_records(records), tmp_path / "g", n_topics=2)
    fit_similar(tmp_path / "g", dim=4, epochs=1, encoder=hash_encoder, threads=1)
    text = graph_report(tmp_path / "g", tmp_path / "r.html", samples=2, evaluate=False).read_text(encoding="utf-8")
    assert "Popularity of recommended papers" in text and "Map of the fused vectors" not in text


def test_similar_says_why_it_has_fewer_than_k(tmp_path: Path, hash_encoder,  # type: ignore[no-untyped-def]
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Three papers that all cite each other: with linked papers left out, `graph similar` printed an empty
    table and nothing else."""
    records = [{"id": "A", "title": "parsing with trees", "references": ["B"]},
               {"id": "B", "title": "tagging words"},
               {"id": "C", "title": "neural parsing", "references": ["A", "B"]}]
    build_graph_folder(Papers.from_records(records), tmp_path / "g", n_topics=2)
    fit_similar(tmp_path / "g", dim=4, epochs=1, encoder=hash_encoder, threads=1, exclude_linked=True)
    assert main(["graph", "similar", "A", "-g", str(tmp_path / "g"), "--json"]) == 0
    got = capsys.readouterr()
    assert json.loads(got.out) == []
    assert got.err == ("note: 0 similar paper(s), fewer than k=10: 2 of the 2 other papers are linked to 'A' (they "
                       "cite it or it cites them) and are left out; --include-linked keeps them\n")
    assert main(["graph", "similar", "A", "-g", str(tmp_path / "g"), "--include-linked", "--json"]) == 0
    got = capsys.readouterr()
    assert sorted(r["id"] for r in json.loads(got.out)) == ["B", "C"]
    assert got.err == "note: 2 similar paper(s), fewer than k=10: the engine has 2 other papers\n"
    assert main(["graph", "similar", "A", "-g", str(tmp_path / "g"), "--include-linked", "-k", "2"]) == 0
    assert capsys.readouterr().err == ""  # k answered: no note
