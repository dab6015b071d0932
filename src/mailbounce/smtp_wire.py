"""SMTP wire encoding: the DATA payload (RFC 5321 §2.3.8, §4.5.2), replies read out of what
a connection received (§4.2), and reply text as one line."""

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
    # Most replies are so already: printable (the only printable white space is the ASCII
    # space), single inner spaces, none at the ends.
    if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
        return value
    return " ".join(value.split())


def next_reply(buffer: bytes) -> tuple[int, bytes, bytes] | None:
    """The next complete reply at the start of ``buffer``: (code, text, the rest of the
    buffer), or None while it is incomplete.

    As smtplib's ``getreply``: ``ddd-`` lines continue, ``ddd `` ends; a line without a
    numeric code ends the reply with code -1.
    """
    end = buffer.find(b"\n")
    if end < 0:
        return None
    if end >= 3 and buffer[3:4] != b"-":  # a one-line reply: most are
        try:
            code = int(buffer[:3])
        except ValueError:
            code = -1
        return code, buffer[4:end].strip(b" \t\r\n"), buffer[end + 1 :]
    position = 0
    lines: list[bytes] = []
    while True:
        end = buffer.find(b"\n", position)
        if end < 0:
            return None
        line = buffer[position:end]
        position = end + 1
        lines.append(line[4:].strip(b" \t\r\n"))
        try:
            code = int(line[:3])
        except ValueError:
            code = -1
            break
        if line[3:4] != b"-":
            break
    return code, b"\n".join(lines), buffer[position:]
