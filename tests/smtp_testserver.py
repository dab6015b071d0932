"""A programmable aiosmtpd server for the send tests (real sockets, real SMTP dialogue).

Replies are scripted per recipient address: ``script["a@x"] = ["rcpt:451 4.7.1 Greylisted",
"accept"]`` makes the first attempt get 451 at RCPT and the second be accepted. Actions:

- ``accept``: 250 at RCPT and at the end of DATA (recorded in ``received``);
- ``rcpt:<reply>`` / ``data:<reply>``: that reply at RCPT / at the end of DATA;
- ``rcpt_close:<reply>``: that reply at RCPT, then the server closes the connection (421);
- ``drop_after_dot``: the data is received (recorded) and the connection closed, no reply;
- ``drop_at_data``: the server closes the connection right after its 354.

Unscripted recipients are accepted. ``received`` holds every accepted message with its
raw bytes as they arrived (line endings untouched) so tests can look for bare LF.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ScriptedHandler:
    script: dict[str, list[str]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sessions: int = 0
    pipelining: bool = False  # advertise RFC 2920 PIPELINING (aiosmtpd reads commands in order)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _action(self, address: str, consume: bool) -> str:
        with self.lock:
            steps = self.script.get(address.lower())
            index = self.attempts[address.lower()]
            if consume:
                self.attempts[address.lower()] += 1
        if not steps:
            return "accept"
        return steps[min(index, len(steps) - 1)]

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        with self.lock:
            self.sessions += 1
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Sequence[str]
    ) -> str:
        action = self._action(address, consume=True)
        if action.startswith("rcpt:"):
            return action[5:]
        if action.startswith("rcpt_close:"):
            asyncio.get_running_loop().call_soon(server.transport.close)
            return action[len("rcpt_close:") :]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        session.action = action
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        action = getattr(session, "action", "accept")
        if action.startswith("data:"):
            return action[5:]
        message = Received(
            envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content)
        )
        with self.lock:
            self.received.append(message)
        if action == "drop_after_dot":
            server.transport.close()
            return "250 never seen"
        return "250 2.0.0 Ok: queued"


class ScriptedServer:
    """An aiosmtpd Controller on 127.0.0.1 with a ``ScriptedHandler``; a context manager."""

    def __init__(self, script: Mapping[str, list[str]] | None = None, **smtp_kwargs: Any) -> None:
        self.handler = ScriptedHandler(
            script={k.lower(): v for k, v in (script or {}).items()},
            pipelining=smtp_kwargs.pop("pipelining", False),
        )
        self.port = free_port()
        authenticator = None
        self.credentials: dict[str, str] = smtp_kwargs.pop("credentials", {})
        if self.credentials:
            authenticator = self._authenticate
            smtp_kwargs.setdefault("auth_required", True)
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            **smtp_kwargs,
        )
        self.controller.factory = self._factory  # type: ignore[method-assign]

    def _factory(self) -> Any:
        from aiosmtpd.smtp import SMTP

        class _Server(SMTP):  # type: ignore[misc]
            async def smtp_DATA(self, arg: str) -> None:
                if getattr(self.session, "action", None) == "drop_at_data":
                    await self.push("354 End data with <CR><LF>.<CR><LF>")
                    self.transport.close()
                    return
                await super().smtp_DATA(arg)

        return _Server(self.handler, **self.controller.SMTP_kwargs)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode()
            if self.credentials.get(user) == auth_data.password.decode():
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def __enter__(self) -> ScriptedServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
