"""How a delivery report presents itself, and where its own text ends.

``looks_like_report`` decides from the headers alone whether a message claims to be a report
(the fallback detector scans only those, and ``analyse_message`` calls the others
``UNRECOGNISED``); ``report_and_rest`` splits the report's own text from an original quoted
inline after it.
"""

from __future__ import annotations

import re
from email.message import Message

from mailbounce.bounces._prefilter import folded, search
from mailbounce.bounces.base import Mail, part_text
from mailbounce.bounces.rfc3464 import is_text_like
from mailbounce.lazy_patterns import lazy_compile

_BOUNCE_SENDER = lazy_compile(r"mailer-daemon|post_?master|mail delivery|mail administrator", re.I)
_BOUNCE_SUBJECT = lazy_compile(
    r"undeliver|not (be )?delivered|delivery (status|failure|failed|has failed|notification|"
    r"problem|report)|returned mail|failure notice|mail delivery|non[- ]?remis|non[- ]?distribu"
    r"|nondeliverable|unzustellbar|rejected|could not be delivered|delivery error|bounce"
    r"|non-?delivery|(mail|message|delivery) (has been )?delayed|could not send|mail system error"
    # French, Spanish, Italian, Portuguese, Dutch and Japanese notices (Exchange, Gmail and
    # the carriers translate their subjects).
    r"|remise impossible|[ée]chec de (la )?(remise|distribution)|non (d[ée]livr|distribu)"
    r"|no se (pudo|puede) entregar|no entregado|mancato recapito|non recapitabil"
    r"|n[ãa]o (foi )?entregue|falha na entrega|onbestelbaar|niet bezorgd"
    r"|nicht zustellbar|zustellung fehlgeschlagen|unzustellbare"
    r"|(メール|配信|送信)エラー|不達|配信不能|未配信",
    re.I,
)
# Where the returned original starts in a text report (Sendmail, Exim, qmail, Exchange...).
# "rfc822" marks an attached original, not an ORCPT parameter in a session transcript
# ("RCPT TO:<a> ORCPT=rfc822;a", Postfix's "errors from" notices).
# Top-level alternatives, each starting with its words ("rfc822" looks behind itself after
# them): ``_original_marker`` tries the regex only where those words start (issue 3, session 9).
_ORIGINAL_MARKER = lazy_compile(
    r"original message(?! was received)|returned message|message headers follow"
    r"|copy of the message|below this line|undelivered message|message d'origine|message original"
    r"|headers of your message|first \d+ lines|rfc822(?<![=;]rfc822)(?!;)|^received: "
    r"|mensaje original|messaggio originale|mensagem original|urspr[üu]ngliche nachricht",
    re.I | re.M,
)
_REPLY_SUBJECT = lazy_compile(r"\s*(re|aw|sv|vs|r[ée]f|antw)\s*:", re.I)
_MAX_SCAN = 20_000


def looks_like_report(mail: Mail) -> bool:
    """Whether the mail presents itself as a delivery report (cheap: headers only)."""
    msg = mail.msg
    if _report_type(msg) == "disposition-notification":
        return False  # a read receipt (RFC 8098), whatever its sender and subject say
    if msg.get_content_type() == "multipart/report" or msg.get("X-Failed-Recipients"):
        return True
    if msg.get("Return-Path") is not None and str(msg.get("Return-Path")).strip() == "<>":
        return True  # the null reverse-path of RFC 5321 §4.5.5: a report or an auto-reply
    if _BOUNCE_SENDER.search(mail.sender):
        return True
    # A person answering about a bounce ("Re: Undelivered Mail") is not one; a forwarded
    # report ("Fwd: Delivery Status Notification") is read.
    return bool(_BOUNCE_SUBJECT.search(mail.subject)) and not _REPLY_SUBJECT.match(mail.subject)


def sent_by_mail_system(mail: Mail) -> bool:
    """A report by its envelope or sender, not only by its subject (a mailing platform's
    "Delivery report" newsletter is not one): a null Return-Path, a MAILER-DAEMON or
    postmaster sender, a multipart/report."""
    msg = mail.msg
    if msg.get_content_type() == "multipart/report" or msg.get("X-Failed-Recipients"):
        return True
    if str(msg.get("Return-Path", "")).strip() == "<>":
        return True
    return bool(_BOUNCE_SENDER.search(mail.sender))


def report_text(msg: Message) -> str:
    """The report's own text: text parts outside the returned original, cut at its marker."""
    return report_and_rest(msg)[0]


def report_and_rest(msg: Message) -> tuple[str, str]:
    """The report's own text, and what follows its original marker (an inline original)."""
    texts: list[str] = []
    stack = [msg]
    while stack and sum(len(t) for t in texts) < _MAX_SCAN:
        part = stack.pop(0)
        kind = part.get_content_type()
        if part is not msg and (kind.startswith("message/") or kind == "text/rfc822-headers"):
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack[0:0] = [p for p in payload if isinstance(p, Message)]
        elif is_text_like(part):
            texts.append(part_text(part))
    text = "\n\n".join(texts)[:_MAX_SCAN]
    marker = _original_marker(text)
    if marker is None:
        return text, ""
    cut = text.rfind("\n", 0, marker.start()) + 1  # cut at the marker's line
    return text[:cut], text[cut:]


def _original_marker(text: str) -> re.Match[str] | None:
    """``_ORIGINAL_MARKER.search(text, 40)``, the regex tried only where the leading words of
    one of its alternatives start (``_prefilter.search``): the case-insensitive scan tried its
    sixteen alternatives at each of up to 20,000 characters (issue 3, session 9)."""
    return search(_ORIGINAL_MARKER, text, folded(text), 40)


def _report_type(msg: Message) -> object:
    """The ``report-type`` parameter; None when the standard library cannot decode the
    parameters (broken RFC 2231 continuations make it raise TypeError): best effort."""
    try:
        return msg.get_param("report-type", header="content-type")
    except (TypeError, ValueError, LookupError):
        return None
