"""Header values for composed messages: safe text, RFC 2047 encoded-words, mailboxes.

A value from a list can never start a new header line: CR, LF and the other line
separators are turned into spaces in every header value (header injection). Non-ASCII
header text goes out as RFC 2047 B encoded-words, folded, never splitting a character.
"""

from __future__ import annotations

import binascii
import re
from email.utils import parseaddr

from mailbounce.errors import ConfigError

# Line breaks of every kind (str.splitlines' set) and the other control characters.
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
# RFC 2047 §2: an encoded-word is at most 75 characters; "=?utf-8?b?" + "?=" take 12.
_WORD_BYTES = 45
_MAX_RAW_HEADER = 900
_b2a_base64 = binascii.b2a_base64


def header_text(value: str) -> str:
    """A value safe for one header: line breaks and controls become spaces, runs one."""
    # Most values are already so: printable (no control, line or paragraph separator; the
    # only printable white space is the ASCII space) with single inner spaces.
    if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
        return value
    return " ".join(_LINE_BREAKS.sub(" ", value).split())


def encode_words(text: str) -> str:
    """RFC 2047 B encoded-words, folded (CRLF SP), never splitting a character (§5)."""
    data = text.encode("utf-8")
    if len(data) <= _WORD_BYTES:  # a name or a short subject: one word
        return _word(data)
    words: list[str] = []
    start = 0
    while True:
        end = min(start + _WORD_BYTES, len(data))
        # Back off to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1
        words.append(_word(data[start:end]))
        start = end
        if start >= len(data):
            return "\r\n ".join(words)


def _word(data: bytes | bytearray) -> str:
    # binascii directly: base64.b64encode is a Python wrapper around the same call.
    return "=?utf-8?b?" + binascii.b2a_base64(data, newline=False).decode("ascii") + "?="


def unstructured(value: str) -> str:
    """An unstructured header value (Subject...): raw ASCII when it can be, else encoded."""
    text = header_text(value)
    if text.isascii() and "=?" not in text and len(text) <= _MAX_RAW_HEADER:
        return text
    data = text.encode("utf-8")
    if len(data) <= _WORD_BYTES:  # ``encode_words``' one word, without its calls
        return "=?utf-8?b?" + _b2a_base64(data, newline=False).decode("ascii") + "?="
    return encode_words(text)


def phrase(name: str) -> str:
    """A display name: raw atoms, a quoted string, or encoded-words (RFC 5322 §3.2.5)."""
    return _phrase(header_text(name))


def _phrase(text: str) -> str:
    """``phrase`` of a text already through ``header_text``."""
    if not text.isascii() or "=?" in text or len(text) > _MAX_RAW_HEADER:
        return encode_words(text)
    if _SPECIALS.search(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def mailbox(name: str | None, address: str) -> str:
    """``Name <address>``, or the bare address when there is no name."""
    # An address from a list is usually printable, without a space or an angle bracket:
    # ``header_text`` and the removals would give it back unchanged.
    if " " in address or "<" in address or ">" in address or not address.isprintable():
        address = header_text(address).replace("<", "").replace(">", "").replace(" ", "")
    text = header_text(name) if name else ""
    if not text:
        return address
    if text.isascii():
        return f"{_phrase(text)} <{address}>"
    data = text.encode("utf-8")
    if len(data) <= _WORD_BYTES:  # a name with accents: ``_phrase``'s one encoded-word
        return (
            "=?utf-8?b?" + _b2a_base64(data, newline=False).decode("ascii") + "?= <" + address + ">"
        )
    return f"{encode_words(text)} <{address}>"


def parse_mailbox(value: str, what: str) -> str:
    name, address = parseaddr(header_text(value))
    if "@" not in address:
        raise ConfigError(f"the {what} address {value!r} is not an e-mail address")
    return mailbox(name, address)
