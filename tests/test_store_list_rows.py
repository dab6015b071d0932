"""The list import's row texts, computed by shortcuts: the same as the general code."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.store.lists import _display, _fields_json

VALUES = st.one_of(st.text(), st.none(), st.integers(), st.booleans())


@settings(max_examples=500)
@given(st.dictionaries(st.text(), st.text()))
def test_fields_json_of_text_is_json_dumps(fields: dict[str, str]) -> None:
    assert _fields_json(fields) == json.dumps(fields, ensure_ascii=False)


@settings(max_examples=300)
@given(st.dictionaries(st.one_of(st.text(), st.integers()), VALUES))
def test_fields_json_of_any_value_is_json_dumps(fields: dict[Any, Any]) -> None:
    assert _fields_json(fields) == json.dumps(fields, ensure_ascii=False)


def test_fields_json_edges() -> None:
    for fields in ({}, {"prénom": 'Zoé "Z"\n\u2028\x00'}, {"a": None}, {"a": 1.5}):
        assert _fields_json(fields) == json.dumps(fields, ensure_ascii=False)  # type: ignore[arg-type]


@dataclass
class Entry:
    first_name: str | None
    last_name: str | None
    raw_address: str
    line: int = 7


def test_display_is_the_joined_name_or_the_address_or_the_line() -> None:
    for first, last, raw in itertools.product(["", None, "Ann"], ["", None, "Lee"], ["", "a@b"]):
        entry = Entry(first, last, raw)
        name = " ".join(part for part in (first, last) if part)
        assert _display(entry) == (name or raw or "line 7")
