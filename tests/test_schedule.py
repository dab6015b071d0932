"""The retry schedule: first delay, doubling, cap, give-up, and duration parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbounce.errors import UsageError
from mailbounce.schedule import RetryPolicy, parse_duration

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("1h", 3600),
        ("5d", 432000),
        ("30s", 30),
        ("90", 90),
        (" 2 min ", 120),
        ("1.5h", 5400),
        (45, 45),
    ],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5 minutes", "m5", "-5m", "0", "5w", "abc", "1h30"])
def test_parse_duration_rejects_with_clear_message(text: str) -> None:
    with pytest.raises(UsageError, match=r"--retry-after: .*duration"):
        parse_duration(text, what="--retry-after")


def test_default_schedule_first_doubles_and_caps() -> None:
    policy = RetryPolicy()
    delays = [policy.delay_after(n) for n in range(1, 8)]
    assert delays == [timedelta(minutes=m) for m in (5, 10, 20, 40, 60, 60, 60)]


def test_next_attempt_and_give_up() -> None:
    policy = RetryPolicy()
    assert policy.next_attempt(attempts=1, first_attempt_at=T0, now=T0) == T0 + timedelta(minutes=5)
    late = T0 + timedelta(days=5) - timedelta(minutes=10)
    # Never scheduled past the give-up moment, so the last try happens before expiring.
    assert policy.next_attempt(attempts=40, first_attempt_at=T0, now=late) == T0 + timedelta(days=5)
    assert policy.next_attempt(attempts=41, first_attempt_at=T0, now=T0 + timedelta(days=5)) is None


def test_configurable_policy() -> None:
    policy = RetryPolicy(
        first=timedelta(seconds=30), cap=timedelta(minutes=2), give_up=timedelta(hours=1)
    )
    assert [policy.delay_after(n).total_seconds() for n in range(1, 5)] == [30, 60, 120, 120]
    assert policy.next_attempt(attempts=3, first_attempt_at=T0, now=T0 + timedelta(hours=1)) is None


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=10 * 86400))
def test_next_attempt_is_always_after_now_or_none(attempts: int, elapsed: int) -> None:
    policy = RetryPolicy()
    now = T0 + timedelta(seconds=elapsed)
    result = policy.next_attempt(attempts=attempts, first_attempt_at=T0, now=now)
    if result is None:
        assert now >= T0 + policy.give_up
    else:
        assert now < result <= T0 + policy.give_up
        assert result - now <= policy.cap
