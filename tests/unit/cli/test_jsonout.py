"""The JSON the commands print: UTF-8 text, valid JSON even for an argument that was not UTF-8."""

from __future__ import annotations

import io
import json
import sys

import pytest

from discoverly.cli.jsonout import dumps


def test_non_ascii_is_itself_and_the_shape_is_json_dumps() -> None:
    value = {"query": "молоко", "results": [{"title": "Crème brûlée", "score": 0.5}]}
    assert dumps(value) == json.dumps(value, ensure_ascii=False)
    assert dumps(value, indent=2) == json.dumps(value, indent=2, ensure_ascii=False)
    assert json.loads(dumps(value)) == value


def test_a_lone_surrogate_stays_an_escape() -> None:
    # `discoverly search query ENGINE $'\xff milk'`: Python keeps the byte as '\udcff', which UTF-8 cannot
    # write; left raw it made the whole output fail
    text = dumps({"query": "\udcff milk"})
    assert text == '{"query": "\\udcff milk"}'
    text.encode("utf-8")
    assert json.loads(text) == {"query": "\udcff milk"}


def test_an_output_that_cannot_hold_the_text_gets_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    # PYTHONIOENCODING=ascii: `recommend --json` was a UnicodeEncodeError traceback from sys.stdout.write
    value = {"title": "Große Teekanne", "query": "молоко"}
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    assert dumps(value) == json.dumps(value)
    sys.stdout.write(dumps(value))
    assert dumps(value, encoding="utf-8") == json.dumps(value, ensure_ascii=False)  # a UTF-8 file
    assert dumps({"title": "Zoë"}, encoding="cp1252") == '{"title": "Zoë"}'  # what cp1252 holds stays itself
    assert dumps({"query": "молоко"}, encoding="cp1252") == json.dumps({"query": "молоко"})
