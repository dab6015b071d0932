"""write_csv writes what a formula-neutralising csv.writer row per row writes, byte for byte:
tested against that plain writer on rows of awkward values, repeated tails and many distinct
ones (issue 2).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from typing import Any

import pytest

from mailbounce import render
from mailbounce.render import Row, neutralize_formula, write_csv

AWKWARD = [
    None,
    "",
    " ",
    "a",
    "plain@example.org",
    "=1+1",
    "+33 6",
    "-3",
    "@SUM(A1)",
    "\tx",
    "\rx",
    'say "hi"',
    "a,b",
    "two\nlines",
    "cr\rhere",
    " lead",
    "trail ",
    "é@exemple.fr",
    "nbsp\xa0",
    "back\\slash",
    "'quoted'",
    0,
    1,
    -1,
    True,
    False,
    1.0,
    -0.0,
    0.0,
    ["a", 1, None],
    ("t", True),
    {"k": "v"},
    "250 2.0.0 Ok",
    "2026-11-28T10:00:00+00:00",
]


def reference(rows: Sequence[Row], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                neutralize_formula(value if type(value) is str else render._cell(value))
                for value in map(row.get, columns)
            ]
        )
    return out.getvalue()


def written(rows: Sequence[Row], columns: Sequence[str]) -> str:
    out = io.StringIO()
    write_csv(rows, columns, out)
    return out.getvalue()


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("width", [1, 2, 4])
def test_awkward_rows_are_written_as_the_plain_writer_writes_them(seed: int, width: int) -> None:
    pick = random.Random(seed)
    columns = [f"c{i}" for i in range(width)]
    # Few distinct tails: rows that repeat all but their first cell, as a send's do.
    tails = [[pick.choice(AWKWARD) for _ in range(width - 1)] for _ in range(4)]
    rows: list[dict[str, Any]] = []
    for _ in range(300):
        values = [pick.choice(AWKWARD), *pick.choice(tails)]
        row = dict(zip(columns, values, strict=True))
        if pick.random() < 0.1:
            row.pop(pick.choice(columns))  # a missing key is an empty cell
        rows.append(row)
    assert written(rows, columns) == reference(rows, columns)


def test_equal_values_of_other_types_keep_their_own_text() -> None:
    columns = ["address", "n", "m"]
    rows = [
        {"address": "a@x", "n": 1, "m": 0},
        {"address": "b@x", "n": True, "m": False},
        {"address": "c@x", "n": 1.0, "m": -0.0},
        {"address": "d@x", "n": "1", "m": "0"},
    ]
    text = written(rows, columns)
    assert text == "address,n,m\na@x,1,0\nb@x,yes,no\nc@x,1.0,'-0.0\nd@x,1,0\n"
    assert text == reference(rows, columns)


def test_rows_of_many_distinct_tails_are_written_as_the_plain_writer_writes_them() -> None:
    columns = ["address", "reply", "n"]
    count = 2055
    rows = [{"address": f"m{i}@x", "reply": f"=reply {i}", "n": i % 3} for i in range(count)]
    assert written(rows, columns) == reference(rows, columns)
    assert written(iter(rows), columns) == reference(rows, columns)


def test_a_send_outcome_row_is_written_as_before() -> None:
    columns = ["address", "state", "attempts", "replycode", "last_reply"]
    rows = [
        {
            "address": "member0@example.org",
            "state": "sent",
            "attempts": 1,
            "replycode": "250",
            "last_reply": "250 2.0.0 Ok",
        },
        {
            "address": "-x@example.org",
            "state": "failed",
            "attempts": 1,
            "replycode": "550",
            "last_reply": '550 5.1.1 <-x@example.org>: unknown, "sorry"',
        },
    ]
    assert written(rows, columns) == (
        "address,state,attempts,replycode,last_reply\n"
        "member0@example.org,sent,1,250,250 2.0.0 Ok\n"
        '\'-x@example.org,failed,1,550,"550 5.1.1 <-x@example.org>: unknown, ""sorry"""\n'
    )
