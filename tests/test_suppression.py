"""The suppression policy of DESIGN §4, as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailbounce.classify import is_hardbounce, kind_of, party_of
from mailbounce.errors import ConfigError
from mailbounce.models import Classification, Reason, SuppressionCause
from mailbounce.suppression import SuppressionPolicy, decide, policy_from_config

POLICY = SuppressionPolicy(3, timedelta(days=15))
DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


def classification_of(reason: Reason, status: str | None) -> Classification:
    """The taxonomy's own decision for a reason and status (classify.py owns it)."""
    return Classification(
        reason,
        kind_of(reason, status, None, "failed"),
        is_hardbounce(reason, status, None),
        party_of(reason),
    )


def _days(*offsets: int) -> list[datetime]:
    return [DAY0 + timedelta(days=offset) for offset in offsets]


@pytest.mark.parametrize(
    ("reason", "status", "cause"),
    [
        (Reason.USERUNKNOWN, "5.1.1", SuppressionCause.INVALID),
        (Reason.HOSTUNKNOWN, "5.1.2", SuppressionCause.INVALID),
        (Reason.HASMOVED, "5.1.6", SuppressionCause.INVALID),
        (Reason.FEEDBACK, None, SuppressionCause.COMPLAINED),
        (Reason.SPAMDETECTED, "5.7.1", None),
        (Reason.BLOCKED, "5.7.1", None),
        (Reason.BADREPUTATION, "5.7.1", None),
        (Reason.POLICYVIOLATION, "5.7.1", None),
        (Reason.MESGTOOBIG, "5.3.4", None),
        (Reason.VACATION, None, None),
        (Reason.DELIVERED, "2.0.0", None),
        (Reason.MAILBOXFULL, "5.2.2", None),
        (Reason.GREYLISTED, "4.7.1", None),
        (Reason.UNDEFINED, None, None),
    ],
)
def test_single_record(reason: Reason, status: str | None, cause: SuppressionCause | None) -> None:
    decision = decide(POLICY, classification_of(reason, status), "failed")
    assert (decision.cause if decision else None) == cause


@pytest.mark.parametrize("action", ["delayed", "delivered", "relayed", "expanded"])
def test_only_failures_suppress(action: str) -> None:
    assert decide(POLICY, classification_of(Reason.USERUNKNOWN, "5.1.1"), action) is None
    assert decide(POLICY, classification_of(Reason.USERUNKNOWN, "5.1.1"), None) is not None


@pytest.mark.parametrize(
    ("offsets", "suppressed"),
    [
        ((0, 1, 2), False),  # three times in two days: a full mailbox, not an abandoned one
        ((0, 16), False),  # long, but only twice
        ((0, 7, 15), True),
        ((0, 3, 9, 30), True),
    ],
)
@pytest.mark.parametrize("reason", [Reason.MAILBOXFULL, Reason.SUSPEND])
def test_repeated_recipient_soft_bounces(
    reason: Reason, offsets: tuple[int, ...], suppressed: bool
) -> None:
    decision = decide(POLICY, classification_of(reason, "5.2.2"), "failed", _days(*offsets))
    assert (decision is not None) == suppressed
    if decision:
        assert decision.cause is SuppressionCause.INVALID


def test_sender_side_repeats_never_count() -> None:
    history = _days(0, 10, 20, 30)
    assert decide(POLICY, classification_of(Reason.BLOCKED, "5.7.1"), "failed", history) is None
    assert decide(POLICY, classification_of(Reason.EXPIRED, "4.4.7"), "failed", history) is None


def test_policy_from_config() -> None:
    assert policy_from_config({}) == POLICY
    assert policy_from_config({"soft_threshold": 5, "soft_window": "30d"}) == SuppressionPolicy(
        5, timedelta(days=30)
    )
    with pytest.raises(ConfigError, match="soft_threshold"):
        policy_from_config({"soft_threshold": 0})
    with pytest.raises(ConfigError, match="soft_window"):
        policy_from_config({"soft_window": "fortnight"})
