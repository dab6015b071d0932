"""`mailbounce send` end to end through the command line: exit codes, stdout, stderr."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trustme
from smtp_testserver import ScriptedServer, free_port

from mailbounce.lock import RunLock

ROOT = Path(__file__).resolve().parent.parent
CANARY = "canary-Pw-5f0c1e77"


def mailbounce(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOUNCE_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "mailbounce", *args],
        capture_output=True, text=True, env=full_env, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def lists(tmp_path: Path) -> Path:
    (tmp_path / "members.csv").write_text(
        "Prénom;Courriel\nAnn;ann@example.org\nBob;bob@example.org\nCid;\n", encoding="utf-8"
    )
    (tmp_path / "news.txt").write_text("Bonjour {{ first_name }}\n", encoding="utf-8")
    return tmp_path


def send_args(tmp: Path, port: int, *extra: str) -> list[str]:
    return [
        "--db", str(tmp / "mb.db"), "send", "--campaign", "nov",
        "--list", str(tmp / "members.csv"), "--from", "Asso <news@asso.example>",
        "--subject", "Nouvelles", "--text", str(tmp / "news.txt"), "--force",
        "--smtp", f"smtp://127.0.0.1:{port}", "--tls", "none", *extra,
    ]  # fmt: skip


def test_send_prints_data_on_stdout_and_summary_on_stderr(lists: Path) -> None:
    with ScriptedServer() as server:
        done = mailbounce(*send_args(lists, server.port, "--format", "jsonl"))
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert [(r["address"], r["state"]) for r in rows] == [
            ("ann@example.org", "sent"),
            ("bob@example.org", "sent"),
        ]
        assert "campaign nov: this run tried 2 recipients" in done.stderr
        assert "skipped: no_address 1" in done.stderr
        again = mailbounce(*send_args(lists, server.port, "--format", "csv"))
        assert again.returncode == 0 and again.stdout.startswith("address,state,")
        assert "this run tried 0 recipients" in again.stderr
        assert len(server.received) == 2


def test_campaign_file_with_paths_relative_to_it(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples)
    with ScriptedServer() as server:
        done = mailbounce(
            "--db", str(tmp_path / "mb.db"), "send", str(examples / "campaign.yaml"),
            "--smtp", f"smtp://127.0.0.1:{server.port}", "--force", "--format", "json",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)) == len(server.received) > 10


def test_usage_errors_exit_2(lists: Path) -> None:
    bad = mailbounce(*send_args(lists, 2525, "--retry-after", "5 minutes"))
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "mailbounce: --retry-after: invalid duration '5 minutes': use e.g. 30s, 5m, 1h or 5d"
    ]
    missing = mailbounce("--db", str(lists / "mb.db"), "send", "--campaign", "x")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_relay_down_exits_1_with_one_line(lists: Path) -> None:
    done = mailbounce(*send_args(lists, free_port()))
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert "connection refused" in done.stderr


def test_lock_held_exits_75(lists: Path) -> None:
    with RunLock(lists / "mb.db"):
        done = mailbounce(*send_args(lists, free_port()))
    assert done.returncode == 75
    assert done.stderr.strip().startswith("mailbounce: another mailbounce run holds")
    assert len(done.stderr.strip().splitlines()) == 1


def test_uncertain_exits_3(lists: Path) -> None:
    with ScriptedServer({"ann@example.org": ["drop_after_dot"]}) as server:
        done = mailbounce(*send_args(lists, server.port, "--format", "jsonl"))
    assert done.returncode == 3
    assert "1 uncertain" in done.stderr


def test_canary_password_never_printed(lists: Path, tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with ScriptedServer(
        tls_context=context, require_starttls=True, credentials={"news": CANARY}
    ) as server:
        args = [
            "-v", "--db", str(lists / "mb.db"), "send", "--campaign", "nov",
            "--list", str(lists / "members.csv"), "--from", "news@asso.example",
            "--subject", "S", "--text", str(lists / "news.txt"),
            "--smtp", f"smtp://127.0.0.1:{server.port}", "--user", "news",
            "--ca-file", str(ca_file), "--format", "json", "--force",
        ]  # fmt: skip
        good = mailbounce(*args, env={"MAILBOUNCE_SMTP_PASSWORD": CANARY})
        assert good.returncode == 0, good.stderr
        assert "ann@example.org: sent" in good.stderr  # -v shows each recipient
        args[2] = str(lists / "other.db")  # a fresh campaign: it must connect again
        bad = mailbounce(*args, env={"MAILBOUNCE_SMTP_PASSWORD": CANARY + "-wrong"})
        assert bad.returncode == 1
        assert "authentication as news refused" in bad.stderr
        assert len(server.received) == 2
    for output in (good.stdout, good.stderr, bad.stdout, bad.stderr):
        assert CANARY not in output


def test_password_on_the_command_line_is_refused(lists: Path) -> None:
    done = mailbounce(*send_args(lists, 2525)[:-4], "--smtp", "smtp://news:secret@127.0.0.1:2525")
    assert done.returncode == 2
    assert "secret" not in done.stderr


def test_demo_runs_with_no_configuration(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailbounce", "demo", "--format", "json"],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILBOUNCE_")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {row["address"]: row for row in json.loads(done.stdout)}
    assert rows["elodie.martin@orange.fr"]["state"] == "sent"  # greylisted, then retried
    assert rows["elodie.martin@orange.fr"]["attempts"] == 2
    assert rows["inconnu.lefevre@laposte.net"]["state"] == "failed"
    assert rows["plein@sfr.fr"]["state"] == "deferred"
    assert "demo directory" in done.stderr and "six minutes later" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran


def test_sandbox_command_serves_until_ctrl_c() -> None:
    import signal

    from mailbounce.smtp import Result, SmtpClient
    from mailbounce.smtp_settings import SmtpSettings, TlsMode

    port = free_port()
    # Ctrl-C must raise even when this test runs where SIGINT is ignored (background jobs).
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
        f"sys.argv = ['mailbounce', 'sandbox', '--port', '{port}'];"
        "from mailbounce.cli import main; main()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        seen: list[str] = []
        while "press Ctrl-C" not in (line := proc.stderr.readline()):
            # End of file: the sandbox stopped before serving (its port taken?): fail with
            # what it said rather than read an empty pipe for ever.
            assert line, f"the sandbox exited before serving: {''.join(seen)!r}"
            seen.append(line)
        client = SmtpClient(SmtpSettings("127.0.0.1", port, tls=TlsMode.NONE))
        refused = client.send(
            "a@asso.example", "inconnu@example.org", b"Subject: x\r\n\r\nx", lambda: None
        )
        assert (refused.result, refused.code) == (Result.REFUSED, 550)
        client.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
