"""``_addressblocks.leaf_texts`` walks the parts as the standard library's calls did (round 5:
``_payload`` and the cached content type instead of ``get_payload()`` and
``get_content_maintype()``): the same text on every sample and corpus message."""

from __future__ import annotations

import email
import email.policy
from email.message import Message
from pathlib import Path

from mailbounce.bounces import _normalise
from mailbounce.bounces._addressblocks import leaf_texts
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces.base import Mail

DATA = Path(__file__).resolve().parent / "data"
CORPUS = Path("/work/shared/corpus/bounces/maildir")
_ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/partial")


def _reference(mail: Mail) -> str:
    """``leaf_texts`` as it was."""
    texts: list[str] = []
    stack: list[Message] = [mail.msg]
    while stack:
        part = stack.pop(0)
        if part.get_content_type() in _ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack[:0] = [p for p in payload if not isinstance(p, str)]
        elif part.get_content_maintype() == "text" and part.get_content_type() != "text/html":
            texts.append(mail.part_text(part))
    return "\n".join(texts)


def test_leaf_texts_as_before() -> None:
    paths = sorted(DATA.rglob("*.eml")) + (sorted(CORPUS.rglob("*")) if CORPUS.is_dir() else [])
    for path in paths:
        if not path.is_file():
            continue
        raw = _normalise(path.read_bytes())
        for policy_class in (IndexedMessage, Message):
            msg = email.message_from_bytes(raw, policy_class, policy=email.policy.compat32)
            assert leaf_texts(Mail(msg)) == _reference(Mail(msg)), path.name
