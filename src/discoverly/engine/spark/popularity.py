"""All-time and recent popularity on Spark, as the local path defines them.

All-time popularity of an item: its distinct buyers. Recent bestsellers at time ``now``: items
ranked by distinct buyers in ``[int(now − window_days·86400), now)`` (ties by all-time buyers,
then by the lower item index), every item with a buyer listed. With ``now`` = the end of training
(one second after the last event), a customer bought an item in the window exactly when the
pair's last event is at or after the window's start, so both come from the purchases table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DAY", "item_popularity", "recent_order"]

DAY = 86_400


def item_popularity(purchases: Any, n_items: int, *, now: int, window_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Dense arrays over the ``n_items`` items: all-time buyers and buyers in the window before ``now``."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    start = int(now - window_days * DAY)
    rows = (purchases.groupBy("i")
            .agg(F.count(F.lit(1)).alias("all_time"),
                 F.sum((F.col("last") >= F.lit(start)).cast("long")).alias("recent"))
            .toArrow())
    all_time = np.zeros(n_items, dtype=np.float64)
    recent = np.zeros(n_items, dtype=np.float64)
    idx = rows.column("i").to_numpy()
    all_time[idx] = rows.column("all_time").to_numpy()
    recent[idx] = rows.column("recent").to_numpy()
    return all_time, recent


def recent_order(all_time: np.ndarray, recent: np.ndarray, *, limit: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Items best first by recent buyers, then all-time buyers, then index; ``(items, recent buyers)``."""
    order = np.lexsort((-all_time, -recent))
    order = order[(recent[order] > 0) | (all_time[order] > 0)]
    if limit is not None:
        order = order[:limit]
    return order, recent[order]
