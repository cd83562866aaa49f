from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discoverly.errors import ArtifactError, ConfigError, DataError
from discoverly.graph.kge import KGE_MODELS, KGEmbedding, KGETrainer, rank_triples


def two_blocks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entities 0-9 link to 10-19 and 20-29 link to 30-39 (relation 0), all pairs inside a block."""
    h, t = [], []
    for a, b in ((0, 10), (20, 30)):
        for i in range(10):
            for j in range(10):
                h.append(a + i)
                t.append(b + j)
    return np.array(h), np.zeros(len(h), dtype=np.int64), np.array(t)


@pytest.mark.parametrize("model", KGE_MODELS)
def test_every_model_learns_block_structure(model: str) -> None:
    h, r, t = two_blocks()
    rng = np.random.default_rng(0)
    test_idx = rng.choice(h.size, size=20, replace=False)
    train = np.setdiff1d(np.arange(h.size), test_idx)
    emb = KGETrainer(model=model, dim=16, epochs=60, batch_size=64, negatives=16, lr=0.02, threads=1).fit(
        h[train], r[train], t[train], 40, 1, rng=0)
    assert emb.losses[-1] < emb.losses[0]
    known = np.stack([h, r, t], axis=1)
    metrics = rank_triples(emb, known[test_idx], known)
    # with every other true triple filtered, the held-out tail/head competes with 30 wrong entities:
    # a random ranking has MRR of about 0.13; the block structure puts the right block first
    assert metrics.mrr > 0.5, metrics
    assert 0 <= metrics.hits_at_1 <= metrics.hits_at_10 <= 1
    assert metrics.n == 40


def test_training_is_reproducible_with_rng() -> None:
    h, r, t = two_blocks()
    a = KGETrainer(dim=8, epochs=3, threads=1).fit(h, r, t, 40, 1, rng=3)
    b = KGETrainer(dim=8, epochs=3, threads=1).fit(h, r, t, 40, 1, rng=3)
    c = KGETrainer(dim=8, epochs=3, threads=1).fit(h, r, t, 40, 1, rng=4)
    np.testing.assert_array_equal(a.entity, b.entity)
    assert not np.array_equal(a.entity, c.entity)


def test_rank_triples_counts_filtered_ranks_exactly() -> None:
    # distmult with hand-made vectors: score(0, r, x) = x-th coordinate pattern
    ent = np.array([[1, 1], [3, 0], [2, 0], [1, 0], [0, 0]], dtype=np.float32)
    rel = np.array([[1, 0]], dtype=np.float32)
    emb = KGEmbedding("distmult", ent, rel)
    # tails of head 0: scores 1:3, 2:2, 3:1, 4:0, 0:1. Test (0,0,2): entity 1 scores higher -> rank 2 ...
    test = np.array([[0, 0, 2]])
    unfiltered = rank_triples(emb, test, test, candidates=np.array([0, 1, 2, 3]))
    # ... unless (0, 0, 1) is a known true triple: then it is filtered out -> rank 1
    filtered = rank_triples(emb, test, np.array([[0, 0, 2], [0, 0, 1]]), candidates=np.array([0, 1, 2, 3]))
    # (both ends of a test triple must be candidates: test_kge_maths.py)
    tails_rr = [unfiltered.reciprocal_ranks[0], filtered.reciprocal_ranks[0]]
    assert tails_rr == [0.5, 1.0]
    both = rank_triples(emb, test, test)
    # head side over all entities: 1:6, 2:4, 0:2, 3:2 (tie with 0 counts half), 4:0 -> rank 3.5
    assert both.reciprocal_ranks[1] == pytest.approx(1 / 3.5)


def test_save_load_round_trip(tmp_path: Path) -> None:
    h, r, t = two_blocks()
    emb = KGETrainer(model="complex", dim=8, epochs=2, threads=1).fit(h, r, t, 40, 1, rng=0)
    emb.save(tmp_path / "kge")
    back = KGEmbedding.load(tmp_path / "kge")
    np.testing.assert_array_equal(back.entity, emb.entity)
    assert back.model == "complex" and back.config["epochs_run"] == 2
    np.testing.assert_allclose(back.score(h[:5], r[:5], t[:5]), emb.score(h[:5], r[:5], t[:5]))
    with pytest.raises(ArtifactError):
        KGEmbedding.load(tmp_path / "missing")


def test_bad_settings_and_inputs() -> None:
    with pytest.raises(ConfigError):
        KGETrainer(model="transh")
    with pytest.raises(ConfigError):
        KGETrainer(model="rotate", dim=7)
    with pytest.raises(ConfigError, match="threads"):  # `graph fit --threads -1`: was torch's RuntimeError
        KGETrainer(threads=-1)
    with pytest.raises(ConfigError, match=r"got negatives=0$"):  # `graph fit --negatives 0` named no setting
        KGETrainer(negatives=0)
    with pytest.raises(DataError):
        KGETrainer(dim=4, epochs=1).fit(np.array([0]), np.array([0]), np.array([9]), 5, 1)
    with pytest.raises(DataError):
        KGETrainer(dim=4, epochs=1).fit(np.array([], dtype=int), np.array([], dtype=int), np.array([], dtype=int), 5, 1)


def test_max_seconds_bounds_training() -> None:
    h, r, t = two_blocks()
    emb = KGETrainer(dim=8, epochs=1000, max_seconds=0.0, threads=1).fit(h, r, t, 40, 1, rng=0)
    assert emb.config["epochs_run"] == 1


@pytest.mark.slow
def test_pykeen_backend_gives_a_comparable_embedding() -> None:
    pytest.importorskip("pykeen")
    from discoverly.graph.kge_pykeen import PyKEENTrainer

    h, r, t = two_blocks()
    emb = PyKEENTrainer(model="transe", dim=16, epochs=40, batch_size=64, negatives=16, lr=0.02).fit(
        h, r, t, 40, 1, rng=0)
    assert emb.backend == "pykeen" and emb.entity.shape == (40, 16)
    known = np.stack([h, r, t], axis=1)
    assert rank_triples(emb, known[:20], known).mrr > 0.3


def test_typed_sampler_draws_only_entities_seen_in_that_position() -> None:
    import torch

    from discoverly.graph.kge import _draw, _typed_pools

    # relation 0: heads {0, 1}, tails {5, 6, 7}; relation 1: heads {2}, tails {9}
    h = np.array([0, 1, 1, 2])
    r = np.array([0, 0, 0, 1])
    t = np.array([5, 6, 7, 9])
    heads, tails = _typed_pools(h, r, t, 10, 2, torch)
    gen = torch.Generator().manual_seed(0)
    drawn_t = _draw(tails, torch.tensor([0, 0, 1]), 500, gen, torch).numpy()
    assert set(drawn_t[0]) == set(drawn_t[1]) == {5, 6, 7} and set(drawn_t[2]) == {9}
    drawn_h = _draw(heads, torch.tensor([0, 1]), 500, gen, torch).numpy()
    assert set(drawn_h[0]) == {0, 1} and set(drawn_h[1]) == {2}
    # uniform within the pool
    counts = np.bincount(drawn_t[:2].ravel(), minlength=10)[5:8]
    assert counts.min() > 250


@pytest.mark.parametrize("model", KGE_MODELS)
def test_corrupted_scores_equal_the_score_function(model: str) -> None:
    import torch

    from discoverly.graph.kge import _SCORES, _corrupted

    g = torch.Generator().manual_seed(1)
    eh, er, et = (torch.randn(5, 8, generator=g) for _ in range(3))
    en = torch.randn(5, 7, 8, generator=g)
    fn = _SCORES[model]
    want_head = fn(en, er.unsqueeze(1), et.unsqueeze(1), 6.0)
    want_tail = fn(eh.unsqueeze(1), er.unsqueeze(1), en, 6.0)
    torch.testing.assert_close(_corrupted(model, en, eh, er, et, "head", 6.0, torch), want_head)
    torch.testing.assert_close(_corrupted(model, en, eh, er, et, "tail", 6.0, torch), want_tail)


def test_typed_sampler_learns_block_structure() -> None:
    h, r, t = two_blocks()
    rng = np.random.default_rng(0)
    test_idx = rng.choice(h.size, size=20, replace=False)
    train = np.setdiff1d(np.arange(h.size), test_idx)
    emb = KGETrainer(model="distmult", dim=16, epochs=60, batch_size=64, negatives=16, lr=0.02, threads=1,
                     sampler="typed").fit(h[train], r[train], t[train], 40, 1, rng=0)
    # typed negatives only contrast a head's tails with other tails (entities 10-19 and 30-39), so
    # rank among those: the held-out tail's block must outscore the other block
    assert _block_separation(emb, h[test_idx], t[test_idx]) > 0.8
    with pytest.raises(ConfigError):
        KGETrainer(sampler="hard")



@pytest.mark.parametrize("model", ["distmult", "complex"])
def test_relation_queries_of_bilinear_models_reproduce_the_score(model: str) -> None:
    rng = np.random.default_rng(3)
    emb = KGEmbedding(model, rng.normal(size=(6, 8)).astype(np.float32), rng.normal(size=(2, 8)).astype(np.float32),
                      {"relations": ["x", "cites"]})
    others, cites = np.arange(6), np.ones(6, np.int64)
    for p in range(6):
        tail = emb.score(np.full(6, p), cites, others)  # (p, cites, x)
        head = emb.score(others, cites, np.full(6, p))  # (x, cites, p)
        # DistMult is symmetric (tail == head), so its "both" query is the one query of either direction
        both = tail if model == "distmult" else tail + head
        for direction, want in (("tail", tail), ("head", head), ("both", both)):
            got = emb.entity @ emb.relation_queries("cites", direction)[p]
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert not np.allclose(tail, head) or model == "distmult"


@pytest.mark.parametrize("model", ["transe", "rotate"])
def test_relation_queries_of_distance_models_are_the_moved_point(model: str) -> None:
    import torch

    from discoverly.graph.kge import _SCORES

    rng = np.random.default_rng(4)
    emb = KGEmbedding(model, rng.normal(size=(5, 6)).astype(np.float32), rng.normal(size=(1, 6)).astype(np.float32))
    fn = _SCORES[model]
    ent, rel = torch.from_numpy(emb.entity), torch.from_numpy(emb.relation)
    # the tail query of p is the point at distance 0 from h + r (TransE) / h rotated by r (RotatE)
    at_tail = fn(ent, rel[[0]], torch.from_numpy(emb.relation_queries(0, "tail")), 0.0)
    np.testing.assert_allclose(at_tail.numpy(), 0.0, atol=1e-3)
    at_head = fn(torch.from_numpy(emb.relation_queries(0, "head", entities=np.array([2]))), rel[[0]], ent[[2]], 0.0)
    np.testing.assert_allclose(at_head.numpy(), 0.0, atol=1e-3)
    with pytest.raises(ConfigError):
        emb.relation_queries(0, "both")
    with pytest.raises(ConfigError):
        emb.relation_queries("cites")  # no named relations
    with pytest.raises(ConfigError):
        emb.relation_queries(0, "sideways")
    with pytest.raises(ConfigError):
        emb.relation_queries(3)


@pytest.mark.parametrize("model", ["distmult", "complex"])
@pytest.mark.parametrize("sampler", ["uniform", "typed"])
def test_softmax_loss_learns_block_structure(model: str, sampler: str) -> None:
    h, r, t = two_blocks()
    rng = np.random.default_rng(0)
    test_idx = rng.choice(h.size, size=20, replace=False)
    train = np.setdiff1d(np.arange(h.size), test_idx)
    emb = KGETrainer(model=model, dim=16, epochs=60, batch_size=64, negatives=16, lr=0.02, threads=1,
                     loss="softmax", sampler=sampler).fit(h[train], r[train], t[train], 40, 1, rng=0)
    assert emb.config["loss"] == "softmax"
    assert emb.losses[-1] < emb.losses[0]
    known = np.stack([h, r, t], axis=1)
    # rank among the entities that can be tails (typed negatives never contrast heads with tails)
    metrics = rank_triples(emb, known[test_idx], known, candidates=np.r_[0:40])
    assert _block_separation(emb, h[test_idx], t[test_idx]) > 0.8, metrics


def test_softmax_loss_uses_single_relation_batches_and_masks_the_true_entity(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import discoverly.graph.kge as kge

    # two one-to-one relations between heads 0-3 and tails 4-7; with typed sampling the 8 shared
    # negatives of a side come from 4 entities, so they nearly always contain the true one: unless it
    # is masked, the loss cannot fall below log 2, whatever the vectors
    h = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    r = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    t = np.array([4, 5, 6, 7, 5, 4, 7, 6])
    batch_relations: list[set[float]] = []
    real = kge._relation_query

    def spy(model: str, e: object, rel: object, side: str, torch: object) -> object:
        batch_relations.append({tuple(x) for x in rel.detach().numpy().tolist()})  # type: ignore[attr-defined]
        return real(model, e, rel, side, torch)  # type: ignore[arg-type]

    monkeypatch.setattr(kge, "_relation_query", spy)
    emb = KGETrainer(model="distmult", dim=8, epochs=150, batch_size=3, negatives=8, lr=0.05, threads=1,
                     loss="softmax", sampler="typed", weight_decay=0.0).fit(h, r, t, 8, 2, rng=0)
    assert batch_relations and all(len(x) == 1 for x in batch_relations)  # one relation vector per batch
    assert emb.losses[-1] < 0.3 < np.log(2)


def test_softmax_loss_is_only_for_bilinear_models() -> None:
    with pytest.raises(ConfigError, match="bilinear"):
        KGETrainer(model="transe", loss="softmax")
    with pytest.raises(ConfigError, match="loss"):
        KGETrainer(model="complex", loss="hinge")


def _block_separation(emb: KGEmbedding, heads: np.ndarray, tails_true: np.ndarray) -> float:
    """Share of held-out triples whose tail block (10-19 or 30-39) outscores the other block."""
    tails = np.r_[10:20, 30:40]
    separated = []
    for hh, tt in zip(heads, tails_true, strict=True):
        s = emb.score(np.full(20, hh), np.zeros(20, np.int64), tails)
        right = (tails >= 30) == (tt >= 30)
        separated.append(s[right].min() > s[~right].max())
    return float(np.mean(separated))


@pytest.mark.parametrize("model", ["distmult", "complex"])
@pytest.mark.parametrize("side", ["tail", "head"])
def test_training_and_serving_query_formulas_agree(model: str, side: str) -> None:
    # training (torch, kge._relation_query) and serving (numpy, KGEmbedding.relation_queries) build the
    # same query vectors, and <query, e_x> is the model's score of the triple
    import torch

    from discoverly.graph.kge import _SCORES, _relation_query

    rng = np.random.default_rng(3)
    ent, rel = rng.normal(size=(7, 6)).astype(np.float32), rng.normal(size=(2, 6)).astype(np.float32)
    emb = KGEmbedding(model, ent, rel)
    served = emb.relation_queries(1, side)
    trained = _relation_query(model, torch.from_numpy(ent), torch.from_numpy(rel[1]).expand(7, 6), side, torch)
    np.testing.assert_allclose(served, trained.numpy(), rtol=1e-5, atol=1e-5)
    e, r = torch.from_numpy(ent), torch.from_numpy(rel[1])
    for p in range(7):
        h, t = (e[p].expand(7, 6), e) if side == "tail" else (e, e[p].expand(7, 6))
        score = _SCORES[model](h, r.expand(7, 6), t, 0.0).numpy()
        np.testing.assert_allclose(served[p] @ ent.T, score, rtol=1e-4, atol=1e-4)


def test_query_directions_are_refused_alike_by_the_embedding_and_the_engine_settings() -> None:
    from discoverly.graph.kge import check_query_direction

    emb = KGEmbedding("transe", np.zeros((3, 4), np.float32), np.zeros((1, 4), np.float32))
    both = r"query direction 'both' is defined for the bilinear models \(distmult, complex\), not for transe; use "
    # query_pair offers 'tail+head' too (it said "use 'tail' or 'head'", its relation_queries' message)
    for refuse in (lambda: emb.query_pair(0, "both"), lambda: check_query_direction("both", "transe")):
        with pytest.raises(ConfigError, match=both + r"'tail', 'head' or 'tail\+head'$"):
            refuse()
    with pytest.raises(ConfigError, match=both + r"'tail' or 'head'$"):
        emb.relation_queries(0, "both")
    for refuse in (lambda: emb.query_pair(0, "sideways"), lambda: check_query_direction("sideways", "complex")):
        with pytest.raises(ConfigError, match=r"unknown query direction 'sideways'; use 'tail', 'head', 'both' or "
                                              r"'tail\+head'$"):
            refuse()
