"""Block Kit for the incident's memory: the timeline, notes, action items, post-mortem notes.

Pure builders in the style of :mod:`bot.templates.operations`: plain snapshots in, a view
dict or a :class:`~bot.flows.cards.RenderedMessage` out; every text people typed is escaped
and bounded; times are Slack date tokens, so each reader sees their own time zone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DateTimePickerElement,
    InputBlock,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)

from bot.flows.cards import ActionItemView, IncidentCard, RenderedMessage, TimelinePage
from bot.templates.incident import (
    BUTTON_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    mrkdwn,
    one_line,
    plain,
    safe_url,
    slack_date,
    user_mention,
)
from bot.templates.ops_common import (
    MESSAGE_BLOCKS_LIMIT,
    headline,
    rendered,
)
from bot.templates.ops_modals import about, incident_modal
from bot.templates.text import safe_mrkdwn

ACTION_DONE_ACTION = "action_item_done"
ACTION_REOPEN_ACTION = "action_item_reopen"
ACTION_CALLBACK = "incident_action_item"
NOTE_CALLBACK = "incident_note"
RETIME_CALLBACK = "timeline_retime"
TIMELINE_PAGE_ACTION = "timeline_page"
TIMELINE_ENTRY_ACTION = "timeline_entry"

NOTE_BLOCK = "note"
WHEN_BLOCK = "when"
ACTION_TEXT_BLOCK = "action_text"
OWNER_BLOCK = "owner"
DUE_BLOCK = "due"
CATEGORY_BLOCK = "category"
PRIORITY_BLOCK = "priority"

TIMELINE_PAGE_SIZE = 20
ENTRY_TEXT_LIMIT = 600
ITEMS_SHOWN = 40  # an action item is a block; the rest of the message needs a few
LABEL_LIMIT = 2000

KIND_LABELS = {
    "declared": "Declared",
    "channel_created": "Channel",
    "responders_invited": "Responders",
    "announced": "Announced",
    "acknowledged": "Acknowledged",
    "acknowledged_again": "Acknowledged",
    "role_assigned": "Role",
    "status_update": "Update",
    "status_changed": "Status",
    "severity_changed": "Severity",
    "resolved": "Resolved",
    "closed": "Closed",
    "reopened": "Reopened",
    "archived": "Archived",
    "policy_problem": "Policy problem",
    "slack_failure": "Not done",
    "note": "Note",
    "message": "📌 Message",
    "action_item": "Action item",
    "action_item_done": "Action item done",
    "action_item_reopened": "Action item reopened",
    "postmortem_posted": "Post-mortem",
    "postmortem_done": "Post-mortem",
    "escalated": "Escalated",
    "reminded": "Reminder",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


# -- the timeline --------------------------------------------------------------------------


def _entry_line(
    entry_at: datetime, kind: str, actor: str | None, text: str, link: str | None
) -> str:
    parts = [slack_date(entry_at), f"*{safe_mrkdwn(kind_label(kind), 60)}*"]
    if text.strip():
        parts.append(safe_mrkdwn(one_line(text), ENTRY_TEXT_LIMIT))
    if actor:
        parts.append(f"by {user_mention(actor)}")
    url = safe_url(link)
    if url is not None:
        parts.append(f"<{url}|message>")
    return " · ".join(parts)


def timeline_value(number: int, offset: int) -> str:
    return f"{number}:{max(offset, 0)}"


def parse_timeline_value(value: str | None) -> tuple[int | None, int]:
    """(incident, offset) from a paging button; (None, 0) for anything else."""
    number, _, offset = (value or "").partition(":")
    if not (number.isdigit() and offset.isdigit() and len(number) < 11 and len(offset) < 11):
        return None, 0
    return int(number), int(offset)


def entry_value(verb: str, number: int, entry_id: int, offset: int) -> str:
    return f"{verb}:{number}:{entry_id}:{max(offset, 0)}"


@dataclass(frozen=True)
class EntryChoice:
    """What an entry's overflow menu asks: `retime` or `delete` entry `entry_id` of incident
    `number`, seen on the page starting at `offset`."""

    verb: str
    number: int
    entry_id: int
    offset: int


def parse_entry_value(value: str | None) -> EntryChoice | None:
    parts = (value or "").split(":")
    if len(parts) != 4 or parts[0] not in ("retime", "delete"):
        return None
    if not all(p.isdigit() and len(p) < 11 for p in parts[1:]):
        return None
    return EntryChoice(parts[0], int(parts[1]), int(parts[2]), int(parts[3]))


def timeline_message(card: IncidentCard, page: TimelinePage) -> RenderedMessage:
    """One page of the timeline, oldest first, with paging buttons; never silently cut."""
    blocks: list[Block] = [SectionBlock(text=mrkdwn(f"*Timeline of {headline(card, 300)}*"))]
    if not page.entries:
        blocks.append(SectionBlock(text=mrkdwn("_Nothing on the timeline yet._")))
    for entry in page.entries:
        line = _entry_line(entry.at, entry.kind, entry.actor, entry.text, entry.permalink)
        accessory = None
        if page.can_edit:
            accessory = OverflowMenuElement(
                action_id=TIMELINE_ENTRY_ACTION,
                options=[
                    Option(
                        text=plain("Change time…", 75),
                        value=entry_value("retime", page.number, entry.id, page.offset),
                    ),
                    Option(
                        text=plain("Delete", 75),
                        value=entry_value("delete", page.number, entry.id, page.offset),
                    ),
                ],
            )
        blocks.append(SectionBlock(text=mrkdwn(line[:SECTION_TEXT_LIMIT]), accessory=accessory))
    first, last = page.offset + 1, page.offset + len(page.entries)
    shown = f"Entries {first}–{last} of {page.total}" if page.entries else f"{page.total} entries"
    blocks.append(ContextBlock(elements=[mrkdwn(f"{shown} · times are in your time zone")]))
    buttons = []
    if page.offset > 0:
        buttons.append(
            ButtonElement(
                text=plain("◀ Earlier", BUTTON_TEXT_LIMIT),
                action_id=TIMELINE_PAGE_ACTION,
                value=timeline_value(page.number, page.offset - TIMELINE_PAGE_SIZE),
            )
        )
    if last < page.total:
        buttons.append(
            ButtonElement(
                text=plain("Later ▶", BUTTON_TEXT_LIMIT),
                action_id=f"{TIMELINE_PAGE_ACTION}_next",
                value=timeline_value(page.number, last),
            )
        )
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    text = f"Timeline of {card.label}: {shown}"
    return rendered(text, blocks[:MESSAGE_BLOCKS_LIMIT])


def timeline_done(text: str) -> RenderedMessage:
    return rendered(text, [SectionBlock(text=mrkdwn(safe_mrkdwn(text, SECTION_TEXT_LIMIT)))])


# -- modals --------------------------------------------------------------------------------


def _when(label: str, hint: str, initial: datetime | None = None) -> InputBlock:
    return InputBlock(
        block_id=WHEN_BLOCK,
        label=plain(label, LABEL_LIMIT),
        optional=initial is None,
        hint=plain(hint, LABEL_LIMIT),
        element=DateTimePickerElement(
            action_id=WHEN_BLOCK,
            initial_date_time=int(initial.timestamp()) if initial is not None else None,
        ),
    )


def note_modal(card: IncidentCard) -> dict[str, Any]:
    """`/incident note` alone: the note, and when it happened if not now (a backfill)."""
    blocks = [
        InputBlock(
            block_id=NOTE_BLOCK,
            label=plain("Note", LABEL_LIMIT),
            element=PlainTextInputElement(
                action_id=NOTE_BLOCK,
                multiline=True,
                max_length=3000,
                placeholder=plain("What happened, what was decided, what was tried", 150),
            ),
        ),
        _when("When", 'Leave empty for now; set it to backfill ("impact started at 13:52")'),
    ]
    return incident_modal(
        card,
        callback_id=NOTE_CALLBACK,
        title="Add to timeline",
        submit="Add",
        blocks=[about(card), *blocks],
    )


def retime_modal(card: IncidentCard, *, entry_id: int, at: datetime, text: str) -> dict[str, Any]:
    metadata = json.dumps(
        {"incident": card.number, "channel": card.channel_id, "entry": entry_id},
        separators=(",", ":"),
    )
    blocks = [
        SectionBlock(text=mrkdwn(safe_mrkdwn(one_line(text) or "(no text)", 2000))),
        _when("When it happened", "In your time zone", initial=at),
    ]
    return incident_modal(
        card,
        callback_id=RETIME_CALLBACK,
        title="Correct the time",
        submit="Save",
        blocks=[about(card), *blocks],
        metadata=metadata,
    )


def parse_entry_metadata(text: str | None) -> int | None:
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return None
    entry = data.get("entry") if isinstance(data, dict) else None
    return entry if isinstance(entry, int) and 0 < entry < 2**31 else None


CATEGORY_CHOICES = (
    ("detection", "Detection: monitoring, alerting"),
    ("response", "Response: procedures, tooling"),
    ("recovery", "Recovery: backup, restore"),
    ("prevention", "Prevention: architecture, quality"),
)
PRIORITY_CHOICES = (
    ("1", "1 · High impact, low effort"),
    ("2", "2 · High impact, high effort"),
    ("3", "3 · Low impact, low effort"),
    ("4", "4 · Low impact, high effort"),
)


def _select(block_id: str, label: str, choices: Sequence[tuple[str, str]]) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain(label, LABEL_LIMIT),
        optional=True,
        element=StaticSelectElement(
            action_id=block_id,
            placeholder=plain("Choose", 150),
            options=[Option(text=plain(text, 75), value=value) for value, text in choices],
        ),
    )


def action_modal(card: IncidentCard) -> dict[str, Any]:
    blocks = [
        InputBlock(
            block_id=ACTION_TEXT_BLOCK,
            label=plain("What needs doing", LABEL_LIMIT),
            element=PlainTextInputElement(
                action_id=ACTION_TEXT_BLOCK,
                max_length=500,
                placeholder=plain("Add an alert on connection pool usage", 150),
            ),
        ),
        InputBlock(
            block_id=OWNER_BLOCK,
            label=plain("Owner", LABEL_LIMIT),
            optional=True,
            element=UserSelectElement(action_id=OWNER_BLOCK),
        ),
        InputBlock(
            block_id=DUE_BLOCK,
            label=plain("Due", LABEL_LIMIT),
            optional=True,
            element=DatePickerElement(action_id=DUE_BLOCK),
        ),
        _select(CATEGORY_BLOCK, "Improves", CATEGORY_CHOICES),
        _select(PRIORITY_BLOCK, "Priority (impact × effort)", PRIORITY_CHOICES),
    ]
    return incident_modal(
        card,
        callback_id=ACTION_CALLBACK,
        title="Add action item",
        submit="Add",
        blocks=[about(card), *blocks],
    )


# -- action items --------------------------------------------------------------------------


def _due(day: date | None) -> str:
    if day is None:
        return ""
    moment = datetime.combine(day, time(12), tzinfo=UTC)
    return f"due <!date^{int(moment.timestamp())}^{{date_short}}|{day.isoformat()}>"


def _item_line(item: ActionItemView, *, with_incident: bool) -> str:
    box = "✅" if item.done else "☐"
    text = safe_mrkdwn(one_line(item.text), 500)
    parts = [f"{box} {'~' + text + '~' if item.done else '*' + text + '*'}"]
    if with_incident:
        title = item.incident_title
        where = f"INC-{item.number}"
        parts.append(
            f"{where} · {safe_mrkdwn(one_line(title), 120)}" if title else f"{where} (private)"
        )
    parts.append(f"owner {user_mention(item.owner)}" if item.owner else "_no owner_")
    if item.due_on is not None:
        parts.append(_due(item.due_on))
    if item.category:
        parts.append(safe_mrkdwn(item.category, 20))
    if item.priority:
        parts.append(f"P{item.priority}")
    return " · ".join(parts)


def action_button(item: ActionItemView) -> ButtonElement:
    if item.done:
        return ButtonElement(
            text=plain("Reopen", BUTTON_TEXT_LIMIT),
            action_id=ACTION_REOPEN_ACTION,
            value=str(item.id),
        )
    return ButtonElement(
        text=plain("Done", BUTTON_TEXT_LIMIT),
        action_id=ACTION_DONE_ACTION,
        value=str(item.id),
        style="primary",
    )


def action_items_message(
    items: Sequence[ActionItemView], *, heading: str, with_incident: bool, empty: str
) -> RenderedMessage:
    """A list with a Done (or Reopen) button per item, open items first."""
    ordered = sorted(items, key=lambda i: (i.done, i.due_on or date.max, i.id))
    blocks: list[Block] = [SectionBlock(text=mrkdwn(safe_mrkdwn(heading, 300)))]
    if not ordered:
        blocks.append(SectionBlock(text=mrkdwn(f"_{safe_mrkdwn(empty, 300)}_")))
    for item in ordered[:ITEMS_SHOWN]:
        blocks.append(
            SectionBlock(
                text=mrkdwn(_item_line(item, with_incident=with_incident)),
                accessory=action_button(item),
            )
        )
    hidden = len(ordered) - ITEMS_SHOWN
    if hidden > 0:
        blocks.append(ContextBlock(elements=[mrkdwn(f"…and {hidden} more")]))
    open_count = sum(1 for i in items if not i.done)
    return rendered(f"{safe_mrkdwn(heading, 300)}: {open_count} open", blocks)


def action_item_dm(item: ActionItemView, *, by: str) -> RenderedMessage:
    """Told once to the owner of a new item (a private incident's title stays out)."""
    where = f"INC-{item.number}"
    if item.incident_title:
        where += f" · {safe_mrkdwn(one_line(item.incident_title), 200)}"
    intro = f"{user_mention(by)} gave you an action item from *{where}*:"
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(intro)),
        SectionBlock(
            text=mrkdwn(_item_line(item, with_incident=False)), accessory=action_button(item)
        ),
        ContextBlock(elements=[mrkdwn("`/incident actions` lists everything you own.")]),
    ]
    return rendered(f"Action item from {where}: {safe_mrkdwn(one_line(item.text), 300)}", blocks)


def action_added(item: ActionItemView) -> RenderedMessage:
    """The ephemeral answer to `/incident action`."""
    line = _item_line(item, with_incident=False)
    return rendered(
        f"Action item added: {safe_mrkdwn(one_line(item.text), 300)}",
        [SectionBlock(text=mrkdwn(f"Added to INC-{item.number}: {line}"))],
    )


# -- post-mortem ---------------------------------------------------------------------------


def postmortem_filename(number: int) -> str:
    return f"INC-{number}-postmortem.md"


def postmortem_comment(card: IncidentCard, *, fresh: bool, canvas: bool = False) -> str:
    """The one line that goes with a posted draft (mrkdwn)."""
    what = "A fresh post-mortem draft" if fresh else "The post-mortem draft"
    where = "is in this channel's canvas" if canvas else "is attached"
    return (
        f"📝 {what} for {headline(card, 200)} {where}. Edit it into the final document, then "
        "record its link with `/incident postmortem done &lt;link&gt;`."
    )


def postmortem_note(card: IncidentCard, *, fresh: bool) -> RenderedMessage:
    text = postmortem_comment(card, fresh=fresh, canvas=True)
    return rendered(text, [SectionBlock(text=mrkdwn(text))])
