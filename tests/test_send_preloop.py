"""Before the first message: what a send does not do any more (issue 2).

A send run in one process keeps a connection open from the end of its list import to its
end, so closing the import's connection does not checkpoint the WAL (copying every page
the import wrote, and two fsyncs) before the first message: the send's checkpoint thread
copies them while it sends. Worker processes are still forked with no connection open.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from smtp_testserver import ScriptedServer
from test_send_run import options, write_campaign

from mailbounce import delivery
from mailbounce.campaign_loading import load_campaign
from mailbounce.sending import SendOptions, send_campaign
from mailbounce.store import Store


def test_the_import_is_not_checkpointed_before_the_first_message(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_campaign(tmp_path, "email\r\n" + "".join(f"p{n}@example.org\r\n" for n in range(50)))
    wal = Path(f"{db_path}-wal")
    at_start: list[int] = []
    execute = delivery.DeliveryRun.execute

    def noting_the_wal(self: delivery.DeliveryRun, *args: object, **kwargs: object) -> object:
        at_start.append(wal.stat().st_size if wal.exists() else 0)
        return execute(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(delivery.DeliveryRun, "execute", noting_the_wal)
    with ScriptedServer() as server:
        campaign = load_campaign(options(tmp_path, server.port, concurrency=2))
        report = send_campaign(db_path, campaign, SendOptions(check_dns=False))
        assert len(server.received) == 50
    # The import's pages are still in the WAL when the loop starts (a checkpoint on close
    # would have emptied it), and the run's end leaves nothing behind.
    assert at_start and at_start[0] > 0
    assert report.attempted == 50
    assert not wal.exists() or os.path.getsize(wal) == 0
    with Store(db_path) as store:
        sent = store.conn.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'")
        assert sent.fetchone()[0] == 50
