"""``check addresses``: every address of the lists, in input order, with what is wrong with it.

Per address: syntax (``lists.address_problem``, email-validator behind a fast path) with a
repaired form for copy-and-paste artifacts, a typo suggestion for the domain, quoted local
parts, duplicates (across all the files given), role accounts, suppressions already in the
store, and, when asked, whether the domain can receive mail (DNS, one query per domain).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailbounce.addresses import domain_of, normalize_address
from mailbounce.checks.dns import DomainVerdict, MailDomainChecker, MailDomainStatus
from mailbounce.checks.findings import Finding, Severity
from mailbounce.checks.syntax import (
    is_quoted_local_part,
    is_role_account,
    quoted_local_part_is_valid,
    repair_artifacts,
)
from mailbounce.checks.typos import TypoEngine
from mailbounce.lists import ColumnMapping, ListEntry, address_problem, read_addresses
from mailbounce.models import SuppressionCause


@dataclass(frozen=True, slots=True)
class AddressResult:
    """The verdict on one input address (one row of ``check addresses --format jsonl``)."""

    address: str
    line: int
    valid: bool
    suggestion: str | None
    findings: tuple[Finding, ...]
    file: str = ""

    def as_dict(self, *, with_file: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if with_file:
            data["file"] = self.file
        data.update(
            address=self.address,
            line=self.line,
            valid=self.valid,
            suggestion=self.suggestion,
            findings=[f.as_dict() for f in self.findings],
        )
        return data


@dataclass
class AddressSummary:
    """Counts for people (stderr), complete once the results were consumed."""

    addresses: int = 0
    invalid: int = 0
    with_findings: int = 0
    without_address: int = 0


_SUPPRESSION_SEVERITY = {
    SuppressionCause.INVALID: Severity.WARNING,
    SuppressionCause.COMPLAINED: Severity.WARNING,
    SuppressionCause.UNSUBSCRIBED: Severity.INFO,
    SuppressionCause.MANUAL: Severity.INFO,
    SuppressionCause.FORGOTTEN: Severity.INFO,
}
_SUPPRESSION_TEXT = {
    SuppressionCause.INVALID: "already identified as invalid (permanent rejection)",
    SuppressionCause.COMPLAINED: "reported a previous mail as spam",
    SuppressionCause.UNSUBSCRIBED: "unsubscribed",
    SuppressionCause.MANUAL: "suppressed by hand",
    SuppressionCause.FORGOTTEN: "asked to be forgotten",
}


class AddressChecker:
    """Checks entries one at a time; keeps what must be remembered across files."""

    def __init__(
        self,
        *,
        engine: TypoEngine | None = None,
        suppressed: Mapping[str, SuppressionCause] | None = None,
        domains: Mapping[str, DomainVerdict] | None = None,
    ) -> None:
        self.engine = engine if engine is not None else TypoEngine()
        self.suppressed = suppressed or {}
        self.domains = domains or {}
        self._seen: dict[str, str] = {}
        self.summary = AddressSummary()

    def check_entry(
        self, entry: ListEntry, path: Path, *, several_files: bool = False
    ) -> AddressResult:
        raw = entry.raw_address.strip()
        findings: list[Finding] = []
        valid, suggestion = self._syntax(entry, raw, findings)
        address = entry.address or normalize_address(raw)
        if valid:
            typo = self.engine.suggest(raw)
            if typo is not None:
                suggestion = typo
                findings.append(
                    Finding(
                        "typo",
                        Severity.WARNING,
                        f"the domain {domain_of(raw)} looks like a typo of {domain_of(typo)}",
                        rule="typo",
                    )
                )
            self._duplicate(address, entry.line, path, several_files, findings)
            self._role_and_store(address, findings)
            valid = self._deliverable(address, findings) and valid
        self._count(valid, findings)
        return AddressResult(raw, entry.line, valid, suggestion, tuple(findings), str(path))

    # -- the parts -----------------------------------------------------------------------
    def _syntax(
        self, entry: ListEntry, raw: str, findings: list[Finding]
    ) -> tuple[bool, str | None]:
        if entry.problem is None:
            return True, None
        if is_quoted_local_part(raw) and quoted_local_part_is_valid(raw):
            findings.append(
                Finding(
                    "quoted-local-part",
                    Severity.WARNING,
                    "the part before @ is quoted: legal, but many servers refuse it",
                    rule="syntax",
                )
            )
            return True, None
        repaired, fixes = repair_artifacts(raw)
        if fixes and address_problem(normalize_address(repaired)) is None:
            better = self.engine.suggest(repaired) or repaired
            findings.append(
                Finding(
                    "syntax",
                    Severity.ERROR,
                    f"invalid address ({', '.join(fixes)}); probably {better}",
                    rule="syntax",
                )
            )
            return False, better
        findings.append(
            Finding("syntax", Severity.ERROR, f"invalid address: {entry.problem}", rule="syntax")
        )
        return False, None

    def _duplicate(
        self, address: str, line: int, path: Path, several_files: bool, findings: list[Finding]
    ) -> None:
        where = f"{path}:{line}" if several_files else f"line {line}"
        first = self._seen.setdefault(address, where)
        if first != where:
            findings.append(
                Finding("duplicate", Severity.INFO, f"same address as {first}", rule="duplicate")
            )

    def _role_and_store(self, address: str, findings: list[Finding]) -> None:
        if is_role_account(address):
            findings.append(
                Finding(
                    "role",
                    Severity.INFO,
                    "a role account (a function, not a person): rarely read, often filtered",
                    rule="role",
                )
            )
        cause = self.suppressed.get(address)
        if cause is not None:
            findings.append(
                Finding(
                    f"suppressed-{cause}",
                    _SUPPRESSION_SEVERITY[cause],
                    f"{_SUPPRESSION_TEXT[cause]}: will not be mailed",
                    rule="suppression",
                )
            )

    def _deliverable(self, address: str, findings: list[Finding]) -> bool:
        verdict = self.domains.get(domain_of(address))
        if verdict is None:
            return True
        if verdict.status is MailDomainStatus.INVALID:
            findings.append(Finding("domain-no-mail", Severity.ERROR, verdict.detail, rule="dns"))
            return False
        if verdict.status is MailDomainStatus.UNKNOWN:
            findings.append(
                Finding(
                    "domain-unknown",
                    Severity.WARNING,
                    f"could not tell whether the domain receives mail: {verdict.detail}",
                    rule="dns",
                )
            )
        return True

    def _count(self, valid: bool, findings: list[Finding]) -> None:
        self.summary.addresses += 1
        self.summary.invalid += not valid
        self.summary.with_findings += bool(findings)


def _entries(
    paths: Iterable[Path], columns: ColumnMapping | None
) -> Iterator[tuple[Path, ListEntry]]:
    for path in paths:
        for entry in read_addresses(path, columns=columns):
            yield path, entry


def distinct_domains(paths: Iterable[Path], columns: ColumnMapping | None = None) -> list[str]:
    """The valid addresses' domains, each once, in order of first appearance."""
    found: dict[str, None] = {}
    for _, entry in _entries(paths, columns):
        if entry.address is not None and entry.problem is None:
            found.setdefault(domain_of(entry.address), None)
    return list(found)


def iter_address_results(
    paths: Iterable[Path],
    checker: AddressChecker,
    *,
    columns: ColumnMapping | None = None,
) -> Iterator[AddressResult]:
    """One result per address, in input order; rows without an address are counted only."""
    files = list(paths)
    several = len(files) > 1
    for path, entry in _entries(files, columns):
        if entry.address is None:
            checker.summary.without_address += 1
            continue
        yield checker.check_entry(entry, path, several_files=several)


def resolve_domains(
    paths: Iterable[Path], dns: MailDomainChecker, columns: ColumnMapping | None = None
) -> dict[str, DomainVerdict]:
    """DNS verdicts for every distinct domain of the lists, queried concurrently."""
    return dns.check_many(distinct_domains(paths, columns))
