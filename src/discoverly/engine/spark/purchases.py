"""Distinct customer–item pairs (purchases) from the raw events, with what the models keep per pair.

One row per (user index ``u``, item index ``i``) that has at least one event: ``first`` / ``last``
event time and ``days`` (distinct days with an event) — the three history matrices every saved
model carries — and from them everything the relatedness and popularity jobs need. The history
cap (``max_history``) is applied here, exactly as the local path applies it: customers with more
distinct items than the cap are removed before anything is counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = ["IndexedLog", "PurchaseCounts", "index_events", "purchase_counts", "purchases"]

DAY = 86_400


@dataclass
class IndexedLog:
    """Events with contiguous indices: ``events`` ``(u, i, t, q)``, the vocabularies ``users`` /
    ``items`` ``(id, index)`` and their sizes, and the fingerprint of the events."""

    events: Any
    users: Any
    items: Any
    n_users: int
    n_items: int
    fingerprint: str
    n_events: int
    trained_until: int


def index_events(events: Any, *, until: int | None = None) -> IndexedLog:
    """Map ids to indices (sorted ids, as the local reader numbers them), keep events before
    ``until`` (the vocabularies still cover the whole log, like ``Interactions.before``)."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    from discoverly.engine.spark.vocabulary import index_ids
    from discoverly.errors import DataError

    users, n_users = index_ids(events, "user")
    items, n_items = index_ids(events, "item")
    indexed = (events.join(users.withColumnRenamed("id", "user").withColumnRenamed("index", "u"), "user")
               .join(F.broadcast(items.withColumnRenamed("id", "item").withColumnRenamed("index", "i")), "item")
               .select("u", "i", "t", "q"))
    if until is not None:
        indexed = indexed.filter(F.col("t") < F.lit(int(until)))
    h = F.xxhash64("u", "i", "t", "q").cast("decimal(38,0)")
    facts = indexed.agg(F.count(F.lit(1)).alias("n"), F.sum(h).alias("h"), F.max("t").alias("t")).first()
    if not facts["n"]:
        if until is None:
            raise DataError("the log has no events")
        # a plain number is epoch seconds: say which moment that is (20240101 is in 1970, not 2024)
        when = dt.datetime.fromtimestamp(int(until), tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        start = dt.datetime.fromtimestamp(int(events.agg(F.min("t")).first()[0]), tz=dt.UTC)
        raise DataError(f"no events before --until {until} ({when}); the log starts {start:%Y-%m-%d}. Give an ISO "
                        "date such as 2024-01-01 or epoch seconds")
    digest = hashlib.blake2b(f"{facts['n']}:{int(facts['h']) % (1 << 64)}:{n_users}:{n_items}".encode(),
                             digest_size=12).hexdigest()
    return IndexedLog(indexed, users, items, n_users, n_items, f"spark-{digest}", int(facts["n"]),
                      int(facts["t"]) + 1)


def purchases(events: Any) -> Any:
    """``(u, i, first, last, days)``: one row per distinct customer–item pair."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    return events.groupBy("u", "i").agg(
        F.min("t").alias("first"), F.max("t").alias("last"),
        F.count_distinct(F.floor(F.col("t") / DAY)).cast("double").alias("days"))


@dataclass
class PurchaseCounts:
    """After the history cap: the kept purchases ``(u, i, n_other)`` with ``n_other`` = the
    customer's distinct items − 1 (``n_c``), buyers per item ``(i, buyers)``, and the totals."""

    pairs: Any
    buyers: Any
    customers: int
    purchases: int
    dropped_customers: int


def purchase_counts(pairs: Any, *, max_history: int | None = None) -> PurchaseCounts:
    """Apply the history cap and count customers, purchases and buyers per item (``N_X``)."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    lengths = pairs.groupBy("u").agg(F.count(F.lit(1)).alias("length"))
    dropped = 0
    if max_history is not None:
        dropped = lengths.filter(F.col("length") > max_history).count()
        lengths = lengths.filter(F.col("length") <= max_history)
    kept = (pairs.select("u", "i").join(lengths, "u")
            .select("u", "i", (F.col("length") - 1).alias("n_other")))
    buyers = kept.groupBy("i").agg(F.count(F.lit(1)).alias("buyers"))
    totals = lengths.agg(F.count(F.lit(1)).alias("customers"), F.sum("length").alias("purchases")).first()
    return PurchaseCounts(kept, buyers, int(totals["customers"] or 0), int(totals["purchases"] or 0), int(dropped))
