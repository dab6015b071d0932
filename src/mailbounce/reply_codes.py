"""What a bare SMTP reply code means: the family of reasons behind it (``explain 550``).

A three-digit code without the server's words or an enhanced status (RFC 3463) cannot name
one reason: 550 is mostly "no such address" but also a policy refusal. ``explain`` shows
the family (RFC 5321 §4.2.2-4.2.3, RFC 7504 for 521/556, RFC 4954 for 530/535) and says
what to look at next, instead of "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbounce.advice import check_lang


@dataclass(frozen=True, slots=True)
class ReplyCode:
    """One reply code explained in one language."""

    code: str
    label: str
    explanation: str
    advice: str


_LOOK_EN = (
    " Look at the server's words after the code, or its enhanced status (5.1.1, 5.7.1…),"
    " and explain those: `mailbounce explain 5.1.1`."
)
_LOOK_FR = (
    " Regardez les mots du serveur après le code, ou son statut détaillé (5.1.1, 5.7.1…),"
    " et faites-les expliquer : `mailbounce explain 5.1.1`."
)
_RETRY_EN = " mailbounce retries automatically; nothing to do unless it lasts for days."
_RETRY_FR = " mailbounce réessaie automatiquement ; rien à faire sauf si cela dure des jours."

# code: (English label, explanation, advice; French label, explanation, advice)
_CODES: dict[str, tuple[str, str, str, str, str, str]] = {
    "421": (
        "Service not available (temporary)",
        "The receiving server is closing the connection: overloaded, too many connections"
        " or messages from the sender at once, or refusing the sender for a while.",
        "Send more slowly to this domain (rate limits in the campaign)." + _RETRY_EN,
        "Service indisponible (temporaire)",
        "Le serveur destinataire ferme la connexion : surchargé, trop de connexions ou de"
        " messages de l'expéditeur à la fois, ou refus temporaire de l'expéditeur.",
        "Envoyez plus lentement vers ce domaine (limites de débit de la campagne)." + _RETRY_FR,
    ),
    "450": (
        "Mailbox unavailable (temporary)",
        "The mailbox cannot take the message right now: very often greylisting (normal with"
        " orange.fr, free.fr, sfr.fr…), sometimes a busy or locked mailbox.",
        "Nothing to fix." + _RETRY_EN,
        "Boîte indisponible (temporaire)",
        "La boîte ne peut pas recevoir le message pour l'instant : très souvent du"
        " greylisting (normal chez orange.fr, free.fr, sfr.fr…), parfois une boîte occupée.",
        "Rien à corriger." + _RETRY_FR,
    ),
    "451": (
        "Local error in processing (temporary)",
        "The receiving server could not handle the message now: greylisting, a rate limit"
        " on the sender, or a problem on its side.",
        "Nothing to fix at first." + _RETRY_EN + _LOOK_EN,
        "Erreur de traitement (temporaire)",
        "Le serveur destinataire n'a pas pu traiter le message maintenant : greylisting,"
        " limite de débit de l'expéditeur, ou problème de son côté.",
        "Rien à corriger d'abord." + _RETRY_FR + _LOOK_FR,
    ),
    "452": (
        "Insufficient storage (temporary)",
        "The mailbox is full, or the message has too many recipients for one transaction.",
        "The recipient must make room; the address is not invalid." + _RETRY_EN,
        "Espace insuffisant (temporaire)",
        "La boîte est pleine, ou le message a trop de destinataires pour un seul envoi.",
        "Le destinataire doit faire de la place ; l'adresse n'est pas invalide." + _RETRY_FR,
    ),
    "521": (
        "Domain does not accept mail",
        "The recipient's domain declares that it receives no mail at all (RFC 7504): the"
        " address cannot work.",
        "Check the domain for a typo; otherwise ask the person for another address.",
        "Le domaine ne reçoit pas de courrier",
        "Le domaine du destinataire déclare ne recevoir aucun courrier (RFC 7504) : l'adresse"
        " ne peut pas fonctionner.",
        "Vérifiez le domaine (faute de frappe ?) ; sinon demandez une autre adresse.",
    ),
    "530": (
        "Authentication required",
        "A server asked the sender to log in first: usually your own sending server (SMTP"
        " settings), rarely the recipient's.",
        "Check the SMTP user and password in the configuration.",
        "Authentification requise",
        "Un serveur demande à l'expéditeur de s'identifier : en général votre propre serveur"
        " d'envoi (réglages SMTP), rarement celui du destinataire.",
        "Vérifiez l'utilisateur et le mot de passe SMTP de la configuration.",
    ),
    "535": (
        "Authentication failed",
        "The sending server refused the login: wrong user or password.",
        "Check the SMTP user and password in the configuration.",
        "Échec de l'authentification",
        "Le serveur d'envoi a refusé l'identification : utilisateur ou mot de passe erroné.",
        "Vérifiez l'utilisateur et le mot de passe SMTP de la configuration.",
    ),
    "550": (
        "Mailbox unavailable (permanent)",
        "The server refuses the message for this recipient. Most often the address does not"
        " exist (userunknown), but servers also answer 550 for policy refusals: the sender"
        " is blocked or listed, the message looks like spam, or the sender's domain fails"
        " authentication (SPF, DKIM, DMARC). The code alone cannot tell which.",
        "Do not remove the address on the code alone." + _LOOK_EN,
        "Boîte indisponible (définitif)",
        "Le serveur refuse le message pour ce destinataire. Le plus souvent l'adresse"
        " n'existe pas (userunknown), mais les serveurs répondent aussi 550 pour des refus de"
        " politique : expéditeur bloqué ou listé, message pris pour du spam, domaine de"
        " l'expéditeur mal authentifié (SPF, DKIM, DMARC). Le code seul ne dit pas lequel.",
        "Ne retirez pas l'adresse sur le seul code." + _LOOK_FR,
    ),
    "551": (
        "User not local",
        "The address is not handled by this server; the person may have moved.",
        "Ask the person for their current address.",
        "Utilisateur non local",
        "L'adresse n'est pas gérée par ce serveur ; la personne a peut-être changé d'adresse.",
        "Demandez à la personne son adresse actuelle.",
    ),
    "552": (
        "Storage exceeded or message too big",
        "The mailbox is over its quota, or the message is larger than the server accepts.",
        "If several recipients answer this, make the message smaller (images, attachments);"
        " otherwise the recipient must make room." + _LOOK_EN,
        "Quota dépassé ou message trop gros",
        "La boîte dépasse son quota, ou le message est plus gros que ce que le serveur accepte.",
        "Si plusieurs destinataires répondent ainsi, allégez le message (images, pièces"
        " jointes) ; sinon le destinataire doit faire de la place." + _LOOK_FR,
    ),
    "553": (
        "Mailbox name not allowed",
        "The address is refused as written: bad syntax, or a sender address the server"
        " does not accept.",
        "Check the recipient's address and your From address." + _LOOK_EN,
        "Nom de boîte refusé",
        "L'adresse est refusée telle qu'écrite : syntaxe incorrecte, ou adresse d'expéditeur"
        " que le serveur n'accepte pas.",
        "Vérifiez l'adresse du destinataire et votre adresse d'expéditeur." + _LOOK_FR,
    ),
    "554": (
        "Transaction failed (permanent)",
        "A generic permanent refusal, most often a policy one: the message was taken for"
        " spam, or the sending server's address or domain is on a blocklist.",
        "This is rarely about the address." + _LOOK_EN,
        "Transaction refusée (définitif)",
        "Un refus définitif générique, le plus souvent de politique : message pris pour du"
        " spam, ou adresse ou domaine du serveur d'envoi sur une liste de blocage.",
        "Cela concerne rarement l'adresse." + _LOOK_FR,
    ),
    "556": (
        "Domain does not accept mail",
        "The recipient's domain receives no mail at all (RFC 7504): the address cannot work.",
        "Check the domain for a typo; otherwise ask the person for another address.",
        "Le domaine ne reçoit pas de courrier",
        "Le domaine du destinataire ne reçoit aucun courrier (RFC 7504) : l'adresse ne peut"
        " pas fonctionner.",
        "Vérifiez le domaine (faute de frappe ?) ; sinon demandez une autre adresse.",
    ),
}


def reply_code(code: str, lang: str) -> ReplyCode | None:
    """The family of meanings of a bare three-digit reply code; None when not described."""
    check_lang(lang)
    found = _CODES.get(code.strip())
    if found is None:
        return None
    texts = found[:3] if lang == "en" else found[3:]
    return ReplyCode(code.strip(), *texts)


def described_codes() -> tuple[str, ...]:
    return tuple(_CODES)
