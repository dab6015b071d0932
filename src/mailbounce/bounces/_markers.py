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
from dataclasses import dataclass

from mailbounce.bounces._prefilter import folded
from mailbounce.bounces._textblocks import body_text, received_joined
from mailbounce.bounces.base import Mail
from mailbounce.regex_literals import literal_sets

BODY = "body"  # ``_textblocks.body_text``
RECEIVED = "received"  # every Received header of the bounce itself, joined
PRESENT = re.compile("")  # a header field that is there at all (any value)


@dataclass(frozen=True)
class Marker:
    """``pattern.search(text[:limit])`` on one field: ``BODY``, ``RECEIVED``, or a header's
    decoded value (``Mail.header``); ``PRESENT`` for a header that is merely there."""

    field: str
    pattern: re.Pattern[str]
    limit: int | None = None


# (view key, limit, 1 to compare lower-cased else 0, literal sets: one of each must be there).
_Check = tuple[str, int | None, int, tuple[tuple[str, ...], ...]]


class Markers:
    """A gate: True when one of the markers may match (callable, so not bound as a method)."""

    def __init__(self, *markers: Marker) -> None:
        self.markers = markers
        checks = [_check(m) for m in markers]
        # A pattern without a literal to look for could match anything: always ask detect.
        self.always = any(sets is None for _, _, _, sets in checks)
        self._checks: tuple[_Check, ...] = tuple(
            (key, limit, lowered, sets) for key, limit, lowered, sets in checks if sets is not None
        )

    def __call__(self, mail: Mail) -> bool:
        if self.always:
            return True
        views = mail._views
        for key, limit, lowered, sets in self._checks:
            view = views.get(key)
            if view is None:
                view = views[key] = _view(mail, key)
            text = view[lowered]
            if text is None or _holds_all(text, limit, sets):
                return True
        return False


def _holds_all(text: str, limit: int | None, sets: tuple[tuple[str, ...], ...]) -> bool:
    """Whether ``text[:limit]`` holds one literal of each set."""
    end = len(text) if limit is None else limit
    for literals in sets:
        for literal in literals:
            if text.find(literal, 0, end) != -1:
                break
        else:
            return False
    return True


def _check(marker: Marker) -> tuple[str, int | None, int, tuple[tuple[str, ...], ...] | None]:
    if marker.pattern is PRESENT:
        # The view of a header's presence is "1" when it is there, "" when not.
        return ("present:" + marker.field.lower(), None, 0, (("1",),))
    lowered = 1 if marker.pattern.flags & re.IGNORECASE else 0
    return (marker.field.lower(), marker.limit, lowered, literal_sets(marker.pattern))


def _view(mail: Mail, key: str) -> tuple[str, str | None]:
    """A field's text and its exact lower-cased form (None when it has none)."""
    if key.startswith("present:"):
        there = key[len("present:") :] in mail.msg
        return ("1" if there else "", "1" if there else "")
    if key == BODY:
        text = body_text(mail)
    elif key == RECEIVED:
        text = received_joined(mail)[0]
    else:
        text = mail.header(key)
    return text, folded(text)
