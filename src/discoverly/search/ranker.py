"""Learning-to-rank: a LightGBM lambdarank model over the candidates of each query.

Training rows come in query groups (all candidates of one query, label 1 for the item bought or
clicked, 0 for the others). Groups are never split: :func:`group_split` sends every query of a
customer to the same side, so validation measures customers the model has not seen. The model is
stored as LightGBM's text format inside the artifact (no pickle)::

    ranker = LambdaRanker(names).fit(X, y, group_sizes, valid=(Xv, yv, gv), rng=0)
    scores = ranker.predict(X_query)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError, NotFittedError

__all__ = ["RankerConfig", "LambdaRanker", "group_split"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RankerConfig:
    """LightGBM lambdarank settings; ``n_estimators`` is the maximum, early stopping on the
    validation groups picks the number actually used (``early_stopping_rounds=0``: keep all)."""

    num_leaves: int = 31
    learning_rate: float = 0.05
    n_estimators: int = 600
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.8
    lambdarank_truncation_level: int = 20
    early_stopping_rounds: int = 50
    threads: int = 2

    def __post_init__(self) -> None:
        if self.num_leaves < 2 or self.n_estimators < 1 or not 0 < self.learning_rate <= 1:
            raise ConfigError(f"invalid ranker settings: {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def group_split(keys: Sequence[Any] | np.ndarray, valid_fraction: float, *,
                rng: int | np.random.Generator | None = 0) -> np.ndarray:
    """A boolean mask over queries, True for validation, that never splits one key (e.g. a customer)
    across both sides; about ``valid_fraction`` of the keys go to validation."""
    if not 0 < valid_fraction < 1:
        raise ConfigError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    uniq, inverse = np.unique(np.asarray(keys, dtype=object).astype(str), return_inverse=True)
    chosen = gen.random(uniq.size) < valid_fraction
    if uniq.size > 1 and not chosen.any():
        chosen[gen.integers(uniq.size)] = True
    if uniq.size > 1 and chosen.all():
        chosen[gen.integers(uniq.size)] = False
    return chosen[inverse.ravel()]


class LambdaRanker:
    """A lambdarank model; ``feature_names`` fixes the column order of every matrix it sees."""

    def __init__(self, feature_names: Sequence[str], config: RankerConfig | None = None) -> None:
        self.feature_names = list(feature_names)
        self.config = config or RankerConfig()
        self._booster: Any = None
        self.best_iteration = 0
        self.valid_ndcg: float | None = None

    @property
    def fitted(self) -> bool:
        return self._booster is not None

    def fit(self, X: np.ndarray, y: np.ndarray, groups: Sequence[int] | np.ndarray, *,
            valid: tuple[np.ndarray, np.ndarray, Sequence[int] | np.ndarray] | None = None,
            rng: int | np.random.Generator | None = 0) -> LambdaRanker:
        """Train on rows ``X`` with relevance ``y``; ``groups`` are the consecutive group sizes."""
        lgb = require("lightgbm", purpose="learning to rank")
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float32)
        groups = np.asarray(groups, dtype=np.int64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise DataError(f"X must have {len(self.feature_names)} feature columns, got shape {X.shape}")
        if groups.sum() != X.shape[0] or y.shape[0] != X.shape[0]:
            raise DataError(f"group sizes sum to {groups.sum()} and labels number {y.shape[0]}, "
                            f"but X has {X.shape[0]} rows")
        if not (y > 0).any():
            raise DataError("no positive label among the training rows; the ranker has nothing to learn")
        seed = int((rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)).integers(2**31 - 1))
        c = self.config
        params = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [10], "num_leaves": c.num_leaves,
                  "learning_rate": c.learning_rate, "min_data_in_leaf": c.min_data_in_leaf,
                  "feature_fraction": c.feature_fraction, "bagging_fraction": c.bagging_fraction, "bagging_freq": 1,
                  "lambdarank_truncation_level": c.lambdarank_truncation_level, "num_threads": c.threads,
                  "seed": seed, "deterministic": True, "force_row_wise": True, "verbosity": -1}
        train = lgb.Dataset(X, y, group=groups, feature_name=_safe_names(self.feature_names), free_raw_data=True)
        sets: list[Any] = []
        callbacks: list[Any] = []
        history: dict[str, dict[str, list[float]]] = {}
        if valid is not None:
            Xv, yv, gv = valid
            sets = [lgb.Dataset(np.asarray(Xv, np.float32), np.asarray(yv, np.float32), group=np.asarray(gv),
                                reference=train)]
            callbacks.append(lgb.record_evaluation(history))
            if c.early_stopping_rounds > 0:
                callbacks.append(lgb.early_stopping(c.early_stopping_rounds, verbose=False))
        booster = lgb.train(params, train, num_boost_round=c.n_estimators, valid_sets=sets,
                            valid_names=["valid"][: len(sets)], callbacks=callbacks)
        self._booster = booster
        self.best_iteration = int(booster.best_iteration or booster.current_iteration())
        curve = history.get("valid", {}).get("ndcg@10", [])
        self.valid_ndcg = float(curve[self.best_iteration - 1]) if curve else None
        log.info("lambdarank: %d trees, validation NDCG@10 %s", self.best_iteration, self.valid_ndcg)
        if not booster.feature_importance("split", iteration=self.best_iteration).any():
            log.warning("the ranker made no split on %d training rows (%d groups; min_data_in_leaf=%d): its "
                        "scores are constant, so results keep the first stage's order. Train it on a larger log",
                        X.shape[0], groups.size, c.min_data_in_leaf)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self._booster is None:
            raise NotFittedError("the ranker is not trained: call fit() or load a trained engine")
        X = np.asarray(X, dtype=np.float32)
        if X.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self._booster.predict(X, num_iteration=self.best_iteration, num_threads=1))

    def importance(self) -> dict[str, float]:
        """Total gain of each feature, largest first."""
        if self._booster is None:
            raise NotFittedError("the ranker is not trained")
        gain = self._booster.feature_importance(importance_type="gain", iteration=self.best_iteration)
        pairs = sorted(zip(self.feature_names, gain.tolist(), strict=True), key=lambda p: -p[1])
        return dict(pairs)

    # -- persistence ---------------------------------------------------------------------------
    def to_parts(self, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self._booster is None:
            raise NotFittedError("the ranker is not trained")
        text = self._booster.model_to_string(num_iteration=self.best_iteration)
        manifest = {"features": self.feature_names, "config": self.config.to_dict(),
                    "best_iteration": self.best_iteration, "valid_ndcg": self.valid_ndcg}
        return manifest, {f"{prefix}.model": np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}

    @classmethod
    def from_parts(cls, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str) -> LambdaRanker:
        lgb = require("lightgbm", purpose="learning to rank")
        obj = cls(manifest["features"], RankerConfig(**manifest["config"]))
        obj._booster = lgb.Booster(model_str=bytes(arrays[f"{prefix}.model"]).decode("utf-8"))
        obj.best_iteration = int(manifest["best_iteration"])
        obj.valid_ndcg = manifest.get("valid_ndcg")
        return obj


def _safe_names(names: Sequence[str]) -> list[str]:
    """LightGBM rejects some characters in feature names; keep them readable."""
    return [n.replace(".", "_").replace(" ", "_") for n in names]
