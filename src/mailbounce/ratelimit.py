"""Rate limits of a send run: messages per second, per-domain limits, 421 back-off.

Shared by all the run's worker threads, so every method is thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime

from mailbounce.campaign import DomainLimit


class RateLimiter:
    """Messages per second shared by all connections: each take waits its slot (GCRA)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = clock()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Wait for this message's slot: slots are ``1/rate`` apart, shared by all threads."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


class DomainGate:
    """Per-recipient-domain limits (``sending.domains``) and 421 back-off."""

    def __init__(self, limits: dict[str, DomainLimit]) -> None:
        self._semaphores = {
            domain: threading.BoundedSemaphore(limit.concurrency)
            for domain, limit in limits.items()
            if limit.concurrency
        }
        self._rates = {
            domain: RateLimiter(limit.rate) for domain, limit in limits.items() if limit.rate
        }
        self._backed_off: dict[str, datetime] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, domain: str) -> Iterator[None]:
        semaphore = self._semaphores.get(domain)
        with semaphore if semaphore is not None else nullcontext():
            limiter = self._rates.get(domain)
            if limiter is not None:
                limiter.take()
            yield

    def back_off(self, domain: str, until: datetime) -> None:
        with self._lock:
            self._backed_off[domain] = until

    def backed_off_until(self, domain: str) -> datetime | None:
        with self._lock:
            return self._backed_off.get(domain)
