"""Which model answers and how a list is filled (docs/serve.md): model items first, then the recent
bestsellers (``source: bestsellers``, no score) until the list has ``k`` items, never a seen item nor
the item asked about; ``k`` up to ``max_k`` (default ``default_k``); an experiment's arm is answered by
the arm's version. Expected lists are built here by the page's recipe from the model's own ranking
and its bestseller order (mutation testing: a changed comparison in the fill or the k limit survived)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from serve_helpers import ADMIN

TOO_MANY = "k=6 is larger than the limit of 5; ask for at most k=5 (the service's max_k setting)"

Client = Callable[..., Any]


def fill(model_items: list[str], bestsellers: list[str], k: int, exclude: set[str]) -> list[tuple[str, str]]:
    """The page's recipe: the model's items, then bestsellers not yet listed nor excluded, up to k."""
    out = [(i, "model") for i in model_items][:k]
    taken = exclude | set(model_items)
    out += [(i, "bestsellers") for i in bestsellers if i not in taken][:k - len(out)]
    return out


def bestseller_order(c: Any) -> list[str]:
    model = c.app.state.service.snapshot.current.model
    return [str(i) for i in model.items.ids_of(model._fallback).tolist()]


@pytest.mark.parametrize("k", [1, 24, 25, 26, 29, 30])
def test_related_lists_are_the_model_items_then_the_bestsellers_not_listed(make_client: Client, k: int) -> None:
    c = make_client()
    assert c.post("/admin/reload", json={"version": "v0003"}, headers=ADMIN).status_code == 200
    full = c.get("/items/i4/related", params={"k": 30}).json()["items"]
    model_items = [i["item"] for i in full if i["source"] == "model"]
    assert len(model_items) == 24  # the item-to-item model relates i4 to 24 of the 29 other items
    scores = [i["score"] for i in full if i["source"] == "model"]
    assert all(s is not None for s in scores) and scores == sorted(scores, reverse=True)
    body = c.get("/items/i4/related", params={"k": k}).json()
    expected = fill(model_items, bestseller_order(c), k, {"i4"})
    assert [(i["item"], i["source"]) for i in body["items"]] == expected
    assert len(expected) == min(k, 29)  # every other item at most once, never i4 itself
    assert [i["rank"] for i in body["items"]] == list(range(1, len(expected) + 1))
    assert all((i["score"] is None) == (i["source"] == "bestsellers") for i in body["items"])
    assert body["fallback"] is False  # some items are the model's


def test_recommendations_fill_without_the_seen_items(make_client: Client, log: Any) -> None:
    c = make_client()
    assert c.post("/admin/reload", json={"version": "v0003"}, headers=ADMIN).status_code == 200
    seen = set(log.items.ids_of(log.item_index[log.user_index == log.users.index("u1")]).tolist())
    assert len(seen) == 6
    full = c.get("/users/u1/recommendations", params={"k": 30}).json()["items"]
    model_items = [i["item"] for i in full if i["source"] == "model"]
    for k in (len(model_items), len(model_items) + 1, 30):
        body = c.get("/users/u1/recommendations", params={"k": k}).json()
        expected = fill(model_items, bestseller_order(c), k, seen)
        assert [(i["item"], i["source"]) for i in body["items"]] == expected, k
        assert len(expected) == min(k, 30 - len(seen))
        assert body["fallback"] is False


def test_k_may_be_max_k_and_defaults_to_default_k(make_client: Client) -> None:
    c = make_client(max_k=5, default_k=3)
    for path in ("/users/u1/recommendations", "/items/i1/related", "/users/nobody/recommendations"):
        assert len(c.get(path).json()["items"]) == 3, path
        assert len(c.get(path, params={"k": 5}).json()["items"]) == 5, path
        r = c.get(path, params={"k": 6})
        assert r.status_code == 422 and r.json()["detail"] == TOO_MANY, path


def test_an_arm_is_answered_by_its_own_version(make_client: Client) -> None:
    from discoverly.serve.config import ExperimentConfig

    exp = ExperimentConfig(name="e1", arms=[{"name": "A", "version": "v0001", "share": 0.5},
                                            {"name": "B", "version": "v0003", "share": 0.5}])
    c = make_client(experiments=[exp])
    plain = make_client()  # the same artifacts without the experiment: what each version answers
    users = [f"u{i}" for i in range(12)]
    answers = {u: c.get(f"/users/{u}/recommendations", params={"k": 4}).json() for u in users}
    by_version: dict[str, dict[str, list[str]]] = {}
    for version in ("v0001", "v0003"):
        assert plain.post("/admin/reload", json={"version": version}, headers=ADMIN).status_code == 200
        by_version[version] = {u: [i["item"] for i in plain.get(f"/users/{u}/recommendations",
                                                                  params={"k": 4}).json()["items"]] for u in users}
    arms = {u: a["experiment"]["arm"] for u, a in answers.items()}
    assert set(arms.values()) == {"A", "B"}, arms  # both arms answer some of these customers
    for u, a in answers.items():
        version = {"A": "v0001", "B": "v0003"}[arms[u]]
        assert a["version"] == version and a["experiment"]["name"] == "e1"
        assert [i["item"] for i in a["items"]] == by_version[version][u], u
    x = c.app.state.service.store.exposures("e1")
    assert dict(zip(x["user"].to_list(), x["arm"].to_list(), strict=True)) == arms
    assert dict(zip(x["user"].to_list(), x["version"].to_list(), strict=True)) == {
        u: {"A": "v0001", "B": "v0003"}[a] for u, a in arms.items()}
    # the experiment splits the recommendations endpoint only: related lists, even with ?user=, are outside it
    assert c.get("/items/i1/related", params={"user": "u1"}).json()["experiment"] is None


def test_only_history_types_since_the_training_data_change_a_list(make_client: Client, clock: Any) -> None:
    from serve_helpers import event

    c = make_client()
    end = c.app.state.service.snapshot.current.model.trained_until
    top = c.get("/users/n1/recommendations", params={"k": 3}).json()["items"][0]["item"]

    def answer(user: str, client: Any = c) -> dict[str, Any]:
        body: dict[str, Any] = client.get(f"/users/{user}/recommendations", params={"k": 3}).json()
        return body

    # a view is stored but is no history (history_types is ["purchase"])
    assert c.post("/events", json=event("n1", top, t=int(clock.now) - 10, type="view")).status_code == 200
    # a purchase from before the model's training data ended is in the model already (or was left out of it)
    assert c.post("/events", json=event("n2", top, t=int(end) - 3600)).status_code == 200
    for user in ("n1", "n2"):
        body = answer(user)
        assert body["fresh_events"] == 0 and body["fallback"] is True and body["items"][0]["item"] == top, user
    assert c.post("/events", json=event("n3", top, t=int(end) + 3600)).status_code == 200
    body = answer("n3")
    assert body["fresh_events"] == 1 and top not in [i["item"] for i in body["items"]]
    # with views as history, n1's view counts
    body = answer("n1", make_client(history_types=["purchase", "view"]))
    assert body["fresh_events"] == 1 and top not in [i["item"] for i in body["items"]]


def test_an_inactive_experiment_splits_no_one(make_client: Client) -> None:
    from discoverly.serve.config import ExperimentConfig

    exp = ExperimentConfig(name="old", endpoint="related", active=False,
                           arms=[{"name": "A", "version": "v0001", "share": 0.5},
                                 {"name": "B", "version": "v0002", "share": 0.5}])
    c = make_client(experiments=[exp])
    for n in range(6):
        assert c.get("/items/i1/related", params={"user": f"u{n}"}).json()["experiment"] is None
    assert c.app.state.service.store.exposures("old").height == 0


def test_titles_come_from_the_configured_catalogue_and_a_missing_title_is_none(make_client: Client,
                                                                              artifacts: Any) -> None:
    import polars as pl

    pl.DataFrame({"item": ["i1", "i2"], "title": ["Mug", None]}).write_parquet(artifacts / "catalog.parquet")
    c = make_client()
    titles = {i["item"]: i["title"] for i in c.get("/items/i3/related", params={"k": 30}).json()["items"]}
    assert titles["i1"] == "Mug" and titles["i2"] is None and titles["i4"] is None  # not the text "None"
    # --catalog is used instead of catalog.parquet
    (artifacts / "other.csv").write_text("sku,name\ni1,Teapot\n")
    c = make_client(catalog=artifacts / "other.csv", catalog_item="sku", catalog_title="name")
    titles = {i["item"]: i["title"] for i in c.get("/items/i3/related", params={"k": 30}).json()["items"]}
    assert titles["i1"] == "Teapot" and titles["i2"] is None


def test_metrics_name_the_version_served_after_a_reload(make_client: Client) -> None:
    c = make_client()
    assert 'version="v0001"} 1' in c.get("/metrics").text
    assert c.post("/admin/reload", json={"version": "v0002"}, headers=ADMIN).status_code == 200
    text = c.get("/metrics").text
    assert 'version="v0002"} 1' in text and 'version="v0001"' not in text
    assert "discoverly_model_reloads_total{" in text and text.split("discoverly_model_reloads_total{")[1].split(
        "\n")[0].endswith("} 1")
