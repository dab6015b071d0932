"""Checks before sending (issue 4): addresses, content, the sender's domain, a whole campaign.

Public functions:

- ``check_addresses(paths, ...)``: one ``AddressResult`` per input address, in input order;
- ``check_content(path_or_campaign, ...)``: ``Finding`` list for a message's links and size;
- ``check_domain(domain, ...)``: ``Finding`` list for the sender domain's SPF, DKIM, DMARC, MX;
- ``check_campaign(campaign_file, ...)``: all of the above for one campaign, with severities so
  ``send`` can refuse on errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from mailbounce.checks.addresses import (
    AddressChecker,
    AddressResult,
    AddressSummary,
    distinct_domains,
    iter_address_results,
    resolve_domains,
)
from mailbounce.checks.campaign import CampaignParts, CampaignReport, read_campaign_files
from mailbounce.checks.content import ContentChecker, MessageContent, load_message
from mailbounce.checks.dns import DomainVerdict, MailDomainChecker
from mailbounce.checks.domain import CouldNotCheck, domain_findings
from mailbounce.checks.findings import Finding, Severity, has_errors, needs_attention
from mailbounce.checks.providers import KnowledgeBase, load_knowledge_base
from mailbounce.checks.settings import CheckSettings, check_settings
from mailbounce.checks.typos import TypoEngine
from mailbounce.config import Config
from mailbounce.lists import ColumnMapping
from mailbounce.models import SuppressionCause
from mailbounce.store.contacts import suppressed_causes
from mailbounce.store.db import Store

if TYPE_CHECKING:  # dnspython loads with the first query (checks/dns.py)
    from dns.resolver import Resolver

__all__ = [
    "AddressCheck",
    "AddressResult",
    "AddressSummary",
    "CampaignParts",
    "CampaignReport",
    "CheckSettings",
    "CouldNotCheck",
    "Finding",
    "KnowledgeBase",
    "MessageContent",
    "Severity",
    "TypoEngine",
    "check_addresses",
    "check_campaign",
    "check_content",
    "check_domain",
    "has_errors",
    "needs_attention",
    "suppressions_from",
]


def suppressions_from(db_path: Path | None) -> dict[str, SuppressionCause]:
    """Suppressed addresses of an EXISTING database; a check never creates one."""
    if db_path is None or not db_path.is_file():
        return {}
    with Store(db_path) as store:
        return suppressed_causes(store)


class AddressCheck:
    """The results of ``check_addresses``: iterate once; ``summary`` is complete afterwards."""

    def __init__(
        self, paths: list[Path], checker: AddressChecker, columns: ColumnMapping | None
    ) -> None:
        self.paths = paths
        self.checker = checker
        self.columns = columns

    @property
    def summary(self) -> AddressSummary:
        return self.checker.summary

    def __iter__(self) -> Iterator[AddressResult]:
        return iter_address_results(self.paths, self.checker, columns=self.columns)


def check_addresses(
    paths: Iterable[Path],
    *,
    config: Config | None = None,
    db_path: Path | None = None,
    dns: bool = False,
    resolver: Resolver | None = None,
    columns: ColumnMapping | None = None,
    engine: TypoEngine | None = None,
) -> AddressCheck:
    """Check the addresses of CSV lists or plain address files.

    With ``dns``, every distinct domain is queried once (concurrently) before the results
    are produced; ``resolver`` overrides the configured or system resolver. Suppressions come
    from ``db_path`` only when that database exists.
    """
    files = [Path(p) for p in paths]
    settings = check_settings(config)
    if engine is None:
        engine = TypoEngine(load_knowledge_base(config))
    verdicts: dict[str, DomainVerdict] = {}
    if dns:
        checker = MailDomainChecker(resolver if resolver is not None else settings.resolver())
        verdicts = resolve_domains(files, checker, columns)
    address_checker = AddressChecker(
        engine=engine, suppressed=suppressions_from(db_path), domains=verdicts
    )
    return AddressCheck(files, address_checker, columns)


def _is_campaign_file(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def check_content(
    source: Path | MessageContent,
    *,
    config: Config | None = None,
    recipient_domains: Iterable[str] | None = None,
    lists: Iterable[Path] = (),
    smtp_max_size: int | None = None,
) -> list[Finding]:
    """Findings for a message: an HTML/text/.eml file, a campaign YAML file or a
    ``MessageContent``. The recipient domains (laposte.net's rule, provider size limits)
    come from ``recipient_domains``, the ``lists`` given and a campaign file's lists.
    ``smtp_max_size`` is the relay's advertised SIZE when the caller knows it."""
    domains = set(recipient_domains or ())
    domains |= set(distinct_domains(list(lists)))
    if isinstance(source, MessageContent):
        content = source
    elif _is_campaign_file(source):
        files = read_campaign_files(source)
        content = files.message()
        domains |= set(distinct_domains(files.lists, files.columns))
    else:
        content = load_message(source)
    checker = ContentChecker(
        load_knowledge_base(config), check_settings(config), domains, smtp_max_size
    )
    return checker.check(content)


def check_domain(
    domain: str,
    *,
    dkim_selector: str | None = None,
    config: Config | None = None,
    resolver: Resolver | None = None,
) -> list[Finding]:
    """Findings for the sender domain (SPF with the relay, DKIM, DMARC, MX).

    Raises ``CouldNotCheck`` (exit 1) when DNS gives no usable answer.
    """
    settings = check_settings(config)
    checker = MailDomainChecker(resolver if resolver is not None else settings.resolver())
    return domain_findings(
        checker,
        domain,
        dkim_selector=dkim_selector or settings.dkim_selector,
        relay=settings.relay_spf,
    )


def _address_findings(files: CampaignParts, check: AddressCheck) -> list[Finding]:
    """Per-address findings, as warnings at most: ``send`` skips an invalid row and the
    rest of the campaign is unaffected, so a bad address must not block the send."""
    findings = []
    several = len(files.lists) > 1
    for result in check:
        where = f"{result.file}:{result.line}" if several else f"line {result.line}"
        for finding in result.findings:
            if finding.severity is Severity.INFO and finding.code == "duplicate":
                continue  # merged when sending; counted in the summary
            hint = f" (did you mean {result.suggestion}?)" if finding.code == "typo" else ""
            skipped = "; skipped when sending" if not result.valid else ""
            findings.append(
                Finding(
                    finding.code,
                    min(finding.severity, Severity.WARNING, key=lambda s: s.rank),
                    f"{result.address} ({where}): {finding.message}{hint}{skipped}",
                    rule=finding.rule,
                    provider=finding.provider,
                    subject=result.address,
                )
            )
    return findings


def _provider_notes(kb: KnowledgeBase, domains: set[str]) -> list[Finding]:
    notes = []
    for rule in kb.rules:
        present = sorted(domains & set(rule.domains))
        if rule.greylisting and present:
            notes.append(
                Finding(
                    "greylisting",
                    Severity.INFO,
                    f"{', '.join(present)}: {rule.description} mailbounce retries deferred "
                    "mail on later runs (cron).",
                    rule=rule.id,
                    provider=rule.provider,
                )
            )
    return notes


def check_campaign(
    campaign: Path | CampaignParts,
    *,
    config: Config | None = None,
    db_path: Path | None = None,
    dns: bool = True,
    resolver: Resolver | None = None,
    smtp_max_size: int | None = None,
) -> CampaignReport:
    """All checks for one campaign (a campaign YAML file, or ``CampaignParts`` built by the
    caller); ``send`` refuses on ``has_errors(report.findings)``.

    Could-not-check conditions (DNS unavailable for the sender domain) land in
    ``report.unchecked`` rather than passing for clean.
    """
    files = read_campaign_files(campaign).parts() if isinstance(campaign, Path) else campaign
    report = CampaignReport()
    kb = load_knowledge_base(config)
    settings = check_settings(config)
    resolver = resolver if resolver is not None else (settings.resolver() if dns else None)
    check = check_addresses(
        files.lists,
        config=config,
        db_path=db_path,
        dns=dns,
        resolver=resolver,
        columns=files.columns,
        engine=TypoEngine(kb),
    )
    report.findings.extend(_address_findings(files, check))
    report.addresses = check.summary.addresses
    report.invalid_addresses = check.summary.invalid
    domains = set(distinct_domains(files.lists, files.columns))
    content = ContentChecker(kb, settings, domains, smtp_max_size)
    report.findings.extend(content.check(files.message))
    report.findings.extend(_provider_notes(kb, domains))
    sender = files.sender_domain
    if sender is None:
        report.findings.append(
            Finding("from-missing", Severity.ERROR, "the campaign has no valid 'from' address")
        )
    elif dns:
        try:
            report.findings.extend(check_domain(sender, config=config, resolver=resolver))
        except CouldNotCheck as exc:
            report.unchecked.append(exc.message)
    return report
