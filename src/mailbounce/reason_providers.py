"""Provider texts (TAXONOMY "provider texts decide first"): stable codes of big receivers.

Each rule names the provider, how to recognise its host (remote MTA or diagnostic text) and
maps its own error codes or fixed sentences to a reason. Only sender-, content- or recipient-
side meanings that the generic phrases would get wrong are listed here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Set

from mailbounce.lazy_patterns import lazy_compile
from mailbounce.models import Reason as R
from mailbounce.regex_literals import generated_function, search

# (diagnostic lower-case, status, remote and reporting MTA host names lower-case)
Rule = Callable[[str, str, str], R | None]

# Orange / Wanadoo / La Poste (France Télécom): "OFR_416 [416]", "OFR006_102", "LPN000_630".
_ORANGE_CODE = lazy_compile(r"\b(?:ofr|lpn)\d*_(\d{3})\b|\[(\d{3})\]")
_ORANGE_HOST = lazy_compile(r"orange\.fr|wanadoo\.fr|laposte\.net|\bofr\w*_\d{3}|\blpn\d*_\d{3}")
_ORANGE_CODES: dict[str, R] = {
    "102": R.BLOCKED,  # Adresse IP source bloquée pour incident de spam
    "103": R.BLOCKED,
    "104": R.TOOMANYCONN,  # Trop de connexions, ralentissez
    "105": R.MAILBOXFULL,
    "305": R.SECURITYERROR,  # Code d'authentification invalide
    "401": R.AUTHFAILURE,  # SPF: not allowed to send
    "402": R.SECURITYERROR,  # Authentification requise
    "403": R.REJECTED,  # Emetteur invalide
    "405": R.REJECTED,
    "415": R.REJECTED,
    "416": R.USERUNKNOWN,  # Adresse d'au moins un destinataire invalide
    "417": R.MAILBOXFULL,  # Boîte du destinataire pleine
    "418": R.USERUNKNOWN,
    "420": R.SUSPEND,  # Boîte du destinataire archivée
    "421": R.REJECTED,  # Mail from not owned by user
    "425": R.SUSPEND,
    "429": R.MAILBOXFULL,
    "505": R.SYSTEMERROR,  # Service refusé, veuillez essayer plus tard (server side)
    "506": R.SPAMDETECTED,  # Mail rejeté
    "601": R.SPEEDING,
    "602": R.SPEEDING,
    "603": R.SPEEDING,
    "604": R.SPEEDING,
    "630": R.POLICYVIOLATION,  # Client host rejected (policy)
    "999": R.BLOCKED,  # Service refusé (IP refused)
}


_ORANGE_WORDS = ("orange.fr", "wanadoo.fr", "laposte.net", "ofr", "lpn")  # of _ORANGE_HOST


def orange(diagnostic: str, status: str, host: str) -> R | None:
    if not (search(_ORANGE_HOST, host) or search(_ORANGE_HOST, diagnostic)):
        return None
    for match in _ORANGE_CODE.finditer(diagnostic):
        reason = _ORANGE_CODES.get(match.group(1) or match.group(2))
        if reason is not None:
            return reason
    if "service refus" in diagnostic:
        return R.TOOMANYCONN  # "Service refusé": too many connections from the IP (TAXONOMY)
    return None


# SFR (sfr.fr, neuf.fr): "450 4.7.1 ... SFR_IN_xxx" blocks of about two hours for the sending
# IP, "421 4.7.0 too many errors" for its error rate (TAXONOMY provider texts).
_SFR_BLOCK = lazy_compile(r"\bsfr_in_\d+|\bsfr_(?:bl|ip)\w*")


def sfr(diagnostic: str, status: str, host: str) -> R | None:
    if search(_SFR_BLOCK, diagnostic):
        return R.BLOCKED
    if "sfr.fr" in host and "too many errors" in diagnostic:
        return R.TOOMANYCONN
    return None


# Microsoft (outlook.com, hotmail, Office 365): S3150/S3140 block lists, 4.7.650/651 reputation.
_MICROSOFT_HOST = lazy_compile(r"outlook\.com|hotmail\.|live\.com|msn\.com|protection\.outlook")
_MICROSOFT_REPUTATION = lazy_compile(r"\b[45]\.7\.(650|651)\b")
_MICROSOFT_BLOCKLIST = lazy_compile(r"\bs3(1[0-9]{2})\b|\bsc-00[1-4]\b")
_MICROSOFT_BLOCKED = lazy_compile(
    r"\b5\.7\.(606|607|608|609|610|611|612|613|614|615|616|617|618|619|620)\b"
)
_MICROSOFT_TENANT = lazy_compile(r"\b5\.7\.7\d\d\b")


def microsoft(diagnostic: str, status: str, host: str) -> R | None:
    if search(_MICROSOFT_REPUTATION, diagnostic):
        return R.BADREPUTATION
    if search(_MICROSOFT_BLOCKLIST, diagnostic) or search(_MICROSOFT_BLOCKED, diagnostic):
        return R.BLOCKED
    if "resolver.adr.recipnotfound" in diagnostic or "resolver.adr.recipientnotfound" in diagnostic:
        return R.USERUNKNOWN
    if "mailbox unavailable" in diagnostic and search(_MICROSOFT_HOST, host):
        return R.USERUNKNOWN  # Outlook.com's answer for an address that does not exist
    if "access denied" in diagnostic and search(_MICROSOFT_TENANT, diagnostic):
        return R.BLOCKED  # 5.7.7xx: tenant or IP refused ("traffic not accepted from this IP")
    return None


# Yahoo / AOL / Verizon Media: TSS04 deferrals for complaints, TSS06 permanent blocks.
_YAHOO_UNKNOWN = lazy_compile(r"this user doesn't have an? \S{1,255} account")
_YAHOO_TSB = lazy_compile(r"\btsb\d")


def yahoo(diagnostic: str, status: str, host: str) -> R | None:
    if "tss04" in diagnostic or "tss05" in diagnostic:
        return R.BADREPUTATION
    if "tss06" in diagnostic or "tss09" in diagnostic:
        return R.BLOCKED
    if search(_YAHOO_UNKNOWN, diagnostic):
        return R.USERUNKNOWN
    if "tsb" in diagnostic and _YAHOO_TSB.search(diagnostic):
        return R.BLOCKED
    return None


# Gmail: 421-4.7.28 reputation, 4.7.0 "unusual rate", 5.7.26 authentication.
_GOOGLE_REPUTATION = lazy_compile(r"\b[45]\.7\.28\b")


def google(diagnostic: str, status: str, host: str) -> R | None:
    if search(_GOOGLE_REPUTATION, diagnostic):
        return R.BADREPUTATION
    if (
        "unusual rate of unsolicited mail" in diagnostic
        or "suspicious due to the very low reputation" in diagnostic
    ):
        return R.BADREPUTATION
    return None


# Cox: "AUP#CXBL"-style codes; Spectrum/Charter: "AUP#In-1310"-style numbers.
_COX = lazy_compile(r"aup#(cx|cd|ip|rbl|bl)\w*")
_SPECTRUM = lazy_compile(r"aup#\s*(?:in|out)-?(\d{4})")


def cox_spectrum(diagnostic: str, status: str, host: str) -> R | None:
    cox = search(_COX, diagnostic)
    if cox:
        code = cox.group(0)
        if "rbl" in code or code.endswith("bl") or "ipbl" in code:
            return R.BLOCKED
        if "dns" in code:
            return R.REQUIREPTR
        return R.BLOCKED
    spectrum = search(_SPECTRUM, diagnostic)
    if spectrum:
        number = int(spectrum.group(1))
        if 1300 <= number <= 1399:
            return R.TOOMANYCONN
        if 1000 <= number <= 1099:
            return R.BLOCKED
        return R.REJECTED
    return None


# NTT docomo answers "Unknown user" to senders its users filter out; KDDI (ezweb, au) "550 :
# User unknown" after a recipient filter. With a generic status these are filters, not
# unknown addresses (a 5.1.1 still is).
def japanese_carriers(diagnostic: str, status: str, host: str) -> R | None:
    if "docomo.ne.jp" in host and status.endswith(".0.0") and "unknown user" in diagnostic:
        return R.REJECTED
    if "ezweb.ne.jp" in host or "au.com" in host:
        if diagnostic.startswith("550 : user unknown"):
            return R.FILTERED
        if ">: user unknown" in diagnostic:
            return R.USERUNKNOWN
    return None


# Facebook's MX answers with its own codes (postmaster.facebook.com/response_codes).
_FACEBOOK = lazy_compile(r"\b(rcp|msg|pol|con|dns|spm|int|blk)-([pt])(\d)\b")
_FACEBOOK_CODES: dict[str, R] = {
    "rcp-p1": R.USERUNKNOWN,  # Recipient address does not exist
    "rcp-p2": R.FILTERED,  # the recipient's preferences prevent delivery
    "rcp-p3": R.FILTERED,
    "rcp-t1": R.SUSPEND,  # the recipient's account is temporarily unavailable
    "msg-p1": R.MESGTOOBIG,
    "msg-p2": R.EXCEEDLIMIT,  # too many recipients
    "con-t1": R.TOOMANYCONN,
    "con-t2": R.TOOMANYCONN,
    "con-t3": R.SPEEDING,
    "con-t4": R.SPEEDING,
}
_FACEBOOK_FAMILIES = {"pol": R.BLOCKED, "blk": R.BLOCKED, "dns": R.REJECTED, "spm": R.SPAMDETECTED}


def facebook(diagnostic: str, status: str, host: str) -> R | None:
    if "facebook" not in host and "facebook" not in diagnostic:
        return None
    match = _FACEBOOK.search(diagnostic)
    if match is None:
        return None
    code = match.group(0)
    return _FACEBOOK_CODES.get(code) or _FACEBOOK_FAMILIES.get(match.group(1))


# GoDaddy (secureserver.net) refusals carry "IBnnn" codes.
_GODADDY = lazy_compile(r"\bib(\d{3})\b")
_GODADDY_CODES: dict[str, R] = {
    "007": R.TOOMANYCONN,  # too many sessions from this IP
    "108": R.REQUIREPTR,  # reverse DNS for this IP failed
    "212": R.SPAMDETECTED,
    "401": R.SECURITYERROR,  # authentication not allowed on the inbound MX
    "501": R.REJECTED,  # sender domain must exist
    "502": R.REJECTED,
    "504": R.TOOMANYCONN,  # too many messages in one session
    "506": R.REJECTED,  # From: domain is invalid
    "510": R.TOOMANYCONN,  # too many recipients
    "705": R.VIRUSDETECTED,
}


def godaddy(diagnostic: str, status: str, host: str) -> R | None:
    match = search(_GODADDY, diagnostic)
    if match is None or not ("secureserver.net" in host or "secureserver" in diagnostic):
        return None
    number = match.group(1)
    if number in _GODADDY_CODES:
        return _GODADDY_CODES[number]
    return R.BLOCKED if number.startswith("1") else None  # IB1xx: the sending IP is listed


# MessageLabs (Symantec) relays report their customers' refusals in a fixed form.
_MESSAGELABS_UNKNOWN = lazy_compile(r"no such user|\brejected$")


def messagelabs(diagnostic: str, status: str, host: str) -> R | None:
    if "messagelabs.com" in host and search(_MESSAGELABS_UNKNOWN, diagnostic):
        return R.USERUNKNOWN
    return None


# Tencent (qq.com): frequency limits are connection limits; Mimecast signatures are malware.
def others(diagnostic: str, status: str, host: str) -> R | None:
    if "frequency limited" in diagnostic:
        return R.TOOMANYCONN
    if "mcspamsignature" in diagnostic or "virus signature" in diagnostic:
        return R.VIRUSDETECTED
    return None


RULES: tuple[Rule, ...] = (
    orange,
    sfr,
    microsoft,
    yahoo,
    google,
    cox_spectrum,
    japanese_carriers,
    messagelabs,
    facebook,
    godaddy,
    others,
)


# Per rule, in order: the diagnostic words and the host words one of which it needs to answer
# (its literal tests and its patterns' literals: ``orange`` "ofr"/"lpn"/host names,
# ``microsoft`` ".7.65", "s31", "sc-00", "5.7.6", "5.7.7" with "access denied"...). Most
# diagnostics hold none: every rule skipped (issue 3). ``provider_reason`` given the
# diagnostic's words asks only the rules whose words are there.
_WORDS_OF_RULES: tuple[tuple[Rule, tuple[str, ...], tuple[str, ...]], ...] = (
    (orange, _ORANGE_WORDS, _ORANGE_WORDS),
    (sfr, ("sfr_",), ("sfr.fr",)),
    (
        microsoft,
        (
            ".7.65",
            "s31",
            "sc-00",
            "5.7.6",
            "resolver.adr.recip",
            "mailbox unavailable",
            "access denied",
        ),
        (),
    ),
    (yahoo, ("tss0", "this user doesn't have a", "tsb"), ()),
    (
        google,
        (
            ".7.28",
            "unusual rate of unsolicited mail",
            "suspicious due to the very low reputation",
        ),
        (),
    ),
    (cox_spectrum, ("aup#",), ()),
    (japanese_carriers, (), ("docomo.ne.jp", "ezweb.ne.jp", "au.com")),
    (messagelabs, (), ("messagelabs.com",)),
    (facebook, ("facebook",), ("facebook",)),
    (godaddy, ("secureserver",), ("secureserver",)),
    (others, ("frequency limited", "mcspamsignature", "virus signature"), ()),
)
DIAGNOSTIC_WORDS = tuple(dict.fromkeys(w for _, words, _ in _WORDS_OF_RULES for w in words))
_HOST_WORDS = tuple(dict.fromkeys(w for _, _, hosts in _WORDS_OF_RULES for w in hosts))
_RULE_WORDS = tuple(
    (rule, frozenset(words), frozenset(hosts)) for rule, words, hosts in _WORDS_OF_RULES
)


def _any_word_in(words: tuple[str, ...]) -> Callable[[str], bool]:
    """``any(word in text for word in words)`` as one expression (``w in text or ...``):
    asked of every diagnostic, the loop cost as much as the look-ups (round 4)."""
    lines = ["def any_word(text):", "    return " + " or ".join(f"{w!r} in text" for w in words)]
    return generated_function(lines, "any_word", {}, "<provider words>")


_IN_DIAGNOSTIC = _any_word_in(DIAGNOSTIC_WORDS)
_IN_HOSTS = _any_word_in(_HOST_WORDS)
_DIAGNOSTIC_SET = frozenset(DIAGNOSTIC_WORDS)


@functools.lru_cache(maxsize=1024)
def _host_words(host: str) -> frozenset[str]:
    """The host words (``_HOST_WORDS``) in ``host``: remembered per host name pair, of which
    a run meets a few (the receiving MTAs and the relays reporting for them)."""
    return frozenset(word for word in _HOST_WORDS if word in host)


def provider_reason(
    diagnostic: str, status: str, host: str, present: Set[str] | None = None
) -> R | None:
    """The reason a known provider's own code or sentence names, or None.

    ``present``, when given, holds every one of ``DIAGNOSTIC_WORDS`` that ``diagnostic``
    holds (``classify`` has found them in its one scan of the text's literals).
    """
    if present is None:
        if _IN_DIAGNOSTIC(diagnostic) or _IN_HOSTS(host):
            return each_rule(diagnostic, status, host)
        return None
    hosts = _host_words(host)
    if not hosts and _DIAGNOSTIC_SET.isdisjoint(present):
        return None
    for rule, words, host_words in _RULE_WORDS:
        if not (words.isdisjoint(present) and host_words.isdisjoint(hosts)):
            reason = rule(diagnostic, status, host)
            if reason is not None:
                return reason
    return None


def each_rule(diagnostic: str, status: str, host: str) -> R | None:
    """``provider_reason`` asking every rule in turn (what the words above only skip)."""
    for rule in RULES:
        reason = rule(diagnostic, status, host)
        if reason is not None:
            return reason
    return None
