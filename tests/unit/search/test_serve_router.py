"""GET /search and /ui/search over a saved engine."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from discoverly.data import Catalog, Interactions
from discoverly.search.engine import SearchEngine
from discoverly.search.index import IndexConfig

pytest.importorskip("fastapi")
pytest.importorskip("httpx")


@pytest.fixture
def client(tmp_path: Path, catalog: Catalog, purchases: Interactions) -> Any:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from discoverly.serve.problems import install_problem_handlers
    from discoverly.serve.routers.search import create_router

    engine = SearchEngine.build(catalog, purchases, index_config=IndexConfig(dense=False))
    engine.save(tmp_path / "engine")
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(create_router(tmp_path / "engine", SimpleNamespace(config=SimpleNamespace(max_k=50))))  # type: ignore[arg-type]
    return TestClient(app)


def test_search_answers_with_understanding(client: Any) -> None:
    r = client.get("/search", params={"q": "Strawbery 32 oz", "k": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["results"][0]["item"] == "B2" and body["results"][0]["rank"] == 1
    assert body["understood"]["corrected"] and body["understood"]["size"] == "32 oz"
    assert body["personalized"] is False


def test_bad_input_gets_defined_answers(client: Any) -> None:
    assert client.get("/search", params={"q": "   "}).status_code == 422
    assert client.get("/search").status_code == 422
    too_many = client.get("/search", params={"q": "milk", "k": 500})
    assert too_many.status_code == 422 and too_many.json()["detail"] == (
        "k=500 is larger than the limit of 50; ask for at most k=50 (the service's max_k setting)")
    assert client.get("/search", params={"q": "milk", "method": "magic"}).status_code == 422
    long = client.get("/search", params={"q": "milk " * 400})
    assert long.status_code == 200 and long.json()["understood"]["truncated_to"]
    unknown = client.get("/search", params={"q": "milk", "user": "nobody"})
    assert unknown.status_code == 200 and unknown.json()["personalized"] is False


def test_a_query_of_stop_words_only_has_a_notice(client: Any) -> None:
    body = client.get("/search", params={"q": "the of and"}).json()
    assert body["understood"]["tokens"] == [] and "has no search words" in body["notice"]
    assert client.get("/search", params={"q": "milk"}).json()["notice"] is None
    page = client.get("/ui/search", params={"q": "the of and"})
    assert page.status_code == 200 and "has no search words" in page.text


def test_search_page(client: Any) -> None:
    page = client.get("/ui/search", params={"q": "cookies"})
    assert page.status_code == 200 and "Cookies" in page.text and "<form" in page.text
    # labelled inputs (a placeholder disappears as you type) and a table that scrolls on a phone
    assert "<label for='search-q'>" in page.text and "id='search-q'" in page.text
    assert "<div class='scroll'><table>" in page.text
    assert client.get("/ui/search").status_code == 200
