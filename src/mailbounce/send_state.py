"""The send loop's bookkeeping (``delivery``): recipients handed out, connections, commits.

``Claims`` claims due recipients ``CLAIM_BATCH`` at a time (one transaction) and hands
them out one by one; ``Slot`` is one connection and the recipient(s) it carries; ``Batch``
is the transitions of all connections that go into one commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mailbounce.crash_points import crash_point
from mailbounce.smtp_pipeline import Session
from mailbounce.store import Store
from mailbounce.store import sending as deliveries

CLAIM_BATCH = 100


class Claims:
    """Hands out claimed recipients, claiming ``CLAIM_BATCH`` at a time (one commit)."""

    def __init__(self, campaign_id: int, now: str, limit: int) -> None:
        self.campaign_id = campaign_id
        self.now = now
        self.remaining = limit
        self.stopped = False
        self._buffer: list[deliveries.Delivery] = []

    def next(self, store: Callable[[], Store]) -> deliveries.Delivery | None:
        if self.stopped:
            return None
        if not self._buffer and self.remaining > 0:
            limit = min(CLAIM_BATCH, self.remaining)
            batch = deliveries.claim_due(
                store(), self.campaign_id, worker="send-loop", now=self.now, limit=limit
            )
            self.remaining = self.remaining - len(batch) if batch else 0
            self._buffer = batch[::-1]
            crash_point("after_claim")
        return self._buffer.pop() if self._buffer else None

    def take_claimed(self) -> deliveries.Delivery | None:
        """The next recipient if already claimed (no claim now: no store access)."""
        return self._buffer.pop() if self._buffer and not self.stopped else None

    def put_back(self, delivery: deliveries.Delivery) -> None:
        self._buffer.append(delivery)

    def stop(self) -> list[int]:
        """Stop handing out; return the ids claimed but never handed out."""
        self.stopped = True
        left, self._buffer = [d.id for d in self._buffer], []
        return left


@dataclass(eq=False)
class Slot:
    """One connection and the recipient it carries (``delivery`` None: idle)."""

    session: Session
    delivery: deliveries.Delivery | None = None
    domain: str = ""
    entered: bool = False  # holds one of the domain's connections (``DomainGate``)
    not_before: float = 0.0  # monotonic: its rate-limit slot
    started: bool = False  # envelope written
    in_flight: deliveries.InFlight | None = None  # to commit once the 354 has come
    flown: bool = False  # ``in_flight`` committed: the attempt is counted
    finished: bool = False  # no recipient left for it
    # The next recipient, its envelope written after the current one's data (PIPELINING).
    following: deliveries.Delivery | None = None
    following_in_flight: deliveries.InFlight | None = None


@dataclass
class Batch:
    """Transitions committed together."""

    ready: list[Slot] = field(default_factory=list)  # 354 received: in_flight to commit
    # With the reply for the -v log (None: not logged, the server was not asked).
    concluded: list[tuple[deliveries.Concluded, str | None]] = field(default_factory=list)

    since: float = field(default_factory=time.monotonic)

    def __bool__(self) -> bool:
        return bool(self.ready or self.concluded)
