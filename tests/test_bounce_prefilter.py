"""The literal pre-check before a marker regex never hides a match (h12: results unchanged)."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mailbounce.bounces._prefilter import may_match, required_literals, search

_ATOMS = st.sampled_from(
    ["a", "B", "x", "s", "k", "I", " ", "\\.", "\\(", "\\)", "-", "\\d", "\\b", "\\s",
     "[ab]", "(a|b)", "?", "+", "*", "{2}", "^", "$", "|", ".", "(?:x)", "ſ", "K"]
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
    ("source", "flags", "literals"),
    [
        (r"Axigen", re.I, ("axigen",)),
        (r"\bHaraka\b", re.I, ("haraka",)),
        (r"\(Exim \d", re.I, ("(exim ",)),
        (r"gmx\.(net|com)|\(Nemesis\)", re.I, ("gmx.", "(nemesis)")),
        (r"\(qmail \d+ invoked", 0, ("(qmail ",)),
        (r"ab?c|x", 0, ("a", "x")),
        (r"^foo|\bbar", re.M, ("foo", "bar")),
        (r"^\s*foo", re.M, None),
        (r"(x|y)z", 0, None),
    ],
)
def test_required_literals(source: str, flags: int, literals: tuple[str, ...] | None) -> None:
    assert required_literals(re.compile(source, flags)) == literals


def test_rejects_without_the_literal() -> None:
    marker = re.compile(r"IceWarp|Merak", re.I)
    text = "from mx.example.org by mail.example.net (Postfix)"
    assert not may_match(marker, text, text.lower())
    assert may_match(marker, "by ICEWARP server", "by icewarp server")
