"""The whole Complete Journey protocol and the query-understanding studies, run on the small grocery."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from discoverly.data import Catalog, Interactions
from discoverly.search.benchmark import purchase_queries
from discoverly.search.experiment import SYSTEMS, ProtocolConfig, feature_ablation, run_protocol
from discoverly.search.studies import attribute_study, category_study, typo_study

from .conftest import T0

DAY = 86_400


@pytest.fixture(scope="module")
def protocol(catalog: Catalog, purchases: Interactions, encoder: Any) -> dict[str, Any]:
    cutoff = dt.datetime.fromtimestamp(T0 + 45 * DAY, dt.UTC).replace(tzinfo=None).isoformat()
    cfg = ProtocolConfig(cutoff=cutoff, valid_weeks=2, train_weeks=4, n_test=60, n_train=400,
                         n_valid=150, fields=("title", "product_type", "category", "brand", "package_size"),
                         facets=("product_type",), dense_fields=("title",),
                         peer_columns=("category", "product_type", "brand", "package_size"),
                         weight_grid=[{}, {"product_type": 2.0}],
                         fusion_grid=((1.0, 1.0, 60.0), (1.0, 0.5, 20.0)),
                         ranker_grid=[{"num_leaves": 7, "learning_rate": 0.1, "min_data_in_leaf": 3,
                                      "n_estimators": 100}])
    return run_protocol(purchases, catalog, config=cfg, encoder=encoder)


def _value(result: dict[str, Any], system: str, subset: str, variant: str = "query",
           metric: str = "NDCG@10") -> float:
    row = next(r for r in result["rows"] if r["system"] == system and r["subset"] == subset
               and r["variant"] == variant and r["metric"] == metric)
    assert row["ci"][0] <= row["value"] <= row["ci"][1]
    return float(row["value"])


def test_protocol_reports_every_system_with_intervals(protocol: dict[str, Any]) -> None:
    systems = {r["system"] for r in protocol["rows"]}
    assert systems == set(SYSTEMS)
    assert {r["subset"] for r in protocol["rows"]} == {"all", "new to customer", "bought before"}
    assert {r["variant"] for r in protocol["rows"]} == {"query", "variant"}
    assert protocol["queries"]["test"] == 60
    # the choices were made on validation queries: one entry per grid point
    assert len(protocol["choices"]["weights"]) == 2 and len(protocol["choices"]["fusion"]) == 2
    assert {c["personal"] for c in protocol["choices"]["ranker"]} == {False, True}
    assert protocol["tests"] and all(0.0 <= t["p_value"] <= 1.0 for t in protocol["tests"])
    pairs = {(t["a"], t["b"]) for t in protocol["tests"]}
    assert ("learning-to-rank + personalisation", "learning-to-rank") in pairs  # what personalisation adds
    assert all(a != b for a, b in pairs)


def test_history_helps_on_repeat_purchases(protocol: dict[str, Any]) -> None:
    # every customer of the fixture rebuys favourites: the personalised ranker and the simple
    # re-rank must both beat the plain peer on products bought before
    peer = _value(protocol, "bm25s (peer)", "bought before")
    assert _value(protocol, "bm25s + past-purchase re-rank", "bought before") > peer
    assert _value(protocol, "learning-to-rank + personalisation", "bought before") > peer
    assert _value(protocol, "learning-to-rank + personalisation", "all") > _value(protocol, "bm25s (peer)", "all")


def test_studies_run_on_the_trained_engine(protocol: dict[str, Any], purchases: Interactions,
                                           catalog: Catalog) -> None:
    engine = protocol["engine"]
    test = protocol["test_queries"]
    log = purchase_queries(purchases, catalog, start=T0, end=T0 + 45 * DAY, n=None, rng=0).select("query", "item")
    cats = category_study(engine, log, test, rng=0)
    assert cats["test_queries"]["n"] == test.height
    assert cats["test_queries"]["top1"]["value"] >= 0.9  # the fixture's types name their category
    typos = typo_study(engine, test.head(60), method="lexical", rng=0)
    assert typos["queries_with_typo"] > 0
    clean = typos["clean"]["Recall@100"]["value"]
    fixed = typos["typo, corrected"]["Recall@100"]["value"]
    broken = typos["typo, uncorrected"]["Recall@100"]["value"]
    assert broken <= fixed <= clean + 1e-9
    assert 0.0 <= typos["word_restored"]["value"] <= 1.0
    attrs = attribute_study(engine, test, rng=0)
    assert attrs["size_read"]["value"] > 0.9 and attrs["brand_read"]["value"] > 0.9
    assert np.isfinite(typos["corrected_vs_uncorrected"]["p_value"])


def test_feature_ablation_retrains_without_each_group(protocol: dict[str, Any]) -> None:
    groups = {"own history": lambda n: n.startswith("u.item_"), "nothing real": lambda n: n == "no such feature"}
    out = feature_ablation(protocol["engine"], protocol["ablation_inputs"], protocol["test_queries"], groups=groups)
    labels = [r["without"] for r in out["rows"]]
    assert labels == ["all features", "own history"]  # a group that drops nothing is skipped
    full, reduced = out["rows"]
    assert out["queries"] == protocol["queries"]["test"]
    assert reduced["features_dropped"] == 3 and full["features_dropped"] == 0
    assert "all vs all features" in reduced and "all vs all features" not in full
    # the full model re-ranked here agrees with the protocol's personalised figure within noise
    assert abs(full["all"]["value"] - _value(protocol, "learning-to-rank + personalisation", "all")) < 0.15
