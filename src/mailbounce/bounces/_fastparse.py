"""A MIME splitter that builds the very tree ``email``'s feedparser builds, or declines (issue 3).

The compat32 feedparser reads a message line by line in pure Python: on the DEV corpus it
alone spent about the whole per-message budget of the "2x flufl.bounce" benchmark. This module
finds header blocks with one regex, delimiter lines with ``str.find``, and builds the same
``IndexedMessage`` objects: the same ``_headers`` (as ``Compat32.header_source_parse`` makes
them), ``_payload``, ``preamble``, ``epilogue``, ``_default_type``, ``_unixfrom`` and defects.
The defects of truncated or sloppy reports (no close delimiter, no start delimiter, no
boundary, a body line right after the headers) are reproduced; where the feedparser does
something more unusual (pushes an envelope line back, merges doubled delimiters, nests a part
in a status block) ``parse_message`` returns None and the caller uses the feedparser. Only LF
line endings are handled (``analyse_message`` normalises them first); a CR anywhere declines.

The MIME depth and part-count caps (``limits.ParseLimits``) are enforced here, on the tree
itself: a part past either cap is never read, ``UnparseableMessage`` is raised with the
quarantine reason instead (issue 3, "Safety limits"; the raw scan that stood before the
parse cost a sixth of it, mostly lower-casing the whole message).

The rules followed are those of ``email/feedparser.py`` ``FeedParser._parsegen`` (Python 3.11):

- headers: lines matching ``headerRE`` up to the first blank line; a first line starting with
  ``From `` is the envelope (``_unixfrom``); any other line ends the block and starts the body
  (``MissingHeaderBodySeparatorDefect``).
- a line is a delimiter of the enclosing multipart when it is ``--boundary``, optionally ``--``,
  optional blanks, end of line (RFC 2046 5.1.1); the line ending before it belongs to it, so
  the part before (its innermost last message, as the feedparser's ``_last``) loses one.
- ``message/delivery-status``: header blocks separated by one blank line, each a message
  (RFC 3464 2.1); other ``message/*``: one nested message; ``multipart/digest`` children
  default to ``message/rfc822`` (RFC 2046 5.1.5).
"""

from __future__ import annotations

import re
from email.errors import (
    CloseBoundaryNotFoundDefect,
    InvalidMultipartContentTransferEncodingDefect,
    MisplacedEnvelopeHeaderDefect,
    MissingHeaderBodySeparatorDefect,
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
)
from email.message import Message

from mailbounce.bounces._contenttype import _boundary, _content_type, _content_type_of
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces.limits import (
    DEFAULT_LIMITS,
    ParseLimits,
    UnparseableMessage,
    depth_exceeded,
    parts_exceeded,
)

__all__ = ["parse_message"]

# A header block: field lines (a name of printable ASCII but ':' and a colon, RFC 5322 3.6.8,
# the feedparser's ``headerRE``) each with its continuation lines (starting with a blank).
_FIELD_LINES = r"[\x21-\x39\x3b-\x7e]+:[^\n]*(?:\n[ \t][^\n]*)*(?:\n|\Z)"
_HEADER_BLOCK = re.compile(f"(?:{_FIELD_LINES})*")
# (name, value) as ``Compat32.header_source_parse`` gives them: the value without the blanks
# after the colon and without its final line ending.
_FIELD = re.compile(r"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)\n?")
# ``_FIELD`` (possessive: it never backtracks there) or, from a line that is no field line,
# all the rest: over lines up to a blank one, ``findall`` gives the fields, then ("", "") last
# when a line ends the header block early (one look at the last pair tells; a scan of the
# list for it cost ~3% of the parse, callgrind).
_FIELD_OR_LINE = re.compile(
    r"([\x21-\x39\x3b-\x7e]++):[ \t]*+([^\n]*+(?:\n[ \t][^\n]*+)*+)\n?|(?s:.)++"
)
_NOT_A_FIELD = ("", "")
# Lines the feedparser's ``headerRE`` takes as header lines that ``_FIELD_LINES`` does not.
_HEADER_SHAPED = ("From ", " ", "\t", ":")
_PLAIN_TRANSFER_ENCODINGS = ("7bit", "8bit", "binary")
# Deeper nesting (a ``max_depth`` configured above it) is left to the feedparser, which the
# raw scan of the limits guards: two frames a level here stay far below Python's recursion
# limit.
_MAX_DEPTH = 40


class _Decline(Exception):
    """The feedparser would do something this splitter does not reproduce."""


def parse_message(raw: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> IndexedMessage | None:
    """The compat32 tree ``email.message_from_bytes(raw, IndexedMessage)`` builds, or None
    when the message has anything this splitter does not reproduce exactly (CR line endings,
    doubled delimiters, misplaced envelope lines...).

    Raises ``UnparseableMessage`` as soon as a part would be nested deeper than
    ``limits.max_depth`` (multipart and ``message/*`` parts around it) or would be the
    part past ``limits.max_parts`` below the top, before reading it: a hostile message costs
    no more parts, recursion or time than the caps allow (issue 3, "Safety limits")."""
    if b"\r" in raw:
        return None
    text = raw.decode("ascii", "surrogateescape")  # as BytesParser decodes
    order: list[tuple[Message, str]] = []
    try:
        msg = _parse_part(text, 0, len(text), False, 0, False, order, limits)
    except _Decline:
        return None
    if msg.get_content_type().startswith("multipart/") and not msg.is_multipart():
        msg.defects.append(MultipartInvariantViolationDefect())  # as ``FeedParser.close``
    # The parts below the top in ``walk()`` order with their content types, as the split
    # met them: ``Mail.parts`` reads it instead of walking the tree again and asking each
    # part its type. The top itself is left out: a list on it holding it would make every
    # tree a reference cycle, freed by the garbage collector rather than at once.
    msg._parts_below = order[1:]  # type: ignore[attr-defined]
    return msg


def _parse_part(
    text: str,
    start: int,
    end: int,
    digest_child: bool,
    depth: int,
    trim: bool,
    order: list[tuple[Message, str]],
    limits: ParseLimits,
) -> IndexedMessage:
    """The message in ``text[start:end]``, ``depth`` multipart or ``message/*`` parts deep.
    ``trim``: a delimiter follows, and the line ending before it belongs to it (RFC 2046
    5.1.1): the feedparser takes it from the innermost last message (its ``_last``: its
    epilogue if a multipart, else its text), here left out of the slice made for it rather
    than cut off a copy afterwards. ``order``: each part made is appended with its content
    type, before its own parts (``walk()`` order); its length is the parts made so far."""
    if depth > limits.max_depth:
        raise UnparseableMessage(depth_exceeded(limits))
    if len(order) > limits.max_parts:  # the top and ``max_parts`` parts below it made
        raise UnparseableMessage(parts_exceeded(limits))
    if depth > _MAX_DEPTH:
        raise _Decline("nesting depth")
    msg = IndexedMessage()
    if digest_child:
        msg._default_type = "message/rfc822"  # type: ignore[attr-defined]
    body = _read_headers(msg, text, start, end)
    # The raw values of the first Content-Type and Content-Transfer-Encoding fields, as
    # ``Message.get`` picks them: the top's from its header index, built now (the detectors
    # ask its headers by name in every message), the others' in one pass without an index
    # (most parts are never asked for another header).
    if depth:
        value = encoding = None
        for field, field_value in msg._headers:  # type: ignore[attr-defined]
            length = len(field)
            if length == 12:
                if value is None and field.lower() == "content-type":
                    value = field_value
            elif length == 25 and encoding is None and field.lower() == "content-transfer-encoding":
                encoding = field_value
    else:
        index = msg._header_index()
        value = index.get("content-type")
        encoding = index.get("content-transfer-encoding")
    ctype = _content_type_of(msg, value)
    order.append((msg, ctype))
    if ctype.startswith("message/"):
        if ctype == "message/delivery-status":
            if depth >= limits.max_depth:  # its groups (one at least) are a level deeper
                raise UnparseableMessage(depth_exceeded(limits))
            _parse_status_blocks(msg, text, body, end, trim, order, limits)
        else:
            inner = _parse_part(text, body, end, False, depth + 1, trim, order, limits)
            msg._payload = [inner]  # type: ignore[attr-defined]
    elif ctype.startswith("multipart/"):
        _parse_multipart(msg, (ctype, value, encoding), text, body, end, depth, order, limits)
        if trim:
            _drop_epilogue_line_ending(msg)
    elif trim and text.endswith("\n", body, end):
        msg._payload = text[body : end - 1]  # type: ignore[attr-defined]
    else:
        msg._payload = text[body:end]  # type: ignore[attr-defined]
    return msg


def _read_headers(
    msg: IndexedMessage, text: str, start: int, end: int, envelope_lines: bool = True
) -> int:
    """Set ``msg``'s envelope line and headers from ``text[start:end]``; where the body starts.
    ``envelope_lines``: whether a misplaced envelope line may be skipped (not in a status
    block, where a defect means a body line)."""
    pos = start
    # The first character tells most blocks apart without a ``startswith`` (its arguments
    # are parsed the slow way: a sixteenth of the parse went to parsing them, callgrind).
    first = text[start] if start < end else ""
    if first == "F" and text.startswith("From ", start, end):
        newline = text.find("\n", start, end)
        line_end = end if newline < 0 else newline
        msg.set_unixfrom(text[start:line_end])
        pos = line_end if newline < 0 else newline + 1
        first = text[pos] if pos < end else ""
    if first == "\n":
        msg._headers = []  # type: ignore[attr-defined]  # no field: the body follows
        return pos + 1
    blank = text.find("\n\n", pos, end)
    if blank >= 0:
        # The usual block, field lines up to a blank line, read in one pass (two before:
        # ``_HEADER_BLOCK`` then ``_FIELD``, a third of the parse's time).
        fields = _FIELD_OR_LINE.findall(text, pos, blank + 1)
        if fields[-1] != _NOT_A_FIELD:
            msg._headers = fields  # type: ignore[attr-defined]
            return blank + 2
    block_end = _HEADER_BLOCK.match(text, pos, end).end()  # type: ignore[union-attr]
    fields = _FIELD.findall(text, pos, block_end)
    misplaced: list[MisplacedEnvelopeHeaderDefect] = []
    if envelope_lines:
        block_end = _skip_envelope_lines(text, block_end, end, fields, misplaced)
    msg._headers = fields  # type: ignore[attr-defined]
    if block_end == end:
        # A header line ending the text lacks its newline: ``\Z`` took it, ``\n?`` does too.
        msg.defects.extend(misplaced)
        return end
    if text[block_end] == "\n":
        msg.defects.extend(misplaced)
        return block_end + 1
    if text.startswith(_HEADER_SHAPED, block_end, end):
        # An envelope line that is the block's last header line (the feedparser pushes it
        # back into the body), a first line that is a continuation, a field without a name:
        # the feedparser keeps them among the headers, with special cases.
        raise _Decline("header line")
    # Any other line ends the headers without a blank line: it starts the body (a defect,
    # noted by the feedparser before those of the header lines).
    msg.defects.append(MissingHeaderBodySeparatorDefect())
    msg.defects.extend(misplaced)
    return block_end


def _skip_envelope_lines(
    text: str,
    block_end: int,
    end: int,
    fields: list[tuple[str, str]],
    misplaced: list[MisplacedEnvelopeHeaderDefect],
) -> int:
    """Past each ``From `` line among the header lines that a field line follows: the
    feedparser notes it as a misplaced envelope line and drops it (``_parse_headers``), the
    fields after it are read on. Seen where a header was written before a saved message's
    own envelope line (an mbox message given a Message-ID line first). Where the header
    block now ends."""
    while text.startswith("From ", block_end, end):
        newline = text.find("\n", block_end, end)
        if newline < 0:
            return block_end  # the block's last line: left to the caller (it declines)
        after = _HEADER_BLOCK.match(text, newline + 1, end).end()  # type: ignore[union-attr]
        if after == newline + 1:
            return block_end  # no field line follows it: its last header line, or a fold
        misplaced.append(MisplacedEnvelopeHeaderDefect(text[block_end : newline + 1]))
        fields += _FIELD.findall(text, newline + 1, after)
        block_end = after
    return block_end


def _parse_status_blocks(
    msg: IndexedMessage,
    text: str,
    start: int,
    end: int,
    trim: bool,
    order: list[tuple[Message, str]],
    limits: ParseLimits,
) -> None:
    """RFC 3464 header blocks: each ends at a blank line (the feedparser's ``NLCRE`` false end);
    one blank line is consumed after a block, another starts an empty block. ``trim``,
    ``order`` and ``limits``: as ``_parse_part``'s, ``trim`` for the last block; each block
    is a part."""
    blocks: list[Message] = []
    pos = start
    while True:
        if len(order) > limits.max_parts:
            raise UnparseableMessage(parts_exceeded(limits))
        block = IndexedMessage()
        after = _read_headers(block, text, pos, end, False)  # past the blank line, or ``end``
        block_type = _content_type(block)
        if block_type.startswith(("message/", "multipart/")):
            raise _Decline("nested status block")  # a block that nests: not a status block
        order.append((block, block_type))
        if block.defects:
            # A line that is no field ended the headers: it starts a body that runs to the
            # next blank line.
            blank = text.find("\n\n", after, end)
            body_end = end if blank < 0 else blank + 1
            stop = body_end
            if body_end + 1 >= end and trim and text.endswith("\n", after, body_end):
                stop -= 1  # the last block's line ending belongs to the next delimiter
            block._payload = text[after:stop]  # type: ignore[attr-defined]
            after = min(body_end + 1, end)
        else:
            block._payload = ""  # type: ignore[attr-defined]  # its body ends at the blank line
        blocks.append(block)
        if after >= end:  # the text ended in the block, or with its blank line
            break
        pos = after
    msg._payload = blocks  # type: ignore[attr-defined]


def _parse_multipart(
    msg: IndexedMessage,
    fields: tuple[str, str | None, str | None],
    text: str,
    start: int,
    end: int,
    depth: int,
    order: list[tuple[Message, str]],
    limits: ParseLimits,
) -> None:
    """``fields``: the content type, and the raw Content-Type and -Transfer-Encoding.
    ``order`` and ``limits``: as ``_parse_part``'s."""
    ctype, value, encoding = fields
    boundary = _boundary(msg, value)
    if boundary is None:
        # No boundary: the whole body is the text of a multipart (a defect).
        msg.defects.append(NoBoundaryInMultipartDefect())
        msg._payload = text[start:end]  # type: ignore[attr-defined]
        return
    if not boundary or "\n" in boundary:
        raise _Decline("boundary")
    if encoding is not None and not encoding.isascii():
        encoding = msg.get("content-transfer-encoding")  # compat32 makes it a ``Header``
    if encoding is not None and str(encoding).lower() not in _PLAIN_TRANSFER_ENCODINGS:
        msg.defects.append(InvalidMultipartContentTransferEncodingDefect())  # RFC 2045 6.4
    line_marker = "\n--" + boundary
    first = _next_delimiter(text, line_marker, start, end)
    if first is None or first[2]:
        # No delimiter before the end or the close delimiter: the text read is the payload,
        # what follows the close delimiter is dropped (a defect).
        msg.defects.append(StartBoundaryNotFoundDefect())
        msg._payload = text[start : end if first is None else first[0]]  # type: ignore[attr-defined]
        msg.epilogue = ""
        return
    if first[0] > start:
        msg.preamble = text[start : first[0] - 1]
    digest = ctype == "multipart/digest"
    parts: list[Message] = []
    line_end = first[1]
    while True:
        part_start = min(line_end + 1, end)
        following = _next_delimiter(text, line_marker, part_start, end)
        if following is not None and following[0] == part_start:
            raise _Decline("doubled delimiter")  # the feedparser merges them
        part_end = end if following is None else following[0]
        parts.append(
            _parse_part(text, part_start, part_end, digest, depth + 1, True, order, limits)
        )
        if following is None:
            # A truncated report: the last part runs to the end, no epilogue, a defect.
            msg._payload = parts  # type: ignore[attr-defined]
            msg.defects.append(CloseBoundaryNotFoundDefect())
            return
        _, line_end, closing = following
        if closing:
            break
    msg._payload = parts  # type: ignore[attr-defined]
    msg.epilogue = text[min(line_end + 1, end) : end]


def _next_delimiter(
    text: str, line_marker: str, start: int, end: int
) -> tuple[int, int, bool] | None:
    """The first delimiter line in ``text[start:end]`` (``start`` at a line start): its start,
    its end (at its newline or ``end``) and whether it closes. As the feedparser's
    ``boundaryre``: ``--boundary``, then ``--`` or not, blanks, the end of the line. Found with
    ``str.find``: a regex per boundary costs a compilation per message. ``line_marker``: a
    newline, then ``--boundary``."""
    marker_length = len(line_marker) - 1
    if start and text[start - 1] == "\n":
        # The line ending before ``start`` lets one search find a delimiter at ``start`` too.
        newline = text.find(line_marker, start - 1, end)
        if newline < 0:
            return None
        found = newline + 1
    elif text.startswith(line_marker[1:], start, end):
        found = start
    else:
        newline = text.find(line_marker, start, end)
        if newline < 0:
            return None
        found = newline + 1
    while True:
        line_end = text.find("\n", found, end)
        if line_end < 0:
            line_end = end
        rest = text[found + marker_length : line_end].rstrip(" \t")
        if not rest or rest == "--":
            return found, line_end, bool(rest)
        newline = text.find(line_marker, line_end, end)
        if newline < 0:
            return None
        found = newline + 1


def _drop_epilogue_line_ending(msg: IndexedMessage) -> None:
    """A multipart's part of ``_parse_part``'s ``trim``: its epilogue loses its line ending
    (an empty one becomes None, as the feedparser leaves it)."""
    epilogue = msg.epilogue
    if epilogue == "":
        msg.epilogue = None
    elif epilogue is not None and epilogue.endswith("\n"):
        msg.epilogue = epilogue[:-1]
