"""Remote-server wordings met in bounces of MTAs and providers absent from the DEV corpus.

Each row is a reply as an unknown MTA would relay it (no detector's hint, no status field):
the words and the codes inside them alone must name the reason (TAXONOMY.md).
"""

from __future__ import annotations

import pytest

from mailbounce.classify import classify_reason
from mailbounce.models import BounceFacts

WORDINGS: list[tuple[str, str]] = [
    ("550 5.1.1 <a@example.org>... Addressee unknown", "userunknown"),
    ("550 recipient unknown", "userunknown"),
    ("550 user invalid", "userunknown"),
    ("550 5.1.1 unknown or illegal alias: a@example.org", "userunknown"),
    ("550 Not our Customer", "userunknown"),
    ("550 mail box full", "mailboxfull"),
    ("La boîte aux lettres du destinataire est pleine", "mailboxfull"),
    ("552 Boîte de réception saturée, réessayez plus tard", "mailboxfull"),
    ("Messagerie du destinataire pleine", "mailboxfull"),
    ("452 Quota de stockage atteint pour ce compte", "mailboxfull"),
    ("550 Le compte de ce destinataire a été désactivé", "suspend"),
    ("550 the recipient's mailbox has been closed", "suspend"),
    ("552 Mailbox is over its storage limit", "mailboxfull"),
    ("Domain has no MX or A record", "notaccept"),
    ("Le domaine du destinataire est introuvable", "hostunknown"),
    ("552 La taille du message (18 Mo) dépasse la limite autorisée", "mesgtoobig"),
    ("550 Destinataire non valide", "userunknown"),
    ("553 Domaine de l'expéditeur inexistant", "rejected"),
    ("550 Les pièces jointes de type .exe ne sont pas autorisées", "policyviolation"),
    ("530 Authentification requise", "securityerror"),
    ("550 5.7.1 TLS is required but was not offered by host", "securityerror"),
    ("554 Relais non autorisé", "norelaying"),
    ("451 Erreur temporaire du serveur, veuillez réessayer", "systemerror"),
    ("all relevant MX records point to non-existent hosts", "hostunknown"),
    ("malformed address: <a@example.org> may not follow b@example.org", "syntaxerror"),
    ("550 5.1.2 bad destination system address", "hostunknown"),
    (
        "The mail server could not deliver mail to a@example.org. The account or domain may not "
        "exist, they may be blacklisted, or missing the proper dns entries.",
        "hostunknown",
    ),
    ("554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain", "hostunknown"),
    ("550 5.2.1 This mailbox has been blocked due to inactivity", "suspend"),
    ("554 Relay rejected for policy reasons", "norelaying"),
    ("550 Access denied - Invalid HELO name", "blocked"),
    ("554 5.7.1 Mail from 192.0.2.1 refused by blackhole site", "blocked"),
    ("Delivery expired (message too old)", "expired"),
    ("unable to deliver in 2 days", "expired"),
    ("451 4.3.5 Server configuration problem", "systemerror"),
    ("421 Service not available, closing transmission channel", "systemerror"),
    ("451 4.4.0 DNS temporary failure", "networkerror"),
    ("450 4.7.1 rate limited, please try again later", "speeding"),
    ("421 Message rate exceeded", "speeding"),
    ("421 You have exceeded the sending limit", "speeding"),
    ("554 5.7.1 Message rejected: attachment type not allowed", "policyviolation"),
    ("550 5.7.1 Message rejected due to content restrictions", "policyviolation"),
    ("554 5.6.0 Message contains multiple From headers", "notcompliantrfc"),
    ("451 4.3.0 Temporary system failure, please try later", "systemerror"),
    ("Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)", "networkerror"),
    ("neko@example.jp: No MX found for domain", "notaccept"),
    ("User not listed in public Name & Address Book", "userunknown"),
    (
        "Unable to deliver message to <a@example.org> (and other recipients in the same "
        "domain). Please check if address is correct.",
        "userunknown",
    ),
    ("the group may not exist, or you may not have permission to post messages", "rejected"),
    ("le groupe n'existe pas ou vous n'êtes pas autorisé à lui envoyer des messages", "rejected"),
    (
        "552 5.7.0 This message was blocked because its content presents a potential 5.7.0 "
        "security issue. Please visit 5.7.0 https://support.google.com/mail/answer/6590",
        "policyviolation",
    ),
    ("450 4.7.1 Greylisted, please try again later", "greylisted"),
    (
        "550 5.7.515 Access denied, sending domain [ASSO-EXEMPLE.ORG] doesn't meet the required "
        "authentication level.",
        "authfailure",
    ),
    # French wordings (Orange, SFR, Free, La Poste, French Exchange and hosting providers).
    ("550 Le domaine exemple-disparu.fr n'existe pas", "hostunknown"),
    ("550 Nom de domaine introuvable", "hostunknown"),
    ("550 L'adresse du destinataire n'existe pas", "userunknown"),
    ("550 Cette adresse n'est plus valide", "userunknown"),
    ("Délai de remise dépassé : le message n'a pas pu être remis", "expired"),
    ("550 La boîte aux lettres est désactivée", "suspend"),
    ("552 Le message est trop volumineux", "mesgtoobig"),
    ("554 Relais refusé", "norelaying"),
    ("421 Trop de connexions, ralentissez. Too many connections, slow down.", "toomanyconn"),
    # Twinned associations' servers: German, Spanish, Italian.
    ("550 5.1.1 Empfänger unbekannt", "userunknown"),
    ("Das Postfach existiert nicht", "userunknown"),
    ("552 Postfach ist voll", "mailboxfull"),
    ("550 Usuario desconocido", "userunknown"),
    ("552 Buzón lleno", "mailboxfull"),
    ("550 Utente sconosciuto", "userunknown"),
    ("552 Casella piena", "mailboxfull"),
]


@pytest.mark.parametrize(("diagnostic", "reason"), WORDINGS)
def test_wording_names_the_reason(diagnostic: str, reason: str) -> None:
    code = diagnostic[:3] if diagnostic[:3].isdigit() else None
    facts = BounceFacts(
        recipient="a@example.org",
        action="failed",
        status=None,
        replycode=code,
        diagnostic=diagnostic,
        smtp_command="RCPT",
    )
    assert str(classify_reason(facts)) == reason
