"""The timeline's captured messages and their holds, and corrections to entries.

A captured message (📌 reaction, pin, "Add to timeline") is one timeline event per message,
however many people react: each reason it is there is a hold (`TimelineHold`), and the entry
goes with its last hold. Holds are written first, the entry afterwards (the message's text
comes from Slack, after the ack), so a reaction removed before its capture finished leaves
nothing behind. Writers of one incident's holds queue on the incident row (Postgres).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import TimelineEvent, TimelineHold
from store.repo_common import (
    RETURNING_OPTIONS,
    insert_ignoring_conflict,
    lock_incident,
    require_aware,
)

__all__ = [
    "CAPTURED_KIND",
    "add_captured_message",
    "add_timeline_hold",
    "captured_message",
    "delete_timeline_event",
    "get_timeline_event",
    "page_timeline",
    "release_timeline_hold",
    "set_timeline_event_time",
    "timeline_holds",
]

#: The timeline kind of a captured Slack message.
CAPTURED_KIND = "message"


def captured_key(incident_number: int, message_ts: str) -> str:
    return f"{incident_number}:message:{message_ts}"


async def add_timeline_hold(
    session: AsyncSession, *, incident_number: int, message_ts: str, holder: str, now: datetime
) -> bool:
    """Record one reason the message is on the timeline; False when it was already recorded."""
    require_aware("now", now)
    await lock_incident(session, incident_number)
    stmt = insert_ignoring_conflict(
        session,
        TimelineHold,
        {
            "incident_number": incident_number,
            "message_ts": message_ts,
            "holder": holder,
            "since": now,
        },
        index_elements=["incident_number", "message_ts", "holder"],
    ).returning(col(TimelineHold.holder))
    return (await session.exec(stmt)).first() is not None


async def release_timeline_hold(
    session: AsyncSession, *, incident_number: int, message_ts: str, holder: str
) -> bool:
    """Take one reason back; when none is left the captured entry goes too. Returns whether
    the entry was removed."""
    await lock_incident(session, incident_number)
    await session.exec(
        delete(TimelineHold).where(
            col(TimelineHold.incident_number) == incident_number,
            col(TimelineHold.message_ts) == message_ts,
            col(TimelineHold.holder) == holder,
        )
    )
    if await timeline_holds(session, incident_number=incident_number, message_ts=message_ts):
        return False
    removed = await session.exec(
        delete(TimelineEvent)
        .where(
            col(TimelineEvent.incident_number) == incident_number,
            col(TimelineEvent.message_ts) == message_ts,
            col(TimelineEvent.kind) == CAPTURED_KIND,
        )
        .returning(col(TimelineEvent.id))
    )
    return removed.first() is not None


async def timeline_holds(
    session: AsyncSession, *, incident_number: int, message_ts: str
) -> list[str]:
    stmt = select(TimelineHold.holder).where(
        col(TimelineHold.incident_number) == incident_number,
        col(TimelineHold.message_ts) == message_ts,
    )
    return list((await session.exec(stmt)).all())


async def captured_message(
    session: AsyncSession, *, incident_number: int, message_ts: str
) -> TimelineEvent | None:
    stmt = select(TimelineEvent).where(
        col(TimelineEvent.dedupe_key) == captured_key(incident_number, message_ts)
    )
    return (await session.exec(stmt)).first()


async def add_captured_message(
    session: AsyncSession,
    *,
    incident_number: int,
    message_ts: str,
    at: datetime,
    actor: str | None,
    text: str,
    permalink: str | None,
    now: datetime,
) -> TimelineEvent | None:
    """The message's entry, stamped with the message's own time, if something still holds it
    and it is not there yet; None otherwise."""
    require_aware("at", at)
    require_aware("now", now)
    await lock_incident(session, incident_number)
    if not await timeline_holds(session, incident_number=incident_number, message_ts=message_ts):
        return None
    values: dict[str, Any] = {
        "incident_number": incident_number,
        "kind": CAPTURED_KIND,
        "at": at,
        "actor": actor,
        "text": text,
        "permalink": permalink,
        "dedupe_key": captured_key(incident_number, message_ts),
        "message_ts": message_ts,
        "recorded_at": now,
    }
    stmt = insert_ignoring_conflict(
        session, TimelineEvent, values, index_elements=["dedupe_key"]
    ).returning(TimelineEvent)
    return cast(TimelineEvent | None, (await session.exec(stmt)).scalars().first())


async def get_timeline_event(
    session: AsyncSession, *, incident_number: int, event_id: int
) -> TimelineEvent | None:
    stmt = select(TimelineEvent).where(
        col(TimelineEvent.id) == event_id, col(TimelineEvent.incident_number) == incident_number
    )
    return (await session.exec(stmt)).first()


async def delete_timeline_event(
    session: AsyncSession, *, incident_number: int, event_id: int
) -> TimelineEvent | None:
    """Delete one entry (and, for a captured message, its holds: a later 📌 captures it
    afresh); returns what was deleted."""
    event = await get_timeline_event(session, incident_number=incident_number, event_id=event_id)
    if event is None:
        return None
    await session.exec(delete(TimelineEvent).where(col(TimelineEvent.id) == event_id))
    if event.message_ts is not None:
        await session.exec(
            delete(TimelineHold).where(
                col(TimelineHold.incident_number) == incident_number,
                col(TimelineHold.message_ts) == event.message_ts,
            )
        )
    return event


async def set_timeline_event_time(
    session: AsyncSession, *, incident_number: int, event_id: int, at: datetime, now: datetime
) -> TimelineEvent | None:
    """Correct when an entry happened (backfilling "impact started at 13:52")."""
    require_aware("at", at)
    require_aware("now", now)
    result = await session.exec(
        update(TimelineEvent)
        .where(
            col(TimelineEvent.id) == event_id,
            col(TimelineEvent.incident_number) == incident_number,
        )
        .values(at=at, recorded_at=now)
        .returning(TimelineEvent)
        .execution_options(**RETURNING_OPTIONS)
    )
    return cast(TimelineEvent | None, result.scalars().one_or_none())


async def page_timeline(
    session: AsyncSession, *, incident_number: int, offset: int, limit: int
) -> tuple[list[TimelineEvent], int]:
    """One page of the timeline, oldest first, and how many entries there are in all (one
    statement: the count rides along as a window function)."""
    total = func.count().over().label("total")
    stmt = (
        select(TimelineEvent, total)
        .where(col(TimelineEvent.incident_number) == incident_number)
        .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
        .offset(max(offset, 0))
        .limit(limit)
    )
    rows = list((await session.exec(stmt)).all())
    if not rows:
        if offset <= 0:
            return [], 0
        count = select(func.count()).where(col(TimelineEvent.incident_number) == incident_number)
        return [], int((await session.exec(count)).one())
    return [row[0] for row in rows], int(rows[0][1])
