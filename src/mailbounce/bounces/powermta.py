"""PowerMTA (Port25 / Bird) delivery reports ("Delivery report").

An RFC 3464 report with PowerMTA's extension fields: ``X-PowerMTA-VirtualMTA`` and, per
recipient, ``X-PowerMTA-BounceCategory`` — PowerMTA's own classification of the remote
reply (bad-mailbox, quota-issues, ...), which names the reason. The report is reused.
"""

from __future__ import annotations

import re
from email.message import Message

from mailbounce.bounces._addressblocks import report_field
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import _DSN_TYPES, parse_delivery_status
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_CATEGORY = "X-PowerMTA-BounceCategory"
# ``get_content_type()`` is the Content-Type value before its ";", lower-cased and stripped:
# "multipart/report" only where the value holds these words in some case.
_REPORT_TYPE = lazy_compile(r"multipart/report", re.I)
# PowerMTA's bounce categories (User's Guide, "bounce-category-patterns").
_REASONS = {
    "bad-mailbox": Reason.USERUNKNOWN,
    "bad-domain": Reason.HOSTUNKNOWN,
    "inactive-mailbox": Reason.SUSPEND,
    "quota-issues": Reason.MAILBOXFULL,
    "message-expired": Reason.EXPIRED,
    "no-answer-from-host": Reason.NETWORKERROR,
    "bad-connection": Reason.NETWORKERROR,
    "routing-errors": Reason.SYSTEMERROR,
    "bad-configuration": Reason.SYSTEMERROR,
    "relaying-issues": Reason.NORELAYING,
    "policy-related": Reason.POLICYVIOLATION,
    "spam-related": Reason.SPAMDETECTED,
    "virus-related": Reason.VIRUSDETECTED,
    "content-related": Reason.CONTENTERROR,
    "invalid-sender": Reason.REJECTED,
    "protocol-errors": Reason.SYNTAXERROR,
}


class PowerMtaDetector:
    """PowerMTA reports: the RFC 3464 groups and PowerMTA's bounce category."""

    name = "powermta"

    # The first test of ``detect``, as data: not a report, not PowerMTA's.
    gate = Markers(Marker("Content-Type", _REPORT_TYPE))

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if mail.msg.get_content_type() != "multipart/report":
            return None
        if "X-PowerMTA-VirtualMTA" not in mail.msg and not _may_name_categories(mail):
            return None
        categories = report_field(mail, _CATEGORY)
        if not categories and "X-PowerMTA-VirtualMTA" not in mail.msg:
            return None
        found = []
        for facts in parse_delivery_status(mail) or []:
            reason = _REASONS.get(categories.get(facts.recipient.lower(), "").lower())
            found.append(facts.amended(reason_hint=facts.reason_hint or reason))
        return found or None


def _may_name_categories(mail: Mail) -> bool:
    """False only when ``report_field(mail, _CATEGORY)`` is empty: no delivery-status group
    has a field of that name (whose ``lower()`` is the name's, so the lower-cased part text
    holds it). Most reports are not PowerMTA's; this skips building their groups (issue 3)."""
    wanted = _CATEGORY.lower()
    for part, kind in mail.parts():
        if kind not in _DSN_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            # ``_CATEGORY in group``: names compared lower-cased, as ``report_field`` reads
            # them, by ``map`` in C (``in`` on the group built each one a header index that
            # nothing else reads).
            if any(
                wanted in map(str.lower, group.keys())
                for group in payload
                if isinstance(group, Message)
            ):
                return True
        elif wanted in mail.part_text(part).lower():
            return True
    return False


DETECTOR = PowerMtaDetector()
