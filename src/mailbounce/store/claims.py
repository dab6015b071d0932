"""Claims of a campaign's due recipients and the recovery of a killed run (DESIGN §6).

A run claims its recipients ``CLAIM_BATCH`` at a time (``claim_due``: pending, or deferred
and due, become ``claimed`` in one transaction, returned as ``Delivery`` rows), gives back
what it did not send (``release_claims``, ``release_campaign_claims``), and, under the run
lock, settles what a killed run left (``recover_interrupted``). The transitions of each
claimed delivery are in ``store.sending``. The claim's sub-select would take
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so that several hosts can share one campaign.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from mailbounce.models import DeliveryState
from mailbounce.store.contacts import record_event
from mailbounce.store.db import Store, utcnow

_DELIVERY_COLUMNS = (
    "id, campaign_id, contact_id, address, list_id, state, attempts, first_attempt_at,"
    " next_attempt_at, fields_json, token, message_id"
)


class Delivery(NamedTuple):
    """A claimed recipient, with what composing its message needs.

    Immutable as a frozen dataclass would be, but made in a fifth of the time: a frozen
    dataclass sets each of its twelve fields through ``object.__setattr__`` (~2 µs a
    claimed row, issue 2); the other records of a send (``store.sending``) are alike.
    """

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
        # ``reason = reason``: uncertain -> pending moves the counters, and only a counted
        # column fires their trigger (``report_schema.COUNT_UPDATE_TRIGGER_WITHOUT_STATE``).
        return conn.execute(
            "UPDATE deliveries SET state = 'pending', reason = reason, updated_at = ?"
            " WHERE campaign_id = ? AND state = 'uncertain'",
            (utcnow(), campaign_id),
        ).rowcount


_CLAIM = (
    "UPDATE deliveries SET state = 'claimed', claimed_by = ?, claimed_at = ?,{counted}"
    " updated_at = ?"
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
    claimer = _claimer(worker)
    with store.transaction() as conn:
        # No cursor kept in a local: a Ctrl-C inside fetchall() must not leave the statement
        # alive (held by the traceback), or the next COMMIT fails "statements in progress".
        rows = conn.execute(
            _CLAIM_DEFERRED, (claimer, now, now, campaign_id, now, limit)
        ).fetchall()
        if len(rows) < limit:
            rows += conn.execute(
                _CLAIM_PENDING, (claimer, now, now, campaign_id, limit - len(rows))
            ).fetchall()
    # Every row's fields in one decode, not a ``json.loads`` per row (its Python calls
    # cost ~4.5 k instructions a row, more than the decoding itself: issue 2).
    fields = json.loads("[" + ",".join([row[9] or "{}" for row in rows]) + "]")
    deliveries = list(map(_delivery, rows, fields))
    deliveries.sort(key=lambda d: d.id)
    return deliveries


# A deferred recipient claimed becomes "pending" in the report: ``reason = reason`` fires
# the counters' trigger, which a change of ``state`` alone does not (m006). A pending one
# claimed stays "pending": its claim fires no trigger.
_CLAIM_DEFERRED = _CLAIM.format(
    counted=" reason = reason,", where="state = 'deferred' AND next_attempt_at <= ?"
)
_CLAIM_PENDING = _CLAIM.format(counted="", where="state = 'pending'")
_STATES = {str(state): state for state in DeliveryState}  # a dict look-up, not Enum(value)


def _delivery(row: tuple[Any, ...], fields: dict[str, str]) -> Delivery:
    """A ``_DELIVERY_COLUMNS`` row (unpacked by position, not read by name), its
    ``fields_json`` decoded: ``fields``."""
    (
        delivery_id,
        campaign_id,
        contact_id,
        address,
        list_id,
        state,
        attempts,
        first_attempt_at,
        next_attempt_at,
        _,
        token,
        message_id,
    ) = row
    return Delivery(
        delivery_id,
        campaign_id,
        contact_id,
        address,
        list_id,
        _STATES[state],
        attempts,
        first_attempt_at,
        next_attempt_at,
        fields,
        token,
        message_id,
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


def release_campaign_claims(store: Store, campaign_id: int) -> int:
    """A run ending: every recipient of the campaign this process still has ``claimed``
    goes back to pending.

    Only valid while holding the run lock (every claimed row is this run's, and none was
    written out: its ``in_flight`` was never committed). Besides the recipients the loop
    held, this covers a claim committed just as Ctrl-C struck, before the loop held its rows.
    Only this process's claims (``claimed_by``): a run split over worker processes
    (``send_workers``) must not give back rows another worker is about to send.
    """
    with store.transaction() as conn:
        return conn.execute(
            "UPDATE deliveries SET state = 'pending', claimed_by = NULL, claimed_at = NULL,"
            " updated_at = ? WHERE campaign_id = ? AND state = 'claimed' AND claimed_by LIKE ?",
            (utcnow(), campaign_id, f"% pid {os.getpid()}"),
        ).rowcount


def _claimer(worker: str) -> str:
    """``claimed_by``: the claiming worker and its process (``release_campaign_claims``)."""
    return f"{worker} pid {os.getpid()}"
