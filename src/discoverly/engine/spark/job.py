"""``fit_spark``: fit a popularity or item-to-item model on Spark and save it as the same artifact
the local path writes (``BaseRecommender.load`` and ``discoverly serve`` read it unchanged).

The job reads the log (Parquet), numbers ids as the local reader does, builds the distinct
purchases, then — for the model asked for — the relatedness (:mod:`.relatedness`) or the
popularity (:mod:`.popularity`), and the parts every model carries (user histories as first/last
event time and distinct days per pair, the recent-bestseller fallback). Only the results come back
to the driver: the ``N`` best pairs per item, per-item counts, and the history entries (the saved
model keeps those for ``recommend``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly._checks import is_whole
from discoverly.errors import ConfigError, DataError

if TYPE_CHECKING:
    from discoverly.data.interactions import TimeLike

__all__ = ["SPARK_MODELS", "SparkFit", "fit_spark"]

log = logging.getLogger(__name__)

#: the registry names the Spark engine fits (any settings of those models)
SPARK_MODELS = ("popularity", "bestsellers", "cosine", "naive", "corrected")


@dataclass
class SparkFit:
    """What :func:`fit_spark` did: the fitted model (also saved at ``path`` when given), the wall
    seconds per stage, the size of the work, and Spark's CPU seconds per stage (JVM and Python workers)."""

    model: Any
    path: Path | None
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    #: CPU seconds per stage of the JVM and its Python workers (local mode on Linux; empty elsewhere)
    cpu: dict[str, float] = field(default_factory=dict)


def _model(model: Any, params: dict[str, Any] | None) -> Any:
    from discoverly.recommend.base import BaseRecommender
    from discoverly.recommend.item_to_item import ItemToItem
    from discoverly.recommend.popularity import Popularity
    from discoverly.recommend.registry import create

    if isinstance(model, str):
        if model not in SPARK_MODELS:
            raise ConfigError(f"the Spark engine fits {', '.join(SPARK_MODELS)} (any settings); got {model!r}. "
                              "Fit other models with the local engine")
        return create(model, **(params or {}))  # a setting it does not have, or of the wrong type: ConfigError
    if not isinstance(model, (ItemToItem, Popularity)) or not isinstance(model, BaseRecommender):
        raise ConfigError(f"the Spark engine fits Popularity, RecentBestsellers and ItemToItem models, "
                          f"not {type(model).__name__}")
    if params:  # they would be ignored: the object has its settings already
        raise ConfigError(f"params {sorted(params)} go with a model name; this {type(model).__name__} has its "
                          "settings already. Pass the name (fit_spark('corrected', ..., params=...)) or create "
                          "the model with them (create('corrected', neighbours=50))")
    return model


def _csr(table: Any, n_users: int, n_items: int, column: str) -> sp.csr_matrix:
    u = table["u"].to_numpy().astype(np.int64)
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(u, minlength=n_users))
    return sp.csr_matrix((table[column].to_numpy().astype(np.float64), table["i"].to_numpy().astype(np.int32),
                          indptr), shape=(n_users, n_items))


def _process_cpu(stat: str, clock: float) -> tuple[int, float]:
    """``(parent pid, CPU seconds)`` from a ``/proc/<pid>/stat`` line: its own user + system time
    and that of its children it has waited for."""
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(v) for v in fields[11:15]) / clock


def _jvm_cpu_seconds(session: Any) -> float | None:
    """CPU seconds used so far by the JVM and its Python workers (user + system; the workers run
    the numpy part of ``E_XY``), in local mode on Linux; else ``None``. Load-independent, unlike
    wall time: the benchmark's per-pair costs use it."""
    from py4j.protocol import Py4JError

    try:
        if not str(session.sparkContext.master).startswith("local"):
            return None
        pid = int(session.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
        clock = os.sysconf("SC_CLK_TCK")
        total = _process_cpu(Path(f"/proc/{pid}/stat").read_text(), clock)[1]
        children: dict[int, list[tuple[int, float]]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    parent, cpu = _process_cpu(Path(f"/proc/{entry}/stat").read_text(), clock)
                except (OSError, ValueError, IndexError):  # gone meanwhile
                    continue
                children.setdefault(parent, []).append((int(entry), cpu))
        stack = [pid]
        while stack:  # the JVM's descendants: PySpark's worker daemon and its forked workers
            for child, cpu in children.get(stack.pop(), []):
                total += cpu
                stack.append(child)
        return total
    except (OSError, ValueError, IndexError, AttributeError, Py4JError):  # no /proc, no such JVM call: not recorded
        return None


class _Stages:
    """Wall seconds and (local mode) Spark CPU seconds (JVM and Python workers) per stage of the job."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._t = time.perf_counter()
        self._c = _jvm_cpu_seconds(session)

    def done(self, name: str) -> None:
        now, cpu = time.perf_counter(), _jvm_cpu_seconds(self.session)
        self.wall[name] = now - self._t
        if cpu is not None and self._c is not None:
            self.cpu[name] = cpu - self._c
        self._t, self._c = now, cpu


def _ids(vocabulary: Any) -> pl.Series:
    frame = pl.from_arrow(vocabulary.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("index")["id"]


def fit_spark(model: Any, source: Any, *, out: str | os.PathLike[str] | None = None, user: str = "user",
              item: str = "item", time_column: str = "timestamp", quantity: str | None = None,
              negative: str = "error", until: TimeLike | None = None, params: dict[str, Any] | None = None,
              master: str = "local[2]", spark: Any = None, driver_memory: str | None = None,
              salt_buckets: int = 4, progress: bool = False) -> SparkFit:
    """Fit ``model`` (a registry name from :data:`SPARK_MODELS` with ``params``, or an unfitted
    model object) on the log ``source`` (Parquet path or Spark DataFrame) with Spark, and save it
    to ``out`` when given.

    ``spark`` is an existing session (default: the active one, else one is started on ``master``
    and stopped at the end);
    ``until`` (epoch seconds, a datetime, date or ISO string, as ``Interactions.before`` takes) keeps
    the events before that moment. Results equal the local path's (see
    docs/spark.md for what "equal" means for floating-point scores).
    """
    from discoverly.data.vocabulary import Vocabulary
    from discoverly.engine.spark.events import read_events
    from discoverly.engine.spark.popularity import item_popularity, recent_order
    from discoverly.engine.spark.purchases import index_events, purchases
    from discoverly.engine.spark.relatedness import co_buyers, collect_relatedness, related_pairs
    from discoverly.engine.spark.session import spark_session
    from discoverly.recommend.base import BaseRecommender
    from discoverly.recommend.item_to_item import ItemToItem
    from discoverly.recommend.popularity import RecentBestsellers

    recommender = _model(model, params)
    # before the job, not after its first stages
    if not is_whole(salt_buckets) or salt_buckets < 1:
        raise ConfigError(f"salt_buckets must be a whole number of at least 1 (1 = no salting), got {salt_buckets!r}")
    if negative not in ("error", "drop"):
        raise DataError(f"negative must be 'error' or 'drop', got {negative!r}")  # as read_interactions says
    if until is not None:
        from discoverly.data.interactions import to_epoch_seconds

        until = to_epoch_seconds(until)  # "2024-06-01" as locally (int() refused it with a ValueError)
    if out is not None:
        from discoverly.artifacts import check_save_target

        check_save_target(out)  # before the job, not after it: --out must not be a file or a folder of other things
    if isinstance(source, (str, os.PathLike)):
        from discoverly.engine.spark.events import check_path

        check_path(source)  # a missing or non-Parquet log is named before a JVM starts (10-30 s)
    t_start = time.perf_counter()
    if spark is None:
        from discoverly.dependencies import require

        require("pyspark", extra="spark", purpose="the Spark engine")
        require("pandas", extra="spark", purpose="the Spark engine (PySpark's Arrow functions)")
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()  # a session already running here is reused, not stopped
        own = spark is None
    else:
        own = False
    session = spark if spark is not None else spark_session(master, driver_memory=driver_memory)
    from pyspark import StorageLevel

    cached: list[Any] = []  # what this job persisted, released however it ends (a session it did not start lives on)
    try:
        clock = _Stages(session)
        events = read_events(session, source, user=user, item=item, time=time_column, quantity=quantity,
                             negative=negative)
        indexed = index_events(events, until=until)
        clock.done("read_and_index")
        pairs = purchases(indexed.events).persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(pairs)
        history = pl.from_arrow(pairs.select("u", "i", "first", "last", "days").toArrow())
        assert isinstance(history, pl.DataFrame)
        history = history.sort("u", "i")
        clock.done("purchases")
        now = indexed.trained_until
        window = recommender.window_days if isinstance(recommender, RecentBestsellers) else 14.0
        all_time, recent = item_popularity(pairs, indexed.n_items, now=now, window_days=window)
        if window != 14.0:
            _, recent14 = item_popularity(pairs, indexed.n_items, now=now, window_days=14.0)
        else:
            recent14 = recent
        clock.done("popularity")
        counts = {"events": indexed.n_events, "users": indexed.n_users, "items": indexed.n_items,
                  "purchases": history.height}
        arrays: dict[str, np.ndarray]
        if isinstance(recommender, ItemToItem):
            base = co_buyers(pairs, min_count=recommender.min_count, max_history=recommender.max_history)
            cached.append(base)
            job = related_pairs(pairs, recommender.score, neighbours=recommender.neighbours,
                                salt_buckets=salt_buckets, prepared=base)
            rel, _ = collect_relatedness(job, indexed.n_items)
            s = rel.scores
            arrays = {"similarity_data": s.data, "similarity_indices": s.indices, "similarity_indptr": s.indptr,
                      "counts_data": rel.counts.data}
            counts["related_pairs"] = int(s.nnz)
            counts["dropped_customers"] = int(rel.params["dropped_customers"])
        elif isinstance(recommender, RecentBestsellers):
            order, _ = recent_order(all_time, recent)
            scores = np.full(indexed.n_items, -np.inf, dtype=np.float32)
            scores[order] = (len(order) - np.arange(len(order))).astype(np.float32)
            arrays = {"item_scores": scores}
        else:
            arrays = {"item_scores": all_time.astype(np.float32)}
        clock.done("model")
        recommender.users = Vocabulary(_ids(indexed.users), name="user")
        recommender.items = Vocabulary(_ids(indexed.items), name="item")
        recommender.trained_until = now
        recommender._history = {name: _csr(history, indexed.n_users, indexed.n_items, column)
                                for name, column in (("days", "days"), ("first", "first"), ("last", "last"))}
        fallback_recent = recent if isinstance(recommender, RecentBestsellers) else recent14
        recommender._fallback = recent_order(all_time, fallback_recent, limit=BaseRecommender.fallback_size)[0]
        recommender.fingerprint = indexed.fingerprint
        recommender._set_state(arrays, {})
        if isinstance(recommender, RecentBestsellers):
            recommender.window_buyers_ = recent_order(all_time, recent)[1]
        clock.done("assemble")
        recommender.fit_seconds = time.perf_counter() - t_start
        path = None
        if out is not None:
            path = recommender.save(out)
            _note_engine(path, session, clock, counts)
        return SparkFit(recommender, path, time.perf_counter() - t_start, clock.wall, counts, clock.cpu)
    finally:
        from py4j.protocol import Py4JError

        for frame in cached:
            with suppress(Py4JError):  # a JVM that died with the job: nothing left to release
                frame.unpersist()
        if own:
            session.stop()


def _note_engine(path: Path, session: Any, clock: _Stages, counts: dict[str, int]) -> None:
    """Record in the manifest that Spark built the artifact (atomic replace of manifest.json)."""
    from discoverly.artifacts import MANIFEST

    mf = path / MANIFEST
    manifest = json.loads(mf.read_text(encoding="utf-8"))
    manifest["engine"] = {"name": "spark", "spark_version": session.version, "master": session.sparkContext.master,
                          "stages_seconds": {k: round(v, 3) for k, v in clock.wall.items()},
                          "stages_cpu_seconds": {k: round(v, 3) for k, v in clock.cpu.items()}, "counts": counts}
    tmp = mf.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp, mf)
