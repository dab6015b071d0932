"""Parsing helpers of the n-z MTA detectors: address blocks, sendmail transcripts, sentences.

The detectors themselves are exercised end to end by tests/test_bounce_samples.py (their
hand-written samples) and the corpus test; here each shared piece is pinned on small inputs,
plus the properties every parser must keep on arbitrary text (never raise).
"""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.bounces import _addressblocks as blocks
from mailbounce.bounces import registry
from mailbounce.bounces._transcript import read_transcript, unquote
from mailbounce.bounces.base import Mail
from mailbounce.bounces.sendmail import sections
from mailbounce.classify import classify
from mailbounce.models import BounceFacts, Reason

SAMPLES = Path(__file__).resolve().parent / "data" / "bounces"
MY_DETECTORS = [
    "frenchisp",
    "notes",
    "office365",
    "opensmtpd",
    "outlook",
    "postfix",
    "powermta",
    "qmail",
    "receivingses",
    "sendgrid",
    "sendmail",
    "smartermail",
    "surfcontrol",
    "trendmicro",
    "v5sendmail",
    "verizon",
    "x1",
    "x2",
    "x3",
    "x4",
    "x5",
    "x6",
    "yahoo",
    "zimbra",
    "zoho",
]


def _mail(raw: bytes) -> Mail:
    return Mail(email.message_from_bytes(raw, policy=email.policy.compat32))


# --- address blocks (qmail, Yahoo, x2, x4, Postfix) -------------------------------------


def test_address_blocks_split_at_each_address_and_fold_lines() -> None:
    text = (
        "<a@example.org>:\n192.0.2.1 does not like recipient.\n"
        "Remote host said: 550 5.1.1 unknown\n\n"
        "<b@example.net>:\nSorry, I couldn't find any host named example.net. (#5.1.2)\n"
    )
    assert blocks.address_blocks(text) == [
        ("a@example.org", "192.0.2.1 does not like recipient. Remote host said: 550 5.1.1 unknown"),
        ("b@example.net", "Sorry, I couldn't find any host named example.net. (#5.1.2)"),
    ]


def test_postfix_blocks_end_at_a_blank_line_and_keep_the_expanded_alias_out() -> None:
    text = (
        "<x@example.org> (expanded from\n    <list@example.org>): host mx[192.0.2.1] said:\n"
        "    550 5.1.1 no such user (in reply to RCPT TO command)\n\nunrelated trailer\n"
    )
    [(recipient, detail)] = blocks.address_blocks(text, blank_ends_block=True)
    assert recipient == "x@example.org"
    assert detail.endswith("(in reply to RCPT TO command)")
    assert "trailer" not in detail


def test_an_indented_address_is_part_of_the_block_not_a_new_recipient() -> None:
    text = "<x@example.org>: host mx said: 550\n    <x@example.org>: User unknown\n"
    assert [r for r, _ in blocks.address_blocks(text)] == ["x@example.org"]


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("198.51.100.1 does not like recipient.", "RCPT"),
        ("Connected to 192.0.2.1 but sender was rejected.", "MAIL"),
        ("192.0.2.1 failed after I sent the message.", "DATA"),
        ("Connected to 192.0.2.1 but my name was rejected.", "EHLO"),
        ("550 5.1.1 User unknown [RCPT_TO]", "RCPT"),
        ("Sorry, I couldn't find any host named example.org.", None),
    ],
)
def test_smtp_command_named_by_the_layout(text: str, command: str | None) -> None:
    assert blocks.smtp_command(text) == command


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("550: <a@example.org>: User unknown", "550"),
        ("Remote host said: 421 4.7.0 try later", "421"),
        ("192.0.2.25 does not like recipient.", None),
    ],
)
def test_said_code(text: str, code: str | None) -> None:
    assert blocks.said_code(text) == code


# --- family sentences -------------------------------------------------------------------

_TABLE = blocks.sentences(
    ("the gateway frowned", Reason.BLOCKED, False),
    ("couldn't find any host named", Reason.HOSTUNKNOWN, True),
)


def test_a_framing_sentence_decides_only_when_the_remote_text_is_vague() -> None:
    vague = BounceFacts(
        recipient="a@example.org",
        status="5.0.0",
        replycode="501",
        diagnostic="the gateway frowned: 501 5.0.0 bad thing",
    )
    clear = BounceFacts(
        recipient="a@example.org",
        status="5.2.2",
        replycode="552",
        diagnostic="the gateway frowned: 552 5.2.2 Mailbox full",
    )
    assert blocks.with_sentence_reason(vague, _TABLE).reason_hint is Reason.BLOCKED
    assert blocks.with_sentence_reason(clear, _TABLE).reason_hint is None
    assert classify(blocks.with_sentence_reason(clear, _TABLE)).reason is Reason.MAILBOXFULL


def test_a_decisive_sentence_names_the_reason_whatever_the_code() -> None:
    facts = BounceFacts(
        recipient="a@example.org",
        status="4.4.1",
        diagnostic="Sorry, I couldn't find any host named example.org. (#4.4.1)",
    )
    assert blocks.with_sentence_reason(facts, _TABLE).reason_hint is Reason.HOSTUNKNOWN


def test_jis_text_without_a_charset_is_decoded() -> None:
    raw = "ディレクトリのリストにありません".encode("iso-2022-jp").decode("ascii")
    assert blocks.jis_decoded(raw) == "ディレクトリのリストにありません"
    assert blocks.jis_decoded("plain text") == "plain text"
    assert blocks.jis_decoded("\x1b$B broken \u00e9") == "\x1b$B broken \u00e9"


def test_original_recipients_reads_a_folded_to_header() -> None:
    text = "From: a@example.org\nTo: One <one@example.org>,\n  two@example.net\nSubject: x\n"
    assert blocks.original_recipients(text) == ["one@example.org", "two@example.net"]


# --- sendmail transcripts ---------------------------------------------------------------

_TRANSCRIPT = """\
... while talking to mx.example.org.:
>>> DATA
<<< 550-5.7.1 first line of the refusal
<<< 550 5.7.1 second line
550 5.1.1 <a@example.org>... User unknown
<<< 503 5.0.0 Need RCPT (recipient)
While talking to relay.example.net:
>>> MAIL From:<me@example.com>
<<< 501 <me@example.com>... refused
554 <b@example.net>... Remote protocol error
554 <c@example.net>... 550 Host unknown
421 example.net (smtp)... Deferred
"""


def test_transcript_gives_each_recipient_the_reply_printed_before_it() -> None:
    found = read_transcript(_TRANSCRIPT.split("\n"))
    a, b, c = found.recipients
    assert a.recipient == "a@example.org"
    assert a.reply is not None
    assert a.reply.text == "550-5.7.1 first line of the refusal 550 5.7.1 second line"
    assert (a.reply.command, a.reply.remote) == ("DATA", "mx.example.org")
    assert b.reply is not None and b.reply.command == "MAIL"
    assert c.reply is None  # the 501 was b's; c's own line says why
    assert found.host_errors == ["421 example.net (smtp)... Deferred"]


def test_a_truncated_diagnostic_finds_its_full_reply() -> None:
    found = read_transcript(_TRANSCRIPT.split("\n"))
    reply = found.reply_starting("550-5.7.1 first line of the refusal")
    assert reply is not None and reply.text.endswith("second line")
    assert found.reply_starting("") is None


def test_a_local_recipient_matches_its_transcript_line() -> None:
    found = read_transcript(["kijitora... Deferred: Connection refused by [127.0.0.1]"])
    error = found.for_recipient("kijitora@example.jp")
    assert error is not None and "Connection refused" in error.line


def test_quoted_forwarded_bounce_is_unquoted_only_when_its_rules_are_quoted() -> None:
    quoted = ">    ----- Transcript of session follows -----\n>>>> DATA\n> <<< 550 no\n"
    assert unquote(quoted).split("\n")[1:3] == [">>> DATA", "<<< 550 no"]
    plain = "   ----- Transcript of session follows -----\n>>> DATA\n"
    assert unquote(plain) == plain


def test_sendmail_sections_are_cut_at_the_dashed_titles() -> None:
    text = (
        "   ----- The following addresses had permanent fatal errors -----\n<a@example.org>\n"
        "   ----- Transcript of session follows -----\n550 <a@example.org>... no\n"
    )
    parts = sections(text)
    assert list(parts) == [
        "The following addresses had permanent fatal errors",
        "Transcript of session follows",
    ]
    assert "<a@example.org>" in parts["The following addresses had permanent fatal errors"]


# --- report extension fields ------------------------------------------------------------


def test_report_field_reads_an_extension_field_per_recipient() -> None:
    raw = (SAMPLES / "powermta-01.eml").read_bytes()
    assert blocks.report_field(_mail(raw), "X-PowerMTA-BounceCategory") == {
        "lecteur@example.net": "quota-issues"
    }


# --- robustness and cheap rejection -----------------------------------------------------


@given(st.text(max_size=2000))
def test_text_parsers_never_raise(text: str) -> None:
    blocks.address_blocks(text)
    blocks.address_blocks(text, blank_ends_block=True)
    blocks.original_recipients(text)
    read_transcript(text.split("\n"))
    sections(text)
    unquote(text)


_PLAIN_MAIL = (
    b"From: Lucie <lucie@example.org>\nTo: bureau@asso-exemple.org\n"
    b"Subject: Re: failure notice of the printer\nMessage-ID: <p1@example.org>\n\n"
    b"Bonjour, <bureau@asso-exemple.org>: la reunion est jeudi.\n"
    b"--- Below this line is a copy of the message.\n"
)


@pytest.mark.parametrize("name", MY_DETECTORS)
def test_detectors_leave_a_personal_mail_alone(name: str) -> None:
    detector = next(d for d in registry.DETECTORS if d.name == name)
    assert detector.detect(_mail(_PLAIN_MAIL)) is None


@pytest.mark.parametrize(
    "name", sorted(p.name for p in SAMPLES.glob("*.eml") if p.name.split("-")[0] in MY_DETECTORS)
)
def test_each_sample_is_read_by_its_own_family(name: str) -> None:
    from mailbounce.bounces import analyse_message

    family = re.sub(r"-\d+\.eml$", "", name)
    assert analyse_message((SAMPLES / name).read_bytes()).detector == family


# --- generated layouts: any number of recipients, any codes ------------------------------

_LOCAL = st.from_regex(r"[a-z][a-z0-9.]{0,10}[a-z0-9]", fullmatch=True)
_DOMAIN = st.from_regex(r"[a-z]{2,8}\.(org|net|fr|example)", fullmatch=True)
_FAILURE = st.tuples(
    st.sampled_from(["550", "551", "552", "553", "554", "450", "451", "452"]),
    st.integers(0, 7),
    st.integers(0, 9),
    st.sampled_from(["User unknown", "Mailbox full", "Service unavailable", "Rejected"]),
)


def _recipients(draw_list: list[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys(f"{local}@{domain}" for local, domain in draw_list))


def _analyse(raw: str) -> dict[str, tuple[str | None, str | None]]:
    from mailbounce.bounces import analyse_message

    analysis = analyse_message(raw.encode())
    return {f.recipient: (f.status, f.replycode) for f, _ in analysis.results}


def _expected(
    recipients: list[str], failures: list[tuple[str, int, int, str]]
) -> dict[str, tuple[str, str]]:
    """What each generated recipient's block must give: its status and reply code."""
    return {
        rcpt: (f"{code[0]}.{subject}.{detail}", code)
        for rcpt, (code, subject, detail, _) in zip(recipients, failures, strict=False)
    }


@settings(max_examples=40, deadline=None)  # never a timing assertion: shared machines
@given(
    st.lists(st.tuples(_LOCAL, _DOMAIN), min_size=1, max_size=5),
    st.lists(_FAILURE, min_size=5, max_size=5),
)
def test_qmail_layout_with_any_recipients_and_codes(
    addresses: list[tuple[str, str]], failures: list[tuple[str, int, int, str]]
) -> None:
    recipients = _recipients(addresses)
    body = "".join(
        f"<{rcpt}>:\n192.0.2.9 does not like recipient.\nRemote host said: "
        f"{code} {code[0]}.{subject}.{detail} {words}\nGiving up on 192.0.2.9.\n\n"
        for rcpt, (code, subject, detail, words) in zip(recipients, failures, strict=False)
    )
    raw = (
        "From: MAILER-DAEMON@mx.example.org\nTo: a@asso-exemple.org\nSubject: failure notice\n\n"
        "Hi. This is the qmail-send program at mx.example.org.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"{body}--- Below this line is a copy of the message.\n\nSubject: x\n"
    )
    assert _analyse(raw) == _expected(recipients, failures)


@settings(max_examples=40, deadline=None)  # never a timing assertion: shared machines
@given(
    st.lists(st.tuples(_LOCAL, _DOMAIN), min_size=1, max_size=5),
    st.lists(_FAILURE, min_size=5, max_size=5),
)
def test_old_postfix_layout_with_any_recipients_and_codes(
    addresses: list[tuple[str, str]], failures: list[tuple[str, int, int, str]]
) -> None:
    recipients = _recipients(addresses)
    body = "".join(
        f"<{rcpt}>: host mx.{rcpt.split('@')[1]}[192.0.2.9] said:\n    {code}\n"
        f"    {code[0]}.{subject}.{detail} {words} (in reply to RCPT TO command)\n\n"
        for rcpt, (code, subject, detail, words) in zip(recipients, failures, strict=False)
    )
    raw = (
        "From: MAILER-DAEMON@relay.example.org (Mail Delivery System)\nTo: a@asso-exemple.org\n"
        "Subject: Undelivered Mail Returned to Sender\n\n"
        "This is the Postfix program at host relay.example.org.\n\n"
        "I'm sorry to have to inform you that the message returned\n"
        "below could not be delivered to one or more destinations.\n\n"
        f"\t\t\tThe Postfix program\n\n{body}"
    )
    assert _analyse(raw) == _expected(recipients, failures)


@settings(max_examples=40, deadline=None)  # never a timing assertion: shared machines
@given(
    st.lists(st.tuples(_LOCAL, _DOMAIN), min_size=1, max_size=4),
    st.lists(_FAILURE, min_size=4, max_size=4),
)
def test_sendmail_text_layout_with_any_recipients_and_codes(
    addresses: list[tuple[str, str]], failures: list[tuple[str, int, int, str]]
) -> None:
    recipients = _recipients(addresses)
    pairs = list(zip(recipients, failures, strict=False))
    listed = "".join(f"<{rcpt}>\n" for rcpt in recipients)
    sessions = "".join(
        f"... while talking to mx.{rcpt.split('@')[1]}.:\n>>> RCPT To:<{rcpt}>\n"
        f"<<< {code} {code[0]}.{subject}.{detail} {words}\n"
        f"{code} {code[0]}.{subject}.{detail} <{rcpt}>... {words}\n"
        for rcpt, (code, subject, detail, words) in pairs
    )
    raw = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@gw.example.org>\nTo: a@asso-exemple.org\n"
        "Subject: Returned mail: see transcript for details\n\n"
        "   ----- The following addresses had permanent fatal errors -----\n"
        f"{listed}\n   ----- Transcript of session follows -----\n{sessions}\n"
        "   ----- Original message follows -----\n\nSubject: x\n"
    )
    assert _analyse(raw) == _expected(recipients, failures)
