from __future__ import annotations

import pytest

from discoverly.errors import ConfigError, NotFittedError
from discoverly.graph.concepts import ConceptExtractor, candidate_runs


def corpus() -> list[str]:
    docs = []
    for i in range(30):
        docs.append(f"Statistical machine translation with phrase tables, part {i}")
        docs.append(f"A novel approach to dependency parsing of treebanks {i}")
        docs.append(f"Improving word sense disambiguation using {['glosses', 'corpora', 'graphs'][i % 3]}")
    return docs


def test_candidate_runs_break_at_stop_and_generic_words() -> None:
    assert candidate_runs("A Novel Approach to Dependency Parsing, using Treebanks") == [
        ["dependency", "parsing"], ["treebanks"]]
    assert candidate_runs("Let's go: MT-based QA's answers") == [["let", "go"], ["mt-based", "qa", "answers"]]


def test_collocations_become_concepts_and_fragments_do_not() -> None:
    ext = ConceptExtractor(min_df=5, max_df=0.5).fit(corpus())
    vocab = set(ext.vocabulary)
    for phrase in ("statistical machine translation", "dependency parsing", "word sense disambiguation",
                   "phrase tables"):
        assert phrase in vocab
    # fragments that only occur inside a longer concept, modifiers and generic words are not concepts
    for phrase in ("machine translation", "sense disambiguation", "statistical", "novel", "approach", "improving"):
        assert phrase not in vocab
    tags = ext.transform(["Dependency parsing for statistical machine translation"])
    assert set(tags[0]) == {"dependency parsing", "statistical machine translation"}


def test_max_df_drops_field_words_but_keeps_phrases() -> None:
    docs = [f"language model {i % 7} for language" for i in range(50)]
    ext = ConceptExtractor(min_df=3, max_df=0.2).fit(docs)
    assert "language" not in ext.vocabulary


def test_controlled_vocabulary_and_errors() -> None:
    ext = ConceptExtractor.from_vocabulary(["Asthma", "ibuprofen", "nitric oxide"])
    assert ext.transform(["Ibuprofen in ASTHMA patients", "nothing here", "nitric oxide synthase"]) == [
        ["ibuprofen", "asthma"], [], ["nitric oxide"]]
    with pytest.raises(NotFittedError):
        ConceptExtractor().transform(["x"])
    with pytest.raises(ConfigError):
        ConceptExtractor(method="magic")
    with pytest.raises(ConfigError):
        ConceptExtractor(max_df=0)


def test_words_of_any_alphabet_stay_whole() -> None:
    # [a-z] split a word at an accented letter: "naïve bayes" became the runs "na" and "ve bayes"
    assert candidate_runs("Naïve Bayes for Schrödinger equations, Gödel's theorem and word2vec_v2") == [
        ["naïve", "bayes"], ["schrödinger", "equations"], ["gödel", "theorem"], ["word2vec"], ["v2"]]
    ext = ConceptExtractor.from_vocabulary(["naïve Bayes", "café au lait"])
    assert ext.transform(["NAÏVE BAYES in a café au lait", "a naive bayes"]) == [["naïve bayes", "café au lait"], []]


def test_a_vocabulary_without_phrases_is_refused() -> None:
    for phrases in ([], ["", "the", "  "]):  # an empty --vocabulary file tagged nothing, silently
        with pytest.raises(ConfigError, match="no usable phrase"):
            ConceptExtractor.from_vocabulary(phrases)


def test_yake_peer_method() -> None:
    pytest.importorskip("yake")
    ext = ConceptExtractor(method="yake", min_df=5, max_df=0.9).fit(corpus())
    assert any("translation" in p for p in ext.vocabulary)
    assert all(len(t) >= 1 for t in ext.transform(corpus()[:3]))
