"""The classification's shortcuts give the answers of the plain scans they skip (issue 3).

Each shortcut is compared with its reference on texts built from the very words the rules
look for, mixed with others: the status-code scans written to start with a digit class, the
stage words before the stage patterns, the provider words before the provider rules.
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailbounce import classify, diagnostic_text
from mailbounce.models import Reason as R
from mailbounce.reason_providers import DIAGNOSTIC_WORDS, each_rule, provider_reason
from mailbounce.reason_rules import FIRST_ORDER, NOT_USERUNKNOWN, PHRASES, STAGES
from mailbounce.regex_literals import found

# The patterns as first written, with a leading ``\b``.
ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
CONTINUATION = re.compile(r"\b[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3} ")

_CODE_TEXT = st.text(alphabet=st.sampled_from("2459 0.-_a\u00e9\u0663x:"), max_size=40)


@settings(max_examples=400, deadline=None)
@given(_CODE_TEXT)
def test_status_scans_find_what_the_word_boundary_forms_found(text: str) -> None:
    new, old = diagnostic_text._CONTINUATION, CONTINUATION
    found, expected = new.search(text), old.search(text)
    assert (found and found.span()) == (expected and expected.span())
    assert new.sub(" ", text) == old.sub(" ", text)
    assert [m.span() for m in new.finditer(text)] == [m.span() for m in old.finditer(text)]
    status = ENHANCED.search(text)
    assert classify.find_enhanced_status(text) == (status and status.group(0))
    # The scans from the first dot: the same matches, starting 1 (5) characters later, from
    # any position.
    for dot, old, skip in (
        (diagnostic_text._ENHANCED_DOT, ENHANCED, 1),
        (diagnostic_text._CONTINUATION_DOT, CONTINUATION, 5),
    ):
        for pos in range(len(text) + 1):
            found, expected = dot.search(text, pos + skip), old.search(text, pos)
            assert (found and (found.start() - skip, found.end())) == (expected and expected.span())


def _reference_command_in(text: str) -> str | None:
    for pattern, command in STAGES:
        if pattern.search(text):
            return command
    return None


_STAGE_PIECES = st.sampled_from(
    [
        "in reply to ",
        "in reply to the ",
        "rcpt to command",
        "mail from command",
        "data command",
        "end of data command",
        "helo command",
        "after ",
        "mail from",
        "rcpt to",
        "pipelined rcpt",
        "end of data",
        "data",
        "initial connection",
        "ehlo",
        "sender was rejected",
        "my name was rejected",
        "550 5.1.1 ",
        "user unknown",
        " ",
        "x",
    ]
)


@settings(deadline=None)  # a loaded machine must not fail it: no timing asserted
@given(st.lists(_STAGE_PIECES, max_size=6).map("".join))
def test_stage_words_skip_only_texts_no_stage_pattern_matches(text: str) -> None:
    assert classify.command_in(text) == _reference_command_in(text)


# Fragments of every provider rule's codes, sentences and host names, and neighbours.
PROVIDER_PIECES = (
    "ofr_416",
    "ofr006_102",
    "lpn000_630",
    "[416]",
    "[999]",
    "service refus",
    "orange.fr",
    "wanadoo.fr",
    "laposte.net",
    "sfr_in_12",
    "sfr_blx",
    "sfr_ip",
    "too many errors",
    "4.7.650",
    "5.7.651",
    "s3150",
    "sc-001",
    "5.7.606",
    "5.7.620",
    "5.7.705",
    "access denied",
    "resolver.adr.recipnotfound",
    "resolver.adr.recipientnotfound",
    "mailbox unavailable",
    "tss04",
    "tss06",
    "tss09",
    "this user doesn't have a yahoo.com account",
    "tsb1",
    "4.7.28",
    "unusual rate of unsolicited mail",
    "suspicious due to the very low reputation",
    "aup#cxbl",
    "aup#cxdns",
    "aup#in-1310",
    "aup# out-1050",
    "aup#in-2000",
    "unknown user",
    "550 : user unknown",
    ">: user unknown",
    "rcp-p1",
    "con-t3",
    "pol-p2",
    "facebook",
    "ib007",
    "ib110",
    "secureserver",
    "no such user",
    "rejected",
    "frequency limited",
    "mcspamsignature",
    "virus signature",
    "550 5.1.1 ",
    " ",
)
HOSTS = (
    "",
    "mx.example.org",
    "smtp-in.orange.fr",
    "mx.sfr.fr",
    "mx.hotmail.com",
    "protection.outlook.com",
    "mfsmax.docomo.ne.jp",
    "lsean.ezweb.ne.jp",
    "mx.au.com",
    "cluster1.eu.messagelabs.com",
    "mx.facebook.com",
    "smtp.secureserver.net",
    "mx.ofr.example",
    "relay.ofr_102.example",
    "lpn000_630.example",
    "smtp.wanadoo.fr",
    "mx.laposte.net",
)
_PROVIDER_PIECES = st.sampled_from(PROVIDER_PIECES)
_HOSTS = st.sampled_from(HOSTS)


@settings(max_examples=600, deadline=None)
@given(
    st.lists(_PROVIDER_PIECES, max_size=5).map("".join),
    st.sampled_from(["", "5.0.0", "5.1.1", "4.0.0"]),
    st.lists(_HOSTS, max_size=2).map(" ".join),
)
def test_provider_words_skip_only_texts_no_rule_answers(
    diagnostic: str, status: str, host: str
) -> None:
    expected = each_rule(diagnostic, status, host)
    assert provider_reason(diagnostic, status, host) == expected
    assert provider_reason(diagnostic, status, host, _words_in(diagnostic)) == expected


def _words_in(diagnostic: str) -> set[str]:
    """What ``classify``'s scan tells ``provider_reason``: the provider words the text
    holds (with other literals of the scan, which change nothing)."""
    return {word for word in DIAGNOSTIC_WORDS if word in diagnostic} | {"user", "mail"}


def test_provider_words_skip_no_single_piece() -> None:
    """Each piece alone, and with codes that answer only beside a provider's name or words
    (Orange's ``[416]``, Facebook's ``rcp-p1``, Microsoft's ``5.7.705``, GoDaddy's ``ib007``),
    under each host: the rules' answers whatever the shortcut."""
    for piece in PROVIDER_PIECES:
        for diagnostic in (piece, f"554 {piece} [416] rcp-p1 5.7.705 ib007"):
            for host in HOSTS:
                for status in ("", "5.0.0"):
                    expected = each_rule(diagnostic, status, host)
                    assert provider_reason(diagnostic, status, host) == expected, (
                        diagnostic,
                        host,
                    )
                    present = _words_in(diagnostic)
                    assert provider_reason(diagnostic, status, host, present) == expected


def test_reason_tables_are_made_whole_even_from_threads() -> None:
    """The tables built on first use hold every reason, in order, whichever thread builds
    them: a thread never classifies with a table half made."""
    from concurrent.futures import ThreadPoolExecutor

    from mailbounce.models import BounceFacts
    from mailbounce.reason_rules import FIRST_ORDER, SECOND_ORDER

    facts = [
        BounceFacts(recipient="a@example.org", status="5.0.0", diagnostic=text)
        for text in ("550 mailbox full", "virus found", "relay access denied", "spam", "")
    ]
    expected = [classify.classify(one) for one in facts]
    classify._TABLES.clear()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: [classify.classify(one) for one in facts], range(32)))
    assert all(result == expected for result in results)
    tables = classify._tables()
    assert [step[0] for step in tables.first] == list(FIRST_ORDER)
    assert [step[0] for step in tables.second] == list(SECOND_ORDER)
    assert set(tables.phrase) == set(PHRASES)


def _phrase(reason: R, text: str) -> bool:
    """A phrase group asked the plain way (``regex_literals.found``: its ``in`` checks)."""
    return bool(text) and found(PHRASES[reason], text)


def _unknown_user(text: str) -> bool:
    return _phrase(R.USERUNKNOWN, text) and not _phrase(R.REJECTED, text)


def _reference_holds(reason: R, text: str, by_status: R | None, command: str) -> bool:
    """``classify._holds`` as written before ``_first_order`` tested phrases itself."""
    phrase = _phrase
    if reason is R.USERUNKNOWN:
        if by_status is R.USERUNKNOWN:
            return not any(phrase(other, text) for other in NOT_USERUNKNOWN)
        return command == "RCPT" and by_status is not R.SUSPEND and _unknown_user(text)
    if reason is R.FILTERED:
        words = phrase(R.FILTERED, text) or _unknown_user(text)
        if by_status is R.FILTERED:
            return words
        return words and command not in ("RCPT", "MAIL")
    if by_status is reason:
        return not (reason is R.HOSTUNKNOWN and phrase(R.NETWORKERROR, text))
    if by_status is R.USERUNKNOWN and reason not in NOT_USERUNKNOWN:
        return False
    if reason is R.MESGTOOBIG and by_status is R.EXCEEDLIMIT:
        return False
    return phrase(reason, text)


# Texts holding the phrases of up to three first-order reasons (drawn from their very
# patterns, by their source: the groups are compiled on first use, flags 0), with the status
# codes that override or name them.
_PHRASE_TEXT = st.lists(
    st.sampled_from(FIRST_ORDER).flatmap(lambda reason: st.from_regex(PHRASES[reason].pattern)),
    max_size=3,
).map(" ".join)
# "" and 4.7.1 name no reason; the others name one of FIRST_ORDER (5.1.1 userunknown,
# 5.2.3 exceedlimit, 5.3.4 mesgtoobig, 5.2.2 mailboxfull, 5.4.4 hostunknown, 5.2.1 filtered).
_STATUSES = st.sampled_from(["", "4.7.1", "5.1.1", "5.2.3", "5.3.4", "5.2.2", "5.4.4", "5.2.1"])


@settings(max_examples=500, deadline=None)
# The two cases the loop tests before a phrase: a 5.1.1 that only some phrases override, an
# "exceeded limit" code that too-big words must not turn into mesgtoobig.
@example("relay access denied", "5.1.1", "RCPT")
@example("mailbox is full", "5.1.1", "RCPT")
@example("message file too big", "5.2.3", "DATA")
@given(_PHRASE_TEXT.map(str.lower), _STATUSES, st.sampled_from(["", "RCPT", "DATA", "MAIL"]))
def test_first_order_is_the_plain_loop_over_every_reason(
    text: str, status: str, command: str
) -> None:
    by_status = classify.status_reason(status)
    expected = next((r for r in FIRST_ORDER if _reference_holds(r, text, by_status, command)), None)
    tables = classify._tables()
    present = tables.scan.present(text)
    groups = 0
    for literal in present:
        groups |= tables.bits[literal]
    assert classify._first_order(text, by_status, command, present, groups, tables) == expected


def _reference_normalise(diagnostic: str) -> str:
    """``diagnostic_text.normalise`` as written before it skipped texts without an enhanced code."""
    text = " ".join(diagnostic.split()).lower()
    first = CONTINUATION.search(text)
    if first is not None:
        rest = CONTINUATION.sub(" ", text[first.end() :]).replace("  ", " ")
        text = text[: first.end()] + rest
    status = ENHANCED.search(text)
    if status is None or text.count(status.group(0)) < 2:
        return text
    repeats = re.compile(rf" {re.escape(status.group(0))}(?= )")
    return text[: status.end()] + repeats.sub("", text[status.end() :])


_REPLY_PIECES = st.sampled_from(
    ["550-5.7.1 ", "550 5.7.1 ", "452 4.2.2 ", " 5.7.1 ", "5.7.0 ", "x5.1.1 ", "\n", "\t"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_REPLY_PIECES, _CODE_TEXT), max_size=8).map("".join))
def test_normalise_joins_and_drops_as_before(diagnostic: str) -> None:
    assert diagnostic_text.normalise(diagnostic) == _reference_normalise(diagnostic)


def test_shared_classifications_hold_the_fields_of_their_own_codes() -> None:
    """``classify`` shares one instance per reason and codes: each one's kind, hardbounce
    and party are those its own status, reply code and action give."""
    from mailbounce.models import BounceFacts
    from mailbounce.reason_fields import is_hardbounce, kind_of, party_of

    for status in (None, "", "2.0.0", "4.2.2", "5.1.1", "5.7.1", "x"):
        for replycode in (None, "", "250", "451", "550"):
            for action in (None, "failed", "delayed", " Delayed ", "relayed"):
                for diagnostic in ("user unknown", "mailbox full", "spam", ""):
                    facts = BounceFacts(
                        recipient="a@example.org",
                        status=status,
                        replycode=replycode,
                        action=action,
                        diagnostic=diagnostic,
                    )
                    made = classify.classify(facts)
                    reason = classify.classify_reason(facts)
                    assert made.reason is reason
                    assert made.kind is kind_of(reason, status, replycode, action)
                    assert made.hardbounce is is_hardbounce(reason, status, replycode)
                    assert made.party is party_of(reason)
