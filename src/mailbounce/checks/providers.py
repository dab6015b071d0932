"""The knowledge base of mailbox providers: shipped in ``checks/data``, extendable in config.

``data/providers.yaml`` lists the mailbox domains typos are corrected to (with a popularity
weight), the brands with country variants, the "real neighbour" confusables, the domains that
are never corrected and the provider rules used by the content and delivery checks.
``data/suffixes.yaml`` lists the real public suffixes. The configuration adds to both:
``checks.providers_file`` (a YAML file with the same keys) and inline ``checks.domains``
(a mapping domain -> weight, or a list of domains).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mailbounce.config import Config, load_yaml
from mailbounce.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ProviderRule:
    """One provider's known behaviour, e.g. laposte.net rejects http:// links."""

    id: str
    provider: str
    domains: tuple[str, ...]
    description: str
    no_http: bool = False
    greylisting: bool = False
    max_message_bytes: int | None = None


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the checks know about domains; immutable once loaded."""

    domains: Mapping[str, int]
    country_variants: frozenset[str]
    confusables: Mapping[str, str]
    legitimate: frozenset[str]
    legitimate_patterns: tuple[str, ...]
    rules: tuple[ProviderRule, ...]
    country_tlds: frozenset[str]
    generic_tlds: frozenset[str]
    second_level: frozenset[str]
    _pattern_cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def is_legitimate(self, domain: str) -> bool:
        """A domain that is known good: a provider, a listed domain or a listed pattern."""
        if domain in self.domains or domain in self.legitimate:
            return True
        cached = self._pattern_cache.get(domain)
        if cached is None:
            cached = any(fnmatch.fnmatchcase(domain, pat) for pat in self.legitimate_patterns)
            self._pattern_cache[domain] = cached
        return cached

    def is_real_tld(self, label: str) -> bool:
        # Internationalised TLDs (.рф, xn--p1ai) are real whenever someone typed them.
        if not label.isascii() or label.startswith("xn--"):
            return True
        return label in self.country_tlds or label in self.generic_tlds

    def rules_for(self, domain: str) -> tuple[ProviderRule, ...]:
        return tuple(rule for rule in self.rules if domain in rule.domains)


def _words(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [word.lower() for word in value.split()]
    if isinstance(value, Sequence):
        return [str(word).strip().lower() for word in value]
    raise ConfigError(f"{where}: expected a list of names")


def _domains(value: Any, where: str) -> dict[str, int]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        try:
            return {str(k).strip().lower(): int(v or 0) for k, v in value.items()}
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: domain weights must be whole numbers") from None
    return dict.fromkeys(_words(value, where), 1)


def _rules(value: Any, where: str) -> list[ProviderRule]:
    rules = []
    for index, item in enumerate(value or []):
        if not isinstance(item, Mapping) or "id" not in item:
            raise ConfigError(f"{where}: rule #{index + 1} needs at least an 'id'")
        size = item.get("max_message_bytes")
        rules.append(
            ProviderRule(
                id=str(item["id"]),
                provider=str(item.get("provider") or item["id"]),
                domains=tuple(_words(item.get("domains"), where)),
                description=str(item.get("description") or "").strip(),
                no_http=bool(item.get("no_http", False)),
                greylisting=bool(item.get("greylisting", False)),
                max_message_bytes=int(size) if size is not None else None,
            )
        )
    return rules


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a YAML mapping")
    return data


class _Builder:
    def __init__(self) -> None:
        self.domains: dict[str, int] = {}
        self.variants: set[str] = set()
        self.confusables: dict[str, str] = {}
        self.legitimate: list[str] = []
        self.rules: list[ProviderRule] = []

    def add(self, data: Mapping[str, Any], where: str) -> None:
        self.domains.update(_domains(data.get("domains"), where))
        self.variants.update(_words(data.get("country_variants"), where))
        confusables = _mapping(data.get("confusables"), where)
        self.confusables.update({str(k).lower(): str(v).lower() for k, v in confusables.items()})
        self.legitimate.extend(_words(data.get("legitimate"), where))
        self.rules.extend(_rules(data.get("rules"), where))

    def build(self, suffixes: Mapping[str, Any]) -> KnowledgeBase:
        exact = sorted(item for item in self.legitimate if "*" not in item)
        patterns = tuple(sorted(item for item in self.legitimate if "*" in item))
        return KnowledgeBase(
            domains=dict(sorted(self.domains.items())),
            country_variants=frozenset(self.variants),
            confusables=dict(sorted(self.confusables.items())),
            legitimate=frozenset(exact),
            legitimate_patterns=patterns,
            rules=tuple(self.rules),
            country_tlds=frozenset(_words(suffixes.get("country"), "suffixes.yaml")),
            generic_tlds=frozenset(_words(suffixes.get("generic"), "suffixes.yaml")),
            second_level=frozenset(_words(suffixes.get("second_level"), "suffixes.yaml")),
        )


def _shipped(name: str) -> Mapping[str, Any]:
    text = resources.files("mailbounce.checks").joinpath("data").joinpath(name).read_text("utf-8")
    return _mapping(yaml.safe_load(text), name)


@cache
def default_knowledge_base() -> KnowledgeBase:
    """The shipped knowledge base (loaded once per process)."""
    builder = _Builder()
    builder.add(_shipped("providers.yaml"), "providers.yaml")
    return builder.build(_shipped("suffixes.yaml"))


def load_knowledge_base(config: Config | None = None) -> KnowledgeBase:
    """The shipped knowledge base extended by ``checks.providers_file`` and ``checks.domains``."""
    section = config.section("checks") if config is not None else {}
    extra_file = section.get("providers_file")
    inline = section.get("domains")
    if not extra_file and not inline:
        return default_knowledge_base()
    builder = _Builder()
    builder.add(_shipped("providers.yaml"), "providers.yaml")
    where = f"{config.path if config else 'config'}: checks"
    if extra_file:
        path = Path(str(extra_file)).expanduser()
        if not path.is_absolute() and config is not None and config.path is not None:
            path = config.path.parent / path
        builder.add(_mapping(load_yaml(path), str(path)), str(path))
    if inline:
        builder.add({"domains": inline}, f"{where}.domains")
    return builder.build(_shipped("suffixes.yaml"))
