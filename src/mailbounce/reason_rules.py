"""Evidence tables for ``mailbounce.classify``: status codes, phrases and provider texts.

Phrases are lower-case fragments of real remote-server texts, grouped per reason (the groups
follow Sisimai's reason vocabulary, TAXONOMY.md). English first, then French where French
providers (Orange, La Poste, SFR, Free) word it their own way.
"""

from __future__ import annotations

import re

from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import Reason as R

# RFC 3463 codes whose meaning alone names a reason (TAXONOMY.md table).
STATUS_REASON: dict[str, R] = {
    "1.0": R.USERUNKNOWN,
    "1.1": R.USERUNKNOWN,
    "1.2": R.HOSTUNKNOWN,
    "1.3": R.USERUNKNOWN,
    "1.4": R.FILTERED,
    "1.5": R.USERUNKNOWN,
    "1.6": R.HASMOVED,
    "1.7": R.REJECTED,
    "1.8": R.REJECTED,
    "1.10": R.NOTACCEPT,
    "2.0": R.FILTERED,
    "2.1": R.FILTERED,
    "2.2": R.MAILBOXFULL,
    "2.3": R.EXCEEDLIMIT,
    "2.4": R.SYSTEMERROR,
    "3.1": R.SYSTEMFULL,
    "3.2": R.NOTACCEPT,
    "3.3": R.SYSTEMERROR,
    "3.4": R.MESGTOOBIG,
    "3.5": R.SYSTEMERROR,
    "4.0": R.NETWORKERROR,
    "4.2": R.NETWORKERROR,
    "4.3": R.NETWORKERROR,
    "4.4": R.HOSTUNKNOWN,
    "4.5": R.NETWORKERROR,
    "4.6": R.NETWORKERROR,
    "4.7": R.EXPIRED,
    "5.0": R.SYNTAXERROR,
    "5.1": R.SYNTAXERROR,
    "5.2": R.SYNTAXERROR,
    "5.3": R.TOOMANYCONN,
    "5.4": R.SYNTAXERROR,
    "5.5": R.SYNTAXERROR,
    "7.13": R.SUSPEND,
    "7.20": R.AUTHFAILURE,
    "7.21": R.AUTHFAILURE,
    "7.22": R.AUTHFAILURE,
    "7.23": R.AUTHFAILURE,
    "7.24": R.AUTHFAILURE,
    "7.25": R.REQUIREPTR,
    "7.26": R.AUTHFAILURE,
    "7.27": R.NOTACCEPT,
    "7.29": R.AUTHFAILURE,
    # Full codes whose use in the field differs from RFC 3463's subject: Microsoft's 5.4.1
    # is "Recipient address rejected: Access denied" (directory-based edge blocking).
    "5.4.1": R.USERUNKNOWN,
}


def _compile(*phrases: str) -> re.Pattern[str]:
    return lazy_compile("|".join(phrases))


# A local delivery program failed (Postfix "X-Unix;" diagnostics, procmail, maildrop).
MAILER_ERROR = _compile(
    r"^x-unix|^procmail:|\bmaildrop:|command (failed|died with status)|mailer error|pipe to \|",
)

# Phrase groups; entries are regular expressions over the lower-cased, space-folded diagnostic.
PHRASES: dict[R, re.Pattern[str]] = {
    R.MAILBOXFULL: _compile(
        r"mail ?box (is )?full",
        r"mailbox size limit exceeded",
        r"over ?quota",
        r"quota (exceeded|violation|full)",
        r"exceeded (the )?(storage|quota)",
        r"exceeds? (their|its|the)( mailbox)? quota",
        r"is over (the allowed|disk)? ?quota",
        r"(disk|mail|mailbox|storage) quota",
        r"full mailbox|mailfolder is full|mailbox would exceed",
        r"out of storage space|insufficient (disk )?(space|storage)",
        r"not enough (disk |storage )?space|no space left|does not have enough space",
        r"recipient reached disk quota|user has too many messages|too much mail data",
        r"space has been used up|has exceeded (its|his|her) (disk space|storage)",
        r"mailbox exceeds (the )?(allowed|maximum) size|exceeded the local limit",
        r"(mail ?box|inbox|account) is over (its|the|their) (storage|size) limit",
        r"bo[iî]te (du destinataire )?pleine|boite aux lettres pleine|bo[iî]te aux lettres pleine",
        r"quota d[ée]pass[ée]|espace disque",
        # French ISPs and webmails word it freely: "la boîte aux lettres du destinataire est
        # pleine", "boîte de réception saturée", "messagerie pleine", "quota atteint".
        r"bo[iî]te (aux lettres |de r[ée]ception |mail |e-?mail )?(du destinataire |de "
        r"(votre|ce) (correspondant|destinataire) )?(est )?(pleine|satur[ée]e)",
        r"messagerie (du destinataire )?(est )?(pleine|satur[ée]e)",
        r"quota (de (stockage|messagerie) )?(est )?atteint|espace de stockage (insuffisant|plein)",
        r"postfach (ist )?voll|speicherplatz|buz[óo]n (est[áa] )?lleno|casella (piena|pieno)",
    ),
    R.MESGTOOBIG: _compile(
        r"message (is )?too (big|large)",
        r"message (size|length) exceeds|exceeds? (the )?(maximum|max) (message )?size",
        r"max(imum)? message size|message file too big|size limit|message exceeds the max",
        r"exceeded maximum inbound message size|line limit exceeded",
        r"taille limite du message|message (est )?trop (gros|volumineux)",
        # "la taille du message (18 Mo) dépasse la limite autorisée", "message dépasse la
        # taille maximale".
        r"taille (du|de votre) message .{0,40}d[ée]passe|message d[ée]passe la taille",
    ),
    R.EXCEEDLIMIT: _compile(
        r"message header size exceeds limit|too many recipients for this message"
    ),
    R.SUSPEND: _compile(
        r"(is|been|currently|(?<!delivery )temporarily) (suspended|disabled|deactivated|locked)",
        r"account (is )?(disabled|inactive|suspended|locked|frozen|deactivated)",
        r"(inactive|disabled|suspended|deactivated) (e-?mail )?(account|mailbox|user|address)",
        r"mailbox (is )?(disabled|frozen|inactive|suspended)|mailbox currently suspended",
        r"user (is )?(suspended|disabled|inactive|terminated)|is a deactivated mailbox",
        r"tried to reach is (disabled|inactive)|archived recipient|bo[iî]te .{0,40}archiv[ée]e",
        r"temporar(il)?y locked",
        r"temporarily inactive|recipient suspend|no longer (active|in use)|due to inactivity",
        r"compte (d[ée]sactiv[ée]|suspendu|bloqu[ée])",
        r"(mail ?box|account) (has been |is |was )?closed",  # as "boîte fermée" below
        # "le compte de ce destinataire a été désactivé", "adresse suspendue".
        r"compte .{0,40}(a [ée]t[ée]|est) (d[ée]sactiv[ée]|suspendu|bloqu[ée]|ferm[ée])",
        r"(adresse|destinataire) (est )?(d[ée]sactiv[ée]e?|suspendue?)",
        r"bo[iî]te (aux lettres |mail )?(est )?(d[ée]sactiv[ée]e|suspendue|ferm[ée]e)",
    ),
    R.HASMOVED: _compile(
        r" has been replaced by |address has moved|no longer (valid|at this address), (please )?use"
    ),
    R.NORELAYING: _compile(
        r"relay(ing)? (access )?(denied|not permitted|prohibited|not allowed|rejected)",
        r"\bno relaying",
        r"not configured to relay",
        r"not (permitted|allowed) to relay|unable to relay|we do not relay|relaying mail to",
        r"not an open relay|insecure mail relay|allowed rcpthosts|as a relay|not a gateway",
        r"email address is not verified",
        r"relais (refus|interdit|non autoris)",
    ),
    R.AUTHFAILURE: _compile(
        r"\bdmarc\b|\bdkim\b|\bspf\b|sender policy framework",
        r"is not allowed to send (mail )?(from|for)|not authorized to send on behalf",
        r"fails to pass authentication|does not have authentication information",
        # Microsoft's 2025 requirement for bulk senders (550 5.7.515).
        r"(meet|meets) the required authentication level|sender is unauthenticated",
    ),
    R.USERUNKNOWN: _compile(
        r"user unknown|unknown user|unknown (local[- ]part|mailbox|recipient|address)",
        r"no such (user|mailbox|recipient|address|account|person|local user|e-?mail)",
        r"(user|mailbox|recipient|address|account)( \S{1,80})? (does not|doesn't|not) exist",
        r"(user|mailbox|recipient|account|address) not (found|known|present|valid|exist)",
        r"(invalid|bad|unknown|not a valid) (e-?mail )?(recipient|mailbox|user|address)",
        r"mailbox (unavailable|not available|is unavailable|invalid)",
        r"address (unknown|invalid|not present)",
        r"recipient address rejected(\.?$|: (user|unknown|invalid|undeliverable|access denied))",
        r"(recipient|user) (is )?not (local|a known user|accepted here)|not a known user",
        r"no (mail ?box|account) (here )?(by that name|for this user|available)",
        r"there is no one at this address|not listed in (the )?(domino )?directory",
        r"not listed in (the )?public name (&|and) address book",
        r"recipient name is not recognized|invalid final delivery userid|unknown recipient",
        r"this user doesn't have a .{0,80} account|recipient not found|recipientnotfound",
        r"badrcptto|validrcptto|no longer (valid|accepts mail)|is not a valid mailbox",
        r"destination address(es)? (were|was) unknown|does not have an account here",
        r"account ([^ ]{1,80} )?does not exist|e-?mail account .{0,80}does not exist",
        r"utilisateur inconnu|adresse (e-?mail )?inconnue|destinataire inconnu",
        # "n'existe pas" names the mailbox unless the sentence is about the domain.
        r"^(?!.*domaine).*n'?existe pas|destinataire invalide|adresse invalide|compte inexistant",
        r"n'est plus (valide|active|utilis[ée]e)",
        r"adresse .{0,40}introuvable|destinataire introuvable",
        r"destinataire (non valide|inexistant)|adresse (e-?mail )?(non valide|inexistante)",
        r"check (if|that|whether) (the )?(recipient'?s? )?(e-?mail )?address is (correct|valid)",
        r"adresse (de destination |du destinataire |e-?mail )?(invalide|inconnue)",
        r"(recipient|addressee) unknown|user invalid|unknown or illegal alias|not our customer",
        # German, Spanish and Italian (twinned associations' servers).
        r"(empf[äa]nger|benutzer|adresse)( ist)? unbekannt|unbekannte[rn]? (empf[äa]nger|benutzer)",
        r"(postfach|adresse|empf[äa]nger)( \S{1,80})? existiert nicht",
        r"usuario (desconocido|no existe|inexistente)|destinatario (desconocido|inexistente)",
        r"utente (sconosciuto|inesistente)|destinatario sconosciuto|indirizzo inesistente",
    ),
    R.FILTERED: _compile(
        r"message filtered|filtered by|refused due to recipient preferences",
        r"only accepting mail from specific|user reject|blocked by the recipient",
        r"recipient (refuses|does not accept)|rejected by (the )?recipient",
        r"resolver\.rst\.notauthorized|not authorized to send to this",
    ),
    R.REQUIREPTR: _compile(
        r"reverse dns|\bptr\b|reverse (host ?name|lookup)|cannot find your (reverse )?hostname",
        r"unverif[iy]able sending ip",
        r"ip name lookup failed|rdns|no (reverse|inverse) (dns|resolution)",
        r"dns inverse|r[ée]solution inverse",
    ),
    R.NOTCOMPLIANTRFC: _compile(
        r"rfc ?5322|rfc ?2822|not rfc compliant|rfcmessagenoncompliant",
        r"multiple addresses in from|multiple from headers",
    ),
    R.BADREPUTATION: _compile(
        r"reputation|low sender score|unexpected volume or user complaints",
        r"\btss0[45]\b.{0,200}complaints|deferred due to user complaints",
    ),
    R.REJECTED: _compile(
        r"sender (address |domain |email address |e-mail )?(rejected|refused|denied|invalid)",
        r"(invalid|bad|unknown|unverified) sender|sender verif\w* fail|sender is not",
        r"domain of sender address|sender domain (must|is empty|does not)|bogus mail from",
        r"please provide a valid from|from: domain is invalid",
        r"mail from (not owned|rejected|address rejected)|null sender|empty (envelope )?sender",
        r"envelope sender|return[- ]path (rejected|invalid)|administrative prohibition",
        r"emetteur invalide|exp[ée]diteur (invalide|refus[ée]|inconnu)",
        r"(domaine|adresse) de l'exp[ée]diteur (est )?(inexistant|inconnu|invalide|refus)",
        r"not a registered gateway user|returned mail not accepted",
        r"all recipient addresses rejected ?: access denied|unroutable sender",
        # A list or group refusing its poster (Google Groups, Mailman, fml).
        r"(not have|without|no) permission to post|not (a member|allowed to post)",
        r"pas (l')?autoris(ation|[ée]e?s?) (de|[àa]) (lui )?(envoyer|poster|publier)",
    ),
    R.HOSTUNKNOWN: _compile(
        r"host (or domain name )?(not found|unknown|unreachable)|unknown host",
        r"domain (name )?(not found|does not exist|unknown|is not reachable|must exist)",
        r"no such domain|unrouteable (address|mail domain)|unknown domain",
        r"non-?existent domain|bad destination system address|account or domain may not exist",
        r"mx records point to non-?existent hosts",
        r"name or service not known|domain is not reachable",
        r"illegal host/domain|host name lookup failure|nxdomain|domaine (inconnu|inexistant)",
        r"domaine .{0,60}n'existe pas|(domaine|h[ôo]te)( \S+)? introuvable",
        # "le domaine du destinataire est introuvable (aucun enregistrement MX)".
        r"domaine (du destinataire |de destination )?(est )?(introuvable|inconnu)",
    ),
    R.SPAMDETECTED: _compile(
        r"\bspam\b|unsolicited|\buce\b|\bube\b|bulk (e-?mail|mail)|junk mail",
        r"blacklisted (url|link)|\buribl\b",
        r"content (filter )?rejected|message content rejected|mail content denied",
        r"recurrent pattern detection|rejected by anti-?spam|spam-?like|pourriel|ind[ée]sirable",
        r"consid[ée]r[ée] comme (du )?(spam|pourriel)",
    ),
    R.SPEEDING: _compile(
        r"too many (messages|mails|emails)|(?<!connection )rate limit|sending rate",
        r"try again slower|message rate exceeded|exceeded (the |your )?sending limit",
        r"receiving mail at a rate|exceeded the max emails per hour|trop de (messages|mails)",
    ),
    R.TOOMANYCONN: _compile(
        r"too many (connections|concurrent|sessions|smtp sessions|errors)",
        r"connection (rate|frequency|limit)|maximum connection limit|per-domain connection limit",
        r"too many recipients|trop de connexions",
    ),
    R.BLOCKED: _compile(
        r"block ?list|blacklist|black list|\brbl\b|\bdnsbl\b|spamhaus|spamcop|sorbs|barracuda",
        r"blocked (using|by|for|from|due|because of spam)|client host rejected|banned sending ip",
        r"(ip|host|address|server|sender|domain|you) (has been |have been |is |was )?blocked",
        r"(?<!not )listed (in|on|at)|invalid ip for sending|unwanted messages have been sent from",
        r"not (currently )?accepting (mail|connections) from",
        r"refused to talk|no access from mail server|(is|being) an open relay",
        r"not authorized to send (e-?mail|mail) directly|use the smtp relay at",
        r"helo command rejected|invalid helo|bad helo|blackhole",
        r"your ip|(ip|host) (address )?(is )?(not allowed|rejected|denied)",
        r"dynamic ip|dial-?up|residential|(ip|adresse) .{0,60}bloqu[ée]e?|liste noire",
    ),
    R.VIRUSDETECTED: _compile(r"\bvirus|malware|infected|executable attachment|malicious"),
    R.POLICYVIOLATION: _compile(
        r"polic(y|ies)|prohibited attachment|illegal attachment|unacceptable attachment",
        r"banned (attachment|file)|mailmarshal|politique|header error|protocol violation",
        r"content presents a potential security issue|content restrictions?\b",
        r"contient (un|des) (lien|url)|liens? (interdit|non autoris)",
        r"pi[èe]ce jointe (interdite|refus)",
        r"pi[èe]ces? jointes? .{0,60}(non autoris|interdit|refus|pas autoris)",
        r"attachment (type )?(is )?(not allowed|blocked|forbidden)",
    ),
    R.SYSTEMERROR: _compile(
        r"system (error|config)|configuration error|local error|internal (server )?error",
        r"server error|mail loop|loops back to myself|routing loop|forwarding loop",
        r"temporary local problem|service (currently )?unavailable|misconfigured",
        r"configuration problem|service not available",
        r"(temporary )?system failure|erreur temporaire du syst[eè]me",
        r"erreur (temporaire |interne )?du serveur",
        r"timeout waiting for input|interrupted system call|erreur (syst[eè]me|interne)",
        r"could not load drd|transaction failed|queue file write error|temporary lookup failure",
    ),
    R.NETWORKERROR: _compile(
        r"no route to host|network (is )?unreachable|host is unreachable|dns (error|failure)",
        r"dns query failed|dns temporary failure",
        r"malformed (or unexpected )?name server reply|unable to resolve",
        r"lookup (of \S{1,255} )?(failed|had no relevant)",
        r"hop count exceeded|too many hops|no relevant answers|connection (reset|lost)",
        r"(wasn't|was not|unable to|could not|couldn't) (able to )?establish an? smtp connection",
    ),
    R.CONTENTERROR: _compile(
        r"header size exceeds|8-bit data|mime (complexity|headers)|improperly-formatted",
        r"unnecessary base64|invalid (mime|header)|malformed (message|header)",
    ),
    R.SYSTEMFULL: _compile(r"mail system full|system (is )?full|insufficient system storage"),
    R.NOTACCEPT: _compile(
        r"does not accept (e-?)?mail|doesn't receive email|null mx|accepts no mail",
        r"does not receive (e-?)?mail|mail receiving disabled|no mx record|no smtp service",
        r"no mx (record )?found|(has )?no mx (or a|or aaaa|nor a) records?",
    ),
    R.EXPIRED: _compile(
        r"timed? ?out|delivery time expired|message expired|queue (too long|lifetime)",
        r"in the queue too long|retry time(out)? (not reached|exceeded)|giving up\b",
        r"could not deliver for the last",
        r"could not be delivered for|have been failing for a long time",
        r"unable to deliver .{0,80} after|unable to deliver (in|within) \d",
        r"delivery expired|message too old",
        r"not reachable within the allowed queue period",
        r"d[ée]lai (d'attente |de (remise|livraison|distribution) )?(est )?"
        r"(d[ée]pass[ée]|expir[ée])",
        r"did not accept our requests to connect",
    ),
    R.SECURITYERROR: _compile(
        r"authentication (required|failure|credentials)|must (be )?authenticat|tls required",
        r"authentification (requise|obligatoire|n[ée]cessaire)",
        r"(start)?tls is required|requires? (start)?tls|must issue a starttls",
        r"not authorized to send mail|spoof|unauthenticated senders not allowed",
        r"executable files are not allowed",
    ),
    R.MAILERERROR: MAILER_ERROR,
    R.SYNTAXERROR: _compile(
        r"syntax error|command unrecognized|unrecognized command|bad sequence",
        # Exim refusing a header address it cannot parse ("malformed address: <a> may not
        # follow b", "recipient addresses that were incorrectly constructed").
        r"malformed (recipient )?address|incorrectly constructed",
    ),
}

# The SMTP stage a diagnostic names (Postfix "in reply to", Exim "after", qmail sentences).
STAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (lazy_compile(pattern), command)
    for pattern, command in (
        (
            r"in reply to (the )?(mail from|mail) command|after mail from|sender was rejected",
            "MAIL",
        ),
        (r"in reply to (the )?rcpt to command|after rcpt to|after pipelined rcpt", "RCPT"),
        (r"in reply to (the )?(data|end of data) command|after (end of )?data", "DATA"),
        (r"after initial connection", "CONN"),
        (r"in reply to (the )?(helo|ehlo) command|after (helo|ehlo)|my name was rejected", "HELO"),
    )
)

# Greylisting (ours, TAXONOMY): its own word anywhere in a temporary refusal; the generic
# "try again later" only with the codes greylisting servers use (450/451 4.7.1, 4.2.0...).
GREYLISTING = _compile(r"gr[ea]y-?list")
RETRY_LATER = _compile(
    r"try again later|please retry later|temporarily (deferred|rejected)|retry later",
    r"r[ée]essayer plus tard",
)
GREYLISTING_STATUSES = frozenset({"", "4.0.0", "4.2.0", "4.7.0", "4.7.1"})

# Order in which a status-or-phrase match decides (the reasons whose evidence is the most
# specific first; TAXONOMY "a 5.1.1 is userunknown unless the words say relaying, blocking,
# full mailbox or moved").
FIRST_ORDER: tuple[R, ...] = (
    R.MAILBOXFULL,
    R.MESGTOOBIG,
    R.EXCEEDLIMIT,
    R.SUSPEND,
    R.HASMOVED,
    R.NORELAYING,
    R.AUTHFAILURE,
    R.USERUNKNOWN,
    R.FILTERED,
    R.REQUIREPTR,
    R.NOTCOMPLIANTRFC,
    R.BADREPUTATION,
    R.REJECTED,
    R.HOSTUNKNOWN,
    R.SPAMDETECTED,
    R.SPEEDING,
    R.TOOMANYCONN,
    R.BLOCKED,
)

# Phrase-only groups tried when neither the first order nor the status decided.
SECOND_ORDER: tuple[R, ...] = (
    R.VIRUSDETECTED,
    R.POLICYVIOLATION,
    R.NOTACCEPT,
    R.SYSTEMERROR,
    R.NETWORKERROR,
    R.CONTENTERROR,
    R.SYSTEMFULL,
    R.EXPIRED,
    R.SECURITYERROR,
    R.MAILERERROR,
    R.SYNTAXERROR,
)

# Phrases that, next to a userunknown status, say the rejection is about something else.
NOT_USERUNKNOWN: tuple[R, ...] = (
    R.NORELAYING,
    R.BLOCKED,
    R.MAILBOXFULL,
    R.HASMOVED,
    R.REJECTED,
    R.NOTACCEPT,
)
