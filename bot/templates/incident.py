"""The incident's messages: channel topic, pinned panel, announcement, notes to the declarer.

Pure builders: an :class:`~bot.flows.cards.IncidentCard` in, a topic string or a
:class:`~bot.flows.cards.RenderedMessage` out. Every block is built with `slack_sdk.models`
and validated; everything a person typed is escaped and bounded to Slack's limits. All mrkdwn
text objects are `verbatim`, so Slack does not auto-link `@here`, `#channel` or bare URLs in
user text; the only control sequences are the ones built here (mentions of validated ids,
dates, links whose URLs passed :func:`safe_url`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.flows.cards import IncidentCard, RenderedMessage
from bot.templates.text import ELLIPSIS, defuse_plain, linkify, safe_mrkdwn, truncate

SECTION_TEXT_LIMIT = 3000
FIELD_TEXT_LIMIT = 2000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
TEXT_FALLBACK_LIMIT = 3000
TOPIC_LIMIT = 250
CONTEXT_TEXT_LIMIT = 3000

MISSED_SHOWN = 10  # unreachable policy targets listed in the declarer's DM
TITLE_LIMIT = 500  # a title in mrkdwn (escaped); the header shows at most 150 anyway
NAME_LIMIT = 100  # severity, type and role names (policy text)
ID_LIMIT = 50  # severity ids in text
ID_MENTION_MAX = 40  # longer "ids" are not Slack ids: shown as text
URL_LIMIT = 2000

ACK_ACTION = "incident_ack"
UPDATE_ACTION = "incident_post_update"
ASSIGN_ACTION = "incident_assign_roles"
SEVERITY_ACTION = "incident_change_severity"
RESOLVE_ACTION = "incident_resolve"
ADD_ACTION_ACTION = "incident_add_action"
CLOSE_ACTION = "incident_close"
REOPEN_ACTION = "incident_reopen"
PANEL_ACTIONS = (
    ACK_ACTION,
    UPDATE_ACTION,
    ASSIGN_ACTION,
    SEVERITY_ACTION,
    RESOLVE_ACTION,
    ADD_ACTION_ACTION,
    CLOSE_ACTION,
    REOPEN_ACTION,
)
PANEL_ACTIONS_BLOCK = "incident_panel_actions"

_USER_ID = re.compile(r"[UWB][A-Z0-9_]+")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9_]+")
_URL = re.compile(r"https?://[^\s|<>]+", re.IGNORECASE)

STEP_NAMES: Mapping[str, str] = {
    "create_channel": "channel",
    "set_topic": "topic",
    "set_purpose": "purpose",
    "invite": "invitations",
    "post_panel": "incident panel",
    "pin_panel": "pin",
    "bookmark_runbook": "runbook bookmark",
    "announce": "announcement",
    "notify": "notifications",
    "tell_declarer": "your confirmation",
}
_STEP_DONE: Mapping[str, str] = {
    "create_channel": "created",
    "set_topic": "set",
    "set_purpose": "set",
    "invite": "sent",
    "post_panel": "posted",
    "bookmark_runbook": "added",
    "announce": "posted",
    "notify": "sent",
    "tell_declarer": "sent",
}

# -- small safe pieces, shared with bot/templates/declare.py ------------------------------


def is_user_id(value: str | None) -> bool:
    """Whether `value` looks like a Slack user (or bot) id and may become a mention."""
    return (
        value is not None and len(value) <= ID_MENTION_MAX and _USER_ID.fullmatch(value) is not None
    )


def is_channel_id(value: str | None) -> bool:
    """Whether `value` looks like a Slack channel id and may become a channel link."""
    return (
        value is not None
        and len(value) <= ID_MENTION_MAX
        and _CHANNEL_ID.fullmatch(value) is not None
    )


def user_mention(user_id: str, *, limit: int = ID_MENTION_MAX) -> str:
    """`<@U…>` for a real-looking id, otherwise the value escaped as plain words."""
    return f"<@{user_id}>" if is_user_id(user_id) else safe_mrkdwn(user_id, limit)


def channel_mention(channel_id: str, *, limit: int = ID_MENTION_MAX) -> str:
    """`<#C…>` for a real-looking id, otherwise the value escaped as plain words."""
    return f"<#{channel_id}>" if is_channel_id(channel_id) else safe_mrkdwn(channel_id, limit)


def safe_url(url: str | None) -> str | None:
    """The URL if it can sit inside `<url|label>` unharmed: http(s), no `|<>` or spaces."""
    if url is None or len(url) > URL_LIMIT or _URL.fullmatch(url) is None:
        return None
    return url


def slack_date(moment: datetime) -> str:
    """Slack's date formatting for a moment, with a UTC fallback for old clients.

    Naive datetimes are taken to be UTC (the store keeps UTC).
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    epoch = int(utc.timestamp())
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}>"


def one_line(text: str) -> str:
    """Whitespace (newlines included) collapsed to single spaces, for one-line places."""
    return " ".join(text.split())


def clip(mrkdwn: str, limit: int) -> str:
    """Cut already-safe mrkdwn to `limit`, never inside an entity or a `<…>` sequence."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    cut = mrkdwn[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    angle = cut.rfind("<")
    if angle != -1 and ">" not in cut[angle:]:
        cut = cut[:angle]
    return cut + ELLIPSIS


def mrkdwn(text: str) -> MarkdownTextObject:
    """A verbatim mrkdwn text object: Slack adds no links or mentions of its own."""
    return MarkdownTextObject(text=text, verbatim=True)


def plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=truncate(defuse_plain(text), limit), emoji=True)


def to_dicts(blocks: Sequence[Block]) -> tuple[dict[str, object], ...]:
    out: list[dict[str, object]] = []
    for block in blocks:
        block.validate_json()
        out.append(block.to_dict())
    return tuple(out)


# -- the incident's words ------------------------------------------------------------------


def _title(card: IncidentCard, limit: int = TITLE_LIMIT) -> str:
    return safe_mrkdwn(one_line(card.title), limit)


def _severity(card: IncidentCard) -> str:
    """`*P1* Critical`."""
    sev_id = safe_mrkdwn(one_line(card.severity_id), ID_LIMIT)
    name = safe_mrkdwn(one_line(card.severity_name), NAME_LIMIT)
    return f"*{sev_id}* {name}"


def _severity_words(card: IncidentCard) -> str:
    """`P1 Critical`, for text fallbacks."""
    sev_id = safe_mrkdwn(one_line(card.severity_id), ID_LIMIT)
    name = safe_mrkdwn(one_line(card.severity_name), NAME_LIMIT)
    return f"{sev_id} {name}"


def _status(card: IncidentCard) -> str:
    return safe_mrkdwn(one_line(card.status).capitalize(), 40)


def _commander(card: IncidentCard) -> str | None:
    return None if not card.commander else user_mention(card.commander)


def _field(label: str, value: str) -> MarkdownTextObject:
    return mrkdwn(clip(f"*{label}*\n{value}", FIELD_TEXT_LIMIT))


def _role_lines(card: IncidentCard) -> str:
    """One `Role: <@U>` line per role, bounded to a field; "—" when there are none."""
    if not card.roles:
        return "—"
    budget = FIELD_TEXT_LIMIT - len("*Other roles*\n") - 40
    lines: list[str] = []
    used = 0
    for index, role in enumerate(card.roles):
        name = safe_mrkdwn(one_line(role.role_name), NAME_LIMIT)
        holder = user_mention(role.user_id) if role.user_id else "_unassigned_"
        line = f"{name}: {holder}"
        if used + len(line) + 1 > budget:
            lines.append(f"…and {len(card.roles) - index} more")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def _impact(card: IncidentCard) -> str:
    """The latest update's impact (and when), else what the declaration said."""
    if card.last_update_impact is not None and card.last_update_at is not None:
        when = f"Update #{card.update_count} · {slack_date(card.last_update_at)}"
        return _described("Impact", card.last_update_impact, empty="_not given_", note=when)
    return _described("Impact", card.description, empty="_No description yet_")


def _described(heading: str, body: str, *, empty: str, note: str = "") -> str:
    """`*Heading* note\\n<escaped body>` bounded to one section's text (`note`: mrkdwn)."""
    head = f"*{heading}*" + (f" · {note}" if note else "") + "\n"
    text = body.strip()
    if not text:
        return head + empty
    # Addresses stay clickable (shown as they are, so nothing hides where they lead); the
    # room left for the angle brackets keeps the section within Slack's limit.
    escaped = safe_mrkdwn(text, SECTION_TEXT_LIMIT - len(head) - 200)
    return head + clip(linkify(escaped), SECTION_TEXT_LIMIT - len(head))


# The panel's buttons by status: only what can be done now (a stale panel's click is answered
# by the flow's refusal, which says why).
OPEN_PANEL = ("triage", "investigating", "identified", "monitoring")


def panel_buttons(card: IncidentCard) -> list[tuple[str, str, str | None]]:
    """(label, action id, style) of the panel's buttons for the incident as it is."""
    if card.status in OPEN_PANEL:
        buttons: list[tuple[str, str, str | None]] = []
        if card.acknowledged_by is None:
            buttons.append(("Acknowledge", ACK_ACTION, "primary"))
        return [
            *buttons,
            ("Post update", UPDATE_ACTION, None),
            ("Assign roles", ASSIGN_ACTION, None),
            ("Change severity", SEVERITY_ACTION, None),
            ("Resolve", RESOLVE_ACTION, None),
            ("Add action item", ADD_ACTION_ACTION, None),
        ]
    if card.status == "resolved":
        return [
            ("Close", CLOSE_ACTION, None),
            ("Reopen", REOPEN_ACTION, None),
            ("Add action item", ADD_ACTION_ACTION, None),
        ]
    if card.status == "closed":
        return [("Reopen", REOPEN_ACTION, None)]
    return []


def _followups(card: IncidentCard) -> str:
    """What the incident leaves behind, once there is any: open action items, the
    post-mortem's final document."""
    parts = []
    if card.open_action_items:
        plural = "s" if card.open_action_items != 1 else ""
        parts.append(f"*Action items:* {card.open_action_items} open item{plural}")
    link = safe_url(card.postmortem_link)
    if link is not None:
        parts.append(f"*Post-mortem:* <{link}|final document>")
    return " · ".join(parts)


def _links(card: IncidentCard) -> list[str]:
    out: list[str] = []
    runbook = safe_url(card.runbook)
    if runbook is not None:
        out.append(f":book: <{runbook}|Runbook>")
    source = safe_url(card.source_link)
    if source is not None:
        out.append(f":speech_balloon: <{source}|Source message>")
    public = safe_url(card.statuspage_link)
    if public is not None and not card.private:
        out.append(f":globe_with_meridians: <{public}|Status page>")
    if card.private:
        out.append(":lock: Private incident")
    return out


def _by_reason(steps: Mapping[str, str], state: str) -> str:
    by_reason: dict[str, list[str]] = {}
    for step, reason in steps.items():
        words = safe_mrkdwn(one_line(reason), 300) or "not done yet"
        by_reason.setdefault(words, []).append(_step_name(step))
    return "; ".join(f"{_join_words(names)} {state}: {why}" for why, names in by_reason.items())


def _step_name(step: str) -> str:
    known = STEP_NAMES.get(step)
    return known if known is not None else safe_mrkdwn(one_line(step.replace("_", " ")), 60)


def _join_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


class IncidentTemplates:
    """The messages the incident flows post (structurally an `IncidentRenderer`)."""

    def topic(self, card: IncidentCard) -> str:
        """`P1 · Investigating · IC <@U…>`, `[DRILL] ` first for a drill, ` · 🔒` when private."""
        commander = _commander(card)
        parts = [
            safe_mrkdwn(one_line(card.severity_id), ID_LIMIT),
            _status(card),
            f"IC {commander}" if commander else "IC unassigned",
        ]
        if card.private:
            parts.append("🔒")
        return clip(("[DRILL] " if card.drill else "") + " · ".join(parts), TOPIC_LIMIT)

    def purpose(self, card: IncidentCard) -> str:
        """The channel purpose: the title, on one line, within Slack's 250 characters."""
        return truncate(defuse_plain(one_line(card.title)), TOPIC_LIMIT)

    def panel(self, card: IncidentCard) -> RenderedMessage:
        """The pinned panel: the incident at a glance and its five buttons."""
        prefix = "[DRILL] " if card.drill else ""
        header = HeaderBlock(
            text=plain(f"{prefix}{card.label} · {one_line(card.title)}", HEADER_LIMIT)
        )
        type_name = (
            safe_mrkdwn(one_line(card.type_name), NAME_LIMIT)
            if card.type_name
            else (safe_mrkdwn(one_line(card.type_id), NAME_LIMIT) if card.type_id else "—")
        )
        facts = SectionBlock(
            fields=[
                _field("Severity", _severity(card)),
                _field("Status", _status(card)),
                _field("Type", type_name),
                _field("Incident Commander", _commander(card) or "_unassigned_"),
                _field("Other roles", _role_lines(card)),
                _field("Started", slack_date(card.started_at)),
                _field("Declared by", user_mention(card.declared_by)),
                _field(
                    "Next update due",
                    slack_date(card.next_update_due_at) if card.next_update_due_at else "—",
                ),
            ]
        )
        blocks: list[Block] = [
            header,
            facts,
            SectionBlock(text=mrkdwn(_impact(card))),
        ]
        if card.affected_services.strip():
            blocks.append(
                SectionBlock(
                    text=mrkdwn(_described("Affected services", card.affected_services, empty=""))
                )
            )
        followups = _followups(card)
        if followups:
            blocks.append(SectionBlock(text=mrkdwn(followups)))
        links = _links(card)
        if links:
            blocks.append(ContextBlock(elements=[mrkdwn(link) for link in links]))
        if card.acknowledged_by and card.acknowledged_at:
            acked = f"Acknowledged by {user_mention(card.acknowledged_by)}"
            blocks.append(
                ContextBlock(elements=[mrkdwn(f"{acked} {slack_date(card.acknowledged_at)}")])
            )
        buttons = [
            ButtonElement(
                text=plain(label, BUTTON_TEXT_LIMIT),
                action_id=action,
                value=str(card.number),
                style=style,
            )
            for label, action, style in panel_buttons(card)
        ]
        if buttons:
            blocks.append(ActionsBlock(block_id=PANEL_ACTIONS_BLOCK, elements=buttons))
        text = f"{prefix}{card.label} · {_severity_words(card)} · {_title(card)} ({_status(card)})"
        return RenderedMessage(text=clip(text, TEXT_FALLBACK_LIMIT), blocks=to_dicts(blocks))

    def announcement(self, card: IncidentCard) -> RenderedMessage:
        """Posted in the announce channel (or, for drills, in the drill's own channel)."""
        prefix = "[DRILL] " if card.drill else ""
        channel = channel_mention(card.channel_id) if card.channel_id else "_being created…_"
        # Edited in place as the incident moves: once it is over it reads as over (no siren,
        # no "respond within").
        over = card.status in ("resolved", "closed", "declined")
        mark = {"resolved": ":white_check_mark:", "closed": ":lock:"}.get(
            card.status, ":heavy_minus_sign:" if over else ":rotating_light:"
        )
        headline = SectionBlock(
            text=mrkdwn(f"{mark} *{prefix}{card.label} · {_title(card)}*"),
            fields=[
                _field("Severity", _severity(card)),
                _field("Status", _status(card)),
                _field("Incident Commander", _commander(card) or "_unassigned_"),
                _field("Channel", channel),
            ],
        )
        blocks: list[Block] = [
            headline,
            SectionBlock(text=mrkdwn(_impact(card))),
        ]
        if card.affected_services.strip():
            blocks.append(
                SectionBlock(
                    text=mrkdwn(_described("Affected services", card.affected_services, empty=""))
                )
            )
        notes: list[str] = []
        if card.drill:
            notes.append("*[DRILL]* A practice run, not a real incident.")
        notes.append(f"Declared by {user_mention(card.declared_by)}")
        if card.respond_within and not over:
            notes.append(f"Respond within {safe_mrkdwn(one_line(card.respond_within), 40)}")
        blocks.append(ContextBlock(elements=[mrkdwn(note) for note in notes]))
        if over:
            text = f"{prefix}{card.label} {_status(card).lower()} ({_severity_words(card)}): "
            text += _title(card)
        else:
            text = f"🚨 {prefix}{card.label} declared ({_severity_words(card)}): {_title(card)}"
        return RenderedMessage(text=clip(text, TEXT_FALLBACK_LIMIT), blocks=to_dicts(blocks))

    def declarer_ready(
        self, card: IncidentCard, *, missed: Sequence[tuple[str, str]] = ()
    ) -> RenderedMessage:
        """The direct message to the declarer once the channel exists; `missed`: the policy's
        (target, why) that could not be reached, so "all set" never hides what did not happen."""
        if card.channel_id:
            where = channel_mention(card.channel_id)
            rest = (
                f"Head to {where}: the responders are being invited and the panel is pinned there."
            )
        else:
            rest = "Its channel is still being set up; I'll send you the link when it's there."
        text = f"{card.label} is declared. {rest}"
        blocks: list[Block] = [SectionBlock(text=mrkdwn(f"*{card.label}* is declared. {rest}"))]
        if missed:
            lines = [
                f"• `{safe_mrkdwn(one_line(target), 100)}` {safe_mrkdwn(one_line(why), 300)}"
                for target, why in missed[:MISSED_SHOWN]
            ]
            if len(missed) > MISSED_SHOWN:
                lines.append(f"• and {len(missed) - MISSED_SHOWN} more (see the channel)")
            head = (
                "*Not done:* nobody was notified or invited through these; invite people by hand."
            )
            blocks.append(
                SectionBlock(text=mrkdwn(clip("\n".join([head, *lines]), SECTION_TEXT_LIMIT)))
            )
            names = ", ".join(safe_mrkdwn(one_line(target), 100) for target, _ in missed)
            text += f" Not done: {names} could not be reached."
        return RenderedMessage(text=clip(text, TEXT_FALLBACK_LIMIT), blocks=to_dicts(blocks))

    def declarer_delayed(
        self,
        card: IncidentCard,
        *,
        done: tuple[str, ...],
        pending: Mapping[str, str],
        failed: Mapping[str, str] | None = None,
    ) -> RenderedMessage:
        """Tell the declarer, in plain words, what is done, what is waiting and what could not
        be done at all, and why."""
        finished = ", ".join(f"{_step_name(step)} {_STEP_DONE.get(step, 'done')}" for step in done)
        waiting = _by_reason(pending, "delayed")
        refused = _by_reason(failed or {}, "not done")
        if pending:
            ending = "I'll keep retrying and tell you when it's done."
        elif failed:
            ending = "I won't retry what Slack refused: ask your warroom admin to check the setup."
        else:
            ending = "Nothing is waiting any more."
        body = ", ".join(part for part in (finished, waiting, refused) if part) or "setting up"
        sentence = clip(f"{body}.", TEXT_FALLBACK_LIMIT - 200)
        text = f"{card.label}: {sentence} {ending}"
        section = f"*{card.label}*: {sentence} {ending}"
        if card.channel_id:
            section += f"\nChannel: {channel_mention(card.channel_id)}"
        block = SectionBlock(text=mrkdwn(section))
        return RenderedMessage(text=clip(text, TEXT_FALLBACK_LIMIT), blocks=to_dicts([block]))
