"""check campaign: addresses, content and sender domain together; exit 0, 3 or 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dns_server import FixtureDnsServer
from typer.testing import CliRunner

from mailbounce.checks import Severity, check_campaign, check_content, has_errors
from mailbounce.cli import app
from mailbounce.config import load_config

MX = {"MX": ["10 mx.club.example."]}
ZONE = {
    "club.example": {
        **MX,
        "TXT": ['"v=spf1 mx -all"'],
    },
    "_dmarc.club.example": {"TXT": ['"v=DMARC1; p=quarantine"']},
    "members.example": MX,
    "laposte.net": MX,
}


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureDnsServer]:
    with FixtureDnsServer(ZONE, servfail=["broken.example"]) as srv:
        yield srv


def _campaign(tmp_path: Path, *, members: str, html: str, sender: str = "club.example") -> Path:
    (tmp_path / "members.csv").write_text("email;prenom\n" + members)
    (tmp_path / "lettre.html").write_text(html)
    (tmp_path / "lettre.txt").write_text("Bonjour {{ first_name }}\n")
    path = tmp_path / "campaign.yaml"
    path.write_text(
        f'name: test\nfrom: "Club <news@{sender}>"\nsubject: Nouvelles\n'
        "text: lettre.txt\nhtml: lettre.html\nlists: [members.csv]\n"
        "list_unsubscribe: {mailto: stop@club.example}\n"
    )
    return path


def _config(tmp_path: Path, server: FixtureDnsServer) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"checks:\n  dns_servers: [127.0.0.1]\n  dns_port: {server.port}\n")
    return path


def _run(tmp_path: Path, server: FixtureDnsServer, campaign: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            *("--config", str(_config(tmp_path, server)), "--db", str(tmp_path / "m.db")),
            *("check", "campaign", "-f", "jsonl", str(campaign)),
        ],
    )
    return result.exit_code, result.stdout


CLEAN_HTML = '<p>Bonjour, <a href="https://club.example/agenda">agenda</a></p>'


def test_clean_campaign_exits_zero(tmp_path: Path, server: FixtureDnsServer) -> None:
    campaign = _campaign(tmp_path, members="a@members.example;A\n", html=CLEAN_HTML)
    code, out = _run(tmp_path, server, campaign)
    assert code == 0, out
    assert '"dkim-not-checked"' in out  # info only
    assert not (tmp_path / "m.db").exists()


def test_laposte_net_makes_http_an_error(tmp_path: Path, server: FixtureDnsServer) -> None:
    html = '<p><a href="http://club.example/agenda">agenda</a></p>'
    campaign = _campaign(
        tmp_path, members="a@members.example;A\nb@laposte.net;B\nc@gmial.com;C\n", html=html
    )
    code, _ = _run(tmp_path, server, campaign)
    assert code == 3

    report = check_campaign(campaign, config=load_config(_config(tmp_path, server)))
    assert has_errors(report.findings)
    http = [f for f in report.findings if f.code == "http-link"]
    assert [(f.severity, f.rule, f.provider) for f in http] == [
        (Severity.ERROR, "no-http-links", "laposte.net")
    ]
    assert any(f.code == "typo" and "c@gmail.com" in f.message for f in report.findings)
    assert any(f.code == "greylisting" for f in report.findings)
    # check content on the campaign file reads the lists too
    assert [f.severity for f in check_content(campaign)] == [Severity.ERROR]


def test_dns_unavailable_means_could_not_check(tmp_path: Path, server: FixtureDnsServer) -> None:
    campaign = _campaign(
        tmp_path, members="a@members.example;A\n", html=CLEAN_HTML, sender="broken.example"
    )
    code, _ = _run(tmp_path, server, campaign)
    assert code == 1


def test_without_dns_no_query_is_made(tmp_path: Path, server: FixtureDnsServer) -> None:
    campaign = _campaign(tmp_path, members="a@members.example;A\n", html=CLEAN_HTML)
    before = sum(server.queries.values())
    report = check_campaign(campaign, dns=False)
    assert sum(server.queries.values()) == before
    assert report.findings == [] and report.unchecked == []


def test_campaign_parts_from_a_caller(tmp_path: Path) -> None:
    """``send`` builds the parts from its own campaign object (no YAML file)."""
    from mailbounce.checks import CampaignParts, MessageContent

    members = tmp_path / "m.txt"
    members.write_text("a@gmial.com\n")
    message = MessageContent("spec", '<a href="http://x.example/">x</a>', None, tmp_path)
    report = check_campaign(
        CampaignParts((members,), message, "Club <news@club.example>"), dns=False
    )
    codes = sorted(f.code for f in report.findings)
    assert codes == ["http-link", "missing-text-part", "missing-unsubscribe", "typo"]
