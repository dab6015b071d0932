"""Where bounce mail comes from: mbox, Maildir, message files and folders, stdin, IMAP.

Every source yields ``RawMessage(source, data)`` lazily, in a stable order, so a 1 GB
mailbox never sits in memory: an mbox is split line by line (RFC 4155), a folder is walked
file by file, an IMAP folder is fetched a few messages at a time. ``source`` is the label in
records: the path as reached from the argument (``path#N`` for the N-th message of an mbox),
or ``FOLDER/UID`` for IMAP. The only module importing ``imaplib``.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import os
import re
import ssl
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol
from urllib.parse import unquote, urlsplit

from mailbounce.config import Secret, env_secret
from mailbounce.errors import InputError, MailbounceError, UsageError

IMAP_PASSWORD_ENV = "MAILBOUNCE_IMAP_PASSWORD"
IMAP_SCHEME = "imaps"
IMAPS_PORT = 993
# Messages fetched per IMAP FETCH: bounded memory, few round trips.
IMAP_FETCH_CHUNK = 50
# A message larger than this is not kept whole: it is passed on truncated, with its real
# size, and quarantined by the caller (memory stays bounded whatever the mailbox holds).
DEFAULT_MAX_MESSAGE_BYTES = 20 * 1024 * 1024

_MBOX_FROM = b"From "
# mboxrd (RFC 4155 appendix): a body line ">From " or ">>From " was escaped with one '>'.
_ESCAPED_FROM = re.compile(rb"^>+From ")


class ImapError(MailbounceError):
    """The IMAP server cannot be used: connection, certificate, login or folder (exit 1)."""


class RawMessage(NamedTuple):
    """One message as read: its label for records, its bytes, and its size on disk.

    ``size > len(data)`` means the message was over the size cap and ``data`` is only its
    beginning; the caller quarantines it.
    """

    source: str
    data: bytes
    size: int


class MessageSource(Protocol):
    """A place bounce mail is read from."""

    label: str

    def __iter__(self) -> Iterator[RawMessage]: ...


# --------------------------------------------------------------------------- files


def split_mbox(stream: Iterable[bytes], label: str, *, cap: int) -> Iterator[RawMessage]:
    """The messages of an mbox stream, one at a time (never the whole file in memory).

    A message starts at a ``From `` line at the start of the file or after an empty line
    (RFC 4155 §2: the separator is preceded by an empty line); that empty line belongs to
    the separator, not the message. ``>From `` lines are un-escaped (mboxrd).
    """
    number = 0
    chunks: list[bytes] = []
    size = 0
    started = False
    previous_blank = True
    pending_blank: bytes | None = None
    for line in stream:
        if line.startswith(_MBOX_FROM) and previous_blank:
            if started:
                yield RawMessage(f"{label}#{number}", b"".join(chunks), size)
            number += 1
            started = True
            chunks, size, pending_blank, previous_blank = [], 0, None, False
            continue
        if not started:
            # Text before the first separator: not an mbox after all; treat it as one message.
            started, number = True, 1
        if pending_blank is not None:
            size += len(pending_blank)
            if size <= cap:
                chunks.append(pending_blank)
            pending_blank = None
        blank = line in (b"\n", b"\r\n")
        if blank:
            pending_blank = line
        else:
            kept = line[1:] if line[:1] == b">" and _ESCAPED_FROM.match(line) else line
            size += len(kept)
            if size <= cap:
                chunks.append(kept)
        previous_blank = blank
    if started and (chunks or size):
        yield RawMessage(f"{label}#{number}", b"".join(chunks), size)


def _read_file(path: Path, label: str, cap: int) -> RawMessage:
    try:
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
            size = len(data)
            if size > cap:
                size = os.fstat(handle.fileno()).st_size
                data = data[:cap]
    except OSError as exc:
        raise InputError(label, f"cannot read: {exc.strerror or exc}") from None
    return RawMessage(label, data, size)


def _is_mbox(path: Path, label: str) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(_MBOX_FROM)) == _MBOX_FROM
    except OSError as exc:
        raise InputError(label, f"cannot read: {exc.strerror or exc}") from None


def _file_messages(path: Path, label: str, cap: int) -> Iterator[RawMessage]:
    """One file: an mbox when it starts with a ``From `` line, else one message."""
    if _is_mbox(path, label):
        try:
            with path.open("rb") as handle:
                yield from split_mbox(handle, label, cap=cap)
        except OSError as exc:
            raise InputError(label, f"cannot read: {exc.strerror or exc}") from None
    else:
        yield _read_file(path, label, cap)


def is_maildir(path: Path) -> bool:
    """A Maildir has ``cur/`` and ``new/`` folders."""
    return (path / "cur").is_dir() and (path / "new").is_dir()


@dataclass
class PathSource:
    """A message file, an mbox file, a Maildir, or a folder of message files (recursive).

    In a plain folder every file is a message whatever its extension (an mbox when it
    starts with ``From ``); hidden files and folders (``.DS_Store``, ``.git``) and a
    Maildir's ``tmp/`` (messages still being written) are skipped. Order: sorted names.
    """

    label: str
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        path = Path(self.label)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise InputError(self.label, "no such file or directory") from None
        except OSError as exc:
            raise InputError(self.label, f"cannot read: {exc.strerror or exc}") from None
        if not os.access(path, os.R_OK):
            raise InputError(self.label, "permission denied")
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise InputError(self.label, "not a file or a folder")

    def __iter__(self) -> Iterator[RawMessage]:
        path = Path(self.label)
        if path.is_dir():
            yield from self._folder(path, self.label)
        else:
            yield from _file_messages(path, self.label, self.max_message_bytes)

    def _folder(self, path: Path, label: str) -> Iterator[RawMessage]:
        if is_maildir(path):
            for sub in ("cur", "new"):
                yield from self._folder(path / sub, os.path.join(label, sub))
            return
        try:
            entries = sorted(os.scandir(path), key=lambda entry: entry.name)
        except OSError as exc:
            raise InputError(label, f"cannot read the folder: {exc.strerror or exc}") from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = os.path.join(label, entry.name)
            if entry.is_dir():
                if entry.name != "tmp" or not is_maildir(path):
                    yield from self._folder(Path(entry.path), child)
            elif entry.is_file():
                yield from _file_messages(Path(entry.path), child, self.max_message_bytes)


@dataclass
class StdinSource:
    """``-``: one message piped by an MTA (an mbox when it starts with a ``From `` line)."""

    stream: BinaryIO
    label: str = "-"
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    def __iter__(self) -> Iterator[RawMessage]:
        head = self.stream.read(len(_MBOX_FROM))
        if head == _MBOX_FROM:
            yield from split_mbox(
                _Prefixed(head, self.stream), self.label, cap=self.max_message_bytes
            )
            return
        rest = self.stream.read(self.max_message_bytes + 1 - len(head))
        data = head + rest
        size = len(data)
        while size > self.max_message_bytes:
            more = self.stream.read(1 << 20)
            if not more:
                break
            size += len(more)
        if not data:
            return
        yield RawMessage(self.label, data[: self.max_message_bytes], size)


class _Prefixed:
    """A binary stream with some bytes already read put back in front (line iteration)."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        first = self._head + self._stream.readline()
        if first:
            yield first
        yield from self._stream


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


_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
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
        self.last_uid = 0

    @property
    def key(self) -> str:
        return self.location.key

    def _where(self) -> str:
        loc = self.location
        return f"imaps://{loc.user}@{loc.host}:{loc.port}"

    def connect(self) -> None:
        """Open, log in and select the folder; one-line errors for every way it fails."""
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
        self._select(loc.folder)

    def _select(self, folder: str) -> None:
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
        uids = self._uids()
        imap = self._require()
        for first in range(0, len(uids), IMAP_FETCH_CHUNK):
            chunk = uids[first : first + IMAP_FETCH_CHUNK]
            try:
                status, data = imap.uid("FETCH", _uid_set(chunk), "(UID BODY.PEEK[])")
            except (imaplib.IMAP4.abort, OSError) as exc:
                raise ImapError(f"{self._where()}: connection lost while fetching: {exc}") from None
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
