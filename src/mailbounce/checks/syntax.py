"""Address syntax beyond "valid or not": slips a person can repair, roles, quoted local parts.

The validity verdict itself is ``mailbounce.lists.address_problem`` (email-validator behind a
fast path), the project's one syntax authority; this module explains and repairs.
"""

from __future__ import annotations

import re

# Mailboxes of a function rather than a person (RFC 2142 and common practice): mail to them
# is read by nobody in particular or by no one at all.
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse",
        "admin",
        "administrator",
        "bounce",
        "bounces",
        "donotreply",
        "do-not-reply",
        "hostmaster",
        "listserv",
        "mailer-daemon",
        "majordomo",
        "ne-pas-repondre",
        "nepasrepondre",
        "no-reply",
        "nobody",
        "noreply",
        "postmaster",
        "root",
        "security",
        "webmaster",
    }
)

_DISPLAY_FORM = re.compile(r"^[^<>]*<([^<>]+)>\s*$")
_SPACES = re.compile(r"\s+")


def is_role_account(address: str) -> bool:
    """``noreply@``, ``postmaster@``...: the local part (before any ``+tag``) is a role."""
    local = address.rpartition("@")[0].lower()
    return local.split("+", 1)[0] in ROLE_LOCAL_PARTS


def is_quoted_local_part(address: str) -> bool:
    """``"jean dupont"@example.fr``: legal (RFC 5321 §4.1.2) but refused by many servers."""
    local = address.strip().rpartition("@")[0]
    return len(local) >= 2 and local.startswith('"') and local.endswith('"')


def quoted_local_part_is_valid(address: str) -> bool:
    # Imported here (~0.1 s): only a quoted local part ("jean dupont"@...) gets this far.
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address.strip(), check_deliverability=False, allow_quoted_local=True)
    except EmailNotValidError:
        return False
    return True


def repair_artifacts(raw: str) -> tuple[str, list[str]]:
    """Undo copy-and-paste and typing artifacts; returns (repaired text, what was wrong).

    Covers: spaces, a ``mailto:`` prefix, a ``Name <address>`` form, a doubled ``@``, a
    comma or semicolon for a dot in the domain, doubled dots, and a dot at either end of the
    local part or the domain. The result may still be invalid; the caller re-checks it.
    """
    text = raw.strip()
    fixes: list[str] = []
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
        fixes.append("quotes around the address")
    match = _DISPLAY_FORM.match(text)
    if match:
        text = match.group(1).strip()
        fixes.append("a name around the address")
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
        fixes.append("a mailto: prefix")
    if _SPACES.search(text):
        text = _SPACES.sub("", text)
        fixes.append("spaces")
    if "@@" in text:
        text = re.sub("@+", "@", text)
        fixes.append("a doubled @")
    local, at, domain = text.rpartition("@")
    if not at:
        return text, fixes
    if "," in domain or ";" in domain:
        domain = domain.replace(",", ".").replace(";", ".")
        fixes.append("a comma instead of a dot")
    if ".." in domain or ".." in local:
        domain = re.sub(r"\.{2,}", ".", domain)
        local = re.sub(r"\.{2,}", ".", local)
        fixes.append("a doubled dot")
    if domain.startswith(".") or domain.endswith("."):
        domain = domain.strip(".")
        fixes.append("a dot at the end of the domain")
    if local.startswith(".") or local.endswith("."):
        local = local.strip(".")
        fixes.append("a dot at the end of the name before @")
    return f"{local}@{domain}", fixes
