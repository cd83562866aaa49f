"""Knowledge-graph embeddings in a compact torch module: TransE, DistMult, ComplEx, RotatE.

Scores (higher = more plausible) of a triple (head h, relation r, tail t)::

    transe    -|| h + r - t ||_1                  (head + relation ~ tail)
    distmult  < h, r, t >
    complex   Re < h, r, conj(t) >                 (complex vectors, dim/2 complex numbers)
    rotate    -|| h * r - t ||, |r_i| = 1          (relation = rotation in the complex plane)

Training: negative sampling by corrupting the head *or* the tail of each true triple (half of
each shuffled mini-batch has its heads corrupted, the other half its tails), with the
self-adversarial loss of Sun et al. (RotatE, 2019):
``-log sigma(gamma + s+) - sum_j softmax(alpha s-_j) log sigma(-gamma - s-_j)``.
The replacement entity is drawn uniformly from all entities (``sampler="uniform"``) or, with
``sampler="typed"``, from the entities seen in that position of that relation in the training
triples (a citation's tail is replaced by a cited paper, an author by an author; PyKEEN calls
this pseudo-typed sampling): harder negatives, since a random entity is usually of the wrong kind.
DistMult and ComplEx score a corrupted triple as one inner product with the corrupted entity
(``torch.bmm``), without materialising the per-negative products.

``loss="softmax"`` (DistMult and ComplEx) is a sampled softmax cross-entropy instead, the loss
with which Lacroix et al. (2018) and Ruffinelli et al. (2020) found the bilinear models much
stronger than with a logistic loss: every mini-batch holds triples of one relation, draws
``negatives`` replacement entities shared by the whole batch (of that relation's heads and of its
tails with ``sampler="typed"``; any entity with ``"uniform"``), and each triple is scored in both
directions — its tail against the shared tail replacements, its head against the head
replacements — with ``-log softmax`` of the true entity among them (a replacement equal to the
true entity is masked). Sharing makes many negatives cheap: one (batch x negatives) matrix
product per direction.
Evaluation: filtered MRR and Hits@k on held-out triples (every true triple of the graph other
than the one being ranked is removed from the candidate list), ranking heads and tails.

    emb = KGETrainer(model="transe", dim=64, epochs=50).fit(h, r, t, n_entities, n_relations, rng=0)
    emb.entity  # (n_entities, dim) float32
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from discoverly.artifacts import read_artifact, write_artifact
from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError

__all__ = ["KGETrainer", "KGEmbedding", "KGE_MODELS", "QUERY_DIRECTIONS", "check_query_direction", "rank_triples",
           "LinkMetrics"]

log = logging.getLogger(__name__)

KGE_MODELS = ("transe", "distmult", "complex", "rotate")
LOSSES = ("logistic", "softmax")
#: the query directions of :meth:`KGEmbedding.query_pair` (:meth:`KGEmbedding.relation_queries`: the first three)
QUERY_DIRECTIONS = ("tail", "head", "both", "tail+head")


def check_query_direction(direction: str, model: str, choices: tuple[str, ...] = QUERY_DIRECTIONS) -> None:
    """A :class:`ConfigError` unless ``direction`` is one of ``choices`` and defined for ``model``
    (``"both"``, the sum of the two queries, only for the bilinear models)."""
    def one_of(names: tuple[str, ...]) -> str:
        return f"{', '.join(map(repr, names[:-1]))} or {names[-1]!r}"

    if direction not in choices:
        raise ConfigError(f"unknown query direction {direction!r}; use {one_of(choices)}")
    if direction == "both" and model not in ("distmult", "complex"):
        raise ConfigError(f"query direction 'both' is defined for the bilinear models (distmult, complex), not for "
                          f"{model}; use {one_of(tuple(c for c in choices if c != 'both'))}")


@dataclass
class KGEmbedding:
    """Trained entity and relation vectors with the settings and timings that made them."""

    model: str
    entity: np.ndarray
    relation: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    backend: str = "torch"

    @property
    def dim(self) -> int:
        return int(self.entity.shape[1])

    def entity_vectors(self) -> np.ndarray:
        """Real-valued entity vectors for similarity (complex models: real and imaginary parts side by side)."""
        return np.asarray(self.entity, dtype=np.float32)

    def relation_queries(self, relation: int | str, direction: str = "both",
                         entities: np.ndarray | None = None) -> np.ndarray:
        """Query vectors ``q_p`` that look for the entities linked to ``p`` by ``relation``.

        ``direction="tail"`` looks for the tails ``x`` of ``(p, relation, x)`` (for citations: the
        papers ``p`` would cite), ``"head"`` for the heads of ``(x, relation, p)`` (the papers that
        would cite ``p``), ``"both"`` for either. For the bilinear models the inner product is the
        model's score: DistMult ``<q_p, e_x> = <e_p * r, e_x>`` (symmetric, so the three directions
        are one), ComplEx ``Re<e_p, r, conj(e_x)>`` (tail) or ``Re<e_x, r, conj(e_p)>`` (head), and
        ``"both"`` their sum. For TransE (``e_p + r`` or ``e_p - r``) and RotatE (``e_p`` rotated by
        ``r`` or back) the query is the translated / rotated point, which a cosine search only
        approximates, and ``"both"`` is not defined. ``relation`` is an index or, when the
        embedding's config lists its relations (``train_embedding`` does), a name. ``entities``
        picks the rows (default: all). Returns float32 vectors of the entity dimension."""
        check_query_direction(direction, self.model, QUERY_DIRECTIONS[:3])
        if isinstance(relation, str):
            names = list(self.config.get("relations") or [])
            if relation not in names:
                raise ConfigError(f"unknown relation {relation!r}; the embedding has {names or 'no named relations'}")
            relation = names.index(relation)
        if not 0 <= int(relation) < self.relation.shape[0]:
            raise ConfigError(f"relation index {relation} outside 0..{self.relation.shape[0] - 1}")
        e = np.asarray(self.entity if entities is None else self.entity[np.asarray(entities)], dtype=np.float64)
        r = np.asarray(self.relation[int(relation)], dtype=np.float64)
        if self.model == "distmult":
            out = e * r
        elif self.model == "complex":
            er, ei = _complex(e)
            rr, ri = _complex(r)
            tail = np.concatenate([er * rr - ei * ri, er * ri + ei * rr], axis=-1)
            head = np.concatenate([rr * er + ri * ei, rr * ei - ri * er], axis=-1)
            out = {"tail": tail, "head": head, "both": tail + head}[direction]
        elif self.model == "transe":
            out = e + r if direction == "tail" else e - r
        else:  # rotate: rotate by the relation's phases (tail) or back (head)
            er, ei = _complex(e)
            phase = r[: r.shape[-1] // 2] * (1.0 if direction == "tail" else -1.0)
            c, s = np.cos(phase), np.sin(phase)
            out = np.concatenate([er * c - ei * s, er * s + ei * c], axis=-1)
        return out.astype(np.float32)

    def query_pair(self, relation: int | str, direction: str,
                   entities: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """The query vectors of :meth:`relation_queries`, and for ``direction="tail+head"`` the tail
        queries first and the head queries second (two searches, merged by score in
        ``SimilarItems(graph_query=..., graph_query_2=...)``); the second is ``None`` otherwise."""
        check_query_direction(direction, self.model)
        if direction == "tail+head":
            return (self.relation_queries(relation, "tail", entities),
                    self.relation_queries(relation, "head", entities))
        return self.relation_queries(relation, direction, entities), None

    def score(self, h: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Plausibility of triples (numpy; for inspection and tests)."""
        torch = require("torch", extra="graph", purpose="knowledge-graph embeddings")
        with torch.no_grad():
            ent = torch.from_numpy(np.array(self.entity, dtype=np.float32))
            rel = torch.from_numpy(np.array(self.relation, dtype=np.float32))
            fn = _SCORES[self.model]
            out = fn(ent[np.asarray(h)], rel[np.asarray(r)], ent[np.asarray(t)], self.config.get("gamma", 0.0))
        return out.numpy()

    def save(self, path: str | Path) -> Path:
        """Write the embedding as an artifact directory; refuses a file or a folder that is not an artifact."""
        manifest = {"kind": "kg-embedding", "model": self.model, "backend": self.backend, "config": self.config,
                    "seconds": self.seconds, "losses": self.losses}
        return write_artifact(path, manifest, {"entity": self.entity, "relation": self.relation})

    @classmethod
    def load(cls, path: str | Path) -> KGEmbedding:
        art = read_artifact(path, kind="kg-embedding")
        m = art.manifest
        return cls(m["model"], art.arrays["entity"], art.arrays["relation"], m.get("config", {}),
                   float(m.get("seconds", 0.0)), list(m.get("losses", [])), m.get("backend", "torch"))


# -- score functions (torch tensors; broadcast over leading dimensions) ----------------------------
def _complex(x: Any) -> tuple[Any, Any]:
    half = x.shape[-1] // 2
    return x[..., :half], x[..., half:]


def _transe(h: Any, r: Any, t: Any, gamma: float) -> Any:
    return -(h + r - t).abs().sum(-1)


def _distmult(h: Any, r: Any, t: Any, gamma: float) -> Any:
    return (h * r * t).sum(-1)


def _complex_score(h: Any, r: Any, t: Any, gamma: float) -> Any:
    hr, hi = _complex(h)
    rr, ri = _complex(r)
    tr, ti = _complex(t)
    return (hr * rr * tr + hi * rr * ti + hr * ri * ti - hi * ri * tr).sum(-1)


def _rotate(h: Any, r: Any, t: Any, gamma: float) -> Any:
    import torch

    hr, hi = _complex(h)
    tr, ti = _complex(t)
    phase = r[..., : r.shape[-1] // 2]
    cr, ci = torch.cos(phase), torch.sin(phase)
    dr = hr * cr - hi * ci - tr
    di = hr * ci + hi * cr - ti
    return -torch.sqrt(dr * dr + di * di + 1e-9).sum(-1)


_SCORES: dict[str, Callable[[Any, Any, Any, float], Any]] = {
    "transe": _transe, "distmult": _distmult, "complex": _complex_score, "rotate": _rotate}


@dataclass
class KGETrainer:
    """Trains a :class:`KGEmbedding` with negative sampling (corrupting head or tail).

    ``dim`` is the real dimension of entity vectors (complex models use dim/2 complex numbers).
    ``epochs`` passes over the triples in mini-batches of ``batch_size``, each positive against
    ``negatives`` corrupted triples. ``gamma`` is the margin of distance models (TransE, RotatE),
    ``adversarial_temperature`` the alpha of self-adversarial weighting (0 = uniform weights),
    ``weight_decay`` an L2 penalty on the vectors of a batch (DistMult, ComplEx).
    ``max_seconds`` stops training early (after a whole epoch) to bound the cost.
    ``sampler`` is ``"uniform"`` (any entity replaces the head or tail) or ``"typed"`` (only
    entities seen in that position of the relation; see the module docstring).
    ``loss`` is ``"logistic"`` (self-adversarial logistic loss over ``negatives`` corruptions per
    triple) or ``"softmax"`` (DistMult, ComplEx: sampled softmax cross-entropy over ``negatives``
    corruptions shared by a single-relation mini-batch, both directions; module docstring).
    ``threads`` sets torch's thread count. A seed gives bit-identical vectors with ``threads=1``;
    with more threads the logistic loss's gradient sums may add up in a different order from run
    to run, so vectors can differ in the last bits.
    """

    model: str = "transe"
    dim: int = 64
    epochs: int = 50
    batch_size: int = 2048
    negatives: int = 64
    lr: float = 0.005
    gamma: float = 6.0
    adversarial_temperature: float = 1.0
    weight_decay: float = 1e-6
    max_seconds: float | None = None
    threads: int | None = None
    sampler: str = "uniform"
    loss: str = "logistic"

    def __post_init__(self) -> None:
        if self.sampler not in ("uniform", "typed"):
            raise ConfigError(f"unknown negative sampler {self.sampler!r}; use 'uniform' or 'typed'")
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; use one of {LOSSES}")
        if self.loss == "softmax" and self.model not in ("distmult", "complex"):
            raise ConfigError(f"loss='softmax' is defined for the bilinear models (distmult, complex), "
                              f"not for {self.model}; use loss='logistic'")
        if self.model not in KGE_MODELS:
            raise ConfigError(f"unknown KG embedding model {self.model!r}; choose one of {KGE_MODELS}")
        if self.dim < 2 or (self.model in ("complex", "rotate") and self.dim % 2):
            raise ConfigError(f"dim must be >= 2 (and even for complex/rotate), got {self.dim}")
        low = {k: v for k, v in (("epochs", self.epochs), ("batch_size", self.batch_size),
                                 ("negatives", self.negatives)) if v < 1}
        if low:
            got = ", ".join(f"{k}={v}" for k, v in low.items())
            raise ConfigError(f"epochs, batch_size and negatives must be at least 1; got {got}")
        if self.threads is not None and self.threads < 0:
            raise ConfigError(f"threads must be a positive number of CPU threads (0 or None: the default), "
                              f"got {self.threads}")

    def fit(self, head: np.ndarray, relation: np.ndarray, tail: np.ndarray, n_entities: int, n_relations: int, *,
            rng: int | np.random.Generator | None = 0, progress: bool = False) -> KGEmbedding:
        """Train on the triples ``(head[i], relation[i], tail[i])``."""
        torch = require("torch", extra="graph", purpose="knowledge-graph embeddings")
        h = np.array(head, dtype=np.int64)  # copies: torch needs writable arrays
        r = np.array(relation, dtype=np.int64)
        t = np.array(tail, dtype=np.int64)
        if not (h.shape == r.shape == t.shape) or h.size == 0:
            raise DataError(f"need equally long, non-empty head/relation/tail arrays; got {h.size}, {r.size}, {t.size}")
        if max(h.max(), t.max()) >= n_entities or r.max() >= n_relations or min(h.min(), t.min(), r.min()) < 0:
            raise DataError("triples refer to entity or relation numbers outside 0..n-1")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        seed = int(gen.integers(0, 2**31 - 1))
        torch_gen = torch.Generator().manual_seed(seed)
        if self.threads:
            torch.set_num_threads(self.threads)
        distance = self.model in ("transe", "rotate")
        bound = (self.gamma + 2.0) / self.dim if distance else 1.0 / math.sqrt(self.dim)
        ent = torch.nn.Parameter(torch.empty(n_entities, self.dim).uniform_(-bound, bound, generator=torch_gen))
        rel_dim = self.dim
        rel = torch.nn.Parameter(torch.empty(n_relations, rel_dim).uniform_(-bound, bound, generator=torch_gen))
        if self.model == "rotate":
            with torch.no_grad():
                rel.uniform_(-math.pi, math.pi, generator=torch_gen)
        opt = torch.optim.Adam([ent, rel], lr=self.lr)
        H, R, T = (torch.from_numpy(x) for x in (h, r, t))
        pools = _typed_pools(h, r, t, n_entities, n_relations, torch) if self.sampler == "typed" else None
        n = h.size
        losses: list[float] = []
        started = time.perf_counter()
        bar = _progress(progress, self.epochs, f"training {self.model}")
        try:
            for epoch in range(self.epochs):
                if self.loss == "softmax":
                    total = self._softmax_epoch(ent, rel, opt, H, R, T, pools, n_entities, torch_gen, torch)
                else:
                    total = self._logistic_epoch(ent, rel, opt, H, R, T, pools, n_entities, torch_gen, torch)
                losses.append(total / n)
                if bar is not None:
                    bar.update(1)
                log.debug("%s epoch %d loss %.4f", self.model, epoch, losses[-1])
                if self.max_seconds is not None and time.perf_counter() - started > self.max_seconds:
                    log.info("%s: stopped after %d epochs (max_seconds=%s)", self.model, epoch + 1, self.max_seconds)
                    break
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - started
        config = {**asdict(self), "seed": seed, "epochs_run": len(losses), "n_entities": n_entities,
                  "n_relations": n_relations, "n_triples": int(n)}
        return KGEmbedding(self.model, ent.detach().numpy().astype(np.float32),
                           rel.detach().numpy().astype(np.float32), config, seconds, losses)


    def _logistic_epoch(self, ent: Any, rel: Any, opt: Any, H: Any, R: Any, T: Any, pools: Any, n_entities: int,
                        gen: Any, torch: Any) -> float:
        """One epoch of the self-adversarial logistic loss (module docstring); returns the summed loss."""
        distance = self.model in ("transe", "rotate")
        gamma = self.gamma if distance else 0.0
        score = _SCORES[self.model]
        n = H.numel()
        k = self.negatives
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for a in range(0, n, self.batch_size):
            idx = perm[a:a + self.batch_size]
            bh, br, bt = H[idx], R[idx], T[idx]
            m = idx.numel()
            half = m // 2  # the batch is a random sample: corrupt the heads of its first half
            if pools is None:
                neg = torch.randint(0, n_entities, (m, k), generator=gen)
            else:
                neg = torch.cat([_draw(pools[0], br[:half], k, gen, torch),
                                 _draw(pools[1], br[half:], k, gen, torch)])
            eh, er, et = ent[bh], rel[br], ent[bt]
            en = ent[neg]
            pos = score(eh, er, et, gamma)
            negs = torch.cat([_corrupted(self.model, en[:half], eh[:half], er[:half], et[:half], "head",
                                         gamma, torch),
                              _corrupted(self.model, en[half:], eh[half:], er[half:], et[half:], "tail",
                                         gamma, torch)])
            if self.adversarial_temperature > 0:
                w = torch.softmax(negs.detach() * self.adversarial_temperature, dim=1)
            else:
                w = torch.full_like(negs, 1.0 / k)
            pos_loss = -torch.nn.functional.logsigmoid(gamma + pos)
            neg_loss = -(w * torch.nn.functional.logsigmoid(-gamma - negs)).sum(1)
            loss = (pos_loss + neg_loss).mean() / 2
            total += self._step(opt, loss, eh, er, et, decay=not distance)
        return total

    def _softmax_epoch(self, ent: Any, rel: Any, opt: Any, H: Any, R: Any, T: Any, pools: Any, n_entities: int,
                       gen: Any, torch: Any) -> float:
        """One epoch of the sampled softmax loss (module docstring); returns the summed loss."""
        F = torch.nn.functional
        batches = []
        for rel_id in torch.unique(R).tolist():  # single-relation mini-batches, in random order
            idx = torch.nonzero(R.eq(rel_id)).squeeze(1)
            idx = idx[torch.randperm(idx.numel(), generator=gen)]
            batches += list(torch.split(idx, self.batch_size))
        total = 0.0
        k = self.negatives
        for b in torch.randperm(len(batches), generator=gen).tolist():
            idx = batches[b]
            m = idx.numel()
            bh, br, bt = H[idx], R[idx], T[idx]
            if pools is None:
                neg_h = torch.randint(0, n_entities, (k,), generator=gen)
                neg_t = torch.randint(0, n_entities, (k,), generator=gen)
            else:
                neg_h = _draw(pools[0], br[:1], k, gen, torch)[0]
                neg_t = _draw(pools[1], br[:1], k, gen, torch)[0]
            eh, er, et = ent[bh], rel[br], ent[bt]
            q_tail = _relation_query(self.model, eh, er, "tail", torch)  # <q_tail, e_x> = score(h, r, x)
            q_head = _relation_query(self.model, et, er, "head", torch)  # <q_head, e_x> = score(x, r, t)
            loss: Any = 0.0
            for q, true_e, true_id, neg in ((q_tail, et, bt, neg_t), (q_head, eh, bh, neg_h)):
                pos = (q * true_e).sum(-1, keepdim=True)
                logits = q @ ent[neg].T
                logits = logits.masked_fill(neg.unsqueeze(0) == true_id.unsqueeze(1), float("-inf"))
                both = torch.cat([pos, logits], dim=1)
                loss = loss + F.cross_entropy(both, torch.zeros(m, dtype=torch.long)) / 2
            total += self._step(opt, loss, eh, er, et, decay=True)
        return total

    def _step(self, opt: Any, loss: Any, eh: Any, er: Any, et: Any, *, decay: bool) -> float:
        """Adds the weight decay of the batch's vectors (``decay``), takes one optimiser step and
        returns the batch's summed loss."""
        m = eh.shape[0]
        if decay and self.weight_decay:
            loss = loss + self.weight_decay * (eh.pow(2).sum() + et.pow(2).sum() + er.pow(2).sum()) / m
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach()) * m


def _relation_query(model: str, e: Any, r: Any, side: str, torch: Any) -> Any:
    """Vectors ``q`` with ``<q, x>`` the score of ``(e, r, x)`` (``side="tail"``) or ``(x, r, e)`` ("head")."""
    if model == "distmult":
        return e * r
    er_, ei = _complex(e)
    rr, ri = _complex(r)
    if side == "tail":
        return torch.cat([er_ * rr - ei * ri, er_ * ri + ei * rr], dim=-1)
    return torch.cat([rr * er_ + ri * ei, rr * ei - ri * er_], dim=-1)


def _typed_pools(h: np.ndarray, r: np.ndarray, t: np.ndarray, n_entities: int, n_relations: int,
                 torch: Any) -> tuple[tuple[Any, Any, Any], tuple[Any, Any, Any]]:
    """Per relation, the distinct heads and the distinct tails of the training triples, as flat
    arrays with start offsets and counts (for :func:`_draw`)."""
    out = []
    for side in (h, t):
        keys = np.unique(r.astype(np.int64) * n_entities + side)
        rel_of, ents = keys // n_entities, keys % n_entities
        count = np.bincount(rel_of, minlength=n_relations)
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        out.append((torch.from_numpy(ents.astype(np.int64)), torch.from_numpy(start.astype(np.int64)),
                    torch.from_numpy(count.astype(np.float64))))
    return out[0], out[1]


def _draw(pool: tuple[Any, Any, Any], rels: Any, k: int, gen: Any, torch: Any) -> Any:
    """``k`` entities per row, uniformly from the pool of the row's relation."""
    flat, start, count = pool
    u = torch.rand(rels.numel(), k, generator=gen, dtype=torch.float64)
    offset = torch.minimum((u * count[rels].unsqueeze(1)).long(), (count[rels].long() - 1).unsqueeze(1))
    return flat[start[rels].unsqueeze(1) + offset]


def _corrupted(model: str, en: Any, eh: Any, er: Any, et: Any, side: str, gamma: float, torch: Any) -> Any:
    """Scores (m, k) of the triples whose ``side`` (head or tail) is replaced by the rows of ``en`` (m, k, d)."""
    if model in ("distmult", "complex"):  # linear in the replaced entity: one batched inner product
        if model == "distmult":
            q = (et if side == "head" else eh) * er
        else:
            rr, ri = _complex(er)
            if side == "tail":
                hr, hi = _complex(eh)
                q = torch.cat([hr * rr - hi * ri, hr * ri + hi * rr], dim=-1)
            else:
                tr, ti = _complex(et)
                q = torch.cat([rr * tr + ri * ti, rr * ti - ri * tr], dim=-1)
        return torch.bmm(en, q.unsqueeze(-1)).squeeze(-1)
    fn = _SCORES[model]
    if side == "head":
        return fn(en, er.unsqueeze(1), et.unsqueeze(1), gamma)
    return fn(eh.unsqueeze(1), er.unsqueeze(1), en, gamma)


class _Bar:
    def __init__(self, total: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self._p = Progress(transient=True, console=Console(stderr=True))
        self._p.start()
        self._task = self._p.add_task(label, total=total)

    def update(self, n: int) -> None:
        self._p.advance(self._task, n)

    def close(self) -> None:
        self._p.stop()


def _progress(on: bool, total: int, label: str) -> _Bar | None:
    return _Bar(total, label) if on else None


@dataclass(frozen=True)
class LinkMetrics:
    """Filtered link-prediction metrics over held-out triples (both head and tail ranked)."""

    mrr: float
    hits_at_1: float
    hits_at_10: float
    n: int
    reciprocal_ranks: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict[str, float | int]:
        return {"mrr": self.mrr, "hits@1": self.hits_at_1, "hits@10": self.hits_at_10, "n": self.n}


def rank_triples(emb: KGEmbedding, test: np.ndarray, known: np.ndarray, *, candidates: np.ndarray | None = None,
                 batch: int = 256) -> LinkMetrics:
    """Filtered ranks of test triples ``(n, 3)`` (head, relation, tail) against all ``known`` true triples.

    Each test triple is ranked twice: its tail among all candidate tails for (head, relation, ?)
    and its head among all candidate heads for (?, relation, tail). Other true triples are
    filtered out. ``candidates`` restricts the candidate entities (e.g. papers for citations) and
    must include both ends of every test triple (a :class:`DataError` otherwise); ties count half
    (the realistic rank).
    """
    torch = require("torch", extra="graph", purpose="knowledge-graph embeddings")
    test = np.asarray(test, np.int64).reshape(-1, 3)
    if test.shape[0] == 0:
        raise DataError("no test triples to rank")
    ent = torch.from_numpy(np.array(emb.entity, dtype=np.float32))
    rel = torch.from_numpy(np.array(emb.relation, dtype=np.float32))
    cand = np.arange(ent.shape[0]) if candidates is None else np.asarray(candidates, np.int64)
    pos_in_cand = np.full(ent.shape[0], -1, np.int64)
    pos_in_cand[cand] = np.arange(cand.size)
    outside = (pos_in_cand[test[:, 0]] < 0) | (pos_in_cand[test[:, 2]] < 0)
    if outside.any():  # its rank would be read off another candidate's score
        raise DataError(f"{int(outside.sum())} of {len(test)} test triples have a head or tail that is not among the "
                        f"{cand.size} candidates (e.g. {tuple(test[outside][0].tolist())}); both ends of a test "
                        "triple are ranked, so give candidates that include them")
    true_tails: dict[tuple[int, int], list[int]] = {}
    true_heads: dict[tuple[int, int], list[int]] = {}
    for kh, kr, kt in np.asarray(known, np.int64).reshape(-1, 3).tolist():
        true_tails.setdefault((kh, kr), []).append(kt)
        true_heads.setdefault((kt, kr), []).append(kh)
    score = _SCORES[emb.model]
    gamma = float(emb.config.get("gamma", 0.0))
    cand_t = torch.from_numpy(cand)
    rr_all: list[np.ndarray] = []
    with torch.no_grad():
        for side in ("tail", "head"):
            for a in range(0, test.shape[0], batch):
                chunk = test[a:a + batch]
                hh = ent[chunk[:, 0]].unsqueeze(1)
                rv = rel[chunk[:, 1]].unsqueeze(1)
                tt = ent[chunk[:, 2]].unsqueeze(1)
                if emb.model in ("distmult", "complex"):  # bilinear: one matrix product with the candidates
                    q = _relation_query(emb.model, (hh if side == "tail" else tt).squeeze(1), rv.squeeze(1), side,
                                        torch)
                    s = q @ ent[cand_t].T
                else:
                    ce = ent[cand_t].unsqueeze(0)
                    s = score(hh, rv, ce, gamma) if side == "tail" else score(ce, rv, tt, gamma)
                s = s.numpy().astype(np.float64)
                target_ent = chunk[:, 2] if side == "tail" else chunk[:, 0]
                target = s[np.arange(len(chunk)), pos_in_cand[target_ent]]
                for i, (x, y, z) in enumerate(chunk.tolist()):
                    others = true_tails.get((x, y), []) if side == "tail" else true_heads.get((z, y), [])
                    idx = pos_in_cand[np.asarray(others, np.int64)] if others else np.zeros(0, np.int64)
                    idx = idx[idx >= 0]
                    s[i, idx] = -np.inf
                    s[i, pos_in_cand[target_ent[i]]] = target[i]
                higher = (s > target[:, None]).sum(1)
                ties = (s == target[:, None]).sum(1) - 1
                rr_all.append(1.0 / (1.0 + higher + ties / 2.0))
    rr = np.concatenate(rr_all)
    ranks = 1.0 / rr
    return LinkMetrics(float(rr.mean()), float((ranks <= 1).mean()), float((ranks <= 10).mean()), int(rr.size), rr)
