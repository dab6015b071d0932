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
# +-HHMM. Anything else (a named zone, no seconds, a 2-digit year...) goes to the stdlib, as
# does a year 00xx (the stdlib reads "0099" as 1999).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC5322_DATE = re.compile(
    rf"(?:[A-Z][a-z]{{2}}, +)?([0-9]{{1,2}} (?:{'|'.join(_MONTHS)}) (?!00)[0-9]{{4}}) "
    r"([0-9]{2}:[0-9]{2}):([0-9]{2}) ([+-][0-9]{4})(?=\s|\Z)"
)
_PADDED = [f"{n:02d}" for n in range(100)]  # months and days as written
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, 1)}
_SECONDS = frozenset(_PADDED[:60])
_DAY_MINUTES = 1440
# Tables filled as their keys are met (a few hundred at most in any mailbox; building them
# whole cost more at start-up than a run of a few thousand bounces saved): "1 Jan 2024+0100"
# (a day in a zone: the bounces of a day share it) -> "YYYY-MM-DD" of the day before, the day
# and the day after (None past the calendar) and the minutes the zone adds for UTC, or None
# for a day off the calendar or a zone of a day or more; "HH:MM" -> minutes of the day
# or None off the clock; minutes -> "HH:MM".
_ZONED_DAYS: dict[str, tuple[str | None, str, str | None, int] | None] = {}
# Days met in their zones are few in a mailbox, but a hostile one can give each message a
# day of its own: the table starts again past this many (memory stays flat, issue 3).
_ZONED_DAYS_KEPT = 4096
_CLOCK_MINUTES: dict[str, int | None] = {}
_HOURS_MINUTES: dict[int, str] = {}
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def iso_date(value: str | None) -> str | None:
    """A Date header as ISO 8601 UTC (the record contract); None when unreadable.

    As ``parsedate_to_datetime`` then ``astimezone(UTC)``: a zone of a day or more is
    refused (``datetime.timezone``), -0000 is UTC, a day or time off the calendar or a
    result past year 1..9999 is None. Written out, without a ``datetime`` (session 7: the
    object, the zone shift and ``isoformat`` cost more than these few checks); a zone moves
    the time by under a day, so by one day at most (tested against the standard library).
    The day in its zone is one look-up (session 9: three look-ups and the day's checks and
    text for each date before)."""
    if not value:
        return None
    match = _RFC5322_DATE.match(value)
    if match is None:
        return iso_date_stdlib(value)
    date, clock, second_text, zone = match.groups()
    key = date + zone
    day = _ZONED_DAYS[key] if key in _ZONED_DAYS else _zoned_day(key, date, zone)
    minutes = _CLOCK_MINUTES[clock] if clock in _CLOCK_MINUTES else _clock_minutes(clock)
    if day is None or minutes is None or second_text not in _SECONDS:
        return None
    prefix: str | None  # the day's "YYYY-MM-DD" in UTC
    before, prefix, after, shift = day
    minutes += shift
    if minutes < 0:
        prefix, minutes = before, minutes + _DAY_MINUTES
    elif minutes >= _DAY_MINUTES:
        prefix, minutes = after, minutes - _DAY_MINUTES
    if prefix is None:
        return None
    clock = _HOURS_MINUTES.get(minutes) or _hours_minutes(minutes)
    return f"{prefix}T{clock}:{second_text}+00:00"


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


def _zoned_day(key: str, date: str, zone: str) -> tuple[str | None, str, str | None, int] | None:
    """The ``_ZONED_DAYS`` entry of "D Mon YYYY" in "+HHMM", kept there."""
    day_text, month_name, year_text = date.split(" ")
    day, month, year = int(day_text), _MONTH_NUMBER[month_name], int(year_text)
    shift = _zone_shift(zone)
    found = None
    if shift is not None and 0 < day <= _days_in(year, month):
        found = (
            _day_text(*_day_before(year, month, day)),
            f"{year_text}-{_PADDED[month]}-{_PADDED[day]}",
            _day_text(*_day_after(year, month, day)),
            shift,
        )
    if len(_ZONED_DAYS) >= _ZONED_DAYS_KEPT:
        _ZONED_DAYS.clear()
    _ZONED_DAYS[key] = found
    return found


def _day_before(year: int, month: int, day: int) -> tuple[int, int, int]:
    if day > 1:
        return year, month, day - 1
    if month > 1:
        return year, month - 1, _days_in(year, month - 1)
    return year - 1, 12, 31


def _day_after(year: int, month: int, day: int) -> tuple[int, int, int]:
    if day < _days_in(year, month):
        return year, month, day + 1
    if month < 12:
        return year, month + 1, 1
    return year + 1, 1, 1


def _day_text(year: int, month: int, day: int) -> str | None:
    """ "YYYY-MM-DD"; None past the calendar (years 1..9999, as ``datetime``)."""
    if not 1 <= year <= 9999:
        return None
    return f"{year:04d}-{_PADDED[month]}-{_PADDED[day]}"


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
    UTC; None when it is a day or more."""
    offset = int(zone[1:3]) * 60 + int(zone[3:5])
    return None if offset >= _DAY_MINUTES else (-offset if zone[0] == "+" else offset)


def _days_in(year: int, month: int) -> int:
    """The days of ``month`` in ``year`` (Gregorian, as ``datetime``)."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month]
