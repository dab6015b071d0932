"""A bounce's Date header as the ISO 8601 UTC text of the record contract (DESIGN §5).

``iso_date`` reads the usual RFC 5322 form itself and leaves every other one to
``email.utils.parsedate_to_datetime`` (``iso_date_stdlib``), with the very same result.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["iso_date", "iso_date_stdlib"]

# The RFC 5322 form nearly every bounce's Date has ("Mon, 1 Jan 2024 10:00:00 +0100 (CET)"):
# read here at a fraction of ``parsedate_to_datetime``'s cost (issue 3), with its very result.
# It splits at blanks and keeps the first five fields after a day name; a 4-digit zone is
# +-HHMM. Anything else (a named zone, no seconds, a 2-digit year...) goes to the stdlib.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC5322_DATE = re.compile(
    rf"(?:[A-Z][a-z]{{2}}, +)?([0-9]{{1,2}}) ({'|'.join(_MONTHS)}) ([0-9]{{4}}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})(?=\s|\Z)"
)
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, 1)}
# Numbers of the 2-digit fields ("00".."99") and of days ("0".."9" too): a look-up costs a
# tenth of ``int``.
_TWO_DIGITS = {f"{n:02d}": n for n in range(100)}
_DAYS = {**{str(n): n for n in range(10)}, **_TWO_DIGITS}
_DAY_SECONDS = 86400
_ZONES: dict[int, timedelta] = {}  # per zone offset in seconds: a few per run, under 4,800


def iso_date(value: str | None) -> str | None:
    """A Date header as ISO 8601 UTC (the record contract); None when unreadable."""
    if not value:
        return None
    match = _RFC5322_DATE.match(value)
    if match is not None and match.group(3)[:2] != "00":  # "0099" is 1999 to the stdlib
        return _iso_date_fast(match)
    return iso_date_stdlib(value)


def iso_date_stdlib(value: str) -> str | None:
    """``iso_date`` through ``email.utils.parsedate_to_datetime``: every other form (and the
    reference the fast path is tested against)."""
    try:
        when = parsedate_to_datetime(value)
        if when is None:
            return None
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    # OverflowError: a date near year 1 or 9999 moved by its zone leaves the calendar.
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.isoformat()


def _iso_date_fast(match: re.Match[str]) -> str | None:
    """``iso_date`` of a date ``_RFC5322_DATE`` matched: as ``parsedate_to_datetime``
    then ``astimezone(UTC)``: a zone of a day or more is refused (``datetime.timezone``),
    -0000 is UTC, a day or time off the calendar or a result past year 1..9999 is None."""
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = _TWO_DIGITS[zone_hours] * 3600 + _TWO_DIGITS[zone_minutes] * 60
    if offset >= _DAY_SECONDS:
        return None
    try:
        # Naive, in UTC once the zone is taken off: its isoformat is the aware one's without
        # "+00:00" (no microseconds here).
        when = datetime(
            int(year),
            _MONTH_NUMBER[month],
            _DAYS[day],
            _TWO_DIGITS[hour],
            _TWO_DIGITS[minute],
            _TWO_DIGITS[second],
        )
        if offset:
            zone = _ZONES.get(offset) or _ZONES.setdefault(offset, timedelta(seconds=offset))
            when = when - zone if sign == "+" else when + zone
    except (ValueError, OverflowError):
        return None
    return when.isoformat() + "+00:00"
