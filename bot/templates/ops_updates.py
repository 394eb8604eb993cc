"""Status updates, severity changes and the resolution: the incident's news messages."""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.flows.cards import IncidentCard, RenderedMessage, UpdateCard
from bot.templates.incident import (
    FIELD_TEXT_LIMIT,
    HEADER_LIMIT,
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
    drill_prefix,
    format_elapsed,
    headline,
    incident_figures,
    person,
    plain_headline,
    rendered,
    severity_mrkdwn,
    severity_words,
    status_label,
    title_mrkdwn,
    user_text,
)
from bot.templates.text import safe_mrkdwn

FALLBACK_PART_LIMIT = 1000  # one piece of user text inside a text fallback
SHARE_IMPACT_LIMIT = 1500  # the announce channel gets the gist


def _update_suffix(update: UpdateCard) -> str:
    return f" · Update #{update.seq}"


def _labelled(label: str, body: str) -> SectionBlock:
    """`*Label:* body` as one section (body already escaped)."""
    return SectionBlock(text=mrkdwn(clip(f"*{label}:* {body}", SECTION_TEXT_LIMIT)))


def _fallback(text: str) -> str:
    return safe_mrkdwn(one_line(text), FALLBACK_PART_LIMIT)


def status_update_message(card: IncidentCard, update: UpdateCard) -> RenderedMessage:
    """A posted update, in the incident channel: status, impact, actions, next update."""
    suffix = _update_suffix(update)
    room = SECTION_TEXT_LIMIT - len("*Impact:* ")
    blocks: list[Block] = [
        HeaderBlock(text=plain(plain_headline(card, suffix, HEADER_LIMIT), HEADER_LIMIT)),
        _labelled("Status", status_label(update.status)),
        _labelled("Impact", user_text(update.impact, room)),
        # The form's own words ("What is being done"), not a label of our own.
        _labelled("What is being done", user_text(update.actions, room)),
    ]
    if update.next_update_at is not None:
        # A date token: each reader sees their own time (and the date when not today).
        blocks.append(
            SectionBlock(text=mrkdwn(f"*Next update* {slack_date(update.next_update_at)}"))
        )
    blocks.append(
        ContextBlock(
            elements=[mrkdwn(f"Posted by {person(update.author)} · {slack_date(update.posted_at)}")]
        )
    )
    text = f"{headline(card)}{suffix} · Status: {status_label(update.status)}"
    if update.impact.strip():
        text += f" · Impact: {_fallback(update.impact)}"
    return rendered(text, blocks)


def status_update_share(card: IncidentCard, update: UpdateCard) -> RenderedMessage:
    """The short form for the announce channel: status, impact, where to follow."""
    suffix = _update_suffix(update)
    body = (
        f"*Status:* {status_label(update.status)}\n"
        f"*Impact:* {user_text(update.impact, SHARE_IMPACT_LIMIT)}"
    )
    blocks: list[Block] = [
        HeaderBlock(text=plain(plain_headline(card, suffix, HEADER_LIMIT), HEADER_LIMIT)),
        SectionBlock(text=mrkdwn(clip(body, SECTION_TEXT_LIMIT))),
    ]
    if card.channel_id:
        blocks.append(
            ContextBlock(elements=[mrkdwn(f"Follow along in {channel_mention(card.channel_id)}")])
        )
    text = f"{headline(card)}{suffix} · Status: {status_label(update.status)}"
    if update.impact.strip():
        text += f" · Impact: {_fallback(update.impact)}"
    return rendered(text, blocks)


def severity_changed_message(
    card: IncidentCard, *, old: str, new: str, by: str, upgrade: bool
) -> RenderedMessage:
    """In the incident channel: `:arrow_up: <@U> raised INC-42 from *P3* to *P1*`."""
    emoji, verb = (":arrow_up:", "raised") if upgrade else (":arrow_down:", "lowered")
    old_words = safe_mrkdwn(one_line(old), 100)
    new_words = safe_mrkdwn(one_line(new), 100)
    line = (
        f"{emoji} {person(by)} {verb} the severity of *{card.label}* "
        f"from *{old_words}* to *{new_words}*"
    )
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(line)),
        ContextBlock(elements=[mrkdwn(headline(card))]),
    ]
    text = f"{headline(card)}: severity {verb} from {old_words} to {new_words} by {person(by)}"
    return rendered(text, blocks)


def severity_notify_message(card: IncidentCard, *, old: str, new: str) -> RenderedMessage:
    """For the people and channels the raised severity notifies."""
    old_words = safe_mrkdwn(one_line(old), 100)
    new_words = safe_mrkdwn(one_line(new), 100)
    channel = channel_mention(card.channel_id) if card.channel_id else None
    line = f":rotating_light: *{headline(card)}* is now *{new_words}* (was {old_words})."
    if channel:
        line += f" Join {channel}."
    commander = user_mention(card.commander) if card.commander else "_unassigned_"
    blocks: list[Block] = [
        SectionBlock(
            text=mrkdwn(line),
            fields=[
                mrkdwn(
                    clip(
                        f"*Severity*\n{severity_mrkdwn(card.severity_id, card.severity_name)}",
                        FIELD_TEXT_LIMIT,
                    )
                ),
                mrkdwn(f"*Status*\n{status_label(card.status)}"),
                mrkdwn(f"*Incident Commander*\n{commander}"),
            ],
        )
    ]
    text = f"🚨 {headline(card)} is now {new_words} (was {old_words})"
    if channel:
        text += f" · {channel}"
    return rendered(text, blocks)


def resolution_message(
    card: IncidentCard,
    *,
    summary: str,
    root_cause: str,
    duration: timedelta,
    postmortem_due_at: datetime | None,
    by: str,
    in_channel: bool = False,
) -> RenderedMessage:
    """The incident is resolved: for its own channel (`in_channel`: no link to itself) and
    the announce channel (with the link)."""
    prefix = drill_prefix(card.drill)
    title = title_mrkdwn(card.title)
    first = f":white_check_mark: *{prefix}{card.label} resolved* · {title}"
    fields = [
        mrkdwn(
            clip(
                f"*Severity*\n{severity_mrkdwn(card.severity_id, card.severity_name)}",
                FIELD_TEXT_LIMIT,
            )
        ),
        mrkdwn(f"*Duration*\n{format_elapsed(duration)}"),
        mrkdwn(f"*Resolved by*\n{person(by)}"),
    ]
    if postmortem_due_at is not None:
        fields.append(mrkdwn(f"*Post-mortem due*\n{slack_date(postmortem_due_at)}"))
    room = SECTION_TEXT_LIMIT - len("*Root cause*\n")
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(clip(first, SECTION_TEXT_LIMIT)), fields=fields),
        SectionBlock(text=mrkdwn(f"*Summary*\n{user_text(summary, room)}")),
    ]
    if root_cause.strip():
        blocks.append(SectionBlock(text=mrkdwn(f"*Root cause*\n{user_text(root_cause, room)}")))
    notes = [incident_figures(card) or ""]
    if card.channel_id and not in_channel:
        notes.append(f"Channel: {channel_mention(card.channel_id)}")
    if any(notes):
        blocks.append(ContextBlock(elements=[mrkdwn(note) for note in notes if note]))
    text = (
        f"✅ {prefix}{card.label} resolved · {title} · "
        f"{severity_words(card.severity_id, card.severity_name)} · "
        f"lasted {format_elapsed(duration)}"
    )
    return rendered(text, blocks)


def audience_notice(
    card: IncidentCard, *, event: str, by: str, old: str | None = None, upgrade: bool = False
) -> RenderedMessage:
    """Threaded under what a notified channel first heard (bot/flows/audiences.py): the
    severity changed while it follows the incident (`following`), or the incident no longer
    concerns it (`leaving`), or it was `reopened`. The resolution is `resolution_message`."""
    severity = severity_mrkdwn(card.severity_id, card.severity_name)
    was = f" (was {safe_mrkdwn(one_line(old), 100)})" if old else ""
    where = f" Join {channel_mention(card.channel_id)}." if card.channel_id else ""
    moved = "raised" if upgrade else "lowered"
    mark = ":rotating_light:" if upgrade else ":arrow_down:"
    if event == "reopened":
        line = f":leftwards_arrow_with_hook: *{headline(card)}* was reopened by {person(by)}: "
        line += f"*{status_label(card.status)}*, {severity}.{where}"
    else:
        line = f"{mark} *{headline(card)}* is now *{severity}*{was}, {moved} by {person(by)}."
        if event == "leaving":
            line += (
                " This channel hears no more of it unless it is raised again; its resolution "
                "will be posted here."
            )
        else:
            line += where
    return rendered(
        line.replace("*", ""), [SectionBlock(text=mrkdwn(clip(line, SECTION_TEXT_LIMIT)))]
    )
