"""The literal pre-check before a marker regex never hides a match (h12: results unchanged)."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mailbounce.bounces._prefilter import (
    leading_literals,
    may_match,
    required_literals,
    search,
)

_ATOMS = st.sampled_from(
    ["a", "B", "x", "s", "k", "I", " ", "\\.", "\\(", "\\)", "-", "\\d", "\\b", "\\s",
     "[ab]", "(a|b)", "?", "+", "*", "{2}", "{0,1}", "+?", "^", "$", "|", ".", "(?:x)", "ſ",
     "K", "[]a]", "(?<!a)", "(?=x)"]
)  # fmt: skip
_TEXT = st.text(alphabet="aAbBxXsSkK .()-1\nſKıİ", max_size=40)


def _compiled(atoms: list[str], flags: int) -> re.Pattern[str] | None:
    try:
        return re.compile("".join(atoms), flags)
    except re.error:
        return None


@given(st.lists(_ATOMS, min_size=1, max_size=8), st.sampled_from([0, re.I, re.I | re.M]), _TEXT)
# re.IGNORECASE folds the long s and the Kelvin sign onto ASCII letters; str.lower does not.
@example(["s"], re.I, "ſ")
@example(["k"], re.I, "\u212a")
@example(["\\b", "I"], re.I, "ı")
@example(["a", "|", "B"], re.I, "xba")  # the leftmost alternative found wins
@example(["a", "x", "|", "a"], 0, "aa ax")  # a failed try moves on to the next place
@example(["x", "|", "^", "a"], re.M, "ba\nxa")  # "^" is checked where the literal is
def test_no_match_is_hidden(atoms: list[str], flags: int, text: str) -> None:
    pattern = _compiled(atoms, flags)
    if pattern is None:
        return
    if pattern.search(text):
        assert may_match(pattern, text, text.lower())
    lowered = text.lower() if text.isascii() else None
    found, expected = search(pattern, text, lowered), pattern.search(text)
    assert (found and (found.span(), found.groups())) == (
        expected and (expected.span(), expected.groups())
    )


@pytest.mark.parametrize(
    ("source", "flags", "required", "leading"),
    [
        (r"Axigen", re.I, ("axigen",), ("axigen",)),
        (r"\bHaraka\b", re.I, ("haraka",), ("haraka",)),
        (r"\(Exim \d", re.I, ("(exim ",), ("(exim ",)),
        (r"gmx\.(net|com)|\(Nemesis\)", re.I, ("gmx.", "(nemesis)"), ("gmx.", "(nemesis)")),
        (r"\b(smtp|mx)\d*\.mail\.ru\b|Mail\.Ru", re.I, (".mail.ru", "mail.ru"), None),
        (r"\(qmail \d+ invoked", 0, (" invoked",), ("(qmail ",)),
        (r"ab?c|x", 0, ("a", "x"), ("a", "x")),
        (r"fo+bar", 0, ("bar",), ("fo",)),
        (r"x{2}yz|[]a]bc", 0, ("yz", "bc"), None),
        (r"^foo|\bbar", re.M, ("foo", "bar"), ("foo", "bar")),
        (r"^\s*foo", re.M, ("foo",), None),
        (r"(x|y)z", 0, ("z",), None),
        (r"(x|y)", 0, None, None),
        (r"a b", re.X, None, None),
    ],
)
def test_literals(
    source: str, flags: int, required: tuple[str, ...] | None, leading: tuple[str, ...] | None
) -> None:
    pattern = re.compile(source, flags)
    assert (required_literals(pattern), leading_literals(pattern)) == (required, leading)


def test_rejects_without_the_literal() -> None:
    marker = re.compile(r"IceWarp|Merak", re.I)
    text = "from mx.example.org by mail.example.net (Postfix)"
    assert not may_match(marker, text, text.lower())
    assert may_match(marker, "by ICEWARP server", "by icewarp server")
