"""parse-bounces against a real IMAP server (Dovecot on 127.0.0.1, imaps with a test CA)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imap_server import PASSWORD, DovecotServer, dovecot_available

from mailbounce.dsn import make_dsn
from mailbounce.parsing import ParseSettings, parse_bounces
from mailbounce.sources import imap_utf7
from mailbounce.store import Store
from mailbounce.store.bounces import bounce_count, imap_resume_point

pytestmark = pytest.mark.skipif(not dovecot_available(), reason="dovecot-imapd not installed")

FOLDER = "Bounces"


@pytest.fixture
def dovecot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DovecotServer]:
    server = DovecotServer(tmp_path / "dovecot")
    server.root.mkdir()
    server.start()
    monkeypatch.setenv("MAILBOUNCE_IMAP_PASSWORD", PASSWORD)
    try:
        yield server
    finally:
        server.stop()


def _bounce(number: int) -> bytes:
    original = (
        f"From: Club <news@asso.example>\nTo: user{number}@example.org\n"
        f"Subject: News\nMessage-ID: <news.{number}@asso.example>\n\nHello\n"
    ).encode()
    return make_dsn(
        original=original,
        recipient=f"user{number}@example.org",
        status="5.1.1",
        diagnostic=f"550 5.1.1 <user{number}@example.org>: User unknown",
        remote_mta="mx.example.org",
        reporting_mta="relay.asso.example",
        date=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
    )


def _parse(server: DovecotServer, db: Path, folder: str = FOLDER, **options: object) -> list[str]:
    settings = ParseSettings(imap_ca_file=server.ca_file, **options)  # type: ignore[arg-type]
    run = parse_bounces([f"{server.url}/{folder}"], db=db, settings=settings)
    return [record.source for record in run]


def test_fetch_store_and_flag_seen_after_commit(dovecot: DovecotServer, db_path: Path) -> None:
    dovecot.append(FOLDER, _bounce(1), _bounce(2), _bounce(3))
    assert all("\\Seen" not in flags for flags in dovecot.flags(FOLDER).values())
    assert _parse(dovecot, db_path) == [f"{FOLDER}/1", f"{FOLDER}/2", f"{FOLDER}/3"]
    assert all("\\Seen" in flags for flags in dovecot.flags(FOLDER).values())
    with Store(db_path) as store:
        assert bounce_count(store) == 3
        point = imap_resume_point(store, f"bounces@127.0.0.1:{dovecot.port}/{FOLDER}")
    assert point is not None and point[1] == 3


def test_mail_that_is_not_a_bounce_stays_unread(dovecot: DovecotServer, db_path: Path) -> None:
    reply = b"From: ami@example.org\nTo: bounces@asso.example\nSubject: Merci\n\nA bientot\n"
    dovecot.append(FOLDER, reply, _bounce(2))
    assert _parse(dovecot, db_path) == [f"{FOLDER}/2"]
    flags = dovecot.flags(FOLDER)
    assert "\\Seen" not in flags[1] and "\\Seen" in flags[2]
    dovecot.append(FOLDER, _bounce(3))
    assert _parse(dovecot, db_path) == [f"{FOLDER}/3"]  # the reply is not read again


def test_resume_by_uid(dovecot: DovecotServer, db_path: Path) -> None:
    dovecot.append(FOLDER, _bounce(1), _bounce(2))
    assert len(_parse(dovecot, db_path)) == 2
    dovecot.append(FOLDER, _bounce(3))
    assert _parse(dovecot, db_path) == [f"{FOLDER}/3"]
    assert _parse(dovecot, db_path) == []


def test_no_store_leaves_the_mailbox_alone(dovecot: DovecotServer, db_path: Path) -> None:
    dovecot.append(FOLDER, _bounce(1))
    assert _parse(dovecot, db_path, store=False) == [f"{FOLDER}/1"]
    assert all("\\Seen" not in flags for flags in dovecot.flags(FOLDER).values())
    assert not db_path.exists()


def test_move_to_folder(dovecot: DovecotServer, db_path: Path) -> None:
    dovecot.append(FOLDER, _bounce(1), _bounce(2))
    dovecot.append("Processed")
    assert len(_parse(dovecot, db_path, move_to="Processed")) == 2
    assert dovecot.flags(FOLDER) == {}
    assert len(dovecot.flags("Processed")) == 2


def test_uidvalidity_change_rescans(dovecot: DovecotServer, db_path: Path) -> None:
    dovecot.append(FOLDER, _bounce(1), _bounce(2))
    assert len(_parse(dovecot, db_path)) == 2
    dovecot.recreate(FOLDER)
    dovecot.append(FOLDER, _bounce(1), _bounce(2), _bounce(3))
    # New UIDVALIDITY: UIDs restart at 1, so everything is read again, recorded once.
    assert _parse(dovecot, db_path) == [f"{FOLDER}/1", f"{FOLDER}/2", f"{FOLDER}/3"]
    with Store(db_path) as store:
        assert bounce_count(store) == 3


def _cli(args: list[str], db: Path, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAILBOUNCE_IMAP_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "mailbounce", "--db", str(db), "parse-bounces", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_reads_imap(dovecot: DovecotServer, db_path: Path) -> None:
    dovecot.append(FOLDER, _bounce(1))
    url = f"{dovecot.url}/{FOLDER}"
    done = _cli([url, "--imap-ca-file", str(dovecot.ca_file), "-f", "jsonl"], db_path, PASSWORD)
    assert done.returncode == 0, done.stderr
    assert '"source": "Bounces/1"' in done.stdout


def test_wrong_password_is_one_line_exit_1(dovecot: DovecotServer, db_path: Path) -> None:
    dovecot.append(FOLDER, _bounce(1))
    url = f"{dovecot.url}/{FOLDER}"
    done = _cli([url, "--imap-ca-file", str(dovecot.ca_file)], db_path, "wrong")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "login refused" in done.stderr
    assert "wrong" not in done.stderr


def test_untrusted_certificate_is_one_line_exit_1(dovecot: DovecotServer, db_path: Path) -> None:
    done = _cli([f"{dovecot.url}/{FOLDER}"], db_path, PASSWORD)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "not trusted" in done.stderr


def test_non_ascii_folder(dovecot: DovecotServer, db_path: Path) -> None:
    dovecot.append(imap_utf7("Retours à traiter"), _bounce(1))
    assert _parse(dovecot, db_path, folder="Retours à traiter") == ["Retours à traiter/1"]
