"""Report facts the text adds nothing to are kept as they are, not copied (``with_dsn``,
Postfix's ``_with_text``, Sendmail's ``improve``): the same facts as the copy made each
time, on every sample and corpus message, with and without text facts to merge."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from pathlib import Path

from mailbounce.bounces import _normalise, postfix, sendmail
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces._textblocks import _remote_status, enhanced_status, reply_code, with_dsn
from mailbounce.bounces._transcript import Transcript, read_transcript
from mailbounce.bounces.base import Mail
from mailbounce.bounces.rfc3464 import find_command, parse_delivery_status
from mailbounce.models import BounceFacts

DATA = Path(__file__).resolve().parent / "data"
CORPUS = Path("/work/shared/corpus/bounces/maildir")


def _with_dsn_reference(mail: Mail, text_facts: list[BounceFacts]) -> list[BounceFacts]:
    """``with_dsn`` as it was: a copy of every report fact."""
    dsn = parse_delivery_status(mail)
    if not dsn:
        return text_facts
    by_recipient = {f.recipient.lower(): f for f in text_facts}
    merged = []
    for fact in dsn:
        extra = by_recipient.get(fact.recipient.lower()) or BounceFacts(recipient="")
        merged.append(
            replace(
                fact,
                diagnostic=fact.diagnostic or extra.diagnostic,
                replycode=fact.replycode or reply_code(fact.diagnostic) or extra.replycode,
                status=_remote_status(fact) or extra.status,
                smtp_command=fact.smtp_command or extra.smtp_command,
                reason_hint=fact.reason_hint or extra.reason_hint,
            )
        )
    return merged


def _postfix_reference(reported: list[BounceFacts], blocks: dict[str, str]) -> list[BounceFacts]:
    found = []
    for facts in reported:
        block = blocks.get(facts.recipient.lower(), "")
        command = facts.smtp_command or find_command(block) or find_command(facts.diagnostic)
        found.append(replace(facts, smtp_command=command, diagnostic=facts.diagnostic or block))
    return found


def _mails() -> list[tuple[str, Mail]]:
    paths = sorted(DATA.rglob("*.eml")) + (sorted(CORPUS.rglob("*")) if CORPUS.is_dir() else [])
    found = []
    for path in paths:
        if path.is_file():
            raw = _normalise(path.read_bytes())
            msg = email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)
            found.append((path.name, Mail(msg)))
    return found


def test_merges_as_the_copies_made_them() -> None:
    reports = 0
    for name, mail in _mails():
        dsn = parse_delivery_status(mail)
        if not dsn:
            continue
        reports += 1
        # No text facts, then a text fact adding a command and words to the first recipient.
        added = BounceFacts(recipient=dsn[0].recipient.upper(), diagnostic="x", smtp_command="DATA")
        for text_facts in ([], [added]):
            assert with_dsn(mail, text_facts) == _with_dsn_reference(mail, text_facts), name
        for blocks in ({}, {dsn[0].recipient.lower(): "550 in reply to RCPT TO command"}):
            assert postfix._with_text(dsn, blocks) == _postfix_reference(dsn, blocks), name
        transcript = read_transcript(["<<< 550 5.1.1 no such user", ">>> RCPT TO:<a@b.example>"])
        for fact in dsn:
            assert sendmail.improve(fact, transcript) == _sendmail_reference(fact, transcript)
    assert reports > 20  # the samples alone hold dozens of reports


def _sendmail_reference(facts: BounceFacts, transcript: Transcript) -> BounceFacts:
    """``improve`` as it was: a copy every time."""
    error = transcript.for_recipient(facts.recipient)
    reply = error.reply if error and error.reply else transcript.reply_starting(facts.diagnostic)
    diagnostic = facts.diagnostic
    if reply is not None and (not diagnostic or reply.text.startswith(diagnostic.strip())):
        diagnostic = reply.text
    elif not diagnostic and error is not None:
        diagnostic = error.line
    remote_status = enhanced_status(reply.text) if reply else None
    status = facts.status
    if remote_status and (status is None or remote_status[0] == status[0]):
        status = remote_status
    return replace(
        facts,
        status=status,
        diagnostic=diagnostic,
        replycode=facts.replycode or reply_code(diagnostic),
        smtp_command=facts.smtp_command or (reply.command if reply else None),
        remote_mta=facts.remote_mta or (reply.remote if reply else None),
    )


def test_unchanged_facts_are_the_report_s_own() -> None:
    """Nothing to add: the very report facts come back (no copy per recipient)."""
    for _, mail in _mails():
        dsn = parse_delivery_status(mail)
        if dsn and all(f.diagnostic and f.smtp_command for f in dsn):
            assert all(a is b for a, b in zip(postfix._with_text(dsn, {}), dsn, strict=True))
            return
    raise AssertionError("no report whose groups all name a command")
