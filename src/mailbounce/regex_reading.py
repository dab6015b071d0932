"""Reading a regular expression's source: its top-level alternatives, groups and the runs
of literal characters every match holds (for ``regex_literals``, which caches the results
per pattern). Conservative: an item not surely literal ends a run.

Each reading of a source text is made once per process (``functools.cache``; the texts are
our own patterns' sources and their parts): a pattern's alternatives and groups are read
again by each of its readers (``required_literals``, ``literal_sets``, the phrase plans)
and for each group enclosing them, ~2.5 readings per text (round 9, start-up). The public
functions return new lists of the cached tuples.
"""

from __future__ import annotations

import functools
import re

# Escapes that stand for one literal character (``\.``, ``\(``...): punctuation only.
_ESCAPED_LITERAL = frozenset(".()[]{}-/@:'\"+*?|^$ #%&=,;<>!~`_\\")
_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_,:;'\"@/%&=<>!~`#"
)
_QUANTIFIERS = frozenset("?*{+")
_PLAIN_RUN = re.compile("[" + re.escape("".join(sorted(_PLAIN))) + "]+")


# What ``top_level_alternatives`` looks at: an escape (two characters, or a last lone
# backslash) and the characters that open or close a group or class, or split.
_STRUCTURE = re.compile(r"\\[\s\S]?|[\[\]()|]")


def top_level_alternatives(source: str) -> list[str]:
    """``source`` split at the ``|`` outside groups and classes (escapes respected)."""
    return list(_alternatives(source))


@functools.cache
def _alternatives(source: str) -> tuple[str, ...]:
    """``top_level_alternatives``, read once per text.

    Only the escapes and the structure characters are visited, found by one regex scan
    (walking every character in Python was a third of reading the reason phrase groups,
    done at each run's start): the same splits as that walk, which
    ``tests/test_regex_literals_reading.py`` keeps as the reference.
    """
    if "|" not in source:
        return (source,)  # nothing to split at (most groups and alternatives)
    parts: list[str] = []
    depth, start, in_class = 0, 0, False
    for token in _STRUCTURE.finditer(source):
        char = token.group()
        if char[0] == "\\":
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
            at = token.start()
            parts.append(source[start:at])
            start = at + 1
    parts.append(source[start:])
    return tuple(parts)


def required_in(source: str) -> list[str] | None:
    """Literals one of which every match of ``source`` contains (``alternative_literals``
    of each top-level alternative); None when an alternative has none."""
    found = _required(source)
    return None if found is None else list(found)


@functools.cache
def _required(source: str) -> tuple[str, ...] | None:
    found: list[str] = []
    for alternative in _alternatives(source):
        within = _alternative_literals(alternative)
        if not within:
            return None
        found.extend(within)
    return tuple(found)


def alternative_literals(alternative: str) -> list[str] | None:
    """Literals one of which every match of ``alternative`` contains: its longest literal,
    or those of a group every match goes through (``^\\s*(?:A|B)``, ``(is|been)
    (suspended|disabled)``), whichever has the longest shortest literal (the rarest)."""
    found = _alternative_literals(alternative)
    return None if found is None else list(found)


@functools.cache
def _alternative_literals(alternative: str) -> tuple[str, ...] | None:
    literal = _longest_literal(alternative)
    best: tuple[str, ...] | None = (literal,) if literal else None
    for inner in _read(alternative)[2]:
        within = _required(inner)
        if within and (best is None or min(map(len, within)) > min(map(len, best))):
            best = within
    return best


def mandatory_groups(alternative: str) -> list[str]:
    """The sources inside the top-level groups every match goes through (not optional, not
    a look-around nor an inline flag)."""
    return list(_read(alternative)[2])


def leading_literal(alternative: str) -> str:
    """The literal text every match of ``alternative`` starts with ("" when none is sure)."""
    runs, leading, _ = _read(alternative)
    return runs[0] if runs and leading else ""


def _longest_literal(alternative: str) -> str:
    """The longest literal text every match of ``alternative`` contains ("" when none)."""
    return max(_read(alternative)[0], key=len, default="")


def literal_runs(alternative: str) -> tuple[list[str], bool]:
    """The runs of literal characters every match of ``alternative`` holds, in order, and
    whether the first run starts every match (only ``\\b`` or ``^`` before it).

    Read at the top level only: a group, a class, an escape such as ``\\d`` or ``.`` ends a
    run; a character under ``?``, ``*`` or ``{`` is left out, one under ``+`` ends its run.
    """
    runs, leading, _ = _read(alternative)
    return list(runs), leading


@functools.cache
def _read(alternative: str) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    """``literal_runs`` and ``mandatory_groups`` of ``alternative``, in one walk of its
    top-level items."""
    runs: list[str] = []
    chars: list[str] = []
    groups: list[str] = []
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
            item = alternative[index:end]
            zero_width = item in ("\\b", "^") and quantifier == ""
            if not zero_width and not runs:
                widths_before = True
            if item[:1] == "(" and item[-1:] == ")" and quantifier not in ("?", "*", "{"):
                _add_group(groups, item)
        index = after
    if chars:
        runs.append("".join(chars))
    return tuple(runs), leading and bool(runs), tuple(groups)


def _add_group(groups: list[str], group: str) -> None:
    """A group's inner source, unless it is a look-around or an inline flag."""
    if group.startswith("(?P<"):
        groups.append(group[group.index(">") + 1 : -1])
    elif group.startswith("(?:"):
        groups.append(group[3:-1])
    elif not group.startswith("(?"):
        groups.append(group[1:-1])


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
        return None, _class_end(source, index)
    if char == "(":
        return None, _group_end(source, index)
    return (char if char in _PLAIN else None), index + 1


# What ends a class (its "]", an escape skipped) and what a group's end depends on: found by
# a regex search, not a Python step per character (a group was walked character by
# character each time an enclosing item was read: most of reading a pattern, round 9).
_IN_CLASS = re.compile(r"[\\\]]")
_IN_GROUP = re.compile(r"[\\\[()]")


def _class_end(source: str, index: int) -> int:
    """Where the class opening at ``index`` ends (after its "]"; a "]" first is a member)."""
    end = index + 1
    if source[end : end + 1] == "^":
        end += 1
    if source[end : end + 1] == "]":
        end += 1
    while end < len(source):
        found = _IN_CLASS.search(source, end)
        if found is None:
            end = len(source)
            break
        end = found.start()
        if source[end] == "]":
            break
        end += 2  # an escape
    return end + 1


def _group_end(source: str, index: int) -> int:
    """Where the group opening at ``index`` ends (after its ")"; escapes and classes in it
    skipped)."""
    depth, end = 0, index
    while end < len(source):
        found = _IN_GROUP.search(source, end)
        if found is None:
            return len(source)
        at = found.start()
        char = source[at]
        if char == "\\":
            end = at + 2
        elif char == "[":
            end = _class_end(source, at)
        else:
            depth += 1 if char == "(" else -1
            end = at + 1
            if depth == 0:
                break
    return end


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
