"""A bounce's Date header as the ISO 8601 UTC text of the record contract (DESIGN §5).

``iso_date`` reads the usual RFC 5322 form itself and leaves every other one to
``email.utils.parsedate_to_datetime`` (``iso_date_stdlib``), with the very same result.
"""

from __future__ import annotations

import re
from datetime import UTC
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
_DAY_MINUTES = 1440
_PADDED = [f"{n:02d}" for n in range(100)]  # months, days, hours, minutes as written
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


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
    -0000 is UTC, a day or time off the calendar or a result past year 1..9999 is None.

    Written out, without a ``datetime`` (session 7: the object, the zone shift and
    ``isoformat`` cost more than these few checks); a zone moves the time by under a day,
    so by one day at most (tested against the standard library)."""
    day_text, month_name, year_text, hour_text, minute_text, second_text, sign, zh, zm = (
        match.groups()
    )
    offset = _TWO_DIGITS[zh] * 60 + _TWO_DIGITS[zm]  # minutes
    if offset >= _DAY_MINUTES:
        return None
    month = _MONTH_NUMBER[month_name]
    day = _DAYS[day_text]
    hour = _TWO_DIGITS[hour_text]
    minute = _TWO_DIGITS[minute_text]
    if hour > 23 or minute > 59 or _TWO_DIGITS[second_text] > 59 or not day:
        return None
    if day > 28 and day > _days_in(int(year_text), month):
        return None
    if not offset:
        clock = f"{hour_text}:{minute_text}:{second_text}"
        return f"{year_text}-{_PADDED[month]}-{_PADDED[day]}T{clock}+00:00"
    year = int(year_text)
    minutes = hour * 60 + minute + (offset if sign == "-" else -offset)
    if minutes < 0:  # the day before in UTC
        minutes += _DAY_MINUTES
        day -= 1
        if not day:
            month -= 1
            if not month:
                month, year = 12, year - 1
                if not year:
                    return None
            day = _days_in(year, month)
    elif minutes >= _DAY_MINUTES:  # the day after
        minutes -= _DAY_MINUTES
        day += 1
        if day > 28 and day > _days_in(year, month):
            day, month = 1, month + 1
            if month == 13:
                month, year = 1, year + 1
                if year > 9999:
                    return None
    hour, minute = divmod(minutes, 60)
    return (
        f"{year:04d}-{_PADDED[month]}-{_PADDED[day]}"
        f"T{_PADDED[hour]}:{_PADDED[minute]}:{second_text}+00:00"
    )


def _days_in(year: int, month: int) -> int:
    """The days of ``month`` in ``year`` (Gregorian, as ``datetime``)."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month]
