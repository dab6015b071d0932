"""How a send run is split over worker processes (``send_workers``): the shares.

How many processes (``plan_split``): one by default, or what ``--processes`` asks, never
more than the connections, and 1 when:

- ``--concurrency 1`` or ``--dry-run``, or at most one recipient is due;
- a per-domain rate limit is configured (``sending.domains.<d>.rate``): each process would
  keep its own message slots for the domain, and their first slots would coincide.

Otherwise the limits are split exactly: the connections (8 over 2 processes: 4 and 4; 3: 2
and 1); ``--limit N`` (shares adding up to N; fewer processes than N); ``--rate R`` (R/P
each, worker ``i`` starting ``i/R`` seconds later, so the slots interleave as one limiter's
would); a per-domain connection limit ``c`` (shares adding up to ``c``, at least one each:
a domain allowed 1 connection makes the run one process). What is not shared: a 421 that
backs a domain off is learnt by each process on its own (at most one extra attempt per
other process, deferred as well).

Why one by default: on an idle 2-core machine, ``--concurrency 8`` in 2 processes sent no
faster than in one (1,454-1,499 msg/s vs 1,443-1,707 into smtp-sink, three same-run pairs)
for about 35% more CPU per message: SQLite takes one commit at a time, the processes' commits
carry fewer messages each, and each process re-reads the pages the other wrote. On a machine
loaded by other work, 2 processes were 1.2-1.9x faster in 4 runs of 5 (benchmarks/
send_throughput.py prints both). So more processes is the user's choice, not the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from mailbounce.campaign import Campaign, DomainLimit
from mailbounce.errors import UsageError


@dataclass(frozen=True)
class Share:
    """One process's part of a run: its connections and limits (``campaign``), how many
    recipients it may claim (``limit``) and how long it waits before starting (``delay``,
    seconds: staggers the ``--rate`` slots)."""

    campaign: Campaign
    limit: int
    delay: float = 0.0


def plan_split(
    campaign: Campaign,
    *,
    due: int,
    limited: bool,
    processes: int | None = None,
    dry_run: bool = False,
) -> list[Share]:
    """The shares of a run of ``due`` recipients (``limited``: ``due`` is ``--limit``'s
    cap, split exactly); one share: run in this process. See the module docstring."""
    count = _process_count(campaign, due, processes, dry_run)
    if count == 1:
        return [Share(campaign, due)]
    connections = _parts(min(campaign.concurrency, due), count)
    limits = _parts(due, count) if limited else [due] * count
    shares = []
    for index in range(count):
        rate = campaign.rate / count if campaign.rate else None
        delay = index / campaign.rate if campaign.rate else 0.0
        domains = {
            domain: replace(limit, concurrency=_parts(limit.concurrency, count)[index])
            if limit.concurrency
            else limit
            for domain, limit in campaign.domains.items()
        }
        part = replace(campaign, concurrency=connections[index], rate=rate, domains=domains)
        shares.append(Share(part, limits[index], delay))
    return shares


def _process_count(campaign: Campaign, due: int, processes: int | None, dry_run: bool) -> int:
    if processes is not None and processes < 1:
        raise UsageError(f"--processes must be at least 1, not {processes}")
    if dry_run or _has_domain_rate(campaign.domains):
        return 1
    wanted = processes if processes is not None else 1
    caps = [wanted, campaign.concurrency, due]
    caps += [limit.concurrency for limit in campaign.domains.values() if limit.concurrency]
    return max(1, min(caps))


def _has_domain_rate(domains: Mapping[str, DomainLimit]) -> bool:
    return any(limit.rate for limit in domains.values())


def _parts(total: int, count: int) -> list[int]:
    """``total`` split into ``count`` parts that differ by at most one, largest first."""
    return [total // count + (1 if index < total % count else 0) for index in range(count)]


__all__ = ["Share", "plan_split"]
