"""8BITMIME (RFC 6152): UTF-8 bodies go unencoded to a relay that offers it, QP otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from smtp_testserver import ScriptedHandler, ScriptedServer

from mailbounce.campaign import CampaignOptions
from mailbounce.campaign_loading import load_campaign
from mailbounce.compose_body import encode_body
from mailbounce.sending import SendOptions, send_campaign
from mailbounce.smtp_settings import TlsMode

FRENCH = "Chers adhérents, l'assemblée générale aura lieu à la salle des fêtes.\n"


class _Recording(ScriptedHandler):
    """Records MAIL FROM parameters; with ``offer_8bit`` False hides 8BITMIME from EHLO."""

    offer_8bit = True
    mail_options: list[list[str]]

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        responses = await super().handle_EHLO(server, session, envelope, hostname, responses)
        if not self.offer_8bit:
            responses = [r for r in responses if "8BITMIME" not in r.upper()]
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mail_options.append(list(options))
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"


def server_with(offer_8bit: bool) -> ScriptedServer:
    server = ScriptedServer(decode_data=False)
    handler = _Recording()
    handler.offer_8bit = offer_8bit
    handler.mail_options = []
    server.handler = handler
    server.controller.handler = handler
    return server


def send_one(tmp_path: Path, server: ScriptedServer, body: str) -> None:
    (tmp_path / "members.csv").write_text("email,first_name\nann@example.org,Anne\n", "utf-8")
    (tmp_path / "news.txt").write_text("Bonjour {{ first_name }},\n" + body, "utf-8")
    options = CampaignOptions(
        name="nov",
        lists=[tmp_path / "members.csv"],
        from_addr="Asso <news@asso.example>",
        subject="Nouvelles",
        text=tmp_path / "news.txt",
        smtp=f"smtp://127.0.0.1:{server.port}",
        tls=TlsMode.NONE,
    )
    send_campaign(tmp_path / "mb.db", load_campaign(options), SendOptions(check_dns=False))


def test_utf8_body_goes_8bit_with_body_parameter_when_offered(tmp_path: Path) -> None:
    with server_with(offer_8bit=True) as server:
        send_one(tmp_path, server, FRENCH * 40)
        (message,) = server.received
        options = server.handler.mail_options  # type: ignore[attr-defined]
    head, _, body = message.data.partition(b"\r\n\r\n")
    assert b"Content-Transfer-Encoding: 8bit" in head
    assert FRENCH.replace("\n", "\r\n").encode("utf-8") in body
    assert options == [["BODY=8BITMIME"]]
    assert b"\n" not in body.replace(b"\r\n", b"")  # CRLF only, no bare LF


def test_relay_without_8bitmime_gets_7bit_quoted_printable(tmp_path: Path) -> None:
    with server_with(offer_8bit=False) as server:
        send_one(tmp_path, server, FRENCH * 40)
        (message,) = server.received
        options = server.handler.mail_options  # type: ignore[attr-defined]
    assert b"Content-Transfer-Encoding: quoted-printable" in message.data
    assert message.data.isascii()
    assert options == [[]]


def test_ascii_body_needs_no_body_parameter(tmp_path: Path) -> None:
    with server_with(offer_8bit=True) as server:
        send_one(tmp_path, server, "Plain news.\n")
        (message,) = server.received
        options = server.handler.mail_options  # type: ignore[attr-defined]
    assert b"Content-Transfer-Encoding: 7bit" in message.data
    assert options == [[]]


@pytest.mark.parametrize(
    ("text", "eight_bit", "expected"),
    [
        (FRENCH, True, "8bit"),
        (FRENCH, False, "quoted-printable"),
        ("plain ascii\n", True, "7bit"),
        # 998 octets per line at most (RFC 5322 §2.1.1): 500 "é" are 1000 octets.
        ("é" * 500 + "\n", True, "base64"),
        ("a" * 996 + "éé\n", True, "quoted-printable"),  # 1000 octets
        ("a" * 994 + "éé\n", True, "8bit"),  # exactly 998 octets
    ],
)
def test_encode_body_chooses_8bit_only_within_line_limits(
    text: str, eight_bit: bool, expected: str
) -> None:
    encoding, encoded = encode_body(text, "=_mb_x", eight_bit=eight_bit)
    assert encoding == expected
    if encoding == "8bit":
        assert encoded == text.replace("\n", "\r\n")
        assert max(len(line.encode()) for line in encoded.split("\r\n")) <= 998
