"""The send loop over PIPELINING, TLS and AUTH connections (library level, real aiosmtpd).

With PIPELINING the next recipient's envelope goes out in the same write as the current
message's data (RFC 2920 §3.1); these tests pin that the outcomes are those of the plain
exchange, and what happens to that following envelope when the connection closes.
"""

from __future__ import annotations

import dataclasses
import signal
import ssl
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from processes import interruptible_command
from smtp_testserver import ScriptedServer
from test_send_run import (
    FIRST_RUN_STATES,
    SCRIPT,
    T0,
    at,
    options,
    states,
    write_campaign,
)

from mailbounce.campaign import DomainLimit
from mailbounce.campaign_loading import load_campaign
from mailbounce.compose import MessageTemplate, make_message_id
from mailbounce.lists import ListReader
from mailbounce.send_state import CLAIM_BATCH
from mailbounce.sending import send_campaign
from mailbounce.smtp_settings import TlsMode
from mailbounce.store import Store
from mailbounce.store import claims as claim_rows
from mailbounce.store import sending as deliveries


def attempts(db_path: Path) -> dict[str, int]:
    with Store(db_path) as store:
        rows = store.conn.execute("SELECT address, attempts FROM deliveries ORDER BY id")
        return {row[0]: row[1] for row in rows}


@pytest.mark.parametrize("concurrency", [1, 3])
def test_pipelined_sends_give_the_same_outcomes(
    tmp_path: Path, db_path: Path, concurrency: int
) -> None:
    write_campaign(tmp_path)
    with ScriptedServer(SCRIPT, pipelining=True) as server:
        campaign = load_campaign(options(tmp_path, server.port, concurrency=concurrency))
        report = send_campaign(db_path, campaign, at(T0))
        assert states(db_path) == FIRST_RUN_STATES
        assert report.failed_by_reason == {"userunknown": 1, "spamdetected": 1}
        assert report.deferred_by_reason == {"greylisted": 1, "mailboxfull": 1}
        assert report.attempted == 6
        bodies = {m.rcpt_tos[0]: m.data for m in server.received}
        assert b"Bonjour Ann de Lyon" in bodies["ann@example.org"]
        later = send_campaign(db_path, campaign, at(T0 + timedelta(minutes=6)))
        assert later.attempted == 2
        received = sorted(m.rcpt_tos[0] for m in server.received)
    assert received == ["ann@example.org", "cid@orange.fr", "fay@example.org"]
    assert states(db_path)["cid@orange.fr"] == "sent"


def test_421_after_data_voids_the_following_envelope(tmp_path: Path, db_path: Path) -> None:
    # b's envelope followed a's data; a's 421 closes the connection: b was not tried there
    # (not counted), and goes out on a new connection.
    rows = "a@orange.fr\r\nb@example.org\r\nc@example.org\r\n"
    write_campaign(tmp_path, "email\r\n" + rows)
    script = {"a@orange.fr": ["data:421 4.7.0 Too many messages, closing"]}
    with ScriptedServer(script, pipelining=True) as server:
        campaign = load_campaign(options(tmp_path, server.port, concurrency=1))
        send_campaign(db_path, campaign, at(T0))
        received = [m.rcpt_tos[0] for m in server.received]
        sessions = server.handler.sessions
        rcpts_of_b = server.handler.attempts["b@example.org"]
    assert rcpts_of_b == 2  # its envelope went with a's data, then again on the new one
    assert states(db_path) == {
        "a@orange.fr": "deferred",
        "b@example.org": "sent",
        "c@example.org": "sent",
    }
    assert received == ["b@example.org", "c@example.org"]
    assert sessions == 2
    assert attempts(db_path) == {"a@orange.fr": 1, "b@example.org": 1, "c@example.org": 1}


def test_lost_after_data_is_uncertain_and_the_following_is_sent_once(
    tmp_path: Path, db_path: Path
) -> None:
    write_campaign(tmp_path, "email\r\nu@example.org\r\nv@example.org\r\n")
    with ScriptedServer({"u@example.org": ["drop_after_dot"]}, pipelining=True) as server:
        campaign = load_campaign(options(tmp_path, server.port, concurrency=1))
        report = send_campaign(db_path, campaign, at(T0))
        received = [m.rcpt_tos[0] for m in server.received]
    assert report.uncertain == 1
    assert states(db_path) == {"u@example.org": "uncertain", "v@example.org": "sent"}
    assert received == ["u@example.org", "v@example.org"]


@pytest.mark.parametrize("pipelining", [False, True])
def test_starttls_and_auth_through_the_send_loop(
    tmp_path: Path,
    db_path: Path,
    tls_server_context: ssl.SSLContext,
    ca_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    pipelining: bool,
) -> None:
    monkeypatch.setenv("MAILBOUNCE_SMTP_PASSWORD", "s3cret-pw")
    write_campaign(tmp_path, "email\r\n" + "".join(f"p{n}@example.org\r\n" for n in range(12)))
    with ScriptedServer(
        tls_context=tls_server_context,
        require_starttls=True,
        credentials={"news": "s3cret-pw"},
        pipelining=pipelining,
    ) as server:
        campaign = load_campaign(
            options(
                tmp_path,
                server.port,
                tls=TlsMode.STARTTLS,
                user="news",
                ca_file=ca_file,
                concurrency=3,
            )
        )
        report = send_campaign(db_path, campaign, at(T0))
        received = sorted(m.rcpt_tos[0] for m in server.received)
    assert report.attempted == 12
    assert received == sorted(f"p{n}@example.org" for n in range(12))
    assert set(states(db_path).values()) == {"sent"}


def test_implicit_tls_through_the_send_loop(
    tmp_path: Path, db_path: Path, tls_server_context: ssl.SSLContext, ca_file: Path
) -> None:
    write_campaign(tmp_path, "email\r\n" + "".join(f"p{n}@example.org\r\n" for n in range(5)))
    with ScriptedServer(ssl_context=tls_server_context, pipelining=True) as server:
        campaign = load_campaign(
            options(tmp_path, server.port, tls=TlsMode.TLS, ca_file=ca_file, concurrency=2)
        )
        send_campaign(db_path, campaign, at(T0))
        received = sorted(m.rcpt_tos[0] for m in server.received)
    assert received == sorted(f"p{n}@example.org" for n in range(5))
    assert set(states(db_path).values()) == {"sent"}


@pytest.mark.parametrize("pipelining", [False, True])
def test_rate_and_domain_limits_through_the_send_loop(
    tmp_path: Path, db_path: Path, pipelining: bool
) -> None:
    # Limited recipients wait for their slot while the others go on; all are sent once.
    rows = "".join(f"o{n}@orange.fr\r\ne{n}@example.org\r\n" for n in range(6))
    write_campaign(tmp_path, "email\r\n" + rows)
    with ScriptedServer(pipelining=pipelining) as server:
        campaign = dataclasses.replace(
            load_campaign(options(tmp_path, server.port, concurrency=3, rate=400)),
            domains={"orange.fr": DomainLimit(concurrency=1, rate=200)},
        )
        report = send_campaign(db_path, campaign, at(T0))
        received = sorted(m.rcpt_tos[0] for m in server.received)
    assert report.attempted == 12
    assert received == sorted(
        f"{p}{n}@{d}" for n in range(6) for p, d in [("o", "orange.fr"), ("e", "example.org")]
    )
    assert set(states(db_path).values()) == {"sent"}


@pytest.mark.parametrize("pipelining", [False, True])
def test_multiline_replies_are_read_whole(tmp_path: Path, db_path: Path, pipelining: bool) -> None:
    # Gmail's way: a multi-line 550 to RCPT, then the next recipient on the same connection.
    write_campaign(tmp_path, "email\r\nx@example.org\r\ny@example.org\r\n")
    reply = (
        "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
        "550-5.1.1 Please try double-checking the recipient's email address\r\n"
        "550 5.1.1 for typos or unnecessary spaces."
    )
    with ScriptedServer({"x@example.org": [f"rcpt:{reply}"]}, pipelining=pipelining) as server:
        send_campaign(db_path, load_campaign(options(tmp_path, server.port)), at(T0))
        received = [m.rcpt_tos[0] for m in server.received]
        sessions = server.handler.sessions
    assert received == ["y@example.org"] and sessions == 1
    with Store(db_path) as store:
        row = store.conn.execute(
            "SELECT state, reason, last_reply FROM deliveries WHERE address = 'x@example.org'"
        ).fetchone()
    assert (row[0], row[1]) == ("failed", "userunknown")
    assert row[2].startswith("550 5.1.1 The email account") and row[2].endswith("spaces.")


def test_ctrl_c_records_the_messages_already_out(tmp_path: Path) -> None:
    # Ctrl-C: nothing new goes out, the replies to the data already written are awaited and
    # committed: no recipient is left claimed or in flight (uncertain), none lost.
    members = tmp_path / "members.csv"
    members.write_text("email\n" + "".join(f"p{n}@example.org\n" for n in range(3000)))
    body = tmp_path / "body.txt"
    body.write_text("Bonjour\n" + "x" * 3000 + "\n")
    db = tmp_path / "mailbounce.db"
    with ScriptedServer(pipelining=True) as server:
        # Interruptible even where SIGINT is ignored (CI started as a background job).
        cmd = interruptible_command(
            "--db", str(db), "-q", "send",
            "--campaign", "c", "--list", str(members), "--from", "a@asso.example",
            "--subject", "S", "--text", str(body), "--smtp", f"smtp://127.0.0.1:{server.port}",
            "--tls", "none", "--concurrency", "4", "--force", "--format", "csv",
        )  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while len(server.received) < 200 and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        received = Counter(m.rcpt_tos[0] for m in server.received)
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err
    final = states(db)
    assert set(final.values()) <= {"sent", "pending"}
    assert {a for a, s in final.items() if s == "sent"} == set(received)
    assert max(received.values()) == 1


@pytest.mark.parametrize("pipelining", [False, True])
def test_lines_starting_with_a_dot_arrive_as_composed(
    tmp_path: Path, db_path: Path, pipelining: bool
) -> None:
    # The loop writes MessageTemplate.render_data's payload as it is (dots doubled once,
    # RFC 5321 §4.5.2): the server must read back exactly the composed message, a lone
    # "." line included (neither doubled twice nor taken for the end of the data).
    write_campaign(tmp_path, "email\r\nx@example.org\r\ny@example.org\r\n")
    (tmp_path / "news.txt").write_text(".\n.point\n..deux\nfin.\n.", "utf-8")
    with ScriptedServer({}, pipelining=pipelining) as server:
        campaign = load_campaign(options(tmp_path, server.port))
        send_campaign(db_path, campaign, at(T0))
        received = {m.rcpt_tos[0]: m.data for m in server.received}
    reader = ListReader(tmp_path / "members.csv", columns=campaign.columns)
    template = MessageTemplate(
        campaign.message, columns=sorted(reader.columns), domain=campaign.message_domain
    )
    expected = {}
    for entry in reader:
        assert entry.address is not None
        expected[entry.address] = template.render(
            address=entry.address,
            fields=entry.fields,
            message_id=make_message_id(campaign.name, entry.address, campaign.message_domain),
            token=None,
            campaign=campaign.name,
            date=T0,
        )
    assert received == expected
    assert b"\r\n.point\r\n..deux\r\n" in received["x@example.org"]


def test_ctrl_c_right_after_a_claim_leaves_nothing_claimed(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second claim commits, then Ctrl-C strikes before the loop holds its rows (while
    # they are read): the run's end gives every claimed recipient back, these included.
    write_campaign(tmp_path, "email\n" + "".join(f"p{n}@example.org\n" for n in range(250)))
    read = claim_rows._delivery
    calls = Counter[str]()

    def interrupted(*row: Any) -> deliveries.Delivery:
        calls["rows"] += 1
        if calls["rows"] == CLAIM_BATCH + 1:
            raise KeyboardInterrupt
        return read(*row)

    monkeypatch.setattr(claim_rows, "_delivery", interrupted)
    with ScriptedServer(pipelining=True) as server:
        with pytest.raises(KeyboardInterrupt):
            send_campaign(db_path, load_campaign(options(tmp_path, server.port)), at(T0))
        received = Counter(m.rcpt_tos[0] for m in server.received)
    final = states(db_path)
    assert set(final.values()) <= {"sent", "pending"}
    assert {a for a, s in final.items() if s == "sent"} == set(received)
    assert calls["rows"] == CLAIM_BATCH + 1 and len(received) <= CLAIM_BATCH
