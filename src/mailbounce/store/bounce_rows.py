"""SQL of a ``parse-bounces`` batch's new rows: bounces and events inserted together.

``mailbounce.batch_writes`` keeps a batch's new bounce rows and events and writes them here
in order, with a few ``executemany``; whether a bounce is already stored is asked once per
batch (``stored_bounce_keys``) instead of an INSERT ... DO NOTHING per record. Split from
``store/bounces.py`` (past 400 lines), which keeps the one-record writers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import chain, groupby
from operator import itemgetter
from typing import NamedTuple

from mailbounce.models import BounceRecord
from mailbounce.store.bounces import _marks, _slices
from mailbounce.store.db import Store

# ``bounces``' columns in the order of ``bounce_row``'s values.
_BOUNCE_COLUMNS = (
    "source_key",
    "source",
    "recipient",
    "campaign_id",
    "delivery_id",
    "message_id",
    "action",
    "status",
    "replycode",
    "reason",
    "kind",
    "hardbounce",
    "party",
    "diagnostic",
    "remote_mta",
    "reporting_mta",
    "feedback_type",
    "date",
    "original_message_id",
    "detector",
    "recorded_at",
)
# Every column bound, for one row at a time (``store.bounces.insert_bounce``).
BOUNCE_INSERT = (
    f"INSERT INTO bounces ({', '.join(_BOUNCE_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in _BOUNCE_COLUMNS)})"
)
_EVENT_COLUMNS = ("at", "type", "address", "campaign_id", "delivery_id", "data_json")

Row = tuple[object, ...]


def bounce_row(
    record: BounceRecord,
    *,
    source_key: str,
    recipient: str,
    campaign_id: int | None,
    delivery_id: int | None,
    recorded_at: str,
) -> Row:
    """The values ``insert_bounce`` stores for ``record`` (``recipient`` normalised), for
    ``add_bounces``."""
    return (
        source_key,
        record.source,
        recipient,
        campaign_id,
        delivery_id,
        record.message_id,
        record.action,
        record.status,
        record.replycode,
        str(record.reason),
        str(record.kind),
        int(record.hardbounce),
        str(record.party),
        record.diagnostic,
        record.remote_mta,
        record.reporting_mta,
        record.feedback_type,
        record.date,
        record.original_message_id,
        record.detector,
        recorded_at,
    )


def stored_bounce_keys(store: Store, source_keys: Iterable[str]) -> set[tuple[str, str]]:
    """The ``(source_key, recipient)`` pairs already stored for these messages: one query
    per batch instead of an INSERT that does nothing for each record already known."""
    found: set[tuple[str, str]] = set()
    # Plain tuples, not the connection's ``sqlite3.Row``s: a batch of known messages reads
    # a pair for each of them (TEXT columns: two ``str``s).
    cursor = store.conn.cursor()
    cursor.row_factory = None
    for values in _slices(source_keys):
        found.update(
            cursor.execute(
                f"SELECT source_key, recipient FROM bounces WHERE source_key IN ({_marks(values)})",
                values,
            )
        )
    return found


def add_bounces(store: Store, rows: Sequence[Row]) -> None:
    """Insert ``bounce_row``s whose ``(source_key, recipient)`` is not stored yet, in order
    (inside the caller's transaction)."""
    _insert_in_order(store.conn, _BOUNCES, rows)


def add_events(store: Store, rows: Sequence[Row]) -> None:
    """Append events given as ``(at, type, address, campaign_id, delivery_id, data_json)``,
    in order: the rows ``store.contacts.record_event`` writes one at a time."""
    _insert_in_order(store.conn, _EVENTS, rows)


class _Table(NamedTuple):
    """A table's columns in a row's order, and those left out of the INSERT when None (a
    named tuple: cheaper to define at start-up than a frozen slots dataclass)."""

    name: str
    columns: tuple[str, ...]
    usually_null: tuple[str, ...]

    @property
    def nullable(self) -> tuple[int, ...]:
        return tuple(self.columns.index(name) for name in self.usually_null)


# sqlite3 binds a None through its adapter look-up (two failed attribute look-ups): ~0.5 µs
# each under Python 3.11, against ~0.1 µs for a str or an int. The columns most often NULL
# in a parse (no delivery to correlate with; no feedback type but in ARF reports) are left
# out of the statement instead (they default to NULL). Few columns, so few statements: an
# INSERT into ``bounces`` compiles its report triggers when prepared (~0.8 M instructions).
_BOUNCES = _Table("bounces", _BOUNCE_COLUMNS, ("campaign_id", "delivery_id", "feedback_type"))
_EVENTS = _Table("events", _EVENT_COLUMNS, ("campaign_id", "delivery_id"))


# Rows inserted by one execution of a multi-row ``INSERT ... VALUES (...), (...)``. Each
# execution of an INSERT into ``bounces`` or ``events`` pays for opening the table's and its
# indexes' cursors and for setting up its report triggers (whose WHEN is false for a bounce
# answering no delivery) once, not once per row as an ``executemany`` does: ~25 k fewer
# instructions per stored bounce with its event (callgrind, 5,166 rows of a DEV parse). At
# most 999 values per statement, the bound of SQLite before 3.32.
_ROWS_PER_INSERT = 50
_MAX_VALUES = 999


def _insert_in_order(conn: sqlite3.Connection, table: _Table, rows: Sequence[Row]) -> None:
    """Per run of rows with the same usually-NULL columns None: multi-row INSERTs of
    ``_ROWS_PER_INSERT`` rows, then one ``executemany`` for the rest (same rows, same order,
    same ids as one INSERT per row)."""
    nullable = table.nullable
    for shape, run in groupby(rows, key=lambda row: tuple([row[i] is None for i in nullable])):
        statement, values_of, many, per_many = _insert_statement(table, shape)
        values = list(map(values_of, run))
        whole = len(values) - len(values) % per_many
        for first in range(0, whole, per_many):
            conn.execute(many, list(chain.from_iterable(values[first : first + per_many])))
        if whole < len(values):
            conn.executemany(statement, values[whole:])


@cache
def _insert_statement(
    table: _Table, shape: tuple[bool, ...]
) -> tuple[str, Callable[[Row], Row], str, int]:
    """The INSERT of a row whose ``table.usually_null`` columns are None per ``shape``, the
    row's values it binds, and the INSERT of that many such rows at once."""
    left_out = {name for name, null in zip(table.usually_null, shape, strict=True) if null}
    kept = [i for i, name in enumerate(table.columns) if name not in left_out]
    named = [table.columns[i] for i in kept]
    head = f"INSERT INTO {table.name} ({', '.join(named)}) VALUES "
    one = f"({_marks(named)})"
    per_many = min(_ROWS_PER_INSERT, _MAX_VALUES // len(named))
    many = head + ", ".join([one] * per_many)
    return head + one, itemgetter(*kept), many, per_many  # more than one column: a tuple
