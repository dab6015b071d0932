"""RFC 5965 Abuse Reporting Format: feedback reports -> ``kind: complaint``.

The complained-about recipient is ``Original-Rcpt-To`` (or ``Removal-Recipient``) of the
``message/feedback-report`` part, else the ``To`` of the returned original. Hotmail's older
loop (JMRP) sends the original as a bare ``message/rfc822`` with ``X-HmXmrOriginalRecipient``.
"""

from __future__ import annotations

import re
from email import message_from_string
from email._policybase import compat32  # email.policy's, without importing email.policy
from email.message import Message

from mailbounce.bounces.base import Mail, part_text
from mailbounce.bounces.rfc3464 import clean_address, strip_type
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_FEEDBACK = "message/feedback-report"
_FIELD = lazy_compile(r"^([A-Za-z][\w-]*):[ \t]*(.*)$", re.M)
_HOTMAIL_RECIPIENT = "X-HmXmrOriginalRecipient"


def _report_fields(part: Message) -> dict[str, list[str]]:
    payload = part.get_payload()
    if isinstance(payload, list):
        text = "".join(
            "".join(f"{k}: {v}\n" for k, v in block.items())
            for block in payload
            if isinstance(block, Message)
        )
    else:
        text = part_text(part)
    fields: dict[str, list[str]] = {}
    for match in _FIELD.finditer(text):
        fields.setdefault(match.group(1).lower(), []).append(match.group(2).strip())
    return fields


def _original_headers(mail: Mail, having: str | None = None) -> Message | None:
    """The returned original's headers (the first such part). With ``having``: None as well
    when the original is header text that cannot hold that field (its name lower-cased is
    not in the text lower-cased), which skips parsing the text (issue 3: DSNs carry one)."""
    for part, kind in mail.parts():  # ``msg.walk()`` order, content types read once
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
        if kind in ("text/rfc822-headers", "message/rfc822-headers"):
            text = mail.part_text(part)
            if having is not None and having.lower() not in text.lower():
                return None
            return message_from_string(text, policy=compat32)
    return None


class ArfDetector:
    name = "arf"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        msg = mail.msg
        if msg.get_content_maintype() != "multipart":
            return None
        report = next((p for p, kind in mail.parts() if kind == _FEEDBACK), None)
        if report is None:
            return self._hotmail(mail)
        fields = _report_fields(report)
        original = _original_headers(mail)
        recipients = [
            address
            for value in fields.get("original-rcpt-to", []) + fields.get("removal-recipient", [])
            if (address := clean_address(value))
        ]
        if not recipients and original is not None:
            recipients = [a for a in (clean_address(str(original.get("To", ""))),) if a]
        if not recipients:
            # Many loops redact the recipient ("To: undisclosed"): the complaint still counts,
            # correlated by the tracking token or the original Message-ID instead.
            recipients = [""]
        feedback_type = (fields.get("feedback-type") or ["other"])[0].lower() or "other"
        reporting = strip_type((fields.get("reporting-mta") or [""])[0]) or None
        diagnostic = " ".join(fields.get("auth-failure", []) + fields.get("delivery-result", []))
        return [
            BounceFacts(
                recipient=address,
                diagnostic=diagnostic,
                reporting_mta=reporting,
                feedback_type=feedback_type,
                reason_hint=Reason.FEEDBACK,
            )
            for address in dict.fromkeys(recipients)
        ]

    @staticmethod
    def _hotmail(mail: Mail) -> list[BounceFacts] | None:
        """Hotmail/Outlook.com JMRP complaint: the original alone, marked by its own header."""
        original = _original_headers(mail, having=_HOTMAIL_RECIPIENT)
        if original is None or original.get(_HOTMAIL_RECIPIENT) is None:
            return None
        address = clean_address(str(original.get(_HOTMAIL_RECIPIENT)))
        if not address:
            return None
        return [BounceFacts(recipient=address, feedback_type="abuse", reason_hint=Reason.FEEDBACK)]


DETECTOR = ArfDetector()
