"""The Date header of a run's messages: the instant passed for each message, in any order.

``MessageTemplate`` formats the Date once per second and knows at once the instant it was
given last (the send loop passes one ``datetime`` for all the messages of a loop turn):
whatever the sequence of instants, each message's Date is its own instant's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.compose import MessageSpec, MessageTemplate

START = datetime(2026, 11, 28, 12, 0, 0, 400_000, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))
INSTANTS = [
    START,
    START + timedelta(microseconds=300_000),  # the same second
    START + timedelta(seconds=1),
    START.astimezone(PARIS),  # the same instant, written in another time zone
    START + timedelta(seconds=61),
]


def date_line(template: MessageTemplate, moment: datetime) -> str:
    data = template.render_data(
        address="a@b.fr", fields={}, message_id="<m@a>", token=None, campaign="c", date=moment
    )
    line = next(line for line in data.split(b"\r\n") if line.startswith(b"Date: "))
    return line.decode("ascii")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(range(len(INSTANTS))), min_size=1, max_size=12))
def test_each_message_is_dated_by_its_own_instant(order: list[int]) -> None:
    template = MessageTemplate(
        MessageSpec(from_addr="a@asso.example", subject="S", text="T", html=None),
        columns=(),
        domain="asso.example",
    )
    for index in order:  # the very same objects again and again, as the send loop does
        moment = INSTANTS[index]
        expected = f"Date: {format_datetime(moment.replace(microsecond=0))}"
        assert date_line(template, moment) == expected
