"""Every hand-written sample in tests/data/bounces/ against its lines in expected.jsonl.

Each developer adds ``<family>-NN.eml`` files and one expectation line per record (file,
recipient, status, replycode, reason, hardbounce, kind); a file with ``"records": 0`` must
give no record. Records of a file are compared as a sorted list, and every sample is also
checked with CRLF and CR-only line endings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from mailbounce.bounces import Verdict, analyse_message

SAMPLES = Path(__file__).resolve().parent / "data" / "bounces"
FIELDS = ("recipient", "status", "replycode", "reason", "hardbounce", "kind")


def _verdicts() -> dict[str, str]:
    """Optional ``"verdict"`` keys (not_bounce, unrecognised, bounce) per file."""
    table: dict[str, str] = {}
    for line in (SAMPLES / "expected.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and "verdict" in (row := json.loads(line)):
            table[row["file"]] = row["verdict"]
    return table


def _expectations() -> dict[str, list[dict[str, Any]]]:
    table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    path = SAMPLES / "expected.jsonl"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        assert "file" in row, f"expected.jsonl line {number} has no file"
        table[row["file"]]  # a "records": 0 line still registers the file
        if row.get("records") != 0:
            table[row["file"]].append(row)
    return table


EXPECTED = _expectations()
SAMPLE_FILES = sorted(p.name for p in SAMPLES.glob("*.eml"))


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        (str(row[f]).lower() if f == "recipient" else row[f]) if row.get(f) is not None else None
        for f in FIELDS
    )


def _records(raw: bytes) -> list[tuple[Any, ...]]:
    analysis = analyse_message(raw)
    return sorted(
        (
            _key(
                {
                    "recipient": facts.recipient,
                    "status": facts.status,
                    "replycode": facts.replycode,
                    "reason": str(cls.reason),
                    "hardbounce": cls.hardbounce,
                    "kind": str(cls.kind),
                }
            )
            for facts, cls in analysis.results
        ),
        key=repr,
    )


def test_every_sample_has_expectations() -> None:
    missing = [name for name in SAMPLE_FILES if name not in EXPECTED]
    assert missing == [], f"samples without a line in expected.jsonl: {missing}"
    orphans = [name for name in EXPECTED if not (SAMPLES / name).is_file()]
    assert orphans == [], f"expected.jsonl lines for missing files: {orphans}"


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_gives_expected_records(name: str) -> None:
    raw = (SAMPLES / name).read_bytes()
    want = sorted((_key(row) for row in EXPECTED.get(name, [])), key=repr)
    assert _records(raw) == want


@pytest.mark.parametrize(("name", "verdict"), sorted(_verdicts().items()))
def test_sample_verdict(name: str, verdict: str) -> None:
    assert analyse_message((SAMPLES / name).read_bytes()).verdict == Verdict(verdict)


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_line_endings_do_not_change_records(name: str) -> None:
    raw = (SAMPLES / name).read_bytes().replace(b"\r\n", b"\n")
    lf = _records(raw)
    assert _records(raw.replace(b"\n", b"\r\n")) == lf
    assert _records(raw.replace(b"\n", b"\r")) == lf


@pytest.mark.parametrize(
    ("name", "tokens", "original_id"),
    [
        ("rfc3464-01.eml", ("k7d2mq4xa3",), "<ag-2026-12.41@asso-exemple.org>"),
        ("rfc3464-02.eml", (), "<cotisation-2027.7@asso-exemple.org>"),
        ("rfc3464-04.eml", ("q4v7ab2k",), "<invitation-88@asso-exemple.org>"),
        ("arf-01.eml", ("w8e2n5q7",), "<lettre-2026-11.1203@asso-exemple.org>"),
        ("arf-02.eml", (), "<sortie-1212.9@asso-exemple.org>"),
        ("fallback-01.eml", ("c3f7h1j9",), "<atelier-compost.3@asso-exemple.org>"),
        ("fallback-02.eml", (), "<bourse.44@asso-exemple.org>"),
        # A forwarded report: the original is looked for inside, not the report itself.
        ("rfc3464-05.eml", (), None),
    ],
)
def test_tracking_tokens_and_original_message_id(
    name: str, tokens: tuple[str, ...], original_id: str | None
) -> None:
    analysis = analyse_message((SAMPLES / name).read_bytes())
    assert analysis.tracking_tokens == tokens
    assert analysis.original_message_id == original_id


def test_verdicts() -> None:
    read = lambda name: analyse_message((SAMPLES / name).read_bytes())  # noqa: E731
    assert read("notbounce-01.eml").verdict is Verdict.NOT_BOUNCE
    assert read("rfc3464-01.eml").verdict is Verdict.BOUNCE
    unreadable = (
        b"From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered Mail Returned to Sender\n"
        b"\nSomething went wrong but nobody says with whom.\n"
    )
    analysis = analyse_message(unreadable)
    assert analysis.verdict is Verdict.UNRECOGNISED
    assert analysis.results == ()


def test_bounce_header_fields() -> None:
    analysis = analyse_message((SAMPLES / "rfc3464-01.eml").read_bytes())
    assert analysis.message_id == "<20261117090211.4F2A81C0042@mail.asso-exemple.org>"
    assert analysis.date == "Tue, 17 Nov 2026 10:02:11 +0100 (CET)"
    facts = [f for f, _ in analysis.results]
    assert {f.reporting_mta for f in facts} == {"mail.asso-exemple.org"}
    assert {f.remote_mta for f in facts} == {"mx.example.net", "mx1.example.com"}
    assert facts[0].diagnostic.startswith("550 5.1.1 <jeanne.martin@example.net>")
