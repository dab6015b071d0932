"""Campaigns and deliveries: the sending state machine of DESIGN §6, all its SQL.

Each delivery (one per campaign × address, UNIQUE) moves
``pending -> claimed -> in_flight -> sent | deferred | failed | uncertain | skipped |
expired``; every transition is its own committed transaction, made before the next network
step, and checked against ``TRANSITIONS`` in its WHERE clause so a row can never jump a step.
The SQL is plain enough to port to PostgreSQL (psycopg 3): ``?`` → ``%s``, and the claim's
sub-select gains ``FOR UPDATE SKIP LOCKED`` so several hosts can share one campaign.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mailbounce.errors import StoreError
from mailbounce.models import Classification, DeliveryState, SuppressionCause
from mailbounce.store.contacts import record_event, suppress
from mailbounce.store.db import Store, utcnow

S = DeliveryState

# Allowed source states of each target state (DESIGN §6).
TRANSITIONS: Mapping[DeliveryState, frozenset[DeliveryState]] = {
    S.CLAIMED: frozenset({S.PENDING, S.DEFERRED}),
    S.PENDING: frozenset({S.CLAIMED, S.UNCERTAIN}),  # crash recovery; --resend-uncertain
    S.IN_FLIGHT: frozenset({S.CLAIMED}),
    S.SENT: frozenset({S.IN_FLIGHT}),
    S.FAILED: frozenset({S.CLAIMED, S.IN_FLIGHT}),
    S.DEFERRED: frozenset({S.CLAIMED, S.IN_FLIGHT}),
    S.EXPIRED: frozenset({S.CLAIMED, S.IN_FLIGHT}),
    S.UNCERTAIN: frozenset({S.IN_FLIGHT}),
    S.SKIPPED: frozenset({S.PENDING, S.DEFERRED, S.CLAIMED}),
}

_DELIVERY_COLUMNS = (
    "id, campaign_id, contact_id, address, list_id, state, attempts, first_attempt_at,"
    " next_attempt_at, fields_json, token, message_id"
)


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    id: int
    name: str
    subject: str | None
    from_addr: str | None
    settings: dict[str, Any]
    created_at: str
    last_run_at: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed recipient, with what composing its message needs."""

    id: int
    campaign_id: int
    contact_id: int | None
    address: str
    list_id: int | None
    state: DeliveryState
    attempts: int
    first_attempt_at: str | None
    next_attempt_at: str | None
    fields: dict[str, str]
    token: str | None
    message_id: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an attempt concluded, to be recorded in one transaction."""

    state: DeliveryState
    reply: str | None = None
    replycode: str | None = None
    status: str | None = None
    classification: Classification | None = None
    next_attempt_at: str | None = None
    attempted: bool = True  # False: decided without talking to the server (backed-off domain)
    suppress_as: SuppressionCause | None = None  # a hard bounce: stop mailing the address
    skip_cause: str | None = None  # state skipped: why


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


def add_list_recipients(store: Store, campaign_id: int, list_id: int) -> int:
    """Give every addressed member of a list a delivery (pending); return how many are new.

    The campaign ↔ list link (``campaign_lists``) records how many rows had no address.

    Existing deliveries keep their state; a pending or deferred one takes the list's current
    fields (a corrected first name is used on the next attempt).
    """
    now = utcnow()
    with store.transaction() as conn:
        before = _count(conn, campaign_id)
        conn.execute(
            "INSERT INTO deliveries (campaign_id, contact_id, address, list_id, state,"
            " fields_json, updated_at)"
            " SELECT ?, c.id, c.address, lm.list_id, 'pending', lm.fields_json, ?"
            " FROM list_members lm JOIN contacts c ON c.id = lm.contact_id"
            " WHERE lm.list_id = ? ORDER BY lm.line"
            " ON CONFLICT(campaign_id, address) DO UPDATE SET fields_json = excluded.fields_json"
            " WHERE deliveries.state IN ('pending', 'deferred')",
            (campaign_id, now, list_id),
        )
        # Rows without an address get no delivery; the report counts them from here.
        conn.execute(
            "INSERT INTO campaign_lists (campaign_id, list_id, without_address)"
            " SELECT ?, ?, COUNT(*) FROM list_members WHERE list_id = ? AND contact_id IS NULL"
            " ON CONFLICT (campaign_id, list_id) DO UPDATE"
            " SET without_address = excluded.without_address",
            (campaign_id, list_id, list_id),
        )
        return _count(conn, campaign_id) - before


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


# --- recovery and claims ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recovery:
    released: int  # claimed by a run that died before DATA ended: safe to send again
    uncertain: int  # in flight when a run died: the server may have the message


def recover_interrupted(store: Store, campaign_id: int) -> Recovery:
    """Settle what a killed run left: ``claimed`` → pending, ``in_flight`` → uncertain.

    Only valid while holding the run lock (no live run owns these rows). A PostgreSQL
    backend shared by several hosts would instead expire claims by ``claimed_at`` age.
    """
    now = utcnow()
    with store.transaction() as conn:
        released = conn.execute(
            "UPDATE deliveries SET state = 'pending', claimed_by = NULL, claimed_at = NULL,"
            " updated_at = ? WHERE campaign_id = ? AND state = 'claimed'",
            (now, campaign_id),
        ).rowcount
        uncertain_ids = conn.execute(
            "UPDATE deliveries SET state = 'uncertain', updated_at = ?,"
            " reason = 'undefined', last_reply = 'interrupted after the end of DATA,"
            " before the reply' WHERE campaign_id = ? AND state = 'in_flight' RETURNING id",
            (now, campaign_id),
        ).fetchall()
        for (delivery_id,) in uncertain_ids:
            record_event(
                conn, "uncertain", campaign_id=campaign_id, delivery_id=delivery_id, data={}
            )
    return Recovery(released=released, uncertain=len(uncertain_ids))


def requeue_uncertain(store: Store, campaign_id: int) -> int:
    """``--resend-uncertain``: put uncertain recipients back to pending (may duplicate)."""
    with store.transaction() as conn:
        return conn.execute(
            "UPDATE deliveries SET state = 'pending', updated_at = ?"
            " WHERE campaign_id = ? AND state = 'uncertain'",
            (utcnow(), campaign_id),
        ).rowcount


_CLAIM = (
    "UPDATE deliveries SET state = 'claimed', claimed_by = ?, claimed_at = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM deliveries WHERE campaign_id = ? AND {where} LIMIT ?)"
    f" RETURNING {_DELIVERY_COLUMNS}"
)


def claim_due(
    store: Store, campaign_id: int, *, worker: str, now: str, limit: int
) -> list[Delivery]:
    """Claim up to ``limit`` due recipients (pending, or deferred and due) in one transaction.

    Batching the claim keeps commits (and their fsyncs) off the per-message path.
    PostgreSQL: the sub-select takes ``FOR UPDATE SKIP LOCKED`` so concurrent claimers on
    several hosts never claim the same row.
    """
    if limit <= 0:
        return []
    # Two index range scans (deliveries_due), no sort: due deferred first, then pending in
    # index order (list order). An "ORDER BY id" over the OR would sort every pending row
    # at each claim: quadratic over a 20,000-recipient campaign.
    with store.transaction() as conn:
        rows = conn.execute(
            _CLAIM.format(where="state = 'deferred' AND next_attempt_at <= ?"),
            (worker, now, now, campaign_id, now, limit),
        ).fetchall()
        if len(rows) < limit:
            rows += conn.execute(
                _CLAIM.format(where="state = 'pending'"),
                (worker, now, now, campaign_id, limit - len(rows)),
            ).fetchall()
    deliveries = [_delivery(row) for row in rows]
    deliveries.sort(key=lambda d: d.id)
    return deliveries


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        campaign_id=row["campaign_id"],
        contact_id=row["contact_id"],
        address=row["address"],
        list_id=row["list_id"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        first_attempt_at=row["first_attempt_at"],
        next_attempt_at=row["next_attempt_at"],
        fields=json.loads(row["fields_json"] or "{}"),
        token=row["token"],
        message_id=row["message_id"],
    )


def release_claims(store: Store, delivery_ids: Iterable[int]) -> int:
    """Give claimed-but-unsent recipients back (a run stopping early): claimed → pending."""
    ids = list(delivery_ids)
    released = 0
    with store.transaction() as conn:
        for delivery_id in ids:
            released += conn.execute(
                "UPDATE deliveries SET state = 'pending', claimed_by = NULL, claimed_at = NULL,"
                " updated_at = ? WHERE id = ? AND state = 'claimed'",
                (utcnow(), delivery_id),
            ).rowcount
    return released


# --- transitions of one delivery --------------------------------------------------------


def _allowed(target: DeliveryState) -> str:
    return _ALLOWED[target]


# Computed once: the SQL of a transition is the same for every message (statement cache).
_ALLOWED = {
    target: ", ".join(f"'{state}'" for state in sorted(sources))
    for target, sources in TRANSITIONS.items()
}


def mark_in_flight(
    store: Store, delivery_id: int, *, token: str | None, message_id: str, now: str
) -> None:
    """The message's data is being written: from here a crash means ``uncertain``."""
    with store.transaction() as conn:
        changed = conn.execute(
            "UPDATE deliveries SET state = 'in_flight', token = ?, message_id = ?,"
            " first_attempt_at = COALESCE(first_attempt_at, ?), last_attempt_at = ?,"
            " attempts = attempts + 1, updated_at = ?"
            f" WHERE id = ? AND state IN ({_allowed(S.IN_FLIGHT)})",
            (token, message_id, now, now, now, delivery_id),
        ).rowcount
    _check_changed(changed, delivery_id, S.IN_FLIGHT)


def record_outcome(
    store: Store, delivery: Delivery, outcome: Outcome, *, now: str, counted_in_flight: bool
) -> None:
    """Commit the end of an attempt (sent, deferred, failed, uncertain, expired, skipped).

    ``counted_in_flight``: the attempt was already counted by ``mark_in_flight``. A hard
    bounce's suppression is written in the same transaction (DESIGN §4).
    """
    target = outcome.state
    attempt_sql = ""
    if outcome.attempted and not counted_in_flight:
        attempt_sql = (
            " attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, :now),"
            " last_attempt_at = :now,"
        )
    cls = outcome.classification
    params: dict[str, Any] = {
        "now": now,
        "id": delivery.id,
        "reply": outcome.reply,
        "replycode": outcome.replycode,
        "status": outcome.status,
        "reason": str(cls.reason) if cls else None,
        "kind": str(cls.kind) if cls else None,
        "hardbounce": int(cls.hardbounce) if cls else None,
        "party": str(cls.party) if cls else None,
        "next": outcome.next_attempt_at,
        "skip": outcome.skip_cause,
    }
    with store.transaction() as conn:
        changed = conn.execute(
            f"UPDATE deliveries SET state = '{target}',{attempt_sql}"
            " last_reply = :reply, replycode = :replycode, status = :status, reason = :reason,"
            " kind = :kind, hardbounce = :hardbounce, party = :party,"
            " next_attempt_at = :next, skip_cause = COALESCE(:skip, skip_cause),"
            " claimed_by = NULL, updated_at = :now"
            f" WHERE id = :id AND state IN ({_allowed(target)})",
            params,
        ).rowcount
        _check_changed(changed, delivery.id, target)
        record_event(
            conn,
            f"send.{target}",
            address=delivery.address,
            campaign_id=delivery.campaign_id,
            delivery_id=delivery.id,
            data={"reply": outcome.reply, "reason": params["reason"]},
        )
        if outcome.suppress_as is not None and target is S.FAILED:
            suppress(
                conn,
                delivery.address,
                outcome.suppress_as,
                reason=params["reason"],
                detail=outcome.reply,
                data={"campaign_id": delivery.campaign_id, "delivery_id": delivery.id},
            )


def _check_changed(changed: int, delivery_id: int, target: DeliveryState) -> None:
    if changed != 1:
        raise StoreError(
            f"delivery {delivery_id} cannot move to '{target}' from its current state"
            " (another run changed it?)"
        )


# --- reading ---------------------------------------------------------------------------


def state_counts(store: Store, campaign_id: int) -> dict[str, int]:
    rows = store.conn.execute(
        "SELECT state, COUNT(*) FROM deliveries WHERE campaign_id = ? GROUP BY state",
        (campaign_id,),
    )
    return {row[0]: row[1] for row in rows}


def grouped_counts(
    store: Store, campaign_id: int, state: DeliveryState, column: str
) -> dict[str, int]:
    """Counts of ``state`` deliveries by ``reason`` or ``skip_cause``."""
    if column not in ("reason", "skip_cause"):
        raise ValueError(column)
    rows = store.conn.execute(
        f"SELECT COALESCE({column}, 'undefined'), COUNT(*) FROM deliveries"
        f" WHERE campaign_id = ? AND state = ? GROUP BY {column} ORDER BY 2 DESC",
        (campaign_id, str(state)),
    )
    return {row[0]: row[1] for row in rows}


def count_due_deferred(store: Store, campaign_id: int, now: str) -> int:
    row = store.conn.execute(
        "SELECT COUNT(*) FROM deliveries WHERE campaign_id = ? AND state = 'deferred'"
        " AND next_attempt_at <= ?",
        (campaign_id, now),
    ).fetchone()
    return int(row[0])


def suppression_cause(store: Store, address: str) -> str | None:
    """The suppression cause of a normalised address, or None (read-only, for dry runs)."""
    row = store.conn.execute(
        "SELECT cause FROM suppressions WHERE address = ?", (address,)
    ).fetchone()
    return str(row[0]) if row is not None else None


def next_due(store: Store, campaign_id: int) -> str | None:
    row = store.conn.execute(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE campaign_id = ? AND state = 'deferred'",
        (campaign_id,),
    ).fetchone()
    return row[0] if row else None


OUTCOME_COLUMNS = (
    "address",
    "state",
    "attempts",
    "replycode",
    "status",
    "reason",
    "kind",
    "party",
    "skip_cause",
    "next_attempt_at",
    "last_reply",
)


def outcomes(store: Store, campaign_id: int, delivery_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The per-recipient outcome rows of the given deliveries, in delivery order."""
    wanted = sorted(set(delivery_ids))
    result: list[dict[str, Any]] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = store.conn.execute(
            f"SELECT {', '.join(OUTCOME_COLUMNS)} FROM deliveries"
            f" WHERE campaign_id = ? AND id IN ({marks}) ORDER BY id",
            (campaign_id, *chunk),
        )
        result.extend(dict(row) for row in rows)
    return result


def delivery_ids_in_states(
    store: Store, campaign_id: int, states: Iterable[DeliveryState]
) -> list[int]:
    names = [str(state) for state in states]
    marks = ", ".join("?" for _ in names)
    rows = store.conn.execute(
        f"SELECT id FROM deliveries WHERE campaign_id = ? AND state IN ({marks}) ORDER BY id",
        (campaign_id, *names),
    )
    return [row[0] for row in rows]
