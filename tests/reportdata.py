"""Stores for the report, lists and contact tests, written through the documented schema.

Rows go in with SQL against ``m001_initial`` (plus the real ``store.contacts`` helpers for
contacts, suppressions and events), so these tests do not depend on a live send run.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailbounce.models import SuppressionCause
from mailbounce.store import Store
from mailbounce.store.contacts import record_event, suppress, upsert_contact

NOW = "2026-11-20T10:00:00+00:00"


@dataclass
class Recipient:
    address: str
    state: str = "sent"
    skip_cause: str | None = None
    reason: str | None = None
    kind: str | None = None
    party: str | None = None
    status: str | None = None
    reply: str | None = None
    bounces: list[dict[str, Any]] = field(default_factory=list)
    deferrals: list[str] = field(default_factory=list)  # reasons of send.deferred events


def add_campaign(conn: sqlite3.Connection, name: str, created_at: str = NOW) -> int:
    cursor = conn.execute(
        "INSERT INTO campaigns (name, subject, from_addr, created_at, last_run_at)"
        " VALUES (?, ?, 'asso@example.org', ?, ?)",
        (name, f"Nouvelles de {name}", created_at, created_at),
    )
    return int(cursor.lastrowid or 0)


def add_delivery(conn: sqlite3.Connection, campaign_id: int, rcpt: Recipient, at: str = NOW) -> int:
    contact_id = upsert_contact(conn, rcpt.address)
    cursor = conn.execute(
        "INSERT INTO deliveries (campaign_id, contact_id, address, state, skip_cause, reason,"
        " kind, party, status, last_reply, last_attempt_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            campaign_id,
            contact_id,
            rcpt.address,
            rcpt.state,
            rcpt.skip_cause,
            rcpt.reason,
            rcpt.kind,
            rcpt.party,
            rcpt.status,
            rcpt.reply,
            at,
            at,
        ),
    )
    delivery_id = int(cursor.lastrowid or 0)
    for reason in rcpt.deferrals:
        record_event(
            conn,
            "send.deferred",
            address=rcpt.address,
            campaign_id=campaign_id,
            delivery_id=delivery_id,
            data={"reply": "451 4.7.1 try later", "reason": reason},
        )
    for number, bounce in enumerate(rcpt.bounces):
        add_bounce(conn, campaign_id, delivery_id, rcpt.address, number, **bounce)
    return delivery_id


def add_bounce(
    conn: sqlite3.Connection,
    campaign_id: int | None,
    delivery_id: int | None,
    recipient: str,
    number: int = 0,
    *,
    reason: str,
    kind: str,
    party: str = "recipient",
    hardbounce: bool = False,
    status: str | None = None,
    diagnostic: str = "",
    date: str = NOW,
) -> None:
    conn.execute(
        "INSERT INTO bounces (source_key, source, recipient, campaign_id, delivery_id, status,"
        " reason, kind, hardbounce, party, diagnostic, date, recorded_at, detector)"
        " VALUES (?, 'test.eml', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'test')",
        (
            f"<b{number}.{recipient}.{campaign_id}>",
            recipient,
            campaign_id,
            delivery_id,
            status,
            reason,
            kind,
            int(hardbounce),
            party,
            diagnostic,
            date,
            NOW,
        ),
    )


def build_campaign(db: Path, name: str, recipients: list[Recipient], created_at: str = NOW) -> None:
    with Store(db) as store, store.transaction() as conn:
        campaign_id = add_campaign(conn, name, created_at)
        for rcpt in recipients:
            add_delivery(conn, campaign_id, rcpt, created_at)


def sample_recipients() -> list[Recipient]:
    """A small campaign with one of everything the report shows."""
    return [
        Recipient("marie@orange.fr", deferrals=["greylisted"]),
        Recipient("paul@orange.fr"),
        Recipient("luc@gmail.com"),
        Recipient(
            "inconnu@free.fr",
            state="failed",
            reason="userunknown",
            kind="permanent",
            party="recipient",
            status="5.1.1",
            reply="550 5.1.1 <inconnu@free.fr>: Recipient address rejected: User unknown",
        ),
        Recipient(
            "plein@sfr.fr",
            state="deferred",
            reason="mailboxfull",
            kind="temporary",
            party="recipient",
            status="4.2.2",
            reply="452 4.2.2 Mailbox full",
        ),
        Recipient(
            "spam@laposte.net",
            state="failed",
            reason="spamdetected",
            kind="permanent",
            party="content",
            status="5.7.1",
            reply="554 5.7.1 Message rejected as spam",
        ),
        Recipient(
            "bloque@outlook.fr",
            state="failed",
            reason="blocked",
            kind="permanent",
            party="sender",
            status="5.7.1",
            reply="550 5.7.1 Service unavailable, Client host blocked using S3150",
        ),
        Recipient(
            "later@wanadoo.fr",
            bounces=[
                {
                    "reason": "userunknown",
                    "kind": "permanent",
                    "hardbounce": True,
                    "status": "5.1.1",
                    "diagnostic": "550 5.1.1 =cmd|' /C calc'!A0 no such user",
                }
            ],
        ),
        Recipient(
            "fache@yahoo.fr",
            bounces=[{"reason": "feedback", "kind": "complaint", "party": "unknown"}],
        ),
        Recipient("vague@example.org", state="failed", reason="undefined", kind="permanent"),
        Recipient(
            "lent@sfr.fr",
            state="expired",
            reason="speeding",
            kind="temporary",
            deferrals=["speeding"],
        ),
        Recipient("peut-etre@free.fr", state="uncertain", reason="undefined"),
        Recipient("attente@gmail.com", state="pending"),
        Recipient("parti@gmail.com", state="skipped", skip_cause="unsubscribed"),
        Recipient("mort@gmail.com", state="skipped", skip_cause="invalid"),
    ]


def suppress_now(
    db: Path, address: str, cause: SuppressionCause, reason: str | None = None
) -> None:
    with Store(db) as store, store.transaction() as conn:
        suppress(conn, address, cause, reason=reason)


def events_of(db: Path, address: str) -> list[dict[str, Any]]:
    with Store(db) as store:
        rows = store.conn.execute(
            "SELECT type, data_json FROM events WHERE address = ? ORDER BY id", (address,)
        ).fetchall()
    return [{"type": row[0], **json.loads(row[1])} for row in rows]
