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

from dataclasses import dataclass
from enum import StrEnum

from mailbounce.store.bounces import (
    DeliveryRef,
    delivery_by_id,
    delivery_by_message_id,
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
        return self.method is not Method.FORGED

    @property
    def campaign(self) -> str | None:
        return self.delivery.campaign if self.delivery else None


NOT_FOUND = Correlation(None, Method.NONE)


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


def correlate(
    store: Store,
    *,
    recipient: str,
    tokens: tuple[str, ...],
    original_message_id: str | None,
    secret: bytes | None,
) -> Correlation:
    """The delivery this bounce record answers, and how it was found."""
    ids = verified_ids(secret, tokens)
    for campaign_id, delivery_id in ids:
        delivery = delivery_by_id(store, campaign_id, delivery_id)
        if delivery is not None:
            return Correlation(delivery, Method.TOKEN)
    if secret and tokens and not ids:
        # Tokens are only ever made with our secret: none verifying means a forgery (or a
        # secret changed since sending); never act on it.
        return Correlation(None, Method.FORGED)
    if original_message_id:
        delivery = delivery_by_message_id(store, original_message_id)
        if delivery is not None:
            return Correlation(delivery, Method.MESSAGE_ID)
    delivery = latest_delivery_to(store, recipient)
    if delivery is not None:
        return Correlation(delivery, Method.ADDRESS)
    return NOT_FOUND
