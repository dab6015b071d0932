"""French ISPs' own non-delivery texts: Orange/Wanadoo, Free, SFR, La Poste, Bouygues.

Their front MTAs write French (often followed by English) instead of a delivery-status part:
``Ceci est un message automatique`` / ``Votre message n'a pas pu être délivré (remis) aux
destinataires suivants``, then per recipient its address (``<addr>:``, ``addr :`` or
``Destinataire : addr``) and the reason, in French words or as the remote SMTP reply, then
the returned message (``--- Message d'origine ---``). French wordings name the reason.
"""

from __future__ import annotations

import re

from mailbounce.bounces._addressblocks import sentences, smtp_command, with_sentence_reason
from mailbounce.bounces._mailtexts import body_text
from mailbounce.bounces._markers import Marker, Markers
from mailbounce.bounces._textblocks import cut_at, first_address, make_facts, with_dsn
from mailbounce.bounces.base import Mail
from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import BounceFacts, Reason

_DOMAINS = lazy_compile(
    r"@(?:[\w-]+\.)*(?:orange|wanadoo|free|proxad|sfr|neuf|cegetel|club-internet|laposte"
    r"|bbox|bouyguestelecom|numericable|aliceadsl)\.(?:fr|net)\b",
    re.I,
)
_LEAD = lazy_compile(
    r"Ceci est un message automatique|n'a pas pu [eê]tre (?:d[ée]livr[ée]|remis|distribu[ée])"
    r"|n'a pu [eê]tre (?:d[ée]livr[ée]|remis)|[ée]chec de (?:la )?(?:remise|distribution)",
    re.I,
)
_SEPARATOR = lazy_compile(
    r"^\s*-{2,}\s*(?:Message d'origine|Message original|Original message|Voici une copie"
    r"|Copie du message|En-t[êe]tes du message)|^\s*-{2,}\s*Below this line",
    re.I | re.M,
)
_RECIPIENT = lazy_compile(
    r"^\s*(?:Destinataire\s*:\s*|Adresse\s*:\s*)?<?([^\s<>@:]+@[\w.-]+\.\w+)>?\s*:?\s*(.*)$",
    re.I,
)

# French (and the paired English) wordings of these providers.
_SENTENCES = sentences(
    (
        r"adresse (?:du destinataire )?(?:est )?inconnue|destinataire inconnu|n'existe pas"
        r"|utilisateur inconnu|bo[iî]te (?:aux lettres )?inexistante",
        Reason.USERUNKNOWN,
        False,
    ),
    (
        r"bo[iî]te (?:aux lettres |mail )?(?:du destinataire )?(?:est )?pleine"
        r"|quota (?:est )?(?:atteint|d[ée]pass[ée])|espace de stockage",
        Reason.MAILBOXFULL,
        False,
    ),
    (
        r"domaine (?:est )?(?:inconnu|introuvable|inexistant)|nom de domaine",
        Reason.HOSTUNKNOWN,
        False,
    ),
    (
        r"(?:message|courriel) (?:est )?trop (?:volumineux|gros)|taille (?:maximale|du message)",
        Reason.MESGTOOBIG,
        False,
    ),
    (
        r"compte (?:du destinataire )?(?:est )?(?:d[ée]sactiv[ée]|suspendu|bloqu[ée]|ferm[ée])",
        Reason.SUSPEND,
        False,
    ),
    (
        r"d[ée]lai (?:de (?:remise|distribution)|d'attente) (?:est )?(?:d[ée]pass[ée]|expir[ée])"
        r"|n'a pas pu [eê]tre (?:remis|d[ée]livr[ée]) (?:depuis|pendant) \d+",
        Reason.EXPIRED,
        False,
    ),
    (r"consid[ée]r[ée] comme (?:du )?spam|pourriel|ind[ée]sirable", Reason.SPAMDETECTED, False),
    (r"adresse IP (?:source )?(?:est )?bloqu[ée]e|liste noire", Reason.BLOCKED, False),
    (r"virus", Reason.VIRUSDETECTED, False),
)


def _blocks(text: str, own: str) -> list[tuple[str, str]]:
    """(recipient, reason text): an address line starts a block, a blank line ends it."""
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in text.split("\n"):
        match = _RECIPIENT.match(line)
        address = match.group(1).lower() if match else ""
        if (
            match
            and address.split("@")[0] not in ("postmaster", "mailer-daemon")
            and address != own
        ):
            current = [match.group(2)]
            blocks.append((address, current))
        elif not line.strip():
            current = None
        elif current is not None:
            current.append(line.strip())
    return [(address, " ".join(lines)) for address, lines in blocks]


class FrenchIspDetector:
    """Orange/Wanadoo, Free, SFR, La Poste (and alike) French non-delivery texts."""

    name = "frenchisp"

    # The first test of ``detect``, as data: False only when it surely finds nothing.
    gate = Markers(
        Marker("From", _DOMAINS),
    )

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if not _DOMAINS.search(mail.sender):
            return None
        text = body_text(mail)
        lead = _LEAD.search(text)
        if lead is None:
            return None
        own = (first_address(mail.header("To")) or "").lower()
        report = cut_at(text[lead.start() :], _SEPARATOR)
        from_text = [
            # The ISP's own notice names its recipients when their envelope is given (RCPT TO)
            # unless it says otherwise: its "utilisateur inconnu" is its directory's answer.
            make_facts(rcpt, reason, smtp_command=smtp_command(reason) or "RCPT")
            for rcpt, reason in _blocks(report, own)
        ]
        return [with_sentence_reason(f, _SENTENCES) for f in with_dsn(mail, from_text)] or None


DETECTOR = FrenchIspDetector()
