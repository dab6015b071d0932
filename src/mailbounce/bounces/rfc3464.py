"""RFC 3464 delivery status notifications: ``message/delivery-status`` per-recipient groups.

``parse_delivery_status`` is public so that MTA detectors whose format also carries a
delivery-status part reuse it and only add what their text knows better (shared picture).
"""

from __future__ import annotations

import re
from email.message import Message

from mailbounce.bounces.base import Mail, part_text
from mailbounce.classify import find_enhanced_status
from mailbounce.models import BounceFacts

_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ADDRESS = re.compile(r"<?([^\s<>\"';,()]+@[^\s<>\"';,()]+?)>?[.;,]?$")
_TYPED = re.compile(r"^\s*[\w-]+\s*;\s*(.*)$", re.S)
_REPLY_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?:[ -]|$)(?![.\d])")
_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
_WS = re.compile(r"\s+")


def clean_address(value: str) -> str:
    """``rfc822; <Jo@Example.org>`` -> ``Jo@Example.org`` (type prefix, brackets removed)."""
    typed = _TYPED.match(value)
    text = (typed.group(1) if typed else value).strip()
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1 : text.index(">", text.index("<"))]
    match = _ADDRESS.search(text.strip())
    return match.group(1).strip(".") if match else ""


def strip_type(value: str) -> str:
    """``smtp; 550 5.1.1 ...`` -> ``550 5.1.1 ...``, whitespace folded to single spaces."""
    typed = _TYPED.match(value)
    text = typed.group(1) if typed else value
    return _WS.sub(" ", text).strip()


def find_reply(text: str) -> str | None:
    """The first SMTP reply code standing alone in ``text`` (``550``), or None."""
    match = _REPLY_CODE.search(text)
    return match.group(1) if match else None


def best_status(status: str | None, diagnostic: str) -> str | None:
    """The most specific status: a code in the diagnostic beats a generic ``x.0.0`` field."""
    found = find_enhanced_status(diagnostic)
    if status and not _STATUS.match(status):
        status = None
    if status is None:
        return found
    status = _STATUS.match(status).group(0).strip()  # type: ignore[union-attr]
    if found and found[0] == status[0] and status.endswith(".0.0") and found != status:
        return found
    return status


def _fields(block: Message) -> dict[str, str]:
    return {key.lower(): str(value) for key, value in block.items()}


def _blocks(part: Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and not part.get("Content-Transfer-Encoding"):
        return [_fields(block) for block in payload if isinstance(block, Message)]
    return _blocks_from_text(part_text(part))


_FIELD = re.compile(r"^([A-Za-z][\w-]*)\s*:\s?(.*)$")


def _blocks_from_text(text: str) -> list[dict[str, str]]:
    """Field groups of a delivery-status body given as text (encoded or mis-typed parts)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
                current, last = {}, ""
            continue
        if line[0] in " \t" and last:
            current[last] += " " + line.strip()
            continue
        match = _FIELD.match(line)
        if match:
            last = match.group(1).lower()
            current[last] = match.group(2)
    if current:
        blocks.append(current)
    return blocks


def facts_from_fields(fields: dict[str, str], reporting_mta: str | None) -> BounceFacts | None:
    """One per-recipient group -> facts, or None without a usable recipient address."""
    recipient = clean_address(fields.get("final-recipient", "")) or clean_address(
        fields.get("original-recipient", "")
    )
    if not recipient:
        return None
    diagnostic = strip_type(fields.get("diagnostic-code", ""))
    status = best_status(fields.get("status", "").strip() or None, diagnostic)
    action = fields.get("action", "").strip().lower() or None
    remote = strip_type(fields.get("remote-mta", "")) or None
    return BounceFacts(
        recipient=recipient,
        action=action,
        status=status,
        replycode=find_reply(diagnostic),
        diagnostic=diagnostic,
        remote_mta=remote,
        reporting_mta=reporting_mta,
    )


def delivery_status_parts(msg: Message) -> list[Message]:
    """Every delivery-status part, nested reports included, in document order."""
    return [part for part in msg.walk() if part.get_content_type() in _DSN_TYPES]


def parse_delivery_status(mail: Mail) -> list[BounceFacts] | None:
    """Facts for each per-recipient group of the mail's first report with recipients."""
    for part in delivery_status_parts(mail.msg):
        blocks = _blocks(part)
        if not blocks:
            continue
        reporting = strip_type(blocks[0].get("reporting-mta", "")) or None
        facts = [f for f in (facts_from_fields(b, reporting) for b in blocks) if f is not None]
        if facts:
            return facts
    return None


class Rfc3464Detector:
    """Generic RFC 3464 DSN, after the MTA-specific detectors have passed."""

    name = "rfc3464"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        return parse_delivery_status(mail)


DETECTOR = Rfc3464Detector()
