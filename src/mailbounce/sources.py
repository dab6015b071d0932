"""Where bounce mail comes from: files, folders, Maildir, mbox, stdin, and IMAP.

``open_source`` turns a command-line argument into a source; every source yields
``RawMessage(source, data, size)`` lazily (``mailbounce.mailboxes`` for what is on disk or
piped in). ``ImapSource`` reads an IMAP folder over implicit TLS, ``FOLDER/UID`` as the
label. The only module importing ``imaplib``; it and ``ssl`` (~15 ms) are imported when an
IMAP folder is opened, not by every run on files or a pipe.
"""

from __future__ import annotations

import base64
import contextlib
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlsplit

from mailbounce.config import Secret, env_secret
from mailbounce.errors import MailbounceError, UsageError
from mailbounce.mailboxes import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MessageSource,
    PathSource,
    RawMessage,
    StdinSource,
    is_maildir,
    split_mbox,
)

if TYPE_CHECKING:
    import imaplib

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "ImapError",
    "ImapResume",
    "ImapSource",
    "MessageSource",
    "PathSource",
    "RawMessage",
    "StdinSource",
    "is_maildir",
    "iter_messages",
    "open_source",
    "parse_imap_url",
    "split_mbox",
]

IMAP_PASSWORD_ENV = "MAILBOUNCE_IMAP_PASSWORD"
IMAP_SCHEME = "imaps"
IMAPS_PORT = 993
# Messages fetched per IMAP FETCH: bounded memory, few round trips.
IMAP_FETCH_CHUNK = 50


class ImapError(MailbounceError):
    """The IMAP server cannot be used: connection, certificate, login or folder (exit 1)."""


# --------------------------------------------------------------------------- IMAP


@dataclass(frozen=True)
class ImapLocation:
    """``imaps://user@host[:port]/FOLDER`` parsed."""

    user: str
    host: str
    port: int
    folder: str

    @property
    def key(self) -> str:
        """The identity of the mailbox for resumption (``imap_state.mailbox``)."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def is_imap_url(text: str) -> bool:
    return text.lower().startswith(("imaps://", "imap://"))


def parse_imap_url(url: str) -> ImapLocation:
    """The parts of an ``imaps://`` URL; plain ``imap://`` is refused (credentials in clear)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != IMAP_SCHEME:
        raise UsageError(
            f"{url}: only imaps:// is supported (the password must not travel in clear)"
        )
    try:
        port = parts.port or IMAPS_PORT
    except ValueError:
        raise UsageError(f"{url}: the port is not a number") from None
    if not parts.hostname or not parts.username:
        raise UsageError(f"{url}: expected imaps://user@host[:port]/FOLDER")
    if parts.password is not None:
        raise UsageError(
            f"imaps://{parts.username}@{parts.hostname}: put the password in "
            f"{IMAP_PASSWORD_ENV}, not in the URL"
        )
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapLocation(unquote(parts.username), parts.hostname, port, folder)


@dataclass(frozen=True)
class ImapResume:
    """Where the previous run stopped in this mailbox (``imap_state``)."""

    uidvalidity: int
    last_uid: int


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): "Retours à traiter"."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _quote(name: str) -> str:
    """A folder name as an IMAP quoted string (RFC 3501 §4.3), modified UTF-7 inside."""
    encoded = imap_utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


_FETCH_UID = re.compile(rb"UID (\d+)")


class ImapSource:
    """The messages of one IMAP folder over implicit TLS, oldest UID first.

    Messages are fetched with ``BODY.PEEK[]`` so reading alone never marks them read;
    ``acknowledge`` flags them ``\\Seen`` (or moves them to ``move_to``) and must be called
    only after the store committed them. ``resume`` skips UIDs already processed unless the
    folder's UIDVALIDITY changed (RFC 3501 §2.3.1.1: UIDs were reassigned, so rescan; the
    store's UNIQUE keys keep the rescan from recording anything twice).
    """

    def __init__(
        self,
        url: str,
        *,
        password: Secret | None = None,
        ca_file: Path | None = None,
        move_to: str | None = None,
        resume: ImapResume | None = None,
        timeout: float = 60.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.location = parse_imap_url(url)
        self.label = self.location.folder
        secret = password or env_secret(IMAP_PASSWORD_ENV)
        if not secret:
            raise UsageError(
                f"{url}: set the IMAP password in the environment ({IMAP_PASSWORD_ENV})"
            )
        self._password = secret
        self._ca_file = ca_file
        self.move_to = move_to
        self.resume = resume
        self._timeout = timeout
        self._cap = max_message_bytes
        self._imap: imaplib.IMAP4_SSL | None = None
        self.uidvalidity: int | None = None

    @property
    def key(self) -> str:
        return self.location.key

    def _where(self) -> str:
        loc = self.location
        return f"imaps://{loc.user}@{loc.host}:{loc.port}"

    def connect(self) -> None:
        """Open, log in and select the folder; one-line errors for every way it fails."""
        import imaplib
        import ssl

        loc = self.location
        try:
            context = ssl.create_default_context(
                cafile=str(self._ca_file) if self._ca_file else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise ImapError(f"{self._ca_file}: cannot load the CA file: {exc}") from None
        try:
            imap = imaplib.IMAP4_SSL(loc.host, loc.port, ssl_context=context, timeout=self._timeout)
        except ssl.SSLCertVerificationError as exc:
            raise ImapError(
                f"{self._where()}: the server certificate is not trusted "
                f"({exc.verify_message}); give the CA with --imap-ca-file"
            ) from None
        except (OSError, ssl.SSLError, imaplib.IMAP4.error) as exc:
            raise ImapError(f"{self._where()}: cannot connect: {exc}") from None
        try:
            imap.login(loc.user, self._password.reveal())
        except imaplib.IMAP4.error:
            _logout(imap)
            raise ImapError(f"{self._where()}: login refused for {loc.user}") from None
        self._imap = imap
        self._refresh_capabilities(imap)
        self._select(loc.folder)

    @staticmethod
    def _refresh_capabilities(imap: imaplib.IMAP4_SSL) -> None:
        """Servers announce MOVE and UIDPLUS only once logged in (Dovecot does)."""
        import imaplib

        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            status, data = imap.capability()
            if status == "OK" and data and isinstance(data[-1], bytes):
                imap.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())

    def _select(self, folder: str) -> None:
        import imaplib

        imap = self._require()
        try:
            status, _ = imap.select(_quote(folder))
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"{self._where()}: cannot open folder {folder}: {exc}") from None
        if status != "OK":
            raise ImapError(f"{self._where()}: no folder {folder}")
        _, codes = imap.response("UIDVALIDITY")
        self.uidvalidity = int(codes[0]) if codes and codes[0] else 0

    def _require(self) -> imaplib.IMAP4_SSL:
        if self._imap is None:
            self.connect()
        assert self._imap is not None
        return self._imap

    def _start_uid(self) -> int:
        if self.resume is not None and self.resume.uidvalidity == self.uidvalidity:
            return self.resume.last_uid + 1
        return 1

    def _uids(self) -> list[int]:
        imap = self._require()
        start = self._start_uid()
        status, data = imap.uid("SEARCH", f"UID {start}:*")
        if status != "OK":
            raise ImapError(f"{self._where()}: cannot list the messages of {self.label}")
        # "n:*" always matches the highest UID, even below n (RFC 3501 §6.4.8).
        return sorted(u for u in (int(x) for x in b" ".join(data).split()) if u >= start)

    def __iter__(self) -> Iterator[RawMessage]:
        import imaplib

        uids = self._uids()
        imap = self._require()
        for first in range(0, len(uids), IMAP_FETCH_CHUNK):
            chunk = uids[first : first + IMAP_FETCH_CHUNK]
            try:
                status, data = imap.uid("FETCH", _uid_set(chunk), "(UID BODY.PEEK[])")
            except (imaplib.IMAP4.error, OSError) as exc:
                raise ImapError(f"{self._where()}: cannot fetch messages: {exc}") from None
            if status != "OK":
                raise ImapError(f"{self._where()}: cannot fetch messages of {self.label}")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                match = _FETCH_UID.search(item[0])
                if match is None:
                    continue
                body = bytes(item[1])
                yield RawMessage(
                    f"{self.label}/{int(match.group(1))}", body[: self._cap], len(body)
                )

    def acknowledge(self, uids: Sequence[int]) -> None:
        """Flag ``uids`` ``\\Seen`` or move them: call only after the store commit."""
        if not uids:
            return
        import imaplib

        imap = self._require()
        uid_set = _uid_set(sorted(uids))
        try:
            if self.move_to is None:
                imap.uid("STORE", uid_set, "+FLAGS.SILENT", "(\\Seen)")
            else:
                self._move(imap, uid_set)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise ImapError(f"{self._where()}: cannot mark processed messages: {exc}") from None

    def _move(self, imap: imaplib.IMAP4_SSL, uid_set: str) -> None:
        assert self.move_to is not None
        target = _quote(self.move_to)
        imap.uid("STORE", uid_set, "+FLAGS.SILENT", "(\\Seen)")
        if "MOVE" in imap.capabilities:  # RFC 6851
            status, data = imap.uid("MOVE", uid_set, target)
        else:
            status, data = imap.uid("COPY", uid_set, target)
            if status == "OK":
                imap.uid("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)")
                if "UIDPLUS" in imap.capabilities:  # RFC 4315: expunge only ours
                    imap.uid("EXPUNGE", uid_set)
                else:
                    imap.expunge()
        if status != "OK":
            detail = data[0].decode(errors="replace") if data and data[0] else ""
            raise ImapError(f"{self._where()}: cannot move messages to {self.move_to}: {detail}")

    def close(self) -> None:
        if self._imap is not None:
            _logout(self._imap)
            self._imap = None


def uid_of(label: str) -> int:
    """The UID of a message read from an ``ImapSource`` (its label ends in ``/UID``)."""
    return int(label.rsplit("/", 1)[1])


def _uid_set(uids: Sequence[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _logout(imap: imaplib.IMAP4_SSL) -> None:
    import imaplib

    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        imap.logout()


# --------------------------------------------------------------------------- opening


def open_source(
    spec: str,
    *,
    stdin: BinaryIO | None = None,
    imap_ca_file: Path | None = None,
    move_to: str | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> PathSource | StdinSource | ImapSource:
    """The source named by a command-line argument; a missing path fails here (exit 1).

    IMAP sources are not connected yet: the caller sets ``resume`` from the store first.
    """
    if spec == "-":
        return StdinSource(stdin if stdin is not None else sys.stdin.buffer, "-", max_message_bytes)
    if is_imap_url(spec):
        return ImapSource(
            spec, ca_file=imap_ca_file, move_to=move_to, max_message_bytes=max_message_bytes
        )
    return PathSource(spec, max_message_bytes)


def iter_messages(specs: Sequence[str], *, stdin: BinaryIO | None = None) -> Iterator[RawMessage]:
    """Every message of every source, in argument order (every path checked first).

    IMAP sources here start from the first UID; ``mailbounce.parsing`` adds resumption.
    """
    sources = [open_source(spec, stdin=stdin) for spec in specs]
    for source in sources:
        yield from source
