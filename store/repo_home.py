"""What one person's App Home shows, read in a fixed number of statements (four at most),
whatever the number of incidents, roles or action items.

A private incident's title is returned only to a recorded member of its channel; for anyone
else it is None (fail closed: an incident whose membership warroom does not know is private
to everyone). The caller's lists are bounded here (``limit``) and their full sizes counted in
the same statement (a window count), so the page can say "and N more".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, not_, or_
from sqlalchemy import select as core_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import ActionItem, ChannelMember, Incident, RoleAssignment

__all__ = [
    "HomeActionItem",
    "HomeIncident",
    "HomeRecords",
    "home_records",
]


@dataclass(frozen=True)
class HomeIncident:
    """An incident as a person's home lists it; ``title`` is None when they may not see it."""

    number: int
    title: str | None
    severity: str
    status: str
    channel_id: str | None
    private: bool
    drill: bool
    declared_at: datetime
    roles: tuple[str, ...] = ()  # the ids of the roles the person holds in it now


@dataclass(frozen=True)
class HomeActionItem:
    """An open action item the person owns; ``incident_title`` as in :class:`HomeIncident`."""

    id: int
    incident_number: int
    text: str
    owner: str | None
    due_at: datetime | None
    category: str | None
    priority: int | None
    incident_title: str | None
    incident_private: bool


@dataclass(frozen=True)
class HomeRecords:
    incidents: list[HomeIncident] = field(default_factory=list)  # open, with a role, newest first
    incidents_total: int = 0
    action_items: list[HomeActionItem] = field(default_factory=list)  # soonest due first
    action_items_total: int = 0
    recent: list[HomeIncident] = field(default_factory=list)  # visible ones, newest first


def _visible_to(user_id: str) -> ColumnElement[bool]:
    member = exists().where(
        col(ChannelMember.channel_id) == col(Incident.channel_id),
        col(ChannelMember.user_id) == user_id,
    )
    return or_(not_(col(Incident.private)), member)


IncidentRow = Select[int | None, str, str, str, str | None, bool, bool, datetime, bool]


def _incidents(user_id: str) -> IncidentRow:
    return core_select(
        col(Incident.number),
        col(Incident.title),
        col(Incident.severity),
        col(Incident.status),
        col(Incident.channel_id),
        col(Incident.private),
        col(Incident.drill),
        col(Incident.declared_at),
        _visible_to(user_id).label("visible"),
    ).select_from(Incident)


def _incident(row: Sequence[Any], roles: tuple[str, ...] = ()) -> HomeIncident:
    number, title, severity, status, channel, private, drill, declared_at, visible = row[:9]
    assert isinstance(declared_at, datetime)
    return HomeIncident(
        number=int(number),
        title=str(title) if visible else None,
        severity=str(severity),
        status=str(status),
        channel_id=str(channel) if channel else None,
        private=bool(private),
        drill=bool(drill),
        declared_at=declared_at,
        roles=roles,
    )


async def home_records(
    session: AsyncSession,
    *,
    user_id: str,
    open_statuses: Sequence[str],
    incidents_limit: int,
    action_items_limit: int,
    recent_limit: int,
) -> HomeRecords:
    """For ``user_id``: the open incidents (status in ``open_statuses``) in which they hold a
    role, with those roles; their open action items; the last incidents they may see."""
    connection = await session.connection()
    holds_role = exists().where(
        col(RoleAssignment.incident_number) == col(Incident.number),
        col(RoleAssignment.user_id) == user_id,
        col(RoleAssignment.ended_at).is_(None),
    )
    newest = (col(Incident.declared_at).desc(), col(Incident.number).desc())

    mine_stmt = (
        _incidents(user_id)
        .add_columns(func.count().over().label("total"))
        .where(col(Incident.status).in_(list(open_statuses)), holds_role)
        .order_by(*newest)
        .limit(max(incidents_limit, 0))
    )
    mine_rows = (await connection.execute(mine_stmt)).all()
    numbers = [int(row[0]) for row in mine_rows]
    held: dict[int, list[str]] = {number: [] for number in numbers}
    if numbers:
        roles_stmt = (
            core_select(col(RoleAssignment.incident_number), col(RoleAssignment.role))
            .where(
                col(RoleAssignment.user_id) == user_id,
                col(RoleAssignment.ended_at).is_(None),
                col(RoleAssignment.incident_number).in_(numbers),
            )
            .order_by(col(RoleAssignment.assigned_at), col(RoleAssignment.id))
        )
        for number, role in (await connection.execute(roles_stmt)).all():
            held[int(number)].append(str(role))
    incidents = [_incident(row, tuple(held[int(row[0])])) for row in mine_rows]

    items_stmt = (
        core_select(
            col(ActionItem.id),
            col(ActionItem.incident_number),
            col(ActionItem.text),
            col(ActionItem.owner),
            col(ActionItem.due_at),
            col(ActionItem.category),
            col(ActionItem.priority),
            col(Incident.title),
            col(Incident.private),
            _visible_to(user_id).label("visible"),
            func.count().over().label("total"),
        )
        .select_from(ActionItem)
        .join(Incident, col(Incident.number) == col(ActionItem.incident_number))
        .where(col(ActionItem.owner) == user_id, not_(col(ActionItem.done)))
        .order_by(col(ActionItem.due_at).is_(None), col(ActionItem.due_at), col(ActionItem.id))
        .limit(max(action_items_limit, 0))
    )
    item_rows = (await connection.execute(items_stmt)).all()
    items = [
        HomeActionItem(
            id=int(item_id or 0),
            incident_number=int(number),
            text=str(text),
            owner=owner,
            due_at=due_at,
            category=category,
            priority=priority,
            incident_title=str(title) if visible else None,
            incident_private=bool(private),
        )
        for (
            item_id,
            number,
            text,
            owner,
            due_at,
            category,
            priority,
            title,
            private,
            visible,
            _total,
        ) in item_rows
    ]

    recent_stmt = (
        _incidents(user_id)
        .where(_visible_to(user_id))
        .order_by(*newest)
        .limit(max(recent_limit, 0))
    )
    recent = [_incident(row) for row in (await connection.execute(recent_stmt)).all()]

    return HomeRecords(
        incidents=incidents,
        incidents_total=int(mine_rows[0][-1]) if mine_rows else 0,
        action_items=items,
        action_items_total=int(item_rows[0][-1]) if item_rows else 0,
        recent=recent,
    )
