"""CPU per message of ``analyse_message`` beside a bare compat32 parse, in the same run (issue 3).

Reads the DEV corpus maildir (``$MAILBOUNCE_CORPUS`` or ``/work/shared/corpus``; read in place,
never copied) into memory, then times in this process, in turn, best of ``--rounds``:

- a bare ``email.message_from_bytes`` with the compat32 policy (what flufl.bounce starts with);
- a flufl-like baseline when ``flufl.bounce`` is importable (compat32 parse + ``all_failures``);
- ``analyse_message`` (parse, detectors, classification);
- the parts of it: the parse alone, every detector gate (as ``Markers``, and compiled),
  ``classify`` alone per record.

Prints CPU milliseconds per message (``time.process_time``: the load of a shared machine swings
wall-clock figures) and the ratio analyse_message / compat32 parse. Then the steadier figure
under load: each message parsed and analysed ``--rounds`` times in turn, the fastest of each
kept (wall clock per run: a preempted run is dropped, not averaged in), summed over the
corpus, and that ratio.
Target: analyse_message at most as costly as the bare parse (ratio ≤ 1.0). Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mailbounce.bounces import UnparseableMessage, _normalise, analyse_message
from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces.base import Mail
from mailbounce.bounces.registry import COMPILED, GATED
from mailbounce.classify import classify
from mailbounce.models import BounceFacts

CORPUS = Path(os.environ.get("MAILBOUNCE_CORPUS", "/work/shared/corpus"))


def _load() -> list[bytes]:
    maildir = CORPUS / "bounces" / "maildir"
    if not maildir.is_dir():
        sys.exit(f"no corpus at {maildir} (set MAILBOUNCE_CORPUS)")
    return [p.read_bytes() for p in sorted(maildir.rglob("*")) if p.is_file()]


def _best(rounds: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    raws = [_normalise(raw) for raw in _load()]
    count = len(raws)

    def compat32() -> None:
        for raw in raws:
            email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)

    def analyse() -> None:
        for raw in raws:
            with contextlib.suppress(UnparseableMessage):
                analyse_message(raw)

    def parsed() -> list[object]:
        return [
            parse_message(raw)
            or email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)
            for raw in raws
        ]

    messages = parsed()

    def gates() -> None:
        for msg in messages:
            mail = Mail(msg)  # type: ignore[arg-type]
            for _, gate in GATED:
                if gate is not None:
                    gate(mail)

    def compiled() -> None:
        for msg in messages:
            mail = Mail(msg)  # type: ignore[arg-type]
            for _, gate in COMPILED:
                if gate is not None:
                    gate(mail)

    facts: list[BounceFacts] = []
    for raw in raws:
        with contextlib.suppress(UnparseableMessage):
            facts.extend(f for f, _ in analyse_message(raw).results)

    def classification() -> None:
        for one in facts:
            classify(one)

    analyse()  # warm the caches (compiled patterns, literal plans)
    figures = {
        "compat32 parse": _best(args.rounds, compat32),
        "analyse_message": _best(args.rounds, analyse),
        "  its parse": _best(args.rounds, parsed),
        "  every gate as Markers (views built)": _best(args.rounds, gates),
        "  every gate compiled (views built)": _best(args.rounds, compiled),
    }
    flufl = _flufl(raws)
    if flufl is not None:
        figures["flufl-like (parse + all_failures)"] = _best(args.rounds, flufl)
    for name, seconds in figures.items():
        print(f"{name:36} {seconds / count * 1e3:7.3f} ms/msg  {count / seconds:7.0f} msgs/CPU-s")
    per_record = _best(args.rounds, classification) / max(len(facts), 1)
    print(f"{'  classify (per record)':36} {per_record * 1e6:7.1f} µs ({len(facts)} records)")
    ratio = figures["analyse_message"] / figures["compat32 parse"]
    print(f"analyse_message / compat32 parse: {ratio:.2f} ({count} messages, CPU time)")
    parse_best, analyse_best = _per_message_minima(raws, args.rounds)
    print(
        f"per-message minima: compat32 parse {parse_best / count * 1e3:.3f} ms/msg, "
        f"analyse_message {analyse_best / count * 1e3:.3f} ms/msg, "
        f"ratio {analyse_best / parse_best:.2f}"
    )
    return 0


def _per_message_minima(raws: list[bytes], rounds: int) -> tuple[float, float]:
    """(parse, analyse) seconds: per message, the fastest of ``rounds`` runs, summed."""

    def parse(raw: bytes) -> None:
        email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)

    def analyse(raw: bytes) -> None:
        with contextlib.suppress(UnparseableMessage):
            analyse_message(raw)

    totals = [0.0, 0.0]
    for raw in raws:
        best = [float("inf"), float("inf")]
        for _ in range(rounds):
            for index, run in enumerate((parse, analyse)):
                start = time.perf_counter()
                run(raw)
                best[index] = min(best[index], time.perf_counter() - start)
        totals[0] += best[0]
        totals[1] += best[1]
    return totals[0], totals[1]


def _flufl(raws: list[bytes]) -> Callable[[], None] | None:
    try:
        from flufl.bounce import all_failures  # type: ignore[import-not-found]
    except ImportError:
        return None

    def run() -> None:
        for raw in raws:
            # flufl raises on some mail; the benchmark only times it.
            with contextlib.suppress(Exception):
                all_failures(email.message_from_bytes(raw))

    return run


if __name__ == "__main__":
    sys.exit(main())
