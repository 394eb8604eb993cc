"""Recording one timeline event in its own transaction (for work done outside a change)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock


async def record_event(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    number: int,
    kind: str,
    text: str,
    actor: str | None = None,
    dedupe_key: str | None = None,
) -> bool:
    """True when recorded; False when `dedupe_key` was recorded before (nothing is written)."""
    async with sessions() as session:
        event = await store.add_timeline_event(
            session,
            incident_number=number,
            kind=kind,
            at=clock.now(),
            actor=actor,
            text=text,
            dedupe_key=dedupe_key,
        )
        await session.commit()
    return event is not None
