"""Can a domain receive mail? MX, the A/AAAA fallback, null MX; one query per domain, cached.

RFC 5321 §5.1: mail goes to the MX hosts, or, when the domain has no MX record at all, to
its address record. RFC 7505: a single MX of preference 0 and exchange ``.`` ("null MX")
means the domain accepts no mail. NXDOMAIN means there is no such domain. A timeout or a
SERVFAIL proves nothing: the verdict is "unknown", never "valid".
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

# dnspython costs ~0.1 s to import: loaded by the first query, so `check addresses` without
# --dns and `check content` never pay for it.
if TYPE_CHECKING:
    import dns.resolver

DEFAULT_TIMEOUT = 5.0
DEFAULT_WORKERS = 16


class MailDomainStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DomainVerdict:
    domain: str
    status: MailDomainStatus
    detail: str
    mx: tuple[str, ...] = ()


class DnsUnavailable(Exception):
    """A query got no usable answer (timeout, SERVFAIL, no name server): nothing is known."""


def make_resolver(
    nameservers: Iterable[str] | None = None, port: int = 53, timeout: float = DEFAULT_TIMEOUT
) -> dns.resolver.Resolver:
    """A resolver: the system's, or the given name servers (tests, or ``checks.dns_servers``)."""
    import dns.resolver

    if nameservers is None:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(nameservers)
        resolver.port = port
    resolver.lifetime = timeout
    resolver.timeout = min(timeout, 2.0)
    return resolver


class Lookup:
    """DNS answers as plain values; raises ``DnsUnavailable`` when nothing can be known."""

    def __init__(self, resolver: dns.resolver.Resolver | None = None) -> None:
        self.resolver = resolver if resolver is not None else make_resolver()

    def records(self, name: str, rdtype: str) -> list[str] | None:
        """The records' texts; None when the name does not exist (NXDOMAIN); [] when it
        exists without records of this type."""
        import dns.exception
        import dns.name
        import dns.resolver

        try:
            qname = dns.name.from_text(name.rstrip(".") + ".")
            answer = self.resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return None
        except dns.resolver.NoNameservers as exc:
            raise DnsUnavailable(f"no server answered for {name} {rdtype} (SERVFAIL)") from exc
        except dns.exception.Timeout as exc:
            raise DnsUnavailable(f"timeout asking {name} {rdtype}") from exc
        except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
            raise DnsUnavailable(f"{name} {rdtype}: {exc}") from exc
        if answer.rrset is None:
            return []
        return [_text(rdata) for rdata in answer.rrset]

    def txt(self, name: str) -> list[str] | None:
        return self.records(name, "TXT")


def _text(rdata: object) -> str:
    strings = getattr(rdata, "strings", None)
    if strings is not None:  # TXT: the character-strings joined (RFC 7208 §3.3)
        return b"".join(strings).decode("utf-8", errors="replace")
    return str(rdata)


def _mx_hosts(records: list[str]) -> list[tuple[int, str]]:
    hosts = []
    for record in records:
        preference, _, exchange = record.partition(" ")
        hosts.append((int(preference), exchange.strip()))
    return sorted(hosts)


class MailDomainChecker:
    """Verdicts per domain, each domain queried once (thread-safe cache), many at a time."""

    def __init__(
        self, resolver: dns.resolver.Resolver | None = None, *, workers: int = DEFAULT_WORKERS
    ) -> None:
        self.lookup = Lookup(resolver)
        self.workers = workers
        self._cache: dict[str, DomainVerdict] = {}
        self._lock = threading.Lock()
        self._pending: dict[str, threading.Event] = {}

    def check(self, domain: str) -> DomainVerdict:
        key = domain.strip().lower().rstrip(".")
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            event = self._pending.get(key)
            owner = event is None
            if owner:
                event = self._pending[key] = threading.Event()
        assert event is not None
        if not owner:
            event.wait()
            return self._cache[key]
        try:
            verdict = self._decide(key)
        except Exception as exc:  # a resolver bug must not pass for a verdict either way
            verdict = DomainVerdict(key, MailDomainStatus.UNKNOWN, f"lookup failed: {exc}")
        with self._lock:
            self._cache[key] = verdict
            del self._pending[key]
        event.set()
        return verdict

    def check_many(self, domains: Iterable[str]) -> dict[str, DomainVerdict]:
        """Verdicts for distinct domains, queried concurrently; keyed by the given names."""
        unique = list(dict.fromkeys(d for d in domains if d))
        if not unique:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.workers, len(unique))) as pool:
            verdicts = list(pool.map(self.check, unique))
        return dict(zip(unique, verdicts, strict=True))

    def _decide(self, domain: str) -> DomainVerdict:
        try:
            mx = self.lookup.records(domain, "MX")
        except DnsUnavailable as exc:
            return DomainVerdict(domain, MailDomainStatus.UNKNOWN, str(exc))
        if mx is None:
            return DomainVerdict(domain, MailDomainStatus.INVALID, "no such domain (NXDOMAIN)")
        if mx:
            hosts = _mx_hosts(mx)
            if len(hosts) == 1 and hosts[0][1] == ".":
                return DomainVerdict(
                    domain,
                    MailDomainStatus.INVALID,
                    "the domain accepts no mail (null MX, RFC 7505)",
                )
            names = tuple(host.rstrip(".") for _, host in hosts if host != ".")
            return DomainVerdict(domain, MailDomainStatus.VALID, "MX", names)
        return self._address_fallback(domain)

    def _address_fallback(self, domain: str) -> DomainVerdict:
        """No MX at all: RFC 5321 §5.1 delivers to the domain's own address record."""
        try:
            for rdtype in ("A", "AAAA"):
                if self.lookup.records(domain, rdtype):
                    return DomainVerdict(
                        domain, MailDomainStatus.VALID, f"no MX; delivered to its {rdtype} record"
                    )
        except DnsUnavailable as exc:
            return DomainVerdict(domain, MailDomainStatus.UNKNOWN, str(exc))
        return DomainVerdict(
            domain, MailDomainStatus.INVALID, "no MX and no address record: cannot receive mail"
        )
