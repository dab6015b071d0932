"""Amazon SES: its SNS notifications by e-mail (JSON) and its MAILER-DAEMON bounces.

* SNS e-mail notifications (From ``no-reply@sns.amazonaws.com``, "AWS Notification Message"):
  the body is SES's event JSON (``notificationType`` Bounce / Complaint / Delivery, with
  ``bouncedRecipients`` carrying ``status`` and ``diagnosticCode``), sometimes wrapped in the
  SNS envelope (``{"Type": "Notification", "Message": "<json>"}``), followed by SNS's
  unsubscribe footer after a ``--`` line.
* MAILER-DAEMON@*.amazonses.com: an RFC 3464 report whose text repeats the recipient ("The
  following message to <x> was undeliverable."). SES prefixes the remote reply with its own
  code ("5.1.0 - Unknown address error 550-'5.7.1 ...'"): the remote's code is the specific one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_SNS_FROM = lazy_compile(r"@sns\.amazonaws\.com", re.I)
_SES_FROM = lazy_compile(r"mailer-daemon@(?:[\w-]+\.)*amazonses\.com", re.I)
_WORKMAIL = lazy_compile(r"Amazon WorkMail", re.I)  # WorkMail mails through SES: its own layout
_FOOTER = lazy_compile(r"^--\s*$", re.M)
# Two top-level alternatives (no group around them): ``_prefilter.search`` reads their leading
# words and tries the regex only where they start, not at every character (issue 3, session 9).
_TEXT_RECIPIENT = lazy_compile(
    r"message to <([^>]+)> was undeliverable"
    r"|deliver the mail to the following recipients:\s*(\S+@\S+)",
    re.I,
)
# SES's wrapper: "5.1.0 - Unknown address error 550-'<remote reply>' (delivery attempts: 0)".
_WRAPPED = lazy_compile(r"^[245]\.\d{1,3}\.\d{1,3} - [^']*?([245]\d\d)[ -]'(.*)'")
_REASON_LINE = lazy_compile(r"The reason for the problem:\s*(.*)", re.I | re.S)


class AmazonsesDetector:
    """Amazon SES bounce, complaint and delivery notifications."""

    name = "amazonses"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _SNS_FROM),
        Marker("From", _SES_FROM),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        sender = mail.sender
        if _SNS_FROM.search(sender):
            return _from_notification(mt.body_text(mail))
        if _SES_FROM.search(sender) and not _WORKMAIL.search(mail.header("X-Mailer")):
            return _from_bounce(mail)
        return None


def _from_notification(text: str) -> list[BounceFacts] | None:
    body = tb.cut_at(text, _FOOTER).strip()
    if not body.startswith("{"):
        return None
    event = _load(body)
    if event is None:
        return None
    if isinstance(event.get("Message"), str):  # the SNS envelope around SES's event
        event = _load(event["Message"]) or {}
    kind = str(event.get("notificationType") or event.get("eventType") or "")
    if kind == "Bounce":
        return _bounced(event.get("bounce") or {})
    if kind == "Complaint":
        return _complained(event.get("complaint") or {})
    if kind == "Delivery":
        return _delivered(event.get("delivery") or {})
    return None


def _load(text: str) -> dict[str, Any] | None:
    """SES's JSON; SNS e-mail may hard-wrap it, so a failed parse is retried unwrapped."""
    for candidate in (text, text.replace("\n", "")):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        return value if isinstance(value, dict) else None
    return None


# SES's own bounce sub-types that name the reason (the rest, "General", "Suppressed",
# "Undetermined", leave it to the remote's status and words).
_SUBTYPES = {
    "noemail": Reason.USERUNKNOWN,
    "mailboxfull": Reason.MAILBOXFULL,
    "messagetoolarge": Reason.MESGTOOBIG,
}


def _bounced(bounce: dict[str, Any]) -> list[BounceFacts] | None:
    transient = str(bounce.get("bounceType", "")).lower() == "transient"
    hint = _SUBTYPES.get(str(bounce.get("bounceSubType", "")).lower())
    reporting = _strip_type(str(bounce.get("reportingMTA") or "")) or None
    facts = []
    for row in bounce.get("bouncedRecipients") or []:
        if not isinstance(row, dict) or not row.get("emailAddress"):
            continue
        diagnostic = _strip_type(str(row.get("diagnosticCode") or ""))
        status = str(row.get("status") or "") or None
        facts.append(
            tb.make_facts(
                str(row["emailAddress"]),
                diagnostic,
                action=str(row.get("action") or ("delayed" if transient else "failed")),
                status=status,
                reason_hint=hint,
                reporting_mta=reporting,
            )
        )
    return facts or None


def _complained(complaint: dict[str, Any]) -> list[BounceFacts] | None:
    feedback = str(complaint.get("complaintFeedbackType") or "abuse")
    return [
        BounceFacts(
            recipient=str(row["emailAddress"]).lower(),
            feedback_type=feedback,
            reason_hint=Reason.FEEDBACK,
            diagnostic=str(complaint.get("userAgent") or ""),
        )
        for row in complaint.get("complainedRecipients") or []
        if isinstance(row, dict) and row.get("emailAddress")
    ] or None


def _delivered(delivery: dict[str, Any]) -> list[BounceFacts] | None:
    response = str(delivery.get("smtpResponse") or "")
    reporting = str(delivery.get("reportingMTA") or "") or None
    return [
        tb.make_facts(
            str(address),
            response,
            action="delivered",
            reason_hint=Reason.DELIVERED,
            reporting_mta=reporting,
        )
        for address in delivery.get("recipients") or []
    ] or None


def _from_bounce(mail: Mail) -> list[BounceFacts] | None:
    # ``pattern.search(mt.body_text(mail))``, tried where their words are (case-insensitive
    # scans of the whole body otherwise, round 5).
    found = mt.body_search(mail, _TEXT_RECIPIENT)
    reason = mt.body_search(mail, _REASON_LINE)
    text_facts = []
    if found:
        recipient = found.group(1) or found.group(2)
        text_facts.append(tb.make_facts(recipient, reason.group(1) if reason else ""))
    return [_unwrapped(f) for f in tb.with_dsn(mail, text_facts)] or None


def _unwrapped(fact: BounceFacts) -> BounceFacts:
    """The remote server's reply without SES's wrapper text around it."""
    inner = _WRAPPED.search(fact.diagnostic)
    if inner is None:
        return fact
    return fact.amended(diagnostic=f"{inner.group(1)} {inner.group(2)}".strip())


def _strip_type(value: str) -> str:
    """``smtp; 550 ...`` / ``dsn; host`` -> the value after the RFC 3464 type."""
    head, sep, rest = value.partition(";")
    return rest.strip() if sep and " " not in head.strip() else value.strip()


DETECTOR = AmazonsesDetector()
