"""The HTML report: one self-contained file (inline CSS and SVG, no external URL at all).

Readable offline and safe to mail around: the Jinja2 template (package data
``templates/report.html.j2``) autoescapes everything, so a server's words or an address
cannot inject markup. The rejected list is streamed through ``Template.generate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import IO, Any

import jinja2

from mailbounce.report import CampaignReport

# Colours per outcome: green accepted, amber waiting, red rejected, grey not sent.
_COLOURS = {
    "accepted": "#2e7d32",
    "deferred": "#f9a825",
    "temporary": "#ef6c00",
    "permanent": "#c62828",
    "complaint": "#6a1b9a",
    "uncertain": "#546e7a",
    "pending": "#90a4ae",
}
_SKIPPED_COLOUR = "#b0bec5"
_REASON_COLOUR = "#1565c0"
CHART_WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 260


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    count: int
    y: int
    width: float
    colour: str


def _bars(items: list[tuple[str, int, str]]) -> list[Bar]:
    top = max((count for _, count, _ in items), default=0) or 1
    space = CHART_WIDTH - LABEL_WIDTH - 70
    return [
        Bar(label, count, index * (BAR_HEIGHT + 6), max(count / top * space, 1.0), colour)
        for index, (label, count, colour) in enumerate(items)
    ]


def chart_data(report: CampaignReport) -> dict[str, Any]:
    """Bars of the outcome chart (non-empty outcomes) and of the reasons chart."""
    outcomes = [
        (report.label(f"outcome.{name}"), count, _COLOURS.get(name, _SKIPPED_COLOUR))
        for name, count in report.totals.items()
        if count
    ]
    reasons = [(row["label"], row["count"], _REASON_COLOUR) for row in report.reasons]
    return {
        "outcome_bars": _bars(outcomes),
        "reason_bars": _bars(reasons),
        "chart_width": CHART_WIDTH,
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
    }


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mailbounce", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


def write_html(report: CampaignReport, out: IO[str]) -> None:
    """Write the self-contained HTML report of ``report`` to ``out``, streaming its rows."""
    context = {
        "report": report,
        "summary": report.summary(),
        "t": report.label,
        "rejected": report.listed(),
        "more": report.more_text(),
        **chart_data(report),
    }
    for chunk in _template().generate(context):
        out.write(chunk)
