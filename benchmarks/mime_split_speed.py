"""MIME parse cost per bounce: the compat32 feedparser vs the fast splitter, same run (issue 3).

Reads the DEV corpus in place (``$MAILBOUNCE_CORPUS`` or ``../shared/corpus``; never copied),
``bsd/`` and ``not/`` (LF), and prints in-process CPU time per message (``time.process_time``,
best of three passes: the machine is shared) for:

- the parse alone: ``email.message_from_bytes(raw, IndexedMessage, policy=compat32)`` against
  ``parse_message(raw) or <the same feedparser call>``, and the share the fast path takes;
- the safety limits checks ``analyse_message`` makes on the raw bytes before the parse (size
  and header block; the fast splitter counts depth and parts as it builds the tree);
- the whole ``analyse_message``, with the fast splitter and with it switched off.

Not a test: figures only.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import mailbounce.bounces as bounces
from mailbounce.bounces._fastparse import parse_message
from mailbounce.bounces._message import IndexedMessage
from mailbounce.bounces.limits import DEFAULT_LIMITS, ParseLimits, before_parse_exceeded

ROOT = Path(__file__).resolve().parent.parent


def corpus_messages() -> list[bytes]:
    base = Path(os.environ.get("MAILBOUNCE_CORPUS", ROOT.parent / "shared" / "corpus"))
    maildir = base / "bounces" / "maildir"
    files = sorted(p for p in maildir.rglob("*") if p.is_file() and p.parent.name in ("bsd", "not"))
    if not files:
        sys.exit(f"no corpus under {maildir}: set MAILBOUNCE_CORPUS")
    return [bounces._normalise(p.read_bytes()) for p in files]


def feedparser(raw: bytes) -> object:
    return email.message_from_bytes(raw, IndexedMessage, policy=email.policy.compat32)


def fast_or_feedparser(raw: bytes) -> object:
    return parse_message(raw) or feedparser(raw)


def declined(raw: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> IndexedMessage | None:
    """``parse_message`` switched off: every message goes to the feedparser."""
    return None


def limits(raw: bytes) -> object:
    return before_parse_exceeded(raw, DEFAULT_LIMITS)


def analyse(raw: bytes) -> object:
    try:
        return bounces.analyse_message(raw)
    except bounces.UnparseableMessage:
        return None


def cpu_per_message(work: Callable[[bytes], object], messages: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(rounds):
            for raw in messages:
                work(raw)
        best = min(best, (time.process_time() - start) / (rounds * len(messages)))
    return best


def line(name: str, seconds: float) -> str:
    return f"  {name:38s} {seconds * 1e3:7.4f} ms/msg  {1 / seconds:8.0f} msgs/CPU-s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the corpus per figure")
    args = parser.parse_args()
    messages = corpus_messages()
    taken = sum(parse_message(raw) is not None for raw in messages)
    print(f"{len(messages)} DEV corpus messages; the fast path takes {taken}", end="")
    print(f" ({100 * taken / len(messages):.1f}%); CPU time per message, best of 3:")
    old = cpu_per_message(feedparser, messages, args.rounds)
    new = cpu_per_message(fast_or_feedparser, messages, args.rounds)
    print(line("parse: feedparser", old))
    print(line("parse: fast splitter (or feedparser)", new) + f"  ({old / new:.1f}x)")
    print(
        line(
            "safety limits check (before the parse)", cpu_per_message(limits, messages, args.rounds)
        )
    )
    bounces.parse_message = declined  # type: ignore[attr-defined]
    old = cpu_per_message(analyse, messages, max(1, args.rounds // 2))
    bounces.parse_message = parse_message  # type: ignore[attr-defined]
    new = cpu_per_message(analyse, messages, max(1, args.rounds // 2))
    print(line("analyse_message: feedparser", old))
    print(line("analyse_message: fast splitter", new) + f"  ({old / new:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
