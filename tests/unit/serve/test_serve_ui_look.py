"""What the web UI looks like: charts with honest axes and readable labels, pages that fit a phone,
and catalogue titles shown as text, never as markup."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl

from discoverly.serve.ui.svg import interval_chart


def _axis_ends(svg: str) -> list[str]:
    return re.findall(r'font-size="11" fill="#555"[^>]*>([^<]*)</text>', svg)


def test_a_chart_of_rates_has_no_negative_axis() -> None:
    """Conversion rates were drawn on an axis from -0.0184: padding pushed the axis below zero."""
    svg = interval_chart(["control", "treatment"], [0.26, 0.24], [0.18, 0.16], [0.37, 0.36], title="Conversion")
    assert _axis_ends(svg)[0] == "0.0000"
    diff = interval_chart(["B − A"], [-0.02], [-0.16], [0.12], title="Difference", zero_line=True)
    low, high = (float(v) for v in _axis_ends(diff))
    assert low < -0.16 and high > 0.12 and "stroke-dasharray" in diff  # a difference still gets room and zero


def test_a_chart_scales_to_the_screen_and_names_its_axis() -> None:
    svg = interval_chart(["a", "b"], [1.0, 2.0], [0.5, 1.5], [1.5, 2.5], title="Revenue", axis="revenue per customer")
    assert re.search(r'viewBox="0 0 \d+ \d+"', svg) and "max-width:100%" in svg
    assert ">revenue per customer</text>" in svg


def test_long_labels_are_cut_not_clipped_and_escaped() -> None:
    """A long arm name ran off the left edge of the chart (the label column is 220 px)."""
    long = "a-very-long-arm-name-for-the-new-ranking-model-v2 − control <&>"
    svg = interval_chart([long], [0.1], [0.0], [0.2], title="<b>t</b>")
    shown = re.search(r"</title>([^<]*)</text>", svg)
    assert shown is not None and len(shown.group(1)) <= 28 and shown.group(1).endswith("…")
    assert "<title>a-very-long-arm-name-for-the-new-ranking-model-v2 − control &lt;&amp;&gt;</title>" in svg
    assert "<b>" not in svg


def test_pages_fit_a_phone_and_need_nothing_from_the_network(make_client: Any) -> None:
    exp = {"name": "e1", "arms": [{"name": "A", "version": "v0001", "share": 0.5},
                                  {"name": "B", "version": "v0003", "share": 0.5}]}
    c = make_client(experiments=[exp])
    for n in range(40):
        c.get(f"/users/p{n}/recommendations")
    for path in ("/ui", "/ui/items/i4", "/ui/users/u1", "/ui/experiments/e1"):
        text = c.get(path).text
        assert "flex-wrap:wrap" in text  # the header's links wrap instead of widening the page
        assert "overflow-wrap:break-word" in text  # so does a long id (a hashed e-mail) in the heading
        assert "<link rel='icon' href='data:,'>" in text  # no /favicon.ico request (a 404 on every page)
        assert not re.search(r"(src|href)=['\"]?(https?:)?//", text), path
        assert text.count("<table") == text.count("<div class='scroll'><table"), path  # wide tables scroll
    page = c.get("/ui/experiments/e1").text
    assert page.count("max-width:100%") == 3 and "customers who converted (0 to 1)" in page


def test_titles_with_markup_are_shown_as_text(make_client: Any, artifacts: Path) -> None:
    evil = "<script>alert(1)</script> Tom & Jerry \"mug\" 'x'"
    pl.DataFrame({"item": [f"i{i}" for i in range(30)], "title": [evil] * 30}).write_parquet(
        artifacts / "catalog.parquet")
    c = make_client()
    for path in ("/ui", "/ui/items/i4", "/ui/users/u1", "/ui/users/stranger"):
        text = c.get(path).text
        assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; Tom &amp; Jerry" in text, path


def test_an_empty_lookup_says_so(make_client: Any) -> None:
    """A form sent with only spaces showed 'Customer ' with the bestsellers, as if '' were a customer."""
    c = make_client()
    for params in ({"user": "  "}, {"item": " "}):
        page = c.get("/ui", params=params, follow_redirects=False)
        assert page.status_code == 200 and "the form was sent empty" in page.text
    assert "the form was sent empty" not in c.get("/ui").text
    page = c.get("/ui/users/")
    assert page.status_code == 404 and "names no customer" in page.text
    assert c.get("/ui", params={"user": " u1 "}, follow_redirects=False).headers["location"] == "/ui/users/u1"


def test_the_lookup_fields_have_labels(make_client: Any) -> None:
    """The inputs had only a placeholder (gone once you type) and an aria-label: no visible label."""
    home = make_client().get("/ui").text
    for field, name in (("item-id", "item"), ("user-id", "user")):
        assert f"<label for='{field}'>" in home and f"id='{field}' name='{name}'" in home


def test_history_times_name_their_time_zone(make_client: Any) -> None:
    page = make_client().get("/ui/users/u1").text
    assert "<th>last time (UTC)</th>" in page


def test_an_all_fallback_list_has_no_empty_score_column(make_client: Any) -> None:
    """A stranger's list showed an empty 'score' column and 'bestseller fallback' on every row, under
    a note that already said so."""
    c = make_client()
    page = c.get("/ui/users/stranger").text
    assert "No usable history" in page and "<th class='num'>score</th>" not in page
    assert "bestseller fallback" not in page and page.count("<tr>") == 11  # header + 10 items
    c.post("/admin/reload", json={"version": "v0003"}, headers={"Authorization": "Bearer s3cret"})
    page = c.get("/ui/items/i4").text
    assert "<th class='num'>score</th>" in page and "also bought" in page
