"""Which campaign and delivery a bounce answers (issue 3, "Correlation").

In order of trust:
1. the signed tracking token (``X-Mailbounce-Token`` header or VERP address) — verified with
   the tracking secret; a token with a bad signature is ignored, and a bounce that carries
   only forged tokens is marked ``forged`` so it can neither update a delivery nor suppress
   anyone;
2. the original message's Message-ID (``deliveries.message_id``);
3. the recipient address and the most recent campaign sent to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from mailbounce.addresses import normalize_address
from mailbounce.store.bounces import (
    DeliveryRef,
    deliveries_by_message_ids,
    delivery_by_id,
    delivery_by_message_id,
    has_deliveries,
    latest_deliveries_to,
    latest_delivery_to,
)
from mailbounce.store.db import Store
from mailbounce.tracking import read_token


class Method(StrEnum):
    """How the delivery was found."""

    TOKEN = "token"
    MESSAGE_ID = "message_id"
    ADDRESS = "address"
    NONE = "none"
    FORGED = "forged"


@dataclass(frozen=True, slots=True)
class Correlation:
    delivery: DeliveryRef | None
    method: Method

    @property
    def trusted(self) -> bool:
        """False when the bounce carried tokens and none was genuine."""
        return self.method is not _FORGED

    @property
    def campaign(self) -> str | None:
        return self.delivery.campaign if self.delivery else None


NOT_FOUND = Correlation(None, Method.NONE)
# Under Python 3.11 reading an enum member off its class (``Method.FORGED``) costs ~0.4 µs, a
# module global ~0.03 µs: ``trusted`` is asked twice per parsed record.
_FORGED = Method.FORGED


def verified_ids(secret: bytes | None, tokens: tuple[str, ...]) -> list[tuple[int, int]]:
    """The ``(campaign_id, delivery_id)`` of each token whose signature checks."""
    if not secret:
        return []
    found: list[tuple[int, int]] = []
    for token in tokens:
        ids = read_token(secret, token)
        if ids is not None:
            found.append(ids)
    return found


class DeliveryCache:
    """The Message-ID and address look-ups of one batch of bounces, answered from two
    queries made at its start (inside its write transaction, so nobody else changes the
    deliveries meanwhile). ``forget`` a delivery the batch changes: the next look-up that
    could see it goes to the store again, so answers are exactly the uncached ones."""

    def __init__(
        self,
        store: Store,
        *,
        message_ids: Iterable[str],
        addresses: Iterable[str],
        keys: Mapping[str, str] | None = None,
    ) -> None:
        """``keys``: addresses already normalised (``normalize_address``), by address."""
        self._store = store
        self._keys = keys or {}
        self._by_message_id = dict.fromkeys(message_ids)
        self._latest = dict.fromkeys(map(self._key, addresses))
        # No delivery at all (a first parse, or bounces of mail sent by other means): every
        # answer is None without the two queries.
        if has_deliveries(store):
            self._by_message_id.update(deliveries_by_message_ids(store, self._by_message_id))
            self._latest.update(latest_deliveries_to(store, self._latest))
        self._message_ids_of: dict[int, list[str]] = {}
        for key, ref in self._by_message_id.items():
            if ref is not None:
                self._message_ids_of.setdefault(ref.delivery_id, []).append(key)

    def by_message_id(self, message_id: str) -> DeliveryRef | None:
        if message_id in self._by_message_id:
            return self._by_message_id[message_id]
        return delivery_by_message_id(self._store, message_id)

    def _key(self, address: str) -> str:
        key = self._keys.get(address)
        return normalize_address(address) if key is None else key

    def latest_to(self, address: str) -> DeliveryRef | None:
        key = self._keys.get(address)  # ``_key`` inlined: asked for every record
        if key is None:
            key = normalize_address(address)
        if key in self._latest:
            return self._latest[key]
        return latest_delivery_to(self._store, address)

    def forget(self, delivery: DeliveryRef) -> None:
        """``delivery`` changed: look-ups that could return it are asked of the store."""
        self._latest.pop(delivery.address, None)
        for key in self._message_ids_of.pop(delivery.delivery_id, ()):
            self._by_message_id.pop(key, None)


def correlate(
    store: Store,
    *,
    recipient: str,
    tokens: tuple[str, ...],
    original_message_id: str | None,
    secret: bytes | None,
    cache: DeliveryCache | None = None,
) -> Correlation:
    """The delivery this bounce record answers, and how it was found."""
    ids = verified_ids(secret, tokens) if tokens else []  # most bounces carry none
    for campaign_id, delivery_id in ids:
        delivery = delivery_by_id(store, campaign_id, delivery_id)
        if delivery is not None:
            return Correlation(delivery, Method.TOKEN)
    if secret and tokens and not ids:
        # Tokens are only ever made with our secret: none verifying means a forgery (or a
        # secret changed since sending); never act on it.
        return Correlation(None, Method.FORGED)
    if original_message_id:
        if cache is not None:
            delivery = cache.by_message_id(original_message_id)
        else:
            delivery = delivery_by_message_id(store, original_message_id)
        if delivery is not None:
            return Correlation(delivery, Method.MESSAGE_ID)
    if cache is not None:
        delivery = cache.latest_to(recipient)
    else:
        delivery = latest_delivery_to(store, recipient)
    if delivery is not None:
        return Correlation(delivery, Method.ADDRESS)
    return NOT_FOUND
