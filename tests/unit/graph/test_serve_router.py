from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from discoverly.graph.papers import Papers
from discoverly.graph.workspace import build_graph_folder, fit_similar

from .conftest import tiny_records

pytest.importorskip("fastapi")
pytest.importorskip("httpx")


@pytest.fixture
def client(tmp_path: Path, hash_encoder):  # type: ignore[no-untyped-def]
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from discoverly.serve.problems import install_problem_handlers
    from discoverly.serve.routers.graph import create_router

    records = [*tiny_records(10), {"id": "L1", "title": ""}]  # no text, no edge: nothing to compare it by
    build_graph_folder(Papers.from_records(records), tmp_path / "g", n_topics=2)
    fit_similar(tmp_path / "g", dim=8, epochs=2, encoder=hash_encoder, threads=1)
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(create_router(tmp_path / "g", SimpleNamespace(config=SimpleNamespace(max_k=50))))  # type: ignore[arg-type]
    return TestClient(app)


def test_similar_rank_and_paper(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/papers/P3/similar", params={"k": 4})
    assert r.status_code == 200
    body = r.json()
    assert [s["rank"] for s in body["similar"]] == [1, 2, 3, 4]
    assert all(s["id"] != "P3" and s["title"] for s in body["similar"])
    ranked = client.get("/papers/rank", params={"k": 3}).json()["papers"]
    assert len(ranked) == 3 and ranked[0]["citations"] >= ranked[2]["citations"]
    topic = client.get("/papers/rank").json()
    assert topic["topic"] is None
    paper = client.get("/papers/P1").json()
    assert paper["title"].startswith("Improved") and "authored_by" in paper["neighbours"]
    page = client.get("/ui/papers/P1")
    assert page.status_code == 200 and "Similar papers" in page.text and "Neighbourhood" in page.text
    assert page.text.count("<div class='scroll'><table>") == 2  # tables scroll sideways on a phone


def test_errors_are_problems(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/papers/nope/similar").status_code == 404
    assert client.get("/papers/rank", params={"topic": "no-such-topic"}).status_code == 404
    too_many = client.get("/papers/P1/similar", params={"k": 500})
    assert too_many.status_code == 422 and too_many.json()["detail"] == (
        "k=500 is larger than the limit of 50; ask for at most k=50 (the service's max_k setting)")
    assert client.get("/papers/P1/similar", params={"k": 0}).status_code == 422
    assert client.get("/ui/papers/nope").status_code == 404


def test_a_paper_with_nothing_to_compare_by_has_no_similar_papers(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/papers/L1/similar")
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert "'L1' has no text and is in no edge of the graph" in r.json()["detail"]
    page = client.get("/ui/papers/L1")  # the paper's page, which says why there are no similar papers
    assert page.status_code == 200 and "No similar papers: &#x27;L1&#x27; has no text" in page.text


def test_rank_refuses_more_concepts_than_it_can_intersect(client) -> None:  # type: ignore[no-untyped-def]
    """Each ``about`` is one SQL condition: a thousand repeats made SQLite refuse the query (a 500)."""
    concept = client.get("/papers/P1").json()["neighbours"]["associated_concept"][0]["key"]
    assert client.get("/papers/rank", params=[("about", concept)] * 20).status_code == 200
    r = client.get("/papers/rank", params=[("about", concept)] * 1200)
    assert r.status_code == 422 and "at most 20" in r.json()["detail"], r.text
