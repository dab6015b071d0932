"""Human text for the people views (``explain``, ``contact``, ``lists``), for terminals.

Machine formats (json, jsonl, csv) go through ``mailbounce.render`` from the CLI; this
module writes the prose and small tables a person reads.
"""

from __future__ import annotations

import textwrap
from typing import IO

from mailbounce.advice import term
from mailbounce.profiles import PARTS, Explanation, ListView, Profile
from mailbounce.render import OutputFormat, render_rows

WIDTH = 88


def _para(out: IO[str], text: str, indent: str = "  ") -> None:
    out.write(textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent))
    out.write("\n")


def write_explanation(item: Explanation, lang: str, out: IO[str]) -> None:
    """The "see why" view: label, meaning, whether invalid, what to do, latest rejection."""
    advice = item.advice
    shown = advice.reason not in (item.target, "syntax")
    # A bare reply code's family has no single reason to name (reply_codes).
    reason = f" ({advice.reason})" if shown and advice.reason != "unknown" else ""
    out.write(f"{item.target}: {advice.label}{reason}\n")
    if item.unknown:
        _para(out, term("text.unknown_reason", lang))
    if item.status is not None:
        out.write(f"  {term('text.status', lang)}: {term(f'status.{item.status}', lang)}\n")
    if item.rejection is not None:
        rejection = item.rejection
        campaign = f" — {rejection['campaign']}" if rejection.get("campaign") else ""
        out.write(f"\n{term('text.latest_rejection', lang)}: {rejection['date']}{campaign}\n")
        if rejection.get("diagnostic"):
            _para(out, f"{term('text.server_said', lang)}: « {rejection['diagnostic']} »")
    out.write(f"\n{term('text.meaning', lang)}\n")
    _para(out, advice.explanation)
    out.write(f"  {term('col.invalid', lang)}: {item.marked_invalid}\n")
    out.write(f"\n{term('text.what_to_do', lang)}\n")
    _para(out, advice.advice)


def write_profile(profile: Profile, lang: str, out: IO[str]) -> None:
    """One person's profile: status, lists, campaigns, rejection history with advice."""
    name = f" ({profile.name})" if profile.name else ""
    out.write(f"{profile.address}{name}\n")
    since = f" ({profile.since})" if profile.since else ""
    out.write(f"  {term('text.status', lang)}: {profile.status_label}{since}\n")
    lists = ", ".join(profile.lists) or term("text.none", lang)
    out.write(f"  {term('text.lists', lang)}: {lists}\n\n")
    columns = [term(key, lang) for key in ("col.outcome", "col.reason", "col.date")]
    campaigns = [
        {
            "campaign": row["campaign"],
            columns[0]: row["outcome_label"],
            columns[1]: row["reason"] or "",
            columns[2]: row["date"],
        }
        for row in profile.campaigns
    ]
    if campaigns:
        render_rows(
            campaigns,
            ["campaign", *columns],
            OutputFormat.TABLE,
            out,
            title=term("text.campaigns", lang),
        )
    if not profile.rejections:
        return
    out.write(f"\n{term('text.rejections', lang)}\n")
    for row in profile.rejections:
        campaign = f" — {row['campaign']}" if row.get("campaign") else ""
        out.write(f"\n  {row['date']}{campaign}: {row['label']} ({row['reason']}, {row['kind']})\n")
        if row["diagnostic"]:
            _para(out, f"{term('text.server_said', lang)}: « {row['diagnostic']} »", "    ")
        _para(out, f"{term('col.invalid', lang)}: {row['marked_invalid']}", "    ")
        _para(out, row["advice"], "    ")


def write_list_views(views: list[ListView], lang: str, out: IO[str]) -> None:
    """Each list with its four parts, counts and members."""
    for number, view in enumerate(views):
        if number:
            out.write("\n")
        counts = view.counts()
        out.write(f"{view.name}  ({view.source_path or ''})\n")
        for part in PARTS:
            out.write(f"  {term(f'part.{part}', lang)}: {counts[part]}\n")
        for part in PARTS:
            members = view.parts[part]
            if not members:
                continue
            out.write(f"\n  {term(f'part.{part}', lang)} ({counts[part]})\n")
            for member in members:
                out.write(f"    {_member_line(part, member, lang)}\n")


def _member_line(part: str, member: dict[str, object], lang: str) -> str:
    if part == "without_address":
        return f"{member['display']}  (line {member['line']})"
    line = f"{member['address']}"
    if member.get("display") and member["display"] != member["address"]:
        line += f"  {member['display']}"
    if part == "invalid":
        line += f"  — {member['label']}; {term('text.see_why', lang)}: {member['see_why']}"
    elif part == "unsubscribed":
        line += f"  — {member['label']} {member.get('since') or ''}".rstrip()
    return line
