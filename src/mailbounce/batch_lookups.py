"""What one ``parse-bounces`` batch reads from the store, fetched in a few queries.

A batch of bounces is written in one transaction (``mailbounce.parsing``); asking the store
two or three questions per record (which delivery? is the address suppressed? its soft
failures so far?) cost more than the writes. ``BatchLookups`` asks them for the whole batch
at its start (under the batch's write lock, so only this batch changes the answers) and
keeps the answers current as the batch writes: every answer is the one the store would
give at that point of the batch.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from mailbounce.addresses import normalize_address
from mailbounce.analysis_pool import Outcome
from mailbounce.batch_writes import BatchWrites
from mailbounce.correlate import DeliveryCache
from mailbounce.models import BounceRecord
from mailbounce.store import Store
from mailbounce.store import bounces as bounce_store
from mailbounce.store.contacts import suppression_of
from mailbounce.store.db import utcnow
from mailbounce.suppression import counts_as_soft


class BatchLookups:
    """Deliveries, suppressions and soft-failure histories of one batch's addresses."""

    def __init__(
        self, store: Store, batch: Sequence[Outcome], writes: BatchWrites | None = None
    ) -> None:
        """``writes``: the batch's waiting rows, written before the bounces are read."""
        self.store = store
        self.writes = writes
        self.now = utcnow()  # the batch's time: every row it records carries it
        message_ids: set[str] = set()
        recipients: set[str] = set()
        soft: set[str] = set()
        for outcome in batch:
            analysis = outcome.analysis
            if analysis is None:
                continue
            if analysis.original_message_id:
                message_ids.add(analysis.original_message_id)
            for facts, classification in analysis.results:
                recipients.add(facts.recipient)
                if counts_as_soft(classification, facts.action):
                    soft.add(facts.recipient)
        # Each recipient normalised once for the batch (a record's address is looked up
        # four or five times: its delivery, its row, its suppression, its history).
        self.keys = {address: normalize_address(address) for address in recipients}
        self.deliveries = DeliveryCache(
            store, message_ids=message_ids, addresses=recipients, keys=self.keys
        )
        keys = set(self.keys.values())
        found = bounce_store.suppressed_among(store, keys)
        self._suppressed = {key: key in found for key in keys}
        # Histories of addresses not suppressed: ``Recorder._apply_policy`` stops at a
        # suppressed address before reading any (one read for a delivery to another address
        # goes to the store, ``soft_bounce_dates``).
        wanted = [address for address in soft if self.keys[address] not in found]
        self._soft_dates = bounce_store.soft_bounce_dates_of(store, wanted)

    def key(self, address: str) -> str:
        """``normalize_address(address)``, known for the batch's recipients."""
        key = self.keys.get(address)
        return normalize_address(address) if key is None else key

    def is_suppressed(self, address: str) -> bool:
        key = self.key(address)
        if key not in self._suppressed:
            self._suppressed[key] = suppression_of(self.store, address) is not None
        return self._suppressed[key]

    def suppressed(self, address: str) -> None:
        """The batch suppressed ``address``."""
        self._suppressed[self.key(address)] = True

    def soft_bounce_dates(self, address: str) -> list[str]:
        """``store.bounces.soft_bounce_dates`` as of now in the batch."""
        key = self.key(address)
        if key not in self._soft_dates:
            if self.writes is not None:
                self.writes.flush()
            self._soft_dates[key] = bounce_store.soft_bounce_dates(self.store, address)
        return self._soft_dates[key]

    def recorded(self, record: BounceRecord) -> None:
        """The batch stored ``record`` (recorded at ``now``)."""
        dates = self._soft_dates.get(self.key(record.recipient))
        if dates is not None and bounce_store.in_soft_history(record):
            bisect.insort(dates, record.date or self.now)
