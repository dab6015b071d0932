"""Campaign reports: pure aggregation of the store's figures, labelled in French or English.

``build_report`` gathers the figures (counters kept by the store's triggers, read by
``mailbounce.store.reports``) into a ``CampaignReport``; its rejected list is streamed,
never held in memory, so a campaign of a million recipients reports in flat memory and in
the same time as a small one. Screens show the most recent ``limit`` rejections (a person
cannot read 100,000 rows); the CSV export has them all. The writers for each format live
in ``report_text`` (table, markdown, json, csv) and ``report_html``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mailbounce.advice import Advice, Invalidation, check_lang, explain, is_reason, term
from mailbounce.errors import NotFoundError, UsageError
from mailbounce.models import Kind, Party, SkipCause
from mailbounce.report_options import DEFAULT_LIMIT
from mailbounce.store import Store, utcnow
from mailbounce.store import reports as sql
from mailbounce.store.reports import REJECTION_OUTCOMES

# Every outcome, in the order of the totals; each delivery has exactly one.
OUTCOMES = (
    "accepted",
    "deferred",
    "temporary",
    "permanent",
    "complaint",
    "uncertain",
    "pending",
    *(f"skipped_{cause}" for cause in SkipCause),
)
# Rejections that point at the sender's setup, reputation or content (DESIGN §4).
SENDER_PARTIES = (Party.SENDER, Party.CONTENT)
_MORE = {
    "fr": "… et {count} de plus : `{command}` les exporte tous (ou --all)",
    "en": "… and {count} more: `{command}` exports them all (or --all)",
}

RejectedRows = Callable[[int | None], Iterator[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """Everything ``mailbounce report`` shows about one campaign, in one language."""

    campaign: sql.CampaignInfo
    lang: str
    generated_at: str
    totals: dict[str, int]
    reasons: list[dict[str, Any]]
    domains: list[dict[str, Any]]
    sender_problems: list[dict[str, Any]]
    rows: RejectedRows = field(repr=False)
    limit: int | None = DEFAULT_LIMIT  # None: list every rejected recipient
    title: str | None = None  # the subject as a recipient without fields sees it

    @property
    def recipients(self) -> int:
        return sum(self.totals.values())

    @property
    def rejected_total(self) -> int:
        return sum(self.totals[name] for name in REJECTION_OUTCOMES)

    @property
    def rejected_hidden(self) -> int:
        """How many rejected recipients the limited list leaves out."""
        return 0 if self.limit is None else max(self.rejected_total - self.limit, 0)

    def rejected(self) -> Iterator[dict[str, Any]]:
        """Every rejected recipient, most recent first (the CSV export)."""
        return self.rows(None)

    def listed(self) -> Iterator[dict[str, Any]]:
        """The rejected recipients a screen shows: the most recent ``limit``."""
        return self.rows(self.limit)

    def more_text(self) -> str | None:
        """The line after a limited list: how many more, and the command listing them all."""
        if not self.rejected_hidden:
            return None
        command = f"mailbounce report {shlex.quote(self.campaign.name)} --format csv"
        return _MORE[self.lang].format(count=self.rejected_hidden, command=command)

    def label(self, key: str) -> str:
        return term(key, self.lang)

    def summary(self) -> dict[str, Any]:
        """The report without its rejected list (the head of the JSON shape)."""
        info = self.campaign
        return {
            "campaign": {
                "name": info.name,
                "subject": info.subject,
                "title": self.title,
                "from": info.from_addr,
                "created_at": info.created_at,
                "last_run_at": info.last_run_at,
            },
            "lang": self.lang,
            "generated_at": self.generated_at,
            "recipients": self.recipients,
            "totals": dict(self.totals),
            "reasons": self.reasons,
            "domains": self.domains,
            "sender_problems": self.sender_problems,
            "rejected_total": self.rejected_total,
        }


def rendered_subject(subject: str | None) -> str | None:
    """The subject as a recipient without fields sees it (the template's own defaults).

    ``{{ first_name or 'Bonjour' }}, la lettre`` reads "Bonjour, la lettre" in a report
    title. Rendered in the Jinja2 sandbox with lenient undefined values (a missing field is
    empty); the raw text when the template cannot be rendered at all.
    """
    if not subject or "{" not in subject:
        return subject
    # Imported here: Jinja2 costs ~50 ms to import, and most subjects are plain text.
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    try:
        text = SandboxedEnvironment(autoescape=False).from_string(subject).render()
    except jinja2.TemplateError:
        return subject
    return " ".join(text.split()) or subject


def advice_for(reason: str | None, lang: str) -> Advice:
    """The catalogue entry of a stored reason; ``unknown`` for none or an unexpected value."""
    return explain(reason if reason and is_reason(reason) else "unknown", lang)


def invalidation(advice: Advice, kind: str | None) -> Invalidation:
    """Whether a rejection of this reason and kind marks the address invalid."""
    rule = advice.invalid
    if rule is Invalidation.WHEN_PERMANENT and kind is not None:
        rule = Invalidation.NOW if kind == Kind.PERMANENT else Invalidation.NEVER
    return rule


def marked_invalid(advice: Advice, kind: str | None, lang: str) -> str:
    """``invalidation`` in words."""
    return term(f"invalid.{invalidation(advice, kind)}", lang)


def _totals(counts: dict[str, int]) -> dict[str, int]:
    totals = dict.fromkeys(OUTCOMES, 0)
    for name, count in counts.items():
        totals[name] = totals.get(name, 0) + count
    return totals


def _reasons(rows: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    result = []
    for row in rows:
        entry = advice_for(row["reason"], lang)
        kind = row["kind"]
        result.append(
            {
                "reason": row["reason"],
                "label": entry.label,
                "kind": kind,
                "kind_label": term(f"kind.{kind}", lang),
                "party": row["party"] or str(entry.party),
                "marked_invalid": marked_invalid(entry, kind, lang),
                "invalidation": str(invalidation(entry, kind)),
                "count": row["count"],
                "advice": entry.short,
            }
        )
    return result


# A forgotten person's deliveries keep only a keyed hash as address (people.forget): their
# figures count under this name rather than one "domain" per hash.
FORGOTTEN_DOMAIN = "(forgotten)"


def _merge_forgotten(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = FORGOTTEN_DOMAIN if "@" not in row["domain"] and ":" in row["domain"] else None
        if name is None:
            merged[row["domain"]] = dict(row)
            continue
        total = merged.setdefault(name, dict.fromkeys(row, 0) | {"domain": name})
        for key in ("recipients", "rejected", "greylisted", "throttled"):
            total[key] += row[key]
    return list(merged.values())


def _domains(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = _merge_forgotten(rows)
    return [
        {
            "domain": row["domain"],
            "recipients": row["recipients"],
            "rejected": row["rejected"],
            "rate": round(row["rejected"] / row["recipients"], 4) if row["recipients"] else 0.0,
            "greylisted": row["greylisted"],
            "throttled": row["throttled"],
        }
        for row in rows
        if row["recipients"] or row["rejected"]  # a domain only of skipped rows: nothing tried
    ]


def _sender_problems(reasons: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for row in reasons:
        entry = advice_for(row["reason"], lang)
        if entry.party not in SENDER_PARTIES:
            continue
        item = merged.setdefault(
            row["reason"],
            {
                "reason": row["reason"],
                "label": entry.label,
                "party": str(entry.party),
                "count": 0,
                "fix": entry.advice,
            },
        )
        item["count"] += row["count"]
    return sorted(merged.values(), key=lambda item: (-item["count"], item["reason"]))


@cache
def _labels(reason: str | None, kind: str | None, lang: str) -> tuple[str, str]:
    return advice_for(reason, lang).label, term(f"kind.{kind}", lang)


def labelled_rejection(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """One rejected recipient with the reason's label and the "see why" command."""
    label, kind_label = _labels(row["reason"], row["kind"], lang)
    return {
        "address": row["address"],
        "outcome": row["outcome"],
        "reason": row["reason"],
        "label": label,
        "kind": row["kind"],
        "kind_label": kind_label,
        "status": row["status"],
        "date": row["date"],
        "diagnostic": row["diagnostic"],
        "see_why": f"mailbounce explain {row['address']}",
    }


REJECTED_COLUMNS = ("address", "outcome", "reason", "label", "kind", "status", "date", "diagnostic")


def build_report(
    store: Store, campaign: str | None, lang: str, *, limit: int | None = DEFAULT_LIMIT
) -> CampaignReport:
    """The report of ``campaign`` (the most recent one when None), labelled in ``lang``.

    ``limit``: how many rejected recipients the screen formats list (None: all).
    """
    check_lang(lang)
    info = sql.find_campaign(store, campaign)
    if info is None:
        if campaign is None:
            raise NotFoundError("no campaign in the database yet: run `mailbounce send` first")
        known = ", ".join(sql.campaign_names(store)) or "none"
        raise NotFoundError(f"no campaign named '{campaign}' (known: {known})")
    if limit is not None and limit < 0:
        raise UsageError(f"--limit must be 0 or more, not {limit}")
    reasons = _reasons(sql.reason_counts(store, info.id), lang)

    def rows(count: int | None) -> Iterator[dict[str, Any]]:
        for row in sql.iter_rejections(store, info.id, count):
            yield labelled_rejection(row, lang)

    return CampaignReport(
        campaign=info,
        lang=lang,
        generated_at=utcnow(),
        totals=_totals(sql.outcome_counts(store, info.id)),
        reasons=reasons,
        domains=_domains(sql.domain_counts(store, info.id)),
        sender_problems=_sender_problems(reasons, lang),
        rows=rows,
        limit=limit,
        title=rendered_subject(info.subject),
    )
