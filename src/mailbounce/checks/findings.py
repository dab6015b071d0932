"""What a check found: a code, a severity and a message, naming the rule and provider."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """``error``: sending would fail or harm; ``warning``: needs attention; ``info``: FYI."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check noticed.

    ``rule`` is the check or provider rule that fired (``no-http-links``), ``provider`` the
    mailbox provider whose behaviour the rule describes (``laposte.net``), when there is one;
    ``subject`` what it is about (an address, a URL, a DNS name), when useful.
    """

    code: str
    severity: Severity
    message: str
    rule: str | None = None
    provider: str | None = None
    subject: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
        }
        if self.rule is not None:
            data["rule"] = self.rule
        if self.provider is not None:
            data["provider"] = self.provider
        if self.subject is not None:
            data["subject"] = self.subject
        return data


def needs_attention(findings: Iterable[Finding]) -> bool:
    """True when any finding is a warning or an error (the CLI's exit 3)."""
    return any(f.severity is not Severity.INFO for f in findings)


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding is an error (``send`` refuses without ``--force``)."""
    return any(f.severity is Severity.ERROR for f in findings)


def worst(findings: Iterable[Finding]) -> Severity | None:
    found = [f.severity for f in findings]
    return max(found, key=lambda s: s.rank) if found else None
