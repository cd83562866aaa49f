"""The PyKEEN backend for knowledge-graph embeddings (optional; ``pip install 'discoverly[graph]'``).

Trains the same families as :mod:`discoverly.graph.kge` with PyKEEN's sLCWA training loop (basic
negative sampler: corrupt head or tail; or its pseudo-typed sampler; by default with the same
self-adversarial loss as the torch backend) and returns a :class:`~discoverly.graph.kge.KGEmbedding`,
so both backends are scored by the same evaluator (:func:`~discoverly.graph.kge.rank_triples`) and
feed the same similar-item engine. ``benchmarks/bench_graph.py`` measures them side by side.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError
from discoverly.graph.kge import KGEmbedding

__all__ = ["PyKEENTrainer"]

log = logging.getLogger(__name__)

_MODELS = {"transe": "TransE", "distmult": "DistMult", "complex": "ComplEx", "rotate": "RotatE"}


@dataclass
class PyKEENTrainer:
    """Train with PyKEEN; ``dim`` is the real dimension (complex models get dim/2 complex numbers)."""

    model: str = "transe"
    dim: int = 64
    epochs: int = 50
    batch_size: int = 2048
    negatives: int = 64
    lr: float = 0.005
    threads: int | None = None
    #: "uniform" (PyKEEN's basic sampler) or "typed" (its pseudo-typed sampler)
    sampler: str = "uniform"
    #: "nssa" (the self-adversarial loss of the torch backend, margin ``gamma``) or "default"
    #: (the model's PyKEEN default loss, e.g. a margin ranking loss for TransE)
    loss: str = "nssa"
    gamma: float = 6.0
    adversarial_temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.sampler not in ("uniform", "typed"):
            raise ConfigError(f"unknown negative sampler {self.sampler!r}; use 'uniform' or 'typed'")
        if self.loss not in ("nssa", "default"):
            raise ConfigError(f"unknown PyKEEN loss {self.loss!r}; use 'nssa' or 'default'")
        if self.model not in _MODELS:
            raise ConfigError(f"unknown PyKEEN model {self.model!r}; choose one of {tuple(_MODELS)}")
        if self.model in ("complex", "rotate") and self.dim % 2:
            raise ConfigError(f"dim must be even for complex/rotate, got {self.dim}")

    def fit(self, head: np.ndarray, relation: np.ndarray, tail: np.ndarray, n_entities: int, n_relations: int, *,
            rng: int | np.random.Generator | None = 0, progress: bool = False) -> KGEmbedding:
        torch = require("torch", extra="graph", purpose="knowledge-graph embeddings")
        require("pykeen", extra="graph", purpose="PyKEEN knowledge-graph embeddings")
        from pykeen import models as pk_models
        from pykeen.training import SLCWATrainingLoop
        from pykeen.triples import CoreTriplesFactory

        triples = np.stack([np.asarray(head), np.asarray(relation), np.asarray(tail)], axis=1).astype(np.int64)
        if triples.shape[0] == 0:
            raise DataError("no triples to train on")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        seed = int(gen.integers(0, 2**31 - 1))
        if self.threads:
            torch.set_num_threads(self.threads)
        factory = CoreTriplesFactory(torch.from_numpy(triples), num_entities=n_entities, num_relations=n_relations)
        complex_model = self.model in ("complex", "rotate")
        distance = self.model in ("transe", "rotate")
        extra: dict[str, Any] = {}
        if self.loss == "nssa":  # the same loss as the torch backend (margin only for distance models)
            from pykeen.losses import NSSALoss

            extra["loss"] = NSSALoss(margin=self.gamma if distance else 0.0,
                                     adversarial_temperature=self.adversarial_temperature)
        model: Any = getattr(pk_models, _MODELS[self.model])(
            triples_factory=factory, embedding_dim=self.dim // 2 if complex_model else self.dim, random_seed=seed,
            **extra)
        optimizer = torch.optim.Adam(model.get_grad_params(), lr=self.lr)
        loop = SLCWATrainingLoop(model=model, triples_factory=factory, optimizer=optimizer,
                                 negative_sampler="basic" if self.sampler == "uniform" else "pseudotyped",
                                 negative_sampler_kwargs={"num_negs_per_pos": self.negatives})
        started = time.perf_counter()
        with warnings.catch_warnings():
            # PyKEEN 1.11 passes shuffle=True to itself and then warns about it
            warnings.filterwarnings("ignore", message="Training instances are always shuffled",
                                    category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*pin_memory.*", category=UserWarning)
            losses = loop.train(triples_factory=factory, num_epochs=self.epochs, batch_size=self.batch_size,
                                use_tqdm=progress, use_tqdm_batch=False)
        seconds = time.perf_counter() - started
        with torch.no_grad():
            ent = model.entity_representations[0](indices=None).detach()
            rel = model.relation_representations[0](indices=None).detach()
        if torch.is_complex(ent):
            ent = torch.cat([ent.real, ent.imag], dim=-1)
            if self.model == "rotate":  # unit complex numbers -> phases, as the torch backend stores them
                rel = torch.cat([torch.angle(rel), torch.zeros_like(rel.real)], dim=-1)
            else:
                rel = torch.cat([rel.real, rel.imag], dim=-1)
        config = {"model": self.model, "dim": self.dim, "epochs": self.epochs, "batch_size": self.batch_size,
                  "negatives": self.negatives, "lr": self.lr, "seed": seed, "gamma": 0.0, "epochs_run": self.epochs,
                  "sampler": self.sampler, "loss": self.loss,
                  "n_entities": n_entities, "n_relations": n_relations, "n_triples": int(triples.shape[0])}
        return KGEmbedding(self.model, ent.numpy().astype(np.float32), rel.numpy().astype(np.float32), config,
                           seconds, [float(x) for x in losses or []], backend="pykeen")
