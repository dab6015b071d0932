"""Message-IDs of a campaign's messages: ``<hash.campaign@domain>``, the same for a
(campaign, address) across retries, so that bounces correlate with their delivery.

The store gives each recipient its Message-ID when adding it to the campaign
(``message_id_maker``); the send loop takes it from there (``recipient_message_id``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable

from mailbounce.errors import ConfigError
from mailbounce.tracking import base32_of_15


def make_message_id(campaign: str, address: str, domain: str) -> str:
    """``<hash.campaign@domain>``, the same for a (campaign, address) across retries."""
    digest = hashlib.sha256(f"{campaign}\x00{address.lower()}".encode()).digest()[:15]
    return f"<{base32_of_15(digest)}.{_message_id_suffix(campaign, domain)}>"


def message_id_maker(campaign: str, domain: str) -> Callable[[str], str]:
    """``make_message_id`` of one campaign and domain, as a function of the address: the
    store gives each recipient its Message-ID when adding it to the campaign
    (``store.campaigns.add_list_recipients``), so the send's ``in_flight`` step does not
    write it (issue 2: about half the WAL bytes of a send, one random leaf of the
    ``deliveries_message_id`` index per message)."""
    suffix = _message_id_suffix(campaign, domain)
    prefix = f"{campaign}\x00"
    sha256 = hashlib.sha256

    def message_id(address: str) -> str:
        digest = sha256(f"{prefix}{address.lower()}".encode()).digest()[:15]
        return f"<{base32_of_15(digest)}.{suffix}>"

    return message_id


def recipient_message_id(stored: str | None, campaign: str, address: str, domain: str) -> str:
    """``make_message_id(campaign, address, domain)``, taken from ``stored`` (the delivery's
    ``message_id``, filled when it was added) when that is it: the hash part depends on the
    campaign and address alone, which a delivery keeps, so a stored id with this campaign's
    ending is the one made here. A delivery added by an earlier build (none stored) or a
    campaign whose sender domain changed (``--force``) has it made."""
    if stored is not None and stored.endswith(message_id_ending(campaign, domain)):
        return stored
    return make_message_id(campaign, address, domain)


@functools.lru_cache(maxsize=16)
def message_id_ending(campaign: str, domain: str) -> str:
    """How every Message-ID ``make_message_id`` makes for the campaign and domain ends.

    The label has no dot and the hash part none either: ".label@domain>" matches only the
    whole ending of a Message-ID made for this campaign and domain."""
    return f".{_message_id_suffix(campaign, domain)}>"


@functools.lru_cache(maxsize=16)  # one campaign per run: computed once, not per message
def _message_id_suffix(campaign: str, domain: str) -> str:
    label = re.sub(r"[^A-Za-z0-9-]+", "-", campaign).strip("-")[:32] or "campaign"
    return f"{label}@{clean_domain(domain)}"


def clean_domain(domain: str) -> str:
    """``domain`` as Message-IDs carry it: lower case, ASCII (IDNA); ConfigError if it is
    not a domain name."""
    text = domain.strip().lower()
    if not text.isascii():
        try:  # an internationalised domain goes into Message-ID in its ASCII form
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise ConfigError(f"the message domain {domain!r} is not a domain name") from None
    if not text or not re.fullmatch(r"[a-z0-9.-]+|\[[0-9a-f.:]+\]", text):
        raise ConfigError(f"the message domain {domain!r} is not a domain name")
    return text
