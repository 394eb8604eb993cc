"""The periodic digest posted to the policy's `digest.channel`.

Pure: the period's figures (and the previous period's, to compare), and the lists from
`store.digest_lists`, in; a message out. Private incidents only ever appear as a count: no
title, no channel, no action item text of theirs.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

import store
from bot.flows.cards import RenderedMessage
from bot.report import duration_words, percent
from bot.templates.incident import (
    SECTION_TEXT_LIMIT,
    channel_mention,
    mrkdwn,
    plain,
    slack_date,
    user_mention,
)
from bot.templates.ops_common import (
    bounded_lines,
    format_elapsed,
    rendered,
    severity_id,
    title_mrkdwn,
)
from bot.templates.text import safe_mrkdwn

LINE_TITLE_LIMIT = 150


def _incident_line(incident: store.Incident) -> str:
    where = f" · {channel_mention(incident.channel_id)}" if incident.channel_id else ""
    title = title_mrkdwn(incident.title, LINE_TITLE_LIMIT)
    return f"• *{severity_id(incident.severity)}* INC-{incident.number} · {title}{where}"


def _against(now: float | None, before: float | None) -> str:
    """`12m (was 20m)`."""
    return f"{duration_words(now)} (was {duration_words(before)})"


def _section(heading: str, lines: list[str], *, total: int) -> SectionBlock:
    head = f"*{heading}*\n"
    body = bounded_lines(lines, limit=SECTION_TEXT_LIMIT - len(head), total=total)
    return SectionBlock(text=mrkdwn(head + (body or "_none_")))


def digest_message(
    metrics: store.IncidentMetrics,
    previous: store.IncidentMetrics,
    lists: store.DigestLists,
    *,
    period_name: str,
    now: datetime,
) -> RenderedMessage:
    overall, before = metrics.overall, previous.overall
    by_severity = ", ".join(
        f"{severity_id(sev)}: {found.count}" for sev, found in sorted(metrics.by_severity.items())
    )
    figures = [
        f"*{overall.count}* incidents ({by_severity or 'none'}); {metrics.open_count} still open",
        "MTTA (median) "
        + _against(overall.spread("tta").median, before.spread("tta").median)
        + " · MTTR (median) "
        + _against(overall.spread("ttr").median, before.spread("ttr").median),
        f"Updates on cadence: {percent(overall.update_adherence)} "
        f"(was {percent(before.update_adherence)})",
    ]
    declared_public = [i for i in lists.declared if not i.private]
    private_declared = metrics.private_count
    declared_lines = [_incident_line(i) for i in declared_public]
    if private_declared:
        declared_lines.append(f"• and {private_declared} private (not listed)")
    open_public = [i for i in lists.still_open if not i.private]
    open_lines = [
        f"{_incident_line(i)} · open {format_elapsed(now - i.declared_at)}" for i in open_public
    ]
    private_open = sum(1 for i in lists.still_open if i.private)
    if private_open:
        open_lines.append(f"• and {private_open} private")
    postmortem_lines = [
        f"{_incident_line(i)} · was due {slack_date(i.postmortem_due_at)}"
        for i in lists.overdue_postmortems
        if not i.private and i.postmortem_due_at is not None
    ]
    if hidden := sum(1 for i in lists.overdue_postmortems if i.private):
        postmortem_lines.append(f"• and {hidden} of private incidents")
    action_lines = [
        f"• {safe_mrkdwn(' '.join(item.text.split()), 200)} · "
        f"{user_mention(item.owner) if item.owner else '_no owner_'} · INC-{incident.number}"
        + (f" · due {slack_date(item.due_at)}" if item.due_at else "")
        for item, incident in lists.overdue_actions
        if not incident.private
    ]
    if hidden := sum(1 for _item, incident in lists.overdue_actions if incident.private):
        action_lines.append(f"• and {hidden} of private incidents")
    blocks: list[Block] = [
        HeaderBlock(text=plain("Incident digest", 150)),
        ContextBlock(elements=[mrkdwn(safe_mrkdwn(period_name, 500))]),
        SectionBlock(text=mrkdwn("\n".join(figures))),
        _section(
            "Incidents",
            declared_lines,
            total=max(lists.declared_total - private_declared, len(declared_public))
            + (1 if private_declared else 0),
        ),
        _section("Still open", open_lines, total=len(open_lines)),
        _section("Overdue post-mortems", postmortem_lines, total=len(postmortem_lines)),
        _section("Overdue action items", action_lines, total=len(action_lines)),
    ]
    text = (
        f"Incident digest, {period_name}: {overall.count} incidents, MTTA "
        f"{duration_words(overall.spread('tta').median)}, MTTR "
        f"{duration_words(overall.spread('ttr').median)}"
    )
    return rendered(text, blocks)
