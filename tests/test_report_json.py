"""The report's JSON shape: the README's contract, pinned key by key."""

from __future__ import annotations

import io
import json
from pathlib import Path

from reportdata import Recipient, build_campaign, sample_recipients

from mailbounce.report import OUTCOMES, build_report
from mailbounce.report_text import ReportFormat, write_report
from mailbounce.store import Store

TOP = [
    "campaign",
    "lang",
    "generated_at",
    "recipients",
    "totals",
    "reasons",
    "domains",
    "sender_problems",
    "rejected_total",
    "rejected",
]
CAMPAIGN = ["name", "subject", "title", "from", "created_at", "last_run_at"]
REASON = [
    "reason",
    "label",
    "kind",
    "kind_label",
    "party",
    "marked_invalid",
    "invalidation",
    "count",
    "advice",
]
DOMAIN = ["domain", "recipients", "rejected", "rate", "greylisted", "throttled"]
PROBLEM = ["reason", "label", "party", "count", "fix"]
REJECTED = [
    "address",
    "outcome",
    "reason",
    "label",
    "kind",
    "kind_label",
    "status",
    "date",
    "diagnostic",
    "see_why",
]


def _json(db: Path) -> dict[str, object]:
    out = io.StringIO()
    with Store(db) as store:
        write_report(build_report(store, None, "en"), ReportFormat.JSON, out)
    data = json.loads(out.getvalue())
    assert isinstance(data, dict)
    return data


def test_json_shape_is_the_documented_one(db_path: Path) -> None:
    build_campaign(db_path, "nov-2026", sample_recipients())
    data = _json(db_path)
    assert list(data) == TOP
    assert list(data["campaign"]) == CAMPAIGN  # type: ignore[call-overload]
    totals = data["totals"]
    assert isinstance(totals, dict) and list(totals) == list(OUTCOMES)
    assert all(isinstance(v, int) for v in totals.values())
    assert sum(totals.values()) == data["recipients"] == 15
    for key, columns in (
        ("reasons", REASON),
        ("domains", DOMAIN),
        ("sender_problems", PROBLEM),
        ("rejected", REJECTED),
    ):
        items = data[key]
        assert isinstance(items, list) and items, key
        for item in items:
            assert list(item) == columns, key
    reasons = {item["reason"]: item for item in data["reasons"]}  # type: ignore[attr-defined]
    assert reasons["userunknown"]["invalidation"] == "now"
    assert reasons["spamdetected"]["invalidation"] == "never"
    rejected = data["rejected"]
    assert isinstance(rejected, list)
    total = totals["permanent"] + totals["temporary"] + totals["complaint"]
    assert len(rejected) == data["rejected_total"] == total
    assert data["campaign"]["title"] == "Nouvelles de nov-2026"  # type: ignore[index]


def test_json_rejected_is_the_most_recent_limited_list_with_the_total(db_path: Path) -> None:
    rows = [
        Recipient(f"r{i:03d}@free.fr", state="failed", reason="userunknown", kind="permanent")
        for i in range(130)
    ]
    build_campaign(db_path, "big", rows)
    data = _json(db_path)
    assert data["rejected_total"] == 130
    rejected = data["rejected"]
    assert isinstance(rejected, list) and len(rejected) == 100
    assert [row["address"] for row in rejected[:2]] == ["r129@free.fr", "r128@free.fr"]


def test_empty_rejected_list_is_valid_json(db_path: Path) -> None:
    build_campaign(db_path, "calm", [Recipient("a@b.fr")])
    data = _json(db_path)
    assert data["rejected"] == [] and data["reasons"] == [] and data["sender_problems"] == []
    assert data["rejected_total"] == 0
