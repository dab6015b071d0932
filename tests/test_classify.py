"""The reason taxonomy as a table: (status, replycode, diagnostic, action) -> reason, and the
derived fields (kind, hardbounce, party) decided each in one function (DESIGN §4)."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mailbounce.classify import (
    classify,
    classify_reason,
    classify_smtp_reply,
    find_enhanced_status,
    find_reply_code,
    is_hardbounce,
    kind_of,
    party_of,
)
from mailbounce.models import BounceFacts, Kind, Party, Reason

R = Reason

# (status, replycode, diagnostic, action, expected reason)
CASES: list[tuple[str | None, str | None, str, str | None, Reason]] = [
    # Status codes alone
    (
        "5.1.1",
        "550",
        "550 5.1.1 <a@example.org>: Recipient address rejected",
        "failed",
        R.USERUNKNOWN,
    ),
    ("5.1.2", "550", "550 5.1.2 bad destination system address", "failed", R.HOSTUNKNOWN),
    ("5.1.6", "550", "550 5.1.6 mailbox moved", "failed", R.HASMOVED),
    ("5.2.2", "552", "552 5.2.2 requested mail action aborted", "failed", R.MAILBOXFULL),
    ("5.3.4", "552", "552 5.3.4 message size exceeds fixed limit", "failed", R.MESGTOOBIG),
    ("5.2.3", "552", "552 5.2.3 per-message limit", "failed", R.EXCEEDLIMIT),
    ("5.7.25", "550", "550 5.7.25 the sending address must have a PTR", "failed", R.REQUIREPTR),
    ("5.7.26", "550", "550 5.7.26 unauthenticated mail is prohibited", "failed", R.AUTHFAILURE),
    ("5.1.8", "553", "553 5.1.8 sender domain does not resolve", "failed", R.REJECTED),
    ("5.3.2", "521", "521 5.3.2 system not accepting network messages", "failed", R.NOTACCEPT),
    ("4.3.1", "452", "452 4.3.1 insufficient system resources", "delayed", R.SYSTEMFULL),
    ("5.6.0", "554", "554 5.6.0 message content conversion failed", "failed", R.CONTENTERROR),
    ("4.4.7", None, "", "delayed", R.EXPIRED),
    ("2.0.0", "250", "250 2.0.0 Ok: queued", "delivered", R.DELIVERED),
    ("2.1.5", "250", "250 2.1.5 Ok", "relayed", R.DELIVERED),
    # Phrases (English)
    ("5.0.0", "550", "550 no such user here", "failed", R.FILTERED),  # not at RCPT: a filter
    (
        "5.0.0",
        "550",
        "550 no such user here (in reply to RCPT TO command)",
        "failed",
        R.USERUNKNOWN,
    ),
    ("5.1.1", "550", "550 5.1.1 user over quota", "failed", R.MAILBOXFULL),
    ("5.1.1", "554", "554 5.1.1 relay access denied", "failed", R.NORELAYING),
    ("5.0.0", "554", "554 Message rejected as spam by content filter", "failed", R.SPAMDETECTED),
    ("5.7.1", "554", "554 5.7.1 Virus detected in attachment", "failed", R.VIRUSDETECTED),
    ("5.7.1", "550", "550 5.7.1 message refused for policy reasons", "failed", R.POLICYVIOLATION),
    (
        "5.7.1",
        "550",
        "550 5.7.1 client host rejected: listed at zen.spamhaus.org",
        "failed",
        R.BLOCKED,
    ),
    (
        "5.7.1",
        "550",
        "550 5.7.1 Client host rejected: cannot find your reverse hostname",
        "failed",
        R.REQUIREPTR,
    ),
    (
        "5.7.1",
        "550",
        "550 5.7.1 Email rejected per DMARC policy for example.org",
        "failed",
        R.AUTHFAILURE,
    ),
    ("5.7.1", "550", "550 5.7.1 authentication required", "failed", R.SECURITYERROR),
    ("5.7.1", "550", "550 5.7.1 access denied", "failed", R.SECURITYERROR),
    ("5.4.4", "550", "550 5.4.4 host not found", "failed", R.HOSTUNKNOWN),
    ("4.4.4", "451", "451 4.4.4 host not found, try again", "delayed", R.NETWORKERROR),
    (
        "4.4.1",
        None,
        "connect to mx.example.org[192.0.2.1]:25: Connection timed out",
        "delayed",
        R.EXPIRED,
    ),
    (
        "4.4.1",
        None,
        "connect to mx.example.org[192.0.2.1]:25: No route to host",
        "delayed",
        R.NETWORKERROR,
    ),
    ("5.4.6", "554", "554 5.4.6 mail forwarding loop for a@example.org", "failed", R.NETWORKERROR),
    (
        None,
        "501",
        "501 no access from mail server [192.0.2.5] which is an open relay",
        "failed",
        R.BLOCKED,
    ),
    ("5.0.0", "554", "554 Transaction failed", "failed", R.SYSTEMERROR),
    (
        "5.0.0",
        "550",
        "550 Domain of sender address x@example.org does not exist",
        "failed",
        R.REJECTED,
    ),
    ("5.0.0", "550", "550 Account has been suspended", "failed", R.SUSPEND),
    (
        "5.2.1",
        "550",
        "550 5.2.1 The email account that you tried to reach is disabled",
        "failed",
        R.SUSPEND,
    ),
    (
        "5.7.1",
        "550",
        "550 5.7.1 This message is not RFC 5322 compliant",
        "failed",
        R.NOTCOMPLIANTRFC,
    ),
    ("5.5.2", "500", "500 5.5.2 syntax error, command unrecognized", "failed", R.SYNTAXERROR),
    (None, "503", "503 bad sequence of commands", "failed", R.SYNTAXERROR),
    ("5.0.0", None, "procmail: Quota exceeded while writing", "failed", R.MAILBOXFULL),
    ("5.0.0", None, "Command died with status 1: /usr/bin/procmail", "failed", R.MAILERERROR),
    ("4.7.0", "421", "421 4.7.0 Too many connections, slow down", "delayed", R.TOOMANYCONN),
    (
        "4.7.0",
        "421",
        "421 4.7.0 Too many messages from your IP, rate limited",
        "delayed",
        R.SPEEDING,
    ),
    ("4.7.1", "451", "451 4.7.1 Greylisted, please try again later", "delayed", R.GREYLISTED),
    (
        "4.7.1",
        "450",
        "450 4.7.1 <a@example.org>: Recipient address rejected: greylisted",
        "delayed",
        R.GREYLISTED,
    ),
    ("4.3.0", "451", "451 4.3.0 recipient error, please try again later", "failed", R.ONHOLD),
    ("5.0.0", "550", "550 mailbox unavailable", "failed", R.FILTERED),
    ("5.0.0", "554", "554 something odd happened", "failed", R.ONHOLD),
    (None, None, "", "failed", R.UNDEFINED),
    # SMTP stage
    (
        "5.0.0",
        "550",
        "SMTP error from remote mail server after MAIL FROM:<a@b.example>: 550 go away",
        "failed",
        R.REJECTED,
    ),
    (
        "5.0.0",
        "554",
        "SMTP error from remote mail server after initial connection: 554 no",
        "failed",
        R.BLOCKED,
    ),
    # French texts
    (
        "5.0.0",
        "550",
        "550 Utilisateur inconnu (in reply to RCPT TO command)",
        "failed",
        R.USERUNKNOWN,
    ),
    ("5.0.0", "552", "552 Boîte aux lettres pleine", "failed", R.MAILBOXFULL),
    (
        "5.0.0",
        "550",
        "550 Adresse inconnue <a@example.fr> (in reply to RCPT TO command)",
        "failed",
        R.USERUNKNOWN,
    ),
    (
        "5.0.0",
        "550",
        "550 Ce compte n'existe pas (in reply to RCPT TO command)",
        "failed",
        R.USERUNKNOWN,
    ),
    (
        "5.0.0",
        "550",
        "550 Adresse IP source bloquée pour incident de spam",
        "failed",
        R.SPAMDETECTED,
    ),
    # Provider texts
    (
        "5.7.1",
        "550",
        "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact "
        "your Internet service provider since part of their network is on our block list (S3150).",
        "failed",
        R.BLOCKED,
    ),
    (
        "4.7.651",
        "451",
        "451 4.7.651 The mail server [192.0.2.1] has been "
        "temporarily rate limited due to IP reputation.",
        "delayed",
        R.BADREPUTATION,
    ),
    (
        "4.7.0",
        "421",
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred "
        "due to unexpected volume or user complaints",
        "delayed",
        R.BADREPUTATION,
    ),
    (
        "5.7.9",
        "553",
        "553 5.7.2 [TSS06] All messages from 192.0.2.1 will be permanently deferred",
        "failed",
        R.BLOCKED,
    ),
    (
        "4.7.28",
        "421",
        "421-4.7.28 Our system has detected an unusual rate of "
        "unsolicited mail originating from your IP address",
        "delayed",
        R.BADREPUTATION,
    ),
    (
        "5.1.1",
        "550",
        "550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]",
        "failed",
        R.USERUNKNOWN,
    ),
    (
        "5.0.0",
        "550",
        "550 mwinf5c04 ME Adresse IP source bloquee pour incident de spam. OFR006_102",
        "failed",
        R.BLOCKED,
    ),
    (
        "4.0.0",
        "421",
        "421 mwinf5c77 ME Service refuse. Veuillez essayer plus tard. OFR_999 [999]",
        "delayed",
        R.BLOCKED,
    ),
    (
        "5.0.0",
        "554",
        "554 delivery error: dd This user doesn't have a yahoo.com account",
        "failed",
        R.USERUNKNOWN,
    ),
    ("5.0.0", "550", "550 Connection frequency limited", "failed", R.TOOMANYCONN),
]


@pytest.mark.parametrize(("status", "replycode", "diagnostic", "action", "reason"), CASES)
def test_classify_reason(
    status: str | None, replycode: str | None, diagnostic: str, action: str | None, reason: Reason
) -> None:
    facts = BounceFacts(
        recipient="a@example.org",
        action=action,
        status=status,
        replycode=replycode,
        diagnostic=diagnostic,
    )
    assert classify_reason(facts) is reason


def test_reason_hint_decides_first() -> None:
    facts = BounceFacts("a@example.org", status="5.1.1", reason_hint=Reason.FEEDBACK)
    assert classify(facts).kind is Kind.COMPLAINT


def test_x_unix_diagnostic_type_is_a_mailer_error() -> None:
    facts = BounceFacts(
        "a@example.org", status="5.0.0", diagnostic="temporary failure", diagnostic_type="x-unix"
    )
    assert classify_reason(facts) is Reason.MAILERERROR


@pytest.mark.parametrize(
    ("diagnostic", "host", "reason"),
    [
        (
            "550 5.1.1 RCP-P1 http://postmaster.facebook.com/response_codes Recipient address "
            "does not exist",
            "mx.facebook.com",
            R.USERUNKNOWN,
        ),
        (
            "554 POL-P2 http://postmaster.facebook.com/response_codes no longer accept mail",
            "mx.facebook.com",
            R.BLOCKED,
        ),
        ("554 IB110 This IP has been temporarily blocked", "smtp.secureserver.net", R.BLOCKED),
        ("550 5.2.0 IB506 From: Domain is invalid", "smtp.secureserver.net", R.REJECTED),
        ("550 Mailbox unavailable", "mx.hotmail.com", R.USERUNKNOWN),
        ("550 5.0.0 Unknown user x@docomo.ne.jp", "mfsmax.docomo.ne.jp", R.REJECTED),
        ("550 : User unknown", "lsean.ezweb.ne.jp", R.FILTERED),
        ("421 Service refuse. Veuillez essayer plus tard.", "smtp-in.orange.fr", R.TOOMANYCONN),
    ],
)
def test_provider_texts_by_host(diagnostic: str, host: str, reason: Reason) -> None:
    facts = BounceFacts(
        "a@example.org",
        status="5.0.0" if "docomo" in host else None,
        diagnostic=diagnostic,
        remote_mta=host,
    )
    assert classify_reason(facts) is reason


# (code, text, reason, kind, hardbounce, party): replies met while sending (smtp.py uses this).
SMTP_REPLIES = [
    (451, "4.3.0 Temporary lookup failure", R.SYSTEMERROR, Kind.TEMPORARY, False, Party.REMOTE),
    (550, "Adresse de destination invalide", R.USERUNKNOWN, Kind.PERMANENT, True, Party.RECIPIENT),
    (421, "4.3.2 Service not available", R.NOTACCEPT, Kind.TEMPORARY, False, Party.RECIPIENT),
    (
        450,
        "4.7.1 Service refuse - IP blocked temporarily SFR_IN_105",
        R.BLOCKED,
        Kind.TEMPORARY,
        False,
        Party.SENDER,
    ),
    (421, "4.7.0 too many errors", R.TOOMANYCONN, Kind.TEMPORARY, False, Party.SENDER),
    (
        554,
        "5.7.1 Votre message contient des liens interdits",
        R.POLICYVIOLATION,
        Kind.PERMANENT,
        False,
        Party.CONTENT,
    ),
    (
        550,
        "5.7.1 Message considéré comme spam",
        R.SPAMDETECTED,
        Kind.PERMANENT,
        False,
        Party.CONTENT,
    ),
    (550, "5.1.1 User unknown", R.USERUNKNOWN, Kind.PERMANENT, True, Party.RECIPIENT),
    (
        451,
        "4.7.1 Greylisted, please try again later",
        R.GREYLISTED,
        Kind.TEMPORARY,
        False,
        Party.REMOTE,
    ),
    (452, "4.2.2 Mailbox full", R.MAILBOXFULL, Kind.TEMPORARY, False, Party.RECIPIENT),
    (
        421,
        "4.7.0 Too many connections, slow down",
        R.TOOMANYCONN,
        Kind.TEMPORARY,
        False,
        Party.SENDER,
    ),
    (554, "5.7.1 Message rejected as spam", R.SPAMDETECTED, Kind.PERMANENT, False, Party.CONTENT),
    (
        550,
        "5.7.1 Unfortunately, messages from [192.0.2.9] weren't sent. Please contact your "
        "Internet service provider since part of their network is on our block list (S3150).",
        R.BLOCKED,
        Kind.PERMANENT,
        False,
        Party.SENDER,
    ),
    (
        550,
        "5.1.2 Host or domain name not found",
        R.HOSTUNKNOWN,
        Kind.PERMANENT,
        True,
        Party.RECIPIENT,
    ),
    (
        556,
        "5.1.10 Recipient address has null MX",
        R.NOTACCEPT,
        Kind.PERMANENT,
        True,
        Party.RECIPIENT,
    ),
    (
        552,
        "5.3.4 Message size exceeds fixed maximum message size",
        R.MESGTOOBIG,
        Kind.TEMPORARY,
        False,
        Party.CONTENT,
    ),
    (
        450,
        "4.2.0 Service refusé, veuillez réessayer plus tard",
        R.GREYLISTED,
        Kind.TEMPORARY,
        False,
        Party.REMOTE,
    ),
    (
        550,
        "5.7.26 This mail has been blocked because the sender is unauthenticated (DMARC)",
        R.AUTHFAILURE,
        Kind.PERMANENT,
        False,
        Party.SENDER,
    ),
    (
        451,
        "4.7.651 The mail server has been temporarily rate limited due to IP reputation",
        R.BADREPUTATION,
        Kind.TEMPORARY,
        False,
        Party.SENDER,
    ),
    (550, "Utilisateur inconnu", R.USERUNKNOWN, Kind.PERMANENT, True, Party.RECIPIENT),
]


@pytest.mark.parametrize(("code", "text", "reason", "kind", "hard", "party"), SMTP_REPLIES)
def test_classify_smtp_reply(
    code: int, text: str, reason: Reason, kind: Kind, hard: bool, party: Party
) -> None:
    result = classify_smtp_reply(code, text, "a@example.org")
    assert (result.reason, result.kind, result.hardbounce, result.party) == (
        reason,
        kind,
        hard,
        party,
    )


def test_smtp_reply_ignores_a_status_of_another_class() -> None:
    # RFC 3463 §2: the enhanced code's class must agree with the reply's.
    assert classify_smtp_reply(550, "4.2.2 mailbox full").kind is Kind.TEMPORARY


@pytest.mark.parametrize(
    ("reason", "status", "replycode", "hard"),
    [
        (R.USERUNKNOWN, "5.1.1", "550", True),
        (R.HOSTUNKNOWN, None, None, True),
        (R.HASMOVED, "5.1.6", None, True),
        (R.NOTACCEPT, "5.3.2", "521", True),
        (R.NOTACCEPT, "4.3.2", "421", False),
        (R.NOTACCEPT, None, None, True),  # null MX is permanent (RFC 7505)
        (R.SPAMDETECTED, "5.7.1", "554", False),
        (R.FILTERED, "5.2.0", "550", False),
        (R.MAILBOXFULL, "5.2.2", "552", False),
    ],
)
def test_is_hardbounce(
    reason: Reason, status: str | None, replycode: str | None, hard: bool
) -> None:
    assert is_hardbounce(reason, status, replycode) is hard


@pytest.mark.parametrize(
    ("reason", "status", "replycode", "action", "kind"),
    [
        (R.USERUNKNOWN, "5.1.1", "550", "failed", Kind.PERMANENT),
        (R.ONHOLD, "4.0.0", None, "failed", Kind.TEMPORARY),
        (R.ONHOLD, None, None, "delayed", Kind.TEMPORARY),
        (R.MAILBOXFULL, "5.2.2", "552", "failed", Kind.TEMPORARY),
        (R.SPAMDETECTED, "5.7.1", "554", "failed", Kind.PERMANENT),
        (R.FEEDBACK, None, None, None, Kind.COMPLAINT),
        (R.VACATION, None, None, None, Kind.AUTOREPLY),
        (R.DELIVERED, "2.0.0", "250", "delivered", Kind.DELIVERED),
    ],
)
def test_kind_of(
    reason: Reason, status: str | None, replycode: str | None, action: str | None, kind: Kind
) -> None:
    assert kind_of(reason, status, replycode, action) is kind


def test_party_of_every_reason_is_defined() -> None:
    assert party_of(R.BLOCKED) is Party.SENDER
    assert party_of(R.SPAMDETECTED) is Party.CONTENT
    assert party_of(R.USERUNKNOWN) is Party.RECIPIENT
    assert party_of(R.GREYLISTED) is Party.REMOTE
    assert party_of(R.ONHOLD) is Party.UNKNOWN


@pytest.mark.parametrize(
    ("text", "status", "reply"),
    [
        ("550 5.1.1 <a@b.example>: unknown", "5.1.1", "550"),
        ("550-5.7.26 DMARC", "5.7.26", "550"),
        ("host 192.0.2.250 said: nothing", None, None),
        ("5.4.312 Message expired", "5.4.312", None),
    ],
)
def test_find_codes(text: str, status: str | None, reply: str | None) -> None:
    assert find_enhanced_status(text) == status
    assert find_reply_code(text) == reply


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
@example(" a\u00a0b\u2028c\x1cd \t")
def test_spaces_fold_as_the_regex_folded_them(text: str) -> None:
    """The diagnostic's whitespace runs become one space, as ``re.sub(r"\\s+", " ")`` did."""
    assert " ".join(text.split()) == re.sub(r"\s+", " ", text).strip()
