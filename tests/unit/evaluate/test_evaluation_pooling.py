"""Evaluation's bookkeeping over several cutoffs, checked against the per-cutoff cells assembled by
hand: the pooled summary is the cluster bootstrap of every (user, cutoff) value with the users as
clusters, the paired tests read the two models' values at the cutoff asked for (pooled: clustered
by user), and the leaderboard and JSON take each cutoff's own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.data import Interactions
from discoverly.evaluate import evaluate
from discoverly.evaluate.evaluation import Evaluation
from discoverly.evaluate.stats import bootstrap_ci, paired_test

from .conftest import CUTOFF, DAY

SEED, N_BOOT = 7, 200


def _shop() -> Interactions:
    """Items 0-1 sell all the time, item 2 is the hit of the last weeks; customers return often,
    so many are tested at every cutoff."""
    gen = np.random.default_rng(1)
    rows = []
    for user in range(150):
        for day in sorted(gen.choice(100, size=8, replace=False)):
            hot = day >= 60 and gen.random() < 0.6
            item = 2 if hot else int(gen.integers(0, 2) if gen.random() < 0.5 else gen.integers(3, 25))
            rows.append((user, item, int(day)))
    u, i, d = zip(*rows, strict=True)
    return Interactions.from_indices(u, i, CUTOFF - 100 * DAY + np.array(d) * DAY + 3600)


@pytest.fixture(scope="module")
def ev() -> Evaluation:
    cuts = [CUTOFF - 30 * DAY, CUTOFF - 20 * DAY, CUTOFF - 10 * DAY]
    return evaluate(_shop(), ["popularity", "bestsellers"], cuts, variants=["any-item", "new-items"], k=[2],
                    n_boot=N_BOOT, rng=SEED)


def _by_hand(ev: Evaluation, model: str, metric: str, variant: str) -> tuple[np.ndarray, np.ndarray]:
    cells = [ev.cells[(model, c, variant)] for c in ev.cutoffs]  # type: ignore[index]
    return np.concatenate([c.per_user[metric] for c in cells]), np.concatenate([c.users for c in cells])


@pytest.mark.parametrize("variant", ["any-item", "new-items"])
def test_pooled_is_the_cluster_bootstrap_of_every_cutoffs_values(ev: Evaluation, variant: str) -> None:
    values, users = _by_hand(ev, "popularity", "Recall@2", variant)
    assert len(np.unique(users)) < len(users)  # customers tested at several cutoffs: clusters matter
    got = ev.metric("popularity", "Recall@2", cutoff="pooled", variant=variant)  # type: ignore[arg-type]
    want = bootstrap_ci(values, groups=users, rng=SEED, n_boot=N_BOOT)
    assert (got.value, got.low, got.high, got.n) == (want.value, want.low, want.high, want.n)
    assert got.value == pytest.approx(values.mean()) and got.n == len(values)
    iid = bootstrap_ci(values, rng=SEED, n_boot=N_BOOT)
    assert (iid.low, iid.high) != (want.low, want.high)  # the test can tell the clusters were used


def test_pooled_paired_test_flips_whole_customers(ev: Evaluation) -> None:
    a, users = _by_hand(ev, "bestsellers", "HitRate@2", "new-items")
    b, users_b = _by_hand(ev, "popularity", "HitRate@2", "new-items")
    np.testing.assert_array_equal(users, users_b)
    got = ev.paired("bestsellers", "popularity", cutoff="pooled", variant="new-items")
    want = paired_test(a, b, groups=users, rng=SEED, n_boot=N_BOOT)
    assert got.test == want and got.cutoff == "pooled" and got.variant == "new-items"
    assert got.test.difference.value == pytest.approx(a.mean() - b.mean())
    assert got.test != paired_test(a, b, rng=SEED, n_boot=N_BOOT)


def test_paired_test_at_a_later_cutoff_reads_that_cutoffs_values(ev: Evaluation) -> None:
    cut = ev.cutoffs[2]
    a = ev.cells[("bestsellers", cut, "any-item")].per_user["NDCG@2"]
    b = ev.cells[("popularity", cut, "any-item")].per_user["NDCG@2"]
    assert not np.array_equal(a, b)
    got = ev.paired("bestsellers", "popularity", "NDCG@2", cutoff=cut)
    assert (got.a, got.b, got.metric, got.cutoff, got.variant) == ("bestsellers", "popularity", "NDCG@2", cut,
                                                                   "any-item")
    assert got.test == paired_test(a, b, rng=SEED, n_boot=N_BOOT)
    assert got.test.difference.value == pytest.approx(a.mean() - b.mean())
    swapped = ev.paired("popularity", "bestsellers", "NDCG@2", cutoff=cut)
    assert swapped.test.difference.value == pytest.approx(-got.test.difference.value)
    # the primary cutoff is another test on other users
    first = ev.paired("bestsellers", "popularity", "NDCG@2")
    assert first.cutoff == ev.cutoffs[0] and first.test.difference.n == len(ev.cell("bestsellers").users)


def test_leaderboard_takes_each_cutoffs_numbers_and_the_mean_fit_time(ev: Evaluation) -> None:
    cut = ev.cutoffs[1]
    board = ev.leaderboard(cutoff=cut, variant="new-items")
    for row in board.iter_rows(named=True):
        cell = ev.cells[(row["model"], cut, "new-items")]
        assert row["HitRate@2"] == pytest.approx(cell.per_user["HitRate@2"].mean())
        assert (row["Recall@2 low"], row["Recall@2 high"]) == cell.metrics["Recall@2"].ci
        assert row["Coverage@2"] == cell.coverage["Coverage@2"].value
        assert row["fit seconds"] == ev.fit_seconds[(row["model"], cut)]
    hits = board["HitRate@2"].to_list()
    assert hits == sorted(hits, reverse=True)
    pooled = ev.leaderboard(cutoff="pooled")
    for row in pooled.iter_rows(named=True):
        values, _ = _by_hand(ev, row["model"], "HitRate@2", "any-item")
        assert row["HitRate@2"] == pytest.approx(values.mean())
        assert row["fit seconds"] == pytest.approx(np.mean([ev.fit_seconds[(row["model"], c)] for c in ev.cutoffs]))


def test_json_cells_carry_their_own_cutoffs_numbers(ev: Evaluation) -> None:
    out = ev.to_dict()
    for m, entry in zip(ev.models, out["models"], strict=True):
        assert entry["fit_seconds"] == ev.fit_seconds[(m, ev.cutoffs[0])]
        assert [(c["cutoff"], c["variant"]) for c in entry["cutoffs"]] == [
            (c, v) for c in ev.cutoffs for v in ("any-item", "new-items")]
        for c in entry["cutoffs"]:
            cell = ev.cells[(m, c["cutoff"], c["variant"])]
            assert c["n_users"] == len(cell.users) and c["fit_seconds"] == ev.fit_seconds[(m, c["cutoff"])]
            assert c["metrics"]["HitRate@2"]["value"] == pytest.approx(cell.per_user["HitRate@2"].mean())
        for v in ("any-item", "new-items"):
            values, _ = _by_hand(ev, m, "HitRate@2", v)
            assert entry["pooled"][v]["HitRate@2"]["value"] == pytest.approx(values.mean())
            assert entry["pooled"][v]["HitRate@2"]["n"] == len(values)
    pooled = [p for p in out["paired"] if p["cutoff"] == "pooled"]
    assert {p["variant"] for p in pooled} == {"any-item", "new-items"}
    for p in pooled:
        a, users = _by_hand(ev, p["a"], "HitRate@2", p["variant"])
        b, _ = _by_hand(ev, p["b"], "HitRate@2", p["variant"])
        assert p["p_value"] == paired_test(a, b, groups=users, rng=SEED, n_boot=N_BOOT).p_value


def test_paired_tests_of_two_metrics_at_one_cutoff_are_two_tests(ev: Evaluation) -> None:
    """The tests are computed once and kept; asking for another metric (or variant) of the same
    pair at the same cutoff is another test, not the kept one."""
    cut = ev.cutoffs[1]
    cells = {m: ev.cells[(m, cut, "new-items")] for m in ("bestsellers", "popularity")}
    for metric in ("HitRate@2", "Recall@2", "HitRate@2"):
        got = ev.paired("bestsellers", "popularity", metric, cutoff=cut, variant="new-items")
        want = paired_test(cells["bestsellers"].per_user[metric], cells["popularity"].per_user[metric], rng=SEED,
                           n_boot=N_BOOT)
        assert got.metric == metric and got.test == want
    other = ev.paired("bestsellers", "popularity", "Recall@2", cutoff=cut, variant="any-item")
    assert other.variant == "any-item"
    assert other.test.difference.n == len(ev.cells[("bestsellers", cut, "any-item")].users)


def test_pooled_leaderboard_and_paired_table_honour_the_variant_and_metric_asked_for(ev: Evaluation) -> None:
    board = ev.leaderboard(cutoff="pooled", variant="new-items")
    for row in board.iter_rows(named=True):
        values, _ = _by_hand(ev, row["model"], "HitRate@2", "new-items")
        assert row["HitRate@2"] == pytest.approx(values.mean())
    (table,) = ev.paired_table("Recall@2", cutoff=ev.cutoffs[1], variant="new-items")
    a = ev.cells[("popularity", ev.cutoffs[1], "new-items")].per_user["Recall@2"]
    b = ev.cells[("bestsellers", ev.cutoffs[1], "new-items")].per_user["Recall@2"]
    assert table.metric == "Recall@2" and table.test == paired_test(a, b, rng=SEED, n_boot=N_BOOT)
    out = ev.to_dict(paired=False)
    assert "paired" not in out
    for m, entry in zip(ev.models, ev.to_dict()["models"], strict=True):
        for v in ("any-item", "new-items"):
            assert entry["buckets"][v] == {kind: b.to_dict() for kind, b in ev.cell(m, None, v).buckets.items()}


def test_one_cutoff_has_no_pooled_paired_tests() -> None:
    one = evaluate(_shop(), ["popularity", "bestsellers"], [CUTOFF - 10 * DAY], variants="any-item", k=[2],
                   n_boot=50, rng=SEED)
    assert [p["cutoff"] for p in one.to_dict()["paired"]] == [one.cutoffs[0]]
