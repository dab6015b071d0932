"""The one renderer: data to stdout as table / json / jsonl / csv; messages to stderr.

The only module importing ``rich``. Tables use Rich on a terminal and tabulate otherwise
(plain text that pipes and diffs well). CSV neutralises spreadsheet formulas.

Rich (~60 ms) and tabulate (~45 ms) are imported when a table, a progress bar or a styled
message is actually drawn, not at import: every command imports this module, and a
``parse-bounces -`` run from an MTA pipe writes jsonl and plain stderr lines only.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from itertools import repeat
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"


Row = Mapping[str, Any]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: str) -> str:
    """Keep a spreadsheet from evaluating a cell (OWASP "CSV injection"): prefix with '."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(_cell(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_json(data: Any, out: IO[str]) -> None:
    json.dump(data, out, ensure_ascii=False, indent=2, default=str)
    out.write("\n")


def write_jsonl(rows: Iterable[Row], out: IO[str]) -> None:
    # One encoder for the stream: json.dumps with options builds a new one for each row.
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    write = out.write
    for row in rows:
        write(encode(row) + "\n")


def write_json_lines(lines: Iterable[str], out: IO[str] | None = None) -> None:
    """jsonl of rows their owner encoded already, one JSON text each (``parse-bounces``'
    records: ``recording.record_json`` writes one in less than half the encoder's time)."""
    write = (out if out is not None else sys.stdout).write
    for line in lines:
        write(line + "\n")


def write_csv(rows: Iterable[Row], columns: Sequence[str], out: IO[str]) -> None:
    """CSV of ``rows``, formulas neutralised in every cell (``neutralize_formula``)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(map(_csv_cells, rows, repeat(columns)))


def _csv_cells(row: Row, columns: Sequence[str]) -> list[str]:
    return list(map(_csv_cell, map(row.get, columns)))


def _csv_cell(value: Any) -> str:
    # Text cells skip ``_cell``: a send writes a row per recipient, most cells text.
    return neutralize_formula(value if type(value) is str else _cell(value))


def write_table(
    rows: Iterable[Row], columns: Sequence[str], out: IO[str], title: str | None = None
) -> None:
    materialised = [[_cell(row.get(col)) for col in columns] for row in rows]
    if out.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for col in columns:
            table.add_column(col)
        for values in materialised:
            table.add_row(*values)
        Console(file=out).print(table)
        return
    from tabulate import tabulate

    if title:
        out.write(f"{title}\n")
    out.write(tabulate(materialised, headers=list(columns), tablefmt="simple"))
    out.write("\n")


def render_rows(
    rows: Iterable[Row],
    columns: Sequence[str],
    fmt: OutputFormat,
    out: IO[str] | None = None,
    title: str | None = None,
) -> None:
    """Write ``rows`` in ``fmt``; json is one array, jsonl streams one object per line."""
    stream = out if out is not None else sys.stdout
    if fmt is OutputFormat.JSONL:
        write_jsonl(rows, stream)
    elif fmt is OutputFormat.JSON:
        write_json(list(rows), stream)
    elif fmt is OutputFormat.CSV:
        write_csv(rows, columns, stream)
    else:
        write_table(rows, columns, stream, title)


class Terminal:
    """Messages for people, on stderr; quiet hides info, verbose shows debug."""

    def __init__(self, verbosity: int = 0, stream: IO[str] | None = None) -> None:
        self.verbosity = verbosity
        self.stream = stream if stream is not None else sys.stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        """The Rich console on the stream, made on first use (only at a terminal)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False, soft_wrap=True)
        return self._console

    @property
    def interactive(self) -> bool:
        return self.stream.isatty()

    def _say(self, text: str, style: str | None = None) -> None:
        if self.interactive:
            self.console.print(text, style=style, markup=False)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def info(self, text: str) -> None:
        if self.verbosity >= 0:
            self._say(text)

    def debug(self, text: str) -> None:
        if self.verbosity > 0:
            self._say(text, "dim")

    def warning(self, text: str) -> None:
        self._say(f"warning: {text}", "yellow")

    def error(self, text: str) -> None:
        self._say(f"error: {text}", "bold red")

    def progress(self, description: str, total: int | None) -> ProgressBar:
        """A progress bar on stderr when it is a terminal; otherwise a silent counter."""
        return ProgressBar(self, description, total)


class ProgressBar:
    def __init__(self, terminal: Terminal, description: str, total: int | None) -> None:
        self._progress: Progress | None = None
        if terminal.interactive and terminal.verbosity >= 0:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=terminal.console,
                transient=True,
            )
            self._task = self._progress.add_task(description, total=total)

    def __enter__(self) -> ProgressBar:
        if self._progress is not None:
            self._progress.start()
        return self

    def advance(self, steps: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, steps)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
