"""``iso_date``'s fast path for RFC 5322 dates gives the standard library's very result."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.bounce_dates import iso_date, iso_date_stdlib


def stdlib_iso_date(value: str | None) -> str | None:
    """The reference: ``email.utils.parsedate_to_datetime`` then UTC (iso_date before the
    fast path)."""
    return iso_date_stdlib(value) if value else None


def _digits(low: int, high: int, width: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: str(n).zfill(width))


_DAY_NAMES = st.sampled_from(["", "Mon, ", "Sun,  ", "Xyz, ", "Mon ", "mon, ", "Monday, "])
_MONTHS = st.sampled_from(
    ["Jan", "Feb", "Jun", "Sep", "Dec", "Jan", "Feb", "Jun", "Sep", "Dec", "jan", "JAN", "June"]
)
_TAILS = st.sampled_from(["", " (CET)", "  (UTC)", "\t(PDT)", " extra words", "x", "\u00a0z"])


def _field(low: int, high: int, width: int) -> st.SearchStrategy[str]:
    """Mostly values around the calendar's range (so that most dates are valid), sometimes
    any value of the field's width."""
    return st.one_of(_digits(low, high, width), _digits(0, 10**width - 1, width))


_SHAPED = st.builds(
    lambda name, day, month, year, hh, mm, ss, sign, zone, tail: (
        f"{name}{day} {month} {year} {hh}:{mm}:{ss} {sign}{zone}{tail}"
    ),
    _DAY_NAMES,
    st.one_of(_digits(0, 9, 1), _field(0, 32, 2)),
    _MONTHS,
    st.one_of(_field(1900, 2100, 4), st.sampled_from(["0001", "0068", "0099", "0100", "9999"])),
    _field(0, 24, 2),
    _field(0, 60, 2),
    _field(0, 60, 2),
    st.sampled_from(["+", "-", "+", "-", ""]),
    st.one_of(
        st.builds("{}{}".format, _field(0, 24, 2), _field(0, 60, 2)),
        st.sampled_from(["0000", "2359", "2400", "0099", "12345"]),
    ),
    _TAILS,
)


@settings(max_examples=300, deadline=None)
@given(_SHAPED)
def test_rfc5322_dates_as_the_standard_library_reads_them(value: str) -> None:
    assert iso_date(value) == stdlib_iso_date(value)


@settings(deadline=None)  # no timing asserted
@given(
    st.text(alphabet=st.sampled_from("0123456789 :+-,()ADFJMNOSTacdeghlnoprtuvyz\t"), max_size=40)
)
def test_any_text_as_the_standard_library_reads_it(value: str) -> None:
    assert iso_date(value) == stdlib_iso_date(value)


def test_common_forms() -> None:
    for value in (
        "Mon, 1 Jan 2024 10:00:00 +0100 (CET)",
        "Thu,  2 Jul 2020 12:05:05 -0400 (EDT)",
        "1 Jan 0001 00:30:00 +0100",
        "31 Dec 9999 23:30:00 -0100",
        "Fri, 20 Nov 2026 10:00:00 -0000",
        "Fri, 20 Nov 2026 10:00:00 +2400",
        "Fri, 31 Feb 2026 10:00:00 +0000",
    ):
        assert iso_date(value) == stdlib_iso_date(value), value


_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def test_zone_shifts_across_days_months_and_years_as_the_standard_library() -> None:
    """The fast path moves the date itself by at most a day: every month's first and last
    days, leap years by the Gregorian rule, and the calendar's ends, both ways."""
    for year in ("0100", "1900", "2000", "2023", "2024", "2100", "9999"):
        for month in _MONTH_NAMES:
            for day in ("1", "01", "28", "29", "30", "31", "32", "0"):
                for clock in ("00:00:00", "00:30:59", "12:00:00", "23:59:59", "23:00:60"):
                    for zone in ("+0000", "-0000", "+0100", "-0100", "+2359", "-2359", "+2400"):
                        value = f"Mon, {day} {month} {year} {clock} {zone}"
                        assert iso_date(value) == stdlib_iso_date(value), value


def test_every_zone_and_day_number_as_the_standard_library() -> None:
    # Zones with minutes past 59 (the stdlib reads "+0075" as 75 minutes), zones of a day
    # or more, and day numbers 0..99, each through the tables of the fast path.
    for zone in ("+0075", "-0099", "+2359", "-2359", "+2360", "-2399", "+9999", "-0000"):
        for clock in ("00:00:00", "23:59:59", "12:30:45"):
            value = f"Sat, 31 Dec 2023 {clock} {zone}"
            assert iso_date(value) == stdlib_iso_date(value), value
    for day in (*range(0, 33), 99):
        for day_text in {str(day), f"{day:02d}"}:
            value = f"{day_text} Feb 2024 10:00:00 +0100"
            assert iso_date(value) == stdlib_iso_date(value), value


def test_the_table_of_days_stays_bounded() -> None:
    """A mailbox whose every message has a day of its own does not grow the table of days
    without end (memory stays flat), and the dates read after it starts again are the same."""
    from mailbounce import bounce_dates

    for n in range(bounce_dates._ZONED_DAYS_KEPT + 50):
        year, day = 1900 + n // 28, 1 + n % 28
        value = f"Mon, {day} Mar {year} 00:30:00 +0100"
        assert iso_date(value) == stdlib_iso_date(value), value
        assert len(bounce_dates._ZONED_DAYS) <= bounce_dates._ZONED_DAYS_KEPT
