from __future__ import annotations

import numpy as np
import pytest

from discoverly.errors import ConfigError, DataError, NotFittedError
from discoverly.graph.topics import TopicModel


def corpus() -> list[str]:
    rng = np.random.default_rng(0)
    a = ["protein", "virus", "cell", "infection", "immune", "antibody"]
    b = ["parser", "grammar", "syntax", "treebank", "sentence", "tagging"]
    docs = []
    for i in range(120):
        words = a if i % 2 == 0 else b
        docs.append(" ".join(rng.choice(words, size=12)))
    return docs


@pytest.mark.parametrize("settings", [{"max_iter": 10}, {"learning_method": "online", "max_iter": 3, "batch_size": 32}])
def test_two_clear_topics_are_found_labelled_and_assigned(settings: dict[str, object]) -> None:
    docs = corpus()
    tm = TopicModel(n_topics=2, min_share=0.9, rng=0, **settings).fit(docs)  # type: ignore[arg-type]
    assert len(set(tm.labels)) == 2
    dominant = tm.dominant(docs)
    assert len(set(dominant[::2])) == 1 and len(set(dominant[1::2])) == 1 and dominant[0] != dominant[1]
    label_a = tm.labels[dominant[0]]
    assert label_a in {"protein", "virus", "cell", "infection", "immune", "antibody"}
    assigned = tm.assign(docs[:2])
    assert assigned[0] == [label_a] and len(assigned[1]) == 1
    dist = tm.distribution(docs[:5])
    np.testing.assert_allclose(dist.sum(axis=1), 1.0, rtol=1e-6)
    assert len(tm.top_terms[0]) == tm.n_terms


def test_words_of_any_alphabet_are_words() -> None:
    # the token pattern [a-zA-Z] dropped "schrödinger" and "naïve" (and a corpus of them had no usable words)
    docs = ["schrödinger équation énergie"] * 6 + ["naïve bayes classifieur"] * 6
    tm = TopicModel(n_topics=2, rng=0).fit(docs)
    assert set(tm.labels) <= {"schrödinger", "équation", "énergie", "naïve", "bayes", "classifieur"}
    assert tm.dominant(docs[:1])[0] != tm.dominant(docs[-1:])[0]


def test_errors() -> None:
    with pytest.raises(ConfigError):
        TopicModel(n_topics=1)
    with pytest.raises(ConfigError):
        TopicModel(learning_method="gibbs")
    with pytest.raises(NotFittedError):
        TopicModel().assign(["x"])
    with pytest.raises(DataError, match="no usable words"):
        TopicModel(n_topics=2).fit(["the of and", "a an the"])


def test_a_text_without_vocabulary_words_has_no_topic() -> None:
    # a paper without title or abstract got LDA's even prior shares: the first topic (every topic with 2)
    docs = corpus()
    tm = TopicModel(n_topics=2, rng=0).fit(docs)
    assert tm.assign(["", "the of and", docs[0]]) == [[], [], [tm.labels[tm.dominant(docs[:1])[0]]]]
