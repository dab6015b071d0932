"""Property: over random stores, the totals add up to the recipients and match the list."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportdata import Recipient, build_campaign

from mailbounce.models import Kind, Reason, SkipCause
from mailbounce.report import build_report
from mailbounce.store import Store

STATES = [
    "pending",
    "claimed",
    "in_flight",
    "sent",
    "deferred",
    "failed",
    "uncertain",
    "skipped",
    "expired",
]
KINDS = [None, *(str(k) for k in Kind)]
REASONS = [None, *(str(r) for r in Reason), "not-a-reason"]

bounce = st.fixed_dictionaries(
    {
        "reason": st.sampled_from([str(r) for r in Reason]),
        "kind": st.sampled_from([str(k) for k in Kind]),
        "diagnostic": st.text(max_size=20),
    }
)
recipient = st.builds(
    Recipient,
    address=st.from_regex(r"[a-c]{1,3}@(orange\.fr|free\.fr|x\.org)", fullmatch=True),
    state=st.sampled_from(STATES),
    skip_cause=st.sampled_from([None, *(str(c) for c in SkipCause)]),
    reason=st.sampled_from(REASONS),
    kind=st.sampled_from(KINDS),
    bounces=st.lists(bounce, max_size=3),
    deferrals=st.lists(st.sampled_from(["greylisted", "speeding", "mailboxfull"]), max_size=2),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(recipient, max_size=25, unique_by=lambda r: r.address))
def test_totals_always_add_up(recipients: list[Recipient]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "m.db"
        build_campaign(db, "random", recipients)
        with Store(db) as store:
            report = build_report(store, "random", "en")
            rejected = list(report.rejected())
    totals = report.totals
    assert report.recipients == len(recipients)
    assert all(count >= 0 for count in totals.values())
    assert len(rejected) == totals["permanent"] + totals["temporary"] + totals["complaint"]
    assert sum(row["count"] for row in report.reasons) == len(rejected)
    assert sum(row["rejected"] for row in report.domains) == len(rejected)
    assert sum(row["recipients"] for row in report.domains) == len(recipients) - sum(
        count for name, count in totals.items() if name.startswith("skipped_")
    )
    assert {row["address"] for row in rejected} <= {r.address for r in recipients}
