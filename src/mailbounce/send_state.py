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
# Fewer claimed recipients left than this: the next batch is claimed as a commit job of its
# own (``ahead``) between the steps' commits, while these are sent, instead of once none is
# left, with every connection waiting for that claim.
CLAIM_AHEAD = 50


class Claims:
    """Hands out claimed recipients, claiming ``CLAIM_BATCH`` at a time (one commit)."""

    def __init__(self, campaign_id: int, now: str, limit: int) -> None:
        self.campaign_id = campaign_id
        self.now = now
        self.remaining = limit
        self.stopped = False
        self._buffer: list[deliveries.Delivery] = []  # reversed: ``pop`` gives the next
        self._claiming = False  # an ``ahead`` claim was submitted, not collected yet
        self._claimed: list[deliveries.Delivery] = []  # its rows, until ``claimed``

    def next(self, store: Callable[[], Store]) -> deliveries.Delivery | None:
        if self.stopped:
            return None
        if not self._buffer and self.remaining > 0:
            current = store()  # collects the commit in progress: an ``ahead`` claim comes in
            if not self._buffer and self.remaining > 0:
                self._claiming = True
                self._claimed = self._claim(current, min(CLAIM_BATCH, self.remaining))
                self.claimed()
        return self._buffer.pop() if self._buffer else None

    def ahead(self) -> Callable[[Store], None] | None:
        """A claim for the commit writer to make now, if the recipients held run low;
        ``claimed`` takes its rows in once it has committed."""
        if self.stopped or self._claiming or self.remaining <= 0:
            return None
        if len(self._buffer) >= CLAIM_AHEAD:
            return None
        self._claiming = True
        limit = min(CLAIM_BATCH, self.remaining)

        def claim(store: Store) -> None:
            self._claimed = self._claim(store, limit)

        return claim

    def _claim(self, store: Store, limit: int) -> list[deliveries.Delivery]:
        return deliveries.claim_due(
            store, self.campaign_id, worker="send-loop", now=self.now, limit=limit
        )

    def claimed(self) -> None:
        """The claim has committed: its recipients come after those still held."""
        batch, self._claimed = self._claimed, []
        self._claiming = False
        self.remaining = self.remaining - len(batch) if batch else 0
        self._buffer = batch[::-1] + self._buffer
        crash_point("after_claim")

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
    claim: bool = False  # the job is a ``Claims.ahead`` claim (nothing else)
    # With the reply for the -v log (None: not logged, the server was not asked).
    concluded: list[tuple[deliveries.Concluded, str | None]] = field(default_factory=list)

    since: float = field(default_factory=time.monotonic)

    def __bool__(self) -> bool:
        return bool(self.ready or self.concluded)
