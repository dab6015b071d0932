"""Rate limits: the shared messages-per-second bucket and per-domain limits (no timing asserts)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from mailbounce.campaign import DomainLimit
from mailbounce.ratelimit import DomainGate, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_rate_spaces_messages_by_one_over_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.take()
    assert clock.slept == [0.25, 0.25, 0.25, 0.25]  # the first goes at once


def test_idle_time_is_not_banked_as_a_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, clock=clock, sleep=clock.sleep)
    limiter.take()
    clock.now += 60  # idle for a minute
    limiter.take()
    limiter.take()
    assert clock.slept == [0.5]


def test_domain_concurrency_is_never_exceeded() -> None:
    gate = DomainGate({"orange.fr": DomainLimit(concurrency=2)})
    inside = {"orange.fr": 0, "gmail.com": 0}
    peak = {"orange.fr": 0, "gmail.com": 0}
    lock = threading.Lock()

    def work(domain: str) -> None:
        with gate.slot(domain):
            with lock:
                inside[domain] += 1
                peak[domain] = max(peak[domain], inside[domain])
            time.sleep(0.01)
            with lock:
                inside[domain] -= 1

    threads = [threading.Thread(target=work, args=(d,)) for d in ["orange.fr", "gmail.com"] * 6]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak["orange.fr"] <= 2
    assert peak["gmail.com"] >= 1  # unlimited domains are not held back by the gate


def test_backoff_after_421() -> None:
    gate = DomainGate({})
    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert gate.backed_off_until("orange.fr") is None
    gate.back_off("orange.fr", now + timedelta(minutes=5))
    assert gate.backed_off_until("orange.fr") == now + timedelta(minutes=5)
    assert gate.backed_off_until("free.fr") is None
