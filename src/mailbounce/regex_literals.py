"""The literal text any match of a regular expression must contain, read from its source.

A regex scan costs far more than ``str.__contains__``: bounce detectors and the reason
phrase groups are asked of every message, and most texts hold none of their words (h12,
issue 3). ``required_literals`` reads from a pattern's source, conservatively, one literal per
top-level alternative that every match of that alternative contains; ``found`` and
``search`` skip the regex when those literals are absent, so the regex still decides every
answer (results never change).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from mailbounce.literal_guards import guarded_checks
from mailbounce.regex_reading import (
    alternative_literals,
    leading_literal,
    literal_runs,
    mandatory_groups,
    required_in,
    top_level_alternatives,
)

# Plain ints: an operation on ``re.RegexFlag`` values goes through ``enum`` (round 9).
_UNSUPPORTED_FLAGS = int(re.VERBOSE)  # spaces and # are not literal there
_IGNORECASE = int(re.IGNORECASE)
_cache: dict[tuple[re.Pattern[str], bool], tuple[str, ...] | None] = {}

T = TypeVar("T")


class PerPattern(Generic[T]):
    """A value made once per compiled pattern, keyed by ``id(pattern)``.

    Hashing a compiled pattern walks its whole code (~10 µs for a phrase group, more than
    the look-ups the value guards: issue 3, round 2 profile). The pattern is kept in the
    entry, alive, so its id stays its own while cached.
    """

    def __init__(self, make: Callable[[re.Pattern[str]], T]) -> None:
        self._make = make
        self._entries: dict[int, tuple[re.Pattern[str], T]] = {}

    def __call__(self, pattern: re.Pattern[str]) -> T:
        entry = self._entries.get(id(pattern))
        if entry is None or entry[0] is not pattern:
            entry = self._entries[id(pattern)] = (pattern, self._make(pattern))
        return entry[1]


def generated_function(
    lines: list[str], name: str, namespace: dict[str, object], filename: str
) -> Callable[..., Any]:
    """The function ``name`` defined by ``lines``, built with ``namespace`` as globals.

    The generated code holds only our own patterns' literals and field names, quoted with
    ``repr``: no outside text. Its source stays readable as the function's ``source``.
    """
    source = "\n".join(lines)
    exec(compile(source, filename, "exec"), namespace)
    function = cast("Callable[..., Any]", namespace[name])
    setattr(function, "source", source)  # noqa: B010  (a function attribute, set once)
    return function


def required_literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Literals, one per top-level alternative, one of which every match contains.

    Lower-cased when the pattern ignores case. None when the source is not read (an
    alternative without a literal the reader is sure of): the caller then scans.
    """
    return _literals(pattern, leading=False)


def leading_literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Like ``required_literals``, but each literal starts every match of its alternative."""
    return _literals(pattern, leading=True)


_sets: dict[re.Pattern[str], tuple[tuple[str, ...], ...] | None] = {}


def literal_sets(pattern: re.Pattern[str]) -> tuple[tuple[str, ...], ...] | None:
    """Sets of literals every match holds one of each: for a pattern of one alternative, each
    of its literal runs and each group every match goes through (``mailer-daemon@`` *and*
    one of ``gmx``/``web``), rarest-looking (longest) first; else ``required_literals`` as
    one set. Lower-cased when the pattern ignores case; None when nothing is read."""
    if pattern in _sets:
        return _sets[pattern]
    found: list[tuple[str, ...]] = []
    alternatives = top_level_alternatives(pattern.pattern)
    if len(alternatives) == 1 and not pattern.flags & _UNSUPPORTED_FLAGS:
        runs, _ = literal_runs(alternatives[0])
        found = [(run,) for run in runs]
        for inner in mandatory_groups(alternatives[0]):
            within = required_in(inner)
            if within:
                found.append(tuple(dict.fromkeys(within)))
        # Short literals (".", "@") hold in almost any text: they only cost a look-up.
        found = [one for one in found if min(map(len, one)) >= 3] or found[:1]
    required = required_literals(pattern)
    result: tuple[tuple[str, ...], ...] | None
    if not found:
        result = None if required is None else (required,)
    else:
        lower = bool(pattern.flags & _IGNORECASE)
        result = tuple(
            sorted(
                (
                    tuple(dict.fromkeys(lit.lower() if lower else lit for lit in one))
                    for one in found
                ),
                key=lambda one: -min(map(len, one)),
            )
        )
    _sets[pattern] = result
    return result


def _literals(pattern: re.Pattern[str], *, leading: bool) -> tuple[str, ...] | None:
    key = (pattern, leading)
    if key in _cache:
        return _cache[key]
    literals: tuple[str, ...] | None = None
    if not pattern.flags & _UNSUPPORTED_FLAGS:
        if leading:
            found: list[str] | None = [
                leading_literal(alt) for alt in top_level_alternatives(pattern.pattern)
            ]
        else:
            found = required_in(pattern.pattern)
        if found and all(found):
            ignore_case = bool(pattern.flags & _IGNORECASE)
            literals = tuple(dict.fromkeys(lit.lower() if ignore_case else lit for lit in found))
    _cache[key] = literals
    return literals


# A global inline flag (``(?i)``, only allowed first) or a back-reference ties the
# alternatives together: such a pattern is not split.
_NOT_SPLIT = re.compile(r"\(\?[aiLmsux]+\)|\\[1-9]|\(\?P=")


class Alternatives:
    """Alternatives of a pattern that need the same literals, compiled on first use (most
    are never tried: compiling every phrase group's alternatives up front cost ~50 ms).
    ``search`` is then the compiled pattern's own method: no Python frame per search."""

    __slots__ = ("flags", "literals", "search", "source")

    def __init__(self, literals: tuple[str, ...], source: str, flags: int) -> None:
        self.literals, self.source, self.flags = literals, source, flags
        self.search: Callable[[str], re.Match[str] | None] = self._first_search

    def _first_search(self, text: str) -> re.Match[str] | None:
        search = re.compile(self.source, self.flags).search
        self.search = search
        return search(text)


_Plan = tuple[Alternatives, ...]


def alternative_plan(pattern: re.Pattern[str]) -> tuple[Alternatives, ...]:
    """The groups of ``pattern``'s top-level alternatives ``found`` searches, each with the
    literals one of which must be in the text first (("",): always searched); made once per
    pattern and shared by ``finder`` and ``phrase_scan``."""
    return _plans(pattern)


def found(pattern: re.Pattern[str], text: str) -> bool:
    """``pattern.search(text) is not None``, each top-level alternative tried on its own and
    only when its literal is in ``text``.

    A search of ``A|B`` finds a match exactly when ``A`` or ``B`` matches somewhere, so the
    answer is the same; the reason phrase groups hold dozens of alternatives, of which a
    diagnostic holds the words of one or two. A case-insensitive pattern is searched whole.
    """
    return finder(pattern)(text)


def finder(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    """``found`` for one pattern, as a function of the text (made once per pattern)."""
    return _finders(pattern)


def _finder(plan: _Plan) -> Callable[[str], bool]:
    """The plan as one function: per group of alternatives, ``lit in text or ...`` then its
    regex (a loop over the literals cost more than the look-ups, issue 3 round 2), literals
    that share a piece of text checked under it (``literal_guards``, round 4). Each group is
    searched only when one of its literals is present, so the same answer."""
    lines = ["def found(text):", *guarded_checks([one.literals for one in plan])]
    namespace: dict[str, object] = {f"a{index}": one for index, one in enumerate(plan)}
    return generated_function(lines, "found", namespace, "<phrase literals>")


_finders = PerPattern(lambda pattern: _finder(alternative_plan(pattern)))


def search(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """``pattern.search(text)``, None at once when a literal every match needs is absent
    (a case-insensitive pattern is always scanned)."""
    literals = _search_literals(pattern)
    if literals is not None:
        for literal in literals:
            if literal in text:
                break
        else:
            return None
    return pattern.search(text)


# A case-insensitive pattern is always scanned: no literal check before it.
_search_literals = PerPattern(
    lambda pattern: None if pattern.flags & _IGNORECASE else required_literals(pattern)
)


def _plan(pattern: re.Pattern[str]) -> _Plan:
    source = pattern.pattern
    if pattern.flags & (_IGNORECASE | _UNSUPPORTED_FLAGS) or _NOT_SPLIT.search(source):
        return (Alternatives(("",), source, pattern.flags),)
    # Alternatives needing the same literals (or none: "") are searched together.
    grouped: dict[tuple[str, ...], list[str]] = {}
    for alternative in top_level_alternatives(source):
        literals = tuple(dict.fromkeys(alternative_literals(alternative) or [""]))
        grouped.setdefault(literals, []).append(alternative)
    return tuple(
        Alternatives(literals, "|".join(members), pattern.flags)
        for literals, members in grouped.items()
    )


_plans = PerPattern(_plan)
