"""Reading a pattern's literals takes runs of plain characters at once (round 4): the same
runs and groups as reading every character as an item (the reader before)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.reason_rules import PHRASES
from mailbounce.regex_reading import (
    _QUANTIFIERS,
    _after_quantifier,
    _item,
    literal_runs,
    mandatory_groups,
    required_in,
    top_level_alternatives,
)


def _reference_runs(alternative: str) -> tuple[list[str], bool]:
    """``literal_runs`` item by item."""
    runs: list[str] = []
    chars: list[str] = []
    leading = False
    widths_before = False
    index = 0
    while index < len(alternative):
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


def _reference_groups(alternative: str) -> list[str]:
    """``mandatory_groups`` item by item."""
    groups: list[str] = []
    index = 0
    while index < len(alternative):
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


def _reference_item(source: str, index: int) -> tuple[str | None, int]:
    """``_item`` walking a class or a group character by character (the reader before)."""
    char = source[index]
    if char == "\\":
        return _item(source, index)  # escapes: read as before, without a walk
    if char == "[":
        end = index + 1
        if source[end : end + 1] == "^":
            end += 1
        if source[end : end + 1] == "]":
            end += 1
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
                _, end = _reference_item(source, end)
                continue
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
            if depth == 0:
                break
        return None, end
    return _item(source, index)


def _reference_alternatives(source: str) -> list[str]:
    """``top_level_alternatives`` walking every character (the reader before)."""
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


_PIECES = st.sampled_from(
    [
        "ab",
        "c",
        " ",
        "-",
        "'",
        "?",
        "*",
        "+",
        "{1,3}",
        "+?",
        "(x|y)",
        "(?:is )",
        "(?P<n>z)",
        "(?!q)",
        "[a-z]",
        "\\b",
        "^",
        ".",
        "\\.",
        "\\d",
        "\\x41",
        "é",
        "|",
        "$",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_plain_runs_read_as_items(source: str) -> None:
    assert literal_runs(source) == _reference_runs(source)
    assert mandatory_groups(source) == _reference_groups(source)


def test_phrase_groups_read_as_items() -> None:
    for pattern in PHRASES.values():
        for alternative in pattern.pattern.split("|"):
            assert literal_runs(alternative) == _reference_runs(alternative)
            assert mandatory_groups(alternative) == _reference_groups(alternative)


_STRUCTURE_PIECES = st.sampled_from(
    ["a", "|", "(", ")", "[", "]", "[^", "\\", "\\|", "\\]", "\\(", "\n", "é", "?:", "{2}"]
)


@settings(max_examples=800, deadline=None)
@given(st.lists(_STRUCTURE_PIECES, max_size=16).map("".join))
def test_alternatives_split_as_the_character_walk(source: str) -> None:
    # Any text, not only valid patterns: unbalanced groups, classes, a last lone backslash.
    assert top_level_alternatives(source) == _reference_alternatives(source)


def test_phrase_groups_split_as_the_character_walk() -> None:
    import mailbounce.bounces.registry  # noqa: F401  (every detector's patterns made)
    from mailbounce.lazy_patterns import made

    sources = [p.pattern for p in PHRASES.values()] + [p.pattern for p in made()]
    assert len(sources) > 300
    for source in sources:
        assert top_level_alternatives(source) == _reference_alternatives(source)


@settings(max_examples=800, deadline=None)
@given(st.lists(_STRUCTURE_PIECES, max_size=16).map("".join))
def test_items_end_where_the_character_walk_ends(source: str) -> None:
    # Classes and groups are skipped by regex searches: the same ends as walking each
    # character, on any text (unbalanced groups, a class never closed, a last backslash).
    for index in range(len(source)):
        assert _item(source, index) == _reference_item(source, index)


def test_every_pattern_items_end_where_the_character_walk_ends() -> None:
    import mailbounce.bounces.registry  # noqa: F401  (every detector's patterns made)
    from mailbounce.lazy_patterns import made

    for source in [p.pattern for p in PHRASES.values()] + [p.pattern for p in made()]:
        for index in range(len(source)):
            assert _item(source, index) == _reference_item(source, index)


def test_readings_are_new_lists() -> None:
    # The readings are cached per text: what a caller gets is its own list.
    source = "(?:user|mailbox) unknown|no such user"
    first = required_in(source)
    assert first is not None
    first.append("changed")
    assert required_in(source) == [" unknown", "no such user"]
    alternatives = top_level_alternatives(source)
    alternatives.clear()
    assert top_level_alternatives(source) == ["(?:user|mailbox) unknown", "no such user"]
