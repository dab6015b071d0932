"""Sendmail's ``----- Title -----`` rules found as the plain regex scan finds them."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.bounces import _normalise
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces._transcript import unquote
from mailbounce.bounces.base import Mail
from mailbounce.bounces.sendmail import _SECTION, section_rules

DATA = Path(__file__).resolve().parent / "data"


def _rules(text: str) -> list[tuple[tuple[int, int], str]]:
    return [(m.span(), m.group(1)) for m in section_rules(text)]


def _expected(text: str) -> list[tuple[tuple[int, int], str]]:
    return [(m.span(), m.group(1)) for m in _SECTION.finditer(text)]


def _bodies(root: Path, pattern: str) -> list[str]:
    found = []
    for path in sorted(root.rglob(pattern)):
        if path.is_file():
            raw = _normalise(path.read_bytes())
            msg = email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)
            found.append(body_text(Mail(msg)))
    return found


def test_rules_on_the_project_samples_and_the_corpus(corpus: Path) -> None:
    bodies = _bodies(DATA, "*.eml") + _bodies(corpus / "bounces" / "maildir", "*")
    assert sum(bool(_expected(body)) for body in bodies) > 20
    for body in bodies:
        for text in (body, unquote(body)):
            assert _rules(text) == _expected(text)


def test_rules_edge_cases() -> None:
    for text in (
        "",
        "---",
        "------",
        "--- T ---",
        "x--- T ---",
        "\n\n  ----- T -----  \n\n\nbody\n",
        " \n\t---- A ----\n---- B ----\nlines\n  ---x--- ---",
        "-- a --\n----- b -----\n-----------\n- - - ---\n",
        "\x1c---- sep ----\x1c\n",
        "a\n   \n   ---- T ----\n",
        "---- T ----\n\n---- U ----",
    ):
        assert _rules(text) == _expected(text), repr(text)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(["-", "---", "-----", " ", "\t", "\n", "\n\n", "a", "Title", "\x1c", "\r"]),
        max_size=30,
    ).map("".join)
)
def test_rules_on_generated_text(text: str) -> None:
    assert _rules(text) == _expected(text)
