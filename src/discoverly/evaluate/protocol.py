"""The time-based evaluation protocol: who is tested at a cutoff, on what, and with which history.

At a cutoff ``T`` with a window of ``window_days`` (default 14):

* models are fitted on the events strictly before ``T``;
* the **test users** are those with at least one event before ``T`` *and* at least one in
  ``[T, T + window)``; their history is everything they did before ``T``, seen at time ``T``;
* the **targets** are the items a test user consumed in the window.

Two variants answer two product questions:

* ``"new-items"`` — "can we show customers something they have not bought before?": targets
  exclude the user's items before ``T``, recommendations exclude seen items, and users whose
  window held only repeat purchases are not tested (they cannot be hit; their number is kept in
  :attr:`Split.n_repeat_only`);
* ``"any-item"`` — "can we predict the next basket?": every window item is a target and seen
  items may be recommended (repeat purchases count), which is where "buy it again" shines.

Items first sold inside the window stay targets (a model that cannot know them is rightly
penalised); they are not *recommendable* (see :attr:`Split.recommendable`), which matters for
coverage.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from discoverly.data.interactions import Interactions, TimeLike, to_epoch_seconds
from discoverly.errors import ConfigError, DataError
from discoverly.recommend.history import History

__all__ = ["VARIANTS", "Split", "Variant", "check_cutoff", "parse_variants", "split"]

log = logging.getLogger(__name__)

DAY = 86_400

Variant = Literal["new-items", "any-item"]
#: the protocol's variants, primary first
VARIANTS: tuple[Variant, ...] = ("new-items", "any-item")


def parse_variants(value: str | Variant | list[str] | tuple[str, ...]) -> tuple[Variant, ...]:
    """``"both"``, one variant name, or a list of names -> a tuple of variants (primary first)."""
    names = [value] if isinstance(value, str) else list(value)
    if names == ["both"]:
        return VARIANTS
    out: list[Variant] = []
    for name in names:
        if name not in VARIANTS:
            raise ConfigError(f"unknown variant {name!r}; expected one of {', '.join(VARIANTS)} or 'both'")
        if name not in out:
            out.append(name)  # type: ignore[arg-type]
    if not out:
        raise ConfigError("no evaluation variant given; expected new-items, any-item or both")
    return tuple(out)


def _iso(seconds: int) -> str:
    d = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return d.strftime("%Y-%m-%d") if seconds % DAY == 0 else d.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Split:
    """One cutoff and variant of the protocol, ready to score models on.

    ``users`` are test-user indices (ascending) in the log's user vocabulary; ``history`` and
    ``targets`` have one row per test user in that order; item columns are the log's item indices.
    """

    cutoff: int
    window_days: float
    variant: Variant
    train: Interactions
    users: np.ndarray
    history: History
    targets: sp.csr_matrix
    #: users active before T and in the window whose window held only items they had already
    #: bought (tested in "any-item", not in "new-items")
    n_repeat_only: int
    #: the window ends after the last event of the log (fewer days of targets than asked)
    truncated: bool

    @property
    def exclude_seen(self) -> bool:
        """Whether recommendations must leave out the user's past items in this variant."""
        return self.variant == "new-items"

    @property
    def label(self) -> str:
        """The cutoff as an ISO date (or date-time when not at midnight UTC)."""
        return _iso(self.cutoff)

    @staticmethod
    def label_of(cutoff: int) -> str:
        """The label a split at ``cutoff`` (epoch seconds) has."""
        return _iso(cutoff)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def recommendable(self) -> np.ndarray:
        """Boolean mask of items with at least one event before the cutoff."""
        return self.train.item_counts() > 0

    def activity(self) -> np.ndarray:
        """Per test user: the number of distinct items bought before the cutoff."""
        return self.history.lengths().astype(np.int64)

    def target_sizes(self) -> np.ndarray:
        return np.diff(self.targets.indptr).astype(np.int64)

    def describe(self) -> dict[str, object]:
        """Counts for reports and JSON."""
        return {"cutoff": self.label, "variant": self.variant, "window_days": self.window_days,
                "n_users": self.n_users, "n_targets": int(self.targets.nnz),
                "n_repeat_only": self.n_repeat_only, "train_events": len(self.train),
                "truncated_window": self.truncated}


def _around(interactions: Interactions, cutoff: TimeLike, window_days: float
            ) -> tuple[int, int, Interactions, Interactions, np.ndarray]:
    """The cutoff in epoch seconds, the window's end, the events before and in the window (views),
    and the users active in both; a :class:`DataError` naming the log's span when one is empty.
    Every entry point (:func:`split`, :func:`check_cutoff`, ``evaluate()``) checks the window here."""
    if not 0 < window_days < math.inf:  # NaN too (it compares false)
        raise ConfigError(f"window_days must be a positive number of days, got {window_days}")
    if len(interactions) == 0:
        raise DataError("cannot evaluate on an empty interaction log")
    t = to_epoch_seconds(cutoff)
    end = t + round(window_days * DAY)
    span = f"the log spans {interactions.start:%Y-%m-%d} .. {interactions.end:%Y-%m-%d}"
    train = interactions.before(t)
    if len(train) == 0:
        raise DataError(f"no events before the cutoff {_iso(t)}: nothing to fit on ({span}); "
                        "choose a later cutoff")
    window = interactions.between(t, end)
    if len(window) == 0:
        raise DataError(f"no events in the {window_days:g} days from the cutoff {_iso(t)} ({span}); "
                        "choose an earlier cutoff")
    users = np.intersect1d(train.active_users(), window.active_users(), assume_unique=True)
    if len(users) == 0:
        raise DataError(f"no user was active both before {_iso(t)} and in the {window_days:g} days after it "
                        f"({span}); choose another cutoff or a longer window")
    return t, end, train, window, users


def check_cutoff(interactions: Interactions, cutoff: TimeLike, *, window_days: float = 14) -> None:
    """The error :func:`split` would raise for ``window_days`` (a :class:`ConfigError`) or an empty
    side of ``cutoff`` (a :class:`DataError`), without building the test set:
    :func:`~discoverly.evaluate.evaluate` checks every cutoff with it before fitting any model."""
    _around(interactions, cutoff, window_days)


def split(interactions: Interactions, cutoff: TimeLike, *, window_days: float = 14,
          variant: Variant = "new-items", warn: bool = True) -> Split:
    """The test set of ``interactions`` at ``cutoff`` for one ``variant`` (see the module docs).
    ``warn=False`` leaves out the warning about a window that runs past the log's end (a caller
    splitting one cutoff for several variants says it once).

    Raises :class:`~discoverly.errors.DataError` when the cutoff leaves nothing to train on or
    nobody to test, naming the log's time span so a better cutoff is easy to pick.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    t, end, train, window, users = _around(interactions, cutoff, window_days)
    targets = window.matrix("binary")[users]
    n_repeat_only = 0
    if variant == "new-items":
        seen = train.matrix("binary")[users]
        new = (targets - targets.multiply(seen)).tocsr()
        new.eliminate_zeros()
        keep = np.diff(new.indptr) > 0
        n_repeat_only = int((~keep).sum())
        users, targets = users[keep], new[keep]
        if len(users) == 0:
            raise DataError(f"at the cutoff {_iso(t)} every test user bought only items they had bought before; "
                            "the new-items variant has nobody to test: use variant='any-item'")
    targets = sp.csr_matrix(targets, dtype=np.float32)
    targets.data[:] = 1.0
    targets.sort_indices()
    history = History.of(train, users, now=t)
    truncated = bool(interactions.timestamp[-1] < end - DAY)
    if truncated and warn:
        log.warning("the %g-day window after %s ends after the log's last event (%s); targets cover fewer days",
                    window_days, _iso(t), f"{interactions.end:%Y-%m-%d}")
    return Split(cutoff=t, window_days=float(window_days), variant=variant, train=train, users=users,
                 history=history, targets=targets, n_repeat_only=n_repeat_only, truncated=truncated)
