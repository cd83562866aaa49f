"""``POST /privatize`` in the service app (in process), with its problem responses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from discoverly.data import Interactions
from discoverly.privacy.vocabulary import WordEmbeddings

pytest.importorskip("fastapi")
pytest.importorskip("httpx")


@pytest.fixture
def client(tmp_path: Path, tiny_log: Interactions, sentence_vocab: WordEmbeddings):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from discoverly.recommend.popularity import RecentBestsellers
    from discoverly.serve.app import create_app
    from discoverly.serve.config import ServeConfig

    RecentBestsellers().fit(tiny_log).save(tmp_path / "art" / "models" / "v0001")
    (tmp_path / "art" / "CURRENT").write_text("v0001\n")
    folder = tmp_path / "privacy"
    folder.mkdir()
    np.savez(folder / "vectors.npz", words=np.asarray(sentence_vocab.words), vectors=sentence_vocab.vectors)
    (folder / "privacy.json").write_text(json.dumps({"embeddings": "vectors.npz", "epsilons": [1.0, 5.0],
                                                     "max_texts": 3}))
    config = ServeConfig(artifacts=tmp_path / "art", store=f"sqlite:///{tmp_path / 'events.db'}",
                         capabilities={"privacy": folder}, ui=False)
    with TestClient(create_app(config, watch=False)) as c:
        yield c


def test_privatize(client) -> None:  # type: ignore[no-untyped-def]
    body = {"texts": ["The food was great!", "the 555"], "epsilon": 5, "seed": 3}
    r = client.post("/privatize", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["texts"]) == 2 and out["texts"][0].endswith("!")
    assert out["mechanism"] == "truncated-gumbel" and "exp(5" in out["guarantee"]
    assert out["statistics"]["out_of_vocabulary"] == {"random": 1}
    assert client.post("/privatize", json=body).json()["texts"] == out["texts"]  # same seed, same output
    laplace = client.post("/privatize", json={**body, "mechanism": "multivariate-laplace"})
    assert laplace.status_code == 200 and laplace.json()["mechanism"] == "multivariate-laplace"
    offered = client.get("/privatize/mechanisms").json()
    assert offered["epsilons"] == [1.0, 5.0] and set(offered["mechanisms"]) == {"truncated-gumbel",
                                                                              "multivariate-laplace"}


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"texts": ["food"], "epsilon": 2}, "not an offered privacy level"),
        ({"texts": ["food"], "epsilon": 1, "mechanism": "laplace"}, "not offered"),
        ({"texts": [], "epsilon": 1}, "texts"),
        ({"texts": ["food", None], "epsilon": 1}, "texts"),
        ({"texts": ["food"], "epsilon": -1}, "epsilon"),
        ({"texts": ["a", "b", "c", "d"], "epsilon": 1}, "limit is 3"),
        ({"texts": ["food"], "epsilon": True}, "true/false"),  # was accepted as epsilon = 1
        ({"texts": ["food"], "epsilon": 1, "seed": -1}, "seed"),  # was a 500
    ],
)
def test_problems(client, body: dict[str, object], match: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/privatize", json=body)
    assert r.status_code == 422
    assert match in json.dumps(r.json())


def test_unpaired_surrogate_is_a_422_not_a_500(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/privatize", content=b'{"texts": ["\\ud800 food"], "epsilon": 1}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and "surrogate" in r.json()["detail"]
