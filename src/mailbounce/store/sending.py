"""Deliveries: the sending state machine of DESIGN §6 (claims and transitions), its SQL.

Campaign rows and recipients live in ``store.campaigns``, read-only counts in
``store.delivery_queries``.

Each delivery (one per campaign × address, UNIQUE) moves
``pending -> claimed -> in_flight -> sent | deferred | failed | uncertain | skipped |
expired``; every transition is its own committed transaction, made before the next network
step, and checked against ``TRANSITIONS`` in its WHERE clause so a row can never jump a step.
The SQL is plain enough to port to PostgreSQL (psycopg 3): ``?`` → ``%s``, and the claim's
sub-select gains ``FOR UPDATE SKIP LOCKED`` so several hosts can share one campaign.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_text
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
    # Unpacked by position (``_DELIVERY_COLUMNS`` order), not read by name.
    deliveries = [_delivery(*row) for row in rows]
    deliveries.sort(key=lambda d: d.id)
    return deliveries


_CLAIM_DEFERRED = _CLAIM.format(where="state = 'deferred' AND next_attempt_at <= ?")
_CLAIM_PENDING = _CLAIM.format(where="state = 'pending'")
_STATES = {str(state): state for state in DeliveryState}  # a dict look-up, not Enum(value)


def _delivery(
    delivery_id: int,
    campaign_id: int,
    contact_id: int | None,
    address: str,
    list_id: int | None,
    state: str,
    attempts: int,
    first_attempt_at: str | None,
    next_attempt_at: str | None,
    fields_json: str | None,
    token: str | None,
    message_id: str | None,
) -> Delivery:
    """A ``_DELIVERY_COLUMNS`` row, in that order."""
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
        json.loads(fields_json) if fields_json else {},
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


# --- transitions of one delivery --------------------------------------------------------


def _allowed(target: DeliveryState) -> str:
    return _ALLOWED[target]


# Computed once: the SQL of a transition is the same for every message (statement cache).
# ``=`` tests, not ``state IN (...)``: SQLite builds a temporary b-tree for an IN list of
# three constants at every row (see ``report_schema.without_in_lists``).
_ALLOWED = {
    target: "(" + " OR ".join(f"state = '{state}'" for state in sorted(sources)) + ")"
    for target, sources in TRANSITIONS.items()
}


_IN_FLIGHT = (
    "UPDATE deliveries SET state = 'in_flight', token = ?,{message_id}"
    " first_attempt_at = COALESCE(first_attempt_at, ?), last_attempt_at = ?,"
    " attempts = attempts + 1, updated_at = ?"
    f" WHERE id = ? AND {_allowed(S.IN_FLIGHT)}"
)
# The Message-ID is usually stored already (``campaigns.add_list_recipients``): left out of
# the SET list, the index of ``message_id`` is not touched (SQLite rewrites an index entry
# of every column SET, even to the same value: a random leaf per message, issue 2).
_IN_FLIGHT_KEEPING_ID = _IN_FLIGHT.format(message_id="")
_IN_FLIGHT_SETTING_ID = _IN_FLIGHT.format(message_id=" message_id = ?,")

_EVENT = (
    "INSERT INTO events (at, type, address, campaign_id, delivery_id, data_json)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
# The event of each outcome but ``sent``: an accepted message is recorded by its delivery
# row alone (state, last_reply, last_attempt_at, updated_at), which is final and kept; its
# event repeated them. Nothing read it (the report reads the rows, ``deferrals_seen`` the
# ``send.deferred`` events), and it cost a third of the bytes each send commit writes to
# the WAL: the event row and a leaf of ``events_address`` per message (issue 2).
_EVENT_TYPES = {state: f"send.{state}" for state in DeliveryState if state is not S.SENT}


@dataclass(frozen=True, slots=True)
class InFlight:
    """A message whose data is about to be written (after the server's 354)."""

    delivery_id: int
    token: str | None
    message_id: str
    store_message_id: bool = True  # False: the delivery holds this Message-ID already


@dataclass(frozen=True, slots=True)
class Concluded:
    """The end of an attempt; ``counted_in_flight``: ``InFlight`` already counted it."""

    delivery: Delivery
    outcome: Outcome
    counted_in_flight: bool


def mark_in_flight(
    store: Store, delivery_id: int, *, token: str | None, message_id: str, now: str
) -> None:
    """The message's data is being written: from here a crash means ``uncertain``."""
    record_steps(store, [InFlight(delivery_id, token, message_id)], [], now=now)


def record_outcome(
    store: Store, delivery: Delivery, outcome: Outcome, *, now: str, counted_in_flight: bool
) -> None:
    """Commit the end of an attempt (sent, deferred, failed, uncertain, expired, skipped).

    ``counted_in_flight``: the attempt was already counted by ``mark_in_flight``. A hard
    bounce's suppression is written in the same transaction (DESIGN §4).
    """
    record_steps(store, [], [Concluded(delivery, outcome, counted_in_flight)], now=now)


def record_steps(
    store: Store, in_flight: Sequence[InFlight], concluded: Sequence[Concluded], *, now: str
) -> None:
    """Commit the transitions of many deliveries in one transaction (the send loop's tick).

    Each delivery moves one step (checked against ``TRANSITIONS``): into ``in_flight``, or
    from its attempt to its outcome with its ``send.<state>`` event (none for ``sent``: see
    ``_EVENT_TYPES``) and, for a hard bounce, its suppression. One statement per kind of
    step (``executemany``) and one commit for all: a tick of eight connections pays one
    COMMIT, not sixteen. All or nothing: a delivery another run moved fails the whole
    transaction (``StoreError``).
    """
    with store.transaction() as conn:
        if in_flight:
            _record_in_flight(conn, in_flight, now)
        if concluded:
            _record_concluded(conn, concluded, now)


def _record_in_flight(conn: sqlite3.Connection, in_flight: Sequence[InFlight], now: str) -> None:
    keeping = [(f.token, now, now, now, f.delivery_id) for f in in_flight if not f.store_message_id]
    if keeping:
        changed = conn.executemany(_IN_FLIGHT_KEEPING_ID, keeping).rowcount
        _check_all_changed(conn, changed, [row[-1] for row in keeping], S.IN_FLIGHT)
    if len(keeping) < len(in_flight):
        setting = [
            (f.token, f.message_id, now, now, now, f.delivery_id)
            for f in in_flight
            if f.store_message_id
        ]
        changed = conn.executemany(_IN_FLIGHT_SETTING_ID, setting).rowcount
        _check_all_changed(conn, changed, [row[-1] for row in setting], S.IN_FLIGHT)


def _outcome_sql(target: DeliveryState, count_attempt: bool) -> str:
    attempt_sql = ""
    if count_attempt:
        attempt_sql = (
            " attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ?1),"
            " last_attempt_at = ?1,"
        )
    # Numbered parameters, bound from tuples (cheaper than names, once per message):
    # ?1 now, ?2 id, ?3 reply, ?4 replycode, ?5 status, ?6 reason, ?7 kind, ?8 hardbounce,
    # ?9 party, ?10 next attempt, ?11 skip cause.
    return (
        f"UPDATE deliveries SET state = '{target}',{attempt_sql}"
        " last_reply = ?3, replycode = ?4, status = ?5, reason = ?6,"
        " kind = ?7, hardbounce = ?8, party = ?9,"
        " next_attempt_at = ?10, skip_cause = COALESCE(?11, skip_cause),"
        " claimed_by = NULL, updated_at = ?1"
        f" WHERE id = ?2 AND {_allowed(target)}"
    )


# Computed once: the SQL of each (target, attempt counted here) is the same for every row.
_OUTCOME_SQL = {
    (target, count): _outcome_sql(target, count)
    for target in TRANSITIONS
    for count in (False, True)
}


def _record_concluded(conn: sqlite3.Connection, concluded: Sequence[Concluded], now: str) -> None:
    groups: dict[tuple[DeliveryState, bool], list[tuple[Any, ...]]] = {}
    events = []
    at = utcnow()
    for item in concluded:
        delivery, outcome = item.delivery, item.outcome
        cls = outcome.classification
        reason = str(cls.reason) if cls else None
        key = (outcome.state, outcome.attempted and not item.counted_in_flight)
        groups.setdefault(key, []).append(
            (
                now,
                delivery.id,
                outcome.reply,
                outcome.replycode,
                outcome.status,
                reason,
                str(cls.kind) if cls else None,
                int(cls.hardbounce) if cls else None,
                str(cls.party) if cls else None,
                outcome.next_attempt_at,
                outcome.skip_cause,
            )
        )
        if outcome.state is not S.SENT:
            data = _event_data(outcome.reply, reason)
            event_type = _EVENT_TYPES[outcome.state]
            events.append(
                (at, event_type, delivery.address, delivery.campaign_id, delivery.id, data)
            )
    for (target, count), rows in groups.items():
        changed = conn.executemany(_OUTCOME_SQL[target, count], rows).rowcount
        _check_all_changed(conn, changed, [row[1] for row in rows], target)
    if events:
        conn.executemany(_EVENT, events)
    for item in concluded:
        delivery, outcome = item.delivery, item.outcome
        if outcome.suppress_as is not None and outcome.state is S.FAILED:
            cls = outcome.classification
            suppress(
                conn,
                delivery.address,
                outcome.suppress_as,
                reason=str(cls.reason) if cls else None,
                detail=outcome.reply,
                data={"campaign_id": delivery.campaign_id, "delivery_id": delivery.id},
            )


def _event_data(reply: str | None, reason: str | None) -> str:
    """``json.dumps({"reply": reply, "reason": reason})``, the same text, without the
    encoder's generic machinery (once per message)."""
    return (
        f'{{"reply": {_json_text(reply) if reply is not None else "null"},'
        f' "reason": {_json_text(reason) if reason is not None else "null"}}}'
    )


def _check_all_changed(
    conn: sqlite3.Connection, changed: int, ids: list[int], target: DeliveryState
) -> None:
    if changed == len(ids):
        return
    # Name the first row that could not move (the statement changed the others).
    for delivery_id in ids:
        row = conn.execute("SELECT state FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        if row is None or row[0] != target:
            _check_changed(0, delivery_id, target)
    _check_changed(0, ids[0], target)


def _check_changed(changed: int, delivery_id: int, target: DeliveryState) -> None:
    if changed != 1:
        raise StoreError(
            f"delivery {delivery_id} cannot move to '{target}' from its current state"
            " (another run changed it?)"
        )
