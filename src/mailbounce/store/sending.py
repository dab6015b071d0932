"""Deliveries: the sending state machine of DESIGN §6 (its transitions), its SQL.

Campaign rows and recipients live in ``store.campaigns``, the claims of due recipients and
the recovery of a killed run in ``store.claims`` (their names are also this module's: the
send loop's one interface to the store), read-only counts in ``store.delivery_queries``.

Each delivery (one per campaign × address, UNIQUE) moves
``pending -> claimed -> in_flight -> sent | deferred | failed | uncertain | skipped |
expired``; every transition is its own committed transaction, made before the next network
step, and checked against ``TRANSITIONS`` in its WHERE clause so a row can never jump a step.
The SQL is plain enough to port to PostgreSQL (psycopg 3): ``?`` → ``%s``, and the claim's
sub-select gains ``FOR UPDATE SKIP LOCKED`` so several hosts can share one campaign.
"""

from __future__ import annotations

import functools
import itertools
import operator
import sqlite3
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring_ascii as _json_text
from typing import Any, NamedTuple

from mailbounce.errors import StoreError
from mailbounce.models import Classification, DeliveryState, SuppressionCause
from mailbounce.store.claims import (
    Delivery,
    Recovery,
    claim_due,
    recover_interrupted,
    release_campaign_claims,
    release_claims,
    requeue_uncertain,
)
from mailbounce.store.contacts import suppress
from mailbounce.store.db import Store, utcnow

__all__ = [
    "TRANSITIONS",
    "Concluded",
    "Delivery",
    "InFlight",
    "Outcome",
    "Recovery",
    "claim_due",
    "mark_in_flight",
    "record_outcome",
    "record_steps",
    "recover_interrupted",
    "release_campaign_claims",
    "release_claims",
    "requeue_uncertain",
]

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


class Outcome(NamedTuple):  # immutable, and cheap to make (see ``Delivery``)
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


# Rows per statement: each kind of step is ONE statement over up to ``ROWS_PER_STATEMENT``
# deliveries (``UPDATE ... FROM (VALUES ...)``), not one execution per row: per execution,
# the sqlite3 module releases and takes back the GIL (the send loop's) around the step and
# the reset, and SQLite sets up the count trigger's frame (issue 2). A value that is NULL
# in every row of a statement (a sent message's status, reason, kind... : seven of its ten)
# is spelt NULL in the text, not bound: the sqlite3 module binds None through its adapter
# look-up (a tuple, a dict miss, two attribute look-ups: ~8% of the commit path's
# instructions). The text is made once per shape (number of rows, NULL columns): the
# sqlite3 module's statement cache keys on it, and a send meets few shapes. The same rows
# change, with the same values, checked against ``TRANSITIONS`` alike.
ROWS_PER_STATEMENT = 8
_ROWS = "{rows}"  # where a statement's VALUES rows go (``_shaped``)
_COUNT_NONES = operator.methodcaller("count", None)


# Bounded like the sqlite3 module's own statement cache (128): a send meets a handful of
# shapes; a run meeting many NULL patterns must not grow without end.
@functools.lru_cache(maxsize=128)
def _shaped(sql: str, count: int, nulls: tuple[bool, ...]) -> str:
    """``sql`` with ``count`` VALUES rows: NULL in the ``nulls`` columns, numbered
    parameters from ``?2`` in the others."""
    numbers = itertools.count(2)
    rows = (
        "(" + ", ".join("NULL" if null else f"?{next(numbers)}" for null in nulls) + ")"
        for _ in range(count)
    )
    return sql.replace(_ROWS, ", ".join(rows))


def _updated(conn: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]], now: str) -> int:
    """Run ``sql`` (``?1``: ``now``; ``v``: its VALUES rows) over ``rows``, each led by its
    delivery's id, ``ROWS_PER_STATEMENT`` at a time; the number of deliveries changed."""
    changed = 0
    for first in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[first : first + ROWS_PER_STATEMENT]
        # In C, no generator: a column is NULL in every row if it counts len(chunk) Nones.
        nulls = tuple(map(len(chunk).__eq__, map(_COUNT_NONES, zip(*chunk, strict=True))))
        params: list[Any] = [now]
        if any(nulls):
            bound = [not null for null in nulls]
            for row in chunk:
                params += itertools.compress(row, bound)
        else:
            for row in chunk:
                params += row
        changed += conn.execute(_shaped(sql, len(chunk), nulls), params).rowcount
    return changed


# v.column1: the delivery's id, v.column2 its token (and v.column3 its Message-ID).
_IN_FLIGHT = (
    "UPDATE deliveries SET state = 'in_flight', token = v.column2,{message_id}"
    " first_attempt_at = COALESCE(first_attempt_at, ?1), last_attempt_at = ?1,"
    " attempts = attempts + 1, updated_at = ?1 FROM (VALUES {rows}) AS v"
    f" WHERE deliveries.id = v.column1 AND {_allowed(S.IN_FLIGHT)}"
)
# The Message-ID is usually stored already (``campaigns.add_list_recipients``): left out of
# the SET list, the index of ``message_id`` is not touched (SQLite rewrites an index entry
# of every column SET, even to the same value: a random leaf per message, issue 2).
_IN_FLIGHT_KEEPING_ID = _IN_FLIGHT.format(message_id="", rows=_ROWS)
_IN_FLIGHT_SETTING_ID = _IN_FLIGHT.format(message_id=" message_id = v.column3,", rows=_ROWS)

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


class InFlight(NamedTuple):  # immutable, and cheap to make (see ``Delivery``)
    """A message whose data is about to be written (after the server's 354)."""

    delivery_id: int
    token: str | None
    message_id: str
    store_message_id: bool = True  # False: the delivery holds this Message-ID already


class Concluded(NamedTuple):  # immutable, and cheap to make (see ``Delivery``)
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
    # ``Store.transaction`` spelt out: its generator's enter and exit, once per commit of
    # the send loop, are Python run with the GIL held (issue 2). Same BEGIN, COMMIT, ROLLBACK.
    conn = store.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        if in_flight:
            _record_in_flight(conn, in_flight, now)
        if concluded:
            _record_concluded(conn, concluded, now)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _record_in_flight(conn: sqlite3.Connection, in_flight: Sequence[InFlight], now: str) -> None:
    keeping = [(f.delivery_id, f.token) for f in in_flight if not f.store_message_id]
    if keeping:
        changed = _updated(conn, _IN_FLIGHT_KEEPING_ID, keeping, now)
        _check_all_changed(conn, changed, [row[0] for row in keeping], S.IN_FLIGHT)
    if len(keeping) < len(in_flight):
        setting = [(f.delivery_id, f.token, f.message_id) for f in in_flight if f.store_message_id]
        changed = _updated(conn, _IN_FLIGHT_SETTING_ID, setting, now)
        _check_all_changed(conn, changed, [row[0] for row in setting], S.IN_FLIGHT)


def _outcome_sql(target: DeliveryState, count_attempt: bool) -> str:
    attempt_sql = ""
    if count_attempt:
        attempt_sql = (
            " attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ?1),"
            " last_attempt_at = ?1,"
        )
    # ?1 now; v.column1 id, 2 reply, 3 replycode, 4 status, 5 reason, 6 kind, 7 hardbounce,
    # 8 party, 9 next attempt, 10 skip cause.
    return (
        f"UPDATE deliveries SET state = '{target}',{attempt_sql}"
        " last_reply = v.column2, replycode = v.column3, status = v.column4,"
        " reason = v.column5, kind = v.column6, hardbounce = v.column7, party = v.column8,"
        " next_attempt_at = v.column9, skip_cause = COALESCE(v.column10, skip_cause),"
        f" claimed_by = NULL, updated_at = ?1 FROM (VALUES {_ROWS}) AS v"
        f" WHERE deliveries.id = v.column1 AND {_allowed(target)}"
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
    at = ""  # the events' time, read once a commit writes one (most write none: all sent)
    for item in concluded:
        delivery, outcome = item.delivery, item.outcome
        cls = outcome.classification
        reason = str(cls.reason) if cls else None
        key = (outcome.state, outcome.attempted and not item.counted_in_flight)
        groups.setdefault(key, []).append(
            (
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
            at = at or utcnow()
            events.append(
                (at, event_type, delivery.address, delivery.campaign_id, delivery.id, data)
            )
    for (target, count), rows in groups.items():
        changed = _updated(conn, _OUTCOME_SQL[target, count], rows, now)
        _check_all_changed(conn, changed, [row[0] for row in rows], target)
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
