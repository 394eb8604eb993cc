"""Keeping channel membership current from Slack's events, so that permission checks and
`/incident list` answer from the database, never from a Slack call before the ack."""

from __future__ import annotations

from typing import Any

import store
from bot.commands.surface import Surface
from bot.flows.queries import incident_in_channel
from bot.logs import get_logger
from bot.services import Services

log = get_logger(__name__)


def register(surface: Surface, services: Services) -> None:
    async def record(event: dict[str, Any], *, joined: bool) -> None:
        channel, user = str(event.get("channel") or ""), str(event.get("user") or "")
        if not channel or not user:
            return
        if await incident_in_channel(services.sessions, channel) is None:
            return  # only incident channels' members matter to warroom
        async with services.sessions() as session:
            if joined:
                now = services.clock.now()
                await store.add_channel_members(
                    session, channel_id=channel, user_ids=[user], now=now
                )
            else:
                await store.remove_channel_member(session, channel_id=channel, user_id=user)
            await session.commit()
        log.info("channel_membership_changed", channel=channel, joined=joined)

    @surface.event("member_joined_channel")
    async def member_joined(event: dict[str, Any]) -> None:
        await record(event, joined=True)

    @surface.event("member_left_channel")
    async def member_left(event: dict[str, Any]) -> None:
        await record(event, joined=False)
