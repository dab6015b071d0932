"""The demo's last step: the campaign's report in the terminal, and the HTML report file."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from mailbounce.report import build_report
from mailbounce.report_options import ReportFormat
from mailbounce.report_text import atomic_output, write_report
from mailbounce.store import Store

if TYPE_CHECKING:
    from mailbounce.demo import DemoContext


def step_report(ctx: DemoContext) -> None:
    """Print the report of the demo's campaign and write it as HTML beside the database."""
    html_path = ctx.workdir / "report.html"
    text = io.StringIO()
    with Store(ctx.db_path) as store:
        report = build_report(store, None, ctx.lang)
        write_report(report, ReportFormat.TABLE, text)
        with atomic_output(html_path) as out:
            write_report(report, ReportFormat.HTML, out)
    ctx.say("")
    ctx.say("4. the campaign's report: mailbounce report")
    for line in text.getvalue().rstrip("\n").splitlines():
        ctx.say(f"  {line}")
    ctx.say("")
    ctx.say(f"HTML report (open it in a browser): {html_path}")
