"""The literal pre-check before a marker regex never hides a match (h12: results unchanged)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailbounce.bounces import UnparseableMessage, analyse_message
from mailbounce.bounces._prefilter import (
    _FOLDS_ONTO_ASCII,
    folded,
    folds_exactly,
    leading_literals,
    may_match,
    required_literals,
    search,
    search_text,
)
from mailbounce.diagnostic_text import normalise as normalise_diagnostic
from mailbounce.reason_rules import GREYLISTING, MAILER_ERROR, PHRASES, RETRY_LATER, STAGES
from mailbounce.regex_literals import _plan, found, literal_sets
from mailbounce.regex_literals import search as gated_search

_ATOMS = st.sampled_from(
    ["a", "B", "x", "s", "k", "I", " ", "\\.", "\\(", "\\)", "-", "\\d", "\\b", "\\s",
     "[ab]", "(a|b)", "?", "+", "*", "{2}", "{0,1}", "+?", "^", "$", "|", ".", "(?:x)", "ſ",
     "K", "[]a]", "(?<!a)", "(?=x)", "\\x41", "\\u0061", "\\101", "\\0", "é",
     "\\N{LATIN SMALL LETTER A}"]
)  # fmt: skip
_TEXT = st.text(alphabet="aAbBxXsSkK .()-1\nſKıİéÉàÀ", max_size=40)


def _compiled(atoms: list[str], flags: int) -> re.Pattern[str] | None:
    try:
        return re.compile("".join(atoms), flags)
    except re.error:
        return None


@settings(deadline=None)  # never a timing assertion: shared machines
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
        lowered = folded(text)
        if lowered is not None or not pattern.flags & re.IGNORECASE:
            haystack = lowered if pattern.flags & re.IGNORECASE else text
            for literals in literal_sets(pattern) or ():
                assert any(literal in haystack for literal in literals), literals
    found, expected = search(pattern, text, folded(text)), pattern.search(text)
    assert (found and (found.span(), found.groups())) == (
        expected and (expected.span(), expected.groups())
    )
    again = search_text(pattern, text)
    assert (again and again.span()) == (expected and expected.span())
    for start in range(len(text) + 1):  # from a position (``_reportshape`` searches from 40)
        found, expected = search(pattern, text, folded(text), start), pattern.search(text, start)
        assert (found and (found.span(), found.groups())) == (
            expected and (expected.span(), expected.groups())
        ), start


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
        (r"(x|y)", 0, ("x", "y"), None),  # a group every match goes through
        (r"^\s*(?:Ab|c)d?", re.I | re.M, ("ab", "c"), None),
        (r"(?P<n>ab|c)", 0, ("ab", "c"), None),
        (r"(?:ab)?|c", 0, None, None),  # an optional group holds nothing sure
        (r"(?=ab)x", 0, ("x",), None),
        (r"(?!ab)(c|d)", 0, ("c", "d"), None),  # a look-ahead is not a group passed through
        (r"(a|)", 0, None, None),
        (r"x\x41yz", 0, ("yz",), ("x",)),  # an escape's digits are not literal text
        (r"\u00e9t\101bc", 0, ("bc",), None),
        (r"(is|been) (suspended|off)", 0, ("suspended", "off"), None),  # the rarer group
        (r"ab(c|d)", 0, ("ab",), ("ab",)),
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


# ``mailbounce.regex_literals.found`` / ``search``: the classification's phrase groups split
# into alternatives tried only where their literal is (issue 3): same answers as the regex.
_FLAGS = st.sampled_from([0, re.I, re.M])


@settings(deadline=None)  # each example compiles its pattern's alternatives
@given(st.lists(_ATOMS, min_size=1, max_size=8), _FLAGS, _TEXT)
@example(["a", "|", "(?<!a)", "x"], 0, "ax bx")
@example(["(a|b)", "|", "x"], 0, "b")
def test_gated_phrase_search_agrees_with_the_regex(atoms: list[str], flags: int, text: str) -> None:
    pattern = _compiled(atoms, flags)
    if pattern is None:
        return
    expected = pattern.search(text)
    assert found(pattern, text) == (expected is not None)
    gated = gated_search(pattern, text)
    assert (gated and gated.span()) == (expected and expected.span())


_GROUPS = [
    *PHRASES.values(),
    *(pattern for pattern, _ in STAGES),
    GREYLISTING,
    RETRY_LATER,
    MAILER_ERROR,
]
# Texts made of the groups' own words, cut and joined at random: they hit the alternatives'
# literals far more often than random letters would.
_WORDS = sorted({w for p in _GROUPS for w in re.split(r"[^a-zàâçéèêëîïôûüœ' -]+", p.pattern) if w})
_PHRASE_TEXT = st.lists(
    st.one_of(st.sampled_from(_WORDS), st.sampled_from([" ", ".", "5.1.1 ", "550 ", "é"])),
    max_size=12,
).map("".join)


@settings(deadline=None)  # the first example compiles every group's alternatives
@given(_PHRASE_TEXT)
@example("mailbox is full")
@example("the account has been temporarily disabled")
def test_phrase_groups_answer_as_their_regex(text: str) -> None:
    for pattern in _GROUPS:
        assert found(pattern, text) == (pattern.search(text) is not None), pattern.pattern[:60]


def test_phrase_groups_on_the_corpus_diagnostics(corpus: Path) -> None:
    texts = []
    for path in sorted((corpus / "bounces" / "maildir").rglob("*.eml")):
        try:
            analysis = analyse_message(path.read_bytes())
        except UnparseableMessage:
            continue
        texts += [normalise_diagnostic(facts.diagnostic) for facts, _ in analysis.results]
    assert len([t for t in texts if t]) > 100, "the corpus gives diagnostics"
    for text in texts:
        for pattern in _GROUPS:
            assert found(pattern, text) == (pattern.search(text) is not None), text


@pytest.mark.parametrize(
    ("source", "flags", "split"),
    [
        (r"ab|cd", 0, True),
        (r"(?i)ab|cd", 0, False),  # the global flag belongs to every alternative
        (r"(a)x|\1y", 0, False),
        (r"ab|cd", re.I, False),
    ],
)
def test_patterns_split_only_when_alternatives_stand_alone(
    source: str, flags: int, split: bool
) -> None:
    pattern = re.compile(source, flags)
    assert found(pattern, "xx cd") == (pattern.search("xx cd") is not None)
    assert (len(_plan(pattern)) > 1) == split


def test_only_the_listed_characters_fold_otherwise() -> None:
    """Every character outside ASCII that ``re.IGNORECASE`` equates with an ASCII letter, or
    that ``str.lower`` maps onto ASCII or onto several characters, is listed: ``folded``
    text is then exact for literal checks, accents and all."""
    ascii_letter = re.compile("[a-z]", re.IGNORECASE)
    special = []
    for code in range(0x80, sys.maxunicode + 1):
        char = chr(code)
        lowered = char.lower()
        if len(lowered) != 1 or lowered.isascii() or ascii_letter.match(char):
            special.append(char)
    assert sorted(special) == sorted(_FOLDS_ONTO_ASCII)
    # ``folds_exactly`` looks for each of them written out: each one makes it say False.
    assert [char for char in special if folds_exactly(f"é {char}")] == []


@pytest.mark.parametrize(
    ("text", "exact"),
    [("Boîte pleine", True), ("DÉLAI", True), ("ſmtp", False), ("\u212aerio", False)],
)
def test_folded_text(text: str, exact: bool) -> None:
    assert (folded(text) == text.lower()) if exact else folded(text) is None


@pytest.mark.parametrize("exact", [True, False])
def test_folded_long_texts_are_recalled_by_identity_only(exact: bool) -> None:
    """A long text lowered again is answered from the last few, its very object only: an
    equal copy, a text changed since (a new object) and texts past the few kept are
    lowered anew, with the same answers as ``folded`` gives short texts."""
    base = ("Boîte pleine " if exact else "ſmtp Kerio ") * 40
    text = base + "A"
    first = folded(text)
    assert (first == text.lower()) if exact else first is None
    assert folded(text) is first  # recalled
    copy = "".join([base, "A"])
    assert copy is not text and folded(copy) == first
    others = [f"{base}{n}" for n in range(8)]  # push it out of the few kept
    assert [folded(other) for other in others] == [
        (other.lower() if exact else None) for other in others
    ]
    assert folded(text) == first
    assert folded(base + "B") == ((base + "B").lower() if exact else None)


@pytest.mark.parametrize(
    ("source", "flags", "sets"),
    [
        (
            r"mailer-daemon@(?:[\w-]+\.)*(kundenserver|ionos)\.",
            re.I,
            (("mailer-daemon@",), ("kundenserver", "ionos")),
        ),
        (r"MAILER-DAEMON|postmaster", re.I, (("mailer-daemon", "postmaster"),)),
        (r"a.b", 0, (("a",),)),  # short literals only cost a look-up: the first is kept
        (r"\w+", 0, None),
    ],
)
def test_literal_sets(source: str, flags: int, sets: tuple[tuple[str, ...], ...] | None) -> None:
    assert literal_sets(re.compile(source, flags)) == sets
