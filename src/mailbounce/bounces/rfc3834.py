"""RFC 3834 automatic responses (vacation, out of office): ``kind: autoreply``, never a failure.

Recognised by ``Auto-Submitted: auto-replied`` (RFC 3834 §5), the de-facto ``X-Autoreply`` /
``X-Autorespond`` / ``X-Apple-Action: VACATION`` headers, or a vacation subject in English or
French. Auto-generated bounces (``Auto-Submitted: auto-generated`` with a delivery report) are
not auto-replies. The recipient is the person who answered: the reply's ``From``.
"""

from __future__ import annotations

import re

from mailbounce.bounces.base import Mail, part_text
from mailbounce.bounces.rfc3464 import clean_address
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation")
_VACATION_SUBJECT = lazy_compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|answer)|out[ -]of[ -](the[ -])?office|away from"
    r"|on vacation|vacation|absence|absent|r[ée]ponse automatique|message automatique"
    r"|r[ée]ponse auto|abwesenheit|abwesend|au(ss|ß)er haus|automatische antwort|i am away"
    r"|i'm away|away until|congés?|en cong[ée]s?|risposta automatica|fuori (sede|ufficio)"
    r"|respuesta autom[áa]tica|fuera de la oficina|resposta autom[áa]tica|automatisch antwoord"
    r"|afwezig)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = lazy_compile(
    r"undeliver|delivery|failure|failed|returned mail|non remis|non distribu|not delivered"
    r"|no entregado|unzustellbar|не доставлено",
    re.I,
)
_REPORT_SENDER = lazy_compile(r"mailer-daemon|postmaster|mail delivery", re.I)


def is_autoreply(mail: Mail) -> bool:
    """Whether the message is an automatic reply (not a delivery report).

    Exim and others mark their bounces ``Auto-Submitted: auto-replied`` too: a report's
    sender (MAILER-DAEMON, postmaster) or subject rules the header out.
    """
    if mail.msg.get_content_type() == "multipart/report":
        return False
    if _REPORT_SENDER.search(mail.sender) or _BOUNCE_SUBJECT.search(mail.subject):
        return False
    auto = mail.header("Auto-Submitted").strip().lower()
    if auto.startswith("auto-replied"):
        return True
    if any(mail.msg.get(name) is not None for name in _AUTO_HEADERS):
        return True
    if mail.header("X-Apple-Action").strip().upper() == "VACATION":
        return True
    if mail.header("Precedence").strip().lower() == "auto_reply":
        return True  # the vacation programs' own mark (procmail, Sieve vacation, Sisimai's list)
    return bool(_VACATION_SUBJECT.match(mail.subject))


class Rfc3834Detector:
    name = "rfc3834"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not is_autoreply(mail):
            return None
        address = clean_address(mail.sender) or clean_address(mail.header("Reply-To"))
        if not address:
            return None
        body = next(
            (part_text(p) for p in mail.msg.walk() if p.get_content_type() == "text/plain"), ""
        )
        first = " ".join(line.strip() for line in body.strip().split("\n")[:3] if line.strip())
        return [BounceFacts(recipient=address, diagnostic=first[:300], reason_hint=Reason.VACATION)]


DETECTOR = Rfc3834Detector()
