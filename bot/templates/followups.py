"""Block Kit for what an incident leaves behind: action items (lists, DMs, the form) and the
lines that go with a posted post-mortem draft (the timeline is `bot/templates/timeline.py`).

Pure builders in the style of :mod:`bot.templates.operations`: plain snapshots in, a view
dict or a :class:`~bot.flows.cards.RenderedMessage` out; every text people typed is escaped
and bounded; times are Slack date tokens, so each reader sees their own time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)

from bot.flows.cards import ActionItemView, IncidentCard, RenderedMessage
from bot.templates.incident import (
    BUTTON_TEXT_LIMIT,
    mrkdwn,
    one_line,
    plain,
    user_mention,
)
from bot.templates.ops_common import (
    headline,
    rendered,
)
from bot.templates.ops_modals import about, incident_modal
from bot.templates.text import safe_mrkdwn

ACTION_DONE_ACTION = "action_item_done"
ACTION_REOPEN_ACTION = "action_item_reopen"
ACTION_CALLBACK = "incident_action_item"

ACTION_TEXT_BLOCK = "action_text"
OWNER_BLOCK = "owner"
DUE_BLOCK = "due"
CATEGORY_BLOCK = "category"
PRIORITY_BLOCK = "priority"

ITEMS_SHOWN = 40  # an action item is a block; the rest of the message needs a few
LABEL_LIMIT = 2000


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
