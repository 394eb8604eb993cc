"""Block Kit of the clock's messages: update reminders (with Post update and Snooze), the
acknowledgement notice, escalation, the nudges and the post-mortem reminder.

Pure builders like the rest of `bot/templates`: one short message each, the people who
should act mentioned, times as Slack date tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, SectionBlock

from bot.flows.cards import IncidentCard, RenderedMessage
from bot.templates.incident import (
    ACK_ACTION,
    BUTTON_TEXT_LIMIT,
    UPDATE_ACTION,
    channel_mention,
    mrkdwn,
    plain,
    slack_date,
    user_mention,
)
from bot.templates.ops_common import (
    TAKE_ROLE_ACTION,
    format_elapsed,
    headline,
    rendered,
    take_role_value,
)
from bot.templates.text import safe_mrkdwn

SNOOZE_ACTION = "incident_snooze_reminder"
SNOOZE_BUTTONS = 5


def snooze_value(number: int, delay: timedelta) -> str:
    return f"{number}:{int(delay.total_seconds())}"


def parse_snooze_value(value: str | None) -> tuple[int | None, int | None]:
    number, _, seconds = (value or "").partition(":")
    if not (number.isdigit() and seconds.isdigit() and len(number) < 11 and len(seconds) < 9):
        return None, None
    return int(number), int(seconds)


def _who(users: Sequence[str | None]) -> str:
    people = [user_mention(u) for u in dict.fromkeys(u for u in users if u)]
    return " ".join(people) + " " if people else ""


def update_reminder(
    card: IncidentCard,
    *,
    since: timedelta,
    last_update: int | None,
    remind: Sequence[str | None],
    snooze: Sequence[tuple[str, timedelta]],
) -> RenderedMessage:
    """`@ic @comms: no status update on INC-42 for 32m.` with Post update and Snooze."""
    last = f"the last was Update #{last_update}" if last_update else "none posted yet"
    line = (
        f"{_who(remind)}:bell: No status update on {headline(card, 300)} for "
        f"{format_elapsed(since)} ({last}). People are waiting to hear."
    )
    value = str(card.number)
    buttons = [
        ButtonElement(
            text=plain("Post update", BUTTON_TEXT_LIMIT),
            action_id=UPDATE_ACTION,
            value=value,
            style="primary",
        ),
        *(
            ButtonElement(
                text=plain(f"Snooze {label}", BUTTON_TEXT_LIMIT),
                action_id=f"{SNOOZE_ACTION}:{i}",
                value=snooze_value(card.number, delay),
            )
            for i, (label, delay) in enumerate(snooze[:SNOOZE_BUTTONS])
        ),
    ]
    blocks: list[Block] = [SectionBlock(text=mrkdwn(line)), ActionsBlock(elements=buttons)]
    return rendered(line, blocks)


def superseded_reminder(card: IncidentCard) -> RenderedMessage:
    """What an older reminder turns into when a newer one is posted (no stacked buttons)."""
    line = f"_Reminder for {headline(card, 300)}: superseded by a newer one below._"
    return rendered(line, [ContextBlock(elements=[mrkdwn(line)])])


def snoozed_reminder(card: IncidentCard, *, by: str, until: datetime) -> RenderedMessage:
    line = (
        f"_Update reminder for {headline(card, 300)} snoozed by {user_mention(by)} until "
        f"{slack_date(until)}._"
    )
    return rendered(line, [ContextBlock(elements=[mrkdwn(line)])])


def _acknowledge(card: IncidentCard) -> ButtonElement:
    return ButtonElement(
        text=plain("Acknowledge", BUTTON_TEXT_LIMIT),
        action_id=ACK_ACTION,
        value=str(card.number),
        style="primary",
    )


def _with_button(line: str, button: ButtonElement) -> RenderedMessage:
    """One line and the one thing to do about it."""
    return rendered(line, [SectionBlock(text=mrkdwn(line)), ActionsBlock(elements=[button])])


def ack_overdue(
    card: IncidentCard, *, since: timedelta, remind: Sequence[str | None]
) -> RenderedMessage:
    line = (
        f"{_who(remind)}:rotating_light: Nobody has acknowledged {headline(card, 300)} "
        f"{format_elapsed(since)} after it was declared. Acknowledge if you are on it."
    )
    return _with_button(line, _acknowledge(card))


def escalated_in_channel(
    card: IncidentCard, *, step: int, mentions: Sequence[str]
) -> RenderedMessage:
    """Posted in the incident channel: who was paged (groups mentioned, so they see it)."""
    who = " ".join(mentions) or "the next people in the chain"
    line = (
        f":rotating_light: Still unacknowledged: escalating {headline(card, 300)} "
        f"(step {step}) to {who}."
    )
    return rendered(line, [SectionBlock(text=mrkdwn(line))])


def escalation_notice(card: IncidentCard, *, step: int) -> RenderedMessage:
    """To an escalation target (DM, or a channel): where the incident is."""
    where = f" Join {channel_mention(card.channel_id)}." if card.channel_id else ""
    line = (
        f":rotating_light: {headline(card, 300)} ({safe_mrkdwn(card.severity_id, 20)}) has not "
        f"been acknowledged: you are step {step} of its escalation.{where}"
    )
    return _with_button(line, _acknowledge(card))


def roles_nudge(card: IncidentCard, *, lead_role: str, lead_role_id: str) -> RenderedMessage:
    line = (
        f":wave: Nobody is *{safe_mrkdwn(lead_role, 60)}* of {headline(card, 300)} yet. "
        "Someone needs to lead: take it, or assign it."
    )
    button = ButtonElement(
        text=plain("Take command", BUTTON_TEXT_LIMIT),
        action_id=TAKE_ROLE_ACTION,
        value=take_role_value(card.number, lead_role_id),
        style="primary",
    )
    return _with_button(line, button)


def postmortem_reminder(card: IncidentCard, *, due_at: datetime, now: datetime) -> RenderedMessage:
    when = f"was due {slack_date(due_at)}" if now >= due_at else f"is due {slack_date(due_at)}"
    line = (
        f":memo: The post-mortem of {headline(card, 300)} {when}. Once it is written, record it "
        "with `/incident postmortem done &lt;link&gt;` in the incident channel."
    )
    return rendered(line, [SectionBlock(text=mrkdwn(line))])


def stale_nudge(
    card: IncidentCard, *, open_for: timedelta, remind: Sequence[str | None]
) -> RenderedMessage:
    line = (
        f"{_who(remind)}:hourglass: {headline(card, 300)} has been open for "
        f"{format_elapsed(open_for)}. If it is over, `/incident resolve`; if not, "
        "`/incident update` so people know where it stands."
    )
    return rendered(line, [SectionBlock(text=mrkdwn(line))])


def action_item_due(
    *, number: int, title: str | None, text: str, due_on: str, overdue: bool
) -> RenderedMessage:
    where = f"INC-{number}" + (f" · {safe_mrkdwn(' '.join(title.split()), 200)}" if title else "")
    state = f"was due {due_on}" if overdue else "is due today"
    line = (
        f":alarm_clock: Your action item from *{where}* {state}: "
        f"*{safe_mrkdwn(' '.join(text.split()), 500)}*"
    )
    return rendered(line, [SectionBlock(text=mrkdwn(line))])
