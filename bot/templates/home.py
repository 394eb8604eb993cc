"""The App Home tab: one person's incidents, roles, action items, recent incidents and the last
30 days' figures.

A pure builder: a :class:`HomePage` snapshot in, a validated `views.publish` view out. Every
text people typed (titles, action items) and every policy name is escaped and bounded; each
list is bounded and says how many more there are, so the view never has more than 100 blocks.
A private incident the reader may not see arrives here without its title (`title is None`)
and is shown by its number only. Times are Slack date tokens (each reader's own time zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.flows.cards import ActionItemView
from bot.report import duration_words, percent
from bot.templates.followups import action_button
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
    to_dicts,
)
from bot.templates.ops_common import (
    bounded_lines,
    drill_prefix,
    name,
    severity_id,
    status_label,
    title_mrkdwn,
)
from bot.templates.text import safe_mrkdwn

VIEW_BLOCKS_LIMIT = 100  # Slack's cap for a Home tab
INCIDENTS_SHOWN = 20  # open incidents with a role (lines of one section)
ACTION_ITEMS_SHOWN = 30  # one block each (each has its Done button)
RECENT_SHOWN = 10  # the last incidents the reader may see
LIST_TITLE_LIMIT = 100
ITEM_TEXT_LIMIT = 500
LINE_LIMIT = 700  # one incident line, whatever its role names
ROLES_SHOWN = 5

NO_INCIDENTS = "You hold no role in an open incident."
NO_ACTION_ITEMS = "You own no open action items. :tada:"
NO_RECENT = "No incidents yet."


@dataclass(frozen=True)
class HomeIncident:
    """An incident line. `title` None: private, and the reader is not a recorded member."""

    number: int
    title: str | None
    severity_id: str
    status: str
    channel_id: str | None
    private: bool
    drill: bool
    declared_at: datetime
    roles: tuple[str, ...] = ()  # the names of the roles the reader holds in it


@dataclass(frozen=True)
class HomeFigures:
    period: str  # "the last 30 days"
    incidents: int
    mtta_median: float | None  # seconds
    mttr_median: float | None  # seconds
    update_adherence: float | None  # 0…1


@dataclass(frozen=True)
class HomePage:
    """What one person's home shows; the lists as the store bounded them, with their sizes."""

    user: str
    now: datetime
    incidents: Sequence[HomeIncident]
    incidents_total: int
    action_items: Sequence[ActionItemView]
    action_items_total: int
    recent: Sequence[HomeIncident]
    figures: HomeFigures


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text, HEADER_LIMIT))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(clip(text, SECTION_TEXT_LIMIT))])


def _label(incident: HomeIncident) -> str:
    """`[DRILL] INC-42 :lock: · title`, or `INC-42 :lock: _private_` for a title not shown."""
    lock = " :lock:" if incident.private else ""
    label = f"{drill_prefix(incident.drill)}INC-{incident.number}{lock}"
    if incident.title is None:
        return f"{label} _private_"
    return f"{label} · {title_mrkdwn(incident.title, LIST_TITLE_LIMIT)}"


def _channel(incident: HomeIncident) -> str:
    return channel_mention(incident.channel_id) if incident.channel_id else "_no channel yet_"


def _roles(roles: Sequence[str]) -> str:
    shown = ", ".join(f"*{name(role)}*" for role in roles[:ROLES_SHOWN])
    more = f" and {len(roles) - ROLES_SHOWN} more" if len(roles) > ROLES_SHOWN else ""
    return f"you are {shown}{more}" if shown else "no role now"


def _mine_line(incident: HomeIncident) -> str:
    """`*P1* · <#C…> · INC-42 · title · Investigating · you are *Incident Commander*`."""
    parts = [
        f"*{severity_id(incident.severity_id)}*",
        _channel(incident),
        _label(incident),
        status_label(incident.status),
        _roles(incident.roles),
    ]
    return clip(" · ".join(parts), LINE_LIMIT)


def _recent_line(incident: HomeIncident) -> str:
    """`INC-42 · title · *P1* · Resolved · <#C…> · declared <date>`."""
    parts = [
        _label(incident),
        f"*{severity_id(incident.severity_id)}*",
        status_label(incident.status),
        _channel(incident),
        f"declared {slack_date(incident.declared_at)}",
    ]
    return clip(" · ".join(parts), LINE_LIMIT)


def _due(day: date) -> str:
    moment = datetime.combine(day, time(12), tzinfo=UTC)
    return f"due <!date^{int(moment.timestamp())}^{{date_short}}|{day.isoformat()}>"


def _item_line(item: ActionItemView) -> str:
    """`*Add an alert* · INC-42 · title · due <date> · detection · P1`."""
    where = f"INC-{item.number}"
    parts = [
        f"☐ *{safe_mrkdwn(one_line(item.text), ITEM_TEXT_LIMIT)}*",
        f"{where} · {title_mrkdwn(item.incident_title, LIST_TITLE_LIMIT)}"
        if item.incident_title
        else f"{where} (private)",
    ]
    if item.due_on is not None:
        parts.append(_due(item.due_on))
    if item.category:
        parts.append(safe_mrkdwn(one_line(item.category), 20))
    if item.priority:
        parts.append(f"P{item.priority}")
    return clip(" · ".join(parts), SECTION_TEXT_LIMIT)


def _lines(lines: Sequence[str], total: int, empty: str) -> SectionBlock:
    if not lines:
        return SectionBlock(text=mrkdwn(f"_{safe_mrkdwn(empty, 300)}_"))
    return SectionBlock(text=mrkdwn(bounded_lines(lines, limit=SECTION_TEXT_LIMIT, total=total)))


def _figure(label: str, value: str) -> MarkdownTextObject:
    return mrkdwn(clip(f"*{label}*\n{value}", FIELD_TEXT_LIMIT))


def home_view(page: HomePage) -> dict[str, Any]:
    """The Home tab for `page.user` (a `views.publish` view, validated)."""
    incidents = list(page.incidents[:INCIDENTS_SHOWN])
    items = list(page.action_items[:ACTION_ITEMS_SHOWN])
    recent = list(page.recent[:RECENT_SHOWN])
    figures = page.figures

    blocks: list[Block] = [
        _header("Incidents"),
        _context(
            f"As of {slack_date(page.now)}; refreshed each time you open this tab. "
            "`/incident list` shows every open incident you can see."
        ),
        DividerBlock(),
        _header("Your open incidents"),
        _lines(
            [_mine_line(i) for i in incidents],
            max(page.incidents_total, len(incidents)),
            NO_INCIDENTS,
        ),
        DividerBlock(),
        _header("Your open action items"),
    ]
    if not items:
        blocks.append(SectionBlock(text=mrkdwn(f"_{safe_mrkdwn(NO_ACTION_ITEMS, 300)}_")))
    for item in items:
        blocks.append(SectionBlock(text=mrkdwn(_item_line(item)), accessory=action_button(item)))
    hidden = max(page.action_items_total, len(page.action_items)) - len(items)
    if hidden > 0:
        blocks.append(
            _context(
                f"…and {hidden} more. `/incident actions` outside an incident channel lists them."
            )
        )
    blocks += [
        DividerBlock(),
        _header("Recent incidents"),
        _lines([_recent_line(i) for i in recent], len(recent), NO_RECENT),
        DividerBlock(),
        _header(figures.period[:1].upper() + figures.period[1:]),
        SectionBlock(
            fields=[
                _figure("Incidents", str(figures.incidents)),
                _figure("MTTA (median)", duration_words(figures.mtta_median)),
                _figure("MTTR (median)", duration_words(figures.mttr_median)),
                _figure("Update adherence", percent(figures.update_adherence)),
            ]
        ),
        _context(
            "Drills and declined incidents are not counted. Update adherence: the share of "
            "update intervals kept to the severity's cadence. `/incident stats` shows more."
        ),
    ]
    assert len(blocks) <= VIEW_BLOCKS_LIMIT  # by construction: each list is bounded above
    view = View(type="home", blocks=list(to_dicts(blocks)))
    view.validate_json()
    return view.to_dict()
