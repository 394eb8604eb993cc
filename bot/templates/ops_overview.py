"""`/incident status` and `/incident list`: ephemeral overviews, bounded to one message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.flows.cards import ListedIncident, RenderedMessage, RoleLine, StatusSummary
from bot.templates.incident import (
    BUTTON_TEXT_LIMIT,
    FIELD_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    channel_mention,
    clip,
    mrkdwn,
    one_line,
    plain,
    slack_date,
    user_mention,
)
from bot.templates.ops_common import (
    MESSAGE_BLOCKS_LIMIT,
    TAKE_ROLE_ACTION,
    as_utc,
    bounded_lines,
    bullet_items,
    drill_prefix,
    format_elapsed,
    headline,
    incident_figures,
    name,
    rendered,
    severity_id,
    severity_mrkdwn,
    severity_words,
    status_label,
    take_role_value,
    title_mrkdwn,
    usable_value,
)
from bot.templates.text import safe_mrkdwn

LIST_TITLE_LIMIT = 200
TAKE_BUTTONS_MAX = 10
ACTION_ITEMS_SHOWN = 10
NO_INCIDENTS = "No open incidents you can see. :tada:"
SUBCOMMAND_LIMIT = 40


def _field(label: str, value: str) -> MarkdownTextObject:
    return mrkdwn(clip(f"*{label}*\n{value}", FIELD_TEXT_LIMIT))


def _holder(user: str | None) -> str:
    return user_mention(user) if user else "_unassigned_"


def status_summary(summary: StatusSummary, *, lead_role_id: str | None = None) -> RenderedMessage:
    """The incident at a glance, for the person who asked.

    Unassigned roles get a "Take role" button (`TAKE_ROLE_ACTION`, value from
    :func:`~bot.templates.ops_common.take_role_value`); the commander's role too when the
    flow passes its id as `lead_role_id`.
    """
    card = summary.card
    lock = " :lock:" if card.private else ""
    if summary.acknowledged_by:
        acknowledged = user_mention(summary.acknowledged_by)
        if summary.acknowledged_at is not None:
            acknowledged += f" · {slack_date(summary.acknowledged_at)}"
    else:
        acknowledged = "_not acknowledged yet_"
    last = summary.last_update
    last_words = (
        f"#{last.seq} · {slack_date(last.posted_at)}" if last is not None else "_no update yet_"
    )
    due = summary.next_update_due_at
    due_words = slack_date(due) if due is not None else "_no cadence_"
    facts = SectionBlock(
        text=mrkdwn(f"*{headline(card)}*{lock}"),
        fields=[
            _field("Severity", severity_mrkdwn(card.severity_id, card.severity_name)),
            _field("Status", status_label(card.status)),
            _field("Open for", format_elapsed(summary.age)),
            _field("Acknowledged", acknowledged),
            _field("Last update", last_words),
            _field("Next update due", due_words),
        ],
    )
    blocks: list[Block] = [facts]
    figures = incident_figures(card)
    if figures is not None:
        blocks.append(ContextBlock(elements=[mrkdwn(figures)]))

    # roles: the commander first, then the others; unassigned ones may be taken
    roles: list[tuple[RoleLine | None, str, str | None]] = [
        (None, "Incident Commander", card.commander)
    ]
    roles += [(role, role.role_name, role.user_id) for role in card.roles]
    lines: list[str] = []
    takeable: list[tuple[str, str]] = []  # (role id, escaped name)
    for role, role_name, holder in roles:
        words = name(role_name)
        role_id = role.role_id if role is not None else lead_role_id
        if not holder and role_id is not None and usable_value(role_id):
            takeable.append((role_id, words))
        lines.append(f"{words}: {_holder(holder)}")
    heading = "*Roles*\n"
    blocks.append(
        SectionBlock(
            text=mrkdwn(heading + bounded_lines(lines, limit=SECTION_TEXT_LIMIT - len(heading)))
        )
    )
    for role_id, words in takeable[:TAKE_BUTTONS_MAX]:
        blocks.append(
            SectionBlock(
                text=mrkdwn(clip(f"*{words}* has nobody yet.", SECTION_TEXT_LIMIT)),
                accessory=ButtonElement(
                    text=plain("Take role", BUTTON_TEXT_LIMIT),
                    action_id=TAKE_ROLE_ACTION,
                    value=take_role_value(card.number, role_id),
                ),
            )
        )

    items = summary.open_action_items
    heading = f"*Open action items* ({len(items)})\n"
    body = (
        bullet_items(items, limit=SECTION_TEXT_LIMIT - len(heading), max_items=ACTION_ITEMS_SHOWN)
        if items
        else "_None_"
    )
    blocks.append(SectionBlock(text=mrkdwn(heading + body)))
    if card.channel_id:
        blocks.append(
            ContextBlock(elements=[mrkdwn(f"Channel: {channel_mention(card.channel_id)}")])
        )
    text = (
        f"{headline(card)} · {severity_words(card.severity_id, card.severity_name)} · "
        f"{status_label(card.status)} · open for {format_elapsed(summary.age)}"
    )
    return rendered(text, blocks)


# -- lists ---------------------------------------------------------------------------------


def _list_line(incident: ListedIncident, now: datetime | None) -> str:
    """`*P1* · <#C…> · INC-42 :lock: · title · Investigating · IC <@U…> · 2h 3m`."""
    channel = channel_mention(incident.channel_id) if incident.channel_id else "_no channel yet_"
    lock = " :lock:" if incident.private else ""
    commander = f"IC {user_mention(incident.commander)}" if incident.commander else "IC unassigned"
    parts = [
        f"*{severity_id(incident.severity_id)}*",
        channel,
        f"{drill_prefix(incident.drill)}INC-{incident.number}{lock}",
        title_mrkdwn(incident.title, LIST_TITLE_LIMIT),
        status_label(incident.status),
        commander,
    ]
    if now is not None:
        parts.append(format_elapsed(as_utc(now) - as_utc(incident.declared_at)))
    return " · ".join(parts)


def _list_blocks(
    incidents: Sequence[ListedIncident], now: datetime | None, room: int
) -> list[Block]:
    """Sections of whole lines (≤ 3000 characters each), at most `room` of them; what does
    not fit is counted in a last `…and N more` line."""
    sections: list[list[str]] = [[]]
    size = 0
    shown = 0
    for incident in incidents:
        line = _list_line(incident, now)
        extra = len(line) + (1 if sections[-1] else 0)
        if size + extra > SECTION_TEXT_LIMIT:
            if len(sections) >= room:
                break
            sections.append([])
            size, extra = 0, len(line)
        sections[-1].append(line)
        size += extra
        shown += 1
    hidden = len(incidents) - shown
    if hidden:
        last = sections[-1]
        while last and size + len(f"\n…and {hidden} more") > SECTION_TEXT_LIMIT:
            removed = last.pop()
            size -= len(removed) + (1 if last else 0)
            hidden += 1
        last.append(f"…and {hidden} more")
    return [
        SectionBlock(text=mrkdwn(clip("\n".join(lines), SECTION_TEXT_LIMIT)))
        for lines in sections
        if lines
    ]


def _fallback(incidents: Sequence[ListedIncident]) -> str:
    """`INC-42 P1 title; INC-43 P3 title …` for the text fallback (bounded later)."""
    words = "; ".join(
        f"INC-{i.number} {safe_mrkdwn(one_line(i.severity_id), 20)} {title_mrkdwn(i.title, 80)}"
        for i in incidents[:20]
    )
    return words + (" …" if len(incidents) > 20 else "")


def incident_list(incidents: Sequence[ListedIncident], *, now: datetime) -> RenderedMessage:
    """`/incident list`: one line per incident, in the order given."""
    if not incidents:
        return rendered(NO_INCIDENTS, [SectionBlock(text=mrkdwn(NO_INCIDENTS))])
    blocks = _list_blocks(incidents, now, MESSAGE_BLOCKS_LIMIT)
    count = len(incidents)
    noun = "open incident" if count == 1 else "open incidents"
    return rendered(f"{count} {noun}: {_fallback(incidents)}", blocks)


def not_in_incident_channel(
    incidents: Sequence[ListedIncident], *, subcommand: str, now: datetime | None = None
) -> RenderedMessage:
    """`/incident <sub>` used outside an incident channel: say so and list where it works.

    Ages are shown when `now` is given.
    """
    sub = safe_mrkdwn(one_line(subcommand).replace("`", ""), SUBCOMMAND_LIMIT) or "…"
    if incidents:
        intro = f"`/incident {sub}` works in an incident's channel. Open incidents you can see:"
        blocks = [
            SectionBlock(text=mrkdwn(intro)),
            *_list_blocks(incidents, now, MESSAGE_BLOCKS_LIMIT - 1),
        ]
        return rendered(f"{intro} {_fallback(incidents)}", blocks)
    intro = f"`/incident {sub}` works in an incident's channel. {NO_INCIDENTS}"
    return rendered(intro, [SectionBlock(text=mrkdwn(intro))])
