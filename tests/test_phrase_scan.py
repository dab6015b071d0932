"""A phrase pattern asked after one scan of the text's literals answers as its own search.

``phrase_scan.PhraseScan`` finds every literal of the patterns it was given in one pass;
each pattern's ``found_in(text, present)`` must then say exactly what ``pattern.search``
(and ``regex_literals.found``) say, on texts drawn from the patterns themselves and mixed.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.models import Reason as R
from mailbounce.phrase_scan import PhraseScan, finite_texts, found_in_finder, phrase_plan
from mailbounce.reason_plans import PLANS
from mailbounce.reason_rules import GREYLISTING, MAILER_ERROR, PHRASES, RETRY_LATER, STAGES
from mailbounce.reason_tables import PATTERNS as TABLE_PATTERNS
from mailbounce.reason_tables import plans_source
from mailbounce.regex_literals import Alternatives, alternative_plan, found

PATTERNS = [*PHRASES.values(), MAILER_ERROR, GREYLISTING, RETRY_LATER, *(p for p, _ in STAGES)]
SCAN = PhraseScan(PATTERNS, ("access denied", "tss0"))
# The same patterns, their plans read from the generated table (``reason_plans``).
PLANNED = PhraseScan(PATTERNS, ("access denied", "tss0"), PLANS)

# Pieces of matching texts (drawn from the patterns' own sources) with neighbours.
_PIECE = st.one_of(
    st.sampled_from(PATTERNS).flatmap(lambda pattern: st.from_regex(pattern.pattern)),
    st.sampled_from([" ", "550 5.1.1 ", "mail", "user", " not ", "domaine", "é", "\n"]),
)
_TEXT = st.lists(_PIECE, max_size=4).map("".join).map(str.lower)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_found_in_answers_as_the_search_for_every_pattern(text: str) -> None:
    present = SCAN.present(text)
    for pattern in PATTERNS:
        expected = re.compile(pattern.pattern, pattern.flags).search(text) is not None
        assert SCAN.finder(pattern)(text, present) is expected, (pattern.pattern, text)
        assert PLANNED.finder(pattern)(text, present) is expected, (pattern.pattern, text)
        assert found(pattern, text) is expected


def test_present_holds_the_literals_of_the_text_and_others_do_no_harm() -> None:
    text = "550 5.1.1 user unknown; access denied"
    present = SCAN.present(text)
    assert "access denied" in present
    assert all(literal in text for literal in present)
    assert all(literal in present for literal in SCAN.literals if literal in text)
    # Literals of other patterns in the set change nothing; a whole-literal alternative
    # present answers without a search.
    literals, found_in = found_in_finder(PHRASES[R.MAILBOXFULL])
    others = set(SCAN.literals - literals)
    assert found_in("nothing here", others) is False
    assert found_in("x no space left y", {"no space left"} | others) is True
    assert found_in("quota x", {"quota"}) is False


def test_finder_refuses_a_pattern_it_was_not_given() -> None:
    with pytest.raises(KeyError):
        SCAN.finder(re.compile("not given"))
    assert SCAN.literals_of(GREYLISTING) <= SCAN.literals


def test_finite_texts_are_matched_whole_and_only_for_plain_groups() -> None:
    plain = 0
    for pattern in PATTERNS:
        for alternatives in alternative_plan(pattern):
            texts = finite_texts(alternatives)
            if texts is None:
                continue
            plain += 1
            compiled = re.compile(alternatives.source, alternatives.flags)
            assert texts and all(compiled.fullmatch(text) for text in texts)
    assert plain > 300  # the phrase groups are mostly plain words
    for source in (r"\bspam\b", "a.{0,3}b", "x+", "^x", "(?<!a)b", "[a-z]x", "(a)?"):
        assert finite_texts(Alternatives(("",), source, 0)) is None
        assert finite_texts(Alternatives(("x",), source, 0)) is None
    assert finite_texts(Alternatives(("box",), "mail ?box (is )?full", 0)) == {
        "mailbox full",
        "mail box full",
        "mailbox is full",
        "mail box is full",
    }


# Every group ``finite_texts`` expands, with the texts it gives.
_FINITE = [
    (compiled, texts)
    for pattern in PATTERNS
    for alternatives in alternative_plan(pattern)
    if (texts := finite_texts(alternatives)) is not None
    for compiled in [re.compile(alternatives.source, alternatives.flags)]
]


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(_FINITE).flatmap(
        lambda group: st.tuples(st.just(group[1]), st.from_regex(group[0], fullmatch=True))
    )
)
def test_finite_texts_hold_every_text_the_group_matches(drawn: tuple[frozenset[str], str]) -> None:
    """The expansion is the regex's whole language: a text drawn from the regex is one of
    them (and ``test_finite_texts_are_matched_whole...`` checks the regex matches each)."""
    texts, text = drawn
    assert text in texts


def test_generated_plans_are_those_the_rules_give_now() -> None:
    """``reason_plans`` is current: regenerate it (the command in its docstring) when a
    pattern of ``reason_rules`` changes. Its generator writes these very plans."""
    current = {pattern.pattern: (pattern.flags, phrase_plan(pattern)) for pattern in TABLE_PATTERNS}
    assert current == PLANS
    namespace: dict[str, object] = {}
    exec(plans_source(), namespace)
    assert namespace["PLANS"] == current


def test_a_pattern_without_a_plan_under_its_source_and_flags_is_read_at_once() -> None:
    """A plan is used only under the pattern's own source and flags (an edited rule missing
    from the table is read as before, only slower; the test above says to regenerate)."""
    pattern = re.compile("mail ?box (is )?full|quota")
    other_source = {"quota": (pattern.flags, (("quota",), ()))}
    other_flags = {pattern.pattern: (int(re.IGNORECASE), (("nothing",), ()))}
    for plans in (other_source, other_flags):
        scan = PhraseScan([pattern], (), plans)
        assert scan.literals_of(pattern) == frozenset(phrase_plan(pattern)[0])
        text = "your mail box is full"
        assert scan.finder(pattern)(text, scan.present(text)) is True
