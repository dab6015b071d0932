"""Detector gates are exact (issue 3): a gate that says False means ``detect`` finds nothing.

Data-driven over every corpus and tests/data message, and over generated mail made of the
detectors' own marker words; plus the gate engine's own rules (limits, header presence,
texts ``folded`` cannot lower-case, patterns whose literals cannot be read).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbounce.bounces import _normalise
from mailbounce.bounces._dispatch import compile_gate
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import BODY, PRESENT, RECEIVED, Marker, Markers
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces.base import Mail, gate_of
from mailbounce.bounces.registry import ASKED, COMPILED, DETECTORS
from mailbounce.regex_literals import literal_sets, required_literals

DATA = Path(__file__).resolve().parent / "data"
GATED = [(d.name, d) for d in DETECTORS if gate_of(d) is not None]
GATED_NAMES = [name for name, _ in GATED]


def _all_markers(gate: object) -> list[Marker]:
    """A gate's markers and those of its ``also`` test."""
    if not isinstance(gate, Markers):
        return []
    return [*gate.markers, *_all_markers(gate.also)]


def _parse(raw: bytes) -> Message:
    return email.message_from_bytes(_normalise(raw), IndexedMessage, policy=email.policy.compat32)


def _assert_exact(msg: Message, label: str) -> None:
    """Each gate on a fresh ``Mail``; where it says False, ``detect`` on another one, and
    none of the gate's patterns matches its field (the literal look-ups hide no match).
    Each compiled gate (``_dispatch``) gives its ``Markers``' answer."""
    _assert_compiled_agrees(msg, label)
    _assert_recognisers_gated(msg, label)
    _assert_powermta_precheck(msg, label)
    _assert_arf_precheck(msg, label)
    for name, detector in GATED:
        gate = gate_of(detector)
        assert gate is not None
        if not gate(Mail(msg)):
            assert not detector.detect(Mail(msg)), f"{name} gate hid a match in {label}"
            assert not _regex_gate(gate, Mail(msg)), f"{name} gate missed its pattern"


def _assert_recognisers_gated(msg: Message, label: str) -> None:
    """Exim asks a provider's gate before its ``recognises``: the gate never hides one."""
    from mailbounce.bounces.exim import _OWN_LAYOUTS

    for module in _OWN_LAYOUTS:
        if module.recognises(Mail(msg)):
            assert module.DETECTOR.gate(Mail(msg)), f"{module.__name__} gate in {label}"


def _assert_powermta_precheck(msg: Message, label: str) -> None:
    """PowerMTA's look for its category field says no only where the groups lack it."""
    from mailbounce.bounces._addressblocks import report_field
    from mailbounce.bounces.powermta import _CATEGORY, _may_name_categories

    if not _may_name_categories(Mail(msg)):
        assert report_field(Mail(msg), _CATEGORY) == {}, f"powermta precheck in {label}"


def _assert_arf_precheck(msg: Message, label: str) -> None:
    """The JMRP look skips parsing header text only where the parse lacks the field."""
    from mailbounce.bounces.arf import _HOTMAIL_RECIPIENT, _original_headers

    if _original_headers(Mail(msg), having=_HOTMAIL_RECIPIENT) is None:
        original = _original_headers(Mail(msg))
        assert original is None or original.get(_HOTMAIL_RECIPIENT) is None, label


def _assert_compiled_agrees(msg: Message, label: str) -> None:
    """Each compiled gate on a fresh ``Mail`` says what its ``Markers`` says on another."""
    for detector, compiled in COMPILED:
        gate = gate_of(detector)
        if gate is None:
            assert compiled is None, detector.name
            continue
        assert compiled is not None
        answer = compiled(Mail(msg))
        assert answer is gate(Mail(msg)), f"compiled {detector.name} gate differs in {label}"
    _assert_asked_agrees(msg, label)


def _assert_asked_agrees(msg: Message, label: str) -> None:
    """``ASKED`` yields, in order, every detector whose gate lets it be asked: each index
    as ``_detect`` takes them, one at a time on one ``Mail``."""
    answers = [gate is None or gate(Mail(msg)) for gate in map(gate_of, DETECTORS)]
    expected = [index for index, answer in enumerate(answers) if answer]
    assert list(ASKED(Mail(msg))) == expected, f"detectors asked in {label}"


def _regex_gate(gate: object, mail: Mail) -> bool:
    """What a gate answers with its patterns run as regexes on the fields themselves."""
    assert isinstance(gate, Markers)
    first = any(_regex_marker(marker, mail) for marker in gate.markers)
    return first and (gate.also is None or _regex_gate(gate.also, mail))


def _regex_marker(marker: Marker, mail: Mail) -> bool:
    if marker.pattern is PRESENT:
        return marker.field in mail.msg
    if marker.field == BODY:
        texts = [body_text(mail)]
    elif marker.field == RECEIVED:
        texts = [str(value) for value in mail.msg.get_all("Received") or ()]
    else:
        texts = [mail.header(marker.field)]
    return any(marker.pattern.search(text[: marker.limit]) for text in texts)


def test_most_detectors_have_a_gate() -> None:
    assert len(GATED) >= 55, GATED_NAMES


@pytest.mark.parametrize("name", GATED_NAMES)
def test_every_gate_reads_its_patterns(name: str) -> None:
    """A gate whose patterns give no literal would always say True: a useless gate."""
    detector = dict(GATED)[name]
    gate = gate_of(detector)
    assert isinstance(gate, Markers)
    for marker in _all_markers(gate):
        assert marker.pattern is PRESENT or literal_sets(marker.pattern), marker


def test_gates_on_the_project_samples() -> None:
    files = sorted(DATA.rglob("*.eml"))
    assert files
    for path in files:
        _assert_exact(_parse(path.read_bytes()), str(path))


def test_gates_on_the_corpus(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "bounces" / "maildir").rglob("*") if p.is_file())
    assert len(files) > 400
    for path in files:
        _assert_exact(_parse(path.read_bytes()), path.name)


# Generated mail: the detectors' own words (their pattern sources cut at regex syntax), in
# the sender, subject, X-Mailer, Received and body, in varied case, near or far from the top.
def _marker_words() -> list[str]:
    words: set[str] = set()
    for _, detector in GATED:
        for marker in _all_markers(gate_of(detector)):
            if marker.pattern is not PRESENT:
                words.update(re.split(r"[\\()\[\]|?*+{}^$]+", marker.pattern.pattern))
                words.update(required_literals(marker.pattern) or ())
                words.update(w for one in literal_sets(marker.pattern) or () for w in one)
    return sorted(w for w in words if w.strip())


_WORDS = _marker_words()
_TEXT = st.lists(
    st.one_of(
        st.sampled_from(_WORDS),
        st.sampled_from(_WORDS).map(str.upper),
        st.sampled_from([" ", "\n", "-----", "<a@b.example>", "é", "550 5.1.1 ", "ſ"]),
    ),
    max_size=12,
).map("".join)


@st.composite
def _mail(draw: st.DrawFn) -> bytes:
    def line(text: str) -> str:
        return " ".join(text.split()) or "x"

    headers = [
        f"From: {line(draw(_TEXT))} <{draw(st.sampled_from(['mailer-daemon', 'postmaster']))}"
        "@mx.example.org>",
        f"Subject: {line(draw(_TEXT))}",
        f"Received: from {line(draw(_TEXT))} by mx.example.org",
        f"X-Mailer: {line(draw(_TEXT))}",
    ]
    for name in draw(st.lists(st.sampled_from(_HEADER_NAMES), max_size=3)):
        headers.append(f"{name}: {line(draw(_TEXT))}")
    padding = "\n" * draw(st.sampled_from([0, 0, 30, 300]))
    body = padding + draw(_TEXT) + "\nAddress: <jean@example.fr>: 550 5.1.1 unknown\n"
    body += draw(_TEXT)
    head = "\n".join(headers) + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
    return (head + "\n" + body + "\n").encode("utf-8")


_HEADER_NAMES = sorted(
    {
        marker.field
        for _, detector in GATED
        for marker in _all_markers(gate_of(detector))
        if marker.field not in (BODY, RECEIVED)
    }
)


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(_mail())
def test_gates_on_generated_mail(raw: bytes) -> None:
    _assert_exact(_parse(raw), raw.decode("utf-8", "replace")[:300])


# The engine's rules.
_MAIL = (
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
    "Subject: Undelivered Mail\nX-Flag: yes\n\n" + "x" * 50 + "\nThe Lead Line\n"
)


def _gate_says(*markers: Marker, text: str = _MAIL) -> bool:
    return Markers(*markers)(Mail(_parse(text.encode("utf-8"))))


def test_markers_look_in_their_field_only() -> None:
    lead = re.compile(r"^the lead line", re.I | re.M)
    assert _gate_says(Marker(BODY, lead))
    assert not _gate_says(Marker("Subject", lead))
    assert _gate_says(Marker("From", re.compile("mailer-daemon", re.I)))
    assert not _gate_says(Marker("From", re.compile("mailer-daemon")))  # case kept


def test_a_limit_is_the_detectors_slice() -> None:
    lead = re.compile(r"lead line", re.I)
    assert _gate_says(Marker(BODY, lead, 70))
    assert not _gate_says(Marker(BODY, lead, 60))


def test_header_presence() -> None:
    assert _gate_says(Marker("X-Flag", PRESENT))
    assert not _gate_says(Marker("X-Other", PRESENT))


def test_unsure_cases_say_true() -> None:
    assert _gate_says(Marker(BODY, re.compile(r"\w+ nowhere|\d")))  # no literal to look for
    # The Kelvin sign matches "k" under re.IGNORECASE; str.lower folds it otherwise.
    kelvin = _MAIL.replace("The Lead Line", "\u212aerio")
    assert _gate_says(Marker(BODY, re.compile("kerio", re.I)), text=kelvin)


def test_also_is_a_second_condition() -> None:
    from_daemon = Marker("From", re.compile("mailer-daemon", re.I))
    lead = re.compile("lead line", re.I)
    mail = Mail(_parse(_MAIL.encode("utf-8")))
    assert Markers(from_daemon, also=Markers(Marker(BODY, lead)))(mail)
    assert not Markers(from_daemon, also=Markers(Marker("Subject", lead)))(mail)


def _compiled_says(*markers: Marker, also: Markers | None = None, text: str = _MAIL) -> bool:
    gate = compile_gate(Markers(*markers, also=also))
    assert gate is not None
    return gate(Mail(_parse(text.encode("utf-8"))))


def test_compiled_gates_follow_the_engine_rules() -> None:
    """The rules above, asked of compiled gates (limits, presence, unsure views, ``also``)."""
    lead = re.compile(r"lead line", re.I)
    assert _compiled_says(Marker(BODY, lead, 70))
    assert not _compiled_says(Marker(BODY, lead, 60))
    assert not _compiled_says(Marker("Subject", lead))
    assert _compiled_says(Marker("X-Flag", PRESENT))
    assert not _compiled_says(Marker("X-Other", PRESENT))
    assert not _compiled_says(Marker("From", re.compile("mailer-daemon")))  # case kept
    assert _compiled_says(Marker(BODY, re.compile(r"\w+ nowhere|\d")))
    kelvin = _MAIL.replace("The Lead Line", "\u212aerio")
    assert _compiled_says(Marker(BODY, re.compile("kerio", re.I)), text=kelvin)
    from_daemon = Marker("From", re.compile("mailer-daemon", re.I))
    assert _compiled_says(from_daemon, also=Markers(Marker(BODY, lead)))
    assert not _compiled_says(from_daemon, also=Markers(Marker("Subject", lead)))
    assert not _compiled_says(Marker("Subject", lead), also=Markers(Marker(BODY, lead)))


def test_a_view_that_cannot_be_built_names_its_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked together, the gates hand over to asking them in turn when a view raises: the
    quarantine reason names the first detector whose gate needs the view, as before."""
    from mailbounce.bounces import UnparseableMessage, _markers, analyse_message

    def broken(mail: Mail) -> str:
        raise ValueError("boom")

    monkeypatch.setattr(_markers, "body_text", broken)
    with pytest.raises(UnparseableMessage) as caught:
        analyse_message(_MAIL.encode("utf-8"))
    assert caught.value.reason == "internal error in the amavis detector: ValueError: boom"


def test_header_and_composed_texts_are_the_views_texts() -> None:
    """``header_text`` and ``composed_text`` (what ``asked`` reads) give the text of
    ``present_text``'s view, ``UNSURE`` for a value ``folded`` cannot lower-case, and a
    header is decoded once for the gates and the detectors (``Mail.header`` by the name
    they ask)."""
    from mailbounce.bounces._markers import (
        UNSURE,
        composed_text,
        header_name,
        header_text,
        present_text,
    )

    raw = (
        b"From: =?utf-8?q?Mail_D=C3=A9livery?= <MAILER-DAEMON@example.org>\n"
        b"Subject: =?utf-8?b?xLBzdGFuYnVs?= returned\n"  # "\u0130stanbul": no exact lower form
        b"X-Mailer: Axigen 10\n"
        b"Received: from mx.example.org by relay.example.org (Axigen)\n"
        b"Received: from \xc4\xb0zmir by mx.example.org\n\nThe Body\n"
    )
    msg = _parse(raw)
    for key in ("from", "subject", "x-mailer"):
        for lowered in (0, 1):
            assert header_text(Mail(msg), header_name(key), lowered) == present_text(
                Mail(msg), key, lowered
            ), (key, lowered)
    assert header_text(Mail(msg), "Subject", 1) is UNSURE
    for key in (BODY, RECEIVED):
        for lowered in (0, 1):
            assert composed_text(Mail(msg), key, lowered) == present_text(
                Mail(msg), key, lowered
            ), (key, lowered)
    mail = Mail(msg)
    assert (
        header_text(mail, header_name("from"), 1)
        == "mail d\u00e9livery <mailer-daemon@example.org>"
    )
    assert list(mail._headers) == ["From"]  # decoded once, kept where ``Mail.sender`` reads


def _asked_over(*gates: Markers) -> Callable[[Mail], Iterator[int]]:
    from mailbounce.bounces._dispatch import asked_function

    return asked_function([(DETECTORS[n], gate) for n, gate in enumerate(gates)])


def test_asked_answers_a_body_test_several_gates_ask_once() -> None:
    """Two gates looking for the same words in the body: ``asked`` keeps the first answer
    (a local), and each gate still says what it says alone."""
    lead = re.compile(r"^the lead line", re.I | re.M)
    asked = _asked_over(Markers(Marker(BODY, lead)), Markers(Marker(BODY, lead)))
    assert ":=" in getattr(asked, "source")  # noqa: B009  (the generated code's own text)
    assert list(asked(Mail(_parse(_MAIL.encode("utf-8"))))) == [0, 1]
    other = _MAIL.replace("The Lead Line", "Another line")
    assert list(asked(Mail(_parse(other.encode("utf-8"))))) == []


def test_asked_looks_within_a_limit_in_the_texts_head() -> None:
    """A limited check looks in the text's head (``text[:limit]``): the same answer as
    ``find`` within the limit, and an unsure text's head is unsure too."""
    from mailbounce.bounces._markers import UNSURE

    lead = re.compile(r"lead line", re.I)
    asked = _asked_over(Markers(Marker(BODY, lead, 70)), Markers(Marker(BODY, lead, 60)))
    assert list(asked(Mail(_parse(_MAIL.encode("utf-8"))))) == [0]
    kelvin = _MAIL.replace("The Lead Line", "\u212aerio")  # no exact lower-cased form
    assert list(asked(Mail(_parse(kelvin.encode("utf-8"))))) == [0, 1]
    assert UNSURE[:60] is UNSURE


def test_asked_asks_cheap_checks_first_with_the_same_answers() -> None:
    """A part's checks are asked header names, headers, then the body; a check's literal
    sets fewest first: the answers of every order are the engine's."""
    daemon = Marker("From", re.compile("mailer-daemon", re.I))
    body = Marker(BODY, re.compile(r"(lead|head) line", re.I))
    for gate in (
        Markers(body, daemon),
        Markers(daemon, body),
        Markers(Marker("X-Other", PRESENT), body),
    ):
        asked = _asked_over(gate)
        answers = set()
        for daemon_at in ("MAILER-DAEMON", "someone"):
            for lead in ("The Lead Line", "The Last Line"):
                text = _MAIL.replace("MAILER-DAEMON", daemon_at).replace("The Lead Line", lead)
                mail = _parse(text.encode("utf-8"))
                answers.add(gate(Mail(mail)))
                assert list(asked(Mail(mail))) == ([0] if gate(Mail(mail)) else [])
        assert answers == {True, False}
