"""Mail-domain verdicts against a real DNS server on 127.0.0.1 (tests/dns_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dns_server import FixtureDnsServer

from mailbounce.checks.dns import MailDomainChecker, MailDomainStatus

ZONE = {
    "mx.example": {"MX": ["10 mx1.mx.example.", "20 mx2.mx.example."]},
    "aonly.example": {"A": ["192.0.2.1"]},
    "aaaaonly.example": {"AAAA": ["2001:db8::1"]},
    "nullmx.example": {"MX": ["0 ."]},
    "nothing.example": {"TXT": ['"v=spf1 -all"']},
    "bücher.example": {"MX": ["10 mx.xn--bcher-kva.example."]},
}


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureDnsServer]:
    with FixtureDnsServer(
        ZONE, servfail=["broken.example"], drop=["slow.example", "slowa.example"]
    ) as srv:
        yield srv


def _checker(server: FixtureDnsServer) -> MailDomainChecker:
    return MailDomainChecker(server.resolver())


@pytest.mark.parametrize(
    ("domain", "status"),
    [
        ("mx.example", MailDomainStatus.VALID),
        ("aonly.example", MailDomainStatus.VALID),
        ("aaaaonly.example", MailDomainStatus.VALID),
        ("nullmx.example", MailDomainStatus.INVALID),
        ("missing.example", MailDomainStatus.INVALID),
        ("nothing.example", MailDomainStatus.INVALID),
        ("broken.example", MailDomainStatus.UNKNOWN),
        ("slow.example", MailDomainStatus.UNKNOWN),
        ("bücher.example", MailDomainStatus.VALID),
    ],
)
def test_verdicts(server: FixtureDnsServer, domain: str, status: MailDomainStatus) -> None:
    assert _checker(server).check(domain).status is status


def test_mx_hosts_in_preference_order(server: FixtureDnsServer) -> None:
    verdict = _checker(server).check("mx.example")
    assert verdict.mx == ("mx1.mx.example", "mx2.mx.example")


def test_one_query_per_distinct_domain(server: FixtureDnsServer) -> None:
    checker = _checker(server)
    before = server.queries[("mx.example.", "MX")]
    verdicts = checker.check_many(["mx.example", "MX.example", "mx.example"] * 10)
    assert {v.status for v in verdicts.values()} == {MailDomainStatus.VALID}
    assert server.queries[("mx.example.", "MX")] == before + 1


def test_tcp_answers_too(server: FixtureDnsServer) -> None:
    import dns.message
    import dns.query

    query = dns.message.make_query("mx.example.", "MX")
    response = dns.query.tcp(query, "127.0.0.1", port=server.port, timeout=2)
    assert len(response.answer) == 1
