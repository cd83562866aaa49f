"""Every Python example in docs/privacy.md runs (against the public data), and its HTTP service
examples work as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from discoverly.data import Interactions
from discoverly.privacy.vocabulary import WordEmbeddings

DOC = Path(__file__).resolve().parents[3] / "docs" / "privacy.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index: int, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    exec(compile(BLOCKS[index], f"docs/privacy.md example {index + 1}", "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip()  # every example prints what it shows


def test_http_service_examples(tmp_path: Path, tiny_log: Interactions, sentence_vocab: WordEmbeddings) -> None:
    """The page's privacy.json, served, answers the page's request (on a small vocabulary)."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from discoverly.recommend.popularity import RecentBestsellers
    from discoverly.serve import ServeConfig, create_app

    config_json, request_json = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    RecentBestsellers().fit(tiny_log).save(tmp_path / "artifacts" / "models" / "v0001")
    (tmp_path / "artifacts" / "CURRENT").write_text("v0001\n")
    folder = tmp_path / "privacy"
    folder.mkdir()
    assert json.loads(config_json)["embeddings"] == "vectors.npz"
    np.savez(folder / "vectors.npz", words=np.asarray(sentence_vocab.words), vectors=sentence_vocab.vectors)
    (folder / "privacy.json").write_text(config_json, encoding="utf-8")
    serve = ServeConfig(artifacts=tmp_path / "artifacts", store=f"sqlite:///{tmp_path / 'events.db'}",
                        capabilities={"privacy": folder}, ui=False)
    with TestClient(create_app(serve)) as client:
        offered = client.get("/privatize/mechanisms").json()
        assert offered["epsilons"] == [1.0, 3.0, 10.0] and offered["max_texts"] == 1000
        answer = client.post("/privatize", json=json.loads(request_json))
        assert answer.status_code == 200, answer.text
        assert set(answer.json()) == {"texts", "mechanism", "epsilon", "guarantee", "statistics"}
        assert client.post("/privatize", json={**json.loads(request_json), "epsilon": 2.0}).status_code == 422
