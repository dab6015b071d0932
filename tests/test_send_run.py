"""The send run end to end against a real aiosmtpd server (library level)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from smtp_testserver import ScriptedServer

from mailbounce.campaign import CampaignOptions
from mailbounce.campaign_loading import load_campaign
from mailbounce.errors import SmtpSetupError, TemplateError, UsageError
from mailbounce.sending import SendOptions, send_campaign
from mailbounce.smtp_settings import TlsMode
from mailbounce.store import Store
from mailbounce.store.contacts import suppression_of

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

CSV = (
    "Nom;Prénom;Adresse e-mail;Ville\r\n"
    "Martin;Ann;ann@example.org;Lyon\r\n"
    "Durand;Bob;;Paris\r\n"
    "Petit;Cid;cid@orange.fr;Nice\r\n"
    "Roux;Dan;inconnu@example.org;Metz\r\n"
    "Blanc;Eve;eve@example.org;Brest\r\n"
    "Noir;Fay;fay@example.org;Lille\r\n"
    "Vert;Gus;pas-une-adresse;Caen\r\n"
    "Martin;Ann;ANN@example.org;Lyon\r\n"
    "Gris;Hal;spam@example.org;Pau\r\n"
)

SCRIPT = {
    "cid@orange.fr": ["rcpt:451 4.7.1 Greylisted, please try again later", "accept"],
    "inconnu@example.org": [
        "rcpt:550 5.1.1 <inconnu@example.org>: Recipient address rejected: User unknown"
    ],
    "eve@example.org": ["rcpt:452 4.2.2 Mailbox full"],
    "spam@example.org": ["data:554 5.7.1 Message rejected as spam"],
}


def write_campaign(tmp_path: Path, csv_text: str = CSV) -> Path:
    (tmp_path / "members.csv").write_bytes(csv_text.encode("cp1252"))
    body = "Bonjour {{ first_name }} de {{ ville }} !\n" if csv_text is CSV else "Bonjour !\n"
    (tmp_path / "news.txt").write_text(body, "utf-8")
    return tmp_path / "members.csv"


def options(tmp_path: Path, port: int, **kw: object) -> CampaignOptions:
    values: dict[str, object] = {
        "name": "nov",
        "lists": [tmp_path / "members.csv"],
        "from_addr": "Asso <news@asso.example>",
        "subject": "Nouvelles, {{ first_name }}",
        "text": tmp_path / "news.txt",
        "smtp": f"smtp://127.0.0.1:{port}",
        "tls": TlsMode.NONE,
    }
    values.update(kw)
    return CampaignOptions(**values)  # type: ignore[arg-type]


def offline() -> SendOptions:
    """Options whose pre-send check stays off the network (tests never touch DNS)."""
    return SendOptions(check_dns=False)


def at(moment: datetime) -> SendOptions:
    return SendOptions(check_dns=False, now=lambda: moment)


def states(db_path: Path) -> dict[str, str]:
    with Store(db_path) as store:
        rows = store.conn.execute("SELECT address, state FROM deliveries ORDER BY id")
        return {row[0]: row[1] for row in rows}


# What the first run against SCRIPT leaves, with or without PIPELINING.
FIRST_RUN_STATES = {
    "ann@example.org": "sent",
    "cid@orange.fr": "deferred",
    "inconnu@example.org": "failed",
    "eve@example.org": "deferred",
    "fay@example.org": "sent",
    "pas-une-adresse": "skipped",
    "spam@example.org": "failed",
}


def test_send_then_retry_greylisted(tmp_path: Path, db_path: Path) -> None:
    write_campaign(tmp_path)
    with ScriptedServer(SCRIPT) as server:
        campaign = load_campaign(options(tmp_path, server.port, concurrency=2))
        report = send_campaign(db_path, campaign, at(T0))
        assert states(db_path) == FIRST_RUN_STATES
        assert report.failed_by_reason == {"userunknown": 1, "spamdetected": 1}
        assert report.skipped_by_cause == {"invalid": 1, "no_address": 1, "duplicate": 1}
        assert report.deferred_by_reason == {"greylisted": 1, "mailboxfull": 1}
        assert report.next_attempt_at == "2026-11-20T10:05:00+00:00"
        assert report.attempted == 6 and len(report.outcomes) == 6
        # Hard bounce suppressed; spam (content) not.
        with Store(db_path) as store:
            assert suppression_of(store, "inconnu@example.org") is not None
            assert suppression_of(store, "spam@example.org") is None
        bodies = {m.rcpt_tos[0]: m.data for m in server.received}
        assert b"Bonjour Ann de Lyon" in bodies["ann@example.org"]
        # Too early: nothing is due, nothing is sent.
        early = send_campaign(db_path, campaign, at(T0 + timedelta(minutes=1)))
        assert early.attempted == 0
        # Due: the greylisted recipient is accepted; the full mailbox is deferred again.
        later = send_campaign(db_path, campaign, at(T0 + timedelta(minutes=6)))
        assert later.attempted == 2
        assert states(db_path)["cid@orange.fr"] == "sent"
        assert states(db_path)["eve@example.org"] == "deferred"
        assert later.next_attempt_at == "2026-11-20T10:16:00+00:00"  # doubled: 10 minutes
        received = [m.rcpt_tos[0] for m in server.received]
        assert sorted(received) == ["ann@example.org", "cid@orange.fr", "fay@example.org"]


def test_gives_up_after_the_give_up_delay(tmp_path: Path, db_path: Path) -> None:
    write_campaign(tmp_path, "email\r\neve@example.org\r\n")
    with ScriptedServer({"eve@example.org": ["rcpt:452 4.2.2 Mailbox full"]}) as server:
        campaign = load_campaign(options(tmp_path, server.port))
        send_campaign(db_path, campaign, at(T0))
        send_campaign(db_path, campaign, at(T0 + timedelta(days=6)))
    assert states(db_path) == {"eve@example.org": "expired"}


def test_limit_and_resume(tmp_path: Path, db_path: Path) -> None:
    rows = "".join(f"p{n}@example.org\r\n" for n in range(10))
    write_campaign(tmp_path, "email\r\n" + rows)
    with ScriptedServer() as server:
        campaign = load_campaign(options(tmp_path, server.port, concurrency=3))
        first = send_campaign(db_path, campaign, SendOptions(check_dns=False, limit=4))
        assert first.attempted == 4 and first.states == {"sent": 4, "pending": 6}
        second = send_campaign(db_path, campaign, offline())
        assert second.attempted == 6 and second.states == {"sent": 10}
        third = send_campaign(db_path, campaign, offline())
        assert third.attempted == 0
        assert len(server.received) == 10


def test_changed_message_is_refused_unless_forced(tmp_path: Path, db_path: Path) -> None:
    write_campaign(tmp_path, "email\r\na@example.org\r\n")
    with ScriptedServer() as server:
        send_campaign(
            db_path,
            load_campaign(options(tmp_path, server.port)),
            SendOptions(check_dns=False, limit=0),
        )
        changed = load_campaign(options(tmp_path, server.port, subject="Autre sujet"))
        with pytest.raises(UsageError, match="different message: the subject changed"):
            send_campaign(db_path, changed, offline())
        # Harmless: a different rate or concurrency.
        faster = load_campaign(options(tmp_path, server.port, concurrency=4))
        report = send_campaign(db_path, faster, offline())
        assert any("concurrency: 1 → 4" in note for note in report.notes)
        assert send_campaign(db_path, changed, SendOptions(force=True)).attempted == 0


def test_unknown_template_variable_stops_before_anything(tmp_path: Path, db_path: Path) -> None:
    write_campaign(tmp_path)
    (tmp_path / "news.txt").write_text("Bonjour {{ prenomm }}\n", "utf-8")
    with ScriptedServer() as server:
        with pytest.raises(TemplateError, match="prenomm"):
            send_campaign(db_path, load_campaign(options(tmp_path, server.port)), offline())
        assert server.received == []
    with Store(db_path) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0


def test_relay_down_marks_nothing_failed(tmp_path: Path, db_path: Path) -> None:
    write_campaign(tmp_path, "email\r\na@example.org\r\nb@example.org\r\n")
    from smtp_testserver import free_port

    campaign = load_campaign(options(tmp_path, free_port(), concurrency=2))
    with pytest.raises(SmtpSetupError, match="connection refused"):
        send_campaign(db_path, campaign, offline())
    assert set(states(db_path).values()) == {"pending"}


def test_421_backs_off_the_domain(tmp_path: Path, db_path: Path) -> None:
    rows = "a1@orange.fr\r\na2@orange.fr\r\na3@orange.fr\r\nb@example.org\r\n"
    write_campaign(tmp_path, "email\r\n" + rows)
    script = {"a1@orange.fr": ["rcpt_close:421 4.7.0 Too many connections"]}
    with ScriptedServer(script) as server:
        send_campaign(db_path, load_campaign(options(tmp_path, server.port)), at(T0))
        assert [m.rcpt_tos[0] for m in server.received] == ["b@example.org"]
    assert states(db_path) == {
        "a1@orange.fr": "deferred",
        "a2@orange.fr": "deferred",
        "a3@orange.fr": "deferred",
        "b@example.org": "sent",
    }


def test_lost_after_dot_is_uncertain_and_not_resent(tmp_path: Path, db_path: Path) -> None:
    write_campaign(tmp_path, "email\r\nu@example.org\r\n")
    with ScriptedServer({"u@example.org": ["drop_after_dot", "accept"]}) as server:
        campaign = load_campaign(options(tmp_path, server.port))
        report = send_campaign(db_path, campaign, offline())
        assert report.uncertain == 1
        assert send_campaign(db_path, campaign, offline()).attempted == 0
        resend = send_campaign(
            db_path, campaign, SendOptions(check_dns=False, resend_uncertain=True)
        )
        assert resend.attempted == 1
        assert len(server.received) == 2  # the resend duplicates, as asked
    assert states(db_path) == {"u@example.org": "sent"}


def test_dry_run_sends_and_writes_nothing(tmp_path: Path, db_path: Path) -> None:
    write_campaign(tmp_path)
    with ScriptedServer() as server:
        report = send_campaign(
            db_path,
            load_campaign(options(tmp_path, server.port)),
            SendOptions(check_dns=False, dry_run=True),
        )
        assert server.received == []
    assert report.states == {"would_send": 6}
    assert report.skipped_by_cause == {"no_address": 1, "invalid": 1, "duplicate": 1}
    assert states(db_path) == {}


def test_forgotten_people_are_not_reimported_nor_sent(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailbounce.models import SuppressionCause
    from mailbounce.people import forget_key
    from mailbounce.store.contacts import suppress

    secret = "test-secret-0123456789abcdef"
    monkeypatch.setenv("MAILBOUNCE_TRACKING_SECRET", secret)
    write_campaign(tmp_path, "email\r\nann@example.org\r\nfay@example.org\r\n")
    with Store(db_path) as store, store.transaction() as conn:
        suppress(conn, forget_key(secret, "fay@example.org"), SuppressionCause.FORGOTTEN)
    with ScriptedServer() as server:
        report = send_campaign(db_path, load_campaign(options(tmp_path, server.port)), offline())
        assert [m.rcpt_tos for m in server.received] == [("ann@example.org",)]
    assert report.skipped_by_cause == {"forgotten": 1}
    with Store(db_path) as store:
        contacts = [r[0] for r in store.conn.execute("SELECT address FROM contacts")]
    assert contacts == ["ann@example.org"]
    # Without the secret the hash cannot be matched: refuse rather than mail them again.
    monkeypatch.delenv("MAILBOUNCE_TRACKING_SECRET")
    from mailbounce.errors import ConfigError

    with pytest.raises(ConfigError, match="1 forgotten people"):
        send_campaign(db_path, load_campaign(options(tmp_path, 1)), offline())


def test_check_refuses_a_campaign_file_with_errors(tmp_path: Path, db_path: Path) -> None:
    from mailbounce.errors import MailbounceError

    write_campaign(tmp_path, "email\r\nann@laposte.net\r\n")
    # La Poste rejects mail with http:// links: an error for `mailbounce check`.
    (tmp_path / "news.txt").write_text("Voir http://asso.example/agenda\n", encoding="utf-8")
    (tmp_path / "campaign.yaml").write_text(
        "name: checked\nfrom: news@asso.example\nsubject: S\ntext: news.txt\n"
        "lists: [members.csv]\nsmtp: {url: 'smtp://127.0.0.1:1', tls: none}\n",
        encoding="utf-8",
    )
    campaign = load_campaign(CampaignOptions(campaign_file=tmp_path / "campaign.yaml"))
    with pytest.raises(MailbounceError, match=r"does not pass the check \(1 errors.*http://"):
        send_campaign(db_path, campaign, SendOptions(check_dns=False))
    assert states(db_path) == {}
    # --force skips the check (and then meets the closed port: nothing marked failed).
    with pytest.raises(SmtpSetupError):
        send_campaign(db_path, campaign, SendOptions(force=True))
    assert states(db_path) == {"ann@laposte.net": "pending"}


def test_limit_zero_sends_nothing(tmp_path: Path, db_path: Path) -> None:
    write_campaign(tmp_path, "email\r\nann@example.org\r\n")
    with ScriptedServer() as server:
        report = send_campaign(
            db_path,
            load_campaign(options(tmp_path, server.port)),
            SendOptions(check_dns=False, limit=0),
        )
        assert report.attempted == 0 and server.received == []
    assert states(db_path) == {"ann@example.org": "pending"}


@pytest.mark.parametrize(
    ("step", "state", "reason", "party", "suppressed"),
    [
        (
            "rcpt:550 5.1.1 <x@example.org>: User unknown",
            "failed",
            "userunknown",
            "recipient",
            True,
        ),
        (
            "rcpt:550 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org",
            "failed",
            "blocked",
            "sender",
            False,
        ),
        (
            "rcpt:550 5.7.1 Message rejected due to policy",
            "failed",
            "policyviolation",
            "content",
            False,
        ),
        ("data:554 5.7.1 Message rejected as spam", "failed", "spamdetected", "content", False),
        ("data:552 5.2.2 Mailbox full", "deferred", "mailboxfull", "recipient", False),
        ("rcpt:452 4.2.2 Mailbox full", "deferred", "mailboxfull", "recipient", False),
        (
            "rcpt:451 4.7.1 Greylisted, please try again later",
            "deferred",
            "greylisted",
            "remote",
            False,
        ),
        ("rcpt_close:421 4.7.0 Too many connections", "deferred", "toomanyconn", "sender", False),
        ("drop_at_data", "deferred", "networkerror", "remote", False),
    ],
)
def test_each_reply_is_classified(
    tmp_path: Path, db_path: Path, step: str, state: str, reason: str, party: str,
    suppressed: bool,
) -> None:  # fmt: skip
    write_campaign(tmp_path, "email\r\nx@example.org\r\n")
    if step == "drop_at_data":  # big enough that writing it fails once the server is gone
        (tmp_path / "news.txt").write_text(("x" * 70 + "\n") * 300_000, encoding="utf-8")
    with ScriptedServer({"x@example.org": [step]}) as server:
        send_campaign(db_path, load_campaign(options(tmp_path, server.port)), at(T0))
    with Store(db_path) as store:
        row = store.conn.execute("SELECT state, reason, party FROM deliveries").fetchone()
        assert tuple(row) == (state, reason, party)
        assert (suppression_of(store, "x@example.org") is not None) is suppressed
