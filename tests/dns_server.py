"""A real DNS server on 127.0.0.1 (UDP and TCP, one free port) for tests, built with dnspython.

It serves a fixture zone given as ``{name: {rdtype: [record text, ...]}}``. Names listed in
``servfail`` answer SERVFAIL, names in ``drop`` get no answer at all (the client times out),
any other name absent from the zone is NXDOMAIN, and a present name without the asked type
gets an empty NOERROR answer. Queries are counted per (name, type) so tests can check
caching.

Tests ask it through ``resolver()``: it waits long for what the server answers and briefly
for what it drops. One short timeout for both (0.5 s) made a loaded machine's late answer
a "could not tell" (``domain-unknown``) now and then: a test's timing, not the product's
verdict (a timeout is "unknown", never "no mail", in ``checks.dns``).
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset

Zone = Mapping[str, Mapping[str, Sequence[str]]]

# How long a test's resolver waits for an answer the server gives (costs nothing when it
# comes), and for a query the server drops (nothing will come).
ANSWER_SECONDS = 30.0
DROPPED_SECONDS = 0.3


class FixtureDnsServer:
    def __init__(
        self,
        zone: Zone,
        *,
        servfail: Iterable[str] = (),
        drop: Iterable[str] = (),
        delay: float = 0.0,
    ) -> None:
        self.zone = {_key(name): dict(types) for name, types in zone.items()}
        self.delay = delay  # seconds before each answer: a loaded machine's server
        self.servfail = {_key(name) for name in servfail}
        self.drop = {_key(name) for name in drop}
        self.queries: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self.port = 0
        self._servers: list[socketserver.BaseServer] = []

    # -- answering -----------------------------------------------------------------------
    def answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = _key(question.name.to_text())
        rdtype = dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.queries[(name, rdtype)] += 1
        if self.delay:
            time.sleep(self.delay)
        if name in self.drop:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.zone:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            records = self.zone[name].get(rdtype, [])
            if records:
                rrset = dns.rrset.from_text_list(question.name, 300, "IN", rdtype, list(records))
                response.answer.append(rrset)
        return response.to_wire()

    def resolver(self) -> dns.resolver.Resolver:
        """A resolver asking this server: one try per query (the counts stay exact),
        ``ANSWER_SECONDS`` for it, ``DROPPED_SECONDS`` for the names it drops."""
        resolver = _Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.timeout = resolver.lifetime = ANSWER_SECONDS
        resolver.dropped = frozenset(self.drop)
        return resolver

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> FixtureDnsServer:
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                reply = server.answer(data)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                header = _recv_exact(self.request, 2)
                if header is None:
                    return
                data = _recv_exact(self.request, struct.unpack("!H", header)[0])
                if data is None:
                    return
                reply = server.answer(data)
                if reply is not None:
                    self.request.sendall(struct.pack("!H", len(reply)) + reply)

        for _ in range(50):
            udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
            port = udp.server_address[1]
            try:
                tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), Tcp)
            except OSError:
                udp.server_close()
                continue
            break
        else:
            raise RuntimeError("no free port for the test DNS server")
        self.port = port
        for srv in (udp, tcp):
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self._servers.append(srv)
        return self

    def stop(self) -> None:
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        self._servers.clear()

    def __enter__(self) -> FixtureDnsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Resolver(dns.resolver.Resolver):
    """Gives up on a dropped name after ``DROPPED_SECONDS``: a real timeout of dnspython's
    (what the product sees of a silent server), without waiting ``ANSWER_SECONDS``."""

    dropped: frozenset[str] = frozenset()

    def resolve(  # type: ignore[override]
        self, qname: dns.name.Name | str, *args: object, **kwargs: object
    ) -> dns.resolver.Answer:
        if _key(str(qname)) in self.dropped:
            kwargs["lifetime"] = DROPPED_SECONDS
        return super().resolve(qname, *args, **kwargs)  # type: ignore[arg-type]


def _key(name: str) -> str:
    return dns.name.from_text(name.rstrip(".") + ".").to_text().lower()


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
