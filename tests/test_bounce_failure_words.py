"""The failure words of a report's blocks (``_recipientblocks._failure_words``) answer as
the case-insensitive ``_EVIDENCE`` search did, on every sample's text and on generated text
(capitals, accents, the letters ``re.IGNORECASE`` folds onto ASCII)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.bounces import _normalise
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces._recipientblocks import _CODES, _EVIDENCE, _failure_words, strong_evidence
from mailbounce.bounces.base import Mail
from mailbounce.reason_rules import PHRASES

DATA = Path(__file__).resolve().parent / "data"
CORPUS = Path("/work/shared/corpus/bounces/maildir")


def _texts() -> list[str]:
    paths = sorted(DATA.rglob("*.eml")) + (sorted(CORPUS.rglob("*.eml")) if CORPUS.is_dir() else [])
    texts = []
    for path in paths:
        msg = email.message_from_bytes(
            _normalise(path.read_bytes()), IndexedMessage, policy=email.policy.compat32
        )
        texts.append(body_text(Mail(msg)))
    return texts


def _same(text: str) -> None:
    assert _failure_words(text) is (_EVIDENCE.search(text) is not None), repr(text[:200])


def test_the_words_are_written_in_lower_case() -> None:
    # Searched in a lower-cased text without IGNORECASE: a capital would never match.
    assert _EVIDENCE.pattern == _EVIDENCE.pattern.lower()


def test_on_every_sample_line_and_paragraph() -> None:
    for text in _texts():
        _same(text)
        for line in text.split("\n"):
            _same(line)


_WORDS = [
    "User Unknown",
    "MAILBOX IS FULL",
    "Mailbox unavailable",
    "Échec",
    "ÉCHEC",
    "REFUSÉ",
    "n'existe pas",
    "N'EXISTE PAS",
    "wasn't delivered",
    "Can't be Found",
    "Timed Out",
    "time out",
    "NOT RECOGNIZED",
    "Pas encore pu Être remis",
    "dÉpassÉ",
    "ne rÉpond pas",
    "existiert NICHT",
    "Rejected",
    "unroutEable",
    "quota",
    "ok",
    "delivered",
]


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(
        st.sampled_from(_WORDS) | st.text(alphabet="aeiousnrtdlpcmfkxé ÉÊſKıİ'\n-", max_size=12),
        max_size=6,
    ).map(" ".join)
)
def test_on_generated_text(text: str) -> None:
    _same(text)


def _strong_as_searched(text: str) -> bool:
    """``strong_evidence`` as its definition reads: a code, or a reason phrase group's regex
    searched in the text lower-cased."""
    lower = text.lower()
    return _CODES.search(text) is not None or any(p.search(lower) for p in PHRASES.values())


_PHRASE_WORDS = [
    "Mailbox is FULL",
    "over quota",
    "User unknown",
    "no such user",
    "Relay access denied",
    "blocked",
    "spam",
    "550",
    "5.1.1",
    "message too large",
    "boîte pleine",
    "ok",
]


def test_strong_evidence_on_every_sample_line_and_paragraph() -> None:
    # Classification's phrase scan answers as each group's regex did (issue 3, session 9).
    for text in _texts():
        for piece in [text, *text.split("\n"), *text.split("\n\n")]:
            assert strong_evidence(piece) is _strong_as_searched(piece), repr(piece[:200])


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(
        st.sampled_from(_PHRASE_WORDS + _WORDS)
        | st.text(alphabet="aeiousnrtdlpcmfkxé ÉÊſKıİ'\n-0125.", max_size=12),
        max_size=6,
    ).map(" ".join)
)
def test_strong_evidence_on_generated_text(text: str) -> None:
    assert strong_evidence(text) is _strong_as_searched(text)
