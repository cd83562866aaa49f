"""The Recommender role and the base class every discoverly recommender builds on.

A recommender is fitted on :class:`~discoverly.data.Interactions` and scores a
:class:`~discoverly.recommend.History`. The base class does the rest once for every model:
id mapping, batching, excluding seen items, top-k selection, the recent-bestseller fallback for
unknown or history-less users, timings, and saving/loading artifacts (no pickle).

Subclasses implement ``_fit(interactions)``, ``_score(history) -> (n, n_items) float32`` (with
``-inf`` for "no opinion"), and, to be saved, ``_state()`` / ``_set_state(arrays, tables)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly._checks import is_whole
from discoverly.artifacts import read_artifact, write_artifact
from discoverly.data.interactions import Interactions
from discoverly.data.vocabulary import Vocabulary
from discoverly.errors import ArtifactError, ConfigError, DataError, NotFittedError
from discoverly.recommend.history import History
from discoverly.recommend.results import Recommendations
from discoverly.recommend.topk import top_k

__all__ = ["Recommender", "BaseRecommender", "check_k", "query_list", "recent_bestsellers"]

log = logging.getLogger(__name__)

DAY = 86_400


@runtime_checkable
class Recommender(Protocol):
    """What every recommender does (``related`` only where the model supports it)."""

    name: str

    def fit(self, interactions: Interactions) -> Self: ...

    def recommend(self, users: Sequence[Any], k: int = 10, *, exclude_seen: bool = True,
                  history: History | None = None) -> Recommendations: ...

    def recommend_indices(self, history: History, k: int = 10, *,
                          exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, path: str | Path) -> Path: ...


def recent_bestsellers(interactions: Interactions, *, window_days: float = 14, now: int | None = None,
                       limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Items ranked by distinct buyers in the ``window_days`` before ``now`` (ties broken by all-time
    distinct buyers); returns ``(item_indices, buyers_in_window)``, best first."""
    if now is None:
        now = int(interactions.timestamp[-1]) + 1 if len(interactions) else 0
    recent = interactions.between(int(now - window_days * DAY), now)
    in_window = recent.item_counts() if len(recent) else np.zeros(interactions.n_items)
    all_time = interactions.item_counts()
    order = np.lexsort((-all_time, -in_window))
    order = order[(in_window[order] > 0) | (all_time[order] > 0)]
    if limit is not None:
        order = order[:limit]
    return order, in_window[order]


def check_k(k: Any) -> int:
    """``k`` as an int, or a :class:`ConfigError` when it is not a whole number of at least 1."""
    if not is_whole(k):
        raise ConfigError(f"k must be a whole number of items, at least 1; got {k!r}")
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    return int(k)


def query_list(ids: Any, what: str) -> list[Any]:
    """The external ids of a batch as a list; a single id (a string or a number) is an error, since
    iterating it would ask for one user per character."""
    if isinstance(ids, (str, bytes, int, float, np.integer, np.floating)):
        raise ConfigError(f"expected a list of {what} ids, got the single {what} id {ids!r}; "
                          f"pass a list, e.g. [{ids!r}]")
    try:
        return list(ids)
    except TypeError:
        raise ConfigError(f"expected a list of {what} ids, got a {type(ids).__name__}") from None


def check_interactions(obj: Any, what: str) -> Interactions:
    """``obj`` when it is an :class:`Interactions`; else a :class:`DataError` saying how to build one
    (a DataFrame, a path or a list passed straight to ``fit`` or ``evaluate``)."""
    if isinstance(obj, Interactions):
        return obj
    package = type(obj).__module__.partition(".")[0]
    got = type(obj).__name__ if package == "builtins" else f"{package} {type(obj).__name__}"
    raise DataError(f"{what} expects an Interactions log, got a {got}; build one with "
                    "discoverly.read_interactions(frame_or_path, user=..., item=..., time=...)")


class BaseRecommender:
    """Shared machinery of discoverly's recommenders (see the module docstring)."""

    #: the registry name of this model class (CLI model names map to it with settings)
    name: ClassVar[str] = "base"
    #: how many fallback items are kept (recent bestsellers at the end of training)
    fallback_size: ClassVar[int] = 500
    batch_size: ClassVar[int] = 256

    def __init__(self) -> None:
        self.users: Vocabulary | None = None
        self.items: Vocabulary | None = None
        self.fit_seconds: float | None = None
        self.fingerprint: str | None = None
        self.trained_until: int | None = None
        self._history: dict[str, sp.csr_matrix] | None = None
        self._fallback: np.ndarray | None = None

    # -- configuration ----------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The constructor arguments of this model, JSON-ready (saved in the manifest)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, interactions: Interactions) -> Self:
        """Fit on a log of events; returns ``self``."""
        check_interactions(interactions, f"{type(self).__name__}.fit()")
        if len(interactions) == 0:
            raise DataError(f"cannot fit {type(self).__name__} on an empty interaction log")
        t0 = time.perf_counter()
        self.users, self.items = interactions.users, interactions.items
        self.trained_until = int(interactions.timestamp[-1]) + 1
        self._fit(interactions)
        self._history = {"days": interactions.matrix("days"), "first": interactions.matrix("first_time"),
                         "last": interactions.matrix("last_time")}
        self._fallback = recent_bestsellers(interactions, now=self.trained_until, limit=self.fallback_size)[0]
        self.fingerprint = interactions.fingerprint()
        self.fit_seconds = time.perf_counter() - t0
        log.info("fitted %s on %s in %.2fs", self, interactions, self.fit_seconds)
        return self

    def _fit(self, interactions: Interactions) -> None:
        raise NotImplementedError

    def _score(self, history: History) -> np.ndarray:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if self.items is None or self._fallback is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(interactions) or load(path) first")

    # -- histories --------------------------------------------------------------------------
    def history(self, user_index: np.ndarray, now: int | None = None) -> History:
        """Histories of known users (by index) as seen at training time."""
        self._check_fitted()
        assert self._history is not None and self.trained_until is not None
        idx = np.asarray(user_index, dtype=np.int64).ravel()
        # one user (the service's case): a row slice is several times faster than fancy indexing
        sel: np.ndarray | slice = slice(int(idx[0]), int(idx[0]) + 1) if idx.size == 1 and idx[0] >= 0 else idx
        return History(self._history["days"][sel], self._history["first"][sel], self._history["last"][sel],
                       self.trained_until if now is None else int(now))

    # -- recommending -----------------------------------------------------------------------
    def recommend_indices(self, history: History, k: int = 10, *,
                          exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores for each row of ``history`` (``-1``/``nan`` padded
        when the model has fewer than ``k`` opinions; no fallback filling)."""
        self._check_fitted()
        assert self.items is not None
        k = check_k(k)
        if history.n_items != len(self.items):  # a raw IndexError or matmul error, model by model
            raise ConfigError(f"history has {history.n_items:,} item columns but the model knows "
                              f"{len(self.items):,} items; build it over the model's items (model.items)")
        n = len(history)
        out_idx = np.full((n, k), -1, dtype=np.int64)
        out_sc = np.full((n, k), np.nan, dtype=np.float32)
        for a in range(0, n, self.batch_size):
            part = history if n <= self.batch_size else history.rows(slice(a, a + self.batch_size))
            scores = np.asarray(self._score(part), dtype=np.float32)
            if exclude_seen:
                seen = part.days
                rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
                scores[rows, seen.indices] = -np.inf
            idx, sc = top_k(scores, k)
            out_idx[a:a + len(part)] = idx
            out_sc[a:a + len(part)] = sc
        return out_idx, out_sc

    def recommend(self, users: Sequence[Any], k: int = 10, *, exclude_seen: bool = True,
                  history: History | None = None, fill: bool = True) -> Recommendations:
        """Top-``k`` items for each external user id.

        Unknown users, users without history and users of whose history the model has no opinion
        (e.g. only items EASE's ``max_items`` left out) get the recent bestsellers (``fallback`` is
        true for them). ``history`` replaces the training-time histories (rows in the order of
        ``users``). With ``fill``, lists shorter than ``k`` are completed with bestsellers.
        """
        self._check_fitted()
        assert self.users is not None and self.items is not None and self._fallback is not None
        users = query_list(users, "user")
        k = check_k(k)
        if history is None:
            uidx = self.users.indices(users, missing=-1)
            known = uidx >= 0
            if known.all():
                history = self.history(uidx)
            else:
                empty = History.empty(len(users), len(self.items), now=self.trained_until or 0)
                hk = self.history(uidx[known])
                history = _stack_known(empty, hk, known)
        elif len(history) != len(users):
            raise ConfigError(f"history has {len(history)} rows but {len(users)} users were given")
        has = history.lengths() > 0
        idx, sc = self.recommend_indices(history, k, exclude_seen=exclude_seen)
        # no history, no personal list: these users get the recent bestsellers, as ``fallback`` says
        idx[~has] = -1
        sc[~has] = np.nan
        # nor a model without an opinion of any item (a history of items it has no scores for)
        fallback: np.ndarray = ~np.any(idx >= 0, axis=1)
        own = None
        if fill:
            own = np.count_nonzero(idx >= 0, axis=1)  # the model's items come first; _fill appends after them
            idx, sc = self._fill(idx, sc, history, exclude_seen)
        return Recommendations(users, idx, sc, fallback, self.items, "user", self.name, own)

    def _fill(self, idx: np.ndarray, sc: np.ndarray, history: History, exclude_seen: bool
              ) -> tuple[np.ndarray, np.ndarray]:
        assert self._fallback is not None
        k = idx.shape[1]
        need = np.nonzero((idx < 0).any(axis=1))[0]
        for r in need:
            have = idx[r][idx[r] >= 0].tolist()
            taken = set(have)
            if exclude_seen:
                taken.update(history.days.indices[history.days.indptr[r]:history.days.indptr[r + 1]].tolist())
            extra = [i for i in self._fallback[: k + len(taken) + 1].tolist() if i not in taken]
            if len(have) + len(extra) < k:
                extra = [i for i in self._fallback.tolist() if i not in taken]
            extra = extra[: k - len(have)]
            idx[r, len(have):len(have) + len(extra)] = extra
            floor = np.nanmin(sc[r]) if len(have) else 0.0
            sc[r, len(have):len(have) + len(extra)] = np.minimum(floor, 0.0) - 1.0 - np.arange(len(extra))
        return idx, sc

    @classmethod
    def computes_related(cls) -> bool:
        """Whether the model answers :meth:`related` (item-to-item models do; the others raise)."""
        return cls.related is not BaseRecommender.related

    def related(self, items: Sequence[Any], k: int = 10) -> Recommendations:
        """Items related to each given item; only some models support it (:meth:`computes_related`)."""
        raise ConfigError(f"{type(self).__name__} does not compute related items; use an item-to-item model")

    def _item_indices(self, items: Sequence[Any]) -> np.ndarray:
        self._check_fitted()
        assert self.items is not None
        return self.items.indices(items)

    # -- persistence ------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        return {}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], tables: dict[str, pl.DataFrame]) -> None:
        pass

    def _files(self) -> dict[str, bytes]:
        """Extra files to store in the artifact (e.g. ``weights.safetensors``); none by default."""
        return {}

    def _set_files(self, files: dict[str, bytes]) -> None:
        """Restore what :meth:`_files` stored; called by :meth:`load` before :meth:`_set_state`."""

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to an artifact directory (atomically; no pickle).

        An existing artifact directory (or an empty folder) at ``path`` is replaced; a file or a
        folder with other content is refused with :class:`~discoverly.errors.ArtifactError`, since
        replacing it would delete it."""
        self._check_fitted()
        assert self.users is not None and self.items is not None and self._history is not None
        arrays, tables = self._state()
        for name, m in self._history.items():
            arrays[f"history_{name}_data"] = m.data
            arrays[f"history_{name}_indices"] = m.indices
            arrays[f"history_{name}_indptr"] = m.indptr
        arrays["fallback"] = np.asarray(self._fallback)
        tables["users"] = pl.DataFrame({"id": self.users.to_series()})
        tables["items"] = pl.DataFrame({"id": self.items.to_series()})
        manifest = {
            "kind": "recommender",
            "model": self.name,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "config": self.config(),
            "fingerprint": self.fingerprint,
            "trained_until": self.trained_until,
            "fit_seconds": self.fit_seconds,
            "n_users": len(self.users),
            "n_items": len(self.items),
        }
        return write_artifact(path, manifest, arrays, tables, files=self._files() or None)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Load a model saved by :meth:`save`; ``BaseRecommender.load`` loads any model class."""
        art = read_artifact(path, kind="recommender")
        mf = art.manifest
        klass: type[BaseRecommender] = cls
        if cls is BaseRecommender:
            from discoverly.recommend.registry import model_class
            klass = model_class(mf["class"])
        elif mf.get("class") != f"{cls.__module__}.{cls.__qualname__}":
            raise ArtifactError(f"{str(path)!r} holds a {mf.get('class')} model, not a {cls.__qualname__}")
        try:
            model = klass(**mf.get("config", {}))
        except (TypeError, ConfigError) as exc:  # a hand-edited manifest, or settings this version refuses
            raise ArtifactError(f"{str(path)!r}: its saved settings do not make a model of class "
                                f"{klass.__qualname__} in this version of discoverly ({exc}); fit the model again"
                                ) from exc
        if isinstance(mf.get("model"), str):
            model.name = mf["model"]  # type: ignore[misc]  # the registry name it was created by, e.g. "corrected"
        model.users = Vocabulary(art.tables["users"]["id"], name="user")
        model.items = Vocabulary(art.tables["items"]["id"], name="item")
        shape = (len(model.users), len(model.items))
        a = art.arrays
        model._history = {name: sp.csr_matrix((a.pop(f"history_{name}_data"), a.pop(f"history_{name}_indices"),
                                               a.pop(f"history_{name}_indptr")), shape=shape)
                          for name in ("days", "first", "last")}
        model._fallback = a.pop("fallback")
        model.fingerprint = mf.get("fingerprint")
        model.trained_until = mf.get("trained_until")
        model.fit_seconds = mf.get("fit_seconds")
        tables = {k: v for k, v in art.tables.items() if k not in ("users", "items")}
        model._set_files(art.files)
        model._set_state(a, tables)
        return model  # type: ignore[return-value]


def _stack_known(empty: History, known_hist: History, known: np.ndarray) -> History:
    """Histories for a batch where only rows ``known`` have training-time histories."""
    n = len(known)
    rows = np.nonzero(known)[0]
    sel = sp.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(n, len(rows)))
    return History((sel @ known_hist.days).tocsr(), (sel @ known_hist.first).tocsr(),
                   (sel @ known_hist.last).tocsr(), empty.now)

