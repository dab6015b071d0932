"""Detector gates written as data: where a detector's own marks must be (issue 3).

Some 70 detectors are asked in turn, and most answer None after looking for their marks (a
sender, a subject, an X-Mailer, a Received trace, a lead sentence in the body). A gate lists
those looks as ``Marker(field, pattern, limit)``: the same pattern on the same field as the
first test of ``detect``. ``Markers.__call__`` answers False only when none of the patterns
can match: each needs one literal of each of its sets (``regex_literals.literal_sets``),
looked up with ``str.find`` in the field lower-cased once per message (``folded``), so no
regex runs and no answer changes. A pattern whose literals cannot be read, or a field whose
text ``folded`` cannot lower-case exactly, makes the gate say True: ``detect`` decides.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from typing import SupportsIndex

from mailbounce.bounces._mailtexts import NOT_FOLDED, body_lowered, body_text, received_joined
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces._prefilter import folded, folds_exactly
from mailbounce.bounces.base import Mail
from mailbounce.regex_literals import literal_sets

BODY = "body"  # ``_mailtexts.body_text``
RECEIVED = "received"  # every Received header of the bounce itself, joined
PRESENT = re.compile("")  # a header field that is there at all (any value)
PRESENCE = "present:"  # the view key prefix of a ``PRESENT`` marker's header


@dataclass(frozen=True)
class Marker:
    """``pattern.search(text[:limit])`` on one field: ``BODY``, ``RECEIVED``, or a header's
    decoded value (``Mail.header``); ``PRESENT`` for a header that is merely there."""

    field: str
    pattern: re.Pattern[str]
    limit: int | None = None


# (view key, 1 to compare lower-cased else 0, limit, literal sets: one of each must be there).
_Check = tuple[str, int, int | None, tuple[tuple[str, ...], ...]]


class Markers:
    """A gate: True when one of the markers may match (callable, so not bound as a method)."""

    def __init__(self, *markers: Marker, also: Markers | None = None) -> None:
        # ``also``: a second test ``detect`` makes after the first (both must pass).
        self.markers = markers
        self.also = also
        checks = [_check(m) for m in markers]
        # A pattern without a literal to look for could match anything: always ask detect.
        self.always = any(sets is None for _, _, _, sets in checks)
        self._checks: tuple[_Check, ...] = tuple(
            (key, lowered, limit, sets)
            for key, lowered, limit, sets in checks
            if sets is not None and not self.always
        )

    def __call__(self, mail: Mail) -> bool:
        views = mail._views
        passed = self.always
        for key, lowered, limit, sets in self._checks:
            view = views.get(key)
            if view is None:
                view = views[key] = _view(mail, key)
            text = view[lowered]
            if text is None or _holds(text, limit, sets):
                passed = True
                break
        if not passed:
            return False
        return self.also is None or self.also(mail)


def _holds(text: str, limit: int | None, sets: tuple[tuple[str, ...], ...]) -> bool:
    """Whether ``text[:limit]`` holds a literal of each set (``str.find`` within the limit:
    ``folded`` keeps one character for one, so the lower-cased view cuts alike)."""
    for literals in sets:
        for literal in literals:
            if (literal in text) if limit is None else (text.find(literal, 0, limit) != -1):
                break
        else:
            return False  # no literal of this set: the pattern cannot match here
    return True


def _check(marker: Marker) -> tuple[str, int, int | None, tuple[tuple[str, ...], ...] | None]:
    if marker.pattern is PRESENT:
        # The view of a header's presence is "1" when it is there, "" when not.
        return (PRESENCE + marker.field.lower(), 0, None, (("1",),))
    lowered = 1 if marker.pattern.flags & re.IGNORECASE else 0
    sets = literal_sets(marker.pattern)
    if sets is not None:
        sets = tuple(_shortest(one) for one in sets)
    return (marker.field.lower(), lowered, marker.limit, sets)


def _shortest(literals: tuple[str, ...]) -> tuple[str, ...]:
    """A set without the literals that hold another of it ("googlemail" beside "google"):
    a text holds one of the set exactly when it holds one of the others (fewer look-ups)."""
    return tuple(
        one for one in literals if not any(other != one and other in one for other in literals)
    )


_THERE = ("1", "1")  # the view of a header that is there
_ABSENT = ("", "")


def _view(mail: Mail, key: str) -> tuple[str, str | None]:
    """A field's text and its exact lower-cased form (None when it has none)."""
    if key == BODY:
        # The lower-cased body the detectors' own look-ups use, not a second copy.
        text = body_text(mail)
        lowered = body_lowered(mail, text)
        return text, None if lowered is NOT_FOLDED else lowered
    if key == RECEIVED:
        text, lowered = received_joined(mail)  # ``lowered`` is ``text.lower()``
        return text, lowered if folds_exactly(text) else None
    if key.startswith(PRESENCE):
        return _THERE if key[len(PRESENCE) :] in mail.msg else _ABSENT
    text = mail.header(header_name(key))
    return text, folded(text)


class _Unsure(str):
    """The text of a view without an exact lower-cased form: every literal may be there
    (``in`` holds, ``find`` finds it at 0, its head is itself), so each check on it says
    True as ``Markers`` does for None, without a test of its own in every generated check."""

    __slots__ = ()

    def __contains__(self, literal: object) -> bool:
        return True

    def find(self, *_: object) -> int:
        return 0

    def __getitem__(self, _: SupportsIndex | slice) -> str:
        return self  # ``text[:limit]``, the head ``asked`` looks in


UNSURE = _Unsure()


def present_text(mail: Mail, key: str, lowered: int) -> str:
    """The text of a view known to be there, as ``Markers`` reads it: a composed one
    (``BODY``, ``RECEIVED``) or a header the message has. The view is built on first use and
    kept on ``mail``, lower-cased or not; ``UNSURE`` where ``_view`` gives None. The
    generated gates (``_dispatch``) read the same texts through ``composed_text`` and
    ``header_text`` (tests hold them to this one)."""
    view = mail._views.get(key)
    if view is None:
        view = mail._views[key] = _view(mail, key)
    text = view[lowered]
    return UNSURE if text is None else text


def header_text(mail: Mail, name: str, lowered: int) -> str:
    """``present_text`` for a header the message has (``name`` as ``header_name`` gives
    it), without a view: its decoded value (``Mail.header``, cached there, where the
    detectors read it), lower-cased when ``lowered``; ``UNSURE`` where ``folded`` has no
    exact form. ``asked`` fetches each text once into a local, so the view tuple kept on
    ``mail`` served no one (round 8: ~6 headers a message, a call, a tuple and a dict entry
    each)."""
    text = mail.header(name)
    if not lowered:
        return text
    if text.isascii():
        return text.lower()  # what ``folded`` gives for it
    low = folded(text)
    return UNSURE if low is None else low


def composed_text(mail: Mail, key: str, lowered: int) -> str:
    """``present_text`` for ``BODY`` or ``RECEIVED`` without a view: the texts ``_mailtexts``
    caches on ``mail`` for the detectors, read as ``_view`` reads them (``asked`` keeps each
    in a local: the view tuple and its entry in ``mail._views`` served no one, round 8)."""
    if key == BODY:
        text = body_text(mail)
        if not lowered:
            return text
        low = body_lowered(mail, text)
        return UNSURE if low is NOT_FOLDED else low
    text, low = received_joined(mail)  # ``key`` is ``RECEIVED``
    if not lowered:
        return text
    return low if folds_exactly(text) else UNSURE


# A header's name as the detectors and the analysis ask ``Mail.header`` for it, which caches
# the decoded value by the name as asked: the gates ask the same, so a value is decoded once
# (an RFC 2047 Subject or From decodes in pure Python, the email package's slow path).
_AS_ASKED = {
    "from": "From",
    "subject": "Subject",
    "x-mailer": "X-Mailer",
    "message-id": "Message-ID",
}


def header_name(key: str) -> str:
    """The name the gates give ``Mail.header`` for the header of view ``key``."""
    return _AS_ASKED.get(key, key)


COMPOSED = frozenset({BODY, RECEIVED})  # the view keys that are not a header's name


def header_names(mail: Mail) -> Container[str]:
    """The message's header names lower-cased: ``name in mail.msg`` is ``name.lower()`` in
    them (compat32 ``Message.__contains__``), answered from the header index when there is
    one (one look-up per presence check instead of a view each, round 4)."""
    msg = mail.msg
    if isinstance(msg, IndexedMessage):
        return msg._header_index()
    return {name.lower() for name in msg}  # ``Message`` iterates over its names
