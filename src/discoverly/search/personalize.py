"""Personalisation: what a customer's history says about each candidate of their query.

For a customer and a candidate item (features in the order of :meth:`CustomerProfiles.names`):

* how often (distinct days) and how recently they bought the item itself, and its share of their
  purchases among the query's candidates ("of the milks, they buy this one");
* their affinity to the item's category, brand and every other facet of the index (share of their
  purchase-days in that facet value, and how many different items they bought there: a variety
  seeker in a category is more likely to buy something new in it);
* their price level: the item's log price minus the mean log price of what they buy;
* item-to-item relatedness of the candidate to their past purchases (sum and max over the
  history, from any items × items relatedness matrix, e.g. the corrected score of
  :func:`discoverly.recommend.relatedness.related_items`);
* the size of their history, and its novelty (distinct items per purchase-day).

Customers without history have no profile; the engine gives them the non-personalised ranking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from discoverly.data.interactions import Interactions, TimeLike, to_epoch_seconds
from discoverly.data.vocabulary import Vocabulary
from discoverly.errors import ConfigError, UnknownIdError
from discoverly.search.features import align_items
from discoverly.search.index import CatalogIndex

__all__ = ["CustomerProfiles", "relatedness_in_index"]

DAY = 86_400


def relatedness_in_index(related: Any, interactions: Interactions, index: CatalogIndex) -> sp.csr_matrix:
    """An items × items relatedness matrix over the interactions' items (a scipy matrix or an
    object with a ``scores`` matrix, such as :class:`~discoverly.recommend.relatedness.Relatedness`)
    re-indexed to the catalogue index's items; pairs with an item outside the catalogue are dropped."""
    mat = getattr(related, "scores", related)
    if not sp.issparse(mat):
        raise ConfigError(f"relatedness must be a sparse items × items matrix, got {type(related).__name__}")
    coo = sp.coo_matrix(mat)
    if coo.shape != (interactions.n_items, interactions.n_items):
        raise ConfigError(f"the relatedness matrix is {coo.shape} but the interactions have {interactions.n_items} "
                          "items; compute it from the same interactions")
    pos = align_items(interactions, index)
    r, c = pos[coo.row], pos[coo.col]
    ok = (r >= 0) & (c >= 0)
    out = sp.csr_matrix((coo.data[ok].astype(np.float32), (r[ok], c[ok])), shape=(len(index), len(index)))
    out.sum_duplicates()
    return out


class CustomerProfiles:
    """Customers' purchase histories over the index's items as of ``now``, and the relatedness
    matrix that links candidates to those histories."""

    def __init__(self, users: Vocabulary, days: sp.csr_matrix, last: sp.csr_matrix, now: int,
                 related: sp.csr_matrix | None, index: CatalogIndex) -> None:
        self.users = users
        self.days = days
        self.last = last
        self.now = int(now)
        self.related = related
        self.index = index
        self.facet_names = list(index.facets)
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = np.log(index.price.astype(np.float64))
        self._log_price = np.where(np.isfinite(logp), logp, np.nan)

    def __repr__(self) -> str:
        return f"CustomerProfiles({len(self.users):,} customers, related={'yes' if self.related is not None else 'no'})"

    @classmethod
    def fit(cls, interactions: Interactions, index: CatalogIndex, *, now: TimeLike | None = None,
            related: Any = None) -> CustomerProfiles:
        """Profiles from the events before ``now`` (default: all); ``related`` as in
        :func:`relatedness_in_index` (over the items of ``interactions``), or ``None``."""
        t = int(interactions.timestamp[-1]) + 1 if now is None and len(interactions) else to_epoch_seconds(now or 0)
        log = interactions.before(t)
        pos = align_items(interactions, index)

        def to_index(m: sp.csr_matrix) -> sp.csr_matrix:
            # relabel the columns (not a product with a 0/1 matrix, which drops a last time of 0,
            # epoch 1970-01-01, and leaves ``last`` out of step with ``days``)
            coo = m.tocoo()
            ok = pos[coo.col] >= 0
            return sp.csr_matrix((coo.data[ok], (coo.row[ok], pos[coo.col[ok]])),
                                 shape=(interactions.n_users, len(index)))

        days = to_index(log.matrix("days"))
        last = to_index(log.matrix("last_time"))
        rel = relatedness_in_index(related, interactions, index) if related is not None else None
        return cls(interactions.users, days, last, t, rel, index)

    # -- lookups -------------------------------------------------------------------------------
    def user_row(self, user: Any) -> int:
        """The customer's row, ``-1`` when unknown (or ``None``)."""
        if user is None:
            return -1
        try:
            return self.users.index(user)
        except UnknownIdError:
            return -1

    def has_history(self, row: int) -> bool:
        return row >= 0 and self.days.indptr[row + 1] > self.days.indptr[row]

    def history(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The customer's items (index positions), distinct purchase days and last purchase times."""
        a, b = self.days.indptr[row], self.days.indptr[row + 1]
        la, lb = self.last.indptr[row], self.last.indptr[row + 1]
        return self.days.indices[a:b], self.days.data[a:b], self.last.data[la:lb]

    def names(self) -> list[str]:
        return (["u.item_days", "u.item_recency", "u.item_share"]
                + [f"u.{f}.{kind}" for f in self.facet_names for kind in ("share", "items")]
                + ["u.price_diff", "u.related_sum", "u.related_max", "u.history", "u.novelty"])

    # -- features ------------------------------------------------------------------------------
    def features(self, row: int, items: np.ndarray) -> np.ndarray:
        """Personal features of ``items`` for customer ``row``, shape ``(len(items), len(names()))``."""
        n = items.size
        out = np.full((n, len(self.names())), np.nan, dtype=np.float32)
        if not self.has_history(row) or n == 0:
            if n:
                out[:, 0] = 0.0
                out[:, -2] = 0.0  # u.history
            return out
        hist, days, last = self.history(row)
        lookup = np.full(len(self.index), -1, dtype=np.int64)
        lookup[hist] = np.arange(hist.size)
        at = lookup[items]
        bought = at >= 0
        item_days = np.where(bought, days[np.maximum(at, 0)], 0.0)
        out[:, 0] = np.log1p(item_days)
        out[:, 1] = np.where(bought, (self.now - last[np.maximum(at, 0)]) / DAY, np.nan)
        total_cand = item_days.sum()
        out[:, 2] = item_days / total_cand if total_cand > 0 else 0.0
        total = float(days.sum())
        col = 3
        for name in self.facet_names:
            codes = self.index.facets[name][0]
            n_values = len(self.index.facets[name][1])
            hc = codes[hist]
            ok = hc >= 0
            share = np.bincount(hc[ok], weights=days[ok], minlength=n_values) / total
            distinct = np.bincount(hc[ok], minlength=n_values)
            ic = codes[items]
            out[:, col] = np.where(ic >= 0, share[np.maximum(ic, 0)], np.nan)
            out[:, col + 1] = np.where(ic >= 0, np.log1p(distinct[np.maximum(ic, 0)]), np.nan)
            col += 2
        lp = self._log_price[hist]
        fin = np.isfinite(lp)
        if fin.any():
            user_level = float(np.average(lp[fin], weights=days[fin]))
            out[:, col] = self._log_price[items] - user_level
        col += 1
        if self.related is not None:
            sub = self.related[hist]
            where = np.full(len(self.index), -1, dtype=np.int64)
            where[items] = np.arange(n)
            owner = np.repeat(np.arange(hist.size), np.diff(sub.indptr))
            tgt = where[sub.indices]
            m = tgt >= 0
            w = np.log1p(days[owner[m]]) * sub.data[m]
            out[:, col] = np.bincount(tgt[m], weights=w, minlength=n)
            mx = np.zeros(n)
            np.maximum.at(mx, tgt[m], sub.data[m])
            out[:, col + 1] = mx
        col += 2
        out[:, col] = np.log1p(hist.size)
        out[:, col + 1] = hist.size / total  # distinct items per purchase-day: how much they try new things
        return out

    # -- persistence ---------------------------------------------------------------------------
    def to_parts(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, pl.DataFrame]]:
        arrays = {"profile.days.data": self.days.data, "profile.days.indices": self.days.indices,
                  "profile.days.indptr": self.days.indptr, "profile.last.data": self.last.data,
                  "profile.last.indices": self.last.indices, "profile.last.indptr": self.last.indptr}
        if self.related is not None:
            arrays.update({"profile.related.data": self.related.data, "profile.related.indices": self.related.indices,
                           "profile.related.indptr": self.related.indptr})
        manifest = {"now": self.now, "n_users": len(self.users), "related": self.related is not None}
        return manifest, arrays, {"profile_users": pl.DataFrame({"user": self.users.to_series()})}

    @classmethod
    def from_parts(cls, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                   tables: Mapping[str, pl.DataFrame], index: CatalogIndex) -> CustomerProfiles:
        users = Vocabulary(tables["profile_users"]["user"], name="user")
        shape = (len(users), len(index))

        def csr(name: str, rows_shape: tuple[int, int]) -> sp.csr_matrix:
            return sp.csr_matrix((arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]),
                                 shape=rows_shape)

        related = csr("profile.related", (len(index), len(index))) if manifest.get("related") else None
        return cls(users, csr("profile.days", shape), csr("profile.last", shape), int(manifest["now"]), related, index)

