"""Analysis of raw messages, in this process or in a pool of worker processes.

``analyse_stream`` yields one ``Outcome`` per message in input order; with a pool it keeps
a bounded window of chunks in flight, so memory stays flat whatever the mailbox size.
Nothing here touches the store: workers analyse, the parent process writes.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from mailbounce.bounces import (
    DEFAULT_LIMITS,
    Analysis,
    ParseLimits,
    UnparseableMessage,
    analyse_message,
)
from mailbounce.errors import MailbounceError
from mailbounce.mailboxes import RawMessage

# Messages per task sent to a worker process, and tasks in flight per worker: enough to
# hide the IPC latency, few enough that memory does not grow with the mailbox.
_CHUNK = 64
_TASKS_PER_WORKER = 3


def iso_date(value: str | None) -> str | None:
    """A Date header as ISO 8601 UTC (the record contract); None when unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat()


@dataclass(frozen=True, slots=True)
class Outcome:
    """One message after analysis (picklable: made in worker processes)."""

    source: str
    source_key: str
    analysis: Analysis | None
    problem: str | None
    date: str | None = None  # the bounce's Date as ISO 8601 UTC, computed in the worker


def _source_key(data: bytes, message_id: str | None) -> str:
    """The bounce's identity: its Message-ID, else a digest of its bytes."""
    if message_id:
        return message_id
    return "sha256:" + hashlib.sha256(data).hexdigest()


def analyse_raw(message: RawMessage, limits: ParseLimits = DEFAULT_LIMITS) -> Outcome:
    """Analyse one message; every failure becomes a quarantine reason, never an exception."""
    if message.size > len(message.data):
        return Outcome(
            message.source,
            _source_key(message.data, None),
            None,
            f"message is {message.size} bytes, over the size limit",
        )
    try:
        analysis = analyse_message(message.data, limits=limits)
    except UnparseableMessage as exc:
        return Outcome(message.source, _source_key(message.data, None), None, exc.reason)
    except Exception as exc:  # one bad message must never stop the batch (issue 3)
        problem = f"analysis failed: {type(exc).__name__}: {exc}"
        return Outcome(message.source, _source_key(message.data, None), None, problem)
    key = _source_key(message.data, analysis.message_id)
    return Outcome(message.source, key, analysis, None, iso_date(analysis.date))


def _analyse_chunk(chunk: list[RawMessage], limits: ParseLimits) -> list[Outcome]:
    return [analyse_raw(message, limits) for message in chunk]


def _chunks(messages: Iterable[RawMessage], size: int) -> Iterator[list[RawMessage]]:
    chunk: list[RawMessage] = []
    for message in messages:
        chunk.append(message)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def analyse_stream(
    messages: Iterable[RawMessage],
    limits: ParseLimits,
    pool: ProcessPoolExecutor | None,
    workers: int = 1,
) -> Iterator[Outcome]:
    """Outcomes in input order; with a pool, a bounded window of chunks in flight."""
    if pool is None:
        for message in messages:
            yield analyse_raw(message, limits)
        return
    window = max(2, workers * _TASKS_PER_WORKER)
    pending: deque[Future[list[Outcome]]] = deque()
    try:
        for chunk in _chunks(messages, _CHUNK):
            pending.append(pool.submit(_analyse_chunk, chunk, limits))
            if len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    except BrokenProcessPool:
        # Every batch before this one is committed; the rest is read again on the next run.
        raise MailbounceError(
            "an analysis worker process died (out of memory?); run again with --jobs 1"
        ) from None


def start_pool(jobs: int) -> ProcessPoolExecutor | None:
    """A pool whose workers are already running (forked before any database is opened)."""
    if jobs <= 1:
        return None
    pool = ProcessPoolExecutor(jobs)
    pool.submit(int).result()
    return pool
