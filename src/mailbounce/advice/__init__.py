"""The "see why" catalogue: every reason explained, with advice, in French and English.

The texts live in ``catalogue.yaml`` (reasons) and ``terms.yaml`` (the words of reports),
shipped as package data. Kind and party are not written there: they come from
``mailbounce.classify`` so an explanation never disagrees with the classification.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from mailbounce.errors import NotFoundError, UsageError
from mailbounce.models import Kind, Party, Reason

LANGS = ("fr", "en")
UNKNOWN = "unknown"
# Reasons for which the remote server told nothing usable (DESIGN §1: "the reason is unknown").
UNKNOWN_REASONS = frozenset({Reason.ONHOLD, Reason.UNDEFINED})


class Invalidation(StrEnum):
    """Whether a rejection for this reason marks the address invalid (DESIGN §4)."""

    NOW = "now"
    WHEN_PERMANENT = "when_permanent"
    REPEATED = "repeated"
    UNSUBSCRIBED = "unsubscribed"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class Advice:
    """One reason explained in one language."""

    reason: str  # a models.Reason value, or "unknown"
    lang: str
    label: str
    explanation: str
    advice: str
    invalid: Invalidation
    kind: Kind | None  # the usual kind (a 4xx makes any reason temporary); None for unknown
    party: Party

    @property
    def short(self) -> str:
        """The first sentence of the advice, for tables."""
        head, dot, _ = self.advice.partition(". ")
        return head + "." if dot else self.advice

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "label": self.label,
            "explanation": self.explanation,
            "advice": self.advice,
            "short_advice": self.short,
            "marked_invalid": str(self.invalid),
            "kind": str(self.kind) if self.kind else None,
            "party": str(self.party),
        }


def default_lang(environ: Mapping[str, str] | None = None) -> str:
    """``fr`` when the locale (LC_ALL, then LANG) is French (``fr_FR.UTF-8``, ``fr``), else en."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def check_lang(lang: str) -> str:
    """``lang`` if it is one we write; a usage error otherwise."""
    if lang not in LANGS:
        raise UsageError(f"unknown language '{lang}': choose one of {', '.join(LANGS)}")
    return lang


@cache
def _load(name: str) -> dict[str, Any]:
    # PyYAML loads with the first catalogue read, not when a command merely imports advice.
    import yaml

    text = resources.files("mailbounce.advice").joinpath(name).read_text(encoding="utf-8")
    # libyaml's safe loader when built in: the pure-Python one takes ~0.1 s for the
    # catalogue, the largest part of a report's time (benchmarks/report_speed.py).
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert isinstance(data, dict)
    return data


def catalogue() -> dict[str, Any]:
    """The raw catalogue: reason -> {invalid, fr: {...}, en: {...}}."""
    return _load("catalogue.yaml")


def term(key: str, lang: str) -> str:
    """One word of the reports (``outcome.accepted``, ``col.reason``…) in ``lang``."""
    words: dict[str, str] = _load("terms.yaml")[check_lang(lang)]
    return words.get(key, key)


def explain(reason: Reason | str, lang: str) -> Advice:
    """The catalogue's explanation of ``reason`` (a ``Reason``, its name, or ``unknown``)."""
    return _explain(str(reason).strip().lower(), lang)


@cache
def _explain(name: str, lang: str) -> Advice:
    entry = catalogue().get(name)
    if entry is None:
        raise NotFoundError(f"unknown reason '{name}'")
    texts = entry[check_lang(lang)]
    known = Reason(name) if name != UNKNOWN else None
    # Imported on first use: classify compiles the reason rules (~0.1 s), which only an
    # explanation needs, not the words of a report (``term``).
    from mailbounce.classify import kind_of, party_of

    return Advice(
        reason=name,
        lang=lang,
        label=texts["label"],
        explanation=texts["explanation"],
        advice=texts["advice"],
        invalid=Invalidation(entry["invalid"]),
        kind=kind_of(known, None, None, None) if known else None,
        party=party_of(known) if known else Party.UNKNOWN,
    )


def is_reason(text: str) -> bool:
    """True when ``text`` names a reason of the catalogue (or ``unknown``)."""
    return text.strip().lower() in catalogue()
