"""The retry schedule of deferred recipients (DESIGN §6): pure functions, no clock, no I/O.

First retry after ``first`` (default 5 minutes), each next delay doubled, capped at ``cap``
(default 1 hour); a recipient still deferred ``give_up`` (default 5 days) after its first
attempt expires, as an MTA's queue lifetime does (Postfix ``maximal_queue_lifetime``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbounce.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | int | float, *, what: str = "duration") -> timedelta:
    """``5m``, ``1h``, ``5d``, ``30s``, or a bare number of seconds, as a timedelta.

    A malformed or non-positive value is a ``UsageError`` naming ``what`` (the option or
    configuration key) and the accepted forms.
    """
    if isinstance(text, bool):
        raise UsageError(f"{what}: invalid duration {text!r}: use e.g. 30s, 5m, 1h or 5d")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(text)
        if match is None:
            raise UsageError(f"{what}: invalid duration {text!r}: use e.g. 30s, 5m, 1h or 5d")
        unit = (match.group(2) or "s").lower()
        seconds = float(match.group(1)) * _UNIT_SECONDS[unit]
    if seconds <= 0:
        raise UsageError(f"{what}: the duration must be positive, got {text!r}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a deferred recipient again, and when to give up."""

    first: timedelta = timedelta(minutes=5)
    cap: timedelta = timedelta(hours=1)
    give_up: timedelta = timedelta(days=5)

    def delay_after(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1 → ``first``), doubling, capped."""
        exponent = max(attempts - 1, 0)
        # Cap the exponent so a long-deferred recipient cannot overflow timedelta.
        if exponent >= 32:
            return self.cap
        delay: timedelta = self.first * (2**exponent)
        return min(delay, self.cap)

    def next_attempt(
        self, *, attempts: int, first_attempt_at: datetime, now: datetime
    ) -> datetime | None:
        """When to retry after a temporary failure at ``now``; None when it is time to give up.

        A recipient whose first attempt is ``give_up`` old or more expires; otherwise the next
        attempt never lands past the give-up moment, so the last try happens before expiring.
        """
        deadline = first_attempt_at + self.give_up
        if now >= deadline:
            return None
        return min(now + self.delay_after(attempts), deadline)
