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
# The day and month, the hour and minute, and the zone are each one group read through a
# table (session 8: a third less than nine groups turned into numbers one by one).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC5322_DATE = re.compile(
    rf"(?:[A-Z][a-z]{{2}}, +)?([0-9]{{1,2}} (?:{'|'.join(_MONTHS)})) ([0-9]{{4}}) "
    r"([0-9]{2}:[0-9]{2}):([0-9]{2}) ([+-][0-9]{4})(?=\s|\Z)"
)
_PADDED = [f"{n:02d}" for n in range(100)]  # months and days as written
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, 1)}
_SECONDS = frozenset(_PADDED[:60])
_DAY_MINUTES = 1440
# Tables filled as their keys are met (a few hundred at most in any mailbox; building them
# whole cost more at start-up than a run of a few thousand bounces saved): "1 Jan" -> (day,
# month) or None past day 31; "HH:MM" -> minutes of the day or None off the clock; "+HHMM"
# -> minutes to add for UTC or None for a zone of a day or more; minutes -> "HH:MM".
_DAY_MONTHS: dict[str, tuple[int, int] | None] = {}
_CLOCK_MINUTES: dict[str, int | None] = {}
_ZONE_SHIFTS: dict[str, int | None] = {}
_HOURS_MINUTES: dict[int, str] = {}
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def iso_date(value: str | None) -> str | None:
    """A Date header as ISO 8601 UTC (the record contract); None when unreadable."""
    if not value:
        return None
    match = _RFC5322_DATE.match(value)
    if match is not None:
        day_month, year_text, clock, second_text, zone = match.groups()
        if year_text[:2] != "00":  # "0099" is 1999 to the stdlib
            return _iso_date_fast(day_month, year_text, clock, second_text, zone)
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


def _iso_date_fast(
    day_month: str, year_text: str, clock: str, second_text: str, zone: str
) -> str | None:
    """``iso_date`` of a date ``_RFC5322_DATE`` matched: as ``parsedate_to_datetime``
    then ``astimezone(UTC)``: a zone of a day or more is refused (``datetime.timezone``),
    -0000 is UTC, a day or time off the calendar or a result past year 1..9999 is None.

    Written out, without a ``datetime`` (session 7: the object, the zone shift and
    ``isoformat`` cost more than these few checks); a zone moves the time by under a day,
    so by one day at most (tested against the standard library)."""
    day_and_month = (
        _DAY_MONTHS[day_month] if day_month in _DAY_MONTHS else _day_and_month(day_month)
    )
    minutes = _CLOCK_MINUTES[clock] if clock in _CLOCK_MINUTES else _clock_minutes(clock)
    shift = _ZONE_SHIFTS[zone] if zone in _ZONE_SHIFTS else _zone_shift(zone)
    if day_and_month is None or minutes is None or shift is None or second_text not in _SECONDS:
        return None
    day, month = day_and_month
    if not day or (day > 28 and day > _days_in(int(year_text), month)):
        return None
    minutes += shift
    if 0 <= minutes < _DAY_MINUTES:  # the same day in UTC
        clock = _HOURS_MINUTES.get(minutes) or _hours_minutes(minutes)
        return f"{year_text}-{_PADDED[month]}-{_PADDED[day]}T{clock}:{second_text}+00:00"
    year = int(year_text)
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
    else:  # the day after
        minutes -= _DAY_MINUTES
        day += 1
        if day > 28 and day > _days_in(year, month):
            day, month = 1, month + 1
            if month == 13:
                month, year = 1, year + 1
                if year > 9999:
                    return None
    clock = _HOURS_MINUTES.get(minutes) or _hours_minutes(minutes)
    return f"{year:04d}-{_PADDED[month]}-{_PADDED[day]}T{clock}:{second_text}+00:00"


def _day_and_month(day_month: str) -> tuple[int, int] | None:
    """(day, month) of "D Mon" / "DD Mon"; None past day 31. Kept in ``_DAY_MONTHS``."""
    day_text, month_name = day_month.split(" ")
    day = int(day_text)
    found = (day, _MONTH_NUMBER[month_name]) if day <= 31 else None
    _DAY_MONTHS[day_month] = found
    return found


def _clock_minutes(clock: str) -> int | None:
    """The minutes of the day of "HH:MM"; None off the clock. Kept in ``_CLOCK_MINUTES``."""
    hour, minute = int(clock[:2]), int(clock[3:])
    found = hour * 60 + minute if hour <= 23 and minute <= 59 else None
    _CLOCK_MINUTES[clock] = found
    return found


def _hours_minutes(minutes: int) -> str:
    """ "HH:MM" of a minute of the day. Kept in ``_HOURS_MINUTES``."""
    text = _HOURS_MINUTES[minutes] = f"{_PADDED[minutes // 60]}:{_PADDED[minutes % 60]}"
    return text


def _zone_shift(zone: str) -> int | None:
    """The minutes ``zone`` ("+HHMM", minutes up to 99 as the stdlib reads them) adds for
    UTC; None when it is a day or more. Kept in ``_ZONE_SHIFTS``."""
    offset = int(zone[1:3]) * 60 + int(zone[3:5])
    shift = None if offset >= _DAY_MINUTES else (-offset if zone[0] == "+" else offset)
    _ZONE_SHIFTS[zone] = shift
    return shift


def _days_in(year: int, month: int) -> int:
    """The days of ``month`` in ``year`` (Gregorian, as ``datetime``)."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month]
