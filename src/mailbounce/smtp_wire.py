"""SMTP wire encoding: the DATA payload (RFC 5321 §2.3.8, §4.5.2) and reply text as one line."""

from __future__ import annotations

import re

_BARE_EOL = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def wire_data(message: bytes) -> bytes:
    """The DATA payload: every line ending CRLF (no bare LF/CR, RFC 5321 §2.3.8), leading
    dots doubled (§4.5.2), and the terminating ``CRLF.CRLF``."""
    crlf = message.count(b"\r\n")
    if message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        message = _BARE_EOL.sub(b"\r\n", message)
    if message.startswith(b".") or b"\n." in message:
        message = _LEADING_DOT.sub(b"..", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message + b".\r\n"


def one_line(raw: bytes | str) -> str:
    """A reply's text with its line breaks and runs of spaces folded to single spaces."""
    value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return " ".join(value.split())
