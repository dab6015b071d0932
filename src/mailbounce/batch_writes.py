"""The rows one ``parse-bounces`` batch adds to ``bounces`` and ``events``, written together.

A batch runs in one write transaction (``mailbounce.recording``), so whether a bounce record
is already stored (``bounces`` is UNIQUE on ``(source_key, recipient)``) is known from one
query at the batch's start plus the batch's own records: a record already known costs no
statement, and new rows are inserted in order with a few ``executemany`` instead of one
``execute`` each. Rows wait only while nothing could read them: a bounce answering a delivery
(whose triggers update it) and a suppression (whose event needs its id) flush the waiting
rows first, as does a read of the bounces (``BatchLookups.soft_bounce_dates``), so the store
holds the same rows, in the same order, as with one statement per record.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailbounce.store import Store, bounce_rows
from mailbounce.store.bounce_rows import Row


class BatchWrites:
    """New bounce rows and events of one batch, written when ``flush``ed (in order)."""

    def __init__(self, store: Store, source_keys: Iterable[str]) -> None:
        self.store = store
        self._stored = bounce_rows.stored_bounce_keys(store, source_keys)
        self._bounces: list[Row] = []
        self._events: list[Row] = []

    def is_new(self, source_key: str, recipient: str) -> bool:
        """False when this message already gave this (normalised) recipient; else the pair
        counts as stored from now on (``insert_bounce``'s ON CONFLICT DO NOTHING)."""
        key = (source_key, recipient)
        if key in self._stored:
            return False
        self._stored.add(key)
        return True

    def add_bounce(self, row: Row) -> None:
        """A ``bounce_row`` that answers no delivery (no trigger acts on it)."""
        self._bounces.append(row)

    def add_event(self, row: Row) -> None:
        """An event row ``(at, type, address, campaign_id, delivery_id, data_json)``."""
        self._events.append(row)

    def flush(self) -> None:
        """Write the waiting rows now (inside the batch's transaction)."""
        if self._bounces:
            bounce_rows.add_bounces(self.store, self._bounces)
            self._bounces = []
        if self._events:
            bounce_rows.add_events(self.store, self._events)
            self._events = []
