"""Block Kit for the timeline: `/incident timeline` a page at a time (with the commander's
and scribe's corrections), the note form and the re-time form.

Pure builders like the rest of `bot/templates`: entries in, messages and views out; what
people typed is escaped and bounded; times are Slack date tokens (each reader's own zone).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DateTimePickerElement,
    InputBlock,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    SectionBlock,
)

from bot.flows.cards import IncidentCard, RenderedMessage, TimelinePage
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
from bot.templates.ops_common import MESSAGE_BLOCKS_LIMIT, headline, rendered
from bot.templates.ops_modals import about, incident_modal
from bot.templates.text import safe_mrkdwn

NOTE_CALLBACK = "incident_note"
RETIME_CALLBACK = "timeline_retime"
TIMELINE_PAGE_ACTION = "timeline_page"
TIMELINE_ENTRY_ACTION = "timeline_entry"
NOTE_BLOCK = "note"
WHEN_BLOCK = "when"
TIMELINE_PAGE_SIZE = 20
ENTRY_TEXT_LIMIT = 600
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
