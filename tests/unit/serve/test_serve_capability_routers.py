"""The capability routers' answers field by field (docs/search.md, docs/graph.md, docs/privacy.md "HTTP"):
``GET /search`` answers what the engine answers for the same query, customer, ``k`` and method; the
graph routes answer a hand-made four-paper graph whose counts and neighbourhoods are worked out here
from its references; ``POST /privatize`` answers what the configured mechanism draws with the same
seed, and its problems name what is offered (mutation testing: the arguments passed to the engine, the
answers' field names, the query echo's cut and the exact messages survived)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest

from discoverly.errors import ConfigError

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

T0 = 1_700_000_000
DAY = 86_400


def _client(router: Any) -> Any:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from discoverly.serve.problems import install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    return TestClient(app)


def _state(max_k: int = 50) -> Any:
    return SimpleNamespace(config=SimpleNamespace(max_k=max_k))


# --- search -------------------------------------------------------------------------------------------------

PRODUCTS = [
    ("A1", "Whole Milk 1 GAL", "DAIRY", "Private", "WHOLE MILK", "1 GAL", 3.0),
    ("A2", "Whole Milk national 1 GAL", "DAIRY", "National", "WHOLE MILK", "1 GAL", 4.0),
    ("A3", "Skim Milk 0.5 GAL", "DAIRY", "Private", "SKIM MILK", "0.5 GAL", 2.5),
    ("C1", "Chocolate Chip Cookies 13 OZ", "COOKIES", "National", "COOKIES", "13 OZ", 3.9),
    ("C2", "Sandwich Cookies 14 OZ", "COOKIES", "Private", "COOKIES", "14 OZ", 2.2),
    ("D1", "Frozen Pizza 12 OZ", "FROZEN", "National", "FROZEN PIZZA", "12 OZ", 5.0),
]


@pytest.fixture(scope="module")
def engine_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from discoverly.data import Catalog, read_interactions
    from discoverly.search.engine import SearchEngine
    from discoverly.search.index import IndexConfig

    names = ["item", "title", "category", "brand", "product_type", "package_size", "price"]
    catalog = Catalog(pl.DataFrame(dict(zip(names, list(zip(*PRODUCTS, strict=True)), strict=True))))
    rows = [("u1", "A3", T0 + d * DAY) for d in range(10)] + [("u2", "A1", T0 + d * DAY) for d in range(5)]
    log = read_interactions(
        pl.DataFrame(rows, schema=["user", "item", "time"], orient="row"), user="user", item="item", time="time"
    )
    path = tmp_path_factory.mktemp("search") / "engine"
    SearchEngine.build(catalog, log, index_config=IndexConfig(dense=False)).save(path)
    return path


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The arguments of every ``SearchEngine.search`` call (the engine still answers)."""
    from discoverly.search.engine import SearchEngine

    seen: list[dict[str, Any]] = []
    real = SearchEngine.search

    def spy(self: Any, query: str, user: Any = None, k: int = 10, *, method: Any = "auto") -> Any:
        seen.append({"query": query, "user": user, "k": k, "method": method})
        return real(self, query, user, k, method=method)

    monkeypatch.setattr(SearchEngine, "search", spy)
    return seen


@pytest.fixture
def search_client(engine_dir: Path) -> Any:
    from discoverly.serve.routers.search import create_router

    return _client(create_router(engine_dir, _state()))


@pytest.mark.parametrize(
    "params,user,k,method",
    [
        ({"q": "milk"}, None, 10, "auto"),
        ({"q": "milk", "k": 2, "method": "lexical"}, None, 2, "lexical"),
        ({"q": "cookies", "k": 1, "user": "  u1 "}, "u1", 1, "auto"),  # the id as given, without the spaces
        ({"q": "cookies", "user": "   "}, None, 10, "auto"),  # a blank customer is no customer
        ({"q": "milk", "k": 3, "method": "hybrid", "user": "nobody"}, "nobody", 3, "hybrid"),
    ],
)
def test_search_answers_what_the_engine_answers(
    search_client: Any,
    engine_dir: Path,
    calls: list[dict[str, Any]],
    params: dict[str, Any],
    user: str | None,
    k: int,
    method: str,
) -> None:
    from discoverly.search.engine import SearchEngine
    from discoverly.search.notice import query_notice

    r = search_client.get("/search", params=params)
    assert r.status_code == 200, r.text
    assert calls == [{"query": params["q"], "user": user, "k": k, "method": method}]
    expected = SearchEngine.load(engine_dir).search(params["q"], user=user, k=k, method=method)  # type: ignore[arg-type]
    body = r.json()
    assert set(body) == {"query", "user", "method", "personalized", "understood", "took_ms", "results", "notice"}
    assert body["query"] == params["q"] and body["user"] == params.get("user")  # the customer as sent
    assert body["method"] == expected.method and body["personalized"] is expected.personalized is False
    assert body["understood"] == json.loads(json.dumps(expected.understood)) and body["notice"] == query_notice(
        expected
    )
    assert body["results"] == [
        {"rank": i + 1, "item": it, "title": t, "score": s}
        for i, (it, t, s) in enumerate(zip(expected.items, expected.titles, expected.scores, strict=True))
    ]
    assert len(body["results"]) == min(k, len(expected.items)) and body["results"]


def test_search_says_how_long_it_took_in_milliseconds(search_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from discoverly.search.engine import SearchEngine

    real = SearchEngine.search
    monkeypatch.setattr(
        SearchEngine, "search", lambda self, *a, **kw: dataclasses.replace(real(self, *a, **kw), seconds=0.0123456)
    )
    assert search_client.get("/search", params={"q": "milk"}).json()["took_ms"] == 12.35  # 12.3456 ms, 2 decimals


def test_search_echoes_a_query_of_up_to_200_characters_and_cuts_a_longer_one(search_client: Any) -> None:
    exact = "milk " * 39 + "milks"  # 200 characters
    assert len(exact) == 200
    assert search_client.get("/search", params={"q": exact}).json()["query"] == exact
    longer = exact + "x"
    assert search_client.get("/search", params={"q": longer}).json()["query"] == exact + "…"


@pytest.mark.parametrize(
    "params,detail",
    [
        ({"q": "  "}, "the query is empty; give at least one word to search for (q=...)"),
        (
            {"q": "milk", "method": "magic"},
            "method must be one of auto, lexical, dense, hybrid, ltr, personal, got 'magic'",
        ),
        (
            {"q": "milk", "k": 51},
            "k=51 is larger than the limit of 50; ask for at most k=50 (the service's max_k setting)",
        ),
    ],
)
def test_search_problems_say_what_to_send(
    search_client: Any, calls: list[dict[str, Any]], params: dict[str, Any], detail: str
) -> None:
    r = search_client.get("/search", params=params)
    assert r.status_code == 422 and r.json()["detail"] == detail
    assert calls == []  # refused before the engine is asked
    assert search_client.get("/search", params={**params, "q": "milk", "k": 50, "method": "auto"}).status_code == 200


def test_the_search_page_asks_the_engine_with_the_customer_and_k(
    search_client: Any, calls: list[dict[str, Any]]
) -> None:
    page = search_client.get("/ui/search", params={"q": "cookies", "user": "u1", "k": 1})
    assert page.status_code == 200
    assert calls == [{"query": "cookies", "user": "u1", "k": 1, "method": "auto"}]
    assert "value='cookies'" in page.text and "value='u1'" in page.text  # the form keeps what was asked
    assert page.text.count("<tr><td class='num'>") == 1  # k=1: one result row
    bad = search_client.get("/ui/search", params={"q": "milk", "k": 101})
    assert bad.status_code == 422  # the page's own limit: 100


# --- graph --------------------------------------------------------------------------------------------------

PAPERS = [
    {
        "id": "G1",
        "title": "Parsing with grammars",
        "abstract": "We parse sentences.",
        "venue": "ParseConf",
        "year": 2001,
        "authors": [{"name": "Ann Lee", "affiliation": "Univ A"}],
        "references": [],
    },
    {
        "id": "G2",
        "title": "Better parsing grammars",
        "abstract": "We parse more sentences.",
        "venue": "ParseConf",
        "year": 2003,
        "authors": [{"name": "Ann Lee", "affiliation": "Univ A"}, {"name": "Bob Ray", "affiliation": ""}],
        "references": ["G1"],
    },
    {
        "id": "G3",
        "title": "Translation of sentences",
        "abstract": "We translate sentences.",
        "venue": "TransConf",
        "year": 2005,
        "authors": [{"name": "Bob Ray", "affiliation": ""}],
        "references": ["G1", "G2"],
    },
    {
        "id": "G4",
        "title": "Translation models",
        "abstract": "We translate text.",
        "venue": "TransConf",
        "year": 2006,
        "authors": [{"name": "Cy Dee", "affiliation": ""}],
        "references": ["G1"],
    },
    {  # cited by no one, citing no one, with 27 authors (its page shows 25 of them)
        "id": "G5",
        "title": "A survey of surveys",
        "abstract": "We survey.",
        "venue": "SurveyConf",
        "year": 2007,
        "authors": [{"name": f"Writer {i:02d}", "affiliation": ""} for i in range(27)],
        "references": [],
    },
]


class _HashEncoder:
    name = "hash-encoder"
    dim = 16

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


@pytest.fixture(scope="module")
def graph_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from discoverly.graph.papers import Papers
    from discoverly.graph.workspace import build_graph_folder, fit_similar

    path = tmp_path_factory.mktemp("graph") / "g"
    build_graph_folder(Papers.from_records(PAPERS), path, n_topics=2)
    fit_similar(path, dim=8, epochs=2, encoder=_HashEncoder(), threads=1)
    return path


@pytest.fixture
def graph_client(graph_dir: Path) -> Iterator[Any]:
    from discoverly.serve.routers.graph import create_router

    with _client(create_router(graph_dir, _state(max_k=3))) as c:
        yield c


def test_rank_counts_the_citing_papers(graph_client: Any) -> None:
    """G1 is cited by G2, G3 and G4, G2 by G3; G3 and G4 by no one."""
    body = graph_client.get("/papers/rank", params={"k": 3}).json()
    assert body == {
        "topic": None,
        "concept": None,
        "about": [],
        "papers": [
            {"id": "G1", "title": "Parsing with grammars", "year": 2001, "citations": 3},
            {"id": "G2", "title": "Better parsing grammars", "year": 2003, "citations": 1},
        ],
    }
    assert [p["id"] for p in graph_client.get("/papers/rank", params={"k": 1}).json()["papers"]] == ["G1"]
    r = graph_client.get("/papers/rank", params={"k": 4})
    assert r.status_code == 422 and "limit of 3" in r.json()["detail"]  # the service's max_k


def test_a_paper_answers_its_attributes_and_its_neighbours_by_relation(graph_client: Any) -> None:
    body = graph_client.get("/papers/G2").json()
    neighbours = body.pop("neighbours")
    assert body == {
        "id": "G2",
        "title": "Better parsing grammars",
        "abstract": "We parse more sentences.",
        "venue": "ParseConf",
        "year": 2003,
        "cited_by": 1,
        "references": 1,
    }  # no internal node number
    assert neighbours["cites"] == [{"kind": "paper", "key": "G1", "label": "Parsing with grammars"}]
    assert neighbours["cited_by"] == [{"kind": "paper", "key": "G3", "label": "Translation of sentences"}]
    assert neighbours["authored_by"] == [
        {"kind": "author", "key": "Ann Lee", "label": "Ann Lee"},
        {"kind": "author", "key": "Bob Ray", "label": "Bob Ray"},
    ]
    assert neighbours["published_in"] == [{"kind": "venue", "key": "ParseConf", "label": "ParseConf"}]
    assert set(neighbours) - {"cites", "cited_by", "authored_by", "published_in"} <= {
        "associated_topic",
        "associated_concept",
    }
    assert graph_client.get("/papers/G4").json()["neighbours"].get("cited_by") is None  # nobody cites G4


def test_similar_papers_carry_title_year_score_and_rank(graph_client: Any, graph_dir: Path) -> None:
    from discoverly.graph.workspace import GraphFolder

    engine = GraphFolder(graph_dir).load_similar()
    expected = engine.similar("G3", k=3)
    body = graph_client.get("/papers/G3/similar", params={"k": 3}).json()
    assert body["paper"] == "G3" and body["weight"] == engine.weight
    titles = {p["id"]: (p["title"], p["year"]) for p in PAPERS}
    assert body["similar"] == [
        {"id": pid, "title": titles[pid][0], "year": titles[pid][1], "score": round(score, 6), "rank": rank}
        for pid, score, rank in expected.iter_rows()
    ]
    assert body["similar"] and [s["rank"] for s in body["similar"]] == list(range(1, len(body["similar"]) + 1))
    r = graph_client.get("/papers/G3/similar", params={"k": 4})
    assert r.status_code == 422 and "limit of 3" in r.json()["detail"]


def test_the_paper_page_shows_counts_neighbours_and_similar_papers(graph_client: Any) -> None:
    page = graph_client.get("/ui/papers/G2", params={"k": 3})
    assert page.status_code == 200
    assert "ParseConf 2003 · cited by 1 · cites 1" in page.text
    assert "<p>We parse more sentences.</p>" in page.text
    assert "<th>authored by</th>" in page.text and "<th>cited by</th>" in page.text  # relation names in words
    assert "<a href='/ui/papers/G1'>Parsing with grammars</a> <span class='meta'>(G1)</span>" in page.text
    assert graph_client.get("/ui/papers/nope").status_code == 404
    many = graph_client.get("/ui/papers/G5", params={"k": 3}).text
    assert many.count("Writer ") == 25 and "<span class='meta'>… 2 more</span>" in many
    assert "… 1 more" not in page.text and "more</span>" not in page.text  # G2's groups are all shown


# --- privacy ------------------------------------------------------------------------------------------------

WORDS = [
    "the",
    "a",
    "food",
    "meal",
    "dish",
    "was",
    "is",
    "great",
    "good",
    "fine",
    "awful",
    "bad",
    "service",
    "staff",
    "but",
    "and",
]


@pytest.fixture(scope="module")
def vectors() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return np.asarray(WORDS), rng.normal(size=(len(WORDS), 4)).astype(np.float32)


def _privacy_folder(root: Path, vectors: tuple[np.ndarray, np.ndarray], **config: Any) -> Path:
    folder = root / "privacy"
    folder.mkdir(exist_ok=True)
    np.savez(folder / "vectors.npz", words=vectors[0], vectors=vectors[1])
    (folder / "privacy.json").write_text(json.dumps({"embeddings": "vectors.npz", **config}), encoding="utf-8")
    return folder


@pytest.fixture
def privacy_client(tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]) -> Any:
    from discoverly.serve.routers.privacy import create_router

    folder = _privacy_folder(tmp_path, vectors, epsilons=[5.0, 1.0, 5.0], max_texts=3)
    return _client(create_router(folder, _state()))


def test_the_offered_mechanisms_and_levels(privacy_client: Any) -> None:
    body = privacy_client.get("/privatize/mechanisms").json()
    assert set(body) == {"mechanisms", "default_mechanism", "epsilons", "max_texts", "scale", "median_nn_distance_hint"}
    assert sorted(body["mechanisms"]) == ["multivariate-laplace", "truncated-gumbel"]
    assert body["default_mechanism"] == "truncated-gumbel" and body["max_texts"] == 3
    assert body["epsilons"] == [1.0, 5.0]  # sorted, each once
    assert body["scale"] == "raw"  # the vectors as stored
    paths = privacy_client.get("/openapi.json").json()["paths"]  # grouped under their tag in /docs
    assert paths["/privatize"]["post"]["tags"] == paths["/privatize/mechanisms"]["get"]["tags"] == ["privacy"]


@pytest.mark.parametrize("mechanism", [None, "truncated-gumbel", "multivariate-laplace"])
def test_privatize_answers_what_the_mechanism_draws(
    privacy_client: Any, vectors: tuple[np.ndarray, np.ndarray], mechanism: str | None
) -> None:
    from discoverly.privacy.registry import create_mechanism
    from discoverly.privacy.vocabulary import WordEmbeddings

    texts = ["The food was great!", "the 555 staff"]
    r = privacy_client.post(
        "/privatize", json={"texts": texts, "epsilon": 5, "seed": 11, **({"mechanism": mechanism} if mechanism else {})}
    )
    assert r.status_code == 200, r.text
    name = mechanism or "truncated-gumbel"
    mech = create_mechanism(name, WordEmbeddings(list(vectors[0]), vectors[1]), oov="random")
    mech.prepare([5.0] if name == "truncated-gumbel" else 5.0)
    run = mech.run(texts, 5.0, rng=11)
    assert r.json() == {
        "texts": run.texts,
        "mechanism": name,
        "epsilon": 5.0,
        "guarantee": mech.guarantee(5.0),
        "statistics": {"tokens": 7, "in_vocabulary": 6, "unchanged": run.unchanged, "out_of_vocabulary": {"random": 1}},
    }  # '!' is no word, '555' is not known


def test_an_epsilon_is_matched_to_the_offered_level(privacy_client: Any) -> None:
    """A float that is an offered level up to rounding (1e-12 relative) is that level; anything else is refused."""
    near = privacy_client.post("/privatize", json={"texts": ["food"], "epsilon": 5 + 4e-12, "seed": 1})
    assert near.status_code == 200 and near.json()["epsilon"] == 5.0
    far = privacy_client.post("/privatize", json={"texts": ["food"], "epsilon": 5 + 1e-9, "seed": 1})
    assert far.status_code == 422


@pytest.mark.parametrize(
    "body,detail",
    [
        ({"texts": ["food"], "epsilon": 2}, "epsilon=2 is not an offered privacy level; choose one of 1, 5"),
        (
            {"texts": ["food"], "epsilon": 1, "mechanism": "laplace"},
            "mechanism 'laplace' is not offered; choose one of truncated-gumbel, multivariate-laplace",
        ),
        ({"texts": ["a", "b", "c", "d"], "epsilon": 1}, "4 texts in one request; the limit is 3"),
    ],
)
def test_privatize_problems_say_what_is_offered(privacy_client: Any, body: dict[str, Any], detail: str) -> None:
    r = privacy_client.post("/privatize", json=body)
    assert r.status_code == 422 and r.json()["detail"] == detail
    assert (
        privacy_client.post(
            "/privatize", json={**body, "texts": ["a", "b", "c"], "epsilon": 1, "mechanism": "truncated-gumbel"}
        ).status_code
        == 200
    )


def test_the_privacy_configuration_is_read_from_the_folder(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    from discoverly.serve.routers.privacy import PrivacyServiceConfig, create_router

    folder = _privacy_folder(tmp_path, vectors, epsilons=[2.0])
    config = PrivacyServiceConfig.load(folder)
    assert config.embeddings == folder / "vectors.npz" and config.epsilons == [2.0]  # relative to the folder
    (folder / "privacy.json").write_text(json.dumps({"embeddings": str(tmp_path / "elsewhere.npz")}))
    assert PrivacyServiceConfig.load(folder).embeddings == tmp_path / "elsewhere.npz"  # an absolute path is kept
    assert PrivacyServiceConfig.load(folder / "vectors.npz") == PrivacyServiceConfig(embeddings=folder / "vectors.npz")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError) as missing:
        PrivacyServiceConfig.load(empty)
    assert str(missing.value) == f"the privacy folder {str(empty)!r} has no privacy.json; see docs/privacy.md"
    (folder / "privacy.json").write_text(json.dumps({"embeddings": "vectors.npz", "max_texts": 0}))
    with pytest.raises(ConfigError) as invalid:
        PrivacyServiceConfig.load(folder)
    assert str(invalid.value).startswith(f"{str(folder / 'privacy.json')!r} is not a valid privacy configuration: ")
    assert "max_texts" in str(invalid.value)
    (folder / "privacy.json").write_text(
        json.dumps({"embeddings": "vectors.npz", "mechanisms": ["laplace"], "default_mechanism": "laplace"})
    )
    with pytest.raises(ConfigError) as unknown:
        create_router(folder, _state())
    assert str(unknown.value) == (
        "privacy mechanisms must be among truncated-gumbel, multivariate-laplace, mahalanobis, "
        "truncated-gumbel-public and include the default 'laplace'; got ['laplace']"
    )
    (folder / "privacy.json").write_text(
        json.dumps(
            {
                "embeddings": "vectors.npz",
                "mechanisms": ["truncated-gumbel"],
                "default_mechanism": "multivariate-laplace",
            }
        )
    )
    with pytest.raises(ConfigError, match="include the default 'multivariate-laplace'"):
        create_router(folder, _state())


def test_a_request_without_k_is_answered_when_max_k_is_below_the_default_k(graph_dir: Path, engine_dir: Path) -> None:
    """With ``max_k`` 3, ``GET /papers/rank`` (no ``k``) was a 422 "k=20 is larger than the limit of 3": the
    client had asked for no ``k`` at all. The default is now at most ``max_k`` (here and on the pages)."""
    from discoverly.serve.routers.graph import create_router as graph_router
    from discoverly.serve.routers.search import create_router as search_router

    with _client(graph_router(graph_dir, _state(max_k=3))) as c:
        assert [p["id"] for p in c.get("/papers/rank").json()["papers"]] == ["G1", "G2"]
        r = c.get("/papers/G3/similar")
        assert r.status_code == 200 and len(r.json()["similar"]) <= 3, r.text
        assert c.get("/ui/papers/G2").status_code == 200
    with _client(search_router(engine_dir, _state(max_k=2))) as c:
        r = c.get("/search", params={"q": "milk"})
        assert r.status_code == 200 and len(r.json()["results"]) == 2, r.text
        page = c.get("/ui/search", params={"q": "milk"})
        assert page.status_code == 200 and page.text.count("<tr><td class='num'>") == 2
    with _client(graph_router(graph_dir, _state(max_k=50))) as c:  # a larger max_k: the defaults as before
        schema = c.get("/openapi.json").json()["paths"]
        assert [p["schema"]["default"] for p in schema["/papers/rank"]["get"]["parameters"] if p["name"] == "k"] == [20]


def test_the_folders_oov_policy_options_and_scale_reach_the_mechanisms(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    from discoverly.serve.routers.privacy import create_router

    folder = _privacy_folder(
        tmp_path, vectors, oov="keep", scale="2", epsilons=[3.0], options={"truncated-gumbel": {"flatten": 0.9}}
    )
    c = _client(create_router(folder, _state()))
    offered = c.get("/privatize/mechanisms").json()
    assert offered["scale"] == "raw×2"  # the vectors times 2
    gumbel, laplace = offered["mechanisms"]["truncated-gumbel"], offered["mechanisms"]["multivariate-laplace"]
    assert gumbel["flatten"] == 0.9 and gumbel["oov"] == "keep" and laplace["oov"] == "keep"
    assert gumbel["scale"] == laplace["scale"] == "raw×2"
    body = c.post("/privatize", json={"texts": ["the 555 staff"], "epsilon": 3, "seed": 1}).json()
    assert body["statistics"]["out_of_vocabulary"] == {"keep": 1} and "555" in body["texts"][0]
    assert (
        _client(create_router(_privacy_folder(tmp_path, vectors, scale="unit"), _state()))
        .get("/privatize/mechanisms")
        .json()["scale"]
        == "unit"
    )


def test_a_word_vector_text_file_is_served_with_the_defaults(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    from discoverly.serve.routers.privacy import create_router

    path = tmp_path / "vectors.txt"  # GloVe: a word and its numbers per line
    path.write_text("".join(f"{w} {' '.join(f'{x:.6f}' for x in v)}\n" for w, v in zip(*vectors, strict=True)))
    offered = _client(create_router(path, _state())).get("/privatize/mechanisms").json()
    assert offered["epsilons"] == [1.0, 3.0, 10.0] and offered["max_texts"] == 1000 and offered["scale"] == "raw"
    assert offered["default_mechanism"] == "truncated-gumbel"
    assert offered["mechanisms"]["truncated-gumbel"]["n_words"] == len(WORDS)


def test_the_tables_of_every_offered_level_are_made_when_the_service_starts(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/privacy.md: the truncated Gumbel tables of the listed levels are computed at start, so no request
    waits for one; the Laplace mechanism needs none (prepared once, at the lowest level)."""
    from discoverly.serve.routers import privacy

    prepared: list[tuple[str, Any]] = []
    real = privacy.create_mechanism

    def spied(name: str, *args: Any, **kwargs: Any) -> Any:
        mech = real(name, *args, **kwargs)
        original = mech.prepare
        mech.prepare = lambda eps: prepared.append((name, eps)) or original(eps)  # type: ignore[method-assign]
        return mech

    monkeypatch.setattr(privacy, "create_mechanism", spied)
    privacy.create_router(_privacy_folder(tmp_path, vectors, epsilons=[10.0, 3.0]), _state())
    assert prepared == [("truncated-gumbel", [3.0, 10.0]), ("multivariate-laplace", 3.0)]


@pytest.mark.parametrize(
    "router,paths,tag",
    [
        ("search", ["/search"], "search"),
        ("graph", ["/papers/rank", "/papers/{paper_id}/similar", "/papers/{paper_id}"], "papers"),
    ],
)
def test_the_capability_routes_are_grouped_under_their_tag(
    engine_dir: Path, graph_dir: Path, router: str, paths: list[str], tag: str
) -> None:
    """The interactive docs (/docs) group operations by tag."""
    import importlib

    module = importlib.import_module(f"discoverly.serve.routers.{router}")
    schema = (
        _client(module.create_router(engine_dir if router == "search" else graph_dir, _state()))
        .get("/openapi.json")
        .json()
    )
    assert sorted(schema["paths"]) == sorted(paths)
    for path in paths:
        assert schema["paths"][path]["get"]["tags"] == [tag], path
