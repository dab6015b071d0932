"""The Content-Type of a part as the fast MIME splitter reads it (issue 3, "Benchmark").

``_fastparse`` asks each part's type and each multipart's boundary while it splits: read here
from the raw field value, the way ``email.message.Message.get_content_type`` and
``get_boundary`` read it, without the standard library's parameter parser where the value's
parameters are plain (it asks the standard library for anything else).
"""

from __future__ import annotations

import re

from mailbounce.bounces._message import IndexedMessage

# A Content-Type value whose parameters ``_boundary`` reads itself: "type; name=value; ...",
# values a token or a quoted string without ``;``, ``\``, ``*`` or control characters, the
# type not the bare word "boundary" (read as a parameter by the standard library). Group 1:
# the value of the first parameter named "boundary" (every ";" there starts a parameter: a
# value holds none; the name is the whole token before the "="), matched in the same pass
# (a second search for it cost a third of ``_boundary``). Possessive: no part can match less
# for the rest to match (blanks, tokens and values exclude each other's first characters),
# so the same matches without backtrack states.
_BLANKS = r"[ \t\n]*+"
_TOKEN = r'[^\x00-\x20\x7f;"\\*=]++'
_VALUE = r'(?:"[^\x00-\x1f\x7f;"\\*]*+"|[^\x00-\x20\x7f;"\\*]*+)'
_BOUNDARY = r"[bB][oO][uU][nN][dD][aA][rR][yY]"
_PARAMETER = rf"(?:{_TOKEN}{_BLANKS}={_BLANKS}{_VALUE}{_BLANKS})?+"
_PLAIN_PARAMETERS = re.compile(
    rf"(?!{_BLANKS}{_BOUNDARY}{_BLANKS}(?:;|\Z)){_BLANKS}{_TOKEN}{_BLANKS}"
    rf"(?:;(?!{_BLANKS}{_BOUNDARY}{_BLANKS}=){_BLANKS}{_PARAMETER})*+"
    rf"(?:;{_BLANKS}{_BOUNDARY}{_BLANKS}={_BLANKS}({_VALUE}){_BLANKS}(?:;{_BLANKS}{_PARAMETER})*+)?+"
    r"\Z"
)


def _first_field(msg: IndexedMessage, name: str) -> str | None:
    """The raw value of ``msg``'s first field ``name`` (lower case), as ``Message.get`` picks
    it, without building the header index (most parts are never asked for another header)."""
    length = len(name)
    for field, value in msg._headers:  # type: ignore[attr-defined]
        if len(field) == length and field.lower() == name:
            return value  # type: ignore[no-any-return]
    return None


def _content_type(msg: IndexedMessage) -> str:
    """``msg.get_content_type()``, kept as ``IndexedMessage``'s cache."""
    return _content_type_of(msg, _first_field(msg, "content-type"))


def _content_type_of(msg: IndexedMessage, value: str | None) -> str:
    """``_content_type`` given the raw value of ``msg``'s first Content-Type field."""
    if value is None:
        ctype: str = msg._default_type  # type: ignore[attr-defined]  # get_default_type()
    elif not value.isascii():
        return msg.get_content_type()  # compat32 turns 8-bit bytes into a ``Header``: ask it
    else:
        ctype = value.partition(";")[0].strip().lower()  # as ``email.message._splitparam``
        if ctype.count("/") != 1:
            ctype = "text/plain"  # RFC 2045 5.2, as ``get_content_type``
    msg._content_type = ctype
    msg._content_type_length = len(msg._headers)  # type: ignore[attr-defined]
    return ctype


def _boundary(msg: IndexedMessage, value: str | None = None) -> str | None:
    """``msg.get_boundary()``, computed directly for a Content-Type of plain parameters: no
    backslash, no RFC 2231 ``*``, no ``;`` or control character in a quoted value (there
    ``email.message._parseparam`` splits at each ``;``, ``decode_params`` only unquotes, and
    ``get_boundary`` unquotes again). Anything else asks ``get_boundary`` itself. ``value``:
    the raw Content-Type when the caller has it."""
    if value is None:
        value = _first_field(msg, "content-type")
    if value is None or not value.isascii():
        return msg.get_boundary()
    match = _PLAIN_PARAMETERS.match(value)
    if match is None:
        return msg.get_boundary()
    found = match.group(1)
    if found is None:
        return None
    return _unquoted(_unquoted(found)).rstrip()


def _unquoted(text: str) -> str:
    """``email.utils.unquote`` of a text without backslashes (its replacements do nothing)."""
    if len(text) > 1 and (
        (text[0] == '"' and text[-1] == '"') or (text[0] == "<" and text[-1] == ">")
    ):
        return text[1:-1]
    return text
