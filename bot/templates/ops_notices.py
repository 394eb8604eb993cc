"""One-line channel notices (acknowledged, role assigned, status changed, closed, reopened),
the direct message to a new role holder, and refusals.

Each notice is one verbatim mrkdwn section; its `text` fallback says the same in the same
escaped words (mentions and dates are Slack's own sequences, built from validated ids).
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from bot.flows.cards import IncidentCard, RenderedMessage
from bot.templates.incident import (
    SECTION_TEXT_LIMIT,
    channel_mention,
    clip,
    mrkdwn,
    slack_date,
)
from bot.templates.ops_common import (
    drill_prefix,
    headline,
    name,
    person,
    rendered,
    status_label,
    user_text,
    utc_words,
)
from bot.templates.text import safe_mrkdwn

ROLE_DESCRIPTION_LIMIT = 2000


def _notice(line: str, *, when: datetime | None = None, tail: str = "") -> RenderedMessage:
    """One section: `line`, then Slack's date of `when` and `tail`.

    The fallback is the same words without the emoji code and the bold marks, the date in
    plain UTC (notifications do not render date sequences).
    """
    block = line + (slack_date(when) if when is not None else "") + tail
    words = line.split(" ", 1)[-1].replace("*", "")
    fallback = words + (utc_words(when) if when is not None else "") + tail.replace("*", "")
    return rendered(fallback, [SectionBlock(text=mrkdwn(clip(block, SECTION_TEXT_LIMIT)))])


def _label(card: IncidentCard) -> str:
    return f"{drill_prefix(card.drill)}{card.label}"


def acknowledged_message(
    card: IncidentCard, *, by: str, at: datetime, first: bool
) -> RenderedMessage:
    """`:eyes: <@U…> acknowledged INC-42` (or `also acknowledged` after the first)."""
    verb = "acknowledged" if first else "also acknowledged"
    return _notice(f":eyes: {person(by)} {verb} *{_label(card)}* · ", when=at)


def already_acknowledged_message(
    number: int, *, by: str | None, at: datetime | None, you: bool
) -> RenderedMessage:
    """The private answer to an acknowledgement that changed nothing."""
    if you or by is None:
        return _notice(f":eyes: You already acknowledged *INC-{number}*.")
    return _notice(
        f":eyes: *INC-{number}* was already acknowledged by {person(by)} · ",
        when=at,
        tail=" · your acknowledgement is on the timeline too.",
    )


def role_assigned_message(
    card: IncidentCard, *, role_name: str, user: str, previous: str | None, by: str
) -> RenderedMessage:
    """`<@by> made <@user> the *Technical Lead* of INC-42 (was <@prev>)`; or `… took …`."""
    role = name(role_name)
    if by == user:
        line = f":bust_in_silhouette: {person(user)} is now the *{role}* of *{_label(card)}*"
    else:
        line = (
            f":bust_in_silhouette: {person(by)} made {person(user)} "
            f"the *{role}* of *{_label(card)}*"
        )
    if previous and previous != user:
        line += f" (was {person(previous)})"
    return _notice(line)


def status_changed_message(card: IncidentCard, *, old: str, new: str, by: str) -> RenderedMessage:
    """`<@U> moved INC-42 from *Investigating* to *Identified*`."""
    return _notice(
        f":arrows_counterclockwise: {person(by)} moved *{_label(card)}* "
        f"from *{status_label(old)}* to *{status_label(new)}*"
    )


def closed_message(card: IncidentCard, *, by: str, archive_at: datetime | None) -> RenderedMessage:
    """`<@U> closed INC-42`, and when the channel will be archived."""
    line = f":checkered_flag: {person(by)} closed *{_label(card)}*."
    if archive_at is None:
        return _notice(line)
    return _notice(f"{line} This channel will be archived ", when=archive_at, tail=".")


def reopened_message(card: IncidentCard, *, by: str) -> RenderedMessage:
    """`<@U> reopened INC-42 · status *Investigating*` (the card's status after reopening)."""
    return _notice(
        f":leftwards_arrow_with_hook: {person(by)} reopened *{_label(card)}* · "
        f"status *{status_label(card.status)}*"
    )


def role_dm(
    card: IncidentCard, *, role_name: str, role_description: str, by: str
) -> RenderedMessage:
    """To the new holder: `You are now the *Technical Lead* of INC-42 · title in <#C…>.`"""
    where = f" in {channel_mention(card.channel_id)}" if card.channel_id else ""
    line = f"You are now the *{name(role_name)}* of {headline(card)}{where}."
    blocks: list[Block] = [SectionBlock(text=mrkdwn(clip(line, SECTION_TEXT_LIMIT)))]
    description = role_description.strip()
    if description:
        blocks.append(
            SectionBlock(text=mrkdwn(user_text(description, ROLE_DESCRIPTION_LIMIT, empty="")))
        )
    blocks.append(ContextBlock(elements=[mrkdwn(f"Assigned by {person(by)}")]))
    text = line.replace("*", "")
    if description:
        text += " " + safe_mrkdwn(" ".join(description.split()), ROLE_DESCRIPTION_LIMIT)
    return rendered(text, blocks)


def refusal(text: str) -> RenderedMessage:
    """An ephemeral error in the flow's own words, escaped and bounded."""
    words = user_text(text, SECTION_TEXT_LIMIT - len(":warning: "), empty="That did not work.")
    return rendered(words, [SectionBlock(text=mrkdwn(f":warning: {words}"))])


def unreachable_target_notice(
    *, label: str, target: str, why: str, commander: str | None
) -> RenderedMessage:
    """Told once to the commander: a target the policy names that Slack does not know was
    neither notified nor invited (never reported as told)."""
    who = f"{person(commander)}: " if commander else ""
    name = safe_mrkdwn(target, 100)
    line = (
        f":warning: {who}`{name}` {safe_mrkdwn(why, 200)}, so nobody from it was notified or "
        f"invited for {safe_mrkdwn(label, 20)}. Invite the people it should reach by hand; an "
        "admin should fix the policy (`warroom policy check`)."
    )
    return rendered(line.replace("*", ""), [SectionBlock(text=mrkdwn(line))])


def gave_up_notice(
    *, label: str, what: str, why: str, commander: str | None = None, slack: bool = True
) -> RenderedMessage:
    """Told once when warroom gave up on something: `:warning: INC-42: Archiving the incident
    channel did not work: Slack refused it (not_in_channel). I won't retry it.` Addressed to
    the commander when there is one; `slack`: the failure was Slack's (else another service's,
    whose words say what to check)."""
    check = (
        "ask your warroom admin to check the Slack app's access"
        if slack
        else ("ask your warroom admin to check warroom's settings for it")
    )
    line = user_text(
        f"{label}: {what} did not work: {why}. I won't retry it; {check}.",
        SECTION_TEXT_LIMIT - len(":warning: ") - 20,
        empty="Something did not work.",
    )
    who = f"{person(commander)}: " if commander else ""
    return rendered(f"{who}{line}", [SectionBlock(text=mrkdwn(f":warning: {who}{line}"))])
