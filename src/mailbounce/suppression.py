"""The suppression policy (DESIGN §4): which bounce stops mail to an address. Pure.

- a hard bounce (the address itself is bad) marks it invalid at once;
- a complaint (ARF feedback report) unsubscribes it (cause ``complained``);
- recipient-side soft failures (mailbox full, account suspended, …) mark it invalid only
  when they repeat: ``soft_threshold`` times over at least ``soft_window`` (a mailbox full
  for a day is life; full for three weeks is abandoned);
- sender- and content-side rejections never count against the recipient (they are the
  sender's problem), nor do auto-replies, delivery notices or delayed DSNs (the mail may
  still arrive).

The store gives the history and applies the decision (``store.contacts.suppress``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mailbounce.errors import ConfigError, UsageError
from mailbounce.models import Classification, Kind, Party, SuppressionCause
from mailbounce.schedule import parse_duration

DEFAULT_SOFT_THRESHOLD = 3
DEFAULT_SOFT_WINDOW = timedelta(days=15)


@dataclass(frozen=True, slots=True)
class SuppressionPolicy:
    """Thresholds from config ``bounces.soft_threshold`` and ``bounces.soft_window``."""

    soft_threshold: int = DEFAULT_SOFT_THRESHOLD
    soft_window: timedelta = DEFAULT_SOFT_WINDOW


@dataclass(frozen=True, slots=True)
class SuppressionDecision:
    """Stop mailing the address: why, in the words of the suppression log."""

    cause: SuppressionCause
    detail: str


def policy_from_config(section: Mapping[str, Any], *, where: str = "bounces") -> SuppressionPolicy:
    """The policy from the ``bounces`` config section; a bad value names its key."""
    threshold = section.get("soft_threshold", DEFAULT_SOFT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ConfigError(f"{where}.soft_threshold: expected a whole number ≥ 1, got {threshold!r}")
    raw_window = section.get("soft_window")
    try:
        window = (
            DEFAULT_SOFT_WINDOW
            if raw_window is None
            else parse_duration(raw_window, what=f"{where}.soft_window")
        )
    except UsageError as exc:
        raise ConfigError(exc.message) from None
    return SuppressionPolicy(threshold, window)


def is_failure(action: str | None) -> bool:
    """Whether the report says delivery failed (RFC 3464 §2.3.3): ``delayed`` is a retry
    still under way, ``delivered``/``relayed``/``expanded`` are not failures. Non-standard
    bounces carry no Action field: they report failures."""
    return action is None or action.strip().lower() in ("failed", "")


def counts_as_soft(classification: Classification, action: str | None) -> bool:
    """A failure that hints at an abandoned mailbox, without proving the address is bad."""
    return (
        classification.party is Party.RECIPIENT
        and not classification.hardbounce
        and classification.kind in (Kind.TEMPORARY, Kind.PERMANENT)
        and is_failure(action)
    )


def parse_when(text: str) -> datetime | None:
    """An ISO 8601 date from the store, as an aware UTC datetime; None when unreadable."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def decide(
    policy: SuppressionPolicy,
    classification: Classification,
    action: str | None,
    soft_history: Sequence[datetime] = (),
) -> SuppressionDecision | None:
    """Whether this record stops mail to its address.

    ``soft_history`` holds the dates of every soft failure counted for the address,
    this one included.
    """
    if classification.kind is Kind.COMPLAINT:
        return SuppressionDecision(SuppressionCause.COMPLAINED, "complaint (feedback report)")
    if classification.kind in (Kind.AUTOREPLY, Kind.DELIVERED) or not is_failure(action):
        return None
    if classification.hardbounce:
        return SuppressionDecision(
            SuppressionCause.INVALID, f"hard bounce ({classification.reason})"
        )
    if not counts_as_soft(classification, action) or len(soft_history) < policy.soft_threshold:
        return None
    span = max(soft_history) - min(soft_history)
    if span < policy.soft_window:
        return None
    return SuppressionDecision(
        SuppressionCause.INVALID,
        f"{len(soft_history)} soft bounces over {span.days} days ({classification.reason})",
    )
