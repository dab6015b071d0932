"""The report's counters equal a from-scratch GROUP BY, over stores built by the real writers.

The counters (``campaign_counts``) and each delivery's outcome are kept by triggers
(``store/report_schema.py``). Here random histories go through the writers the product
uses (list import and send transitions, bounce recording and rejection, unsubscribe,
resubscribe, forget, crash recovery), then the counters and the rejected list are
compared with the report's rule recomputed from the raw rows, without any maintained
column.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailbounce.lists import ListReader
from mailbounce.models import (
    BounceRecord,
    Classification,
    DeliveryState,
    Kind,
    Party,
    Reason,
    SuppressionCause,
)
from mailbounce.people import forget, resubscribe, unsubscribe
from mailbounce.report import build_report
from mailbounce.store import Store, db, sending
from mailbounce.store import bounces as bounce_sql
from mailbounce.store import campaigns as campaign_rows
from mailbounce.store.lists import import_list
from mailbounce.store.migrations import MIGRATIONS, migrate, schema_version
from mailbounce.store.reports import iter_rejections

S = DeliveryState
ADDRESSES = [f"p{i}@{domain}" for i, domain in enumerate(["orange.fr", "free.fr", "x.org"] * 3)]
LATER = "2030-01-01T00:00:00+00:00"  # every deferred recipient is due again
SECRET = b"k" * 32

# What an attempt can end in: (state, reason, kind, party, via in_flight).
ATTEMPTS = [
    (S.SENT, None, None, None, True),
    (S.DEFERRED, Reason.GREYLISTED, Kind.TEMPORARY, Party.REMOTE, False),
    (S.DEFERRED, Reason.SPEEDING, Kind.TEMPORARY, Party.SENDER, True),
    (S.DEFERRED, Reason.MAILBOXFULL, Kind.TEMPORARY, Party.RECIPIENT, False),
    (S.FAILED, Reason.USERUNKNOWN, Kind.PERMANENT, Party.RECIPIENT, True),
    (S.FAILED, Reason.SPAMDETECTED, Kind.PERMANENT, Party.CONTENT, False),
    (S.EXPIRED, Reason.TOOMANYCONN, Kind.TEMPORARY, Party.SENDER, False),
    (S.UNCERTAIN, Reason.UNDEFINED, Kind.TEMPORARY, Party.UNKNOWN, True),
    (S.SKIPPED, None, None, None, False),
    (S.IN_FLIGHT, None, None, None, True),  # a run killed after DATA: recovery decides
    (S.CLAIMED, None, None, None, False),  # a run killed before DATA
]
BOUNCES = [
    (Reason.USERUNKNOWN, Kind.PERMANENT, Party.RECIPIENT),
    (Reason.MAILBOXFULL, Kind.TEMPORARY, Party.RECIPIENT),
    (Reason.FEEDBACK, Kind.COMPLAINT, Party.UNKNOWN),
    (Reason.SPAMDETECTED, Kind.PERMANENT, Party.CONTENT),
    (Reason.VACATION, Kind.AUTOREPLY, Party.UNKNOWN),
    (Reason.BLOCKED, Kind.PERMANENT, Party.SENDER),
]

# Few people, so that bounces, unsubscriptions and forgetting often meet the same one.
person = st.integers(0, 3)
operation = st.one_of(
    st.tuples(st.just("attempt"), st.lists(st.integers(0, len(ATTEMPTS) - 1), min_size=1)),
    st.tuples(
        st.just("bounce"),
        person,
        st.integers(0, len(BOUNCES) - 1),
        st.booleans(),  # correlated to the delivery
        st.booleans(),  # the bounce also rejects the delivery (parse-bounces does)
    ),
    st.tuples(st.just("unsubscribe"), person),
    st.tuples(st.just("resubscribe"), person),
    st.tuples(st.just("forget"), person),
    st.tuples(st.just("skip_suppressed")),
    st.tuples(st.just("recover")),
    st.tuples(st.just("requeue_uncertain")),
    st.tuples(st.just("second_list")),
)


def _write_list(path: Path, addresses: list[str]) -> None:
    lines = ["email,first_name", *(f"{a},P" for a in addresses), ",Sans adresse", ",Autre"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _add_list(store: Store, campaign_id: int, path: Path, addresses: list[str]) -> None:
    _write_list(path, addresses)
    imported = import_list(store, path, ListReader(path))
    campaign_rows.add_list_recipients(store, campaign_id, imported.list_id)


def _attempt(store: Store, campaign_id: int, choices: list[int]) -> None:
    claimed = sending.claim_due(store, campaign_id, worker="w", now=LATER, limit=100)
    for number, delivery in enumerate(claimed):
        state, reason, kind, party, via_flight = ATTEMPTS[choices[number % len(choices)]]
        if via_flight:
            sending.mark_in_flight(
                store, delivery.id, token=None, message_id=f"<{delivery.id}@x>", now=LATER
            )
        if state in (S.IN_FLIGHT, S.CLAIMED):
            continue
        cls = Classification(reason, kind, kind is Kind.PERMANENT, party) if reason else None
        outcome = sending.Outcome(
            state=state,
            reply=f"{reason} reply" if reason else "250 ok",
            classification=cls,
            next_attempt_at=LATER if state is S.DEFERRED else None,
            skip_cause="manual" if state is S.SKIPPED else None,
            suppress_as=SuppressionCause.INVALID if kind is Kind.PERMANENT else None,
        )
        sending.record_outcome(store, delivery, outcome, now=LATER, counted_in_flight=via_flight)


def _bounce(store: Store, campaign_id: int, op: tuple[Any, ...], number: int) -> None:
    _, who, which, correlated, rejects = op
    reason, kind, party = BOUNCES[which]
    row = store.conn.execute(
        "SELECT id, address FROM deliveries WHERE campaign_id = ? ORDER BY id LIMIT 1 OFFSET ?",
        (campaign_id, who),
    ).fetchone()
    if row is None:
        return
    record = BounceRecord(
        source="t.eml",
        message_id=None,
        recipient=row["address"],
        action="failed",
        status="5.1.1",
        replycode="550",
        reason=reason,
        kind=kind,
        hardbounce=reason is Reason.USERUNKNOWN,
        party=party,
        diagnostic=f"diagnostic {number}",
        remote_mta=None,
        reporting_mta=None,
        feedback_type=None,
        date=f"2030-02-{number % 28 + 1:02d}T00:00:00+00:00",
        original_message_id=None,
        campaign=None,
        detector="test",
    )
    delivery_id = row["id"] if correlated else None
    with store.transaction():
        bounce_sql.insert_bounce(
            store,
            record,
            source_key=f"<b{number}@mx>",
            campaign_id=campaign_id,
            delivery_id=delivery_id,
        )
        if rejects and delivery_id is not None and kind is not Kind.AUTOREPLY:
            bounce_sql.reject_delivery(store, delivery_id, record)


def _apply(store: Store, campaign_id: int, tmp: Path, ops: list[tuple[Any, ...]]) -> None:
    for number, op in enumerate(ops):
        name = op[0]
        if name == "attempt":
            _attempt(store, campaign_id, op[1])
        elif name == "bounce":
            _bounce(store, campaign_id, op, number)
        elif name == "unsubscribe":
            unsubscribe(store, [ADDRESSES[op[1]]])
        elif name == "resubscribe":
            resubscribe(store, [ADDRESSES[op[1]]], "asked again on the phone")
        elif name == "forget":
            forget(store, [ADDRESSES[op[1]]], SECRET)
        elif name == "skip_suppressed":
            campaign_rows.skip_suppressed(store, campaign_id)
        elif name == "recover":
            sending.recover_interrupted(store, campaign_id)
        elif name == "requeue_uncertain":
            sending.requeue_uncertain(store, campaign_id)
        elif name == "second_list":
            _add_list(store, campaign_id, tmp / "more.csv", ["late@free.fr", ADDRESSES[0]])


# The report's rule recomputed from the raw rows: bounce flags per delivery, the latest
# bounce of the outcome's kind, deferral reasons from the event log.
_FROM_SCRATCH = """
WITH b AS (
    SELECT delivery_id, campaign_id, MAX(kind = 'complaint') AS c, MAX(kind = 'permanent') AS p,
           MAX(kind = 'temporary') AS t,
           MAX(CASE kind WHEN 'complaint' THEN id END) AS lc,
           MAX(CASE kind WHEN 'permanent' THEN id END) AS lp,
           MAX(CASE kind WHEN 'temporary' THEN id END) AS lt
    FROM bounces WHERE delivery_id IS NOT NULL GROUP BY delivery_id, campaign_id
),
ev AS (
    SELECT delivery_id, campaign_id,
           MAX(json_extract(data_json, '$.reason') = 'greylisted') AS g,
           MAX(json_extract(data_json, '$.reason') IN ('speeding', 'toomanyconn')) AS th
    FROM events WHERE type = 'send.deferred' GROUP BY delivery_id, campaign_id
),
o AS (
    SELECT d.id, d.campaign_id, d.address, d.reason, d.kind, d.party, d.status, d.last_reply,
           COALESCE(d.last_attempt_at, d.updated_at) AS d_date, b.lc, b.lp, b.lt,
           COALESCE(ev.g, 0) AS g, COALESCE(ev.th, 0) AS th,
           CASE
               WHEN d.state = 'skipped' THEN 'skipped_' || COALESCE(d.skip_cause, 'manual')
               WHEN d.state IN ('pending', 'claimed', 'in_flight') THEN 'pending'
               WHEN d.kind = 'complaint' OR COALESCE(b.c, 0) THEN 'complaint'
               WHEN (d.state IN ('failed', 'sent') AND d.kind = 'permanent')
                   OR COALESCE(b.p, 0) THEN 'permanent'
               WHEN d.state = 'uncertain' THEN 'uncertain'
               WHEN d.state = 'deferred' THEN 'deferred'
               WHEN d.state IN ('failed', 'expired') OR COALESCE(b.t, 0) THEN 'temporary'
               ELSE 'accepted'
           END AS outcome
    FROM deliveries d
    LEFT JOIN b ON b.delivery_id = d.id AND b.campaign_id = d.campaign_id
    LEFT JOIN ev ON ev.delivery_id = d.id AND ev.campaign_id = d.campaign_id
),
r AS (
    SELECT o.*, o.outcome IN ('permanent', 'temporary', 'complaint') AS rejected,
           bb.reason AS b_reason, bb.kind AS b_kind, bb.party AS b_party,
           bb.status AS b_status, bb.diagnostic AS b_diagnostic,
           COALESCE(bb.date, bb.recorded_at) AS b_date
    FROM o LEFT JOIN bounces bb ON bb.id = CASE o.outcome
        WHEN 'complaint' THEN o.lc WHEN 'permanent' THEN o.lp ELSE o.lt END
)
"""
_COUNTS = """
SELECT campaign_id, substr(address, instr(address, '@') + 1), outcome,
       CASE WHEN rejected THEN COALESCE(b_reason, reason,
           CASE outcome WHEN 'complaint' THEN 'feedback' ELSE 'undefined' END) ELSE '' END,
       CASE WHEN rejected THEN COALESCE(b_kind, kind, outcome) ELSE '' END,
       CASE WHEN rejected THEN COALESCE(b_party, party, '') ELSE '' END,
       COALESCE(reason, '') = 'greylisted' OR g,
       COALESCE(reason, '') IN ('speeding', 'toomanyconn') OR th,
       COUNT(*)
FROM r GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""
_REJECTED = """
SELECT address, outcome,
       COALESCE(b_reason, reason, CASE outcome WHEN 'complaint' THEN 'feedback'
           ELSE 'undefined' END) AS reason,
       COALESCE(b_kind, kind, outcome) AS kind, COALESCE(b_party, party) AS party,
       COALESCE(b_status, status) AS status,
       COALESCE(b_diagnostic, last_reply, '') AS diagnostic, COALESCE(b_date, d_date) AS date
FROM r WHERE rejected AND campaign_id = ?
"""


def _check(store: Store, campaign_id: int) -> None:
    counters = Counter(
        {
            tuple(row[:-1]): row[-1]
            for row in store.conn.execute(
                "SELECT campaign_id, domain, outcome, reason, kind, party, greylisted,"
                " throttled, n FROM campaign_counts WHERE n != 0"
            )
        }
    )
    scratch = Counter(
        {tuple(row[:-1]): row[-1] for row in store.conn.execute(_FROM_SCRATCH + _COUNTS)}
    )
    assert counters == scratch
    listed = Counter(tuple(row.values()) for row in iter_rejections(store, campaign_id))
    expected = Counter(
        tuple(row) for row in store.conn.execute(_FROM_SCRATCH + _REJECTED, (campaign_id,))
    )
    assert listed == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=16))
# Histories the triggers must get right, always tried: the latest of two bounces of one kind
# describes the rejection; forgetting deletes the bounces and the deferral reasons.
@example([("attempt", [0]), ("bounce", 1, 0, True, False), ("bounce", 1, 3, True, False)])
@example([("attempt", [0]), ("bounce", 1, 2, True, False), ("forget", 1)])
@example([("attempt", [1]), ("attempt", [0]), ("forget", 0)])
@example([("attempt", [2, 0]), ("bounce", 0, 1, True, True), ("unsubscribe", 0), ("recover",)])
# A state change alone fires no counter trigger (m006): a claimed deferral, a requeued
# uncertain and a recovered in_flight each set a counted column.
@example([("attempt", [1, 2, 7, 9]), ("recover",), ("requeue_uncertain",), ("attempt", [10])])
@example([("attempt", [7]), ("requeue_uncertain",), ("attempt", [0]), ("attempt", [3])])
def test_counters_equal_a_recount_from_scratch(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with Store(tmp / "m.db") as store:
            campaign = campaign_rows.save_campaign(
                store, "random", subject="S", from_addr="a@asso.fr", settings={}
            )
            other = campaign_rows.save_campaign(
                store, "other", subject="S", from_addr="a@asso.fr", settings={}
            )
            _add_list(store, campaign.id, tmp / "members.csv", ADDRESSES)
            _add_list(store, other.id, tmp / "members.csv", ADDRESSES)
            _apply(store, campaign.id, tmp, ops)
            _check(store, campaign.id)
            report = build_report(store, "random", "en", limit=None)
            deliveries = store.conn.execute(
                "SELECT COUNT(*) FROM deliveries WHERE campaign_id = ?", (campaign.id,)
            ).fetchone()[0]
            # Each list file has two rows without an address: no delivery, still counted.
            without = 2 * (1 + any(op[0] == "second_list" for op in ops))
            assert report.totals["skipped_no_address"] == without
            assert report.recipients == deliveries + without
            assert len(list(report.rejected())) == report.rejected_total


def test_a_deleted_campaign_takes_its_counters_along(tmp_path: Path) -> None:
    with Store(tmp_path / "m.db") as store:
        campaign = campaign_rows.save_campaign(
            store, "gone", subject="S", from_addr="a@asso.fr", settings={}
        )
        _add_list(store, campaign.id, tmp_path / "members.csv", ADDRESSES)
        with store.transaction() as conn:
            conn.execute("DELETE FROM deliveries WHERE address = ?", (ADDRESSES[0],))
        _check(store, campaign.id)
        with store.transaction() as conn:
            conn.execute("DELETE FROM campaigns WHERE id = ?", (campaign.id,))
        assert store.conn.execute("SELECT COUNT(*) FROM campaign_counts").fetchone()[0] == 0


# The first migration whose counter trigger a change of ``state`` alone does not fire.
WITHOUT_STATE = next(
    number
    for number, step in enumerate(MIGRATIONS, start=1)
    if step.__name__ == "m006_count_trigger_not_fired_by_state_alone"
)


@pytest.mark.parametrize("version", range(1, WITHOUT_STATE))
def test_counters_stay_exact_across_the_trigger_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    """A store written by a build with an earlier schema (m001's counter trigger, m002's...),
    upgraded, then sent on again."""
    first = [("attempt", list(range(len(ATTEMPTS))))]
    first += [("bounce", 1, 0, True, True), ("bounce", 2, 1, True, False)]
    with monkeypatch.context() as patch:
        patch.setattr(db, "migrate", lambda conn: migrate(conn, MIGRATIONS[:version]))
        with Store(tmp_path / "m.db") as store:
            assert schema_version(store.conn) == version
            campaign = campaign_rows.save_campaign(
                store, "old", subject="S", from_addr="a@asso.fr", settings={}
            )
            _add_list(store, campaign.id, tmp_path / "members.csv", ADDRESSES)
            _apply(store, campaign.id, tmp_path, first)
            _check(store, campaign.id)
    with Store(tmp_path / "m.db") as store:
        assert schema_version(store.conn) == len(MIGRATIONS)
        _apply(store, campaign.id, tmp_path, [("recover",), ("attempt", [0, 1, 4, 2])])
        _apply(store, campaign.id, tmp_path, [("attempt", [7, 0]), ("bounce", 0, 2, True, True)])
        _check(store, campaign.id)
