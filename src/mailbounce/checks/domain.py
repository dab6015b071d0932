"""``check domain``: is the sender's domain set up so that providers accept its mail?

SPF (RFC 7208): exactly one ``v=spf1`` record, valid terms, at most 10 DNS-querying terms
after following ``include:`` and ``redirect=`` (§4.6.4), a restrictive ``all``, and the relay
(``checks.relay_spf``) included. DKIM (RFC 6376): a key at ``SELECTOR._domainkey.DOMAIN``.
DMARC (RFC 7489): a ``v=DMARC1`` record at ``_dmarc.DOMAIN`` and its policy. MX: replies and
bounces must reach the domain. Gmail and Yahoo require SPF or DKIM from every sender and
SPF, DKIM and DMARC from bulk senders (February 2024 rules); each missing item gets advice.
"""

from __future__ import annotations

import ipaddress
import re

from mailbounce.checks.dns import DnsUnavailable, Lookup, MailDomainChecker, MailDomainStatus
from mailbounce.checks.findings import Finding, Severity
from mailbounce.errors import MailbounceError

SPF_LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4
_BULK = "Gmail and Yahoo require it from bulk senders"
_MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
_COUNTED = frozenset({"include", "a", "mx", "ptr", "exists"})
_MODIFIER = re.compile(r"^[a-z][a-z0-9_.-]*=", re.IGNORECASE)


class CouldNotCheck(MailbounceError):
    """DNS gave no usable answer: nothing can be said (exit 1), never "all is well"."""


def _finding(code: str, severity: Severity, message: str, subject: str | None = None) -> Finding:
    return Finding(code, severity, message, rule=code.split("-", maxsplit=1)[0], subject=subject)


class _SpfWalk:
    """Follows include:/redirect= counting DNS-querying terms, collecting what was seen."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.count = 0
        self.terms: list[str] = []
        self.problems: list[str] = []
        self.visited: set[str] = set()

    def record(self, domain: str) -> list[str]:
        records = self.lookup.txt(domain) or []
        return [r for r in records if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")]

    def walk(self, domain: str, text: str) -> None:
        if domain in self.visited:
            self.problems.append(f"{domain} is included twice (a loop)")
            return
        self.visited.add(domain)
        for term in text.split()[1:]:
            self.terms.append(term.lower())
            target = self._check_term(domain, term)
            if target is not None and self.count <= SPF_LOOKUP_LIMIT:
                found = self.record(target)
                if len(found) != 1:
                    self.problems.append(f"{target} (from {domain}) has {len(found)} SPF records")
                    continue
                self.walk(target, found[0])

    def _check_term(self, domain: str, term: str) -> str | None:
        """Validate one term; return a domain to follow (include/redirect) or None."""
        if _MODIFIER.match(term):
            name, _, value = term.partition("=")
            if name.lower() == "redirect":
                self.count += 1
                return value
            return None
        body = term.lstrip("+-~?")
        name, _, value = body.partition(":")
        name = name.split("/", 1)[0].lower()
        if name not in _MECHANISMS:
            self.problems.append(f"unknown term {term!r} in {domain}")
            return None
        if name in _COUNTED:
            self.count += 1
        if name in ("ip4", "ip6"):
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                self.problems.append(f"{term!r} in {domain} is not an IP network")
        if name in ("include", "exists") and not value:
            self.problems.append(f"{term!r} in {domain} needs a domain")
        return value if name == "include" and value else None


def spf_findings(lookup: Lookup, domain: str, relay: str | None) -> list[Finding]:
    walk = _SpfWalk(lookup)
    records = walk.record(domain)
    if not records:
        return [
            _finding(
                "spf-missing",
                Severity.ERROR,
                f'no SPF record: add a TXT record at {domain} such as "v=spf1 '
                f'{relay or "include:YOUR-RELAY"} -all" ({_BULK}; without SPF or DKIM, '
                "Gmail rejects the mail)",
            )
        ]
    if len(records) > 1:
        return [
            _finding(
                "spf-multiple",
                Severity.ERROR,
                f"{len(records)} SPF records: receivers treat this as an error "
                "(RFC 7208 §4.5); merge them into one",
            )
        ]
    walk.walk(domain, records[0])
    found = [
        _finding("spf-invalid", Severity.ERROR, f"SPF: {p}", records[0]) for p in walk.problems
    ]
    if walk.count > SPF_LOOKUP_LIMIT:
        found.append(
            _finding(
                "spf-too-many-lookups",
                Severity.ERROR,
                f"SPF needs {walk.count} DNS lookups, over the limit of {SPF_LOOKUP_LIMIT} "
                "(RFC 7208 §4.6.4): receivers fail it; flatten some include: terms",
                records[0],
            )
        )
    found.extend(_spf_policy(records[0], walk.terms))
    if relay is not None and not _relay_included(relay, walk):
        found.append(
            _finding(
                "spf-relay-missing",
                Severity.ERROR,
                f"SPF does not include your relay ({relay}): add it before -all",
                records[0],
            )
        )
    return found


def _relay_included(relay: str, walk: _SpfWalk) -> bool:
    wanted = relay.lower()
    bare = wanted.removeprefix("include:")
    return wanted in walk.terms or f"include:{bare}" in walk.terms or bare in walk.visited


def _spf_policy(record: str, terms: list[str]) -> list[Finding]:
    own = [t.lower() for t in record.split()[1:]]
    alls = [t for t in own if t.lstrip("+-~?") == "all"]
    if any(t in ("+all", "all") for t in alls):
        return [
            _finding(
                "spf-allows-all",
                Severity.ERROR,
                "SPF ends with +all: anyone may send as your domain; use -all or ~all",
                record,
            )
        ]
    if not alls and not any(t.startswith("redirect=") for t in own):
        return [
            _finding(
                "spf-no-all",
                Severity.WARNING,
                "SPF has no final -all or ~all: mail from elsewhere is neither failed nor "
                "softfailed",
                record,
            )
        ]
    if "ptr" in {t.lstrip("+-~?").split(":")[0] for t in terms}:
        return [
            _finding(
                "spf-ptr",
                Severity.WARNING,
                "SPF uses ptr, which RFC 7208 §5.5 says not to use",
                record,
            )
        ]
    return []


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for item in record.split(";"):
        name, eq, value = item.partition("=")
        if eq:
            tags[name.strip().lower()] = value.strip()
    return tags


def dmarc_findings(lookup: Lookup, domain: str) -> list[Finding]:
    name = f"_dmarc.{domain}"
    records = [
        r for r in lookup.txt(name) or [] if r.replace(" ", "").upper().startswith("V=DMARC1")
    ]
    if not records:
        return [
            _finding(
                "dmarc-missing",
                Severity.WARNING,
                f"no DMARC record: add a TXT record at {name} such as "
                f'"v=DMARC1; p=none; rua=mailto:dmarc@{domain}" ({_BULK})',
            )
        ]
    if len(records) > 1:
        return [
            _finding(
                "dmarc-multiple",
                Severity.ERROR,
                f"{len(records)} DMARC records at {name}: keep one",
            )
        ]
    policy = _tags(records[0]).get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return [
            _finding(
                "dmarc-invalid",
                Severity.ERROR,
                f"DMARC record without a valid policy (p=none|quarantine|reject): {records[0]}",
                records[0],
            )
        ]
    if policy == "none":
        return [
            _finding(
                "dmarc-policy-none",
                Severity.INFO,
                "DMARC policy p=none: monitoring only (enough for Gmail and Yahoo's bulk rules)",
                records[0],
            )
        ]
    return []


def dkim_findings(lookup: Lookup, domain: str, selector: str | None) -> list[Finding]:
    if not selector:
        return [
            _finding(
                "dkim-not-checked",
                Severity.INFO,
                "DKIM not checked: give --dkim-selector (your relay's documentation names it)",
            )
        ]
    name = f"{selector}._domainkey.{domain}"
    records = lookup.txt(name) or []
    keys = [r for r in records if "p=" in r.replace(" ", "")]
    if not keys:
        return [
            _finding(
                "dkim-missing",
                Severity.ERROR,
                f"no DKIM key at {name}: publish the key your relay gives you ({_BULK}; "
                "without SPF or DKIM, Gmail rejects the mail)",
            )
        ]
    if not _tags(keys[0]).get("p"):
        return [
            _finding(
                "dkim-revoked",
                Severity.ERROR,
                f"the DKIM key at {name} is empty (revoked, RFC 6376 §3.6.1)",
                keys[0],
            )
        ]
    return []


def mx_findings(checker: MailDomainChecker, domain: str) -> list[Finding]:
    verdict = checker.check(domain)
    if verdict.status is MailDomainStatus.UNKNOWN:
        raise CouldNotCheck(f"{domain}: DNS gave no answer ({verdict.detail})")
    if verdict.status is MailDomainStatus.INVALID:
        return [
            _finding(
                "mx-missing",
                Severity.WARNING,
                f"{domain} cannot receive mail ({verdict.detail}): replies and bounces to "
                "your From address are lost, and some receivers refuse such senders",
            )
        ]
    return []


def domain_findings(
    checker: MailDomainChecker, domain: str, *, dkim_selector: str | None, relay: str | None
) -> list[Finding]:
    """All findings for a sender domain; raises ``CouldNotCheck`` when DNS does not answer."""
    domain = domain.strip().lower().rstrip(".")
    lookup = checker.lookup
    try:
        return [
            *spf_findings(lookup, domain, relay),
            *dkim_findings(lookup, domain, dkim_selector),
            *dmarc_findings(lookup, domain),
            *mx_findings(checker, domain),
        ]
    except DnsUnavailable as exc:
        raise CouldNotCheck(f"{domain}: {exc}") from None
