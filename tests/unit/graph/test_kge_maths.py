"""Our own maths around the KG embeddings, checked against numpy versions written from the module
docstring: the four score functions (complex numbers as numpy complex), the filtered ranks of
``rank_triples`` by brute force, the initial vectors' range, and one epoch's loss of both losses with
known negatives (the sampling is replaced by fixed draws, and ``lr=0`` leaves the vectors as they started)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from discoverly.errors import DataError
from discoverly.graph.kge import KGE_MODELS, KGEmbedding, KGETrainer, rank_triples


def np_score(model: str, h: np.ndarray, r: np.ndarray, t: np.ndarray) -> float:
    h, r, t = (np.asarray(x, dtype=np.float64) for x in (h, r, t))
    half = h.shape[-1] // 2
    if model == "transe":
        return -float(np.abs(h + r - t).sum())
    if model == "distmult":
        return float((h * r * t).sum())
    hc, tc = h[:half] + 1j * h[half:], t[:half] + 1j * t[half:]
    if model == "complex":
        rc = r[:half] + 1j * r[half:]
        return float(np.real(np.sum(hc * rc * np.conj(tc))))
    rot = np.exp(1j * r[:half])  # rotate: the relation's first half are the phases
    return -float(np.abs(hc * rot - tc).sum())


def log_sigmoid(x: float) -> float:
    return -float(np.log1p(np.exp(-x))) if x > 0 else float(x - np.log1p(np.exp(x)))


@pytest.mark.parametrize("model", KGE_MODELS)
def test_scores_are_the_docstrings_formulas(model: str) -> None:
    rng = np.random.default_rng(1)
    emb = KGEmbedding(model, rng.normal(size=(5, 6)).astype(np.float32), rng.normal(size=(2, 6)).astype(np.float32))
    h, r, t = np.array([0, 1, 2, 4]), np.array([0, 1, 1, 0]), np.array([3, 3, 0, 4])
    want = [np_score(model, emb.entity[a], emb.relation[b], emb.entity[c]) for a, b, c in zip(h, r, t, strict=True)]
    np.testing.assert_allclose(emb.score(h, r, t), want, rtol=1e-5, atol=1e-4)


def brute_ranks(emb: KGEmbedding, test: np.ndarray, known: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Filtered ranks, ties counted half, tails of every test triple then heads (plain loops)."""
    known_set = {tuple(x) for x in known.tolist()}
    ranks = []
    for side in ("tail", "head"):
        for h, r, t in test.tolist():
            def s(x: int, h: int = h, r: int = r, t: int = t, side: str = side) -> float:
                hh, tt = (h, x) if side == "tail" else (x, t)
                return np_score(emb.model, emb.entity[hh], emb.relation[r], emb.entity[tt])

            target = t if side == "tail" else h
            mine = s(target)
            higher = ties = 0
            for x in candidates.tolist():
                triple = (h, r, x) if side == "tail" else (x, r, t)
                if x == target or triple in known_set:
                    continue
                other = s(x)
                if abs(other - mine) < 1e-9:
                    ties += 1
                elif other > mine:
                    higher += 1
            ranks.append(1 + higher + ties / 2)
    return np.array(ranks)


@pytest.mark.parametrize("model", KGE_MODELS)
def test_rank_triples_is_the_brute_force_filtered_rank(model: str) -> None:
    rng = np.random.default_rng(7)
    # small integer vectors: many exact ties, which count half
    ent = rng.integers(-1, 2, size=(14, 4)).astype(np.float32)
    rel = rng.integers(-1, 2, size=(2, 4)).astype(np.float32)
    if model == "rotate":  # rotated points are off by rounding errors: no exact ties to test, so none are made
        ent = rng.normal(size=(14, 4)).astype(np.float32)
        rel = rng.uniform(-np.pi, np.pi, size=(2, 4)).astype(np.float32)
    emb = KGEmbedding(model, ent, rel)
    known = np.stack([rng.integers(0, 14, 40), rng.integers(0, 2, 40), rng.integers(0, 14, 40)], axis=1)
    test = known[:9]
    for candidates in (None, np.array([0, 2, 3, 5, 7, 8, 9, 11, 12, 13]), np.arange(14)):
        cand = np.arange(14) if candidates is None else candidates
        inside = test[np.isin(test[:, 0], cand) & np.isin(test[:, 2], cand)]
        got = rank_triples(emb, inside, known, candidates=candidates, batch=4)
        want = brute_ranks(emb, inside, known, cand)
        np.testing.assert_allclose(1 / got.reciprocal_ranks, want, atol=1e-4)
        assert got.mrr == pytest.approx(np.mean(1 / want), abs=1e-6)
        assert got.hits_at_1 == pytest.approx(np.mean(want <= 1))
        assert got.hits_at_10 == pytest.approx(np.mean(want <= 10))
        assert got.n == 2 * len(inside)
        assert got.to_dict() == {"mrr": got.mrr, "hits@1": got.hits_at_1, "hits@10": got.hits_at_10, "n": got.n}


def test_rank_triples_counts_ties_half_in_hits() -> None:
    # DistMult, r = (1, 0): score(h, r, t) = h[0] * t[0]
    ent = np.array([[1, 0], [2, 0], [0, 1], [0, 1], [0, 1]], dtype=np.float32)
    emb = KGEmbedding("distmult", ent, np.array([[1, 0]], dtype=np.float32))
    got = rank_triples(emb, np.array([[0, 0, 1], [0, 0, 2]]), np.array([[0, 0, 1], [0, 0, 2]]))
    # tails of (0, r, ?) score 1, 2, 0, 0, 0: tail 1 is first; tail 2 is below 0 (1 is filtered) and ties with 3, 4
    # heads of (?, r, 1) score 2, 4, 0, 0, 0: head 0 is second; of (?, r, 2) all 0: 0 ties with four others
    np.testing.assert_allclose(1 / got.reciprocal_ranks, [1, 1 + 1 + 2 / 2, 2, 1 + 4 / 2])
    assert got.hits_at_1 == 0.25 and got.hits_at_10 == 1.0 and got.mrr == pytest.approx((1 + 1 / 3 + 1 / 2 + 1 / 3) / 4)


def test_rank_triples_refuses_test_triples_outside_the_candidates() -> None:
    # head 0 is not a candidate: its head-side rank was read off the last candidate's score (rank 3 with the
    # candidates in one order, 1 in the other)
    ent = np.array([[1, 0], [2, 0], [0, 1], [0, 1], [0, 1]], dtype=np.float32)
    emb = KGEmbedding("distmult", ent, np.array([[1, 0]], dtype=np.float32))
    test = np.array([[1, 0, 2], [0, 0, 1]])
    for candidates in ([1, 2, 3, 4], [4, 3, 2, 1]):
        with pytest.raises(DataError, match=r"^1 of 2 test triples have a head or tail that is not among the 4 "
                                            r"candidates \(e\.g\. \(0, 0, 1\)\)"):
            rank_triples(emb, test, test, candidates=np.array(candidates))
    assert rank_triples(emb, test[:1], test, candidates=np.array([1, 2, 3, 4])).n == 2


@pytest.mark.parametrize(("model", "dim", "gamma", "bound"), [
    ("transe", 8, 6.0, 1.0), ("rotate", 8, 2.0, 0.5), ("distmult", 16, 6.0, 0.25), ("complex", 4, 6.0, 0.5)])
def test_initial_vectors_are_uniform_within_the_bound(model: str, dim: int, gamma: float, bound: float) -> None:
    # (gamma + 2) / dim for the distance models, 1 / sqrt(dim) for the bilinear ones; RotatE phases in [-pi, pi]
    h = np.arange(200) % 50
    emb = KGETrainer(model=model, dim=dim, gamma=gamma, epochs=1, lr=0.0, batch_size=256, negatives=2,
                     threads=1).fit(h, np.zeros(200, np.int64), (h + 1) % 50, 400, 3, rng=0)
    assert np.abs(emb.entity).max() <= bound and np.abs(emb.entity).max() > 0.97 * bound
    assert abs(float(emb.entity.mean())) < 0.05 * bound
    if model == "rotate":
        assert np.abs(emb.relation).max() <= np.pi and np.abs(emb.relation).max() > 0.8 * np.pi
    else:
        assert np.abs(emb.relation).max() <= bound and np.abs(emb.relation).max() > 0.5 * bound


class FixedDraws:
    """Stands in for torch's sampling: randperm is the identity, randint hands out the given draws in turn."""

    def __init__(self, torch: Any, draws: list[np.ndarray]) -> None:
        self.torch, self.draws = torch, list(draws)
        self.real_randperm, self.real_randint = torch.randperm, torch.randint

    def randperm(self, n: int, generator: Any = None) -> Any:
        return self.torch.arange(n)

    def randint(self, low: int, high: int, size: Any, generator: Any = None) -> Any:
        draw = self.draws.pop(0)
        assert tuple(draw.shape) == tuple(size) and draw.max() < high
        return self.torch.from_numpy(draw.astype(np.int64))


@pytest.mark.parametrize("model", KGE_MODELS)
@pytest.mark.parametrize("temperature", [0.0, 1.0, 2.5])
def test_the_logistic_loss_of_one_epoch_is_the_self_adversarial_formula(
        model: str, temperature: float, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    h, r, t = np.array([0, 1, 2, 3, 4]), np.array([0, 1, 0, 1, 0]), np.array([5, 6, 7, 5, 6])
    negs = np.array([[1, 7, 2], [0, 3, 3], [5, 6, 1], [2, 0, 7], [3, 3, 4]])
    fixed = FixedDraws(torch, [negs])
    monkeypatch.setattr(torch, "randperm", fixed.randperm)
    monkeypatch.setattr(torch, "randint", fixed.randint)
    gamma, wd = 3.0, 0.01
    emb = KGETrainer(model=model, dim=4, epochs=1, lr=0.0, batch_size=8, negatives=3, gamma=gamma, weight_decay=wd,
                     adversarial_temperature=temperature, threads=1).fit(h, r, t, 8, 2, rng=0)
    E, R = emb.entity.astype(np.float64), emb.relation.astype(np.float64)
    g = gamma if model in ("transe", "rotate") else 0.0
    per_triple = []
    for i in range(5):
        pos = np_score(model, E[h[i]], R[r[i]], E[t[i]])
        if i < 5 // 2:  # the first half of the batch has its heads corrupted, the rest their tails
            s = np.array([np_score(model, E[x], R[r[i]], E[t[i]]) for x in negs[i]])
        else:
            s = np.array([np_score(model, E[h[i]], R[r[i]], E[x]) for x in negs[i]])
        w = np.exp(temperature * s) / np.exp(temperature * s).sum()
        per_triple.append(-log_sigmoid(g + pos) - sum(wj * log_sigmoid(-g - sj) for wj, sj in zip(w, s, strict=True)))
    want = np.mean(per_triple) / 2  # positive and negative parts averaged, as RotatE's reference code does
    if model in ("distmult", "complex"):  # L2 penalty on the batch's vectors
        want += wd * ((E[h] ** 2).sum() + (E[t] ** 2).sum() + (R[r] ** 2).sum()) / 5
    assert emb.losses == [pytest.approx(want, rel=1e-5)]


@pytest.mark.parametrize("model", ["distmult", "complex"])
def test_the_softmax_loss_of_one_epoch_is_the_cross_entropy_of_both_directions(
        model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    # one relation, one batch: heads 0-3, tails 4-7; the shared negatives include some true entities
    h, r, t = np.array([0, 1, 2, 3]), np.zeros(4, np.int64), np.array([4, 5, 6, 4])
    neg_h, neg_t = np.array([1, 6, 0, 2, 2]), np.array([4, 7, 5, 0, 7])
    fixed = FixedDraws(torch, [neg_h, neg_t])
    monkeypatch.setattr(torch, "randperm", fixed.randperm)
    monkeypatch.setattr(torch, "randint", fixed.randint)
    wd = 0.02
    emb = KGETrainer(model=model, dim=4, epochs=1, lr=0.0, batch_size=8, negatives=5, weight_decay=wd, loss="softmax",
                     threads=1).fit(h, r, t, 8, 1, rng=0)
    E, R = emb.entity.astype(np.float64), emb.relation.astype(np.float64)

    def ce(true: float, others: list[float]) -> float:
        z = np.array([true, *others])
        return float(np.log(np.exp(z - z.max()).sum()) + z.max() - true)

    tails = [ce(np_score(model, E[a], R[0], E[b]), [np_score(model, E[a], R[0], E[x]) for x in neg_t if x != b])
             for a, b in zip(h, t, strict=True)]
    heads = [ce(np_score(model, E[a], R[0], E[b]), [np_score(model, E[x], R[0], E[b]) for x in neg_h if x != a])
             for a, b in zip(h, t, strict=True)]
    want = (np.mean(tails) + np.mean(heads)) / 2
    want += wd * ((E[h] ** 2).sum() + (E[t] ** 2).sum() + 4 * (R[0] ** 2).sum()) / 4
    assert emb.losses == [pytest.approx(want, rel=1e-5)]


def test_losses_are_per_triple_over_several_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    # 5 triples in batches of 2, 2 and 1: the epoch's loss is the triple-weighted mean of the batches' losses
    h, r, t = np.array([0, 1, 2, 3, 4]), np.zeros(5, np.int64), np.array([5, 6, 7, 5, 6])
    negs = [np.array([[1, 7], [0, 3]]), np.array([[5, 6], [2, 0]]), np.array([[3, 3]])]
    fixed = FixedDraws(torch, negs)
    monkeypatch.setattr(torch, "randperm", fixed.randperm)
    monkeypatch.setattr(torch, "randint", fixed.randint)
    emb = KGETrainer(model="transe", dim=4, epochs=1, lr=0.0, batch_size=2, negatives=2, gamma=1.0,
                     adversarial_temperature=0.0, threads=1).fit(h, r, t, 8, 1, rng=0)
    E, R = emb.entity.astype(np.float64), emb.relation.astype(np.float64)
    batches = []
    for rows, neg in zip(([0, 1], [2, 3], [4]), negs, strict=True):
        half = len(rows) // 2
        losses = []
        for j, i in enumerate(rows):
            pos = np_score("transe", E[h[i]], R[0], E[t[i]])
            s = [np_score("transe", E[x], R[0], E[t[i]]) if j < half else np_score("transe", E[h[i]], R[0], E[x])
                 for x in neg[j]]
            losses.append(-log_sigmoid(1.0 + pos) - np.mean([log_sigmoid(-1.0 - v) for v in s]))
        batches.append((np.mean(losses) / 2, len(rows)))
    want = sum(b * m for b, m in batches) / 5
    assert emb.losses == [pytest.approx(want, rel=1e-5)]
