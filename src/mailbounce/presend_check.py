"""The pre-send check of ``mailbounce send``: ``mailbounce check``, before a first send."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mailbounce.campaign import Campaign
from mailbounce.errors import MailbounceError

if TYPE_CHECKING:  # the checks load their knowledge base: imported only when checking
    from mailbounce.checks import CampaignParts
    from mailbounce.sending import SendOptions


def run_check(db_path: Path, campaign: Campaign, options: SendOptions) -> list[str]:
    """The single call site of the pre-send check (``mailbounce check``), skipped by --force.

    Checks the campaign file, or for a campaign given by options alone the same parts
    built from the options. Refuses (exit 1) when the check finds an error; returns the
    warnings, for the summary. What could not be checked (DNS without a usable answer) is
    said through ``options.warn`` (else a note), never passed over as clean.
    ``options.check_dns`` False keeps the check off the network (demo, tests).
    """
    if options.force:
        return []
    from mailbounce.checks import Severity, check_campaign, has_errors

    found = check_campaign(
        campaign.source_file or _check_parts(campaign),
        config=campaign.config,
        db_path=db_path,
        dns=options.check_dns,
    )
    errors = [f for f in found.findings if f.severity is Severity.ERROR]
    if has_errors(found.findings):
        what = (
            f"`mailbounce check campaign {campaign.source_file}`"
            if campaign.source_file
            else "`mailbounce check`"
        )
        raise MailbounceError(
            f"the campaign does not pass the check ({len(errors)} errors; first: "
            f"{errors[0].message}); see {what}, fix them, or send anyway with --force"
        )
    notes = [f"check: {f.message}" for f in found.findings if f.severity is Severity.WARNING]
    for unchecked in found.unchecked:
        line = f"the pre-send check could not check: {unchecked}; sending without that part"
        if options.warn is not None:
            options.warn(line)
        else:
            notes.append(line)
    return notes


def _check_parts(campaign: Campaign) -> CampaignParts:
    """What the check reads, for a campaign given by options (no campaign file)."""
    from mailbounce.checks import CampaignParts, MessageContent

    spec = campaign.message
    name = spec.html_name if spec.html is not None else spec.text_name
    message = MessageContent(
        name,
        spec.html,
        spec.text,
        Path(name).parent,
        unsubscribe_header=bool(spec.list_unsubscribe_mailto or spec.list_unsubscribe_url),
    )
    return CampaignParts(campaign.lists, message, spec.from_addr, campaign.columns)
