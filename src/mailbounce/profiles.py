"""The people views: a list's four parts, a contact's profile, and "see why" (explain).

A list has four parts (DESIGN §1): recipients, unsubscribed (asked to stop, complained or
removed by hand), without email address, and identified as invalid, each invalid member
with its reason and the ``mailbounce explain ADDRESS`` command that shows why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mailbounce.addresses import normalize_address
from mailbounce.advice import (
    UNKNOWN_REASONS,
    Advice,
    Invalidation,
    check_lang,
    explain,
    is_reason,
    term,
)
from mailbounce.errors import NotFoundError
from mailbounce.models import BounceFacts, Kind, Party, SuppressionCause
from mailbounce.people import is_forgotten
from mailbounce.reply_codes import reply_code
from mailbounce.report import advice_for, marked_invalid
from mailbounce.store import Store
from mailbounce.store import people as sql

PARTS = ("recipients", "unsubscribed", "without_address", "invalid")
_PART_OF_CAUSE = {
    SuppressionCause.INVALID: "invalid",
    SuppressionCause.UNSUBSCRIBED: "unsubscribed",
    SuppressionCause.COMPLAINED: "unsubscribed",
    SuppressionCause.MANUAL: "unsubscribed",
}
_STATUS = re.compile(r"^\s*[245](\.\d{1,3}\.\d{1,3}|\d\d)\s*$")


def see_why(address: str) -> str:
    """The command line that shows why an address is where it is."""
    return f"mailbounce explain {address}"


# --- lists -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListView:
    name: str
    source_path: str | None
    imported_at: str
    parts: dict[str, list[dict[str, Any]]]

    def counts(self) -> dict[str, int]:
        return {part: len(members) for part, members in self.parts.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source_path": self.source_path,
            "imported_at": self.imported_at,
            "counts": self.counts(),
            "parts": self.parts,
        }

    def rows(self, lang: str) -> list[dict[str, Any]]:
        """One row per member, with its part, for table/csv/jsonl output."""
        return [
            {"list": self.name, "part": part, "part_label": term(f"part.{part}", lang), **member}
            for part in PARTS
            for member in self.parts[part]
        ]


def _member(row: dict[str, Any], lang: str) -> tuple[str, dict[str, Any]]:
    address = row["address"]
    if address is None:
        return "without_address", {"line": row["line"], "display": row["display"]}
    base = {"line": row["line"], "display": row["display"], "address": address}
    cause = row["cause"]
    part = _PART_OF_CAUSE.get(SuppressionCause(cause)) if cause else None
    if part is None:
        return "recipients", base
    if part != "invalid":
        label = term(f"status.{cause}", lang)
    elif row["reason"] == "syntaxerror" and row["detail"]:
        # import_list's mark for a badly written address (an SMTP syntaxerror is a sender
        # problem and never suppresses anyone).
        label = f"{term('text.syntax_label', lang)}: {row['detail']}"
    else:
        label = advice_for(row["reason"], lang).label
    return part, {
        **base,
        "cause": cause,
        "reason": row["reason"],
        "label": label,
        "detail": row["detail"],
        "since": row["since"],
        "see_why": see_why(address),
    }


def list_views(store: Store, name: str | None, lang: str) -> list[ListView]:
    """The four parts of list ``name``, or of every list when None."""
    check_lang(lang)
    found = sql.find_lists(store, name)
    if not found and name is not None:
        known = ", ".join(sql.list_names(store)) or "none"
        raise NotFoundError(f"no list named '{name}' (known: {known})")
    views = []
    for info in found:
        parts: dict[str, list[dict[str, Any]]] = {part: [] for part in PARTS}
        for row in sql.iter_members(store, info["id"]):
            part, member = _member(row, lang)
            parts[part].append(member)
        views.append(ListView(info["name"], info["source_path"], info["imported_at"], parts))
    return views


# --- explain ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Explanation:
    """The "see why" view of a reason, a status code or an address."""

    target: str
    target_kind: str  # "reason", "status" or "address"
    advice: Advice
    marked_invalid: str
    status: str | None = None  # for an address: its current status (recipient, invalid…)
    rejection: dict[str, Any] | None = None  # for an address: its latest rejection
    unknown: bool = False  # the remote server gave no usable reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_kind": self.target_kind,
            **self.advice.to_dict(),
            "marked_invalid": self.marked_invalid,
            "reason_unknown": self.unknown,
            "status": self.status,
            "rejection": self.rejection,
        }


def _status_explanation(text: str, lang: str) -> Explanation:
    # Imported here: only `explain 5.1.1` classifies; the rule set takes ~0.1 s to compile.
    from mailbounce.classify import classify
    from mailbounce.diagnostic_text import find_enhanced_status, find_reply_code

    code = text.strip()
    enhanced = find_enhanced_status(code)
    facts = BounceFacts(
        recipient="",
        status=enhanced,
        replycode=find_reply_code(code),
        action="delayed" if code.startswith("4") else "failed",
    )
    result = classify(facts)
    entry = explain(result.reason, lang)
    unknown = result.reason in UNKNOWN_REASONS
    family = reply_code(code, lang) if enhanced is None else None
    if family is not None:
        # A bare reply code (550) names a family of reasons, not one (nor none): say which
        # and what to look at, rather than "unknown". Invalidation stays the classification's.
        entry = Advice(
            reason="unknown",
            lang=lang,
            label=family.label,
            explanation=family.explanation,
            advice=family.advice,
            invalid=entry.invalid,
            kind=Kind.PERMANENT if code.startswith("5") else Kind.TEMPORARY,
            party=Party.UNKNOWN,
        )
        unknown = False
    return Explanation(
        code, "status", entry, marked_invalid(entry, str(result.kind), lang), unknown=unknown
    )


def _address_explanation(store: Store, address: str, lang: str) -> Explanation:
    status = current_status(store, address)
    history = sql.rejections_of(store, address)
    if not history:
        if status == "unknown":
            raise NotFoundError(
                f"'{address}' is neither a reason, a status code nor a known address"
            )
        return Explanation(
            address,
            "address",
            _suppression_advice(store, address, lang),
            term("text.yes" if status == SuppressionCause.INVALID else "text.no", lang),
            status=status,
        )
    latest = history[-1]
    reason = latest["reason"]
    # No usable reason: onhold/undefined (their entries say what to collect), or a value
    # the catalogue does not know.
    unknown = not reason or reason in UNKNOWN_REASONS or not is_reason(reason)
    entry = explain(reason if reason and is_reason(reason) else "unknown", lang)
    return Explanation(
        address,
        "address",
        entry,
        marked_invalid(entry, latest["kind"], lang),
        status=status,
        rejection=latest,
        unknown=unknown,
    )


def _suppression_advice(store: Store, address: str, lang: str) -> Advice:
    """Why an address never rejected is suppressed: bad syntax at import, or its reason."""
    found = sql.suppression(store, address)
    if (
        found is not None
        and found["cause"] == SuppressionCause.INVALID
        and found["reason"] == "syntaxerror"
        and found["detail"]
    ):
        # store.lists.import_list suppresses badly written addresses with reason
        # "syntaxerror" (not the SMTP reason of that name) and the problem as detail.
        return Advice(
            reason="syntax",
            lang=lang,
            label=term("text.syntax_label", lang),
            explanation=f"{term('text.syntax_explanation', lang)} {found['detail']}",
            advice=term("text.syntax_advice", lang),
            invalid=Invalidation.NOW,
            kind=None,
            party=Party.RECIPIENT,
        )
    reason = found["reason"] if found else None
    return explain(reason if reason and is_reason(reason) else "unknown", lang)


def needs_store(target: str) -> bool:
    """True when ``target`` is not a reason or a status code, so it must be an address."""
    text = target.strip()
    return not is_reason(text) and not _STATUS.match(text)


def explain_target(store: Store | None, text: str, lang: str) -> Explanation:
    """Explain a reason (``mailboxfull``), a status (``5.1.1``, ``550``) or an address."""
    check_lang(lang)
    target = text.strip()
    if is_reason(target):
        entry = explain(target, lang)
        unknown = target.lower() in {"unknown", *UNKNOWN_REASONS}
        return Explanation(
            target.lower(), "reason", entry, marked_invalid(entry, None, lang), unknown=unknown
        )
    if _STATUS.match(target):
        return _status_explanation(target, lang)
    if store is not None:
        return _address_explanation(store, normalize_address(target), lang)
    raise NotFoundError(
        f"'{text}' is neither a reason (e.g. mailboxfull), a status code (e.g. 5.1.1, 550) "
        "nor a known address"
    )


# --- contact ---------------------------------------------------------------------------


def current_status(store: Store, address: str) -> str:
    """``recipient``, a suppression cause, or ``unknown`` when the address is not stored."""
    found = sql.suppression(store, address)
    if found is not None:
        return str(found["cause"])
    if sql.contact(store, address) is not None:
        return "recipient"
    if is_forgotten(store, address):
        return str(SuppressionCause.FORGOTTEN)
    return "unknown"


@dataclass(frozen=True, slots=True)
class Profile:
    address: str
    status: str
    status_label: str
    name: str | None
    since: str | None
    lists: list[str]
    campaigns: list[dict[str, Any]]
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "status": self.status,
            "status_label": self.status_label,
            "name": self.name,
            "since": self.since,
            "lists": self.lists,
            "campaigns": self.campaigns,
            "rejections": self.rejections,
        }


def _campaign_outcome(row: dict[str, Any]) -> str:
    if row["state"] == "skipped":
        return f"skipped_{row['skip_cause'] or 'manual'}"
    if row["bounce_kind"] in ("complaint", "permanent", "temporary"):
        return str(row["bounce_kind"])
    if row["state"] in ("failed", "expired"):
        return "permanent" if row["kind"] == "permanent" else "temporary"
    if row["state"] == "sent":
        return "accepted"
    return str(row["state"])


def contact_profile(store: Store, address: str, lang: str) -> Profile:
    """One person: status, lists, each campaign's outcome, rejections with advice."""
    check_lang(lang)
    key = normalize_address(address)
    status = current_status(store, key)
    if status == "unknown":
        raise NotFoundError(f"no contact with the address '{key}'")
    person = sql.contact(store, key)
    name = None
    if person is not None:
        name = " ".join(p for p in (person["first_name"], person["last_name"]) if p) or None
    found = sql.suppression(store, key)
    campaigns = []
    for row in sql.contact_deliveries(store, key):
        outcome = _campaign_outcome(row)
        reason = row["bounce_reason"] or row["reason"]
        campaigns.append(
            {
                "campaign": row["campaign"],
                "outcome": outcome,
                "outcome_label": term(f"outcome.{outcome}", lang),
                "reason": reason,
                "date": row["date"],
            }
        )
    rejections = []
    for row in sql.rejections_of(store, key):
        entry = advice_for(row["reason"], lang)
        rejections.append(
            {
                **row,
                "label": entry.label,
                "marked_invalid": marked_invalid(entry, row["kind"], lang),
                "advice": entry.advice,
            }
        )
    return Profile(
        address=key,
        status=status,
        status_label=term(f"status.{status}", lang),
        name=name,
        since=found["since"] if found else None,
        lists=sql.contact_lists(store, key),
        campaigns=campaigns,
        rejections=rejections,
    )
