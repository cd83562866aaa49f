"""The similar-paper report's numbers, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.graph.report import popularity_table, topic_intersection

# five papers: two of topic 0, two of topic 1, one without a topic
TOPICS = np.array([0, 0, 1, 1, -1])


def test_the_topic_share_is_over_the_recommendations_a_paper_has() -> None:
    sources = np.array([0, 2, 4, 1])
    neigh = np.array([[1, 2, -1],    # topic 0: paper 1 shares it, paper 2 does not, one slot empty -> 1/2
                      [3, 0, 1],     # topic 1: paper 3 shares it -> 1/3
                      [0, 1, 2],     # no topic: left out
                      [-1, -1, -1]])  # no recommendation at all: left out
    got = topic_intersection(neigh, TOPICS, sources, rng=0)
    assert got["engine"].n == 2 and got["random"].n == 2
    assert got["engine"].value == pytest.approx((1 / 2 + 1 / 3) / 2)  # the empty slot was a miss: 1/3
    assert 0.0 <= got["random"].value <= 1.0


def test_with_one_topic_everywhere_every_share_is_one() -> None:
    topics = np.zeros(6, dtype=np.int64)
    neigh = np.array([[1, 2], [0, -1], [5, 4]])
    got = topic_intersection(neigh, topics, np.array([0, 1, 3]), rng=1)
    assert got["engine"].value == 1.0 and got["random"].value == 1.0 and got["engine"].n == 3


def test_the_same_seed_gives_the_same_random_share() -> None:
    neigh = np.array([[1, 2, 3], [3, 0, 1]])
    a = topic_intersection(neigh, TOPICS, np.array([0, 2]), rng=7)
    b = topic_intersection(neigh, TOPICS, np.array([0, 2]), rng=np.random.default_rng(7))
    assert a == b


def test_the_popularity_table() -> None:
    cited_by = np.array([5, 0, 2, 10, 1])
    got = popularity_table(np.array([[1, 2, -1], [3, 0, 1]]), cited_by, np.array([0, 2]))
    # recommended: papers 1, 2, 3, 0, 1 -> citations 0, 2, 10, 5, 0; sources 0 and 2 -> 5, 2
    assert got["recommended_median"] == 2.0 and got["recommended_mean"] == pytest.approx(17 / 5)
    assert got["sources_median"] == 3.5 and got["sources_mean"] == 3.5
    # the top 1% threshold: the 0.99 quantile of [0, 1, 2, 5, 10] is 5 + 0.96 * 5 = 9.8; one of five is above
    assert got["recommended_share_top1pct"] == pytest.approx(1 / 5)


def test_the_popularity_table_without_recommendations() -> None:
    got = popularity_table(np.full((2, 3), -1), np.array([4, 0, 2]), np.array([0, 2]))
    assert got["sources_median"] == 3.0 and got["sources_mean"] == 3.0
    assert np.isnan(got["recommended_median"]) and np.isnan(got["recommended_share_top1pct"])
