"""Campaign reports: pure aggregation of the store's figures, labelled in French or English.

``build_report`` gathers the figures (aggregated in SQL by ``mailbounce.store.reports``)
into a ``CampaignReport``; its rejected list is streamed, never held in memory, so a
campaign of a million recipients reports in flat memory. The writers for each format live
in ``report_text`` (table, markdown, json, csv) and ``report_html``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mailbounce.advice import Advice, Invalidation, check_lang, explain, is_reason, term
from mailbounce.errors import NotFoundError
from mailbounce.models import Kind, Party, SkipCause
from mailbounce.store import Store, utcnow
from mailbounce.store import reports as sql

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
    rejected: Callable[[], Iterator[dict[str, Any]]] = field(repr=False)

    @property
    def recipients(self) -> int:
        return sum(self.totals.values())

    def label(self, key: str) -> str:
        return term(key, self.lang)

    def summary(self) -> dict[str, Any]:
        """The report without its rejected list (the head of the JSON shape)."""
        info = self.campaign
        return {
            "campaign": {
                "name": info.name,
                "subject": info.subject,
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
        }


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


def build_report(store: Store, campaign: str | None, lang: str) -> CampaignReport:
    """The report of ``campaign`` (the most recent one when None), labelled in ``lang``."""
    check_lang(lang)
    info = sql.find_campaign(store, campaign)
    if info is None:
        if campaign is None:
            raise NotFoundError("no campaign in the database yet: run `mailbounce send` first")
        known = ", ".join(sql.campaign_names(store)) or "none"
        raise NotFoundError(f"no campaign named '{campaign}' (known: {known})")
    sql.prepare_report(store, info.id)
    reasons = _reasons(sql.reason_counts(store, info.id), lang)

    def rejected() -> Iterator[dict[str, Any]]:
        for row in sql.iter_rejections(store, info.id):
            yield labelled_rejection(row, lang)

    return CampaignReport(
        campaign=info,
        lang=lang,
        generated_at=utcnow(),
        totals=_totals(sql.outcome_counts(store, info.id)),
        reasons=reasons,
        domains=_domains(sql.domain_counts(store, info.id)),
        sender_problems=_sender_problems(reasons, lang),
        rejected=rejected,
    )
