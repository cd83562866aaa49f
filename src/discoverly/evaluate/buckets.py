"""Hit rate by bucket: light to heavy customers, and popular to niche target items.

Averages hide where a model wins. Two breakdowns answer the usual follow-up questions:

* **customer activity** — test users split into (roughly) equal-sized groups by the number of
  distinct items they bought before the cutoff; the hit rate per group shows whether a model only
  works for heavy buyers;
* **item popularity** — the (user, target item) pairs split into groups by how many distinct
  customers bought the target item before the cutoff, each group holding a similar number of
  pairs (items first sold after the cutoff get their own "new" group). For a group, the tested
  users are those with at least one target in it, and a user counts as hit when one of the top
  ``k`` is a target *of that group*: "how often do we find the niche items people go on to buy?".

Bucket edges are computed once per split, so every model is measured on the same groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from discoverly.errors import ConfigError
from discoverly.evaluate.metrics import hits
from discoverly.evaluate.protocol import Split
from discoverly.evaluate.stats import Estimate, bootstrap_ci

__all__ = ["BucketResult", "Buckets", "activity_buckets", "bucket_hit_rates", "popularity_buckets"]


@dataclass(frozen=True)
class Buckets:
    """A grouping of a split: ``labels[b]`` names group ``b``.

    For activity buckets ``assign`` has one group per test user; for popularity buckets one group
    per stored entry of ``split.targets`` (in CSR order).
    """

    kind: str
    labels: list[str]
    assign: np.ndarray


@dataclass(frozen=True)
class BucketResult:
    """The hit rate of one model in each group of one grouping."""

    kind: str
    labels: list[str]
    estimates: list[Estimate]

    def to_dict(self) -> dict[str, object]:
        def clean(d: dict[str, object]) -> dict[str, object]:  # NaN (an empty group) -> None, for JSON
            return {k: (None if isinstance(v, float) and v != v else
                        [None if isinstance(x, float) and x != x else x for x in v] if isinstance(v, list) else v)
                    for k, v in d.items()}
        return {"kind": self.kind,
                "buckets": [{"label": lab, **clean(est.to_dict())} for lab, est in
                            zip(self.labels, self.estimates, strict=True)]}


def _quantile_edges(values: np.ndarray, n_buckets: int) -> np.ndarray:
    """Distinct integer edges splitting ``values`` into at most ``n_buckets`` similar-sized groups;
    group ``b`` holds ``edges[b] <= v < edges[b + 1]``."""
    qs = np.quantile(values, np.linspace(0, 1, n_buckets + 1)[1:-1], method="lower") if len(values) else []
    inner = np.unique(np.asarray(qs, dtype=np.int64) + 1)
    lo = int(values.min()) if len(values) else 0
    hi = int(values.max()) + 1 if len(values) else 1
    inner = inner[(inner > lo) & (inner < hi)]
    return np.concatenate([[lo], inner, [hi]]).astype(np.int64)


def _range_label(lo: int, hi_exclusive: int, unit: str) -> str:
    hi = hi_exclusive - 1
    return f"{lo} {unit}" if lo == hi else f"{lo}–{hi} {unit}"


def activity_buckets(split: Split, n_buckets: int = 4) -> Buckets:
    """Test users grouped light → heavy by distinct items bought before the cutoff."""
    if n_buckets < 1:
        raise ConfigError(f"n_buckets must be at least 1, got {n_buckets}")
    act = split.activity()
    edges = _quantile_edges(act, n_buckets)
    assign = np.searchsorted(edges, act, side="right") - 1
    labels = [_range_label(int(edges[b]), int(edges[b + 1]), "items") for b in range(len(edges) - 1)]
    return Buckets("activity", labels, assign.astype(np.int64))


def popularity_buckets(split: Split, n_buckets: int = 4) -> Buckets:
    """Target pairs grouped popular → niche by the item's distinct buyers before the cutoff;
    items without buyers before the cutoff form a last group "new"."""
    if n_buckets < 1:
        raise ConfigError(f"n_buckets must be at least 1, got {n_buckets}")
    buyers = split.train.item_counts().astype(np.int64)
    pair_pop = buyers[split.targets.indices]
    known = pair_pop > 0
    edges = _quantile_edges(pair_pop[known], n_buckets) if known.any() else np.array([1, 2])
    raw = np.searchsorted(edges, pair_pop, side="right") - 1
    n_known = len(edges) - 1
    # popular first: reverse the ascending order of buyer counts
    assign = np.where(known, n_known - 1 - raw, n_known)
    labels = [_range_label(int(edges[b]), int(edges[b + 1]), "buyers") for b in range(n_known)][::-1]
    if (~known).any():
        labels.append("new (0 buyers)")
    return Buckets("popularity", labels, assign.astype(np.int64))


def bucket_hit_rates(top: np.ndarray, split: Split, buckets: Buckets, k: int, *,
                     rng: int | np.random.Generator | None = 0, n_boot: int = 2000) -> BucketResult:
    """HitRate@``k`` per group, each with its bootstrap interval over the group's users."""
    if top.shape[0] != split.n_users:
        raise ConfigError(f"top has {top.shape[0]} rows but the split has {split.n_users} test users")
    sel = top[:, :k]
    estimates: list[Estimate] = []
    if buckets.kind == "activity":
        hit = np.asarray(hits(sel, split.targets).any(axis=1), dtype=np.float64)
        for b in range(len(buckets.labels)):
            estimates.append(bootstrap_ci(hit[buckets.assign == b], rng=rng, n_boot=n_boot))
    elif buckets.kind == "popularity":
        t = split.targets
        for b in range(len(buckets.labels)):
            # copies: eliminate_zeros works in place and must not touch the split's targets
            part = sp.csr_matrix((t.data * (buckets.assign == b), t.indices.copy(), t.indptr.copy()),
                                 shape=t.shape)
            part.eliminate_zeros()
            has = np.diff(part.indptr) > 0
            hit = np.asarray(hits(sel[has], part[has]).any(axis=1), dtype=np.float64)
            estimates.append(bootstrap_ci(hit, rng=rng, n_boot=n_boot))
    else:
        raise ConfigError(f"unknown bucket kind {buckets.kind!r}; expected activity or popularity")
    return BucketResult(buckets.kind, list(buckets.labels), estimates)
