"""Rate limits of a send run: messages per second, per-domain limits, 421 back-off.

The send loop (``delivery``) uses the non-blocking forms (``reserve``, ``try_enter`` /
``leave``): a connection whose slot has not come waits while the others go on. The
blocking forms (``take``, ``slot``) serve threads; every method is thread-safe.
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
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)

    def reserve(self) -> float:
        """Reserve this message's slot; return the seconds until it comes (0: now)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        return slot - now


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

    def limits(self, domain: str) -> bool:
        """``domain`` has a connection or rate limit."""
        return domain in self._semaphores or domain in self._rates

    def try_enter(self, domain: str) -> bool:
        """Take one of ``domain``'s connections if one is free (``leave`` gives it back)."""
        semaphore = self._semaphores.get(domain)
        return semaphore is None or semaphore.acquire(blocking=False)

    def leave(self, domain: str) -> None:
        semaphore = self._semaphores.get(domain)
        if semaphore is not None:
            semaphore.release()

    def reserve_rate(self, domain: str) -> float:
        """Reserve the next message slot of ``domain``; the seconds until it comes."""
        limiter = self._rates.get(domain)
        return limiter.reserve() if limiter is not None else 0.0

    def back_off(self, domain: str, until: datetime) -> None:
        with self._lock:
            self._backed_off[domain] = until

    def backed_off_until(self, domain: str) -> datetime | None:
        if not self._backed_off:  # no 421 yet (most runs): asked for every message
            return None
        with self._lock:
            return self._backed_off.get(domain)
