"""What ``report`` can be asked for: its formats and the default list length.

A module of its own, importing nothing heavy, because the command line reads these when it
registers the ``report`` command (option types and defaults), before any report is built.
"""

from __future__ import annotations

from enum import StrEnum


class ReportFormat(StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


# How many rejected recipients a report lists unless asked for all (csv always has them all).
DEFAULT_LIMIT = 100
