"""Campaign definitions: YAML file keys, options, precedence, and clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mailbounce.campaign import CampaignOptions, DomainLimit
from mailbounce.campaign_changes import definition_changes
from mailbounce.campaign_loading import load_campaign
from mailbounce.config import Config
from mailbounce.errors import ConfigError, InputError, UsageError
from mailbounce.smtp_settings import TlsMode

ROOT = Path(__file__).resolve().parent.parent


def test_examples_campaign_file() -> None:
    campaign = load_campaign(CampaignOptions(campaign_file=ROOT / "examples" / "campaign.yaml"))
    assert campaign.name == "lettre-novembre-2026"
    assert campaign.lists == (ROOT / "examples" / "members.csv",)
    assert (campaign.smtp.host, campaign.smtp.port, campaign.smtp.tls) == (
        "127.0.0.1",
        2525,
        TlsMode.NONE,
    )
    assert campaign.concurrency == 2
    assert campaign.retry.first == timedelta(minutes=5)
    assert campaign.message.text and "{{" in campaign.message.text
    assert campaign.message.list_unsubscribe_url.startswith("https://")  # type: ignore[union-attr]
    assert campaign.bounce_domain == "retours.amis-du-moulin.example"
    assert campaign.envelope_from == "lettre@amis-du-moulin.example"


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "m.csv").write_text("email\na@example.org\n", encoding="utf-8")
    (tmp_path / "t.txt").write_text("Bonjour\n", encoding="utf-8")
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\nfrom: a@asso.example\nsubject: S\ntext: t.txt\nlists: [m.csv]\n" + text,
        encoding="utf-8",
    )
    return path


def test_options_override_file_and_file_overrides_config(tmp_path: Path) -> None:
    path = write(tmp_path, "smtp: {url: 'smtp://relay.example'}\nsending: {concurrency: 3}\n")
    config = Config(
        data={
            "sending": {
                "concurrency": 5,
                "rate": 2,
                "domains": {"Orange.fr": {"concurrency": 1, "rate": 1}},
            }
        }
    )
    campaign = load_campaign(CampaignOptions(campaign_file=path), config)
    assert campaign.concurrency == 3 and campaign.rate == 2.0
    assert campaign.domains == {"orange.fr": DomainLimit(concurrency=1, rate=1.0)}
    assert (campaign.smtp.port, campaign.smtp.tls) == (587, TlsMode.STARTTLS)
    forced = load_campaign(CampaignOptions(campaign_file=path, concurrency=8, tls=TlsMode.TLS))
    assert forced.concurrency == 8 and forced.smtp.port == 465


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        ("smtp: {url: 'smtp://r.example', password: x}\n", ConfigError, "never write the SMTP"),
        ("smtp: {url: 'smtp://r.example', tls: maybe}\n", ConfigError, "starttls, tls or none"),
        ("smtp: {url: 'smtp://r.example'}\nsending: {concurrency: 0}\n", UsageError, "≥ 1"),
        (
            "smtp: {url: 'smtp://r.example'}\nsending: {retry_after: soon}\n",
            UsageError,
            "retry_after: invalid duration",
        ),
        (
            "smtp: {url: 'smtp://r.example'}\nsending: {domains: {orange.fr: 1}}\n",
            ConfigError,
            "sending.domains.orange.fr must be a mapping",
        ),
        ("", UsageError, "--smtp"),
    ],
)
def test_errors_name_the_key(
    tmp_path: Path, extra: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        load_campaign(CampaignOptions(campaign_file=write(tmp_path, extra)))


def test_missing_list_and_template_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "smtp: {url: 'smtp://r.example'}\n")
    (tmp_path / "m.csv").unlink()
    with pytest.raises(InputError, match=r"m\.csv: no such list file"):
        load_campaign(CampaignOptions(campaign_file=path))
    with pytest.raises(InputError, match=r"nope\.txt: no such template file"):
        load_campaign(CampaignOptions(campaign_file=path, lists=[path], text=tmp_path / "nope.txt"))


def test_password_file_must_be_private(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    path = write(tmp_path, "smtp: {url: 'smtp://r.example', user: u, password_file: pw}\n")
    with pytest.raises(ConfigError, match="readable by others"):
        load_campaign(CampaignOptions(campaign_file=path))
    secret.chmod(0o600)
    campaign = load_campaign(CampaignOptions(campaign_file=path))
    assert campaign.smtp.password is not None and campaign.smtp.password.reveal() == "s3cret"
    assert "s3cret" not in repr(campaign)


def test_definition_changes_split_content_from_transport(tmp_path: Path) -> None:
    path = write(tmp_path, "smtp: {url: 'smtp://r.example'}\n")
    before = load_campaign(CampaignOptions(campaign_file=path)).stored_settings()
    after = load_campaign(
        CampaignOptions(campaign_file=path, subject="Autre", concurrency=4)
    ).stored_settings()
    unsafe, harmless = definition_changes(before, after)
    assert unsafe == ["the subject changed"]
    assert harmless == ["concurrency: 1 → 4"]


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "smtp: {url: 'smtp://r.example'}\nsubjet: typo\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: unknown key 'subjet' \(known: columns, from"):
        load_campaign(CampaignOptions(campaign_file=path))
