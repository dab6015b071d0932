"""Analysis of raw messages, in this process or with worker processes.

``analyse_stream`` yields one ``Outcome`` per message in input order; with a pool it keeps
a bounded window of tasks in flight, so memory stays flat whatever the mailbox size.
Nothing here touches the store: workers analyse, the parent process writes. A worker
reads its own run of an mbox file (``mailbounce.mbox.Region``) and sends back plain
tuples, so the parent's share of a message stays small. ``--jobs N`` is N-1 workers and
this process, which analyses a task itself whenever the oldest one in flight is not done
(nothing pickled for its share): two processes on two cores rather than three, and on a
loaded machine the faster side does more."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from mailbounce.bounce_dates import iso_date
from mailbounce.bounces import (
    DEFAULT_LIMITS,
    Analysis,
    ParseLimits,
    UnparseableMessage,
    Verdict,
    analyse_message,
)
from mailbounce.errors import MailbounceError
from mailbounce.mbox import RawMessage, Region, read_region
from mailbounce.models import BounceFacts, Classification, Kind, Party, Reason

if TYPE_CHECKING:
    # multiprocessing costs ~30 ms to import: only --jobs N loads it (start_pool), not a
    # --jobs 1 run nor an MTA pipe's one bounce.
    from mailbounce.worker_pool import Job, WorkerPool

# Messages per task sent to a worker process (bytes of an mbox a worker reads itself), and
# tasks in flight per worker: few enough that memory does not grow with the mailbox, enough
# that the workers keep busy while this process stores and prints a batch (500 messages by
# default, ~9 regions of 256 KB). With 3 per worker, the ~5 tasks left in flight during a
# batch's commit were done before it, and both workers waited for the next submissions.
# This process takes at most ``_HELPED`` tasks of the input ahead of those, and holds at
# most ``_HELD`` it analysed itself (the rest taken back from the workers' queue).
CHUNK = 64
REGION_BYTES = 256 * 1024
_TASKS_PER_WORKER = 8
_HELPED = 8
_HELD = 16


class Outcome(NamedTuple):
    """One message after analysis (picklable: made in worker processes).

    A named tuple, made once or twice per message: a frozen dataclass's ``__init__`` set
    each field through ``object.__setattr__`` (~2 k instructions a field, callgrind)."""

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
    key = analysis.message_id or _source_key(message.data, None)  # ``_source_key`` inlined
    return Outcome(message.source, key, analysis, None, iso_date(analysis.date))


# --------------------------------------------------------------------------- worker results
# Results cross the process boundary as plain tuples of str/int/None: pickling the frozen
# dataclasses and enums of an Outcome cost both sides about 0.017 ms per message, several
# times the tuples' cost (measured on the DEV corpus, benchmarks/parse_throughput.py).
# Enums travel as their ``_value_``: the very string object each time, which pickle writes
# once per task and refers back to after (``str(member)`` makes a new string each call).

_FACT_FIELDS = tuple(f.name for f in fields(BounceFacts))
_FACT_COUNT = len(_FACT_FIELDS)
_HINT = _FACT_FIELDS.index("reason_hint")
_facts_values = attrgetter(*_FACT_FIELDS)
_REASONS = {str(member): member for member in Reason}
_KINDS = {str(member): member for member in Kind}
_PARTIES = {str(member): member for member in Party}
_VERDICTS = {str(member): member for member in Verdict}

Packed = tuple[Any, ...]


def _pack_result(facts: BounceFacts, classification: Classification) -> Packed:
    values: Packed = _facts_values(facts)
    hint = facts.reason_hint
    if hint is not None:
        values = (*values[:_HINT], hint._value_, *values[_HINT + 1 :])
    c = classification
    return (*values, c.reason._value_, c.kind._value_, c.hardbounce, c.party._value_)


def _unpack_result(packed: Packed) -> tuple[BounceFacts, Classification]:
    values = packed[:_FACT_COUNT]
    hint = values[_HINT]
    if hint is not None:
        values = (*values[:_HINT], _REASONS[hint], *values[_HINT + 1 :])
    facts = BounceFacts(*values)
    reason, kind, hardbounce, party = packed[_FACT_COUNT:]
    classification = Classification(_REASONS[reason], _KINDS[kind], hardbounce, _PARTIES[party])
    return facts, classification


def pack(outcome: Outcome) -> Packed:
    """An ``Outcome`` as plain values (what a worker sends back)."""
    analysis = outcome.analysis
    if analysis is None:
        return (outcome.source, outcome.source_key, outcome.problem, outcome.date, None)
    return (
        outcome.source,
        outcome.source_key,
        outcome.problem,
        outcome.date,
        (
            analysis.verdict._value_,
            analysis.detector,
            analysis.message_id,
            analysis.date,
            analysis.original_message_id,
            analysis.tracking_tokens,
            tuple([_pack_result(facts, c) for facts, c in analysis.results]),
        ),
    )


def unpack(packed: Packed, source: str | None = None) -> Outcome:
    """The ``Outcome`` a worker packed (``source``: its label, when the worker could not
    know it)."""
    label, source_key, problem, date, analysed = packed
    source = source or label
    if analysed is None:
        return Outcome(source, source_key, None, problem, date)
    verdict, detector, message_id, sent, original, tokens, results = analysed
    analysis = Analysis(
        _VERDICTS[verdict],
        detector,
        message_id,
        sent,
        original,
        tokens,
        tuple([_unpack_result(result) for result in results]),
    )
    return Outcome(source, source_key, analysis, problem, date)


Unit = RawMessage | Region
Task = Region | list[RawMessage]


def _analyse_task(task: Task, limits: ParseLimits) -> list[Packed]:
    """In a worker: read the messages (a region of an mbox is read from the file here, not
    sent through the pipe) and analyse them."""
    messages = read_region(task) if isinstance(task, Region) else task
    return [pack(analyse_raw(message, limits)) for message in messages]


def _tasks(units: Iterable[Unit], size: int) -> Iterator[Task]:
    """Regions as they are; messages read by this process in lists of ``size``."""
    chunk: list[RawMessage] = []
    for unit in units:
        if isinstance(unit, Region):
            if chunk:
                yield chunk
                chunk = []
            yield unit
            continue
        chunk.append(unit)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Numbering:
    """Labels of the messages of mbox regions: a worker numbers a region's messages from
    1; the messages of the file's earlier regions come before."""

    def __init__(self) -> None:
        self._before = 0

    def _first(self, region: Region, count: int) -> int:
        """The number of the first of the ``count`` messages of ``region``."""
        if region.start == 0:
            self._before = 0
        first = self._before + 1
        self._before += count
        return first

    def unpacked(self, task: Task, results: list[Packed]) -> Iterator[Outcome]:
        """The outcomes a worker packed, labelled."""
        if not isinstance(task, Region):
            yield from map(unpack, results)
            return
        label = task.label
        for number, packed in enumerate(results, self._first(task, len(results))):
            yield unpack(packed, f"{label}#{number}")

    def labelled(self, task: Task, outcomes: list[Outcome]) -> Iterator[Outcome]:
        """The outcomes this process made (a region's numbered from 1), labelled."""
        if not isinstance(task, Region):
            yield from outcomes
            return
        label = task.label
        for number, o in enumerate(outcomes, self._first(task, len(outcomes))):
            yield Outcome(f"{label}#{number}", o.source_key, o.analysis, o.problem, o.date)


def _analyse_here(task: Task, limits: ParseLimits) -> list[Outcome]:
    """A task analysed by this process: nothing packed."""
    messages = read_region(task) if isinstance(task, Region) else task
    return [analyse_raw(message, limits) for message in messages]


class _Tasks:
    """The tasks not handed out yet."""

    def __init__(self, tasks: Iterator[Task]) -> None:
        self._tasks = tasks
        self.left = True

    def next(self) -> Task | None:
        task = next(self._tasks, None) if self.left else None
        self.left = task is not None
        return task


Pending = deque[tuple[Task, "Job | list[Outcome]"]]


def _help(pending: Pending, tasks: _Tasks, limits: ParseLimits, helped: int) -> bool:
    """Analyse one task here rather than wait for the oldest one in flight: the next task
    not handed out yet (while fewer than ``_HELPED`` of ours wait in ``pending``), else the
    newest one no worker has started (taken back from the pool's queue), while fewer than
    ``_HELD`` of ours wait. False when there is none: then this process waits.

    Outcomes leave in input order, so this process can run ahead of the oldest task in a
    worker's hands only by the tasks it holds. Taking back queued tasks, rather than
    waiting once ``_HELPED`` are held, keeps both cores busy when the worker is the slower
    side (it also packs what it sends): the parent sat idle ~6% of a --jobs 2 run
    (benchmarks/parse_throughput.py: 4.97 s wall, 4.64 s of its CPU; py-spy: worker 52%,
    parent 48% of the samples)."""
    if helped < _HELPED and (task := tasks.next()) is not None:
        pending.append((task, _analyse_here(task, limits)))
        return True
    if helped >= _HELD:
        return False  # as far ahead as memory allows: wait
    for at in range(len(pending) - 1, -1, -1):
        task, result = pending[at]
        if not isinstance(result, list) and result.cancel():
            pending[at] = (task, _analyse_here(task, limits))
            return True
    return False


def analyse_stream(
    units: Iterable[Unit],
    limits: ParseLimits,
    pool: WorkerPool | None,
    workers: int = 1,
) -> Iterator[Outcome]:
    """Outcomes in input order; with a pool, a bounded window of tasks in flight.

    This process helps: when the oldest task in flight is not done, it analyses the next
    task itself instead of waiting (its outcomes wait in the window in input order, never
    pickled). On a loaded machine the faster side does more."""
    if pool is None:
        for unit in units:
            for message in read_region(unit) if isinstance(unit, Region) else (unit,):
                yield analyse_raw(message, limits)
        return
    from mailbounce.worker_pool import WorkerDied

    window = max(2, workers * _TASKS_PER_WORKER)
    pending: Pending = deque()
    numbering = _Numbering()
    tasks = _Tasks(_tasks(units, CHUNK))
    helped = 0  # tasks of ``pending`` this process analysed
    try:
        while True:
            while len(pending) - helped < window and (task := tasks.next()) is not None:
                pending.append((task, pool.submit(_analyse_task, task, limits)))
            if not pending:
                return
            done, result = pending[0]
            waiting = not isinstance(result, list) and not result.done()
            if waiting and _help(pending, tasks, limits, helped):
                helped += 1
                continue
            pending.popleft()
            if isinstance(result, list):
                helped -= 1
                yield from numbering.labelled(done, result)
            else:
                yield from numbering.unpacked(done, result.result())
    except WorkerDied:
        # Every batch before this one is committed; the rest is read again on the next run.
        raise MailbounceError(
            "an analysis worker process died (out of memory?); run again with --jobs 1"
        ) from None


def start_pool(jobs: int) -> WorkerPool | None:
    """The ``jobs - 1`` worker processes of ``--jobs N``, already running (forked before
    any database is opened); this process is the N-th (``analyse_stream``).

    The detectors are imported here first, once: they load on a message's first analysis
    (``bounces._detect``), so each worker forked before would import and compile them
    again (~0.25 s of CPU each, before its first message). Forked after, the workers share
    the parent's modules, copy on write."""
    if jobs <= 1:
        return None
    import mailbounce.bounces.registry  # noqa: F401  (imported for the workers)
    from mailbounce.worker_pool import WorkerPool

    return WorkerPool(jobs - 1)
