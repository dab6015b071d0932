"""Parsing helpers and layout variants of the non-standard MTA detectors (families a-m).

Samples are written here inline (made-up addresses) to vary what the sample files in
``tests/data/bounces`` fix: recipient counts, codes, wordings, line endings, foreign mail
relayed through a gateway whose trace a detector knows.
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.bounces import _mailtexts as mt
from mailbounce.bounces import _textblocks as tb
from mailbounce.bounces import analyse_message
from mailbounce.bounces.base import Mail
from mailbounce.models import Reason

DATA = Path(__file__).parent / "data" / "bounces"
OWN_SAMPLES = sorted(
    p
    for p in DATA.glob("*.eml")
    if p.name.split("-")[0]
    in {
        "activehunter", "amazonses", "axigen", "communigate", "courier", "domino", "dragonfly",
        "exchange2003", "googlegroups", "mailru", "messagingserver",
        "exim", "fml", "gmail", "gmx", "haraka", "hmailserver", "icewarp", "kerio", "mdaemon",
        "messagelabs", "mimecast",
    }
)  # fmt: skip


def _mail(raw: str) -> Mail:
    return Mail(email.message_from_string(raw, policy=email.policy.compat32))


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("550 5.1.1 <a@b.example>... User unknown", "5.1.1"),
        ("5.1.0 - Unknown address error 550-'5.7.1 <x@y.example>... Access denied'", "5.7.1"),
        ("Status 5.0.0 then 5.2.2 mailbox full", "5.2.2"),
        ("host [192.0.2.1]: 5.0.0 generic", "5.0.0"),
        ("connect to 192.0.2.10 failed", None),
        ("version 4.4.7.1 of the software", None),
    ],
)
def test_enhanced_status_prefers_the_remote_and_specific_code(
    text: str, status: str | None
) -> None:
    assert tb.enhanced_status(text) == status


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("550 5.1.1 unknown", "550"),
        ("<<< 553 Invalid recipient", "553"),
        ("host mx [192.0.2.222]: 554 5.7.1 Reverse DNS failed", "554"),
        ("SIZE=1024: 550 Unroutable sender address", "550"),
        ("retried for 2 more day(s) at 203.0.113.222", None),
        ("571 No PTR Record found", None),
    ],
)
def test_reply_code_is_a_valid_code_standing_alone(text: str, code: str | None) -> None:
    assert tb.reply_code(text) == code


def test_indented_blocks_group_details_under_each_address() -> None:
    lines = [
        "  a@one.example",
        "    SMTP error from remote mail server after RCPT TO:<a@one.example>:",
        "    550 5.1.1 unknown",
        "",
        "  b@two.example",
        "    retry timeout exceeded",
    ]
    blocks = tb.indented_blocks(lines)
    assert [head for head, _ in blocks] == ["a@one.example", "b@two.example"]
    assert blocks[1][1] == ["retry timeout exceeded"]


def test_address_blocks_accept_bare_bracketed_and_inline_forms() -> None:
    lines = [
        "x@one.example",
        "   Remote server replied: 550 no",
        '"y@two.example": 552 full',
        "<z@three.example>",
        "w@four.example on Tue, 9 Mar 2004 17:22:08 +0100",
        "   hMailServer sent: RCPT TO:<not-a-head@five.example>",
    ]
    blocks = tb.address_blocks(lines)
    assert [address for address, _ in blocks] == [
        "x@one.example",
        "y@two.example",
        "z@three.example",
        "w@four.example",
    ]
    assert blocks[1][1] == ["552 full"]
    assert blocks[3][1] == ["hMailServer sent: RCPT TO:<not-a-head@five.example>"]


def test_field_blocks_split_groups_and_join_folds() -> None:
    text = (
        "Reporting-MTA: dns; mx\n\n"
        "Final-Recipient: rfc822; a@b.example\nDiagnostic-Code: smtp;\n 550 no\n"
    )
    blocks = tb.field_blocks(text)
    assert blocks[1]["diagnostic-code"] == "smtp; 550 no"


def test_make_facts_keeps_a_reply_code_of_the_status_class() -> None:
    facts = tb.make_facts("A@B.example", "  550\n 5.1.1   unknown  ")
    assert (facts.recipient, facts.status, facts.replycode, facts.diagnostic) == (
        "a@b.example",
        "5.1.1",
        "550",
        "550 5.1.1 unknown",
    )
    assert tb.make_facts("a@b.example", "451 4.7.1 greylisted", action=None).action == "delayed"


def test_reason_table_names_the_first_matching_sentence() -> None:
    table = tb.reason_table((Reason.MAILBOXFULL, r"quota"), (Reason.EXPIRED, r"retry"))
    assert tb.own_reason("quota exceeded: retry timeout", table) is Reason.MAILBOXFULL
    assert tb.own_reason("nothing here", table) is None


@settings(deadline=None)  # never a timing assertion: shared machines
@given(st.text(max_size=400))
def test_text_helpers_never_raise(text: str) -> None:
    tb.enhanced_status(text)
    tb.reply_code(text)
    tb.indented_blocks(text.split("\n"))
    tb.address_blocks(text.split("\n"))
    tb.field_blocks(text)
    tb.make_facts("a@b.example", text)


EXIM_THREE = """\
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: sender@assoc.example.org
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: one@a.example, two@b.example, three@c.example

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  one@a.example
    host mx.a.example [192.0.2.1]
    SMTP error from remote mail server after RCPT TO:<one@a.example>:
    550 5.1.1 <one@a.example>: Recipient address rejected: User unknown
  two@b.example
    Unrouteable address
  three@c.example
    host mx.c.example [192.0.2.3]
    SMTP error from remote mail server after MAIL FROM:<sender@assoc.example.org> SIZE=2048:
    550 5.7.1 Sender address rejected: Access denied

------ This is a copy of the message, including all the headers. ------

To: one@a.example
Subject: hello
"""


def test_exim_reads_each_recipient_with_its_own_stage_and_reason() -> None:
    analysis = analyse_message(EXIM_THREE.encode())
    assert analysis.detector == "exim"
    rows = {f.recipient: (f, c) for f, c in analysis.results}
    assert set(rows) == {"one@a.example", "two@b.example", "three@c.example"}
    assert rows["one@a.example"][1].reason is Reason.USERUNKNOWN
    assert rows["one@a.example"][0].smtp_command == "RCPT"
    assert rows["two@b.example"][1].reason is Reason.HOSTUNKNOWN  # Exim's own words
    assert rows["three@c.example"][0].smtp_command == "MAIL"
    assert rows["three@c.example"][0].remote_mta == "mx.c.example"


POSTFIX_VIA_GATEWAY = """\
Received: from eu-smtp-1.mimecast.com (eu-smtp-1.mimecast.com [192.0.2.9])
 by mx.assoc.example.org (Postfix) with ESMTPS id 1; Mon, 1 May 2023 10:00:00 +0200
Received: from mout-bounce.gmx.net (mout-bounce.gmx.net [192.0.2.8])
 by eu-smtp-1.mimecast.com with ESMTP; Mon, 1 May 2023 09:59:59 +0200
X-MC-Unique: 11111111-2222-3333-4444-555555555555
X-Msg-Ref: server-1.tower-2.messagelabs.com!1!2!3
From: MAILER-DAEMON@relay.example.net (Mail Delivery System)
To: sender@assoc.example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host relay.example.net.

<gone@d.example>: host mx.d.example[192.0.2.4] said: 550 5.1.1 <gone@d.example>:
    Recipient address rejected: User unknown (in reply to RCPT TO command)

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net

Final-Recipient: rfc822; gone@d.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <gone@d.example>: Recipient address rejected: User unknown

--B--
"""


def test_gateway_traces_alone_do_not_claim_a_foreign_report() -> None:
    """An inbound gateway (Mimecast, MessageLabs, GMX) stamps every message it relays."""
    mine = {"mimecast", "messagelabs", "gmx", "einsundeins", "mxlogic", "kerio", "icewarp"}
    analysis = analyse_message(POSTFIX_VIA_GATEWAY.encode())
    assert analysis.detector not in mine
    assert [f.recipient for f, _ in analysis.results] == ["gone@d.example"]


def test_amazon_ses_complaint_and_delivery_notifications() -> None:
    complaint = (
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\n"
        "Subject: AWS Notification Message\n\n"
        '{"notificationType":"Complaint","complaint":{"complainedRecipients":'
        '[{"emailAddress":"reader@e.example"}],"complaintFeedbackType":"abuse"},"mail":{}}\n'
    )
    (facts, classification), *_ = analyse_message(complaint.encode()).results
    assert (facts.recipient, facts.feedback_type) == ("reader@e.example", "abuse")
    assert classification.reason is Reason.FEEDBACK
    wrapped = (
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\n"
        "Subject: AWS Notification Message\n\n"
        '{"Type":"Notification","Message":"{\\"notificationType\\":\\"Delivery\\",'
        '\\"delivery\\":{\\"recipients\\":[\\"ok@f.example\\"],'
        '\\"smtpResponse\\":\\"250 2.0.0 OK\\"}}"}\n'
    )
    (facts, classification), *_ = analyse_message(wrapped.encode()).results
    assert (facts.recipient, facts.status, classification.reason) == (
        "ok@f.example",
        "2.0.0",
        Reason.DELIVERED,
    )


def test_mdaemon_reports_only_recipients_refused_in_the_transcript() -> None:
    raw = """\
From: MDaemon@mail.example.fr
Subject: Permanent Delivery Failure

The attached message had PERMANENT fatal delivery errors!

--- Session Transcript ---
 Mon 2023-01-02 10:00:00.000: --> MAIL From:<s@assoc.example.org>
 Mon 2023-01-02 10:00:00.100: <-- 250 2.1.0 Ok
 Mon 2023-01-02 10:00:00.200: --> RCPT To:<fine@g.example>
 Mon 2023-01-02 10:00:00.300: <-- 250 2.1.5 Ok
 Mon 2023-01-02 10:00:00.400: --> RCPT To:<moved@g.example>
 Mon 2023-01-02 10:00:00.500: <-- 550 5.1.6 Recipient has moved
--- End Transcript ---
"""
    analysis = analyse_message(raw.encode())
    assert analysis.detector == "mdaemon"
    assert [(f.recipient, f.status, c.reason) for f, c in analysis.results] == [
        ("moved@g.example", "5.1.6", Reason.HASMOVED)
    ]


@pytest.mark.parametrize("sample", OWN_SAMPLES, ids=lambda p: p.name)
def test_line_endings_do_not_change_the_results(sample: Path) -> None:
    raw = sample.read_bytes().replace(b"\r\n", b"\n")
    results = [analyse_message(v).results for v in (raw, raw.replace(b"\n", b"\r\n"))]
    results.append(analyse_message(raw.replace(b"\n", b"\r")).results)
    assert results[0] and results[0] == results[1] == results[2]


def test_broken_multipart_still_yields_the_bounce_text() -> None:
    raw = (
        'From: x@y.example\nContent-Type: multipart/mixed; boundary="OUT"\n\n--OUT\n'
        'Content-Type: multipart/alternative;\nboundary="IN"\n\n--IN\n'
        "Content-Type: text/plain\n\nError message below:\n550 no such user here\n"
        "\nMessage details:\n  RCPT TO: who@h.example\n\n--IN--\n--OUT--\n"
    )
    assert mt.body_text(_mail(raw)).count("Error message below:") == 1
    (facts, _), *_ = analyse_message(raw.encode()).results
    assert (facts.recipient, facts.replycode) == ("who@h.example", "550")


VARIANTS = {
    "hmailserver": (
        "From: <postmaster@asso.example.fr>\nSubject: Message undeliverable: Agenda\n\n"
        "Your message did not reach some or all of the intended recipients.\n\n"
        "The following recipient(s) could not be reached:\n\n"
        "a@nomx.example\n   Error Type: SMTP\n"
        "   Error Description: No mail servers appear to exists for the recipients address.\n\n"
        "b@full.example\n   Error Type: SMTP\n   Remote server (192.0.2.1) issued an error.\n"
        "   hMailServer sent: RCPT TO:<b@full.example>\n"
        "   Remote server replied: 452 4.2.2 Over quota\n\nhMailServer\n",
        [
            ("a@nomx.example", None, Reason.HOSTUNKNOWN),
            ("b@full.example", "4.2.2", Reason.MAILBOXFULL),
        ],
    ),
    "communigate": (
        "From: MAILER-DAEMON@cgp.example.fr\nSubject: Delayed mail: Agenda\n"
        "X-Mailer: CommuniGate Pro SMTP 6.2\n\n"
        "Delivery to '<slow@remote.example>' delayed\n"
        "SMTP module(domain remote.example) reports:\n"
        " mx.remote.example: 421 4.4.2 Connection timed out\n",
        [("slow@remote.example", "4.4.2", None)],
    ),
    "kerio": (
        "From: postmaster@kerio.example.fr\nSubject: Undelivered mail: Agenda\n"
        "X-Mailer: Kerio Connect 9.4\n\n"
        "The following recipient(s) could not be reached:\n\n"
        "   c@gone.example\n      Error Type: SMTP\n"
        "      Remote server replied: 550 5.1.1 No such user\n\n"
        "   d@gone.example\n      Error Type: SMTP\n"
        "      Remote server replied: 550 5.1.6 Recipient moved\n",
        [("c@gone.example", "5.1.1", Reason.USERUNKNOWN), ("d@gone.example", "5.1.6", None)],
    ),
    "haraka": (
        "Received: (Haraka 2.8.25); Tue, 21 Nov 2023 19:30:12 +0100\n"
        "From: MAILER-DAEMON@relay.example.fr\nSubject: Mail delivery failed\n\n"
        "We were unable to deliver your message to the following addresses.\n\n"
        "<e@one.example>: 550 5.1.1 unknown\n<f@two.example>: 552 5.2.2 quota exceeded\n",
        [("e@one.example", "5.1.1", Reason.USERUNKNOWN), ("f@two.example", "5.2.2", None)],
    ),
    "axigen": (
        "Received: by mail.example.fr (Axigen) id 1\n"
        "From: MAILER-DAEMON@mail.example.fr\nSubject: Undelivered message\n\n"
        "Your message could not be delivered to the following recipients:\n\n"
        "g@three.example\nReason: 554 5.7.1 Message rejected as spam\n",
        [("g@three.example", "5.7.1", Reason.SPAMDETECTED)],
    ),
}


@pytest.mark.parametrize("family", sorted(VARIANTS))
def test_absent_family_variants(family: str) -> None:
    raw, expected = VARIANTS[family]
    analysis = analyse_message(raw.encode())
    assert analysis.detector == family
    got = [(f.recipient, f.status) for f, _ in analysis.results]
    assert got == [(recipient, status) for recipient, status, _ in expected]
    for (_, classification), (_, _, reason) in zip(analysis.results, expected, strict=True):
        if reason is not None:
            assert classification.reason is reason


MINE = frozenset(
    [
        "activehunter",
        "amavis",
        "amazonses",
        "amazonworkmail",
        "apachejames",
        "axigen",
        "barracuda",
        "bigfoot",
        "biglobe",
        "communigate",
        "courier",
        "domino",
        "dragonfly",
        "einsundeins",
        "exchange2003",
        "exchange2007",
        "exim",
        "ezweb",
        "fml",
        "gmail",
        "gmx",
        "googlegroups",
        "googleworkspace",
        "haraka",
        "hmailserver",
        "icewarp",
        "imailserver",
        "kddi",
        "kerio",
        "mailfoundry",
        "mailmarshal",
        "mailru",
        "mcafee",
        "mdaemon",
        "messagelabs",
        "messagingserver",
        "mfilter",
        "mimecast",
        "mxlogic",
    ]
)


@pytest.mark.parametrize("sample", OWN_SAMPLES, ids=lambda p: p.name)
def test_only_its_own_detector_claims_a_sample(sample: Path) -> None:
    """No a-m detector depends on its place in the registry: only one of them answers."""
    from mailbounce.bounces.registry import DETECTORS

    raw = sample.read_bytes()
    claims = [
        d.name
        for d in DETECTORS
        if d.name in MINE
        and d.detect(Mail(email.message_from_bytes(raw, policy=email.policy.compat32)))
    ]
    assert claims == [sample.name.split("-")[0]]


def test_corpus_files_of_my_families_are_claimed_by_their_own_detector(corpus: Path) -> None:
    """On the shared DEV corpus (third-party data, read in place): one a-m claimant each."""
    from mailbounce.bounces.registry import DETECTORS

    wrong = {}
    for path in sorted((corpus / "bounces" / "maildir" / "bsd").glob("lhost-*.eml")):
        family = path.name.removeprefix("lhost-").rsplit("-", 1)[0]
        if family not in MINE:
            continue
        raw = path.read_bytes()
        claims = [
            d.name
            for d in DETECTORS
            if d.name in MINE
            and d.detect(Mail(email.message_from_bytes(raw, policy=email.policy.compat32)))
        ]
        if claims != [family]:
            wrong[path.name] = claims
    assert wrong == {}
