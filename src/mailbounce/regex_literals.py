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

# Escapes that stand for one literal character (``\.``, ``\(``...): punctuation only.
_ESCAPED_LITERAL = frozenset(".()[]{}-/@:'\"+*?|^$ #%&=,;<>!~`_\\")
_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_,:;'\"@/%&=<>!~`#"
)
_QUANTIFIERS = frozenset("?*{+")
_PLAIN_RUN = re.compile("[" + re.escape("".join(sorted(_PLAIN))) + "]+")
_UNSUPPORTED_FLAGS = re.VERBOSE  # spaces and # are not literal there
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
    alternatives = _top_level_alternatives(pattern.pattern)
    if len(alternatives) == 1 and not pattern.flags & _UNSUPPORTED_FLAGS:
        runs, _ = _literal_runs(alternatives[0])
        found = [(run,) for run in runs]
        for inner in _mandatory_groups(alternatives[0]):
            within = _required_in(inner)
            if within:
                found.append(tuple(dict.fromkeys(within)))
        # Short literals (".", "@") hold in almost any text: they only cost a look-up.
        found = [one for one in found if min(map(len, one)) >= 3] or found[:1]
    required = required_literals(pattern)
    result: tuple[tuple[str, ...], ...] | None
    if not found:
        result = None if required is None else (required,)
    else:
        lower = bool(pattern.flags & re.IGNORECASE)
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
                _leading_literal(alt) for alt in _top_level_alternatives(pattern.pattern)
            ]
        else:
            found = _required_in(pattern.pattern)
        if found and all(found):
            ignore_case = bool(pattern.flags & re.IGNORECASE)
            literals = tuple(dict.fromkeys(lit.lower() if ignore_case else lit for lit in found))
    _cache[key] = literals
    return literals


# A global inline flag (``(?i)``, only allowed first) or a back-reference ties the
# alternatives together: such a pattern is not split.
_NOT_SPLIT = re.compile(r"\(\?[aiLmsux]+\)|\\[1-9]|\(\?P=")


class _Alternatives:
    """Alternatives of a pattern that need the same literals, compiled on first use (most
    are never tried: compiling every phrase group's alternatives up front cost ~50 ms)."""

    __slots__ = ("_compiled", "flags", "literals", "source")

    def __init__(self, literals: tuple[str, ...], source: str, flags: int) -> None:
        self.literals, self.source, self.flags = literals, source, flags
        self._compiled: re.Pattern[str] | None = None

    def search(self, text: str) -> re.Match[str] | None:
        if self._compiled is None:
            self._compiled = re.compile(self.source, self.flags)
        return self._compiled.search(text)


_Plan = tuple[_Alternatives, ...]


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


_finders = PerPattern(lambda pattern: _finder(_plan(pattern)))


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
    lambda pattern: None if pattern.flags & re.IGNORECASE else required_literals(pattern)
)


def _plan(pattern: re.Pattern[str]) -> _Plan:
    source = pattern.pattern
    if pattern.flags & (re.IGNORECASE | _UNSUPPORTED_FLAGS) or _NOT_SPLIT.search(source):
        return (_Alternatives(("",), source, pattern.flags),)
    # Alternatives needing the same literals (or none: "") are searched together.
    grouped: dict[tuple[str, ...], list[str]] = {}
    for alternative in _top_level_alternatives(source):
        literals = tuple(dict.fromkeys(_alternative_literals(alternative) or [""]))
        grouped.setdefault(literals, []).append(alternative)
    return tuple(
        _Alternatives(literals, "|".join(members), pattern.flags)
        for literals, members in grouped.items()
    )


def _top_level_alternatives(source: str) -> list[str]:
    """``source`` split at the ``|`` outside groups and classes (escapes respected)."""
    parts: list[str] = []
    depth, start, index, in_class = 0, 0, 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(source[start:index])
            start = index + 1
        index += 1
    parts.append(source[start:])
    return parts


def _required_in(source: str) -> list[str] | None:
    """Literals one of which every match of ``source`` contains (``_alternative_literals``
    of each top-level alternative); None when an alternative has none."""
    found: list[str] = []
    for alternative in _top_level_alternatives(source):
        within = _alternative_literals(alternative)
        if not within:
            return None
        found.extend(within)
    return found


def _alternative_literals(alternative: str) -> list[str] | None:
    """Literals one of which every match of ``alternative`` contains: its longest literal,
    or those of a group every match goes through (``^\\s*(?:A|B)``, ``(is|been)
    (suspended|disabled)``), whichever has the longest shortest literal (the rarest)."""
    literal = _longest_literal(alternative)
    best: list[str] | None = [literal] if literal else None
    for inner in _mandatory_groups(alternative):
        within = _required_in(inner)
        if within and (best is None or min(map(len, within)) > min(map(len, best))):
            best = within
    return best


def _mandatory_groups(alternative: str) -> list[str]:
    """The sources inside the top-level groups every match goes through (not optional, not
    a look-around nor an inline flag)."""
    groups: list[str] = []
    index = 0
    while index < len(alternative):
        plain = _PLAIN_RUN.match(alternative, index)
        if plain is not None:
            index = plain.end() - 1  # no group among plain characters: to the last one
        _, end = _item(alternative, index)
        quantifier = alternative[end : end + 1]
        group = alternative[index:end]
        if group.startswith("(") and group.endswith(")") and quantifier not in ("?", "*", "{"):
            if group.startswith("(?P<"):
                groups.append(group[group.index(">") + 1 : -1])
            elif group.startswith("(?:"):
                groups.append(group[3:-1])
            elif not group.startswith("(?"):
                groups.append(group[1:-1])
        index = _after_quantifier(alternative, end)
    return groups


def _leading_literal(alternative: str) -> str:
    """The literal text every match of ``alternative`` starts with ("" when none is sure)."""
    runs, leading = _literal_runs(alternative)
    return runs[0] if runs and leading else ""


def _longest_literal(alternative: str) -> str:
    """The longest literal text every match of ``alternative`` contains ("" when none)."""
    runs, _ = _literal_runs(alternative)
    return max(runs, key=len, default="")


def _literal_runs(alternative: str) -> tuple[list[str], bool]:
    """The runs of literal characters every match of ``alternative`` holds, in order, and
    whether the first run starts every match (only ``\\b`` or ``^`` before it).

    Read at the top level only: a group, a class, an escape such as ``\\d`` or ``.`` ends a
    run; a character under ``?``, ``*`` or ``{`` is left out, one under ``+`` ends its run.
    """
    runs: list[str] = []
    chars: list[str] = []
    leading = False
    widths_before = False  # an item that takes characters, before the first run
    index = 0
    while index < len(alternative):
        plain = _PLAIN_RUN.match(alternative, index)
        if plain is not None and plain.end() - index > 1:
            # Plain characters each followed by a plain one: literals without a quantifier,
            # taken at once (the last one, maybe quantified, is read as an item below).
            if not runs and not chars:
                leading = not widths_before
            chars.append(alternative[index : plain.end() - 1])
            index = plain.end() - 1
        literal, end = _item(alternative, index)
        quantifier = alternative[end : end + 1]
        quantifier = quantifier if quantifier in _QUANTIFIERS else ""
        after = _after_quantifier(alternative, end)
        if literal is not None and quantifier in ("", "+"):
            if not runs and not chars:
                leading = not widths_before
            chars.append(literal)
            if quantifier == "+":
                runs.append("".join(chars))
                chars = []
        else:
            if chars:
                runs.append("".join(chars))
                chars = []
            zero_width = alternative[index:end] in ("\\b", "^") and quantifier == ""
            if not zero_width and not runs:
                widths_before = True
        index = after
    if chars:
        runs.append("".join(chars))
    return runs, leading and bool(runs)


def _item(source: str, index: int) -> tuple[str | None, int]:
    """The top-level item at ``index``: its literal character (None for a group, a class,
    an escape class or assertion, ``.``, ``^``, ``$``) and where it ends."""
    char = source[index]
    if char == "\\":
        escaped = source[index + 1 : index + 2]
        if escaped and escaped in _ESCAPED_LITERAL:
            return escaped, index + 2
        return None, _escape_end(source, index)
    if char == "[":
        end = index + 1
        if source[end : end + 1] == "^":
            end += 1
        if source[end : end + 1] == "]":
            end += 1  # a "]" first in a class is a member
        while end < len(source) and source[end] != "]":
            end += 2 if source[end] == "\\" else 1
        return None, end + 1
    if char == "(":
        depth, end = 0, index
        while end < len(source):
            if source[end] == "\\":
                end += 2
                continue
            if source[end] == "[":
                _, end = _item(source, end)
                continue
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
            if depth == 0:
                break
        return None, end
    return (char if char in _PLAIN else None), index + 1


def _escape_end(source: str, index: int) -> int:
    """Where the escape at ``index`` ends: ``\\x41``, ``\\u00e9``, ``\\U...``, ``\\N{...}``,
    octal ``\\101`` and back-references ``\\12`` run past their first character."""
    kind = source[index + 1 : index + 2]
    width = {"x": 2, "u": 4, "U": 8}.get(kind)
    if width is not None:
        return index + 2 + width
    if kind == "N" and source[index + 2 : index + 3] == "{":
        close = source.find("}", index)
        return len(source) if close == -1 else close + 1
    end = index + 2
    if kind.isdigit():
        while end < min(len(source), index + 4) and source[end].isdigit():
            end += 1
    return end


def _after_quantifier(source: str, index: int) -> int:
    """Where the item's quantifier (with its lazy ``?`` or possessive ``+``) ends."""
    if index >= len(source) or source[index] not in _QUANTIFIERS:
        return index
    if source[index] == "{":
        close = source.find("}", index)
        index = len(source) if close == -1 else close + 1
    else:
        index += 1
    if index < len(source) and source[index] in "?+":
        index += 1
    return index
