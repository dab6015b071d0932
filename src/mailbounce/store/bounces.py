"""SQL of the bounce concern: bounce records, quarantine, IMAP resumption, delivery updates.

Every writer runs inside the caller's transaction (``with store.transaction():``), so one batch of
messages is committed at once (``mailbounce.parsing`` commits every N messages, never one
fsync per record). Re-recording a bounce is a no-op: ``bounces`` is UNIQUE on
``(source_key, recipient)`` and ``quarantine`` on ``source_key``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from mailbounce.addresses import normalize_address
from mailbounce.models import BounceRecord, DeliveryState, Kind, Party
from mailbounce.store.db import Store, utcnow
from mailbounce.store.migrations import SOFT_BOUNCE_WHERE


class DeliveryRef(NamedTuple):
    """The delivery a bounce answers: which campaign, which address, in what state.

    A named tuple, not a frozen slots dataclass: ~1 M instructions to define at start-up
    instead of ~5 M (issue 3, start-up)."""

    delivery_id: int
    campaign_id: int
    campaign: str
    address: str
    state: str


_DELIVERY_SELECT = (
    "SELECT d.id, d.campaign_id, c.name, d.address, d.state"
    " FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
)

# States in which a message may have left: a bounce can answer only those.
_SENT_STATES = (
    DeliveryState.SENT,
    DeliveryState.UNCERTAIN,
    DeliveryState.IN_FLIGHT,
    DeliveryState.FAILED,
)
# States a later bounce may turn into a rejection (a failed delivery keeps its first reason).
_BOUNCEABLE_STATES = (DeliveryState.SENT, DeliveryState.UNCERTAIN, DeliveryState.IN_FLIGHT)


def _ref(row: sqlite3.Row | None) -> DeliveryRef | None:
    if row is None:
        return None
    return DeliveryRef(int(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]))


def delivery_by_id(store: Store, campaign_id: int, delivery_id: int) -> DeliveryRef | None:
    """The delivery a verified tracking token names (both ids must agree)."""
    row = store.conn.execute(
        f"{_DELIVERY_SELECT} WHERE d.id = ? AND d.campaign_id = ?", (delivery_id, campaign_id)
    ).fetchone()
    return _ref(row)


def delivery_by_message_id(store: Store, message_id: str) -> DeliveryRef | None:
    """The delivery whose message had this Message-ID (angle brackets optional)."""
    bare = message_id.strip().strip("<>")
    row = store.conn.execute(
        f"{_DELIVERY_SELECT} WHERE d.message_id IN (?, ?) ORDER BY d.id DESC LIMIT 1",
        (f"<{bare}>", bare),
    ).fetchone()
    return _ref(row)


def latest_delivery_to(store: Store, address: str) -> DeliveryRef | None:
    """The most recent campaign actually sent to ``address``."""
    placeholders = ",".join("?" for _ in _SENT_STATES)
    row = store.conn.execute(
        f"{_DELIVERY_SELECT} WHERE d.address = ? AND d.state IN ({placeholders})"
        " ORDER BY COALESCE(d.last_attempt_at, d.updated_at) DESC, d.id DESC LIMIT 1",
        (normalize_address(address), *map(str, _SENT_STATES)),
    ).fetchone()
    return _ref(row)


# Values per IN (...) list: far below SQLite's limit on bound variables.
_IN_SLICE = 400


def _slices(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for first in range(0, len(ordered), _IN_SLICE):
        yield ordered[first : first + _IN_SLICE]


def _marks(values: list[str]) -> str:
    return ",".join("?" * len(values))


def has_deliveries(store: Store) -> bool:
    """Whether any campaign has any delivery (a bounce could answer one)."""
    return bool(store.conn.execute("SELECT EXISTS (SELECT 1 FROM deliveries)").fetchone()[0])


def deliveries_by_message_ids(store: Store, message_ids: Iterable[str]) -> dict[str, DeliveryRef]:
    """``delivery_by_message_id`` for many Message-IDs at once: each one found, as given."""
    given = list(message_ids)
    forms = {mid: (f"<{bare}>", bare) for mid in given for bare in [mid.strip().strip("<>")]}
    newest: dict[str, DeliveryRef] = {}  # stored Message-ID -> its newest delivery
    for values in _slices(form for pair in forms.values() for form in pair):
        for row in store.conn.execute(
            f"SELECT d.message_id, {_DELIVERY_SELECT[len('SELECT ') :]}"
            f" WHERE d.message_id IN ({_marks(values)}) ORDER BY d.id",
            values,
        ):
            newest[str(row[0])] = DeliveryRef(
                int(row[1]), int(row[2]), str(row[3]), str(row[4]), str(row[5])
            )
    found: dict[str, DeliveryRef] = {}
    for mid, pair in forms.items():
        refs = [newest[form] for form in pair if form in newest]
        if refs:
            found[mid] = max(refs, key=lambda ref: ref.delivery_id)
    return found


def latest_deliveries_to(store: Store, addresses: Iterable[str]) -> dict[str, DeliveryRef]:
    """``latest_delivery_to`` for many addresses at once, keyed by normalised address."""
    found: dict[str, DeliveryRef] = {}
    states = [str(state) for state in _SENT_STATES]
    for values in _slices(normalize_address(address) for address in addresses):
        for row in store.conn.execute(
            f"{_DELIVERY_SELECT} WHERE d.address IN ({_marks(values)})"
            f" AND d.state IN ({_marks(states)})"
            " ORDER BY COALESCE(d.last_attempt_at, d.updated_at) DESC, d.id DESC",
            (*values, *states),
        ):
            ref = _ref(row)
            if ref is not None:
                found.setdefault(ref.address, ref)
    return found


def suppressed_among(store: Store, addresses: Iterable[str]) -> set[str]:
    """Which of ``addresses`` (normalised) are suppressed: one query for a whole batch."""
    found: set[str] = set()
    for values in _slices(normalize_address(address) for address in addresses):
        found.update(
            str(row[0])
            for row in store.conn.execute(
                f"SELECT address FROM suppressions WHERE address IN ({_marks(values)})", values
            )
        )
    return found


def insert_bounce(
    store: Store,
    record: BounceRecord,
    *,
    source_key: str,
    campaign_id: int | None,
    delivery_id: int | None,
    recorded_at: str | None = None,
) -> bool:
    """Record one bounce record; False when this message already gave this recipient.

    ``recorded_at``: the batch's time (default now)."""
    # bounce_rows imports this module's helpers: imported here, where it is first needed.
    from mailbounce.store.bounce_rows import BOUNCE_INSERT, bounce_row

    row = bounce_row(
        record,
        source_key=source_key,
        recipient=normalize_address(record.recipient),
        campaign_id=campaign_id,
        delivery_id=delivery_id,
        recorded_at=recorded_at or utcnow(),
    )
    cursor = store.conn.execute(
        f"{BOUNCE_INSERT} ON CONFLICT (source_key, recipient) DO NOTHING", row
    )
    return cursor.rowcount == 1


def reject_delivery(store: Store, delivery_id: int, record: BounceRecord) -> bool:
    """A failure reported after the message left: the delivery becomes a rejection.

    Only a delivery that was sent (or uncertain: the bounce proves it left) changes; True
    when it did.
    """
    placeholders = ",".join("?" for _ in _BOUNCEABLE_STATES)
    cursor = store.conn.execute(
        "UPDATE deliveries SET state = ?, status = ?, replycode = ?, reason = ?, kind = ?,"
        " hardbounce = ?, party = ?, last_reply = ?, updated_at = ?"
        f" WHERE id = ? AND state IN ({placeholders})",
        (
            str(DeliveryState.FAILED),
            record.status,
            record.replycode,
            str(record.reason),
            str(record.kind),
            int(record.hardbounce),
            str(record.party),
            record.diagnostic,
            utcnow(),
            delivery_id,
            *map(str, _BOUNCEABLE_STATES),
        ),
    )
    return cursor.rowcount == 1


# The bounces counted in an address's soft-failure history (``soft_bounce_dates``), as the
# partial index ``bounces_soft`` (m005) holds them: spelt with its very terms, so SQLite
# reads the history from that index alone. ``in_soft_history`` is the same test in Python,
# for a batch that keeps histories in memory.
_SOFT_WHERE = SOFT_BOUNCE_WHERE
# Read once: an enum member read off its class costs ~0.4 µs under Python 3.11.
_RECIPIENT = Party.RECIPIENT
_SOFT_KINDS = (Kind.TEMPORARY, Kind.PERMANENT)


def in_soft_history(record: BounceRecord) -> bool:
    """Whether ``soft_bounce_dates`` counts this record once stored (``_SOFT_WHERE``)."""
    return (
        record.party is _RECIPIENT
        and not record.hardbounce
        and record.kind in _SOFT_KINDS
        and (record.action or "").strip(" ").lower() in ("", "failed")
    )


def soft_bounce_dates(store: Store, address: str) -> list[str]:
    """When ``address`` had recipient-side soft failures (ISO dates, oldest first).

    The bounce's own Date when it had one, else when it was recorded: a mailbox parsed
    weeks late still shows how long the problem lasted.
    """
    rows = store.conn.execute(
        f"SELECT COALESCE(date, recorded_at) FROM bounces WHERE recipient = ? AND {_SOFT_WHERE}"
        " ORDER BY 1",
        (normalize_address(address),),
    ).fetchall()
    return [str(row[0]) for row in rows]


def soft_bounce_dates_of(store: Store, addresses: Iterable[str]) -> dict[str, list[str]]:
    """``soft_bounce_dates`` of many addresses at once, keyed by normalised address."""
    found: dict[str, list[str]] = {normalize_address(address): [] for address in addresses}
    for values in _slices(found):
        for row in store.conn.execute(
            "SELECT recipient, COALESCE(date, recorded_at) FROM bounces"
            f" WHERE recipient IN ({_marks(values)}) AND {_SOFT_WHERE} ORDER BY 2",
            values,
        ):
            found[str(row[0])].append(str(row[1]))
    return found


def insert_quarantine(store: Store, source_key: str, source: str, reason: str) -> bool:
    """Keep a message that could not be analysed, once; False when already there."""
    cursor = store.conn.execute(
        "INSERT INTO quarantine (source_key, source, reason, recorded_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source_key) DO NOTHING",
        (source_key, source, reason, utcnow()),
    )
    return cursor.rowcount == 1


def imap_resume_point(store: Store, mailbox: str) -> tuple[int, int] | None:
    """``(uidvalidity, last_uid)`` the previous run reached in ``mailbox``, or None."""
    row = store.conn.execute(
        "SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ?", (mailbox,)
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def save_imap_progress(store: Store, mailbox: str, uidvalidity: int, last_uid: int) -> None:
    """Remember the last UID processed (inside the batch's transaction)."""
    store.conn.execute(
        "INSERT INTO imap_state (mailbox, uidvalidity, last_uid) VALUES (?, ?, ?)"
        " ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
        " last_uid = MAX(CASE WHEN imap_state.uidvalidity = excluded.uidvalidity"
        " THEN imap_state.last_uid ELSE 0 END, excluded.last_uid)",
        (mailbox, uidvalidity, last_uid),
    )


def bounce_count(store: Store) -> int:
    """How many bounce records the store holds."""
    return int(store.conn.execute("SELECT COUNT(*) FROM bounces").fetchone()[0])


def quarantined(store: Store) -> list[tuple[str, str]]:
    """Every quarantined message as ``(source, reason)``, oldest first."""
    return [
        (str(row[0]), str(row[1]))
        for row in store.conn.execute("SELECT source, reason FROM quarantine ORDER BY id")
    ]
