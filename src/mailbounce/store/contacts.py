"""Contacts, suppressions and the append-only event log."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, NamedTuple

from mailbounce.addresses import normalize_address
from mailbounce.models import SuppressionCause
from mailbounce.store.db import Store, utcnow


class Suppression(NamedTuple):
    """An address's suppression (a named tuple: cheaper to define at start-up than a frozen
    slots dataclass)."""

    address: str
    cause: SuppressionCause
    since: str
    reason: str | None
    detail: str | None


def record_event(
    conn: sqlite3.Connection,
    type_: str,
    *,
    address: str | None = None,
    campaign_id: int | None = None,
    delivery_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append one event inside the caller's transaction; return its id."""
    cursor = conn.execute(
        "INSERT INTO events (at, type, address, campaign_id, delivery_id, data_json)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (utcnow(), type_, address, campaign_id, delivery_id, json.dumps(data or {})),
    )
    return int(cursor.lastrowid or 0)


def upsert_contact(
    conn: sqlite3.Connection,
    address: str,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    fields: dict[str, str] | None = None,
) -> int:
    """Create or update the contact for ``address`` inside the caller's transaction."""
    now = utcnow()
    row = conn.execute(
        "INSERT INTO contacts (address, first_name, last_name, fields_json, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(address) DO UPDATE SET"
        "  first_name = COALESCE(excluded.first_name, first_name),"
        "  last_name = COALESCE(excluded.last_name, last_name),"
        "  fields_json = excluded.fields_json, updated_at = excluded.updated_at"
        " RETURNING id",
        (
            normalize_address(address),
            first_name,
            last_name,
            json.dumps(fields or {}, ensure_ascii=False),
            now,
            now,
        ),
    ).fetchone()
    return int(row[0])


def suppression_of(store: Store, address: str) -> Suppression | None:
    """The suppression of ``address``, or None when it may be mailed."""
    row = store.conn.execute(
        "SELECT address, cause, since, reason, detail FROM suppressions WHERE address = ?",
        (normalize_address(address),),
    ).fetchone()
    if row is None:
        return None
    return Suppression(
        row["address"], SuppressionCause(row["cause"]), row["since"], row["reason"], row["detail"]
    )


def suppressed_causes(store: Store) -> dict[str, SuppressionCause]:
    """Every suppressed address (or keyed hash) with its cause, for skipping while sending."""
    return {
        row[0]: SuppressionCause(row[1])
        for row in store.conn.execute("SELECT address, cause FROM suppressions")
    }


def suppress(
    conn: sqlite3.Connection,
    address: str,
    cause: SuppressionCause,
    *,
    reason: str | None = None,
    detail: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Stop mailing ``address`` (inside the caller's transaction), logging why.

    An existing suppression keeps its original cause and date: an unsubscription is never
    downgraded to "invalid" by a later bounce, which would let a resubscribe skip consent.
    """
    key = normalize_address(address)
    event_id = record_event(
        conn,
        "suppress",
        address=key,
        data={"cause": str(cause), "reason": reason, "detail": detail, **(data or {})},
    )
    conn.execute(
        "INSERT INTO suppressions (address, cause, since, reason, detail, event_id)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(address) DO NOTHING",
        (key, str(cause), utcnow(), reason, detail, event_id),
    )


def unsuppress(conn: sqlite3.Connection, address: str, *, data: dict[str, Any]) -> bool:
    """Lift the suppression of ``address``, logging ``data`` (e.g. the consent); True if any."""
    key = normalize_address(address)
    deleted = conn.execute("DELETE FROM suppressions WHERE address = ?", (key,)).rowcount
    if deleted:
        record_event(conn, "unsuppress", address=key, data=data)
    return bool(deleted)
