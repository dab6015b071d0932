"""The sandbox SMTP server, over real sockets with smtplib."""

from __future__ import annotations

import mailbox
import smtplib
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from mailbounce.errors import ConfigError
from mailbounce.sandbox import (
    DEFAULT_RULES,
    REPLY_GREYLISTED,
    SandboxEvent,
    SandboxRule,
    SandboxServer,
    behaviour_for,
)

SENDER = "bounces+abc@asso.example"
MESSAGE = b"From: a@asso.example\r\nMessage-ID: <m1@asso.example>\r\nSubject: t\r\n\r\nBonjour\r\n"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def client(server: SandboxServer) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", server.port, timeout=10)
    smtp.ehlo("client.example")
    return smtp


def rcpt_reply(server: SandboxServer, recipient: str, sender: str = SENDER) -> tuple[int, str]:
    smtp = client(server)
    try:
        smtp.mail(sender)
        code, text = smtp.rcpt(recipient)
        return code, text.decode()
    finally:
        smtp.quit()


def send(server: SandboxServer, recipient: str, data: bytes = MESSAGE) -> tuple[int, str]:
    smtp = client(server)
    try:
        smtp.mail(SENDER)
        code, text = smtp.rcpt(recipient)
        if code != 250:
            return code, text.decode()
        code, text = smtp.data(data)
        return code, text.decode()
    except smtplib.SMTPDataError as exc:
        return exc.smtp_code, exc.smtp_error.decode()
    finally:
        smtp.close()


@pytest.mark.parametrize(
    ("address", "behaviour"),
    [
        ("jean@orange.fr", "greylist"),
        ("jean@WANADOO.fr", "greylist"),
        ("jean@free.fr", "greylist"),
        ("jean@freebox.fr", "accept"),
        ("inconnu.martin@orange.fr", "unknown_user"),
        ("Unknown@gmail.com", "unknown_user"),
        ("plein@sfr.fr", "mailbox_full"),
        ("full@example.com", "mailbox_full"),
        ("plein.air@sfr.fr", "accept"),
        ("spam@yahoo.fr", "spam"),
        ("later@gmail.com", "bounce_later"),
        ("retour@free.fr", "bounce_later"),
        ("jean@gmail.com", "accept"),
    ],
)
def test_default_rules(address: str, behaviour: str) -> None:
    assert behaviour_for(address, DEFAULT_RULES) == behaviour


def test_rules_first_match_wins_and_patterns() -> None:
    rules = [
        SandboxRule("vip@orange.fr", "accept"),
        SandboxRule("orange.fr", "greylist"),
        SandboxRule("*@*.example", "spam"),
    ]
    assert behaviour_for("vip@orange.fr", rules) == "accept"
    assert behaviour_for("VIP@Orange.FR", rules) == "accept"
    assert behaviour_for("x@orange.fr", rules) == "greylist"
    assert behaviour_for("x@asso.example", rules) == "spam"
    assert behaviour_for("x@example", rules) == "accept"


def test_unknown_behaviour_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown sandbox behaviour 'bounce'"):
        SandboxRule("x.fr", "bounce")


def test_accepts_and_records_the_exact_bytes(sandbox: SandboxServer) -> None:
    assert send(sandbox, "jean@gmail.com") == (250, "2.0.0 Ok: queued as 000001")
    [received] = sandbox.received
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("jean@gmail.com",)
    assert received.data == MESSAGE
    assert received.peer == "127.0.0.1"
    assert received.message_id == "<m1@asso.example>"


def test_greylisting_first_attempt_then_accepted(sandbox: SandboxServer) -> None:
    assert rcpt_reply(sandbox, "jean@orange.fr") == (451, REPLY_GREYLISTED[4:])
    assert rcpt_reply(sandbox, "jean@orange.fr") == (250, "2.1.5 Ok")
    # A new triplet (another envelope sender) is greylisted anew.
    assert rcpt_reply(sandbox, "jean@orange.fr", sender="other@asso.example")[0] == 451


def test_greylisting_waits_the_configured_delay() -> None:
    with SandboxServer(greylist_delay=3600) as server:
        assert rcpt_reply(server, "jean@free.fr")[0] == 451
        assert rcpt_reply(server, "jean@free.fr")[0] == 451


def test_unknown_user_and_full_mailbox(sandbox: SandboxServer) -> None:
    assert rcpt_reply(sandbox, "inconnu.dupont@laposte.net") == (
        550,
        "5.1.1 <inconnu.dupont@laposte.net>: Recipient address rejected: "
        "User unknown in virtual mailbox table",
    )
    assert rcpt_reply(sandbox, "plein@sfr.fr") == (452, "4.2.2 Mailbox full")
    assert sandbox.received == []


def test_spam_is_refused_at_the_end_of_data(sandbox: SandboxServer) -> None:
    assert send(sandbox, "spam@yahoo.fr") == (554, "5.7.1 Message rejected as spam")
    assert sandbox.received == []
    [event] = sandbox.events
    assert (event.stage, event.recipient, event.reply) == (
        "DATA",
        "spam@yahoo.fr",
        "554 5.7.1 Message rejected as spam",
    )


def test_bounce_later_is_accepted_and_recorded(sandbox: SandboxServer) -> None:
    assert send(sandbox, "later@gmail.com")[0] == 250
    assert send(sandbox, "jean@gmail.com")[0] == 250
    [later] = sandbox.later_bounces
    assert later.recipient == "later@gmail.com"
    assert later.mail_from == SENDER
    assert later.message_id == "<m1@asso.example>"
    assert later.data == MESSAGE
    assert len(sandbox.received) == 2


def test_disconnect_at_rcpt() -> None:
    with SandboxServer(rules=[SandboxRule("d.example", "disconnect")]) as server:
        smtp = client(server)
        smtp.mail(SENDER)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.rcpt("x@d.example")
        assert server.received == []


def test_disconnect_after_data_keeps_the_message() -> None:
    with SandboxServer(rules=[SandboxRule("d.example", "disconnect_after_data")]) as server:
        smtp = client(server)
        smtp.mail(SENDER)
        assert smtp.rcpt("x@d.example")[0] == 250
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.data(MESSAGE)
        assert [m.rcpt_tos for m in server.received] == [("x@d.example",)]


def test_tempfail_421_replies_then_closes() -> None:
    with SandboxServer(rules=[SandboxRule("busy.example", "tempfail_421")]) as server:
        smtp = client(server)
        smtp.mail(SENDER)
        code, text = smtp.rcpt("x@busy.example")
        assert (code, text) == (421, b"4.3.2 Service not available, closing transmission channel")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.mail(SENDER)
            smtp.rcpt("y@gmail.com")


def test_events_and_callback() -> None:
    seen: list[SandboxEvent] = []
    with SandboxServer(on_event=seen.append) as server:
        rcpt_reply(server, "inconnu@x.fr")
        send(server, "jean@gmail.com")
    assert [(e.stage, e.recipient, e.reply[:3]) for e in seen] == [
        ("RCPT", "inconnu@x.fr", "550"),
        ("DATA", "jean@gmail.com", "250"),
    ]
    assert seen == server.events


def test_maildir_copy(tmp_path: Path) -> None:
    with SandboxServer(maildir=tmp_path / "Maildir") as server:
        send(server, "jean@gmail.com")
    [message] = list(mailbox.Maildir(tmp_path / "Maildir"))
    assert message["Return-Path"] == f"<{SENDER}>"
    assert message["X-Sandbox-Recipients"] == "jean@gmail.com"
    assert message["Message-ID"] == "<m1@asso.example>"


def test_free_ports_url_restart_and_reset() -> None:
    with SandboxServer() as one, SandboxServer() as two:
        assert one.port != two.port
        assert one.url == f"smtp://127.0.0.1:{one.port}"
        send(one, "a@gmail.com")
        one.reset()
        assert one.received == []
    one.start()
    try:
        assert send(one, "b@gmail.com")[0] == 250
    finally:
        one.stop()


def test_busy_port_is_a_config_error(sandbox: SandboxServer) -> None:
    with pytest.raises(ConfigError, match="cannot listen"):
        SandboxServer(port=sandbox.port).start()


def test_port_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = SandboxServer().port


def test_concurrent_clients_are_all_recorded(sandbox: SandboxServer) -> None:
    def worker(number: int) -> None:
        smtp = client(sandbox)
        for index in range(10):
            smtp.sendmail(SENDER, [f"w{number}.{index}@gmail.com"], MESSAGE)
        smtp.quit()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sandbox.received) == 40
    assert len({m.rcpt_tos for m in sandbox.received}) == 40


# -- TLS and AUTH -----------------------------------------------------------------------------


def contexts(ca: trustme.CA) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


def test_starttls_required(ca: trustme.CA) -> None:
    server_context, client_context = contexts(ca)
    with SandboxServer(tls_context=server_context, require_starttls=True) as server:
        smtp = client(server)
        assert smtp.has_extn("starttls")
        assert smtp.mail(SENDER)[0] == 530
        smtp.starttls(context=client_context)
        smtp.ehlo("client.example")
        smtp.sendmail(SENDER, ["jean@gmail.com"], MESSAGE)
        smtp.quit()
        assert len(server.received) == 1


def test_auth_plain_over_loopback() -> None:
    with SandboxServer(auth={"asso": "canary-password"}) as server:
        smtp = client(server)
        assert smtp.mail(SENDER)[0] == 530
        smtp.rset()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("asso", "wrong")
        smtp.login("asso", "canary-password")
        smtp.sendmail(SENDER, ["jean@gmail.com"], MESSAGE)
        smtp.quit()
        assert len(server.received) == 1


def test_auth_needs_tls_when_tls_is_offered(ca: trustme.CA) -> None:
    server_context, client_context = contexts(ca)
    with SandboxServer(tls_context=server_context, auth={"asso": "pw"}) as server:
        smtp = client(server)
        assert not smtp.has_extn("auth")
        smtp.starttls(context=client_context)
        smtp.ehlo("client.example")
        assert smtp.has_extn("auth")
        smtp.login("asso", "pw")
        smtp.sendmail(SENDER, ["jean@gmail.com"], MESSAGE)
        smtp.quit()


def test_implicit_tls(ca: trustme.CA) -> None:
    server_context, client_context = contexts(ca)
    with SandboxServer(tls_context=server_context, implicit_tls=True) as server:
        smtp = smtplib.SMTP_SSL("127.0.0.1", server.port, context=client_context, timeout=10)
        smtp.sendmail(SENDER, ["jean@gmail.com"], MESSAGE)
        smtp.quit()
        assert len(server.received) == 1


def test_implicit_tls_needs_a_context() -> None:
    with pytest.raises(ConfigError, match="TLS context"):
        SandboxServer(implicit_tls=True)


def test_composed_messages_arrive_intact(sandbox: SandboxServer) -> None:
    """compose → SMTP → sandbox: the wire carries CRLF only and the bytes survive."""
    from mailbounce.compose import MessageSpec, MessageTemplate

    template = MessageTemplate(
        MessageSpec(
            from_addr="Asso <a@asso.example>",
            subject="Bonjour {{ first_name }}",
            text=".\nUne ligne qui commence par un point.\n.\nÉté\r\n",
            html="<p>Été</p>\n",
        ),
        columns=(),
        domain="asso.example",
    )
    data = template.render(
        address="jean@gmail.com",
        fields={"first_name": "Jérôme"},
        message_id="<m@asso.example>",
        token=None,
        campaign="c",
    )
    smtp = client(sandbox)
    smtp.sendmail(SENDER, ["jean@gmail.com"], data)
    smtp.quit()
    [received] = sandbox.received
    assert received.data == data
    assert b"\n" not in received.data.replace(b"\r\n", b"")
    assert b"\r" not in received.data.replace(b"\r\n", b"")
