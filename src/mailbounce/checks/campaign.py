"""``check campaign``: addresses, content and sender domain of one campaign file.

Reads only the campaign keys the checks need (``from``, ``text``, ``html``, ``lists``,
``columns``, ``list_unsubscribe``); paths are relative to the campaign file, as for ``send``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from mailbounce.addresses import domain_of
from mailbounce.checks.content import MessageContent, load_message
from mailbounce.checks.findings import Finding
from mailbounce.config import load_yaml
from mailbounce.errors import InputError
from mailbounce.lists import ColumnMapping


@dataclass(frozen=True)
class CampaignParts:
    """What ``check_campaign`` needs; ``send`` can build one from its own campaign object
    (``MessageContent(name, html, text, base_dir, unsubscribe_header=...)``)."""

    lists: tuple[Path, ...]
    message: MessageContent
    from_addr: str | None
    columns: ColumnMapping | None = None

    @property
    def sender_domain(self) -> str | None:
        address = parseaddr(self.from_addr or "")[1]
        return domain_of(address) or None


@dataclass(frozen=True)
class CampaignFiles:
    """What a campaign file says about the message and its recipients."""

    path: Path
    from_addr: str | None
    text: Path | None
    html: Path | None
    lists: tuple[Path, ...]
    columns: ColumnMapping | None
    has_list_unsubscribe: bool

    def parts(self) -> CampaignParts:
        return CampaignParts(self.lists, self.message(), self.from_addr, self.columns)

    def message(self) -> MessageContent:
        html = _read_part(self.html) if self.html else None
        text = _read_part(self.text) if self.text else None
        return MessageContent(
            str(self.path), html, text, (self.html or self.path).parent, self.has_list_unsubscribe
        )


def _read_part(path: Path) -> str:
    if not path.is_file():
        raise InputError(path, "no such file (named in the campaign)")
    message = load_message(path)
    return message.html or message.text or ""


def _path(base: Path, value: Any, key: str, origin: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(origin, f"'{key}' must be a file name")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _columns(value: Any, origin: Path) -> ColumnMapping | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InputError(origin, "'columns' must be a mapping (email, first_name, last_name)")
    return ColumnMapping(
        address=value.get("email"),
        first_name=value.get("first_name"),
        last_name=value.get("last_name"),
    )


def read_campaign_files(path: Path) -> CampaignFiles:
    """The parts of a campaign file the checks need; a wrong key names the file."""
    data = load_yaml(path)
    if not isinstance(data, Mapping):
        raise InputError(path, "a campaign file must be a YAML mapping")
    base = path.parent
    lists_value = data.get("lists") or []
    if isinstance(lists_value, str):
        lists_value = [lists_value]
    if not isinstance(lists_value, list):
        raise InputError(path, "'lists' must be a list of files")
    lists = tuple(_path(base, item, "lists", path) for item in lists_value)
    for list_path in lists:
        if not list_path.is_file():
            raise InputError(list_path, "no such file (named in the campaign)")
    text = _path(base, data["text"], "text", path) if data.get("text") else None
    html = _path(base, data["html"], "html", path) if data.get("html") else None
    if text is None and html is None:
        raise InputError(path, "the campaign has neither 'text' nor 'html'")
    unsubscribe = data.get("list_unsubscribe")
    has_unsubscribe = isinstance(unsubscribe, Mapping) and bool(
        unsubscribe.get("mailto") or unsubscribe.get("url")
    )
    from_value = data.get("from")
    return CampaignFiles(
        path=path,
        from_addr=str(from_value) if from_value else None,
        text=text,
        html=html,
        lists=lists,
        columns=_columns(data.get("columns"), path),
        has_list_unsubscribe=has_unsubscribe,
    )


@dataclass
class CampaignReport:
    """Findings of ``check_campaign``; ``unchecked`` lists what could not be checked."""

    findings: list[Finding] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    addresses: int = 0
    invalid_addresses: int = 0

    def summary_line(self) -> str:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[str(finding.severity)] = counts.get(str(finding.severity), 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no findings"
        return f"{self.addresses} addresses ({self.invalid_addresses} invalid); {parts}"
