"""An address's soft-failure history as the suppression policy reads it (DESIGN §4).

``suppression.decide`` asks only how many soft failures an address had and how far apart
the first and the last were. A history is therefore kept as that count and those two dates,
not as every date: reading it costs the store one aggregate per address
(``store.bounces.soft_histories_of``) rather than a row per bounce the address ever had (a
cost that grew with the store, issue 3).

The summary holds only dates in the form every mailbounce build writes ("2026-11-20T10:00:00
+00:00", seconds, UTC): valid dates whose text order is their time order. Any other text
(an edited database, say) is kept as it is in ``others`` and read one by one, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from mailbounce.suppression import parse_when

__all__ = ["SoftHistory", "is_canonical"]

_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00")


def is_canonical(text: str) -> bool:
    """Whether ``text`` is a valid date in the stored form (``store.bounces``' SQL test)."""
    return _CANONICAL.fullmatch(text) is not None and parse_when(text) is not None


@dataclass(slots=True)
class SoftHistory:
    """How many soft failures in the stored form, the first and last of them, and the
    dates in any other form."""

    count: int = 0
    first: str | None = None
    last: str | None = None
    others: list[str] = field(default_factory=list)

    def add(self, when: str) -> None:
        """One more soft failure, dated ``when``."""
        if not is_canonical(when):
            self.others.append(when)
            return
        self.count += 1
        if self.first is None or when < self.first:
            self.first = when
        if self.last is None or when > self.last:
            self.last = when

    def dates(self) -> list[datetime]:
        """What ``decide`` reads: as many dates as readable soft failures, with the same
        first and last (the others in between stand for the failures of the summary)."""
        history = [when for when in map(parse_when, self.others) if when is not None]
        if self.count and self.first is not None and self.last is not None:
            first, last = parse_when(self.first), parse_when(self.last)
            if first is not None and last is not None:
                history += [first] * (self.count - 1)
                history.append(last)
        return history
