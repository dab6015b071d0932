"""jsonl rows are written by one encoder for the stream: the text is the one
``json.dumps(row, ensure_ascii=False, default=str)`` gives, whatever the values."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.render import OutputFormat, render_rows, write_jsonl


class _Kind(StrEnum):
    PERMANENT = "permanent"


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from([_Kind.PERMANENT, Path("/tmp/a b.mbox"), datetime(2026, 11, 20, tzinfo=UTC)]),
)
_rows = st.lists(
    st.dictionaries(st.text(), st.one_of(_values, st.lists(_values, max_size=3)), max_size=6),
    max_size=5,
)


def _expected(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)


@settings(deadline=None)
@given(_rows)
def test_jsonl_is_what_json_dumps_writes(rows: list[dict[str, Any]]) -> None:
    out = io.StringIO()
    write_jsonl(rows, out)
    assert out.getvalue() == _expected(rows)


def test_render_rows_jsonl_keeps_non_ascii_and_control_characters() -> None:
    rows = [{"source": "b.mbox#1", "diagnostic": 'boîte pleine\t"€" \x01\u2028', "n": 1.5}]
    out = io.StringIO()
    render_rows(rows, ["source"], OutputFormat.JSONL, out)
    assert out.getvalue() == _expected(rows)
    assert "boîte" in out.getvalue()
