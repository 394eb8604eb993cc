"""Channel membership as warroom knows it, and the questions answered from it without Slack:
may this user see that private incident, is this user a member of the incident channel."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, not_, or_
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import ChannelMember, Incident, RoleAssignment
from store.repo_common import insert_ignoring_conflict, require_aware

__all__ = [
    "VisibleIncident",
    "add_channel_members",
    "channel_members",
    "is_channel_member",
    "list_visible_incidents",
    "remove_channel_member",
    "replace_channel_members",
]


async def add_channel_members(
    session: AsyncSession, *, channel_id: str, user_ids: Collection[str], now: datetime
) -> None:
    """Record ``user_ids`` as members (already known ones are left as they are)."""
    require_aware("now", now)
    for user_id in dict.fromkeys(user_ids):
        await session.exec(
            insert_ignoring_conflict(
                session,
                ChannelMember,
                {"channel_id": channel_id, "user_id": user_id, "since": now},
                index_elements=["channel_id", "user_id"],
            )
        )


async def remove_channel_member(session: AsyncSession, *, channel_id: str, user_id: str) -> None:
    await session.exec(
        delete(ChannelMember).where(
            col(ChannelMember.channel_id) == channel_id, col(ChannelMember.user_id) == user_id
        )
    )


async def replace_channel_members(
    session: AsyncSession, *, channel_id: str, user_ids: Collection[str], now: datetime
) -> None:
    """Slack's full member list replaces what was known (a background refresh)."""
    wanted = set(user_ids)
    await session.exec(
        delete(ChannelMember).where(
            col(ChannelMember.channel_id) == channel_id,
            not_(col(ChannelMember.user_id).in_(sorted(wanted))),
        )
    )
    await add_channel_members(session, channel_id=channel_id, user_ids=sorted(wanted), now=now)


async def channel_members(session: AsyncSession, *, channel_id: str) -> list[str]:
    stmt = (
        select(col(ChannelMember.user_id))
        .where(col(ChannelMember.channel_id) == channel_id)
        .order_by(col(ChannelMember.user_id))
    )
    return list((await session.exec(stmt)).all())


async def is_channel_member(session: AsyncSession, *, channel_id: str, user_id: str) -> bool:
    stmt = select(col(ChannelMember.user_id)).where(
        col(ChannelMember.channel_id) == channel_id, col(ChannelMember.user_id) == user_id
    )
    return (await session.exec(stmt)).first() is not None


@dataclass(frozen=True)
class VisibleIncident:
    """What a list shows of an incident (plain columns: no ORM object per row, so a list of a
    thousand open incidents stays cheap)."""

    number: int
    title: str
    severity: str
    status: str
    channel_id: str | None
    private: bool
    declared_at: datetime
    lead: str | None  # the current holder of the lead role
    drill: bool = False


async def list_visible_incidents(
    session: AsyncSession, *, user_id: str, statuses: Sequence[str], lead_role: str
) -> list[VisibleIncident]:
    """Incidents in ``statuses`` that ``user_id`` may see, with their lead, in one query.

    A private incident is visible only to recorded members of its channel: when warroom does
    not know (no channel yet, membership unknown) it fails closed, for that incident only.
    """
    member = exists().where(
        col(ChannelMember.channel_id) == col(Incident.channel_id),
        col(ChannelMember.user_id) == user_id,
    )
    lead = and_(
        col(RoleAssignment.incident_number) == col(Incident.number),
        col(RoleAssignment.role) == lead_role,
        col(RoleAssignment.ended_at).is_(None),
    )
    stmt = (
        core_select(
            col(Incident.number),
            col(Incident.title),
            col(Incident.severity),
            col(Incident.status),
            col(Incident.channel_id),
            col(Incident.private),
            col(Incident.declared_at),
            col(RoleAssignment.user_id),
            col(Incident.drill),
        )
        .select_from(Incident)
        .outerjoin(RoleAssignment, lead)
        .where(col(Incident.status).in_(list(statuses)), or_(not_(col(Incident.private)), member))
        .order_by(col(Incident.number))
    )
    connection = await session.connection()
    return [
        VisibleIncident(
            int(number or 0), title, severity, status, channel, private, at, lead, bool(drill)
        )
        for number, title, severity, status, channel, private, at, lead, drill in (
            await connection.execute(stmt)
        ).all()
    ]
