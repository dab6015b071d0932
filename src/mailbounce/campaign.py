"""A campaign's resolved definition: the message, the relay, the limits.

Built by ``campaign_loading.load_campaign`` from a campaign file, options and configuration;
``stored_settings`` is what ``campaign_changes.definition_changes`` compares between runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import cached_property
from pathlib import Path
from typing import Any

from mailbounce.compose import MessageSpec
from mailbounce.config import Config, Secret
from mailbounce.lists import ColumnMapping
from mailbounce.schedule import RetryPolicy
from mailbounce.smtp_settings import SmtpSettings, TlsMode


@dataclass(frozen=True, slots=True)
class DomainLimit:
    """Per-recipient-domain limits (``sending.domains``): connections and messages/second."""

    concurrency: int | None = None
    rate: float | None = None


@dataclass
class CampaignOptions:
    """What the command line gave; None means "not given"."""

    campaign_file: Path | None = None
    name: str | None = None
    lists: list[Path] = field(default_factory=list)
    from_addr: str | None = None
    subject: str | None = None
    text: Path | None = None
    html: Path | None = None
    smtp: str | None = None
    tls: TlsMode | None = None
    user: str | None = None
    ca_file: Path | None = None
    concurrency: int | None = None
    rate: float | None = None
    retry_after: str | None = None


@dataclass(frozen=True)
class Campaign:
    """Everything a send run needs to know, resolved and checked."""

    name: str
    lists: tuple[Path, ...]
    message: MessageSpec
    smtp: SmtpSettings
    concurrency: int = 1
    rate: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    domains: Mapping[str, DomainLimit] = field(default_factory=dict)
    tracking_secret: Secret | None = None
    bounce_domain: str | None = None
    verp_prefix: str = "bounces"
    columns: ColumnMapping | None = None
    source_file: Path | None = None  # the campaign file, when there is one
    config: Config | None = None

    @cached_property  # read for every message: email's address parser is slow
    def envelope_from(self) -> str:
        return parseaddr(self.message.from_addr)[1]

    @cached_property
    def message_domain(self) -> str:
        return self.envelope_from.rpartition("@")[2]

    def content_fingerprint(self) -> dict[str, Any]:
        """What recipients see: changing it mid-campaign would mail people different things."""
        spec = self.message
        return {
            "from": spec.from_addr,
            "reply_to": spec.reply_to,
            "subject": spec.subject,
            "text": _digest(spec.text),
            "html": _digest(spec.html),
            "list_unsubscribe": [spec.list_unsubscribe_mailto, spec.list_unsubscribe_url],
            "headers": dict(spec.extra_headers),
            "bounce_domain": self.bounce_domain,
        }

    def stored_settings(self) -> dict[str, Any]:
        """The definition as stored with the campaign, to compare with the next run's."""
        return {
            "content": self.content_fingerprint(),
            "lists": [str(path.resolve()) for path in self.lists],
            "transport": {
                "smtp": f"{self.smtp.host}:{self.smtp.port}",
                "tls": str(self.smtp.tls),
                "concurrency": self.concurrency,
                "rate": self.rate,
            },
        }


def _digest(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] if text is not None else None
