"""Address normalisation shared by lists, suppressions, bounces and reports."""

from __future__ import annotations


def normalize_address(address: str) -> str:
    """The form used to match an address everywhere: trimmed, without angle brackets, lower case.

    Local parts are case-sensitive in theory (RFC 5321 §2.4) but no mailbox provider a
    member list meets treats them so; matching case-insensitively is what keeps a person
    from being mailed twice or escaping their suppression.
    """
    text = address.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    return text.lower()


def domain_of(address: str) -> str:
    """The domain part of an address (after the last ``@``), lower case; "" when none."""
    _, at, domain = address.rpartition("@")
    return domain.lower() if at else ""
