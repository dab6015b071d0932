"""smtp.py against a real aiosmtpd server: replies, reuse, 421, lost connections, TLS, AUTH."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from smtp_testserver import ScriptedServer, free_port

from mailbounce.config import Secret
from mailbounce.errors import SmtpSetupError, UsageError
from mailbounce.smtp import Result, SmtpClient, Stage
from mailbounce.smtp_settings import SmtpSettings, TlsMode, parse_smtp_url
from mailbounce.smtp_wire import wire_data

MESSAGE = b"From: a@asso.example\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello\r\n.dot line\r\n"
CANARY = "canary-PASSWORD-8d1f"


def plain(server: ScriptedServer, **kw: object) -> SmtpClient:
    settings = SmtpSettings("127.0.0.1", server.port, tls=TlsMode.NONE, timeout=10, **kw)  # type: ignore[arg-type]
    return SmtpClient(settings)


def noop() -> None:
    return None


@pytest.mark.parametrize("pipelining", [False, True])
def test_accepted_and_connection_reused(pipelining: bool) -> None:
    with ScriptedServer(pipelining=pipelining) as server:
        client = plain(server)
        calls: list[str] = []
        for n in range(3):
            result = client.send(
                "a@asso.example", f"r{n}@example.org", MESSAGE, lambda: calls.append("in_flight")
            )
            assert result.result is Result.ACCEPTED and result.code == 250
        client.close()
        assert calls == ["in_flight"] * 3
        assert server.handler.sessions == 1
        assert [m.rcpt_tos for m in server.received] == [(f"r{n}@example.org",) for n in range(3)]
        assert server.received[0].data.endswith(b"\r\n.dot line\r\n")


def test_bare_lf_never_on_the_wire() -> None:
    message = b"Subject: x\n\nline one\nline two\rline three\r\n.\n"
    with ScriptedServer() as server:
        client = plain(server)
        assert (
            client.send("a@asso.example", "b@example.org", message, noop).result is Result.ACCEPTED
        )
        client.close()
        data = server.received[0].data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert data == b"Subject: x\r\n\r\nline one\r\nline two\r\nline three\r\n.\r\n"


def test_wire_data_stuffs_dots_and_terminates() -> None:
    assert wire_data(b".a\r\nb") == b"..a\r\nb\r\n.\r\n"


@pytest.mark.parametrize(
    ("step", "stage", "code"),
    [
        (
            "rcpt:550 5.1.1 <x@example.org>: Recipient address rejected: User unknown",
            Stage.RCPT,
            550,
        ),
        ("rcpt:452 4.2.2 Mailbox full", Stage.RCPT, 452),
        ("rcpt:451 4.7.1 Greylisted, please try again later", Stage.RCPT, 451),
        ("data:552 5.3.4 Message size exceeds fixed limit", Stage.END_OF_DATA, 552),
        ("data:554 5.7.1 Message rejected as spam", Stage.END_OF_DATA, 554),
    ],
)
@pytest.mark.parametrize("pipelining", [False, True])
def test_refusals_keep_the_connection(step: str, stage: Stage, code: int, pipelining: bool) -> None:
    with ScriptedServer({"x@example.org": [step]}, pipelining=pipelining) as server:
        client = plain(server)
        client.open()
        assert client._smtp is not None and client._smtp.has_extn("pipelining") is pipelining
        refused = client.send("a@asso.example", "x@example.org", MESSAGE, noop)
        assert (refused.result, refused.stage, refused.code) == (Result.REFUSED, stage, code)
        assert refused.reply.startswith(str(code))
        # RSET, then the same connection serves the next recipient.
        ok = client.send("a@asso.example", "y@example.org", MESSAGE, noop)
        assert ok.result is Result.ACCEPTED
        client.close()
        assert server.handler.sessions == 1
        assert [m.rcpt_tos for m in server.received] == [("y@example.org",)]


def test_greylisted_then_accepted_on_retry() -> None:
    script = {"g@orange.fr": ["rcpt:451 4.7.1 Greylisted, please try again later", "accept"]}
    with ScriptedServer(script) as server:
        client = plain(server)
        assert client.send("a@asso.example", "g@orange.fr", MESSAGE, noop).code == 451
        assert client.send("a@asso.example", "g@orange.fr", MESSAGE, noop).result is Result.ACCEPTED
        client.close()


@pytest.mark.parametrize("pipelining", [False, True])
def test_421_closes_and_next_send_reconnects(pipelining: bool) -> None:
    script = {"x@example.org": ["rcpt_close:421 4.7.0 Too many connections, closing"]}
    with ScriptedServer(script, pipelining=pipelining) as server:
        client = plain(server)
        refused = client.send("a@asso.example", "x@example.org", MESSAGE, noop)
        assert (refused.result, refused.code) == (Result.REFUSED, 421)
        assert not client.connected
        assert (
            client.send("a@asso.example", "y@example.org", MESSAGE, noop).result is Result.ACCEPTED
        )
        client.close()
        assert server.handler.sessions == 2


def test_connection_lost_before_the_final_dot() -> None:
    big = MESSAGE + b"x" * 998 + b"\r\n" * 1 + (b"y" * 900 + b"\r\n") * 25_000
    with ScriptedServer({"x@example.org": ["drop_at_data"]}, data_size_limit=64_000_000) as server:
        client = plain(server)
        result = client.send("a@asso.example", "x@example.org", big, noop)
        assert result.result in (Result.LOST_BEFORE_DOT, Result.LOST_AFTER_DOT)
        assert result.result is Result.LOST_BEFORE_DOT, result
        assert server.received == []


def test_connection_lost_after_the_dot_is_uncertain() -> None:
    with ScriptedServer({"x@example.org": ["drop_after_dot"]}) as server:
        client = plain(server)
        result = client.send("a@asso.example", "x@example.org", MESSAGE, noop)
        assert (result.result, result.stage) == (Result.LOST_AFTER_DOT, Stage.END_OF_DATA)
        assert len(server.received) == 1  # the server does have it: hence "uncertain"


def test_sender_refused_is_a_session_error() -> None:
    class Handler:
        async def handle_MAIL(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            return "553 5.7.1 Sender address rejected: not owned by user"

    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        client = SmtpClient(SmtpSettings("127.0.0.1", port, tls=TlsMode.NONE))
        with pytest.raises(SmtpSetupError, match="refuses the sender"):
            client.send("a@asso.example", "b@example.org", MESSAGE, noop)
    finally:
        controller.stop()


def test_connection_refused_is_a_setup_error() -> None:
    client = SmtpClient(SmtpSettings("127.0.0.1", free_port(), tls=TlsMode.NONE))
    with pytest.raises(SmtpSetupError, match="cannot connect: connection refused"):
        client.open()


def test_starttls_required_by_default() -> None:
    with ScriptedServer() as server:
        client = SmtpClient(SmtpSettings("127.0.0.1", server.port))
        with pytest.raises(SmtpSetupError, match="does not offer STARTTLS"):
            client.open()


def test_starttls_with_private_ca(tls_server_context: ssl.SSLContext, ca_file: Path) -> None:
    with ScriptedServer(tls_context=tls_server_context, require_starttls=True) as server:
        trusted = SmtpClient(SmtpSettings("127.0.0.1", server.port, ca_file=ca_file))
        assert (
            trusted.send("a@asso.example", "b@example.org", MESSAGE, noop).result is Result.ACCEPTED
        )
        trusted.close()
        untrusted = SmtpClient(SmtpSettings("127.0.0.1", server.port))
        with pytest.raises(SmtpSetupError, match=r"not trusted.*--ca-file"):
            untrusted.open()


def test_implicit_tls(tls_server_context: ssl.SSLContext, ca_file: Path) -> None:
    with ScriptedServer(ssl_context=tls_server_context) as server:
        client = SmtpClient(
            SmtpSettings("127.0.0.1", server.port, tls=TlsMode.TLS, ca_file=ca_file)
        )
        assert (
            client.send("a@asso.example", "b@example.org", MESSAGE, noop).result is Result.ACCEPTED
        )
        client.close()


def test_auth_and_canary_password_never_shown(
    tls_server_context: ssl.SSLContext, ca_file: Path
) -> None:
    with ScriptedServer(
        tls_context=tls_server_context, require_starttls=True, credentials={"news": CANARY}
    ) as server:
        good = SmtpSettings(
            "127.0.0.1", server.port, user="news", password=Secret(CANARY), ca_file=ca_file
        )
        assert CANARY not in repr(good)
        client = SmtpClient(good)
        assert CANARY not in repr(client)
        assert (
            client.send("a@asso.example", "b@example.org", MESSAGE, noop).result is Result.ACCEPTED
        )
        client.close()
        bad = SmtpSettings(
            "127.0.0.1", server.port, user="news", password=Secret(CANARY + "x"), ca_file=ca_file
        )
        with pytest.raises(SmtpSetupError) as info:
            SmtpClient(bad).open()
        assert "authentication as news refused: 535" in str(info.value)
        text = (
            str(info.value)
            + repr(info.value)
            + repr(info.value.__cause__)
            + repr(info.value.__context__)
        )
        assert CANARY not in text


def test_user_without_password_is_a_setup_error(
    tls_server_context: ssl.SSLContext, ca_file: Path
) -> None:
    with ScriptedServer(tls_context=tls_server_context, credentials={"news": CANARY}) as server:
        settings = SmtpSettings("127.0.0.1", server.port, user="news", ca_file=ca_file)
        with pytest.raises(SmtpSetupError, match="MAILBOUNCE_SMTP_PASSWORD"):
            SmtpClient(settings).open()


@pytest.mark.parametrize(
    ("url", "tls", "expected"),
    [
        ("smtp://relay.example", None, ("relay.example", 587, TlsMode.STARTTLS)),
        ("smtps://relay.example", None, ("relay.example", 465, TlsMode.TLS)),
        ("smtp://127.0.0.1:2525", TlsMode.NONE, ("127.0.0.1", 2525, TlsMode.NONE)),
        ("relay.example:25", TlsMode.NONE, ("relay.example", 25, TlsMode.NONE)),
        ("smtp://relay.example", TlsMode.TLS, ("relay.example", 465, TlsMode.TLS)),
    ],
)
def test_parse_smtp_url(url: str, tls: TlsMode | None, expected: tuple[str, int, TlsMode]) -> None:
    assert parse_smtp_url(url, tls) == expected


@pytest.mark.parametrize(
    "url", ["http://x", "smtp://", "smtp://u:p@relay.example", "smtp://h:99999"]
)
def test_parse_smtp_url_errors(url: str) -> None:
    with pytest.raises(UsageError, match="--smtp"):
        parse_smtp_url(url)


@pytest.fixture(autouse=True)
def _no_stray_threads() -> Iterator[None]:
    yield


@given(st.binary(max_size=2000))
def test_wire_data_never_has_bare_line_endings(message: bytes) -> None:
    data = wire_data(message)
    assert data.endswith(b"\r\n.\r\n")
    body = data[:-3]
    assert b"\n" not in body.replace(b"\r\n", b"") and b"\r" not in body.replace(b"\r\n", b"")
    # What the server reads back (dots un-stuffed, RFC 5321 §4.5.2) is the message with
    # CRLF line endings, plus a final CRLF when it had none.
    lines = body.split(b"\r\n")[:-1]
    unstuffed = b"".join((line[1:] if line.startswith(b".") else line) + b"\r\n" for line in lines)
    normalised = message.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if not normalised.endswith(b"\r\n"):
        normalised += b"\r\n"
    assert unstuffed == normalised
