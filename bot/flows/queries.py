"""Read-only questions the listeners ask before they pick a flow."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store


async def is_incident_channel(sessions: async_sessionmaker[AsyncSession], channel_id: str) -> bool:
    if not channel_id:
        return False
    async with sessions() as session:
        return await store.get_incident_by_channel(session, channel_id=channel_id) is not None
