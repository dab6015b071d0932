"""Campaign rows and their recipients: the deliveries a campaign starts with (DESIGN §6).

A campaign is stored once per name; each addressed list member becomes one ``pending``
delivery, and suppressed or forgotten addresses are skipped before any attempt.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mailbounce.store.db import Store, utcnow


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    id: int
    name: str
    subject: str | None
    from_addr: str | None
    settings: dict[str, Any]
    created_at: str
    last_run_at: str | None


# --- campaigns -------------------------------------------------------------------------


def _campaign(row: sqlite3.Row) -> CampaignRecord:
    return CampaignRecord(
        id=row["id"],
        name=row["name"],
        subject=row["subject"],
        from_addr=row["from_addr"],
        settings=json.loads(row["settings_json"] or "{}"),
        created_at=row["created_at"],
        last_run_at=row["last_run_at"],
    )


def find_campaign(store: Store, name: str) -> CampaignRecord | None:
    row = store.conn.execute(
        "SELECT id, name, subject, from_addr, settings_json, created_at, last_run_at"
        " FROM campaigns WHERE name = ?",
        (name,),
    ).fetchone()
    return _campaign(row) if row is not None else None


def save_campaign(
    store: Store, name: str, *, subject: str, from_addr: str, settings: Mapping[str, Any]
) -> CampaignRecord:
    """Create the campaign, or store its (accepted) new definition; return it."""
    now = utcnow()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO campaigns (name, subject, from_addr, settings_json, created_at,"
            " last_run_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
            " subject = excluded.subject, from_addr = excluded.from_addr,"
            " settings_json = excluded.settings_json, last_run_at = excluded.last_run_at",
            (name, subject, from_addr, json.dumps(settings, sort_keys=True), now, now),
        )
    found = find_campaign(store, name)
    assert found is not None
    return found


# --- recipients ------------------------------------------------------------------------


def add_list_recipients(
    store: Store,
    campaign_id: int,
    list_id: int,
    *,
    message_id: Callable[[str], str] | None = None,
) -> int:
    """Give every addressed member of a list a delivery (pending); return how many are new.

    The campaign ↔ list link (``campaign_lists``) records how many rows had no address.

    Existing deliveries keep their state; a pending or deferred one takes the list's current
    fields (a corrected first name is used on the next attempt).

    ``message_id`` (the campaign's ``compose.message_id_maker``): each new recipient gets
    its Message-ID now, in this one transaction, rather than at its ``in_flight`` step,
    where writing it cost each message a random leaf of the ``deliveries_message_id`` index
    in the WAL (issue 2). Pending and deferred recipients without one (added by an earlier
    build) get it too.
    """
    now = utcnow()
    with store.transaction() as conn:
        before = _count(conn, campaign_id)
        if message_id is not None:
            # Registered again by each call (this campaign's), on this connection only.
            conn.create_function(_MESSAGE_ID_FUNCTION, 1, message_id, deterministic=True)
        # A campaign's first list: every row is new, its Message-ID goes in with it. Any
        # other: made only for rows without one (not for every row of a resumed run).
        fresh = message_id is not None and before == 0
        conn.execute(
            _ADD_RECIPIENTS.format(
                message_id=f"{_MESSAGE_ID_FUNCTION}(c.address)" if fresh else "NULL"
            ),
            (campaign_id, now, list_id),
        )
        if message_id is not None and not fresh:
            conn.execute(_FILL_MESSAGE_IDS, (campaign_id,))
        # Rows without an address get no delivery; the report counts them from here.
        conn.execute(
            "INSERT INTO campaign_lists (campaign_id, list_id, without_address)"
            " SELECT ?, ?, COUNT(*) FROM list_members WHERE list_id = ? AND contact_id IS NULL"
            " ON CONFLICT (campaign_id, list_id) DO UPDATE"
            " SET without_address = excluded.without_address",
            (campaign_id, list_id, list_id),
        )
        return _count(conn, campaign_id) - before


_MESSAGE_ID_FUNCTION = "mailbounce_message_id"
_ADD_RECIPIENTS = (
    "INSERT INTO deliveries (campaign_id, contact_id, address, list_id, state,"
    " fields_json, updated_at, message_id)"
    " SELECT ?, c.id, c.address, lm.list_id, 'pending', lm.fields_json, ?, {message_id}"
    " FROM list_members lm JOIN contacts c ON c.id = lm.contact_id"
    " WHERE lm.list_id = ? ORDER BY lm.line"
    " ON CONFLICT(campaign_id, address) DO UPDATE SET fields_json = excluded.fields_json"
    " WHERE deliveries.state IN ('pending', 'deferred')"
)
_FILL_MESSAGE_IDS = (
    f"UPDATE deliveries SET message_id = {_MESSAGE_ID_FUNCTION}(address)"
    " WHERE campaign_id = ? AND state IN ('pending', 'deferred') AND message_id IS NULL"
)


def _count(conn: sqlite3.Connection, campaign_id: int) -> int:
    row = conn.execute("SELECT COUNT(*) FROM deliveries WHERE campaign_id = ?", (campaign_id,))
    return int(row.fetchone()[0])


def skip_suppressed(store: Store, campaign_id: int) -> dict[str, int]:
    """Skip every not-yet-sent recipient whose address is suppressed; counts by cause.

    Runs at each start, so an unsubscription or bounce recorded between two runs stops the
    remaining attempts too.
    """
    now = utcnow()
    with store.transaction() as conn:
        rows = conn.execute(
            "UPDATE deliveries SET state = 'skipped', updated_at = ?,"
            " skip_cause = (SELECT cause FROM suppressions s WHERE s.address = deliveries.address)"
            " WHERE campaign_id = ? AND state IN ('pending', 'deferred')"
            " AND address IN (SELECT address FROM suppressions) RETURNING skip_cause",
            (now, campaign_id),
        ).fetchall()
    counts: dict[str, int] = {}
    for (cause,) in rows:
        counts[cause] = counts.get(cause, 0) + 1
    return counts


def skip_hashed(store: Store, campaign_id: int, hashed: Mapping[str, str]) -> int:
    """Skip not-yet-sent recipients whose address is forgotten (``address -> keyed hash``)."""
    if not hashed:
        return 0
    now = utcnow()
    skipped = 0
    with store.transaction() as conn:
        for address, key in hashed.items():
            found = conn.execute("SELECT cause FROM suppressions WHERE address = ?", (key,))
            row = found.fetchone()
            if row is None:
                continue
            skipped += conn.execute(
                "UPDATE deliveries SET state = 'skipped', skip_cause = ?, updated_at = ?"
                " WHERE campaign_id = ? AND address = ? AND state IN ('pending', 'deferred')",
                (row[0], now, campaign_id, address),
            ).rowcount
    return skipped


def keyed_suppressions(store: Store, prefix: str) -> set[str]:
    """Suppressed keys starting with ``prefix`` (forgotten people's keyed hashes)."""
    rows = store.conn.execute(
        "SELECT address FROM suppressions WHERE address >= ? AND address < ?",
        (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)),
    )
    return {row[0] for row in rows}


def pending_addresses(store: Store, campaign_id: int) -> list[str]:
    rows = store.conn.execute(
        "SELECT address FROM deliveries WHERE campaign_id = ? AND state IN ('pending', 'deferred')",
        (campaign_id,),
    )
    return [row[0] for row in rows]


def suppression_cause(store: Store, address: str) -> str | None:
    """The suppression cause of a normalised address, or None (read-only, for dry runs)."""
    row = store.conn.execute(
        "SELECT cause FROM suppressions WHERE address = ?", (address,)
    ).fetchone()
    return str(row[0]) if row is not None else None
