"""A send worker's last word when Ctrl-C strikes while it is being made.

``send_workers._work`` catches a Ctrl-C (``KeyboardInterrupt``) raised while the share is
sent; one that struck a moment later, while the report for the parent was being built (an
error pickled to check it can travel, a traceback formatted), once escaped: the worker exited
1 with no report and the run ended "send worker N ended unexpectedly" instead of exit 130
(noted in sessions 6-8). The worker is forked here as ``send_workers._fork`` does, and its
report read from the pipe as the parent reads it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from mailbounce.errors import MailbounceError
from mailbounce.send_pipes import Inbox
from mailbounce.send_split import Share
from mailbounce.send_workers import Reporter, _work


class _CtrlCWhilePickled(MailbounceError):
    """An error whose pickling is where the Ctrl-C lands (``_portable`` pickles it)."""

    def __reduce__(self) -> Any:
        raise KeyboardInterrupt


def _worker_report(deliver: Any) -> tuple[list[tuple[str, Any]], int]:
    """Fork a worker running ``_work`` with ``deliver``: its messages and exit code."""
    receiver, sender = os.pipe()
    alive_read, alive_write = os.pipe()  # kept open: the worker's parent is alive
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 1
        try:
            os.close(receiver)
            code = _work(Share(campaign=None, limit=1), deliver, sender, alive_read)  # type: ignore[arg-type]
        finally:
            os._exit(code)
    os.close(sender)
    inbox = Inbox(receiver)
    messages: list[tuple[str, Any]] = []
    deadline = time.monotonic() + 30
    while (chunk := inbox.read()) is not None and time.monotonic() < deadline:
        messages += chunk
    inbox.close()
    _, status = os.waitpid(pid, 0)
    os.close(alive_read)
    os.close(alive_write)
    return messages, os.waitstatus_to_exitcode(status)


def _fails(share: Share, reporter: Reporter) -> list[int]:
    raise _CtrlCWhilePickled("the SMTP server refused the login")


def _sends(share: Share, reporter: Reporter) -> list[int]:
    return [1, 2, 3]


def test_ctrl_c_while_the_report_is_made_is_still_a_ctrl_c() -> None:
    messages, code = _worker_report(_fails)
    assert code == 130
    assert messages[-1] == ("interrupted", None)


def test_a_share_sent_reports_what_it_decided() -> None:
    messages, code = _worker_report(_sends)
    assert code == 0
    assert messages[-1] == ("done", [1, 2, 3])
