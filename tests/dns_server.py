"""A real DNS server on 127.0.0.1 (UDP and TCP, one free port) for tests, built with dnspython.

It serves a fixture zone given as ``{name: {rdtype: [record text, ...]}}``. Names listed in
``servfail`` answer SERVFAIL, names in ``drop`` get no answer at all (the client times out),
any other name absent from the zone is NXDOMAIN, and a present name without the asked type
gets an empty NOERROR answer. Queries are counted per (name, type) so tests can check
caching.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

Zone = Mapping[str, Mapping[str, Sequence[str]]]


class FixtureDnsServer:
    def __init__(
        self, zone: Zone, *, servfail: Iterable[str] = (), drop: Iterable[str] = ()
    ) -> None:
        self.zone = {_key(name): dict(types) for name, types in zone.items()}
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
