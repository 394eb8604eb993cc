"""The channels told of an incident, and the message under which they hear the rest.

A row is written when the change that tells the channel is stored (declaration, a severity
change), before anything is posted, so concurrent changes agree on who has been told; the
first message's ts is filled in once it is posted. See `bot/flows/audiences.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import IncidentAudience
from store.repo_common import insert_ignoring_conflict, require_aware

__all__ = [
    "add_audiences",
    "drop_audience",
    "list_audiences",
    "set_audience_message",
]


async def add_audiences(
    session: AsyncSession, *, incident_number: int, targets: Iterable[str], now: datetime
) -> list[str]:
    """Record that `targets` are being told; returns those not recorded before (the ones the
    caller must now tell)."""
    require_aware("now", now)
    added: list[str] = []
    for target in dict.fromkeys(targets):
        stmt = insert_ignoring_conflict(
            session,
            IncidentAudience,
            {"incident_number": incident_number, "target": target, "since": now},
            index_elements=["incident_number", "target"],
        ).returning(col(IncidentAudience.target))
        if (await session.exec(stmt)).first() is not None:
            added.append(target)
    return added


async def set_audience_message(
    session: AsyncSession,
    *,
    incident_number: int,
    target: str,
    channel_id: str,
    message_ts: str,
    now: datetime,
) -> None:
    """The first message `target` got (kept if one is already recorded)."""
    await add_audiences(session, incident_number=incident_number, targets=[target], now=now)
    await session.exec(
        update(IncidentAudience)
        .where(
            col(IncidentAudience.incident_number) == incident_number,
            col(IncidentAudience.target) == target,
            col(IncidentAudience.message_ts).is_(None),
        )
        .values(channel_id=channel_id, message_ts=message_ts)
    )


async def drop_audience(session: AsyncSession, *, incident_number: int, target: str) -> None:
    """`target` could not be told at all (Slack refused): nothing to thread under."""
    await session.exec(
        delete(IncidentAudience).where(
            col(IncidentAudience.incident_number) == incident_number,
            col(IncidentAudience.target) == target,
            col(IncidentAudience.message_ts).is_(None),
        )
    )


async def list_audiences(session: AsyncSession, *, incident_number: int) -> list[IncidentAudience]:
    stmt = (
        select(IncidentAudience)
        .where(col(IncidentAudience.incident_number) == incident_number)
        .order_by(col(IncidentAudience.since), col(IncidentAudience.target))
    )
    return list((await session.exec(stmt)).all())
