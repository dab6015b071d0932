"""What a sender does to people: resubscribe (with consent), unsubscribe, forget.

Resubscribing moves an address out of "identified as invalid" so the next send tries it
again. Someone who unsubscribed themselves (or complained) is resubscribed only with a
description of their consent, recorded in the event log with its date: mailing people who
asked to stop harms the sender's reputation, and the GDPR (RGPD) requires consent.

Forgetting erases a person's data and keeps only a keyed hash (HMAC-SHA256 with the
tracking secret) in the suppressions, so a re-import of an old file does not mail them:
``forget_key`` computes it, ``is_forgotten`` checks an address against it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mailbounce.addresses import normalize_address
from mailbounce.config import Config
from mailbounce.errors import ConsentRequiredError, UsageError
from mailbounce.lists import ListEntry, ListReader
from mailbounce.models import SuppressionCause
from mailbounce.store import Store
from mailbounce.store import people as sql
from mailbounce.store.contacts import record_event, suppress, suppression_of, unsuppress
from mailbounce.store.db import utcnow
from mailbounce.store.lists import ImportedList, import_list
from mailbounce.tracking import SECRET_ENV, secret_from

FORGET_PREFIX = "hmac-sha256:"
# Causes that mean the person asked to stop: lifting them needs their consent.
SELF_CHOSEN = frozenset(
    {SuppressionCause.UNSUBSCRIBED, SuppressionCause.COMPLAINED, SuppressionCause.FORGOTTEN}
)


@dataclass(frozen=True, slots=True)
class PersonChange:
    """What an action did to one address."""

    address: str
    before: str  # "recipient" or a SuppressionCause value
    after: str
    changed: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "address": self.address,
            "before": self.before,
            "after": self.after,
            "changed": self.changed,
        }


def forget_key(secret: bytes | str, address: str) -> str:
    """The keyed hash kept for a forgotten address: ``hmac-sha256:<hex>``.

    Keyed (not a bare SHA-256) so the suppression list cannot be reversed by hashing a
    directory of addresses without the secret.
    """
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, normalize_address(address).encode("utf-8"), hashlib.sha256)
    return FORGET_PREFIX + digest.hexdigest()


def forget_secret(config: Config | None = None) -> bytes:
    """The tracking secret: ``$MAILBOUNCE_TRACKING_SECRET``, else config ``tracking.secret``."""
    value = os.environ.get(SECRET_ENV)
    if not value and config is not None:
        configured = config.section("tracking").get("secret")
        value = str(configured) if configured else None
    return secret_from(value)


def _optional_secret(secret: bytes | None) -> bytes | None:
    if secret is not None:
        return secret
    value = os.environ.get(SECRET_ENV)
    return value.strip().encode("utf-8") if value and value.strip() else None


def is_forgotten(store: Store, address: str, secret: bytes | None = None) -> bool:
    """True when ``address`` was forgotten (its keyed hash is suppressed).

    Without ``secret`` the environment's tracking secret is used; with none at all nothing
    can have been forgotten under a key we know, so the answer is False.
    """
    key_secret = _optional_secret(secret)
    if key_secret is None:
        return False
    return sql.is_suppressed_key(store, forget_key(key_secret, address))


def _addresses(addresses: Iterable[str]) -> list[str]:
    result = list(dict.fromkeys(normalize_address(a) for a in addresses if a.strip()))
    if not result:
        raise UsageError("give at least one address")
    return result


def _status(store: Store, address: str, secret: bytes | None) -> str:
    found = suppression_of(store, address)
    if found is not None:
        return str(found.cause)
    return str(SuppressionCause.FORGOTTEN) if is_forgotten(store, address, secret) else "recipient"


def _consent_refusal(refused: list[tuple[str, str]]) -> ConsentRequiredError:
    who = ", ".join(f"{address} ({cause})" for address, cause in refused)
    return ConsentRequiredError(
        f"not resubscribed: {who} asked to stop receiving mail. Mailing people who "
        "unsubscribed knowingly harms the sender's reputation, and the law (GDPR/RGPD) "
        "requires their consent: if they agreed again, run resubscribe with "
        '--consent "how and when they agreed" (it is recorded with the date)'
    )


def resubscribe(
    store: Store,
    addresses: Iterable[str],
    consent: str | None = None,
    *,
    secret: bytes | None = None,
) -> list[PersonChange]:
    """Let these addresses be mailed again; all or nothing.

    Invalid or manually removed addresses come back at once; people who unsubscribed,
    complained or were forgotten only with ``consent`` (else ConsentRequiredError, exit 1,
    and nothing changes).
    """
    wanted = _addresses(addresses)
    consent_text = (consent or "").strip() or None
    before = {address: _status(store, address, secret) for address in wanted}
    refused = [(a, c) for a, c in before.items() if c in SELF_CHOSEN and consent_text is None]
    if refused:
        raise _consent_refusal(refused)
    changes = []
    with store.transaction() as conn:
        for address, cause in before.items():
            if cause == "recipient":
                changes.append(PersonChange(address, cause, cause, changed=False))
                continue
            data = {"action": "resubscribe", "previous_cause": cause}
            if cause in SELF_CHOSEN:
                data.update({"consent": consent_text or "", "consent_at": utcnow()})
            if cause == SuppressionCause.FORGOTTEN:
                key_secret = _optional_secret(secret)
                assert key_secret is not None  # a forgotten status needed the secret
                unsuppress(conn, forget_key(key_secret, address), data=data)
                record_event(conn, "unsuppress", address=address, data=data)
            else:
                unsuppress(conn, address, data=data)
            changes.append(PersonChange(address, cause, "recipient", changed=True))
    return changes


def unsubscribe(store: Store, addresses: Iterable[str]) -> list[PersonChange]:
    """Stop mailing these addresses because the person asked (cause ``unsubscribed``)."""
    wanted = _addresses(addresses)
    changes = []
    with store.transaction() as conn:
        for address in wanted:
            found = suppression_of(store, address)
            before = str(found.cause) if found is not None else "recipient"
            if found is not None and found.cause in SELF_CHOSEN:
                changes.append(PersonChange(address, before, before, changed=False))
                continue
            if found is not None:
                # "invalid" or "manual" is weaker than the person's own request: replace it,
                # so a later resubscribe asks for consent.
                unsuppress(conn, address, data={"action": "unsubscribe"})
            suppress(conn, address, SuppressionCause.UNSUBSCRIBED, reason="unsubscribe")
            changes.append(PersonChange(address, before, "unsubscribed", changed=True))
    return changes


def forget(store: Store, addresses: Iterable[str], secret: bytes) -> list[PersonChange]:
    """Erase these people's data, keeping only a keyed hash so they are not mailed again."""
    wanted = _addresses(addresses)
    changes = []
    with store.transaction() as conn:
        for address in wanted:
            key = forget_key(secret, address)
            before = _status(store, address, secret)
            touched = sql.erase_person(conn, address, key, data={"action": "forget"})
            changed = touched > 0 or before != str(SuppressionCause.FORGOTTEN)
            changes.append(PersonChange(address, before, "forgotten", changed=changed))
    return changes


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: ImportedList
    forgotten_skipped: int


def import_members(
    store: Store, path: Path, *, name: str | None = None, secret: bytes | None = None
) -> ImportResult:
    """Import a CSV member list without sending (named after the file unless ``name``).

    Rows of forgotten people (their keyed hash is suppressed) are left out, so a re-import
    of an old export never stores their data again.
    """
    reader = ListReader(path)
    key_secret = _optional_secret(secret)
    forgotten = sql.forgotten_keys(store) if key_secret is not None else set()
    skipped = 0

    def entries() -> Iterator[ListEntry]:
        nonlocal skipped
        for entry in reader:
            if (
                forgotten
                and entry.address
                and key_secret is not None
                and forget_key(key_secret, entry.address) in forgotten
            ):
                skipped += 1
                continue
            yield entry

    imported = import_list(store, path, entries(), name=name)
    return ImportResult(imported, skipped)
