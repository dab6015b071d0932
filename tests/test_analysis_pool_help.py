"""``--jobs N``: this process analyses tasks itself while the workers' oldest one is not
done (``analysis_pool.analyse_stream``). Whoever analyses a task, the outcomes, their
order and their labels are the ones of a run without workers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import mailbounce.analysis_pool as analysis_pool
from mailbounce.analysis_pool import Outcome, analyse_stream
from mailbounce.bounces import DEFAULT_LIMITS, ParseLimits
from mailbounce.dsn import make_dsn
from mailbounce.mbox import RawMessage, mbox_regions
from mailbounce.sources import PathSource

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class _LazyFuture(Future[Any]):
    """A worker's task that runs only when its result is asked for (never done before:
    the reader always finds the oldest task in flight unfinished), or never once
    cancelled."""

    def __init__(self, run: Callable[[], Any], pool: _LazyPool) -> None:
        super().__init__()
        self._run = run
        self._pool = pool

    def result(self, timeout: float | None = None) -> Any:
        if not self.done():
            self._pool.ran += 1
            self.set_result(self._run())
        return super().result(timeout)


class _LazyPool:
    """Stands for the ``ProcessPoolExecutor``: no process, lazy futures."""

    def __init__(self) -> None:
        self.submitted = 0
        self.ran = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        self.submitted += 1
        return _LazyFuture(lambda: fn(*args), self)


class _EagerPool(_LazyPool):
    """Every other task is done at once (a fast worker), the others lazily."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future = super().submit(fn, *args)
        if self.submitted % 2:
            future.result()
        return future


def _message(number: int) -> bytes:
    if number % 9 == 4:
        return b"From: paul@example.org\nSubject: Re: nouvelles\n\nMerci !\n"
    dsn = make_dsn(
        original=b"From: Club <news@asso.example>\r\nTo: x@example.org\r\n\r\nBonjour\r\n",
        recipient=f"user{number}@example.org",
        status="5.1.1" if number % 2 else "4.2.2",
        diagnostic="550 5.1.1 user unknown",
        remote_mta="mx.provider.example",
        reporting_mta="relay.asso.example",
        date=NOW,
    ).replace(b"\r\n", b"\n")
    if number % 7 == 3:  # no Message-ID: its identity is a digest of its bytes
        return dsn
    return f"Message-ID: <b.{number}@mx>\n".encode() + dsn


def _mbox(path: Path, count: int) -> Path:
    with path.open("wb") as out:
        for number in range(count):
            out.write(b"From MAILER-DAEMON Fri Nov 20 10:00:00 2026\n")
            out.write(_message(number))
            out.write(b"\n")
    return path


def _key(outcome: Outcome) -> tuple[object, ...]:
    return (outcome.source, outcome.source_key, outcome.analysis, outcome.problem, outcome.date)


def _serial(units: Iterable[Any], limits: ParseLimits) -> list[tuple[object, ...]]:
    return [_key(o) for o in analyse_stream(units, limits, None)]


@pytest.mark.parametrize("pool_type", [_LazyPool, _EagerPool])
@pytest.mark.parametrize("workers", [1, 2])
def test_regions_analysed_here_or_by_workers_give_the_serial_outcomes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool_type: type[_LazyPool], workers: int
) -> None:
    monkeypatch.setattr(analysis_pool, "_HELPED", 3)
    mbox = _mbox(tmp_path / "bounces.mbox", 150)
    regions = list(mbox_regions(str(mbox), str(mbox), region_bytes=3000, cap=1 << 20))
    assert len(regions) > 3 * (workers * analysis_pool._TASKS_PER_WORKER + 3)
    limits = DEFAULT_LIMITS
    pool = pool_type()
    found = [_key(o) for o in analyse_stream(regions, limits, pool, workers)]  # type: ignore[arg-type]
    # As one process reads the file: messages numbered across the regions.
    assert found == _serial(PathSource(str(mbox)), limits)
    assert [key[0] for key in found] == [f"{mbox}#{n}" for n in range(1, 151)]
    # Both sides did part of the work: the workers' share, and this process's.
    assert 0 < pool.ran < len(regions)
    assert pool.submitted > pool.ran  # the tasks no worker started were taken back at the end


def test_messages_read_here_are_analysed_in_order_by_either_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(analysis_pool, "CHUNK", 4)
    units = [RawMessage(f"msg{n}.eml", _message(n), len(_message(n))) for n in range(90)]
    pool = _EagerPool()
    found = [_key(o) for o in analyse_stream(units, DEFAULT_LIMITS, pool, 1)]  # type: ignore[arg-type]
    assert found == _serial(units, DEFAULT_LIMITS)
    assert 0 < pool.ran < pool.submitted


def test_a_short_input_is_analysed_here_without_waiting_for_a_worker(tmp_path: Path) -> None:
    mbox = _mbox(tmp_path / "one.mbox", 3)
    regions = list(mbox_regions(str(mbox), str(mbox), region_bytes=1 << 20, cap=1 << 20))
    pool = _LazyPool()
    found = [_key(o) for o in analyse_stream(regions, DEFAULT_LIMITS, pool, 1)]  # type: ignore[arg-type]
    assert found == _serial(PathSource(str(mbox)), DEFAULT_LIMITS)
    assert (pool.submitted, pool.ran) == (1, 0)  # handed out, then taken back unstarted
