"""The sandbox server's rules: which recipients get which provider-like behaviour.

Each recipient gets the behaviour of the first rule that matches it (``SandboxRule``);
``mailbounce.sandbox.SandboxServer`` carries them out:

================  =====================================================================
behaviour         what the server does
================  =====================================================================
accept            ``250`` at RCPT and at the end of DATA
greylist          first attempt per (client IP, envelope sender, recipient):
                  ``451 4.7.1 Greylisted, please try again later``; accepted once
                  ``greylist_delay`` seconds have passed since that first attempt
unknown_user      ``550 5.1.1 <addr>: Recipient address rejected: User unknown in
                  virtual mailbox table`` at RCPT (Postfix's wording)
mailbox_full      ``452 4.2.2 Mailbox full`` at RCPT
spam              accepted at RCPT; ``554 5.7.1 Message rejected as spam`` at the end of
                  DATA (the whole transaction: SMTP has one DATA reply)
bounce_later      accepted, and recorded in ``later_bounces`` so a DSN can be made later
disconnect        the connection is dropped at RCPT, without a reply
disconnect_after_data
                  the message is read, then the connection is dropped before the reply
                  (the client cannot know whether it was delivered)
tempfail_421      ``421 4.3.2 Service not available, closing transmission channel`` at
                  RCPT, then the connection is closed
================  =====================================================================

A rule's ``pattern`` is either a domain (``orange.fr``: recipients at that domain) or a
case-insensitive shell pattern over the whole address (``inconnu*@*``). Recipients no rule
matches are accepted. ``DEFAULT_RULES`` are the demo's providers: unknown users
(``inconnu…@``/``unknown…@``), full mailboxes (``plein@``/``full@``), spam (``spam@``),
later bounces (``later@``/``retour@``), and greylisting at orange.fr, wanadoo.fr, free.fr.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from mailbounce.addresses import domain_of
from mailbounce.errors import ConfigError

BEHAVIOURS = frozenset(
    {
        "accept",
        "greylist",
        "unknown_user",
        "mailbox_full",
        "spam",
        "bounce_later",
        "disconnect",
        "disconnect_after_data",
        "tempfail_421",
    }
)
REPLY_GREYLISTED = "451 4.7.1 Greylisted, please try again later"
REPLY_MAILBOX_FULL = "452 4.2.2 Mailbox full"
REPLY_SPAM = "554 5.7.1 Message rejected as spam"
REPLY_421 = "421 4.3.2 Service not available, closing transmission channel"
REPLY_OK = "250 2.1.5 Ok"


def reply_unknown_user(address: str) -> str:
    return (
        f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
    )


@dataclass(frozen=True)
class SandboxRule:
    """A behaviour for the recipients matching ``pattern`` (a domain or a shell pattern)."""

    pattern: str
    behaviour: str

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            known = ", ".join(sorted(BEHAVIOURS))
            raise ConfigError(
                f"unknown sandbox behaviour {self.behaviour!r} for {self.pattern!r}; known: {known}"
            )

    def matches(self, address: str) -> bool:
        pattern = self.pattern.strip().lower()
        if "@" not in pattern:
            return domain_of(address) == pattern
        return fnmatchcase(address.lower(), pattern)


DEFAULT_RULES: tuple[SandboxRule, ...] = (
    SandboxRule("inconnu*@*", "unknown_user"),
    SandboxRule("unknown*@*", "unknown_user"),
    SandboxRule("plein@*", "mailbox_full"),
    SandboxRule("full@*", "mailbox_full"),
    SandboxRule("spam@*", "spam"),
    SandboxRule("later@*", "bounce_later"),
    SandboxRule("retour@*", "bounce_later"),
    SandboxRule("orange.fr", "greylist"),
    SandboxRule("wanadoo.fr", "greylist"),
    SandboxRule("free.fr", "greylist"),
)


def behaviour_for(address: str, rules: Sequence[SandboxRule]) -> str:
    """The behaviour of the first rule matching ``address``; ``accept`` when none does."""
    for rule in rules:
        if rule.matches(address):
            return rule.behaviour
    return "accept"
