"""check domain: SPF, DKIM, DMARC and MX of a sender domain, against a local DNS server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dns_server import FixtureDnsServer
from typer.testing import CliRunner

from mailbounce.checks import CouldNotCheck, check_domain
from mailbounce.cli import app
from mailbounce.config import load_config

MX = ["10 mx.relay.example."]
KEY = '"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"'


def _txt(text: str) -> list[str]:
    return [f'"{text}"']


ZONE: dict[str, dict[str, list[str]]] = {
    "good.example": {"MX": MX, "TXT": _txt("v=spf1 include:_spf.relay.example -all")},
    "_spf.relay.example": {"TXT": _txt("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all")},
    "_dmarc.good.example": {"TXT": _txt("v=DMARC1; p=quarantine; rua=mailto:d@good.example")},
    "mail._domainkey.good.example": {"TXT": [KEY]},
    "bare.example": {"MX": MX},
    "loose.example": {"MX": MX, "TXT": _txt("v=spf1 a mx +all")},
    "_dmarc.loose.example": {"TXT": _txt("v=DMARC1; p=none")},
    "twice.example": {"MX": MX, "TXT": _txt("v=spf1 -all") + _txt("v=spf1 mx -all")},
    "bad.example": {"TXT": _txt("v=spf1 ip4:999.1.1.1 frobnicate include: -all")},
    "_dmarc.bad.example": {"TXT": _txt("v=DMARC1; rua=mailto:x@bad.example")},
    "old._domainkey.bad.example": {"TXT": ['"v=DKIM1; p="']},
    "norelay.example": {"MX": MX, "TXT": _txt("v=spf1 mx -all")},
    "deep.example": {"MX": MX, "TXT": _txt("v=spf1 include:l1.deep.example -all")},
}
# A chain of 12 includes: over RFC 7208's limit of 10 DNS-querying terms.
for level in range(1, 13):
    ZONE[f"l{level}.deep.example"] = {"TXT": _txt(f"v=spf1 include:l{level + 1}.deep.example")}
ZONE["l13.deep.example"] = {"TXT": _txt("v=spf1 ip4:192.0.2.1 -all")}


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureDnsServer]:
    with FixtureDnsServer(ZONE, servfail=["broken.example"]) as srv:
        yield srv


def _codes(server: FixtureDnsServer, domain: str, **kwargs: object) -> list[str]:
    resolver = server.resolver()
    return [f.code for f in check_domain(domain, resolver=resolver, **kwargs)]  # type: ignore[arg-type]


@pytest.fixture
def relay_config(tmp_path: Path) -> object:
    path = tmp_path / "config.yaml"
    path.write_text("checks:\n  relay_spf: include:_spf.relay.example\n")
    return load_config(path)


def test_good_domain_is_clean(server: FixtureDnsServer, relay_config: object) -> None:
    assert _codes(server, "good.example", dkim_selector="mail", config=relay_config) == []


def test_bare_domain_gets_advice_per_missing_item(server: FixtureDnsServer) -> None:
    assert _codes(server, "bare.example", dkim_selector="mail") == [
        "spf-missing",
        "dkim-missing",
        "dmarc-missing",
    ]


def test_loose_policies(server: FixtureDnsServer) -> None:
    assert _codes(server, "loose.example") == [
        "spf-allows-all",
        "dkim-not-checked",
        "dmarc-policy-none",
    ]


def test_two_spf_records(server: FixtureDnsServer) -> None:
    assert _codes(server, "twice.example")[0] == "spf-multiple"


def test_invalid_records(server: FixtureDnsServer) -> None:
    assert _codes(server, "bad.example", dkim_selector="old") == [
        "spf-invalid",
        "spf-invalid",
        "spf-invalid",
        "dkim-revoked",
        "dmarc-invalid",
        "mx-missing",
    ]


def test_relay_missing_from_spf(server: FixtureDnsServer, relay_config: object) -> None:
    codes = _codes(server, "norelay.example", config=relay_config)
    assert "spf-relay-missing" in codes


def test_lookup_limit_of_ten(server: FixtureDnsServer) -> None:
    assert "spf-too-many-lookups" in _codes(server, "deep.example")


def test_servfail_means_could_not_check(server: FixtureDnsServer) -> None:
    with pytest.raises(CouldNotCheck):
        _codes(server, "broken.example")


def test_command_exit_codes(server: FixtureDnsServer, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"checks:\n  dns_servers: [127.0.0.1]\n  dns_port: {server.port}\n")
    runner = CliRunner()
    base = ["--config", str(config), "check", "domain", "-f", "jsonl"]
    ok = runner.invoke(app, [*base, "good.example", "--dkim-selector", "mail"])
    assert ok.exit_code == 0, ok.output
    bare = runner.invoke(app, [*base, "bare.example"])
    assert bare.exit_code == 3
    assert '"code": "spf-missing"' in bare.stdout


def test_command_could_not_check_exits_one(server: FixtureDnsServer, tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "c.yaml"
    config.write_text(f"checks:\n  dns_servers: [127.0.0.1]\n  dns_port: {server.port}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailbounce",
            "--config",
            str(config),
            "check",
            "domain",
            "broken.example",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("mailbounce: broken.example:")
    assert result.stderr.count("\n") == 1
