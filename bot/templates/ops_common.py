"""Pieces shared by the operations templates (updates, roles, status, resolution, lists).

The ids every operations view and button carries, the modal's `private_metadata`, elapsed
times, and the small escaped phrases (`INC-42 · title`, `*P1* Critical`, mentions) the
messages are made of. Public names are re-exported by :mod:`bot.templates.operations`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block

from bot.flows.cards import IncidentCard, RenderedMessage
from bot.templates.incident import (
    ID_LIMIT,
    NAME_LIMIT,
    TEXT_FALLBACK_LIMIT,
    TITLE_LIMIT,
    clip,
    is_channel_id,
    one_line,
    to_dicts,
    user_mention,
)
from bot.templates.text import defuse_plain, safe_mrkdwn, truncate

UPDATE_CALLBACK = "incident_update"
RESOLVE_CALLBACK = "incident_resolve"
ASSIGN_CALLBACK = "incident_assign_roles"
SEVERITY_CALLBACK = "incident_severity"
CLOSE_CONFIRM_CALLBACK = "incident_close_confirm"
TAKE_ROLE_ACTION = "incident_take_role"

# Incident numbers are a Postgres `integer`: anything larger would fail in the database (an
# error, not a refusal), so a number from Slack outside this range is not a number at all.
MAX_INCIDENT_NUMBER = 2**31 - 1
PRIVATE_METADATA_LIMIT = 3000
VALUE_LIMIT = 150  # option values and the ids that must round-trip through Slack
STATUS_LIMIT = 40
MESSAGE_BLOCKS_LIMIT = 50
MODAL_BLOCKS_LIMIT = 100
ITEM_LIMIT = 300  # one action item in a list

_SECONDS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


# -- ids that travel through Slack ---------------------------------------------------------


def usable_value(value: str) -> bool:
    """Whether an id may be an option value or part of a block id: it must come back as is.

    Policy ids are short identifiers; anything empty, too long, or with angle brackets
    cannot be one, so it is left out rather than cut or altered.
    """
    return bool(value) and len(value) <= VALUE_LIMIT and "<" not in value and ">" not in value


def parse_incident_number(value: object) -> int | None:
    """An incident number that came back from Slack (a button's value, a number in a modal's
    metadata): an int, or a string of ASCII digits, in 1..MAX_INCIDENT_NUMBER; else None.

    `str.isdigit()` alone is not enough: it accepts `"²"` (which `int()` rejects) and `"١"`
    (which it reads), and says nothing about the size.
    """
    if isinstance(value, bool):  # an int to Python, never an incident number
        return None
    if isinstance(value, str):
        short = 0 < len(value) <= len(str(MAX_INCIDENT_NUMBER))
        if not (short and value.isascii() and value.isdigit()):
            return None
        value = int(value)
    if isinstance(value, int) and 1 <= value <= MAX_INCIDENT_NUMBER:
        return value
    return None


def modal_metadata(number: int, channel_id: str | None) -> str:
    """`{"incident":42,"channel":"C0INC42"}`; a channel that is not a channel id is `null`."""
    channel = channel_id if is_channel_id(channel_id) else None
    return json.dumps({"incident": number, "channel": channel}, separators=(",", ":"))


def parse_modal_metadata(text: str | None) -> tuple[int | None, str | None]:
    """(incident number, channel id) from a modal's `private_metadata`; bad parts → None."""
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):  # RecursionError: "[[[…" nested deeper than Python
        return None, None
    if not isinstance(data, dict):
        return None, None
    channel = data.get("channel")
    return (
        _json_incident_number(data.get("incident")),
        channel if isinstance(channel, str) and channel else None,
    )


def take_role_value(number: int, role_id: str) -> str:
    """The value of a "Take role" button: `{"incident":42,"role":"comms"}`."""
    return json.dumps({"incident": number, "role": role_id}, separators=(",", ":"))


def parse_take_role_value(value: str | None) -> tuple[int | None, str | None]:
    """(incident number, role id) from a "Take role" button's value; bad parts → None."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except (ValueError, RecursionError):  # RecursionError: "[[[…" nested deeper than Python
        return None, None
    if not isinstance(data, dict):
        return None, None
    role = data.get("role")
    return (
        _json_incident_number(data.get("incident")),
        role if isinstance(role, str) and role else None,
    )


def _json_incident_number(value: object) -> int | None:
    """We write the number as a JSON number: a string there is not ours."""
    return parse_incident_number(value) if isinstance(value, int) else None


# -- time ----------------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; naive datetimes are taken to be UTC already (the store keeps UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_elapsed(elapsed: timedelta) -> str:
    """The two largest units of an elapsed time: `45s`, `12m`, `1h 23m`, `2d 3h`.

    The smaller unit is left out when it is zero (`1h`, `2d`); seconds are dropped once
    there are hours. Negative durations (clock skew) read as `0s`.
    """
    total = max(int(elapsed.total_seconds()), 0)
    if total == 0:
        return "0s"
    parts: list[str] = []
    for unit, seconds in _SECONDS:
        count, total = divmod(total, seconds)
        if count or parts:
            parts.append(f"{count}{unit}")
        if len(parts) == 2:
            break
    if len(parts) == 2 and parts[1].startswith("0"):
        parts.pop()
    return " ".join(parts)


def utc_words(moment: datetime) -> str:
    """`2026-11-23 14:05 UTC`, for text fallbacks (where Slack's date sequences are raw)."""
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


# -- phrases -------------------------------------------------------------------------------


def drill_prefix(drill: bool) -> str:
    return "[DRILL] " if drill else ""


def title_mrkdwn(title: str, limit: int = TITLE_LIMIT) -> str:
    return safe_mrkdwn(one_line(title), limit)


def title_plain(title: str, limit: int) -> str:
    return truncate(defuse_plain(one_line(title)), limit)


def headline(card: IncidentCard, limit: int = TITLE_LIMIT) -> str:
    """`[DRILL] INC-42 · title`, escaped for mrkdwn."""
    return f"{drill_prefix(card.drill)}{card.label} · {title_mrkdwn(card.title, limit)}"


def plain_headline(card: IncidentCard, suffix: str, limit: int) -> str:
    """`INC-42 · title<suffix>` as plain text within `limit`; the title gives way, not the
    label or the suffix."""
    start = f"{drill_prefix(card.drill)}{card.label} · "
    room = limit - len(start) - len(suffix)
    if room < 1:
        return truncate(start + defuse_plain(suffix), limit)
    return start + title_plain(card.title, room) + defuse_plain(suffix)


def status_label(status: str) -> str:
    """`identified` → `Identified`, escaped."""
    return safe_mrkdwn(one_line(status).capitalize(), STATUS_LIMIT)


def severity_id(value: str) -> str:
    return safe_mrkdwn(one_line(value), ID_LIMIT)


def severity_mrkdwn(sev_id: str, sev_name: str) -> str:
    """`*P1* Critical`."""
    return f"*{severity_id(sev_id)}* {safe_mrkdwn(one_line(sev_name), NAME_LIMIT)}"


def severity_words(sev_id: str, sev_name: str) -> str:
    """`P1 Critical`, for text fallbacks."""
    return f"{severity_id(sev_id)} {safe_mrkdwn(one_line(sev_name), NAME_LIMIT)}"


def name(text: str, limit: int = NAME_LIMIT) -> str:
    """A policy name (role, severity label) on one line, escaped."""
    return safe_mrkdwn(one_line(text), limit)


def person(user: str | None) -> str:
    """A mention of a real-looking user id; other values as escaped words; none → someone."""
    if user is None or not user.strip():
        return "someone"
    return user_mention(user)


def user_text(text: str, limit: int, *, empty: str = "_not given_") -> str:
    """Multi-line user text, escaped and bounded; `empty` when there is nothing."""
    stripped = text.strip()
    return safe_mrkdwn(stripped, limit) if stripped else empty


def bounded_lines(lines: Sequence[str], *, limit: int, total: int | None = None) -> str:
    """Lines joined by newlines within `limit`, the rest summed up as `…and N more`.

    `total` is how many lines there are in all when `lines` is already a shortened list.
    """
    count = len(lines) if total is None else max(total, len(lines))
    out: list[str] = []
    used = 0
    for line in lines:
        needed = used + len(line) + (1 if out else 0)
        after = count - len(out) - 1
        reserve = len(f"\n…and {after} more") if after > 0 else 0
        if needed + reserve > limit:
            break
        out.append(line)
        used = needed
    hidden = count - len(out)
    if hidden > 0:
        out.append(f"…and {hidden} more")
    return "\n".join(out)


def bullet_items(items: Sequence[str], *, limit: int, max_items: int = 10) -> str:
    """`• item` lines (each on one line, escaped, cut), at most `max_items` of them."""
    shown = [f"• {safe_mrkdwn(one_line(item), ITEM_LIMIT)}" for item in items[:max_items]]
    return bounded_lines(shown, limit=limit, total=len(items))


def incident_figures(card: IncidentCard) -> str | None:
    """This incident's time to acknowledge and to resolve (from the impact's start) and its
    update adherence, as far as they are known; None when nothing is yet."""
    parts: list[str] = []
    if card.acknowledged_at is not None:
        parts.append(f"acknowledged in {format_elapsed(card.acknowledged_at - card.declared_at)}")
    if card.resolved_at is not None:
        parts.append(f"resolved in {format_elapsed(card.resolved_at - card.started_at)}")
    if card.update_intervals:
        kept, asked = card.update_intervals_kept, card.update_intervals
        parts.append(f"updates on cadence {kept} of {asked} ({kept * 100 // asked}%)")
    if not parts:
        return None
    line = " · ".join(parts)
    return line[0].upper() + line[1:]


def rendered(text: str, blocks: Sequence[Block]) -> RenderedMessage:
    """A message: the fallback bounded to Slack's 3000 characters, each block validated."""
    return RenderedMessage(text=clip(text, TEXT_FALLBACK_LIMIT), blocks=to_dicts(blocks))
