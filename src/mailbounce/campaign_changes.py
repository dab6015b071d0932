"""What changed in a campaign's definition since its last run: content (unsafe) or transport."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_CONTENT_LABELS = {
    "from": "the sender (from)",
    "reply_to": "reply_to",
    "subject": "the subject",
    "text": "the text template",
    "html": "the HTML template",
    "list_unsubscribe": "list_unsubscribe",
    "headers": "the extra headers",
    "bounce_domain": "tracking.bounce_domain",
}


def definition_changes(
    stored: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """(changes that alter what recipients get, harmless changes) between two definitions."""
    unsafe: list[str] = []
    old_content = stored.get("content") or {}
    for key, value in (current.get("content") or {}).items():
        if key in old_content and old_content[key] != value:
            unsafe.append(f"{_CONTENT_LABELS.get(key, key)} changed")
    harmless: list[str] = []
    old_lists, new_lists = set(stored.get("lists") or []), set(current.get("lists") or [])
    if old_lists and new_lists - old_lists:
        harmless.append("list added: " + ", ".join(sorted(new_lists - old_lists)))
    if old_lists - new_lists:
        harmless.append("list no longer given: " + ", ".join(sorted(old_lists - new_lists)))
    for key, value in (current.get("transport") or {}).items():
        before = (stored.get("transport") or {}).get(key)
        if before is not None and before != value:
            harmless.append(f"{key}: {before} → {value}")
    return unsafe, harmless
