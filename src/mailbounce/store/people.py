"""The SQL of the people views and actions: a list's four parts, a contact's history, the
latest rejection of an address, and erasing a person (``forget``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from mailbounce.store.contacts import record_event
from mailbounce.store.db import Store, utcnow

# Bounce kinds that are not rejections: they never appear as a person's latest rejection.
_NOT_REJECTIONS = "('delivered', 'autoreply')"


def find_lists(store: Store, name: str | None) -> list[dict[str, Any]]:
    """The list called ``name``, or every list (by name) when None."""
    sql = "SELECT id, name, source_path, imported_at FROM lists"
    if name is None:
        rows = store.conn.execute(f"{sql} ORDER BY name")
    else:
        rows = store.conn.execute(f"{sql} WHERE name = ?", (name,))
    return [dict(row) for row in rows]


def list_names(store: Store) -> list[str]:
    return [row[0] for row in store.conn.execute("SELECT name FROM lists ORDER BY name")]


def iter_members(store: Store, list_id: int) -> Iterator[dict[str, Any]]:
    """Every member row of a list with its address (None: without one) and suppression."""
    cursor = store.conn.execute(
        "SELECT m.line, m.display, c.address, s.cause, s.reason, s.detail, s.since"
        " FROM list_members m LEFT JOIN contacts c ON c.id = m.contact_id"
        " LEFT JOIN suppressions s ON s.address = c.address"
        " WHERE m.list_id = ? ORDER BY m.line, m.id",
        (list_id,),
    )
    for row in cursor:
        yield dict(row)


def contact(store: Store, address: str) -> dict[str, Any] | None:
    row = store.conn.execute(
        "SELECT id, address, first_name, last_name, created_at, updated_at FROM contacts"
        " WHERE address = ?",
        (address,),
    ).fetchone()
    return dict(row) if row is not None else None


def suppression(store: Store, key: str) -> dict[str, Any] | None:
    row = store.conn.execute(
        "SELECT address, cause, since, reason, detail FROM suppressions WHERE address = ?", (key,)
    ).fetchone()
    return dict(row) if row is not None else None


def contact_lists(store: Store, address: str) -> list[str]:
    rows = store.conn.execute(
        "SELECT l.name FROM lists l JOIN list_members m ON m.list_id = l.id"
        " JOIN contacts c ON c.id = m.contact_id WHERE c.address = ? ORDER BY l.name",
        (address,),
    )
    return [row[0] for row in rows]


def contact_deliveries(store: Store, address: str) -> list[dict[str, Any]]:
    """Each campaign's delivery to ``address`` with its latest bounce kind, oldest first."""
    rows = store.conn.execute(
        "SELECT c.name AS campaign, d.state, d.skip_cause, d.reason, d.kind, d.status,"
        " d.last_reply, COALESCE(d.last_attempt_at, d.updated_at) AS date,"
        " (SELECT b.kind FROM bounces b WHERE b.delivery_id = d.id"
        f"   AND b.kind NOT IN {_NOT_REJECTIONS} ORDER BY b.id DESC LIMIT 1) AS bounce_kind,"
        " (SELECT b.reason FROM bounces b WHERE b.delivery_id = d.id"
        f"   AND b.kind NOT IN {_NOT_REJECTIONS} ORDER BY b.id DESC LIMIT 1) AS bounce_reason"
        " FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
        " WHERE d.address = ? ORDER BY c.created_at, c.id",
        (address,),
    )
    return [dict(row) for row in rows]


def rejections_of(store: Store, address: str) -> list[dict[str, Any]]:
    """Every rejection of ``address``: bounces and refusals met while sending, oldest first."""
    rows = store.conn.execute(
        "SELECT * FROM ("
        " SELECT COALESCE(b.date, b.recorded_at) AS date, c.name AS campaign, b.reason,"
        "  b.kind, b.status, b.replycode, COALESCE(b.diagnostic, '') AS diagnostic,"
        "  b.remote_mta, 'bounce' AS source"
        " FROM bounces b LEFT JOIN campaigns c ON c.id = b.campaign_id"
        f" WHERE b.recipient = ? AND b.kind NOT IN {_NOT_REJECTIONS}"
        " UNION ALL"
        " SELECT COALESCE(d.last_attempt_at, d.updated_at), c.name, d.reason, d.kind, d.status,"
        "  d.replycode, COALESCE(d.last_reply, ''), NULL, 'send'"
        " FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
        " WHERE d.address = ? AND d.reason IS NOT NULL"
        "  AND d.state IN ('failed', 'deferred', 'expired', 'uncertain')"
        "  AND NOT EXISTS (SELECT 1 FROM bounces b2 WHERE b2.delivery_id = d.id"
        f"   AND b2.kind NOT IN {_NOT_REJECTIONS})"
        ") ORDER BY date, campaign",
        (address, address),
    )
    return [dict(row) for row in rows]


def erase_person(conn: sqlite3.Connection, address: str, key: str, data: dict[str, Any]) -> int:
    """Erase every trace of ``address`` (inside the caller's transaction), keeping ``key``.

    Contacts and list memberships go; deliveries keep their counts with the address replaced
    by the key; bounces go; the append-only event log keeps its rows but loses the address
    (a ``forget`` is the one sanctioned rewrite: the trigger is lifted and restored here).
    Returns how many rows were touched.
    """
    touched = 0
    contact_ids = [
        row[0] for row in conn.execute("SELECT id FROM contacts WHERE address = ?", (address,))
    ]
    for contact_id in contact_ids:
        touched += conn.execute(
            "DELETE FROM list_members WHERE contact_id = ?", (contact_id,)
        ).rowcount
    # Forgotten before, then re-added to the same campaign: the keyed row already stands for
    # this person there (one delivery per campaign and address), so the new row goes.
    touched += conn.execute(
        "DELETE FROM deliveries WHERE address = ? AND campaign_id IN"
        " (SELECT campaign_id FROM deliveries WHERE address = ?)",
        (address, key),
    ).rowcount
    touched += conn.execute(
        "UPDATE deliveries SET address = ?, contact_id = NULL, fields_json = '{}',"
        " last_reply = NULL, updated_at = ? WHERE address = ?",
        (key, utcnow(), address),
    ).rowcount
    touched += conn.execute("DELETE FROM contacts WHERE address = ?", (address,)).rowcount
    touched += conn.execute("DELETE FROM bounces WHERE recipient = ?", (address,)).rowcount
    touched += _erase_from_events(conn, address, key)
    conn.execute("DELETE FROM suppressions WHERE address = ?", (address,))
    event_id = record_event(conn, "forget", address=key, data=data)
    conn.execute(
        "INSERT INTO suppressions (address, cause, since, reason, detail, event_id)"
        " VALUES (?, 'forgotten', ?, NULL, NULL, ?) ON CONFLICT(address) DO UPDATE SET"
        " cause = 'forgotten', since = excluded.since, event_id = excluded.event_id",
        (key, utcnow(), event_id),
    )
    return touched


def _erase_from_events(conn: sqlite3.Connection, address: str, key: str) -> int:
    conn.execute("DROP TRIGGER IF EXISTS events_append_only_update")
    changed = conn.execute(
        "UPDATE events SET address = ?, data_json = '{}' WHERE address = ?", (key, address)
    ).rowcount
    conn.execute(
        "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
        " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
    )
    return changed


def is_suppressed_key(store: Store, key: str) -> bool:
    row = store.conn.execute("SELECT 1 FROM suppressions WHERE address = ?", (key,)).fetchone()
    return row is not None


def forgotten_keys(store: Store) -> set[str]:
    """The keyed hashes of every forgotten person."""
    rows = store.conn.execute("SELECT address FROM suppressions WHERE cause = 'forgotten'")
    return {row[0] for row in rows}
