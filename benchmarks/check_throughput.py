"""Throughput of `check addresses` over 100,000 addresses, DNS off, against its baseline.

Prints, measured in the same run on the same addresses:
- email-validator's syntax check alone (the floor every full check pays);
- the typo engine alone (fresh engine: its neighbour index and per-domain cache start empty);
- the full `check addresses` (reading the file, syntax, typos, duplicates, roles).
Targets: typo engine >= 3x the syntax check's rate; full check >= 0.7x the syntax check.

The addresses mimic a French association's lists: mostly the big providers, some typos of
them, and a long tail of distinct organisation domains.
Usage: python benchmarks/check_throughput.py [N]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from mailbounce.checks import check_addresses
from mailbounce.checks.providers import default_knowledge_base
from mailbounce.checks.typos import TypoEngine

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
FIRST = ["jean", "marie", "paul", "lea", "luc", "anne", "hugo", "ines", "tom", "zoe", "yves"]
LAST = ["dupont", "martin", "bernard", "durand", "petit", "moreau", "lefebvre", "garcia"]


def _slip(rng: random.Random, domain: str) -> str:
    name, _, tld = domain.partition(".")
    i = rng.randrange(1, len(name))
    kind = rng.randrange(4)
    if kind == 0:
        name = name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]  # transposition
    elif kind == 1:
        name = name[:i] + name[i + 1 :]  # omission
    elif kind == 2:
        name = name[:i] + name[i] + name[i:]  # doubling
    else:
        tld = {"com": "con", "fr": "ft", "net": "nte"}.get(tld, tld + tld[-1])
    return f"{name}.{tld}"


def make_addresses(n: int) -> list[str]:
    rng = random.Random(20261128)
    kb = default_knowledge_base()
    providers = [d for d, w in kb.domains.items() if w > 0]
    weights = [kb.domains[d] for d in providers]
    orgs = [
        f"asso-{rng.randrange(10**6):06d}.{rng.choice(['fr', 'org', 'com'])}" for _ in range(3000)
    ]
    addresses = []
    for k in range(n):
        roll = rng.random()
        if roll < 0.70:
            domain = rng.choices(providers, weights)[0]
        elif roll < 0.78:
            domain = _slip(rng, rng.choices(providers, weights)[0])
        else:
            domain = rng.choice(orgs)
        local = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{k}"
        addresses.append(f"{local}@{domain}")
    return addresses


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def bench_syntax(addresses: list[str]) -> float:
    start = time.perf_counter()
    for address in addresses:
        try:  # noqa: SIM105  (a context manager per call would slow the baseline down)
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            pass
    return rate(len(addresses), time.perf_counter() - start)


def bench_typos(addresses: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    engine = TypoEngine()
    built = time.perf_counter() - start
    start = time.perf_counter()
    for address in addresses:
        engine.suggest(address)
    return rate(len(addresses), time.perf_counter() - start + built), built


def bench_distinct(count: int = 20_000) -> float:
    """Worst case for the per-domain cache: every domain different, none a provider."""
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    domains = [
        "".join(rng.choice(letters) for _ in range(rng.randrange(5, 16)))
        + rng.choice([".fr", ".com", ".org"])
        for _ in range(count)
    ]
    engine = TypoEngine()
    start = time.perf_counter()
    for domain in domains:
        engine.suggest_domain(domain)
    return rate(count, time.perf_counter() - start)


def bench_full(path: Path, count: int) -> tuple[float, int]:
    start = time.perf_counter()
    flagged = sum(1 for result in check_addresses([path]) if result.findings)
    return rate(count, time.perf_counter() - start), flagged


def main() -> None:
    addresses = make_addresses(N)
    distinct = len({a.rpartition("@")[2] for a in addresses})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "members.txt"
        path.write_text("\n".join(addresses) + "\n", encoding="utf-8")
        syntax = bench_syntax(addresses)
        typos, built = bench_typos(addresses)
        full, flagged = bench_full(path, len(addresses))
        distinct_rate = bench_distinct()
    print(f"{N} addresses, {distinct} distinct domains, DNS off")
    print(f"  email-validator syntax alone : {syntax:12,.0f} addresses/s  (baseline)")
    print(
        f"  typo engine alone            : {typos:12,.0f} addresses/s  "
        f"= {typos / syntax:5.1f}x baseline (target >= 3x; index built in {built * 1000:.0f} ms)"
    )
    print(
        f"  full check addresses         : {full:12,.0f} addresses/s  "
        f"= {full / syntax:5.2f}x baseline (target >= 0.7x); {flagged} with findings"
    )
    print(
        f"  typo engine, every domain new: {distinct_rate:12,.0f} domains/s    "
        f"= {distinct_rate / syntax:5.2f}x baseline (worst case for the cache; no target)"
    )


if __name__ == "__main__":
    main()
