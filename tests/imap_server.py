"""A throwaway Dovecot IMAP server on 127.0.0.1 for the IMAP tests (issue 3).

Dovecot runs in the foreground (``dovecot -F -c CONFIG``) as a subprocess with everything
under a temporary folder: its config, run and state folders, a passwd-file with one plain
password, Maildir storage, and an implicit-TLS listener (``ssl = required``) whose certificate
is issued by a trustme test CA, so ``imaps://`` is exercised with real verification.

Users: ``default_internal_user`` is the current user (root on this machine and in CI), so
no ``dovecot`` account is needed. Two things Dovecot never does as root: run ``imap-login``
("This process must not be run as root") and give mail access to uid 0 ("userdb returned 0
as uid"). So as root the login processes run as ``dovenull`` (created by the Debian package;
``nobody`` otherwise) and the mail belongs to ``nobody`` in a world-traversable temporary
folder (pytest's tmp folders are 0700 root); as any other user, everything runs as that user.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import trustme

DOVECOT = "/usr/sbin/dovecot"
USER = "bounces"
PASSWORD = "imap-test-password"


def dovecot_available() -> bool:
    return Path(DOVECOT).exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _login_user(me: str) -> str:
    """imap-login refuses root: as root, the package's ``dovenull`` (or ``nobody``)."""
    if os.getuid() != 0:
        return me
    for name in ("dovenull", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    return me


class DovecotServer:
    """Start with ``start()``, stop with ``stop()``; ``ca_file`` verifies its certificate."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.ca_file = root / "ca.pem"
        self._mail_root = self._mail_root_for_uid()
        self._process: subprocess.Popen[bytes] | None = None

    def _mail_root_for_uid(self) -> Path:
        """Mail storage: Dovecot refuses uid 0 for mail, so as root the mail belongs to
        ``nobody`` in a world-traversable folder (pytest's tmp folders are 0700 root)."""
        if os.getuid() != 0:
            return self.root / "mail"
        path = Path(tempfile.mkdtemp(prefix="mailbounce-imap-"))
        os.chmod(path, 0o755)
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
        return path

    @property
    def url(self) -> str:
        return f"imaps://{USER}@127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        root = self.root
        for sub in ("run", "state"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_pem.write_to_path(str(root / "key.pem"))
        with (root / "cert.pem").open("wb") as out:
            for pem in cert.cert_chain_pems:
                out.write(pem.bytes())
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        me = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        login_user = _login_user(me)
        mail_uid, mail_gid = os.stat(self._mail_root).st_uid, os.stat(self._mail_root).st_gid
        config = root / "dovecot.conf"
        config.write_text(
            f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
default_internal_user = {me}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = {min(mail_uid, os.getuid()) or 1}
first_valid_gid = {min(mail_gid, os.getgid()) or 1}
auth_mechanisms = plain login
mail_location = maildir:{self._mail_root}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={self._mail_root}/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
        )
        return config

    def start(self) -> None:
        config = self._write_config()
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        stderr = b""
        if self._process is not None and self._process.poll() is not None and self._process.stderr:
            stderr = self._process.stderr.read()
        text = path.read_text(errors="replace") if path.exists() else ""
        return text + stderr.decode(errors="replace")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
        shutil.rmtree(self.root / "run", ignore_errors=True)
        if not self._mail_root.is_relative_to(self.root):
            shutil.rmtree(self._mail_root, ignore_errors=True)

    # ---------------------------------------------------------------- test helpers

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context)
        imap.login(USER, PASSWORD)
        return imap

    def append(self, folder: str, *messages: bytes) -> None:
        """Store ``messages`` in ``folder`` (a name in modified UTF-7), creating it."""
        imap = self.client()
        quoted = f'"{folder}"'
        try:
            imap.create(quoted)  # fails harmlessly when it exists
            for message in messages:
                status, data = imap.append(quoted, "", None, message.replace(b"\n", b"\r\n"))
                assert status == "OK", data
        finally:
            imap.logout()

    def flags(self, folder: str) -> dict[int, str]:
        """UID -> FLAGS text of every message in ``folder``."""
        imap = self.client()
        try:
            imap.select(folder)
            _, data = imap.uid("FETCH", "1:*", "(UID FLAGS)")
            found: dict[int, str] = {}
            for item in data:
                if isinstance(item, bytes) and b"UID" in item:
                    text = item.decode()
                    uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                    found[uid] = text.split("FLAGS (")[1].split(")")[0]
            return found
        finally:
            imap.logout()

    def recreate(self, folder: str) -> None:
        """Delete and create ``folder`` again: a new UIDVALIDITY, UIDs from 1."""
        imap = self.client()
        try:
            imap.delete(folder)
            time.sleep(1.1)  # Dovecot derives UIDVALIDITY from the clock
            imap.create(folder)
        finally:
            imap.logout()
