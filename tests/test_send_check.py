"""The pre-send check runs for campaigns given by options too, and says what it could not check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dns_server import FixtureDnsServer
from smtp_testserver import ScriptedServer
from typer.testing import CliRunner

from mailbounce.campaign import CampaignOptions
from mailbounce.campaign_loading import load_campaign
from mailbounce.cli import app
from mailbounce.config import load_config
from mailbounce.errors import MailbounceError
from mailbounce.sending import SendOptions, send_campaign
from mailbounce.smtp_settings import TlsMode
from mailbounce.store import Store

MX = {"MX": ["10 mx.club.example."]}
ZONE = {
    "club.example": {**MX, "TXT": ['"v=spf1 mx -all"']},
    "_dmarc.club.example": {"TXT": ['"v=DMARC1; p=quarantine"']},
    "members.example": MX,
}
UNSUBSCRIBE = "Bonjour {{ first_name }}, https://club.example/desabonnement\n"


@pytest.fixture(scope="module")
def dns() -> Iterator[FixtureDnsServer]:
    with FixtureDnsServer(ZONE, servfail=["broken.example"]) as server:
        yield server


def write_inputs(tmp_path: Path, members: str, body: str) -> None:
    (tmp_path / "members.csv").write_text("email,first_name\n" + members, "utf-8")
    (tmp_path / "news.txt").write_text(body, "utf-8")


def option_campaign(tmp_path: Path, port: int, sender: str) -> CampaignOptions:
    return CampaignOptions(
        name="nov",
        lists=[tmp_path / "members.csv"],
        from_addr=f"Club <news@{sender}>",
        subject="Nouvelles",
        text=tmp_path / "news.txt",
        smtp=f"smtp://127.0.0.1:{port}",
        tls=TlsMode.NONE,
    )


def config_for(tmp_path: Path, dns: FixtureDnsServer) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"checks:\n  dns_servers: [127.0.0.1]\n  dns_port: {dns.port}\n", "utf-8")
    return path


def states(db: Path) -> dict[str, str]:
    with Store(db) as store:
        rows = store.conn.execute("SELECT address, state FROM deliveries")
        return {row[0]: row[1] for row in rows}


def test_option_only_campaign_with_a_check_error_is_refused(tmp_path: Path) -> None:
    # La Poste rejects mail with http:// links: an error of the check, as for a campaign file.
    write_inputs(tmp_path, "ann@laposte.net,Ann\n", "Voir http://club.example/agenda\n")
    with ScriptedServer() as server:
        campaign = load_campaign(option_campaign(tmp_path, server.port, "club.example"))
        with pytest.raises(MailbounceError, match=r"does not pass the check \(1 errors.*http://"):
            send_campaign(tmp_path / "mb.db", campaign, SendOptions(check_dns=False))
        assert server.received == []
        assert states(tmp_path / "mb.db") == {}
        # --force sends anyway.
        report = send_campaign(tmp_path / "mb.db", campaign, SendOptions(force=True))
        assert report.attempted == 1 and len(server.received) == 1


def test_option_only_campaign_checks_the_sender_domain(
    tmp_path: Path, dns: FixtureDnsServer
) -> None:
    write_inputs(tmp_path, "a@members.example,A\n", UNSUBSCRIBE)
    config = load_config(config_for(tmp_path, dns))
    with ScriptedServer() as server:
        # no SPF at members.example (a sender domain without it): refused
        campaign = load_campaign(option_campaign(tmp_path, server.port, "members.example"), config)
        with pytest.raises(MailbounceError, match="SPF"):
            send_campaign(tmp_path / "mb.db", campaign, SendOptions())
        clean = load_campaign(option_campaign(tmp_path, server.port, "club.example"), config)
        report = send_campaign(tmp_path / "mb.db", clean, SendOptions())
        assert report.attempted == 1 and len(server.received) == 1
    assert dns.queries[("club.example.", "TXT")] >= 1
    assert not any("could not check" in note for note in report.notes)


def test_unchecked_dns_is_said_before_sending_not_passed_over(
    tmp_path: Path, dns: FixtureDnsServer
) -> None:
    write_inputs(tmp_path, "a@members.example,A\n", UNSUBSCRIBE)
    config = load_config(config_for(tmp_path, dns))
    said: list[str] = []
    with ScriptedServer() as server:
        campaign = load_campaign(option_campaign(tmp_path, server.port, "broken.example"), config)

        def warn(line: str) -> None:
            said.append(line)
            assert server.received == []  # said before anything is sent

        report = send_campaign(tmp_path / "mb.db", campaign, SendOptions(warn=warn))
        assert report.attempted == 1
    assert len(said) == 1 and "could not check: broken.example" in said[0]
    assert not any("could not check" in note for note in report.notes)


def test_unchecked_dns_without_a_warn_callback_lands_in_the_notes(
    tmp_path: Path, dns: FixtureDnsServer
) -> None:
    write_inputs(tmp_path, "a@members.example,A\n", UNSUBSCRIBE)
    config = load_config(config_for(tmp_path, dns))
    with ScriptedServer() as server:
        campaign = load_campaign(option_campaign(tmp_path, server.port, "broken.example"), config)
        report = send_campaign(tmp_path / "mb.db", campaign, SendOptions())
    assert any("could not check: broken.example" in note for note in report.notes)


def test_cli_says_unchecked_dns_on_stderr(tmp_path: Path, dns: FixtureDnsServer) -> None:
    write_inputs(tmp_path, "a@members.example,A\n", UNSUBSCRIBE)
    with ScriptedServer() as server:
        result = CliRunner().invoke(
            app,
            [
                *("-q", "--config", str(config_for(tmp_path, dns))),
                *("--db", str(tmp_path / "mb.db"), "send", "--campaign", "nov"),
                *("--list", str(tmp_path / "members.csv"), "--from", "news@broken.example"),
                *("--subject", "S", "--text", str(tmp_path / "news.txt")),
                *("--smtp", f"smtp://127.0.0.1:{server.port}", "--tls", "none"),
                *("--format", "csv"),
            ],
        )
        assert len(server.received) == 1
    assert result.exit_code == 0, result.output
    assert "warning: the pre-send check could not check: broken.example" in result.stderr
    assert "could not check" not in result.stdout
